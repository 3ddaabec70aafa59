"""`POST workflows/validate` and `POST workflows/diagram`: check and draw a YAML text."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from cagents.jupyter.handlers._base import ApiHandler

__all__ = ["ROUTES", "MAX_YAML_CHARS"]

#: A workflow text longer than this is refused before parsing (the loader has its own limits too).
MAX_YAML_CHARS = 1_000_000


class ValidateHandler(ApiHandler):
    """The validation report of `yaml`: issues with line and column, keys needed, schemas."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        from cagents.app.workflows import check_text

        body = self.body(allowed={"yaml", "filename"})
        text = body.get("yaml", str, max_len=MAX_YAML_CHARS)
        filename = body.get("filename", str, "<workflow>", max_len=500)
        self.send_json(await self.blocking(check_text, text, filename))


class DiagramHandler(ApiHandler):
    """The diagram of `yaml` as Mermaid text, Graphviz DOT or SVG; invalid YAML is a 400 with issues."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        from cagents.app.workflows import diagram

        body = self.body(allowed={"yaml", "format", "direction", "filename"})
        text = body.get("yaml", str, max_len=MAX_YAML_CHARS)
        fmt = body.get("format", str, "mermaid")
        direction = body.get("direction", str, "TD")
        filename = body.get("filename", str, "<workflow>", max_len=500)
        rendered = await self.blocking(diagram, text, fmt, direction=direction, filename=filename)
        self.send_json({"format": fmt, "diagram": rendered})


ROUTES = [
    ("workflows/validate", ValidateHandler),
    ("workflows/diagram", DiagramHandler),
]
