"""Web tools: `web_search` (Tavily or Serper), `http_request` and `fetch_url` (guarded)."""

from __future__ import annotations

import json
from typing import Any, Literal

from cagents.config.tool_names import TOOL_ENV_KEYS
from cagents.tools.context import ToolContext
from cagents.tools.fetcher import guarded_fetch
from cagents.tools.htmltext import html_to_text
from cagents.tools.netguard import allowance_for
from cagents.tools.schema_from_hints import tool_from_function
from cagents.tools.tool import Tool, ToolFailure

__all__ = ["ALIAS_TOOLS", "TOOLS"]

MAX_RESPONSE_BYTES = 1_000_000
MAX_PAGE_BYTES = 3_000_000
MAX_PAGE_CHARS = 20_000
MAX_RESULTS = 20
_SHOWN_HEADERS = (
    "content-type",
    "content-length",
    "location",
    "date",
    "last-modified",
    "etag",
    "cache-control",
    "retry-after",
)

#: provider -> (key variable, base-URL variable, default base URL, display name)
_PROVIDERS: dict[str, tuple[str, str, str, str]] = {
    "tavily": ("TAVILY_API_KEY", "TAVILY_BASE_URL", "https://api.tavily.com", "Tavily"),
    "serper": ("SERPER_API_KEY", "SERPER_BASE_URL", "https://google.serper.dev", "Serper"),
}


async def web_search(query: str, max_results: int = 5, *, ctx: ToolContext) -> list[dict[str, str]]:
    """Search the web and return results as title, url and snippet.

    Args:
        query: What to search for, as you would type it into a search engine.
        max_results: How many results to return (1-20).
    """
    return await _search(query, max_results, ctx, ("tavily", "serper"))


async def serper_search(
    query: str, max_results: int = 5, *, ctx: ToolContext
) -> list[dict[str, str]]:
    """Search the web (Google through Serper) and return results as title, url and snippet.

    Args:
        query: What to search for, as you would type it into a search engine.
        max_results: How many results to return (1-20).
    """
    return await _search(query, max_results, ctx, ("serper", "tavily"))


