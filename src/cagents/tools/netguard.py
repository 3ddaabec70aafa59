"""Refuse URLs whose host resolves to a private, loopback or otherwise non-public address.

The check runs on every address the host resolves to, before any connection, and the
caller then connects to exactly those checked addresses (so DNS cannot change its answer
between the check and the connection).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cagents.tools.context import ToolContext
from cagents.tools.tool import ToolFailure

__all__ = ["Allowance", "Target", "address_problem", "allowance_for", "resolve_target"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: True (any address), False (public only) or the private networks that are allowed.
Allowance = bool | tuple[IPNetwork, ...]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ALLOW_HINT = (
    "set `allow_private_network: true` in the tool's config or "
    "config.tools.allow_private_network to allow it"
)


@dataclass(frozen=True)
class Target:
    """A URL taken apart, with the addresses it may be fetched from."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def host_is_ip(self) -> bool:
        return _parse_ip(self.host) is not None

    def url_for(self, address: str) -> str:
        """The URL with its host replaced by one checked address (the connection is pinned)."""
        literal = f"[{address.split('%', 1)[0]}]" if ":" in address else address
        return f"{self.scheme}://{literal}:{self.port}{self.path}"


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address ("loopback", "private", ...), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = address_problem(embedded)
            return f"{inner} (IPv4 {embedded} inside IPv6)" if inner else None
    checks = (
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("site-local", isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local),
        ("unique-local", isinstance(ip, ipaddress.IPv6Address) and ip in _UNIQUE_LOCAL),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
        ("non-public", not ip.is_global),
    )
    for reason, matched in checks:
        if matched:
            return reason
    return None


def allowance_for(ctx: ToolContext) -> Allowance:
    """What the workflow and the tool's config allow beyond public addresses.

    `config.tools.allow_private_network: true` or the tool's `allow_private_network: true`
    allow every address; the tool's config may instead list addresses or networks
    (`allow_private_network: ["10.1.2.3", "192.168.0.0/24"]`) to allow only those.
    """
    if ctx.private_network_allowed:
        return True
    value: Any = ctx.config.get("allow_private_network", False)
    if value is False or value is None:
        return False
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ToolFailure(
            "config allow_private_network must be true, false or a list of addresses/networks"
        )
    try:
        return tuple(ipaddress.ip_network(str(item), strict=False) for item in value)
    except ValueError as exc:
        raise ToolFailure(f"config allow_private_network: {exc}") from exc


def _permitted(ip: IPAddress, allowance: Allowance) -> bool:
    if allowance is True:
        return True
    if not allowance:
        return False
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == net.version and c in net for c in candidates for net in allowance)


def _parse_ip(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, ascii host, port, path+query) of an http(s) URL, or a clear refusal."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise ToolFailure(f"invalid URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise ToolFailure(f"only http and https URLs are allowed, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ToolFailure("credentials in the URL are not supported; send an Authorization header")
    host = parts.hostname
    if not host:
        raise ToolFailure(f"URL {url!r} has no host")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError as exc:
        raise ToolFailure(f"invalid host name {parts.hostname!r}: {exc}") from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or _DEFAULT_PORTS[scheme], path


async def resolve_target(url: str, *, allow_private: Allowance) -> Target:
    """Take `url` apart and resolve its host; refuse non-public addresses unless allowed."""
    scheme, host, port, path = split_url(url)
    if allow_private is False and (host == "localhost" or host.endswith(".localhost")):
        raise ToolFailure(f"refused {url}: '{host}' is a loopback name; {_ALLOW_HINT}")
    addresses = await _resolve(host, port)
    if allow_private is not True:
        for address in addresses:
            ip = _parse_ip(address)
            if ip is None:
                raise ToolFailure(f"refused {url}: cannot read the address {address!r}")
            problem = address_problem(ip)
            if problem and not _permitted(ip, allow_private):
                shown = host if host == address else f"{host} ({address})"
                raise ToolFailure(f"refused {url}: {shown} is a {problem} address; {_ALLOW_HINT}")
    return Target(url=url, scheme=scheme, host=host, port=port, path=path, addresses=addresses)


async def _resolve(host: str, port: int) -> tuple[str, ...]:
    """Every address of `host`; numeric forms (`2130706433`, `0x7f.1`) never reach DNS."""
    literal = _parse_ip(host)
    if literal is not None:
        return (str(literal),)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except socket.gaierror:
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise ToolFailure(f"cannot resolve host '{host}': {exc.strerror or exc}") from exc
    addresses: list[str] = []
    for family, *_rest, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    if not addresses:
        raise ToolFailure(f"host '{host}' has no IPv4 or IPv6 address")
    return tuple(addresses)
