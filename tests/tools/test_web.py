"""http_request, fetch_url and web_search end to end against a real server on 127.0.0.1."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from cagents.errors import ToolError
from cagents.tools import ToolContext, call_tool, default_registry

PRIVATE_URLS = [
    "http://127.0.0.1:{port}/json",
    "http://localhost:{port}/json",
    "http://app.localhost:{port}/json",
    "http://10.0.0.1/json",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:{port}/json",
    "http://[::ffff:127.0.0.1]:{port}/json",
    "http://0.0.0.0:{port}/json",
    "http://2130706433:{port}/json",  # 127.0.0.1 in decimal
    "http://0177.0.0.1:{port}/json",  # octal
    "http://0x7f.1:{port}/json",  # hex, short form
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.64.0.1/",  # carrier-grade NAT
    "http://224.0.0.1/",  # multicast
    "http://240.0.0.1/",  # reserved
    "http://[fd00::1]/",  # unique-local
    "http://[fe80::1]/",  # link-local
    "http://[2002:7f00:1::]/",  # 6to4 wrapping 127.0.0.1
]


def allowed(ctx: ToolContext) -> ToolContext:
    return replace(ctx, allow_private_network=True)


async def http(ctx: ToolContext, **args: object) -> dict:
    return await call_tool(default_registry().get("http_request"), args, ctx)


@pytest.mark.parametrize("template", PRIVATE_URLS)
async def test_http_request_refuses_private_addresses_before_connecting(
    template: str, ctx: ToolContext, server, connect_log
) -> None:
    url = template.format(port=server.port)
    with pytest.raises(ToolError) as caught:
        await http(ctx, url=url)
    assert "refused" in str(caught.value)
    assert "allow_private_network" in str(caught.value)
    assert connect_log.attempts == []
    assert server.requests == []


@pytest.mark.parametrize("template", PRIVATE_URLS[:3])
async def test_fetch_url_uses_the_same_guard(
    template: str, ctx: ToolContext, server, connect_log
) -> None:
    with pytest.raises(ToolError, match="refused"):
        await call_tool(
            default_registry().get("fetch_url"), {"url": template.format(port=server.port)}, ctx
        )
    assert connect_log.attempts == []


async def test_http_request_get_json_when_private_network_allowed(ctx: ToolContext, server) -> None:
    result = await http(allowed(ctx), url=f"{server.base}/json")
    assert result["status"] == 200
    assert result["body"] == {"hello": "world"}
    assert result["headers"]["content-type"] == "application/json"
    assert result["truncated"] is False


async def test_per_tool_config_can_allow_private_network(ctx: ToolContext, server) -> None:
    result = await http(ctx.with_config({"allow_private_network": True}), url=f"{server.base}/json")
    assert result["status"] == 200


async def test_decimal_ip_form_reaches_the_address_it_stands_for(ctx: ToolContext, server) -> None:
    result = await http(allowed(ctx), url=f"http://2130706433:{server.port}/json")
    assert result["body"] == {"hello": "world"}
    assert server.requests[0].headers["Host"] == f"2130706433:{server.port}"


async def test_localhost_resolves_when_allowed(ctx: ToolContext, server) -> None:
    result = await http(allowed(ctx), url=f"http://localhost:{server.port}/json")
    assert result["status"] == 200


async def test_post_json_body_and_headers(ctx: ToolContext, server) -> None:
    result = await http(
        allowed(ctx),
        url=f"{server.base}/echo",
        method="POST",
        body={"a": [1, 2]},
        headers={"Authorization": "Bearer t"},
    )
    assert result["body"]["method"] == "POST"
    assert json.loads(result["body"]["body"]) == {"a": [1, 2]}
    assert result["body"]["content_type"] == "application/json"
    assert result["body"]["authorization"] == "Bearer t"


async def test_string_body_is_sent_as_is(ctx: ToolContext, server) -> None:
    result = await http(allowed(ctx), url=f"{server.base}/echo", method="PUT", body="plain text")
    assert result["body"]["body"] == "plain text"


async def test_non_2xx_status_is_returned_not_raised(ctx: ToolContext, server) -> None:
    result = await http(allowed(ctx), url=f"{server.base}/status/404")
    assert result["status"] == 404
    assert result["body"] == "nope"


async def test_large_response_is_truncated_and_says_so(ctx: ToolContext, server) -> None:
    result = await http(allowed(ctx), url=f"{server.base}/big")
    assert result["truncated"] is True
    assert len(result["body"]) == 1_000_000
    assert "truncated" in result["note"]


async def test_binary_response_is_described_not_dumped(ctx: ToolContext, server) -> None:
    result = await http(allowed(ctx), url=f"{server.base}/binary")
    assert result["body"].startswith("<binary content:")
    assert "image/png" in result["body"]


async def test_only_http_schemes(ctx: ToolContext) -> None:
    for url in ("file:///etc/passwd", "ftp://127.0.0.1/", "gopher://x/"):
        with pytest.raises(ToolError, match="only http and https"):
            await http(allowed(ctx), url=url)


async def test_credentials_in_url_and_host_header_refused(ctx: ToolContext, server) -> None:
    with pytest.raises(ToolError, match="credentials"):
        await http(allowed(ctx), url=f"http://u:p@127.0.0.1:{server.port}/json")
    with pytest.raises(ToolError, match="header 'Host'"):
        await http(allowed(ctx), url=f"{server.base}/json", headers={"Host": "internal"})


async def test_redirects_are_followed_on_the_same_server(ctx: ToolContext, server) -> None:
    result = await http(allowed(ctx), url=f"{server.base}/redirect?to=/json")
    assert result["body"] == {"hello": "world"}
    assert result["url"] == f"{server.base}/json"


async def test_303_turns_post_into_get(ctx: ToolContext, server) -> None:
    result = await http(
        allowed(ctx), url=f"{server.base}/redirect?to=/echo&code=303", method="POST", body={"x": 1}
    )
    assert result["body"]["method"] == "GET"
    assert result["body"]["body"] == ""


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]:1/"]
)
async def test_redirect_to_private_address_is_refused(
    target: str, server, ctx: ToolContext, connect_log
) -> None:
    only_server = ctx.with_config({"allow_private_network": ["127.0.0.1"]})
    with pytest.raises(ToolError, match=r"refused .*allow_private_network"):
        await http(only_server, url=f"{server.base}/redirect?to={target}")
    assert [r.path for r in server.requests] == [f"/redirect?to={target}"]
    assert connect_log.non_loopback() == []
    assert all(address[0] == "127.0.0.1" for address in connect_log.attempts)


async def test_address_list_allowance_lets_only_listed_networks_through(
    ctx: ToolContext, server
) -> None:
    listed = ctx.with_config({"allow_private_network": ["127.0.0.0/8"]})
    assert (await http(listed, url=f"{server.base}/json"))["status"] == 200
    other = ctx.with_config({"allow_private_network": ["10.0.0.0/8"]})
    with pytest.raises(ToolError, match="refused"):
        await http(other, url=f"{server.base}/json")
    bad = ctx.with_config({"allow_private_network": ["not-a-network"]})
    with pytest.raises(ToolError, match="allow_private_network"):
        await http(bad, url=f"{server.base}/json")


async def test_redirect_chain_stops_after_five_hops(ctx: ToolContext, server) -> None:
    with pytest.raises(ToolError, match="stopped after 5 redirects"):
        await http(allowed(ctx), url=f"{server.base}/loop/0")
    assert len(server.requests) == 6


async def test_authorization_is_dropped_on_cross_origin_redirect(ctx: ToolContext, server) -> None:
    other_origin = f"http://localhost:{server.port}/echo"
    result = await http(
        allowed(ctx),
        url=f"{server.base}/redirect?to={other_origin}",
        headers={"Authorization": "Bearer secret"},
    )
    assert result["body"]["authorization"] is None
    same_origin = await http(
        allowed(ctx), url=f"{server.base}/redirect?to=/echo", headers={"Authorization": "Bearer t"}
    )
    assert same_origin["body"]["authorization"] == "Bearer t"


async def test_fetch_url_returns_title_and_readable_text(ctx: ToolContext, server) -> None:
    result = await call_tool(
        default_registry().get("fetch_url"), {"url": f"{server.base}/html"}, allowed(ctx)
    )
    assert result["title"] == "A Test Page"
    assert result["text"] == "Heading\n\nFirst paragraph & more.\n\nSecond\nline"
    assert "secret" not in result["text"] and "color" not in result["text"]
    assert result["truncated"] is False


async def test_fetch_url_caps_long_pages(ctx: ToolContext, server) -> None:
    result = await call_tool(
        default_registry().get("fetch_url"), {"url": f"{server.base}/bightml"}, allowed(ctx)
    )
    assert len(result["text"]) == 20_000
    assert result["truncated"] is True


async def test_fetch_url_reports_http_errors_and_binary(ctx: ToolContext, server) -> None:
    tool = default_registry().get("fetch_url")
    with pytest.raises(ToolError, match="HTTP 404"):
        await call_tool(tool, {"url": f"{server.base}/status/404"}, allowed(ctx))
    with pytest.raises(ToolError, match="not a text page"):
        await call_tool(tool, {"url": f"{server.base}/binary"}, allowed(ctx))


def search_ctx(ctx: ToolContext, server, **env: str) -> ToolContext:
    bases = {"TAVILY_BASE_URL": f"{server.base}/tavily", "SERPER_BASE_URL": f"{server.base}/serper"}
    return replace(ctx, env={**bases, **env})


async def test_web_search_uses_tavily_first(ctx: ToolContext, server) -> None:
    search = search_ctx(ctx, server, TAVILY_API_KEY="tvly-1", SERPER_API_KEY="sp-1")
    results = await call_tool(
        default_registry().get("web_search"), {"query": "cats", "max_results": 1}, search
    )
    assert results == [{"title": "Tavily one", "url": "https://one.example", "snippet": "first"}]
    sent = server.requests[0]
    assert sent.method == "POST" and sent.path == "/tavily/search"
    assert sent.headers["Authorization"] == "Bearer tvly-1"
    assert json.loads(sent.body) == {"query": "cats", "max_results": 1}


async def test_web_search_falls_back_to_serper(ctx: ToolContext, server) -> None:
    search = search_ctx(ctx, server, SERPER_API_KEY="sp-1")
    results = await call_tool(default_registry().get("web_search"), {"query": "dogs"}, search)
    assert results == [{"title": "Serper one", "url": "https://s1.example", "snippet": "s-first"}]
    sent = server.requests[0]
    assert sent.path == "/serper/search"
    assert sent.headers["X-API-KEY"] == "sp-1"
    assert json.loads(sent.body) == {"q": "dogs", "num": 5}


async def test_serper_search_alias_prefers_serper(ctx: ToolContext, server) -> None:
    search = search_ctx(ctx, server, TAVILY_API_KEY="tvly-1", SERPER_API_KEY="sp-1")
    tool = default_registry().get("serper_search")
    assert tool.name == "serper_search"
    results = await call_tool(tool, {"query": "birds"}, search)
    assert results[0]["title"] == "Serper one"
    assert server.requests[0].path == "/serper/search"


async def test_web_search_without_keys_names_both_variables(ctx: ToolContext, server) -> None:
    with pytest.raises(ToolError, match="TAVILY_API_KEY or SERPER_API_KEY"):
        await call_tool(
            default_registry().get("web_search"), {"query": "x"}, search_ctx(ctx, server)
        )
    assert server.requests == []


async def test_web_search_rejected_key_is_named_but_not_shown(ctx: ToolContext, server) -> None:
    search = replace(
        ctx, env={"TAVILY_API_KEY": "tvly-very-secret", "TAVILY_BASE_URL": f"{server.base}/badkey"}
    )
    with pytest.raises(ToolError) as caught:
        await call_tool(default_registry().get("web_search"), {"query": "x"}, search)
    assert "TAVILY_API_KEY" in str(caught.value) and "401" in str(caught.value)
    assert "tvly-very-secret" not in str(caught.value)


async def test_search_base_urls_are_not_subject_to_the_private_guard(
    ctx: ToolContext, server
) -> None:
    # The configured API base points at 127.0.0.1 and works without allow_private_network.
    search = search_ctx(ctx, server, TAVILY_API_KEY="k")
    assert not search.allow_private_network
    assert len(await call_tool(default_registry().get("web_search"), {"query": "x"}, search)) == 2
