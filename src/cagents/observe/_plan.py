"""Turn the events of one execution into a span tree, tags and metadata (no MLflow here).

The tree: the workflow run at the root; one span per node run below it (a map node gets a
span with one child per item); an LLM span under each LLM node run; tool spans under the
LLM span (or directly under a tool node). Times come from the events, so the tree can be
built after the run, in the background. Per-node tokens and cost are span attributes;
totals and the bottleneck node are trace metadata.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from cagents.engine.events import (
    Event,
    ExecutionAccepted,
    ExecutionFinished,
    ExecutionStarted,
    ExecutionWaiting,
    NodeFailed,
    NodeFinished,
    NodeRetrying,
    NodeStarted,
    ToolCalled,
)

__all__ = ["SpanPlan", "TracePlan", "plan_trace"]

# MLflow span types and attribute keys, as plain strings so this module needs no MLflow.
CHAIN, CHAT_MODEL, TOOL = "CHAIN", "CHAT_MODEL", "TOOL"
TOKEN_USAGE = "mlflow.chat.tokenUsage"
LLM_COST = "mlflow.llm.cost"
TRACE_TOKEN_USAGE = "mlflow.trace.tokenUsage"
TRACE_COST = "mlflow.trace.cost"


@dataclass
class SpanPlan:
    name: str
    span_type: str
    start_ns: int
    end_ns: int | None = None
    inputs: Any = None
    outputs: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    children: list[SpanPlan] = field(default_factory=list)

    def child(self, span: SpanPlan) -> SpanPlan:
        span.start_ns = max(span.start_ns, self.start_ns)  # clocks of events differ by microseconds
        self.children.append(span)
        return span

    def close(self, end_ns: int) -> None:
        if self.end_ns is None:
            self.end_ns = max(end_ns, self.start_ns)


@dataclass
class TracePlan:
    execution_id: str
    workflow: str
    status: str
    root: SpanPlan
    tags: dict[str, str]
    metadata: dict[str, str]


@dataclass
class _NodeRun:
    span: SpanPlan
    llm: SpanPlan | None


def _ns(at: float) -> int:
    return int(at * 1_000_000_000)


class _Builder:
    def __init__(self, spec: Any, deployment_id: str | None):
        self.spec = spec
        self.deployment_id = deployment_id
        self.execution_id = ""
        self.workflow = spec.name if spec is not None else ""
        self.config_hash: str | None = spec.config_hash if spec is not None else None
        self.root: SpanPlan | None = None
        self.open: dict[tuple[str, int | None], _NodeRun] = {}
        self.groups: dict[str, SpanPlan] = {}
        self.retries: dict[str, deque[NodeRetrying]] = defaultdict(deque)
        self.state: dict[str, Any] = {}
        self.metrics: dict[str, list[float]] = {}  # node -> [seconds, tokens, cost, runs]
        self.resumed_from: int | None = None
        self.finished: ExecutionFinished | None = None
        self.waiting: str | None = None

    # ---- events -------------------------------------------------------------------------
    def feed(self, event: Event) -> None:
        if self.root is None:
            self.execution_id = event.execution_id
            self.root = SpanPlan(self.workflow or "workflow", CHAIN, _ns(event.at))
        handler = getattr(self, "_on_" + event.type, None)
        if handler is not None:
            handler(event)

    def _on_execution_accepted(self, event: ExecutionAccepted) -> None:
        assert self.root is not None
        self.workflow = event.workflow_name
        self.root.name = event.workflow_name
        self.config_hash = event.config_hash
        self.root.inputs = event.inputs
        self.state.update(event.inputs)

    def _on_execution_started(self, event: ExecutionStarted) -> None:
        assert self.root is not None
        self.workflow = event.workflow_name
        self.root.name = event.workflow_name
        self.resumed_from = event.resumed_from_step

    def _on_node_started(self, event: NodeStarted) -> None:
        assert self.root is not None
        key = (event.node_id, event.item_index)
        previous = self.open.pop(key, None)
        if previous is not None:  # the previous attempt failed and is being retried
            retry = self.retries[event.node_id].popleft() if self.retries[event.node_id] else None
            self._close(previous, _ns(retry.at if retry else event.at),
                        error=retry.error if retry else "attempt failed; retried")
        parent = self.root
        name = event.node_id
        if event.item_index is not None:
            parent = self.groups.get(event.node_id) or self.root.child(
                SpanPlan(event.node_id, CHAIN, _ns(event.at), attributes=_node_attrs(event.node_id)))
            self.groups[event.node_id] = parent
            name = f"{event.node_id}[{event.item_index}]"
        attrs = _node_attrs(event.node_id) | {"cagents.step": event.step, "cagents.kind": event.kind}
        if event.item_index is not None:
            attrs["cagents.item_index"] = event.item_index
        span = parent.child(SpanPlan(name, CHAIN, _ns(event.at), attributes=attrs))
        llm = None
        if event.kind == "llm":
            llm = span.child(self._llm_span(event))
        self.open[key] = _NodeRun(span, llm)

    def _on_node_retrying(self, event: NodeRetrying) -> None:
        self.retries[event.node_id].append(event)

    def _on_tool_called(self, event: ToolCalled) -> None:
        assert self.root is not None
        runs = [run for (node, _), run in self.open.items() if node == event.node_id]
        if len(runs) == 1:
            parent = runs[0].llm or runs[0].span
        else:  # concurrent map items: the event does not say which item called the tool
            parent = self.groups.get(event.node_id) or (runs[0].span if runs else self.root)
        start = _ns(event.at - event.duration_s)
        span = parent.child(SpanPlan(
            event.tool, TOOL, start, inputs=event.arguments, outputs=event.result,
            attributes={"cagents.node_id": event.node_id, "cagents.tool": event.tool,
                        "cagents.duration_s": round(event.duration_s, 6)},
            error=event.error,
        ))
        span.close(_ns(event.at))

    def _on_node_finished(self, event: NodeFinished) -> None:
        assert self.root is not None
        at = _ns(event.at)
        group = self.groups.get(event.node_id) if event.item_index is None else None
        if group is not None:  # a map node as a whole: its items were counted one by one
            group.outputs = event.outputs
            group.attributes.update(_cost_attrs(event.tokens, event.cost_usd, event.duration_s))
            group.attributes["cagents.items"] = len(group.children)
            if event.note:
                group.attributes["cagents.note"] = event.note
            group.close(at)
            del self.groups[event.node_id]
        else:
            run = self.open.pop((event.node_id, event.item_index), None)
            if run is None:  # a human node answered on resume: it ran in no step of its own
                run = _NodeRun(self.root.child(SpanPlan(
                    event.node_id, CHAIN, at, attributes=_node_attrs(event.node_id)
                    | {"cagents.step": event.step, "cagents.answered": True})), None)
            run.span.outputs = event.outputs
            run.span.attributes.update(_cost_attrs(event.tokens, event.cost_usd, event.duration_s))
            run.span.attributes["cagents.simulated"] = event.simulated
            if event.note:
                run.span.attributes["cagents.note"] = event.note
            if run.llm is not None:
                run.llm.outputs = event.outputs
                run.llm.attributes[TOKEN_USAGE] = {"total_tokens": event.tokens}
                run.llm.attributes[LLM_COST] = {"total_cost": event.cost_usd}
                run.llm.attributes["cagents.simulated"] = event.simulated
            self._close(run, at)
            self._count(event.node_id, event.duration_s, event.tokens, event.cost_usd)
        if event.item_index is None:
            self.state.update(event.outputs)

    def _on_node_failed(self, event: NodeFailed) -> None:
        run = self.open.pop((event.node_id, event.item_index), None)
        if run is not None:
            run.span.attributes["cagents.duration_s"] = round(event.duration_s, 6)
            self._close(run, _ns(event.at), error=event.error)

    def _on_execution_waiting(self, event: ExecutionWaiting) -> None:
        self.waiting = event.node_id
        for (node, _), run in self.open.items():
            if node == event.node_id:
                run.span.outputs = {"prompt": event.prompt, "fields": event.fields}
                run.span.attributes["cagents.waiting"] = True

    def _on_execution_finished(self, event: ExecutionFinished) -> None:
        self.finished = event

    # ---- helpers ------------------------------------------------------------------------
    def _llm_span(self, event: NodeStarted) -> SpanPlan:
        inputs: dict[str, Any] = {"node": event.node_id}
        attrs: dict[str, Any] = {"cagents.node_id": event.node_id}
        node = _node(self.spec, event.node_id)
        if node is not None:
            llm = node.llm
            base = self.spec.config.settings.llm
            model = (llm.model if llm else None) or (base.model if base else None)
            provider = (llm.provider if llm else None) or (base.provider if base else None)
            if model:
                inputs["model"] = model
                attrs["cagents.model"] = model
            if provider:
                attrs["cagents.provider"] = provider
            if node.description:
                inputs["system"] = node.description
            inputs["prompt_template"] = node.prompt
            if node.tool_refs:
                inputs["tools"] = [ref.name for ref in node.tool_refs]
        name = f"llm {inputs['model']}" if "model" in inputs else "llm"
        return SpanPlan(name, CHAT_MODEL, _ns(event.at), inputs=inputs, attributes=attrs)

    def _close(self, run: _NodeRun, end_ns: int, error: str | None = None) -> None:
        for span in (run.llm, run.span):
            if span is None:
                continue
            if error is not None and span.error is None:
                span.error = error
            span.close(end_ns)

    def _count(self, node_id: str, seconds: float, tokens: int, cost: float) -> None:
        entry = self.metrics.setdefault(node_id, [0.0, 0, 0.0, 0])
        entry[0] += seconds
        entry[1] += tokens
        entry[2] += cost
        entry[3] += 1

    # ---- result -------------------------------------------------------------------------
    def plan(self) -> TracePlan:
        assert self.root is not None and self.finished is not None
        done = self.finished
        root = self.root
        end = _ns(done.at)
        unfinished = None if done.status in ("completed", "waiting") else f"did not finish: execution {done.status}"
        for run in list(self.open.values()):
            self._close(run, end, error=None if done.status == "waiting" else unfinished)
        for group in self.groups.values():
            if unfinished:
                group.error = group.error or unfinished
            group.close(end)
        root.outputs = dict(self.state)
        root.error = done.error if done.status in ("failed", "cancelled") else None
        root.attributes.update({"cagents.execution_id": self.execution_id, "cagents.status": done.status})
        root.close(end)

        total_seconds = sum(entry[0] for entry in self.metrics.values())
        slowest = max(self.metrics.items(), key=lambda item: item[1][0], default=None)
        tags = {
            "cagents.execution_id": self.execution_id,
            "cagents.workflow": self.workflow,
            "cagents.status": done.status,
        }
        if self.config_hash:
            tags["cagents.config_hash"] = self.config_hash
        if self.deployment_id:
            tags["cagents.deployment_id"] = self.deployment_id
        metadata = {
            "cagents.total_tokens": str(done.total_tokens),
            "cagents.total_cost_usd": f"{done.total_cost_usd:.8f}",
            "cagents.duration_s": f"{done.duration_s:.6f}",
            "cagents.nodes": json.dumps({
                node: {"runs": int(e[3]), "duration_s": round(e[0], 6), "tokens": int(e[1]),
                       "cost_usd": round(e[2], 8)}
                for node, e in self.metrics.items()
            }, sort_keys=True),
        }
        # MLflow sums span costs into the trace itself, but drops spans exported in later
        # batches (3.17); the run's own totals are exact, so they are given up front.
        metadata[TRACE_TOKEN_USAGE] = json.dumps(
            {"input_tokens": 0, "output_tokens": 0, "total_tokens": done.total_tokens})
        metadata[TRACE_COST] = json.dumps(
            {"input_cost": 0.0, "output_cost": 0.0, "total_cost": done.total_cost_usd})
        if slowest is not None:
            node_id, entry = slowest
            tags["cagents.bottleneck_node"] = node_id
            metadata["cagents.bottleneck_node"] = node_id
            metadata["cagents.bottleneck_duration_s"] = f"{entry[0]:.6f}"
            metadata["cagents.bottleneck_share"] = f"{entry[0] / total_seconds:.4f}" if total_seconds else "0"
        if self.resumed_from is not None:
            metadata["cagents.resumed_from_step"] = str(self.resumed_from)
        if self.waiting is not None:
            metadata["cagents.waiting_for"] = self.waiting
        return TracePlan(self.execution_id, self.workflow, done.status, root, tags, metadata)


def _node(spec: Any, node_id: str) -> Any:
    if spec is None:
        return None
    try:
        return spec.config.node(node_id)
    except KeyError:
        return None


def _node_attrs(node_id: str) -> dict[str, Any]:
    return {"cagents.node_id": node_id}


def _cost_attrs(tokens: int, cost: float, seconds: float) -> dict[str, Any]:
    return {"cagents.tokens": tokens, "cagents.cost_usd": round(cost, 8),
            "cagents.duration_s": round(seconds, 6)}


def plan_trace(events: list[Event], *, spec: Any = None, deployment_id: str | None = None) -> TracePlan:
    """The span tree of one execution segment; `events` must end with `ExecutionFinished`."""
    builder = _Builder(spec, deployment_id)
    for event in events:
        builder.feed(event)
    return builder.plan()
