"""State-machine diagrams of a workflow: Mermaid flowchart text, Graphviz DOT text and SVG.

Both texts are drawn from one neutral picture (boxes and arrows) so they always agree.
Every piece of user text (names, conditions, field names) is escaped for its format, so a
hostile label stays text: Mermaid gets numeric `#NN;` entities, DOT gets HTML-like labels
with XML entities and escaped backslashes.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cagents.errors import CagentsError

if TYPE_CHECKING:
    from cagents.config.loader import WorkflowSpec

__all__ = ["dot_available", "to_dot", "to_mermaid", "to_svg"]

START = "START"  # same values as cagents.config.models, kept here so no pydantic import
END = "END"
DIRECTIONS = ("TD", "TB", "BT", "LR", "RL")
#: Seconds `dot` may take; a workflow diagram renders in well under a second.
DOT_TIMEOUT = 60.0


# ---- the neutral picture ------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    """A node of the picture: a workflow node, START or END."""

    key: str  # node id, START or END
    label: str
    kind: str  # llm, code, tool, human, start, end
    tag: str  # the small second line, e.g. "llm · join"
    join: bool = False
    mapped: bool = False


@dataclass(frozen=True)
class _Arrow:
    """A transition; `style`: linear, fanout, conditional, default, loop_back, loop_exit, map."""

    source: str
    target: str
    style: str
    label: str | None = None


def _picture(spec: WorkflowSpec) -> tuple[list[_Box], list[_Arrow]]:
    config, graph = spec.config, spec.graph
    joins: set[str] = set()
    for node_id, edge in graph.out.items():
        if edge.kind == "fanout":
            joins.add(graph.join_of(node_id))
    boxes = [_Box(START, START, "start", "")]
    for node in config.nodes:
        kind = node.effective_kind
        tag = kind
        if kind == "tool" and node.tool_ref is not None:
            tag = f"tool: {node.tool_ref.name}"
        join, mapped = node.id in joins, node.id in graph.map_targets
        if join:
            tag += " · join"
        if mapped:
            tag += " · per item"
        boxes.append(_Box(node.id, node.label, kind, tag, join=join, mapped=mapped))
    boxes.append(_Box(END, END, "end", ""))

    arrows: list[_Arrow] = []
    for edge in config.edges:
        source = edge.from_
        if edge.routes is not None:
            for route in edge.routes:
                if route.is_default:
                    arrows.append(_Arrow(source, route.to, "default", "default"))
                else:
                    arrows.append(_Arrow(source, route.to, "conditional", route.logic.strip()))
        elif edge.loop is not None:
            loop = edge.loop
            back = loop.back_to or source
            field = loop.field_name
            until = f"until {field} (max {loop.max_iterations})"
            arrows.append(_Arrow(source, back, "loop_back", until))
            arrows.append(_Arrow(source, loop.exit_to, "loop_exit", f"{field} / max reached"))
        elif edge.parallel is not None:
            par = edge.parallel
            label = f"map: for each item in {par.items_name} → {par.collect_name}"
            arrows.append(_Arrow(source, par.target_node, "map", label))
        elif isinstance(edge.to, list):
            arrows.extend(_Arrow(source, target, "fanout") for target in edge.to)
        elif edge.to is not None:
            arrows.append(_Arrow(source, edge.to, "linear"))
    return boxes, arrows


_LINE_BREAKS = {ord(ch): "\n" for ch in "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"}


def _lines(text: str) -> list[str]:
    """Split user text into display lines; control characters, lone surrogates and the
    two non-characters XML refuses become spaces."""
    cleaned = "".join(
        " " if ch != "\n" and (unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff")
        else ch
        for ch in text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    )
    return cleaned.split("\n")



# ---- Mermaid ------------------------------------------------------------------------------

# Kept as is inside a quoted Mermaid string; every other ASCII character becomes `#NN;`,
# including `"`, `#`, `%` (directives), backquote (markdown strings) and `:` (which, with
# `style` on the line, makes Mermaid drop a `;`).
_MERMAID_KEEP = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,-+=*/?!'"
)
_MERMAID_SHAPES = {
    "start": ('(("', '"))'),
    "end": ('((("', '")))'),
    "llm": ('("', '")'),
    "code": ('[["', '"]]'),
    "tool": ('{{"', '"}}'),
    "human": ('[/"', '"/]'),
}
_MERMAID_LINKS = {
    "linear": "-->",
    "fanout": "-->",
    "conditional": "-->",
    "default": "-->",
    "loop_exit": "-->",
    "loop_back": "-.->",
    "map": "==>",
}
_MERMAID_CLASSES = {
    "terminal": "fill:#222222,stroke:#222222,color:#ffffff",
    "llm": "fill:#e7f0ff,stroke:#3b6fd8,color:#111111",
    "code": "fill:#f1ecff,stroke:#7048e8,color:#111111",
    "tool": "fill:#e6f7ea,stroke:#2f9e44,color:#111111",
    "human": "fill:#fff2e0,stroke:#e8590c,color:#111111",
    "join": "stroke-width:3px",
    "map": "stroke-dasharray:6 3",
}


def _mermaid_keeps(ch: str) -> bool:
    """Letters and a little punctuation, and non-ASCII text other than odd spaces."""
    if ch.isascii():
        return ch in _MERMAID_KEEP
    return not unicodedata.category(ch).startswith("Z")


def _mermaid_text(text: str) -> str:
    """User text for inside a double-quoted Mermaid label; newlines become `<br>`."""
    out: list[str] = []
    for line in _lines(text):
        # Mermaid 11 reads `$$...$$` as math even when written as entities: split the pair.
        line = line.replace("$$", "$\u200b$").replace("$$", "$\u200b$")
        out.append("".join(ch if _mermaid_keeps(ch) else f"#{ord(ch)};" for ch in line))
    return "<br>".join(out)


def _mermaid_ids(boxes: list[_Box]) -> dict[str, str]:
    """Safe, unique Mermaid ids: never a keyword (`end`, `graph`, `style`, ...), ASCII only."""
    ids = {START: "t_start", END: "t_end"}
    for index, box in enumerate(boxes):
        if box.kind in ("start", "end"):
            continue
        if box.key.isascii() and box.key.replace("_", "a").isalnum():
            ids[box.key] = f"n_{box.key}"
        else:
            ascii_part = "".join(
                ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_" for ch in box.key
            )
            ids[box.key] = f"n{index}_{ascii_part}"
    return ids


def to_mermaid(spec: WorkflowSpec, *, direction: str = "TD") -> str:
    """A Mermaid `flowchart` (v10/v11 syntax) that JupyterLab renders offline."""
    _check_direction(direction)
    boxes, arrows = _picture(spec)
    ids = _mermaid_ids(boxes)
    lines = [f"flowchart {direction}"]
    for box in boxes:
        opening, closing = _MERMAID_SHAPES[box.kind]
        text = _mermaid_text(box.label)
        if box.tag:
            text += "<br>" + _mermaid_text(box.tag)
        lines.append(f"    {ids[box.key]}{opening}{text}{closing}")
    for arrow in arrows:
        link = _MERMAID_LINKS[arrow.style]
        label = f'|"{_mermaid_text(arrow.label)}"|' if arrow.label else ""
        lines.append(f"    {ids[arrow.source]} {link}{label} {ids[arrow.target]}")
    for name, style in _MERMAID_CLASSES.items():
        lines.append(f"    classDef {name} {style}")
    members: dict[str, list[str]] = {name: [] for name in _MERMAID_CLASSES}
    for box in boxes:
        members["terminal" if box.kind in ("start", "end") else box.kind].append(ids[box.key])
        if box.join:
            members["join"].append(ids[box.key])
        if box.mapped:
            members["map"].append(ids[box.key])
    for name, nodes in members.items():
        if nodes:
            lines.append(f"    class {','.join(nodes)} {name}")
    return "\n".join(lines) + "\n"


# ---- Graphviz -----------------------------------------------------------------------------

_DOT_SHAPES = {
    "start": 'shape=circle, style=filled, fillcolor="#222222", fontcolor="#ffffff", '
    "fixedsize=true, width=0.7, fontsize=9",
    "end": 'shape=doublecircle, style=filled, fillcolor="#222222", fontcolor="#ffffff", '
    "fixedsize=true, width=0.6, fontsize=9",
    "llm": 'shape=box, style="rounded,filled", fillcolor="#e7f0ff", color="#3b6fd8"',
    "code": 'shape=component, style=filled, fillcolor="#f1ecff", color="#7048e8"',
    "tool": 'shape=hexagon, style=filled, fillcolor="#e6f7ea", color="#2f9e44"',
    "human": 'shape=parallelogram, style=filled, fillcolor="#fff2e0", color="#e8590c"',
}
_DOT_EDGES = {
    "linear": "",
    "fanout": "",
    "conditional": "",
    "default": "",
    "loop_exit": "",
    "loop_back": ', style=dashed, color="#555555", constraint=false',
    "map": ", style=bold, penwidth=2",
}


def _dot_text(text: str) -> str:
    """User text for inside a Graphviz HTML-like label (`<...>`); newlines become `<BR/>`.

    Backslashes are doubled because Graphviz expands `\\N`, `\\G`, ... even in HTML labels.
    """
    out: list[str] = []
    for line in _lines(text):
        out.append(
            line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;").replace("\\", "\\\\")
        )
    return "<BR/>".join(out)


def _dot_id(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")


def to_dot(spec: WorkflowSpec, *, direction: str = "TD") -> str:
    """Graphviz DOT text of the workflow (render with `dot -Tsvg`)."""
    _check_direction(direction)
    rankdir = "TB" if direction == "TD" else direction
    boxes, arrows = _picture(spec)
    lines = [
        "digraph workflow {",
        f'  graph [label=<<B>{_dot_text(spec.config.flow.name)}</B>>, labelloc=t, '
        f'fontname="Helvetica", rankdir={rankdir}, nodesep=0.4];',
        '  node [fontname="Helvetica", fontsize=11, margin="0.15,0.06"];',
        '  edge [fontname="Helvetica", fontsize=9];',
    ]
    for box in boxes:
        attrs = _DOT_SHAPES[box.kind]
        label = _dot_text(box.label)
        if box.tag:
            label += f'<BR/><FONT POINT-SIZE="8">{_dot_text(box.tag)}</FONT>'
        if box.join:
            attrs += ", peripheries=2, penwidth=2"
        if box.mapped:
            attrs = attrs.replace("style=filled", 'style="filled,dashed"')
            attrs = attrs.replace('style="rounded,filled"', 'style="rounded,filled,dashed"')
        lines.append(f"  {_dot_id(box.key)} [label=<{label}>, {attrs}];")
    for arrow in arrows:
        attrs = f"label=<{_dot_text(arrow.label)}>" if arrow.label else ""
        attrs = (attrs + _DOT_EDGES[arrow.style]).lstrip(", ")
        suffix = f" [{attrs}]" if attrs else ""
        lines.append(f"  {_dot_id(arrow.source)} -> {_dot_id(arrow.target)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def dot_available() -> bool:
    """Whether Graphviz's `dot` is on PATH (SVG needs it; Mermaid and DOT text do not)."""
    return shutil.which("dot") is not None


def to_svg(spec: WorkflowSpec, *, direction: str = "TD") -> str:
    """SVG of the workflow, rendered by Graphviz `dot`."""
    executable = shutil.which("dot")
    if executable is None:
        raise CagentsError(
            "Graphviz `dot` is not installed: apt-get install graphviz, or use --format mermaid"
        )
    try:
        done = subprocess.run(
            [executable, "-Tsvg"],
            input=to_dot(spec, direction=direction).encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CagentsError(f"Graphviz `dot` did not finish within {DOT_TIMEOUT:.0f} s") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise CagentsError(f"cannot run Graphviz `dot` ({executable}): {reason}") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
        raise CagentsError(f"Graphviz `dot` failed: {detail}")
    return done.stdout.decode("utf-8")
