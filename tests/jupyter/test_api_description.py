"""docs/rest-api.md (and the pages it links) describe exactly the routes the server has."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from cagents.jupyter.handlers import API_PREFIX, api_routes

DOCS = Path(__file__).resolve().parents[2] / "docs"
HEADING = re.compile(r"^### (GET|POST|PUT|PATCH|DELETE) (/cagents/api/\S*)\s*$", re.M)
METHODS = ("get", "post", "put", "patch", "delete")


def _documented() -> set[tuple[str, str]]:
    pages = [DOCS / "rest-api.md", *sorted((DOCS / "rest-api").glob("*.md"))]
    found: set[tuple[str, str]] = set()
    for page in pages:
        for method, path in HEADING.findall(page.read_text("utf-8")):
            assert (method, path) not in found, f"{method} {path} is described twice"
            found.add((method, path))
    return found


def _served() -> set[tuple[str, str]]:
    from cagents.jupyter.handlers._base import ApiHandler, NotFoundRoute

    served: set[tuple[str, str]] = set()
    for pattern, handler, *_ in api_routes():
        if handler is NotFoundRoute:
            continue
        path = "/" + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern)
        assert "(" not in path, f"route {pattern}: name its path parameters (?P<name>...)"
        for method in METHODS:
            if getattr(handler, method) is not getattr(ApiHandler, method):
                served.add((method.upper(), path))
    return served


def test_every_route_is_described_and_every_description_is_a_route() -> None:
    documented, served = _documented(), _served()
    assert served, "no routes found"
    assert not served - documented, f"describe these in docs/rest-api*.md: {sorted(served - documented)}"
    assert not documented - served, f"these are described but not served: {sorted(documented - served)}"


def _example_path(path: str) -> str:
    return re.sub(r"\{\w+\}", "does-not-exist", path)[len("/" + API_PREFIX):]


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_every_described_route_refuses_anonymous_requests(api: Any, method: str) -> None:
    for documented_method, path in sorted(_documented()):
        if documented_method != method:
            continue
        reply = api.anonymous(method, _example_path(path), {} if method != "GET" else None)
        assert reply.code == 403, f"{method} {path} answered {reply.code} without credentials"
