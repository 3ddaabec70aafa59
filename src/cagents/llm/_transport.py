"""One chat-completions round trip over the openai SDK: client reuse, retries, streaming.

Clients are cached per (base URL, key, event loop): an httpx client must not cross event
loops, and reusing it keeps connections alive across many concurrent calls. They are
closed when their loop shuts down (via an async generator the loop finalizes).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cagents.errors import LLMError
from cagents.llm.request import Usage, messages_text
from cagents.llm.settings import NO_KEY, Endpoint

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["FormatRejected", "Reply", "aclose_clients", "chat"]

log = logging.getLogger("cagents.llm")

_TRANSIENT = {408, 409, 429}
_MAX_RETRY_AFTER = 60.0
_DEFAULT_BASE = "https://api.openai.com/v1"


class FormatRejected(Exception):
    """The server refused `response_format` json_schema; the caller falls back to a prompt."""


class _Unusable(Exception):
    """The server answered, but with nothing usable (no choices, a refusal)."""


@dataclass
class Reply:
    """What one round trip produced."""

    content: str
    tool_calls: list[dict[str, Any]]
    usage: Usage
    model: str | None
    #: The answer stopped at the token limit (finish_reason "length").
    truncated: bool = False


# -- client cache ------------------------------------------------------------------------
#
# An httpx connection pool scans all its connections for every request, so one pool of
# 1,000 connections makes 1,000 concurrent calls quadratic. Calls therefore lease one of
# several small clients ("shards") per endpoint: the least busy one, or a new one when all
# are full. Each shard keeps all its connections alive between calls.

SHARD_CONNECTIONS = 32
MAX_SHARDS = 64


@dataclass
class _Shard:
    client: AsyncOpenAI
    in_flight: int = 0


@dataclass
class _LoopClients:
    clients: dict[tuple[str | None, str], list[_Shard]]
    closer: AsyncGenerator[None, None]


_cache: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = (
    weakref.WeakKeyDictionary())
_cache_lock = threading.Lock()


async def _close_at_loop_end(clients: dict[tuple[str | None, str], list[_Shard]]) -> AsyncGenerator[None, None]:
    """Suspended for the loop's life; `loop.shutdown_asyncgens()` runs the cleanup."""
    try:
        yield
    finally:
        await _close_all(clients)


async def _close_all(clients: dict[tuple[str | None, str], list[_Shard]]) -> None:
    pending = [shard.client for shards in clients.values() for shard in shards]
    clients.clear()
    for client in pending:
        try:
            await client.close()
        except Exception:  # closing is best effort; the loop is ending anyway
            log.debug("closing an LLM client failed", exc_info=True)


def _new_client(endpoint: Endpoint, key: str) -> AsyncOpenAI:
    import openai

    kwargs: dict[str, Any] = {}
    try:
        # aiohttp's transport costs about a third of the CPU of the default one per call.
        kwargs["http_client"] = openai.DefaultAioHttpClient()
    except Exception:
        try:  # the SDK's own Limits class (httpx or its fork, depending on the SDK version)
            from openai._constants import DEFAULT_CONNECTION_LIMITS

            limits = type(DEFAULT_CONNECTION_LIMITS)(
                max_connections=SHARD_CONNECTIONS, max_keepalive_connections=SHARD_CONNECTIONS)
            kwargs["http_client"] = openai.DefaultAsyncHttpxClient(limits=limits)
        except Exception:  # pragma: no cover - older SDKs: default limits
            log.debug("could not set connection limits", exc_info=True)
    return openai.AsyncOpenAI(base_url=endpoint.base_url, api_key=key, max_retries=0, **kwargs)


async def _shard(endpoint: Endpoint) -> _Shard:
    loop = asyncio.get_running_loop()
    with _cache_lock:
        entry = _cache.get(loop)
        fresh = entry is None
        if entry is None:
            clients: dict[tuple[str | None, str], list[_Shard]] = {}
            entry = _cache[loop] = _LoopClients(clients, _close_at_loop_end(clients))
    if fresh:
        await entry.closer.__anext__()
    key = (endpoint.base_url, endpoint.api_key or NO_KEY)
    shards = entry.clients.setdefault(key, [])
    best = min(shards, key=lambda shard: shard.in_flight, default=None)
    if best is None or (best.in_flight >= SHARD_CONNECTIONS and len(shards) < MAX_SHARDS):
        best = _Shard(_new_client(endpoint, key[1]))
        shards.append(best)
    return best


async def _client(endpoint: Endpoint) -> AsyncOpenAI:
    """A client for one call outside `chat` (kept for callers that need the SDK object)."""
    return (await _shard(endpoint)).client


