"""Whole-workflow rules that shape checks cannot see, each reported at its line.

Edges point at real nodes, one entry from START, every node reachable and able to
finish, cycles bounded, outputs declared in state with compatible types, placeholders
and conditions resolvable, tools known, loop and map fields of the right types. Every
problem is collected, so one run of `cagents validate` shows them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cagents.config._pydantic_errors import key_path
from cagents.config._source import Source
from cagents.config.expressions import ExpressionError, parse_condition
from cagents.config.graph import Graph, build_graph
from cagents.config.models import END, PROVIDERS, START, Node, WorkflowConfig
from cagents.config.providers import PROVIDER_INFO
from cagents.config.templates import TemplateError, parse_template
from cagents.config.tool_names import (
    BUILTIN_TOOLS,
    TOOL_ALIASES,
    TOOL_ENV_KEYS,
    UNSAFE_TOOLS,
    canonical_tool_name,
    is_reference,
)
from cagents.config.types import ANY, TypeSpec, TypeSyntaxError, parse_type
from cagents.errors import ConfigIssue

__all__ = ["EnvRequirement", "Checked", "check_workflow"]



@dataclass(frozen=True)
class EnvRequirement:
    """An environment variable (or one of several alternatives) the workflow reads."""

    names: tuple[str, ...]
    required: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "required": self.required, "reason": self.reason}


@dataclass(frozen=True)
class Checked:
    """What validation learned and later phases reuse: types, graph, keys needed."""

    state_types: dict[str, TypeSpec]
    output_types: dict[str, dict[str, TypeSpec]]  # node id -> output field -> type
    graph: Graph
    env: tuple[EnvRequirement, ...]


class _Checker:
    def __init__(self, config: WorkflowConfig, source: Source, extra_tools: Iterable[str]):
        self.config = config
        self.source = source
        self.issues: list[ConfigIssue] = []
        self.extra_tools = set(extra_tools)
        self.state_types: dict[str, TypeSpec] = {}
        self.output_types: dict[str, dict[str, TypeSpec]] = {}
        self.node_index = {node.id: i for i, node in enumerate(config.nodes)}

    # ---- reporting --------------------------------------------------------------------
    def add(
        self,
        path: tuple[str | int, ...],
        message: str,
        hint: str | None = None,
        *,
        value: bool = False,
        offset: int | None = None,
        needle: str | None = None,
    ) -> None:
        if value:
            position = self.source.value_position(path) or self.source.locate(path)
        else:
            position = self.source.locate(path)
        line, column = position
        found = self._find_in_source(path, line, column, needle, offset) if needle and value else None
        if found is not None:
            line, column = found
        elif offset is not None and value:
            line, column = self._offset_position(path, line, column, offset)
        self.issues.append(
            ConfigIssue(
                message, file=self.source.filename, line=line, column=column,
                key=key_path(path), hint=hint,
            )
        )

    def _find_in_source(
        self, path: tuple[str | int, ...], line: int, column: int, needle: str, offset: int | None
    ) -> tuple[int, int] | None:
        """Where `needle` (a placeholder, written the same in the file) stands in the raw text.

        Counting characters of the parsed value would drift on escapes and folded lines;
        the placeholder itself has neither, so its k-th occurrence in the file is exact.
        """
        value = _lookup(self.source.data, path)
        if not isinstance(value, str) or offset is None:
            return None
        occurrence = value[:offset].count(needle)
        lines = self.source.text.splitlines()
        if not 1 <= line <= len(lines):
            return None
        start = sum(len(x) + 1 for x in lines[: line - 1]) + column - 1
        raw = "\n".join(lines)
        index = start - 1
        for _ in range(occurrence + 1):
            index = raw.find(needle, index + 1)
            if index < 0:
                return None
        row = raw.count("\n", 0, index)
        return row + 1, index - (raw.rfind("\n", 0, index) + 1) + 1

    def _offset_position(self, path: tuple[str | int, ...], line: int, column: int, offset: int) -> tuple[int, int]:
        """Map a character offset inside a scalar to its line/column in the file."""
        lines = self.source.text.splitlines()
        if not 1 <= line <= len(lines):
            return line, column
        first = lines[line - 1][column - 1:column]
        if first in ("|", ">"):
            # Block scalar: content starts on the next line at the block's indentation.
            text = _lookup(self.source.data, path)
            if not isinstance(text, str):
                return line, column
            before = text[:offset]
            row = before.count("\n")
            target = line + 1 + row
            if target - 1 < len(lines):
                body = lines[target - 1]
                indent = len(body) - len(body.lstrip(" "))
                return target, indent + 1 + len(before) - (before.rfind("\n") + 1)
            return line, column
        quote = 1 if first in ("'", '"') else 0
        return line, column + quote + offset

    def suggest(self, name: str, options: Iterable[str]) -> str | None:
        close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
        return f"did you mean `{close[0]}`?" if close else None

    # ---- state ------------------------------------------------------------------------
    def check_state(self) -> None:
        fields = self.config.state.fields
        if not fields:
            self.add(("state", "fields"), "state.fields is empty", "declare the data the workflow uses")
        for name, spec in fields.items():
            path: tuple[str | int, ...] = ("state", "fields", name)
            if not name.isidentifier() or name.startswith("__"):
                self.add(path, f"state field name `{name}` is not an identifier",
                         "use letters, digits and underscores, not starting with a digit")
                continue
            try:
                parsed = parse_type(spec.type, spec.schema_)
            except TypeSyntaxError as error:
                self.add((*path, "type"), f"state field `{name}`: {error.message}", error.hint, value=True)
                continue
            self.state_types[name] = parsed
            if spec.required and spec.default is not None:
                self.add((*path, "default"), f"state field `{name}` is required and also has a default",
                         "drop `required: true` or drop the default")
            if spec.default is not None:
                problems = parsed.check(spec.default, f"default of `{name}`")
                if problems:
                    self.add((*path, "default"), problems[0], f"the default must be of type {parsed}", value=True)

    # ---- nodes ------------------------------------------------------------------------
    def check_nodes(self) -> None:
        seen: dict[str, int] = {}
        for i, node in enumerate(self.config.nodes):
            path: tuple[str | int, ...] = ("nodes", i)
            if node.id in (START, END):
                self.add((*path, "id"), f"`{node.id}` is reserved and cannot be a node id",
                         "choose another id", value=True)
            elif not node.id.isidentifier():
                self.add((*path, "id"), f"node id `{node.id}` is not an identifier",
                         "use letters, digits and underscores, e.g. summarize_text", value=True)
            if node.id in seen:
                self.add((*path, "id"), f"duplicate node id `{node.id}`",
                         f"the first is nodes[{seen[node.id]}]; ids must be unique", value=True)
            else:
                seen[node.id] = i
            self.check_node(i, node)

    def check_node(self, i: int, node: Node) -> None:
        path: tuple[str | int, ...] = ("nodes", i)
        kind = node.effective_kind
        if kind == "llm" and not (node.prompt or "").strip():
            self.add(path, f"node `{node.id}` is an LLM node without a `prompt`",
                     "add prompt: ..., or set kind: code / tool / human")
        if kind == "code" and not (node.code or "").strip():
            self.add(path, f"node `{node.id}` is a code node without `code`",
                     "add code: | ... that sets `result`")
        if kind != "code" and node.code is not None:
            self.add((*path, "code"), f"node `{node.id}` has `code` but kind `{kind}`",
                     "remove `kind` or set kind: code")
        if kind == "tool":
            if node.tool_ref is None:
                self.add(path, f"node `{node.id}` is a tool node without `tool`",
                         "add tool: <tool name> and args: {...}")
        elif node.tool is not None:
            self.add((*path, "tool"), f"node `{node.id}` sets `tool` but is not a tool node",
                     "set kind: tool, or list the tool under `tools:` for the model to call")
        if kind == "human" and not (node.prompt or "").strip():
            self.add(path, f"human node `{node.id}` has no `prompt` (the question shown to the person)",
                     "add prompt: What should ...?")
        if not node.outputs and kind != "human":
            self.add(path, f"node `{node.id}` has no `outputs`",
                     "list the state fields it writes: outputs: [field]")
        self.check_outputs(i, node)
        self.check_tools(i, node)
        self.check_node_llm(i, node)

    def check_outputs(self, i: int, node: Node) -> None:
        path: tuple[str | int, ...] = ("nodes", i)
        types: dict[str, TypeSpec] = {}
        for j, name in enumerate(node.outputs):
            if name not in self.config.state.fields:
                self.add((*path, "outputs", j), f"node `{node.id}` writes `{name}`, which is not a state field",
                         self.suggest(name, self.config.state.fields) or f"declare `{name}` under state.fields",
                         value=True)
            elif name in types:
                self.add((*path, "outputs", j), f"node `{node.id}` lists output `{name}` twice", value=True)
            else:
                types[name] = self.state_types.get(name, ANY)
        schema = node.output_schema
        if schema is not None:
            spath = (*path, "output_schema")
            if schema.type == "object" and schema.fields is not None:
                declared: dict[str, TypeSpec] = {}
                for k, out in enumerate(schema.fields):
                    try:
                        declared[out.name] = parse_type(out.type, out.schema_)
                    except TypeSyntaxError as error:
                        self.add((*spath, "fields", k, "type"), f"output field `{out.name}`: {error.message}",
                                 error.hint, value=True)
                names = [out.name for out in schema.fields]
                # configurable-agents style: a single object output whose fields list holds
                # one field named like the output (nested_state.yaml) is the object itself.
                for k, out in enumerate(schema.fields):
                    if out.name not in node.outputs:
                        self.add((*spath, "fields", k, "name"),
                                 f"output_schema field `{out.name}` of node `{node.id}` is not in its outputs",
                                 self.suggest(out.name, node.outputs) or f"add `{out.name}` to outputs or remove it",
                                 value=True)
                for name in node.outputs:
                    if name not in names:
                        self.add((*spath, "fields"),
                                 f"output `{name}` of node `{node.id}` is missing from output_schema.fields",
                                 f"add {{name: {name}, type: ...}}")
                for name, out_type in declared.items():
                    state_type = self.state_types.get(name)
                    if state_type is not None and not state_type.accepts(out_type):
                        k = names.index(name)
                        self.add((*spath, "fields", k, "type"),
                                 f"node `{node.id}` outputs `{name}` as {out_type}, but state field `{name}` is {state_type}",
                                 "make the two types agree", value=True)
                    elif state_type is not None:
                        types[name] = out_type if out_type.kind != "any" else state_type
            elif schema.type == "object" and schema.fields is None:
                self.add(spath, f"output_schema of node `{node.id}` is an object without `fields`",
                         "list the fields: fields: [{name: x, type: str}]")
            else:
                try:
                    out_type = parse_type(schema.type)
                except TypeSyntaxError as error:
                    self.add((*spath, "type"), f"node `{node.id}` output_schema: {error.message}",
                             error.hint, value=True)
                    out_type = None
                if out_type is not None:
                    if len(node.outputs) != 1:
                        self.add((*spath, "type"),
                                 f"node `{node.id}` has a single-value output_schema ({schema.type}) "
                                 f"but {len(node.outputs)} outputs",
                                 "use type: object with fields, or keep one output", value=True)
                    elif node.outputs[0] in self.state_types:
                        name = node.outputs[0]
                        state_type = self.state_types[name]
                        if not state_type.accepts(out_type):
                            self.add((*spath, "type"),
                                     f"node `{node.id}` outputs {out_type}, but state field `{name}` is {state_type}",
                                     "make the two types agree", value=True)
                        else:
                            types[name] = out_type if out_type.kind != "any" else state_type
        self.output_types[node.id] = types

    def check_tools(self, i: int, node: Node) -> None:
        allowed_unsafe = set(self.config.tools_settings.allow)
        entries: list[tuple[tuple[str | int, ...], str]] = []
        for j, ref in enumerate(node.tool_refs):
            entries.append((("nodes", i, "tools", j), ref.name))
        if node.tool_ref is not None:
            entries.append((("nodes", i, "tool"), node.tool_ref.name))
        for path, name in entries:
            canonical = canonical_tool_name(name)
            if canonical in BUILTIN_TOOLS or name in self.extra_tools or is_reference(name):
                continue
            if canonical in UNSAFE_TOOLS:
                if canonical not in allowed_unsafe:
                    self.add(path, f"tool `{name}` runs commands or reads the environment and is off by default",
                             f"allow it explicitly: config: {{tools: {{allow: [{name}]}}}}", value=True)
                continue
            if _entry_point_tool(name):
                continue
            known = sorted(BUILTIN_TOOLS | set(TOOL_ALIASES) | self.extra_tools)
            self.add(path, f"unknown tool `{name}`",
                     self.suggest(name, known) or "built-in tools: " + ", ".join(sorted(BUILTIN_TOOLS))
                     + "; or reference a function as package.module:function", value=True)
        for j, name in enumerate(self.config.tools_settings.allow):
            if name not in UNSAFE_TOOLS:
                self.add(("config", "tools", "allow", j), f"`{name}` is not an unsafe tool and needs no allowing",
                         "allow lists only: " + ", ".join(sorted(UNSAFE_TOOLS)), value=True)

    def check_node_llm(self, i: int, node: Node) -> None:
        if node.llm is not None:
            self.check_llm(("nodes", i, "llm"), node.llm)

    def check_llm(self, path: tuple[str | int, ...], llm: Any) -> None:
        if llm.api_base and llm.base_url:
            self.add(path, "both `api_base` and `base_url` are set", "keep only base_url")
        if llm.provider is not None and llm.provider not in PROVIDERS:
            self.add((*path, "provider"), f"unknown provider `{llm.provider}`",
                     self.suggest(llm.provider, PROVIDERS) or "known: " + ", ".join(PROVIDERS), value=True)

    # ---- edges ------------------------------------------------------------------------
    def check_edges(self) -> Graph | None:
        ids = set(self.node_index)
        targets_ok = True
        first_edge: dict[str, int] = {}
        start_edges = 0
        for e, edge in enumerate(self.config.edges):
            path: tuple[str | int, ...] = ("edges", e)
            kinds = [k for k, v in (("to", edge.to), ("routes", edge.routes), ("loop", edge.loop),
                                    ("parallel", edge.parallel)) if v is not None]
            if len(kinds) != 1:
                if not kinds:
                    self.add(path, f"edge from `{edge.from_}` leads nowhere",
                             "add to: <node>, routes: [...], loop: {...} or parallel: {...}")
                else:
                    self.add(path, f"edge from `{edge.from_}` mixes {' and '.join(kinds)}",
                             "an edge has exactly one of to, routes, loop, parallel")
                targets_ok = False
                continue
            source = edge.from_
            if source == END:
                self.add((*path, "from"), "END cannot have outgoing edges", value=True)
                targets_ok = False
            elif source != START and source not in ids:
                self.add((*path, "from"), f"edge starts at unknown node `{source}`",
                         self.suggest(source, [*ids, START]) or "use a node id or START", value=True)
                targets_ok = False
            if source == START:
                start_edges += 1
                if edge.kind != "linear":
                    self.add(path, "the edge from START must be a plain `to: <node>`",
                             "start with one node; fan out or branch from there")
                    targets_ok = False
            if source in first_edge:
                self.add((*path, "from"),
                         f"node `{source}` has a second outgoing edge (the first is edges[{first_edge[source]}])",
                         "merge them: to: [a, b] runs both in parallel, routes: [...] chooses one", value=True)
                targets_ok = False
            else:
                first_edge[source] = e
            targets_ok &= self.check_edge_targets(e, edge, ids)
        if start_edges == 0:
            self.add(("edges",), "no edge from START", "add {from: START, to: <first node>}")
            targets_ok = False
        if not targets_ok:
            return None
        return build_graph(self.config)

    def check_edge_targets(self, e: int, edge: Any, ids: set[str]) -> bool:
        ok = True
        path: tuple[str | int, ...] = ("edges", e)

        def target(p: tuple[str | int, ...], name: str, *, allow_end: bool = True) -> None:
            nonlocal ok
            if name == START:
                self.add(p, "START cannot be an edge target", "point to a node or END", value=True)
                ok = False
            elif name == END and not allow_end:
                self.add(p, "END is not allowed here", "point to a node", value=True)
                ok = False
            elif name != END and name not in ids:
                self.add(p, f"edge leads to unknown node `{name}`",
                         self.suggest(name, [*ids, END]) or "use a node id or END", value=True)
                ok = False

        if edge.kind == "linear":
            target((*path, "to"), edge.to)
        elif edge.kind == "fanout":
            if len(edge.to) < 2:
                self.add((*path, "to"), "a fan-out needs at least two targets", "write to: b for one target",
                         value=True)
                ok = False
            if len(set(edge.to)) != len(edge.to):
                self.add((*path, "to"), "a fan-out lists the same target twice", value=True)
                ok = False
            for k, name in enumerate(edge.to):
                target((*path, "to", k), name, allow_end=False)
        elif edge.kind == "conditional":
            if not edge.routes:
                self.add((*path, "routes"), "routes is empty", "add at least one route and a default")
                ok = False
            defaults = 0
            for r, route in enumerate(edge.routes):
                rpath = (*path, "routes", r)
                if (route.condition is None) == (route.when is None):
                    self.add(rpath, "a route needs exactly one of `condition: {logic: ...}` or `when: ...`",
                             "e.g. when: state.score >= 8")
                    ok = False
                    continue
                target((*rpath, "to"), route.to)
                if route.is_default:
                    defaults += 1
                    if r != len(edge.routes) - 1:
                        self.add(rpath, "the default route must be the last one",
                                 "routes are tried in order; move the default to the end")
                else:
                    cpath = (*rpath, "when") if route.when is not None else (*rpath, "condition", "logic")
                    self.check_condition(cpath, route.logic)
            if defaults > 1:
                self.add((*path, "routes"), "more than one default route", "keep one default, last")
        elif edge.kind == "loop":
            loop = edge.loop
            lpath = (*path, "loop")
            target((*lpath, "exit_to"), loop.exit_to)
            if loop.back_to is not None:
                target((*lpath, "back_to"), loop.back_to, allow_end=False)
            field = loop.field_name
            if field not in self.config.state.fields:
                self.add((*lpath, "condition_field"), f"loop condition field `{field}` is not a state field",
                         self.suggest(field, self.config.state.fields) or "declare a bool field that ends the loop",
                         value=True)
            elif self.state_types.get(field, ANY).kind not in ("bool", "any"):
                self.add((*lpath, "condition_field"),
                         f"loop condition field `{field}` is {self.state_types[field]}, not bool",
                         "the loop ends when this field is true: make it a bool", value=True)
        elif edge.kind == "parallel":
            par = edge.parallel
            ppath = (*path, "parallel")
            if par.target_node not in ids:
                self.add((*ppath, "target_node"), f"parallel target `{par.target_node}` is not a node",
                         self.suggest(par.target_node, ids), value=True)
                ok = False
            items = par.items_name
            if items not in self.config.state.fields:
                self.add((*ppath, "items_field"), f"items field `{items}` is not a state field",
                         self.suggest(items, self.config.state.fields), value=True)
            elif self.state_types.get(items, ANY).kind not in ("list", "any"):
                self.add((*ppath, "items_field"), f"items field `{items}` is {self.state_types[items]}, not a list",
                         "map over a list field, e.g. type: list[str]", value=True)
            collect = par.collect_name
            if collect not in self.config.state.fields:
                self.add((*ppath, "collect_field"), f"collect field `{collect}` is not a state field",
                         self.suggest(collect, self.config.state.fields) or f"declare `{collect}` as a list",
                         value=True)
            elif self.state_types.get(collect, ANY).kind not in ("list", "any"):
                self.add((*ppath, "collect_field"),
                         f"collect field `{collect}` is {self.state_types[collect]}, not a list",
                         "results are collected in item order into a list", value=True)
            elif par.target_node in ids:
                self.check_collect_type(ppath, collect, par.target_node)
        return ok

    def check_collect_type(self, ppath: tuple[str | int, ...], collect: str, target: str) -> None:
        """The collected list must hold what the target node outputs, item by item."""
        item_type = self.state_types.get(collect, ANY).item
        outputs = self.output_types.get(target, {})
        if item_type is None or not outputs:
            return
        if len(outputs) == 1:
            produced = next(iter(outputs.values()))
        else:
            produced = TypeSpec("object", fields=tuple(outputs.items()))
        if not item_type.accepts(produced):
            self.add((*ppath, "collect_field"),
                     f"collect field `{collect}` holds {item_type} items, but `{target}` outputs {produced}",
                     f"declare `{collect}` as list[{produced}] or change the target's outputs", value=True)

    def check_condition(self, path: tuple[str | int, ...], text: str) -> None:
        try:
            condition = parse_condition(text)
        except ExpressionError as error:
            self.add(path, f"invalid condition `{text}`: {error.message}", error.hint, value=True,
                     offset=error.offset)
            return
        for ref in sorted(condition.paths):
            self.check_state_path(path, ref, text)

    def check_state_path(self, path: tuple[str | int, ...], ref: tuple[str, ...], text: str) -> None:
        root = ref[0]
        if root not in self.state_types:
            if root not in self.config.state.fields:
                self.add(path, f"`{'.'.join(ref)}` in `{text}` is not a state field",
                         self.suggest(root, self.config.state.fields) or "declare it under state.fields",
                         value=True)
            return
        if self.state_types[root].resolve(tuple(ref[1:])) is None:
            spec = self.state_types[root]
            self.add(path, f"`{'.'.join(ref)}` in `{text}` does not exist inside {root} ({spec})",
                     self.suggest(ref[-1], spec.children()) if spec.children() else None, value=True)

    # ---- graph ------------------------------------------------------------------------
    def check_graph(self, graph: Graph) -> None:
        reachable = graph.reachable_from(START)
        for i, node in enumerate(self.config.nodes):
            if node.id not in reachable:
                self.add(("nodes", i, "id"), f"node `{node.id}` is never reached from START",
                         "add an edge to it, or remove the node", value=True)
            elif node.id not in graph.reaches_end:
                self.add(("nodes", i, "id"), f"node `{node.id}` can never reach END",
                         f"add an edge from `{node.id}` (or a node after it) to END", value=True)
        for target, source in graph.map_targets.items():
            incoming = [p for p in graph.predecessors.get(target, []) if p != source]
            if incoming:
                self.add(("nodes", self.node_index[target], "id"),
                         f"node `{target}` runs once per item of a parallel map and cannot also be the "
                         f"target of `{incoming[0]}`",
                         "route other edges to a different node", value=True)
            if target in graph.out and graph.out[target].kind not in ("linear",):
                e = self.config.edges.index(graph.out[target])
                self.add(("edges", e), f"the map target `{target}` must continue with a plain `to:` edge",
                         "after the map the run continues from the target's single `to`")
        cycle = graph.unbounded_cycle()
        if cycle and self.config.execution.max_steps is None:
            e = next(k for k, edge in enumerate(self.config.edges) if edge.from_ == cycle[-2])
            self.add(("edges", e), "cycle " + " -> ".join(cycle) + " has no bound",
                     "make the back edge a loop edge with max_iterations, or set config.execution.max_steps")
        for node_id, edge in graph.out.items():
            # A fan-out that cannot reach END has no join; it is reported above.
            if edge.kind == "fanout" and node_id in graph.reaches_end:
                self.check_fanout(graph, node_id)

    def check_fanout(self, graph: Graph, node_id: str) -> None:
        branches = graph.branch_nodes(node_id)
        writers: dict[str, str] = {}
        e = next(k for k, edge in enumerate(self.config.edges) if edge.from_ == node_id)
        for branch, nodes in branches.items():
            for other_branch, other_nodes in branches.items():
                if branch < other_branch and nodes & other_nodes:
                    shared = sorted(nodes & other_nodes)[0]
                    self.add(("edges", e, "to"),
                             f"branches `{branch}` and `{other_branch}` of the fan-out both run `{shared}`",
                             "branches meet at a join node; give each branch its own nodes", value=True)
            for n in nodes:
                for field in self.output_types.get(n, {}):
                    owner = writers.get(field)
                    if owner is not None and owner != branch:
                        self.add(("edges", e, "to"),
                                 f"parallel branches `{owner}` and `{branch}` both write `{field}`",
                                 "branches run at the same time: give each its own output fields",
                                 value=True)
                    writers[field] = branch

    # ---- templates --------------------------------------------------------------------
    def check_templates(self, graph: Graph | None) -> None:
        map_items: dict[str, TypeSpec] = {}
        if graph is not None:
            for target, source in graph.map_targets.items():
                items = graph.out[source].parallel.items_name  # type: ignore[union-attr]
                item_spec = self.state_types.get(items, ANY)
                map_items[target] = item_spec.item or ANY if item_spec.kind == "list" else ANY
        memory_on = bool(self.config.settings.memory and self.config.settings.memory.enabled)
        for i, node in enumerate(self.config.nodes):
            variables: dict[str, TypeSpec] = {}
            if node.id in map_items:
                variables["item"] = map_items[node.id]
                variables["item_index"] = TypeSpec("int")
            if memory_on or (node.memory is not None and node.memory.enabled):
                variables["memory"] = ANY
            base = dict(variables)  # inputs may use item, item_index and memory
            for name, template in node.inputs.items():
                if isinstance(template, str):
                    variables[name] = self.check_template(("nodes", i, "inputs", name), template, base)
                else:
                    variables[name] = ANY
            if node.prompt is not None:
                self.check_template(("nodes", i, "prompt"), node.prompt, variables)
            for name, template in node.args.items():
                if isinstance(template, str):
                    self.check_template(("nodes", i, "args", name), template, variables)

    def check_template(self, path: tuple[str | int, ...], text: str, variables: dict[str, TypeSpec]) -> TypeSpec:
        try:
            template = parse_template(text)
        except TemplateError as error:
            self.add(path, error.message, None, value=True, offset=error.offset)
            return ANY
        result: TypeSpec = TypeSpec("str")
        for placeholder in template.placeholders:
            ref = placeholder.path
            head = ref[0] if ref else ""
            spec: TypeSpec | None
            if not placeholder.explicit_state and isinstance(head, str) and head in variables:
                spec = variables[head].resolve(tuple(ref[1:]))
            elif isinstance(head, str) and head in self.state_types:
                spec = self.state_types[head].resolve(tuple(ref[1:]))
            elif isinstance(head, str) and head in self.config.state.fields:
                spec = ANY  # the field's own type failed to parse; reported already
            else:
                names = [*self.config.state.fields] + ([] if placeholder.explicit_state else list(variables))
                self.add(path, f"placeholder `{{{placeholder.text}}}` does not match a state field"
                         + ("" if placeholder.explicit_state else " or node input"),
                         self.suggest(str(head), names) or "available: " + ", ".join(names),
                         value=True, offset=placeholder.offset, needle=_raw_placeholder(template.text, placeholder.offset))
                continue
            if spec is None:
                parent = self._parent_spec(placeholder, variables)
                children = parent.children() if parent is not None else []
                hint = self.suggest(str(ref[-1]), children) if children else None
                if hint is None:
                    hint = ("fields: " + ", ".join(children)) if children else "check the object schema of that field"
                self.add(path, f"placeholder `{{{placeholder.text}}}` names a path that does not exist",
                         hint, value=True, offset=placeholder.offset,
                         needle=_raw_placeholder(template.text, placeholder.offset))
                continue
            if template.single is not None:
                result = spec
        return result

    def _parent_spec(self, placeholder: Any, variables: dict[str, TypeSpec]) -> TypeSpec | None:
        ref = placeholder.path
        head = ref[0]
        if not placeholder.explicit_state and head in variables:
            root: TypeSpec | None = variables[head]
        else:
            root = self.state_types.get(str(head))
        return root.resolve(tuple(ref[1:-1])) if root is not None else None

    # ---- keys -------------------------------------------------------------------------
    def env_requirements(self) -> tuple[EnvRequirement, ...]:
        found: dict[tuple[str, ...], EnvRequirement] = {}
        base = self.config.settings.llm
        llm_nodes = [n for n in self.config.nodes if n.effective_kind == "llm"]
        for node in llm_nodes:
            provider = (node.llm.provider if node.llm and node.llm.provider else None) or (
                base.provider if base and base.provider else "openai"
            )
            key_env = (node.llm.api_key_env if node.llm and node.llm.api_key_env else None) or (
                base.api_key_env if base and base.api_key_env else None
            )
            names = (key_env,) if key_env else PROVIDER_INFO[provider].key_envs
            if names and names not in found:
                found[names] = EnvRequirement(names, True, f"API key of LLM provider `{provider}`")
        for node in self.config.nodes:
            refs = list(node.tool_refs) + ([node.tool_ref] if node.tool_ref else [])
            for ref in refs:
                names = TOOL_ENV_KEYS.get(canonical_tool_name(ref.name))
                if names and names not in found:
                    found[names] = EnvRequirement(names, True, f"API key of tool `{ref.name}`")
        for trigger in self.config.triggers:
            if trigger.secret_env:
                names = (trigger.secret_env,)
                found.setdefault(names, EnvRequirement(names, False, "webhook trigger secret"))
        return tuple(found.values())


def _lookup(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _raw_placeholder(template: str, offset: int) -> str:
    """The placeholder as written at `offset` (from `{` to the matching `}`)."""
    end = template.find("}", offset)
    return template[offset:end + 1] if end >= 0 else template[offset:]


def _entry_point_tool(name: str) -> bool:
    """A tool provided by an installed plugin (entry-point group `cagents.tools`)."""
    from importlib.metadata import entry_points

    return any(ep.name == name for ep in entry_points(group="cagents.tools"))


def check_workflow(
    config: WorkflowConfig, source: Source, *, extra_tools: Iterable[str] = ()
) -> tuple[Checked | None, list[ConfigIssue]]:
    """Run every rule; return what was learned and the issues (empty when valid)."""
    checker = _Checker(config, source, extra_tools)
    checker.check_state()
    if config.settings.llm is not None:
        checker.check_llm(("config", "llm"), config.settings.llm)
    checker.check_nodes()
    graph = checker.check_edges()
    if graph is not None:
        checker.check_graph(graph)
    checker.check_templates(graph)
    issues = sorted(checker.issues, key=lambda x: (x.line or 0, x.column or 0))
    if issues or graph is None:
        return None, issues
    return Checked(checker.state_types, checker.output_types, graph, checker.env_requirements()), []