async def _search(
    query: str, max_results: int, ctx: ToolContext, order: tuple[str, ...]
) -> list[dict[str, str]]:
    import httpx

    if not query.strip():
        raise ToolFailure("query is empty; say what to search for")
    forced = ctx.config.get("provider")
    if forced is not None:
        if forced not in _PROVIDERS:
            raise ToolFailure(f"config provider {forced!r} is not one of: {', '.join(_PROVIDERS)}")
        order = (forced,)
    count = max(1, min(MAX_RESULTS, max_results))
    for provider in order:
        key_var, base_var, default_base, label = _PROVIDERS[provider]
        key = ctx.env.get(key_var)
        if not key:
            continue
        base = (ctx.env.get(base_var) or default_base).rstrip("/")
        if provider == "tavily":
            headers = {"Authorization": f"Bearer {key}"}
            payload: dict[str, Any] = {"query": query, "max_results": count}
        else:
            headers = {"X-API-KEY": key}
            payload = {"q": query, "num": count}
        try:
            async with httpx.AsyncClient(timeout=ctx.timeout) as client:
                response = await client.post(f"{base}/search", json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise ToolFailure(
                f"{label} search at {base} failed: {type(exc).__name__}: {exc}"
            ) from exc
        return _parse_search(provider, label, key_var, response)[:count]
    names = " or ".join(_PROVIDERS[p][0] for p in order)
    raise ToolFailure(f"no search API key found; set {names} in the environment of this run")


def _parse_search(provider: str, label: str, key_var: str, response: Any) -> list[dict[str, str]]:
    status = response.status_code
    if status in (401, 403):
        raise ToolFailure(f"{label} rejected the API key in {key_var} (HTTP {status})")
    if status == 429:
        raise ToolFailure(f"{label} is rate-limiting this key (HTTP 429); try again later")
    if status >= 400:
        raise ToolFailure(f"{label} answered HTTP {status}: {response.text[:200]}")
    try:
        data = response.json()
    except ValueError as exc:
        raise ToolFailure(f"{label} answered something that is not JSON") from exc
    if provider == "tavily":
        items, keys = data.get("results", []), ("title", "url", "content")
    else:
        items, keys = data.get("organic", []), ("title", "link", "snippet")
    return [
        {
            "title": str(item.get(keys[0], "")),
            "url": str(item.get(keys[1], "")),
            "snippet": str(item.get(keys[2], "")),
        }
        for item in items
        if isinstance(item, dict)
    ]


async def http_request(
    url: str,
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET",
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | list[Any] | str | None = None,
    timeout: float | None = None,
    *,
    ctx: ToolContext,
) -> dict[str, Any]:
    """Send an HTTP request to a public http(s) URL and return status, headers and body.

    Args:
        url: The http or https URL to call.
        method: HTTP method.
        headers: Extra request headers.
        body: Request body: an object or array is sent as JSON, a string as is.
        timeout: Seconds to wait for the response.
    """
    wait = min(timeout, ctx.timeout) if timeout and timeout > 0 else ctx.timeout
    fetched = await guarded_fetch(
        method,
        url,
        headers=headers,
        body=body,
        timeout=wait,
        allow_private=allowance_for(ctx),
        max_bytes=MAX_RESPONSE_BYTES,
    )
    text = fetched.text()
    content: Any
    if text is None:
        kind = fetched.content_type or "unknown type"
        content = f"<binary content: {len(fetched.content)} bytes of {kind}>"
    elif "json" in fetched.content_type and not fetched.truncated:
        try:
            content = json.loads(text)
        except ValueError:
            content = text
    else:
        content = text
    result: dict[str, Any] = {
        "url": fetched.url,
        "status": fetched.status,
        "headers": {k: v for k, v in fetched.headers.items() if k.lower() in _SHOWN_HEADERS},
        "body": content,
        "truncated": fetched.truncated,
    }
    if fetched.truncated:
        result["note"] = f"body truncated to the first {MAX_RESPONSE_BYTES} bytes"
    return result


async def fetch_url(url: str, *, ctx: ToolContext) -> dict[str, Any]:
    """Fetch a public web page and return its title and readable text.

    Args:
        url: The http or https URL of the page.
    """
    fetched = await guarded_fetch(
        "GET",
        url,
        headers={"Accept": "text/html,text/plain;q=0.9,*/*;q=0.5"},
        timeout=ctx.timeout,
        allow_private=allowance_for(ctx),
        max_bytes=MAX_PAGE_BYTES,
    )
    if fetched.status >= 400:
        raise ToolFailure(f"{fetched.url} answered HTTP {fetched.status}")
    text = fetched.text()
    if text is None:
        raise ToolFailure(
            f"{fetched.url} is not a text page (content-type {fetched.content_type or 'unknown'})"
        )
    title = ""
    if "html" in fetched.content_type or (
        not fetched.content_type and "<html" in text[:1000].lower()
    ):
        title, text = html_to_text(text)
    truncated = fetched.truncated or len(text) > MAX_PAGE_CHARS
    result: dict[str, Any] = {
        "url": fetched.url,
        "title": title,
        "text": text[:MAX_PAGE_CHARS],
        "truncated": truncated,
    }
    if truncated:
        result["note"] = f"text cut to the first {MAX_PAGE_CHARS} characters"
    return result


_SEARCH_KEYS = (TOOL_ENV_KEYS["web_search"],)

TOOLS: tuple[Tool, ...] = (
    tool_from_function(web_search, env_keys=_SEARCH_KEYS),
    tool_from_function(http_request),
    tool_from_function(fetch_url),
)

ALIAS_TOOLS: dict[str, Tool] = {
    "serper_search": tool_from_function(
        serper_search, env_keys=(("SERPER_API_KEY", "TAVILY_API_KEY"),)
    ),
}