async def aclose_clients() -> None:
    """Close the cached clients of the running loop now (they are recreated on demand)."""
    with _cache_lock:
        entry = _cache.get(asyncio.get_running_loop())
    if entry is not None:
        await _close_all(entry.clients)


# -- the round trip ----------------------------------------------------------------------

def where(endpoint: Endpoint) -> str:
    """Provider, model and URL for messages (never the key)."""
    return f"{endpoint.provider} model '{endpoint.model}' at {endpoint.base_url or _DEFAULT_BASE}"


async def chat(
    endpoint: Endpoint,
    payload: dict[str, Any],
    *,
    on_token: Callable[[str], None] | None,
    timeout: float,
    retries: int,
    backoff: float,
    label: str,
) -> Reply:
    """Send one chat request, retrying transient failures; raise LLMError otherwise."""
    import openai

    prefix = f"{label}: " if label else ""
    last: tuple[str, int | None] = ("", None)
    retries = max(retries, 0)
    for attempt in range(retries + 1):
        delay: float | None = None
        shard = await _shard(endpoint)
        shard.in_flight += 1
        try:
            once = _stream(shard.client, payload, on_token, timeout) if on_token is not None \
                else _plain(shard.client, payload, timeout)
            return await _within(once, timeout)
        except _Unusable as exc:
            raise LLMError(f"{prefix}{where(endpoint)}: {_redact(str(exc), endpoint)}") from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            detail = _server_message(exc, endpoint)
            if status == 400 and "response_format" in payload and _mentions_format(detail):
                raise FormatRejected(detail) from None
            if status not in _TRANSIENT and status < 500:
                raise _refusal(endpoint, status, detail, prefix) from None
            last = (f"HTTP {status}: {detail}", status)
            delay = _retry_after(exc.response.headers)
        except (openai.APITimeoutError, asyncio.TimeoutError) as exc:
            refused = _connection_cause(exc)
            last = ((f"connection failed ({refused})", None) if refused
                    else (f"no answer within {timeout:g}s", None))
        except openai.APIConnectionError as exc:
            last = (f"connection failed ({_redact(str(exc), endpoint)})", None)
        except openai.APIError as exc:
            raise LLMError(f"{prefix}{where(endpoint)} failed: "
                           f"{_redact(exc.message, endpoint)}") from None
        except Exception as exc:
            # Older SDKs let transport errors raised mid-stream through unwrapped.
            if not type(exc).__module__.startswith(("httpx", "httpcore", "aiohttp")):
                raise
            last = (f"connection failed ({type(exc).__name__})", None)
        finally:
            shard.in_flight -= 1
        if attempt < retries:
            wait = delay if delay is not None else backoff * (2 ** attempt) * random.uniform(0.75, 1.25)
            log.info("%s%s: %s; retry %d/%d in %.2fs", prefix, where(endpoint), last[0],
                     attempt + 1, retries, wait)
            await asyncio.sleep(wait)
    raise LLMError(
        f"{prefix}{where(endpoint)} failed after {retries + 1} attempt(s): {last[0]}",
        transient=True, status=last[1],
    )


def _connection_cause(exc: BaseException) -> str | None:
    """Some transports report a refused connection as a timeout; find the real cause."""
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 10:
        if isinstance(cause, ConnectionError):
            return type(cause).__name__
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return None


async def _within(coro: Any, seconds: float) -> Any:
    """Await with a time limit; `asyncio.timeout` (3.11+) needs no extra task per call."""
    if hasattr(asyncio, "timeout"):
        async with asyncio.timeout(seconds):
            return await coro
    return await asyncio.wait_for(coro, seconds)


async def _plain(client: AsyncOpenAI, payload: dict[str, Any], timeout: float) -> Reply:
    from openai.types.chat import ChatCompletion

    # `post` with a ready JSON body skips the SDK's per-call parameter transform, which
    # costs more CPU than the rest of the call; the answer is parsed and typed as usual.
    response = await client.post("/chat/completions", body=payload, cast_to=ChatCompletion,
                                 options={"timeout": timeout})
    if not response.choices:
        raise _Unusable(f"the server returned no choices (response {response.id})")
    choice = response.choices[0]
    message = choice.message
    if message.refusal and not message.content and not message.tool_calls:
        raise _Unusable(f"the model refused to answer: {message.refusal}")
    calls = [
        {"id": call.id, "type": "function",
         "function": {"name": call.function.name, "arguments": call.function.arguments}}
        for call in message.tool_calls or [] if call.type == "function"
    ]
    content = message.content or ""
    usage = (Usage(response.usage.prompt_tokens or 0, response.usage.completion_tokens or 0)
             if response.usage else _estimate(payload, content, calls))
    return Reply(content, _with_ids(calls), usage, response.model,
                 truncated=choice.finish_reason == "length")


