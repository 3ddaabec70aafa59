"""The live progress view of a run in a notebook: a table of nodes (status, duration, tokens,
cost) that engine events update in place through an IPython display handle.

Also the small HTML/text renderers the magics share. Every piece of user text (workflow
names, node ids, values) goes through `esc`, so it shows as text, never as markup.
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cagents.config.loader import WorkflowSpec
    from cagents.engine.events import Event

__all__ = [
    "NodeRow", "ProgressView", "StepReport", "esc", "html_table", "publish", "seconds", "short_value",
    "step_bundle", "text_table", "usd",
]

#: What each node status looks like in the table.
STATUS_LABELS = {
    "pending": "· pending",
    "running": "▶ running",
    "retrying": "↻ retrying",
    "done": "✓ done",
    "failed": "✗ failed",
    "waiting": "⏸ waiting for input",
    "cancelled": "■ cancelled",
    "not run": "– not run",
}
RUN_LABELS = {
    "pending": "starting",
    "running": "running",
    "completed": "✓ completed",
    "failed": "✗ failed",
    "cancelled": "■ cancelled",
    "waiting": "⏸ waiting for input",
}


# ---- shared rendering -----------------------------------------------------------------------
def esc(value: object) -> str:
    """HTML-escaped text of any value (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def seconds(value: float | None) -> str:
    """A duration as the CLI prints it (`0.31s`, `2m 05s`)."""
    from cagents.app.formatting import duration

    return duration(value)


def usd(value: float | None) -> str:
    from cagents.app.formatting import cost

    return cost(value)


def short_value(value: Any, limit: int = 300) -> str:
    """A state value as compact JSON (strings quoted, so "" and None differ), cut at `limit`."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) > limit:
        text = text[: limit - 1] + f"… ({len(text)} chars)"
    return text


def html_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, right: Iterable[int] = (),
               footer: Sequence[object] | None = None) -> str:
    """An escaped HTML table; columns in `right` are right-aligned (numbers)."""
    aligned = set(right)

    def cells(values: Sequence[object], tag: str) -> str:
        return "".join(
            f'<{tag} style="text-align:{"right" if i in aligned else "left"}">{esc(v)}</{tag}>'
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    foot = f"<tfoot><tr>{cells(footer, 'th')}</tr></tfoot>" if footer is not None else ""
    return f"<table><thead><tr>{cells(headers, 'th')}</tr></thead><tbody>{body}</tbody>{foot}</table>"


def text_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The same table as aligned plain text, for terminals and logs."""
    table = [[str(h) for h in headers], *([str(c) for c in row] for row in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table)


# ---- the progress view ----------------------------------------------------------------------
@dataclass
class NodeRow:
    """What the view knows about one node; map items add up under their node."""

    node_id: str
    label: str
    kind: str = "llm"
    status: str = "pending"
    runs: int = 0
    duration_s: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0
    simulated: bool = False
    items_started: int = 0
    items_done: int = 0
    # map items finish one by one before their node's total arrives: held apart so the
    # total does not count them twice
    item_duration_s: float = 0.0
    item_tokens: int = 0
    item_cost_usd: float = 0.0
    streamed_chars: int = 0
    note: str | None = None
    started_at: float | None = None

    def shown_duration(self, now: float) -> float | None:
        value = self.duration_s + self.item_duration_s
        if self.status == "running" and self.started_at is not None and not self.items_started:
            value += now - self.started_at
        return value if value or self.runs or self.status == "running" else None

    def shown_status(self) -> str:
        text = STATUS_LABELS.get(self.status, self.status)
        if self.items_started:
            text += f" ({self.items_done}/{self.items_started} items)"
        elif self.runs > 1:
            text += f" (×{self.runs})"
        if self.status == "running" and self.streamed_chars:
            text += f", {self.streamed_chars} chars streamed"
        if self.simulated and self.status == "done":
            text += " (simulated)"
        return text


class ProgressView:
    """An engine event subscriber that keeps a table of the run's nodes and shows it.

    Events may arrive on another thread; they only update the table under a lock. The
    table is (re)published by `refresh()`, at most once per `min_interval` seconds unless
    forced, so streamed tokens do not flood the notebook. With `live=True` each event
    calls `refresh()` itself; a host that can call `refresh()` from the cell's own thread
    (the magics do) passes `live=False`, so every update carries the right cell.
    """

    def __init__(self, spec: WorkflowSpec | None = None, *, title: str | None = None,
                 live: bool = True, min_interval: float = 0.25) -> None:
        self.workflow_name = title or (spec.name if spec is not None else "workflow")
        self.rows: dict[str, NodeRow] = {}
        if spec is not None:
            for node in spec.config.nodes:
                self.rows[node.id] = NodeRow(node.id, node.label, node.effective_kind)
        self.execution_id: str | None = None
        self.status = "pending"
        self.error: str | None = None
        self.waiting_for: dict[str, Any] | None = None
        self.totals: tuple[int, float, float] | None = None  # tokens, cost, seconds at the end
        self.live = live
        self.min_interval = min_interval
        self.renders = 0
        self._started: float | None = None
        self._lock = threading.RLock()
        self._publish_lock = threading.Lock()
        self._version = 0
        self._shown = -1
        self._last = 0.0
        self._handle: Any = None

    # ---- events ---------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        with self._lock:
            self._apply(event)
            self._version += 1
        if self.live:
            self.refresh(force=event.type == "execution_finished")

    def _row(self, node_id: str) -> NodeRow:
        row = self.rows.get(node_id)
        if row is None:
            row = self.rows[node_id] = NodeRow(node_id, node_id)
        return row

    def _apply(self, event: Event) -> None:
        kind, now = event.type, time.monotonic()
        data: Any = event
        if kind == "execution_accepted":
            self.execution_id = data.execution_id
        elif kind == "execution_started":
            self.execution_id = data.execution_id
            self.status, self._started = "running", self._started or now
        elif kind == "node_started":
            row = self._row(data.node_id)
            if data.item_index is not None:
                row.items_started += 1
            if row.status != "running":
                row.started_at = now
            row.status, row.note = "running", None
        elif kind == "node_finished":
            row = self._row(data.node_id)
            row.simulated = row.simulated or data.simulated
            if data.item_index is not None:
                row.items_done += 1
                row.item_duration_s += data.duration_s
                row.item_tokens += data.tokens
                row.item_cost_usd += data.cost_usd
                return
            row.runs += 1
            row.duration_s += data.duration_s
            row.tokens += data.tokens
            row.cost_usd += data.cost_usd
            row.item_duration_s, row.item_tokens, row.item_cost_usd = 0.0, 0, 0.0
            row.status, row.started_at = "done", None
        elif kind == "node_failed":
            row = self._row(data.node_id)
            row.status, row.note = "failed", data.error
            row.duration_s += data.duration_s
        elif kind == "node_retrying":
            row = self._row(data.node_id)
            row.status = "retrying"
            row.note = f"attempt {data.attempt} failed, retrying in {data.delay_s:.1f}s: {data.error}"
        elif kind == "token_streamed":
            self._row(data.node_id).streamed_chars += len(data.text)
        elif kind == "execution_waiting":
            self._row(data.node_id).status = "waiting"
            self.waiting_for = {"node_id": data.node_id, "prompt": data.prompt, "fields": data.fields}
        elif kind == "execution_finished":
            self.status, self.error = data.status, data.error
            self.totals = (data.total_tokens, data.total_cost_usd, data.duration_s)
            if data.status in ("completed", "failed", "cancelled"):
                for row in self.rows.values():
                    if row.status in ("running", "retrying"):
                        row.status = "cancelled" if data.status == "cancelled" else "failed"
                    elif row.status == "pending":
                        row.status = "not run"

    # ---- numbers --------------------------------------------------------------------------
    def summary(self) -> tuple[int, float, float | None]:
        """Tokens, cost and seconds so far (the engine's totals once the run ended)."""
        with self._lock:
            if self.totals is not None:
                return self.totals
            tokens = sum(r.tokens + r.item_tokens for r in self.rows.values())
            spent = sum(r.cost_usd + r.item_cost_usd for r in self.rows.values())
            elapsed = time.monotonic() - self._started if self._started is not None else None
            return tokens, spent, elapsed

    def metrics(self) -> dict[str, tuple[float, int, float]]:
        """Duration, tokens and cost per node so far (a step view subtracts two of these)."""
        with self._lock:
            return {r.node_id: (r.duration_s + r.item_duration_s, r.tokens + r.item_tokens,
                                r.cost_usd + r.item_cost_usd) for r in self.rows.values()}

    # ---- rendering ------------------------------------------------------------------------
    def _table_rows(self) -> list[list[str]]:
        now = time.monotonic()
        rows = []
        for row in self.rows.values():
            name = row.node_id if row.label == row.node_id else f"{row.node_id} ({row.label})"
            tokens = row.tokens + row.item_tokens
            spent = row.cost_usd + row.item_cost_usd
            ran = row.runs or row.items_done or row.status not in ("pending", "not run")
            rows.append([name, row.kind, row.shown_status(), seconds(row.shown_duration(now)),
                         str(tokens) if ran else "-", usd(spent) if ran else "-"])
        return rows

    def _headline(self) -> str:
        state = RUN_LABELS.get(self.status, self.status)
        who = f"execution {self.execution_id}" if self.execution_id else "not recorded yet"
        return f"{self.workflow_name} · {state} · {who}"

    def _footer(self) -> list[str]:
        tokens, spent, elapsed = self.summary()
        return ["total", "", RUN_LABELS.get(self.status, self.status), seconds(elapsed), str(tokens), usd(spent)]

    def _notes(self) -> list[str]:
        notes = [f"{row.node_id}: {row.note}" for row in self.rows.values() if row.note]
        if self.error and not any(self.error in note for note in notes):
            notes.append(self.error)
        if self.waiting_for:
            asked = ", ".join(self.waiting_for.get("fields") or {})
            prompt = self.waiting_for.get("prompt") or ""
            notes.append(f"node {self.waiting_for['node_id']} asks: {prompt} (values: {asked})".replace(": (", " ("))
        return notes

    def html(self) -> str:
        with self._lock:
            headers = ["Node", "Kind", "Status", "Duration", "Tokens", "Cost"]
            table = html_table(headers, self._table_rows(), right=(3, 4, 5), footer=self._footer())
            notes = "".join(f"<div>{esc(note)}</div>" for note in self._notes())
            return (f'<div class="cagents-progress"><div><strong>{esc(self._headline())}</strong></div>'
                    f"{table}{notes}</div>")

    def text(self) -> str:
        with self._lock:
            headers = ["NODE", "KIND", "STATUS", "DURATION", "TOKENS", "COST"]
            lines = [self._headline(), text_table(headers, [*self._table_rows(), self._footer()]), *self._notes()]
            return "\n".join(lines)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text()

    def bundle(self) -> dict[str, str]:
        return {"text/html": self.html(), "text/plain": self.text()}

    # ---- publishing -----------------------------------------------------------------------
    def show(self) -> None:
        """Display the table now (its first output; later ones update it in place)."""
        with self._lock:
            self._shown, self._last = self._version, time.monotonic()
            bundle = self.bundle()
        self._publish(bundle)

    def refresh(self, force: bool = False) -> None:
        """Publish the table if it changed (or a node runs, once a second for its clock),
        unless the last update is younger than `min_interval` and `force` is not set."""
        with self._lock:
            now = time.monotonic()
            changed = self._version != self._shown
            ticking = any(r.status == "running" for r in self.rows.values()) and now - self._last >= 1.0
            if not (changed or ticking or (force and self._handle is None)):
                return
            if not force and self._handle is not None and now - self._last < self.min_interval:
                return
            self._shown, self._last = self._version, now
            bundle = self.bundle()
        self._publish(bundle)

    def _publish(self, bundle: dict[str, str]) -> None:
        with self._publish_lock:
            self.renders += 1
            self._handle = publish(bundle, self._handle)


def publish(bundle: dict[str, str], handle: Any = None) -> Any:
    """Display a MIME bundle (or update the display `handle`); returns the handle.

    Outside IPython (a plain script) it prints the text form instead.
    """
    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        print(bundle.get("text/plain", ""))
        return handle
    from IPython.display import display

    if handle is None:
        return display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call]
    handle.update(bundle, raw=True)
    return handle


# ---- one step of a stepped run --------------------------------------------------------------
@dataclass
class StepReport:
    """What one `%cagents step` did, ready to show."""

    name: str  # the notebook name of the workflow
    workflow_name: str
    execution_id: str
    step: int
    nodes: list[str]
    metrics: dict[str, tuple[float, int, float]]  # node -> duration, tokens, cost in this step
    changes: dict[str, tuple[Any, Any]]
    status: str
    next_nodes: list[str]
    error: str | None = None
    started: bool = False
    note: str | None = None
    totals: tuple[int, float, float] | None = None  # tokens, cost, seconds once the run ended
    waiting_for: dict[str, Any] | None = None
    result: Any = None  # the RunResult once the run ended

    @property
    def done(self) -> bool:
        return self.status in ("completed", "failed", "cancelled")


def _step_lines(report: StepReport) -> tuple[str, list[str]]:
    ran = ", ".join(report.nodes) if report.nodes else "no node"
    head = f"{report.workflow_name} · step {report.step} · ran {ran} · execution {report.execution_id}"
    lines = [report.note] if report.note else []
    if report.started:
        lines.append(f"started execution {report.execution_id}")
    if report.done:
        tokens, spent, elapsed = report.totals or (0, 0.0, 0.0)
        lines.append(f"{RUN_LABELS.get(report.status, report.status)}: {seconds(elapsed)}, {tokens} tokens, "
                     f"{usd(spent)}; the next `%cagents step {report.name}` starts a new run")
        if report.error:
            lines.append(f"error: {report.error}")
    elif report.status == "waiting" and report.waiting_for:
        fields = report.waiting_for.get("fields") or {}
        example = " ".join(f"--input {name}=..." for name in fields)
        lines.append(f"node {report.waiting_for.get('node_id')} waits for input: "
                     f"{report.waiting_for.get('prompt') or ''}".rstrip(": "))
        lines.append(f"answer with `%cagents step {report.name} {example}`")
    else:
        lines.append(f"next: {', '.join(report.next_nodes) or 'nothing'}")
    return head, lines


def step_bundle(report: StepReport) -> dict[str, str]:
    """The step as HTML (nodes that ran, a before/after table of changed fields) and text."""
    head, lines = _step_lines(report)
    node_rows = [[node, seconds(m[0]), str(m[1]), usd(m[2])]
                 for node, m in ((n, report.metrics.get(n, (0.0, 0, 0.0))) for n in report.nodes)]
    change_rows = [[field, short_value(old), short_value(new)] for field, (old, new) in report.changes.items()]
    parts = [f'<div class="cagents-step"><div><strong>{esc(head)}</strong></div>']
    if node_rows:
        parts.append(html_table(["Node", "Duration", "Tokens", "Cost"], node_rows, right=(1, 2, 3)))
    if change_rows:
        parts.append(html_table(["Field", "Before", "After"], change_rows))
    elif report.nodes:
        parts.append("<div>no state field changed</div>")
    parts.extend(f"<div>{esc(line)}</div>" for line in lines)
    parts.append("</div>")
    text = [head]
    if node_rows:
        text.append(text_table(["NODE", "DURATION", "TOKENS", "COST"], node_rows))
    if change_rows:
        text.append(text_table(["FIELD", "BEFORE", "AFTER"], change_rows))
    text.extend(lines)
    return {"text/html": "".join(parts), "text/plain": "\n".join(text)}
