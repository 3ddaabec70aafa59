"""A scripted OpenAI-compatible HTTP server on 127.0.0.1 for tests.

It speaks `POST /v1/chat/completions` (JSON, and SSE when the request has `stream: true`,
with streamed tool calls and a final usage chunk) and `GET /v1/models`. Answers are
scripted per test with `reply(...)` (FIFO) or a `responder` callable; every request body is
kept in `requests`. It is an asyncio HTTP/1.1 server with keep-alive running in a background
thread, so a thousand slow answers are served at once instead of one after another.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Reply", "Response", "ScriptedLLMServer"]

_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 413: "Payload Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


@dataclass
class Reply:
    """One scripted answer; rendered as JSON or as an SSE stream depending on the request."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    status: int = 200
    error: str | None = None
    delay: float = 0.0
    usage: tuple[int, int] | None = (10, 5)
    headers: dict[str, str] = field(default_factory=dict)
    finish_reason: str | None = None
    refusal: str | None = None
    #: Streamed answers only: drop the connection halfway through the events.
    abort_stream: bool = False

    def __post_init__(self) -> None:
        if self.tool_calls is not None:
            self.tool_calls = [_normalise_tool_call(i, call) for i, call in enumerate(self.tool_calls)]


#: The name the brief uses for what a `responder` returns.
Response = Reply


def _normalise_tool_call(index: int, call: dict[str, Any]) -> dict[str, Any]:
    """Accept `{"name", "arguments"}` (arguments a dict or raw text) or the OpenAI shape."""
    if "function" in call:
        function = dict(call["function"])
        call_id = call.get("id", f"call_{index}")
    else:
        function = {"name": call["name"], "arguments": call.get("arguments", {})}
        call_id = call.get("id", f"call_{index}")
    arguments = function.get("arguments", "")
    if not isinstance(arguments, str):
        arguments = jsonlib.dumps(arguments)
    return {"id": call_id, "type": "function",
            "function": {"name": function["name"], "arguments": arguments}}


class ScriptedLLMServer:
    """OpenAI-compatible server whose answers each test scripts in advance."""

    def __init__(self, *, supports_json_schema: bool = True) -> None:
        self.url: str = ""
        self.requests: list[dict[str, Any]] = []
        self.request_headers: list[dict[str, str]] = []
        self.responder: Callable[[dict[str, Any]], Reply] | None = None
        self.supports_json_schema = supports_json_schema
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._counter = 0
        self._in_flight = 0
        #: Most chat requests being answered at the same moment (proves concurrency).
        self.peak_in_flight = 0

    # -- scripting -------------------------------------------------------------------

    def reply(
        self,
        content: str | None = None,
        *,
        json: Any = None,
        tool_calls: list[dict[str, Any]] | None = None,
        status: int = 200,
        error: str | None = None,
        delay: float = 0.0,
        usage: tuple[int, int] | None = (10, 5),
        headers: dict[str, str] | None = None,
        finish_reason: str | None = None,
        refusal: str | None = None,
        abort_stream: bool = False,
    ) -> None:
        """Enqueue one answer; `json=` sends that value serialised as the message content."""
        if json is not None:
            content = jsonlib.dumps(json)
        answer = Reply(content=content, tool_calls=tool_calls, status=status, error=error,
                       delay=delay, usage=usage, headers=dict(headers or {}),
                       finish_reason=finish_reason, refusal=refusal, abort_stream=abort_stream)
        with self._lock:
            self._queue.append(answer)

    @property
    def pending(self) -> int:
        """How many scripted answers have not been used yet."""
        with self._lock:
            return len(self._queue)

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> ScriptedLLMServer:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="scripted-llm-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._startup_error is not None:
            raise RuntimeError("scripted LLM server failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> ScriptedLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", 0, backlog=4096)
            )
        except BaseException as exc:  # reported to start()
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # -- HTTP ------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, path, headers, body = request
                await self._dispatch(method, path, headers, body, writer)
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _dispatch(self, method: str, path: str, headers: dict[str, str], body: bytes,
                        writer: asyncio.StreamWriter) -> None:
        route = path.split("?", 1)[0].rstrip("/")
        if method == "GET" and route.endswith("/models"):
            models = {"object": "list", "data": [
                {"id": "scripted-model", "object": "model", "created": 0, "owned_by": "tests"}]}
            await _send_json(writer, 200, models)
            return
        if method != "POST" or not route.endswith("/chat/completions"):
            await _send_json(writer, 404, _error_body(f"no route for {method} {path}"))
            return
        try:
            payload = jsonlib.loads(body or b"{}")
        except ValueError as exc:
            await _send_json(writer, 400, _error_body(f"request body is not JSON: {exc}"))
            return
        with self._lock:
            self.requests.append(payload)
            self.request_headers.append(dict(headers))
            self._counter += 1
            number = self._counter
        response_format = payload.get("response_format") or {}
        if not self.supports_json_schema and response_format.get("type") == "json_schema":
            await _send_json(writer, 400, _error_body("response_format json_schema is not supported"))
            return
        answer = self._next_reply(payload)
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            await self._answer(answer, payload, number, writer)
        finally:
            self._in_flight -= 1

    async def _answer(self, answer: Reply, payload: dict[str, Any], number: int,
                      writer: asyncio.StreamWriter) -> None:
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.status != 200:
            message = answer.error or f"scripted error {answer.status}"
            await _send_json(writer, answer.status, _error_body(message), answer.headers)
            return
        model = payload.get("model") or "scripted-model"
        if payload.get("stream"):
            include_usage = bool((payload.get("stream_options") or {}).get("include_usage"))
            events = _stream_events(answer, model, number, include_usage)
            if answer.abort_stream:
                await _send_stream(writer, events[: len(events) // 2], answer.headers, end=False)
                raise ConnectionAbortedError("scripted mid-stream disconnect")
            await _send_stream(writer, events, answer.headers)
        else:
            await _send_json(writer, 200, _completion(answer, model, number), answer.headers)

    def _next_reply(self, payload: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return self.responder(payload)
        return Reply(status=500, error="no scripted reply left")


# -- wire format -------------------------------------------------------------------------


def _error_body(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "scripted_error", "code": None}}


def _usage(answer: Reply) -> dict[str, int] | None:
    if answer.usage is None:
        return None
    prompt, completion = answer.usage
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _finish(answer: Reply) -> str:
    if answer.finish_reason is not None:
        return answer.finish_reason
    return "tool_calls" if answer.tool_calls else "stop"


def _completion(answer: Reply, model: str, number: int) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": answer.content}
    if answer.tool_calls:
        message["tool_calls"] = answer.tool_calls
    if answer.refusal is not None:
        message["refusal"] = answer.refusal
    body: dict[str, Any] = {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(answer)}],
    }
    usage = _usage(answer)
    if usage is not None:
        body["usage"] = usage
    return body


