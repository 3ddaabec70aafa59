"""Address classification of the private-network guard, IPv4 and IPv6."""

from __future__ import annotations

import ipaddress

import pytest

from cagents.tools import ToolFailure
from cagents.tools.netguard import address_problem, resolve_target


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.10", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", ("reserved", "private")),  # Python versions differ on the name
        ("100.64.0.1", ("non-public", "private")),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback (IPv4 127.0.0.1 inside IPv6)"),
        ("::ffff:10.1.2.3", "private (IPv4 10.1.2.3 inside IPv6)"),
        ("2002:a9fe:a9fe::", "link-local (IPv4 169.254.169.254 inside IPv6)"),
        ("64:ff9b::a00:1", "private (IPv4 10.0.0.1 inside IPv6)"),
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_problem(address: str, problem: str | tuple[str, ...] | None) -> None:
    found = address_problem(ipaddress.ip_address(address))
    if isinstance(problem, tuple):
        assert found in problem
    else:
        assert found == problem


async def test_public_literal_passes_without_any_lookup() -> None:
    target = await resolve_target("https://93.184.216.34/a/b?c=1#frag", allow_private=False)
    assert target.addresses == ("93.184.216.34",)
    assert target.path == "/a/b?c=1"
    assert target.url_for("93.184.216.34") == "https://93.184.216.34:443/a/b?c=1"
    assert target.host_header == "93.184.216.34"


async def test_ipv6_target_urls_are_bracketed() -> None:
    target = await resolve_target("http://[2606:4700::1111]:8080/", allow_private=False)
    assert target.url_for("2606:4700::1111") == "http://[2606:4700::1111]:8080/"
    assert target.host_header == "[2606:4700::1111]:8080"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://", "has no host"),
        ("http://127.0.0.1:99999/", "invalid URL"),
        ("javascript:alert(1)", "only http and https"),
        ("http://user@8.8.8.8/", "credentials"),
    ],
)
async def test_malformed_urls(url: str, message: str) -> None:
    with pytest.raises(ToolFailure, match=message):
        await resolve_target(url, allow_private=False)
