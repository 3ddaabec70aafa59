"""HTTP for user-given URLs: address guard on every hop, manual redirects, capped bodies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from cagents.tools.netguard import Allowance, Target, resolve_target, split_url
from cagents.tools.tool import ToolFailure

__all__ = ["Fetched", "guarded_fetch"]

MAX_REDIRECTS = 5
USER_AGENT = "cagents (workflow tool)"
_REDIRECTS = {301, 302, 303, 307, 308}
_CROSS_ORIGIN_DROP = {"authorization", "cookie", "proxy-authorization"}
_REFUSED_HEADERS = {"host", "content-length", "transfer-encoding", "connection"}
_BINARY_TYPES = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "application/octet-stream",
    "application/pdf",
    "application/zip",
    "application/gzip",
)


@dataclass(frozen=True)
class Fetched:
    """A response read up to the cap."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    truncated: bool
    content_type: str
    charset: str | None

    def text(self) -> str | None:
        """The body decoded, or None when it is binary."""
        if self.content_type.startswith(_BINARY_TYPES):
            return None
        try:
            return self.content.decode(self.charset or "utf-8")
        except (UnicodeDecodeError, LookupError):
            if self.content_type.startswith("text/") or self.truncated:
                return self.content.decode(self.charset or "utf-8", errors="replace")
            return None


async def guarded_fetch(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    timeout: float,
    allow_private: Allowance,
    max_bytes: int,
) -> Fetched:
    """Send one request, following up to 5 redirects; every hop's host is checked first."""
    import httpx

    sent_headers = _request_headers(headers or {})
    method = method.upper()
    async with httpx.AsyncClient(
        follow_redirects=False, trust_env=False, timeout=timeout
    ) as client:
        for _hop in range(MAX_REDIRECTS + 1):
            target = await resolve_target(url, allow_private=allow_private)
            response = await _send(client, target, method, sent_headers, body)
            try:
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    next_url = urljoin(url, location)
                    if response.status_code == 303 or (
                        response.status_code in (301, 302) and method == "POST"
                    ):
                        method, body = ("HEAD" if method == "HEAD" else "GET"), None
                    if _origin(next_url) != _origin(url):
                        sent_headers = {
                            k: v
                            for k, v in sent_headers.items()
                            if k.lower() not in _CROSS_ORIGIN_DROP
                        }
                    url = next_url
                    continue
                try:
                    content, truncated = await _read_capped(response, max_bytes)
                except httpx.HTTPError as exc:
                    raise ToolFailure(f"{url}: reading the response failed: {exc}") from exc
                return Fetched(
                    url=url,
                    status=response.status_code,
                    headers=dict(response.headers),
                    content=content,
                    truncated=truncated,
                    content_type=response.headers.get("content-type", "")
                    .split(";")[0]
                    .strip()
                    .lower(),
                    charset=response.charset_encoding,
                )
            finally:
                await response.aclose()
    raise ToolFailure(f"stopped after {MAX_REDIRECTS} redirects (next was {url})")


def _request_headers(headers: Mapping[str, str]) -> dict[str, str]:
    for name in headers:
        if name.lower() in _REFUSED_HEADERS:
            raise ToolFailure(f"header '{name}' cannot be set; it is derived from the URL and body")
    sent = {"User-Agent": USER_AGENT}
    sent.update({str(k): str(v) for k, v in headers.items()})
    return sent


def _origin(url: str) -> tuple[str, str, int] | None:
    try:
        scheme, host, port, _ = split_url(url)
    except ToolFailure:
        return None
    return scheme, host, port


async def _send(
    client: Any, target: Target, method: str, headers: dict[str, str], body: Any
) -> Any:
    """Send to the first checked address that accepts a connection."""
    import httpx

    extensions = (
        {} if target.host_is_ip or target.scheme != "https" else {"sni_hostname": target.host}
    )
    content = body if isinstance(body, str) else None
    json_body = body if body is not None and content is None else None
    last: Exception | None = None
    for address in target.addresses:
        request = client.build_request(
            method,
            target.url_for(address),
            headers={**headers, "Host": target.host_header},
            content=content,
            json=json_body,
            extensions=extensions,
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError as exc:
            last = exc
        except httpx.TimeoutException as exc:
            raise ToolFailure(f"{target.url}: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise ToolFailure(f"{target.url}: {type(exc).__name__}: {exc}") from exc
    raise ToolFailure(f"cannot connect to {target.host_header}: {last}")


async def _read_capped(response: Any, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False