def _stream_events(answer: Reply, model: str, number: int, include_usage: bool) -> list[str]:
    """The SSE `data:` payloads of one streamed answer, in order, ending with [DONE]."""
    base = {"id": f"chatcmpl-{number}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return jsonlib.dumps({**base, "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish}]})

    events = [chunk({"role": "assistant", "content": ""})]
    if answer.refusal is not None:
        events.append(chunk({"refusal": answer.refusal}))
    for piece in re.findall(r"\S+\s*|\s+", answer.content or ""):
        events.append(chunk({"content": piece}))
    for index, call in enumerate(answer.tool_calls or []):
        events.append(chunk({"tool_calls": [{
            "index": index, "id": call["id"], "type": "function",
            "function": {"name": call["function"]["name"], "arguments": ""}}]}))
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        for part in (arguments[:half], arguments[half:]):
            if part:
                events.append(chunk({"tool_calls": [
                    {"index": index, "function": {"arguments": part}}]}))
    events.append(chunk({}, _finish(answer)))
    usage = _usage(answer)
    if include_usage and usage is not None:
        events.append(jsonlib.dumps({**base, "choices": [], "usage": usage}))
    events.append("[DONE]")
    return events


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[str, str], bytes] | None:
    """Read one HTTP/1.1 request; None when the client closed the connection."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _version = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return method, path, headers, body


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _send_json(writer: asyncio.StreamWriter, status: int, body: Any,
                     extra: dict[str, str] | None = None) -> None:
    data = jsonlib.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Content-Length": str(len(data)),
               "Connection": "keep-alive", **(extra or {})}
    writer.write(_head(status, headers) + data)
    await writer.drain()


async def _send_stream(writer: asyncio.StreamWriter, events: list[str],
                       extra: dict[str, str] | None = None, *, end: bool = True) -> None:
    headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
               "Transfer-Encoding": "chunked", "Connection": "keep-alive", **(extra or {})}
    writer.write(_head(200, headers))
    for event in events:
        data = f"data: {event}\n\n".encode()
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()
    if end:
        writer.write(b"0\r\n\r\n")
        await writer.drain()