async def _stream(client: AsyncOpenAI, payload: dict[str, Any],
                  on_token: Callable[[str], None], timeout: float) -> Reply:
    from openai import AsyncStream
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    body = {**payload, "stream": True, "stream_options": {"include_usage": True}}
    stream = await client.post("/chat/completions", body=body, cast_to=ChatCompletion,
                               options={"timeout": timeout}, stream=True,
                               stream_cls=AsyncStream[ChatCompletionChunk])
    parts: list[str] = []
    slots: dict[int, dict[str, Any]] = {}
    refusal: list[str] = []
    usage: Usage | None = None
    model: str | None = None
    truncated = False
    try:
        async for chunk in stream:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = Usage(chunk.usage.prompt_tokens or 0, chunk.usage.completion_tokens or 0)
            for choice in chunk.choices:
                delta = choice.delta
                truncated = truncated or choice.finish_reason == "length"
                if delta.refusal:
                    refusal.append(delta.refusal)
                if delta.content:
                    parts.append(delta.content)
                    on_token(delta.content)
                for position, piece in enumerate(delta.tool_calls or []):
                    index = piece.index if piece.index is not None else position
                    slot = slots.setdefault(index, {"id": None, "name": "", "arguments": ""})
                    slot["id"] = piece.id or slot["id"]
                    if piece.function is not None:
                        name = piece.function.name or ""
                        if name and name != slot["name"]:
                            slot["name"] += name
                        slot["arguments"] += piece.function.arguments or ""
    finally:
        await stream.close()
    calls = [
        {"id": slot["id"], "type": "function",
         "function": {"name": slot["name"], "arguments": slot["arguments"]}}
        for _, slot in sorted(slots.items())
    ]
    content = "".join(parts)
    if refusal and not content and not calls:
        raise _Unusable(f"the model refused to answer: {''.join(refusal)}")
    return Reply(content, _with_ids(calls), usage or _estimate(payload, content, calls), model,
                 truncated=truncated)


def _with_ids(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Servers that omit call ids still need them to pair tool answers with calls."""
    stamp = int(time.monotonic() * 1000)
    for index, call in enumerate(calls):
        if not call["id"]:
            call["id"] = f"call_{stamp}_{index}"
    return calls


def _estimate(payload: dict[str, Any], content: str, calls: list[dict[str, Any]]) -> Usage:
    answer = content + "".join(c["function"]["name"] + c["function"]["arguments"] for c in calls)
    return Usage.estimate(messages_text(payload["messages"]), answer)


# -- errors ------------------------------------------------------------------------------

def _redact(text: str, endpoint: Endpoint) -> str:
    key = endpoint.api_key
    if key and key != NO_KEY and len(key) >= 4:
        text = text.replace(key, "***")
    return text


def _server_message(exc: Any, endpoint: Endpoint) -> str:
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message") if isinstance(body.get("message"), str) else json.dumps(body)
    elif isinstance(body, str):
        message = body
    else:
        message = exc.message
    message = _redact(str(message), endpoint)
    return message if len(message) <= 400 else message[:400] + "..."


def _mentions_format(detail: str) -> bool:
    text = detail.lower()
    return "response_format" in text or "json_schema" in text or "response format" in text


def _refusal(endpoint: Endpoint, status: int, detail: str, prefix: str) -> LLMError:
    """Non-retryable answers, phrased as what to fix."""
    if status == 401:
        if endpoint.api_key in (None, NO_KEY):
            fix = f"set {endpoint.key_env}" if endpoint.key_env else "set api_key_env in config.llm"
            text = f"{where(endpoint)} needs an API key (HTTP 401): {fix}"
        else:
            text = (f"the API key in {endpoint.key_env or 'the configured variable'} was refused "
                    f"by {where(endpoint)} (HTTP 401); check or replace the key")
    elif status == 403:
        text = f"{where(endpoint)} denied access (HTTP 403): {detail}"
    elif status == 404:
        text = (f"{where(endpoint)} answered HTTP 404: {detail} "
                "(check the model name and base_url)")
    else:
        text = f"{where(endpoint)} rejected the request (HTTP {status}): {detail}"
    return LLMError(prefix + text, status=status)


def _retry_after(headers: Any) -> float | None:
    """Seconds the server asked us to wait (Retry-After / retry-after-ms), capped."""
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return min(max(float(millis) / 1000, 0.0), _MAX_RETRY_AFTER)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            seconds = float(value)
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - time.time()
        return min(max(seconds, 0.0), _MAX_RETRY_AFTER)
    except (TypeError, ValueError, OverflowError):
        return None
