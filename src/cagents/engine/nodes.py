"""How each kind of node runs: llm, code, tool and human.

An executor gets the node's rendered variables and returns the values it writes, plus
what it cost. It never touches the shared state: the run applies writes after checking
them, so executors can run concurrently (fan-out branches, map items).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cagents.config.loader import WorkflowSpec
from cagents.config.models import Node
from cagents.config.templates import TemplateError, parse_template
from cagents.engine.events import Event, TokenStreamed, ToolCalled
from cagents.errors import LLMError, NodeError, ToolError

__all__ = ["NodeOutcome", "NodeContext", "human_prompt", "run_node", "render_variables"]

@dataclass(slots=True)
class NodeOutcome:
    writes: dict[str, Any]
    tokens: int = 0
    cost_usd: float = 0.0
    simulated: bool = False
    note: str | None = None
    waiting: bool = False
    prompt: str | None = None


@dataclass(slots=True)
class NodeContext:
    """What a node run may use. `env` holds this run's secrets; it is never recorded."""

    spec: WorkflowSpec
    node: Node
    state: Mapping[str, Any]
    execution_id: str
    env: Mapping[str, str]
    emit: Callable[[Event], None]
    stream: bool = False
    item: Any = None
    item_index: int | None = None
    memory: list[Any] | None = None
    tool_registry: Any = None
    workspace: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    listening: bool = True  # False when nobody subscribed: skip building success events


def render_variables(ctx: NodeContext) -> dict[str, Any]:
    """The node's own variables: typed `inputs`, then `item`/`item_index` and `memory`."""
    if not ctx.node.inputs and ctx.item_index is None and ctx.memory is None:
        return {}
    variables: dict[str, Any] = {}
    if ctx.item_index is not None:
        variables["item"] = ctx.item
        variables["item_index"] = ctx.item_index
    if ctx.memory is not None:
        variables["memory"] = ctx.memory
    variables.update(_render_values(ctx, ctx.node.inputs, variables, "input"))
    return variables


def _render_values(
    ctx: NodeContext, templates: Mapping[str, Any], variables: Mapping[str, Any], what: str
) -> dict[str, Any]:
    """Render a mapping of templates; a single placeholder keeps its value's type."""
    values: dict[str, Any] = {}
    for name, template in templates.items():
        if isinstance(template, str):
            try:
                values[name] = parse_template(template).render_value(variables, ctx.state)
            except TemplateError as error:
                raise NodeError(ctx.node.id, f"{what} `{name}`: {error.message}") from None
        else:
            values[name] = template
    return values


def _render(ctx: NodeContext, text: str, variables: Mapping[str, Any], what: str) -> str:
    try:
        return parse_template(text).render(variables, ctx.state)
    except TemplateError as error:
        raise NodeError(ctx.node.id, f"{what}: {error.message}") from None


def _output_names(ctx: NodeContext) -> list[str]:
    return list(ctx.node.outputs)


def _result_to_writes(ctx: NodeContext, value: Any, source: str) -> dict[str, Any]:
    """A code/tool result becomes the node's outputs: one output takes the value itself."""
    outputs = _output_names(ctx)
    if len(outputs) == 1:
        if isinstance(value, dict) and set(value) == {outputs[0]}:
            return {outputs[0]: value[outputs[0]]}
        return {outputs[0]: value}
    if not isinstance(value, dict):
        raise NodeError(
            ctx.node.id,
            f"{source} must be a mapping with keys {', '.join(outputs)} (the node has several outputs), "
            f"got {type(value).__name__}",
        )
    missing = [name for name in outputs if name not in value]
    if missing:
        raise NodeError(ctx.node.id, f"{source} lacks output(s) {', '.join(missing)}", field_name=missing[0])
    return {name: value[name] for name in outputs}


# ---- llm ----------------------------------------------------------------------------------


def _llm_settings(ctx: NodeContext) -> Any:
    from cagents.llm import LLMSettings

    def convert(cfg: Any) -> LLMSettings | None:
        if cfg is None:
            return None
        return LLMSettings(
            provider=cfg.provider,
            model=cfg.model,
            temperature=cfg.temperature,
            max_tokens=cfg.max_tokens,
            base_url=cfg.base_url or cfg.api_base,
            api_key_env=cfg.api_key_env,
        )

    base = convert(ctx.spec.config.settings.llm) or LLMSettings()
    return base.merged(convert(ctx.node.llm))


def _output_json_schema(ctx: NodeContext) -> dict[str, Any]:
    types = ctx.spec.output_types.get(ctx.node.id, {})
    properties: dict[str, Any] = {}
    for name in _output_names(ctx):
        spec_type = types.get(name) or ctx.spec.state_types[name]
        description = ctx.spec.config.state.fields[name].description
        if ctx.node.output_schema is not None and ctx.node.output_schema.fields:
            for out in ctx.node.output_schema.fields:
                if out.name == name and out.description:
                    description = out.description
        properties[name] = spec_type.json_schema(description)
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _validator(ctx: NodeContext) -> Callable[[Any], Any]:
    types = ctx.spec.output_types.get(ctx.node.id, {})
    outputs = _output_names(ctx)

    def validate(data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError(f"expected a JSON object with keys {', '.join(outputs)}")
        problems: list[str] = []
        for name in outputs:
            if name not in data:
                problems.append(f"missing key `{name}`")
                continue
            spec_type = types.get(name) or ctx.spec.state_types[name]
            value = data[name]
            if spec_type.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
                data[name] = value = float(value)
            problems += spec_type.check(value, name)
        extra = [k for k in data if k not in outputs]
        if extra:
            problems.append(f"unexpected key(s) {', '.join(extra)}")
        if problems:
            raise ValueError("; ".join(problems))
        return {name: data[name] for name in outputs}

    return validate


def _tool_context(ctx: NodeContext, config: Mapping[str, Any]) -> Any:
    """The context a tool call gets; built once per run and tool config (it resolves paths)."""
    key = ("tool_context", repr(sorted(config.items())) if config else "")
    cached = ctx.extra.get(key)
    if cached is None:
        cached = ctx.extra[key] = _new_tool_context(ctx, config)
    return cached


def _new_tool_context(ctx: NodeContext, config: Mapping[str, Any]) -> Any:
    from cagents.tools import ToolContext

    settings = ctx.spec.config.tools_settings
    workspace = ctx.workspace or Path(settings.workspace or os.environ.get("CAGENTS_WORKSPACE") or ".")
    return ToolContext(
        workspace=workspace.resolve(),
        env=ctx.env,
        config=dict(config),
        allow=frozenset(settings.allow),
        allow_private_network=settings.allow_private_network,
    )


def _registry(ctx: NodeContext) -> Any:
    if ctx.tool_registry is not None:
        return ctx.tool_registry
    from cagents.tools import default_registry

    return default_registry()


def _tool(ctx: NodeContext, name: str) -> Any:
    """Resolve a tool once per run (references import a module the first time)."""
    key = ("tool", name)
    found = ctx.extra.get(key)
    if found is None:
        try:
            found = ctx.extra[key] = _registry(ctx).get(name)
        except ToolError as error:
            raise NodeError(ctx.node.id, str(error)) from None
    return found


async def _run_llm(ctx: NodeContext) -> NodeOutcome:
    from cagents.llm import LLMRequest, StopToolLoop, ToolBinding, acomplete
    from cagents.tools import call_tool

    variables = render_variables(ctx)
    prompt = _render(ctx, ctx.node.prompt or "", variables, "prompt")
    messages: list[dict[str, Any]] = []
    if ctx.node.description:
        messages.append({"role": "system", "content": ctx.node.description})
    messages.append({"role": "user", "content": prompt})

    bindings = []
    for ref in ctx.node.tool_refs:
        tool = _tool(ctx, ref.name)
        tool_ctx = _tool_context(ctx, ref.config)

        async def call(args: dict[str, Any], _tool: Any = tool, _ref: Any = ref, _tctx: Any = tool_ctx) -> Any:
            started = time.perf_counter()
            try:
                result = await call_tool(_tool, args, _tctx)
            except ToolError as error:
                ctx.emit(ToolCalled(ctx.execution_id, node_id=ctx.node.id, tool=_ref.name, arguments=args,
                                    result=None, error=str(error), duration_s=time.perf_counter() - started))
                if _ref.on_error == "fail":
                    raise StopToolLoop(str(error)) from None
                raise
            ctx.emit(ToolCalled(ctx.execution_id, node_id=ctx.node.id, tool=_ref.name, arguments=args,
                                result=result, error=None, duration_s=time.perf_counter() - started))
            return result

        # The tool's own name: a `pkg.module:function` reference is not a valid model tool name.
        bindings.append(ToolBinding(tool.name, tool.description, tool.parameters, call))

    on_token = None
    if ctx.stream:
        def on_token(text: str) -> None:
            ctx.emit(TokenStreamed(ctx.execution_id, node_id=ctx.node.id, text=text))

    execution = ctx.spec.config.execution
    cached = ctx.extra.get(("llm", ctx.node.id))
    if cached is None:  # per run and node: settings, schema and validator do not change
        cached = ctx.extra[("llm", ctx.node.id)] = (_llm_settings(ctx), _output_json_schema(ctx), _validator(ctx))
    settings, schema, validate = cached
    request = LLMRequest(
        messages=messages,
        output_schema=schema,
        validate=validate,
        tools=bindings,
        max_tool_steps=ctx.node.max_tool_steps or 8,
        on_token=on_token,
        label=f"node '{ctx.node.id}'",
    )
    try:
        result = await acomplete(
            request, settings, env=ctx.env, retries=execution.max_retries,
            timeout=ctx.node.timeout or 120.0,
        )
    except StopToolLoop as stop:
        raise NodeError(ctx.node.id, f"tool failed (on_error: fail): {stop}") from None
    except LLMError as error:
        # The client already names the node (request label) in most of its messages.
        where = f"node '{ctx.node.id}'"
        message = str(error) if str(error).startswith(where) else f"{where}: {error}"
        raise LLMError(message, transient=error.transient, status=error.status) from None
    note = "simulated by the offline LLM simulator" if result.simulated else None
    return NodeOutcome(
        writes=dict(result.data),
        tokens=result.usage.total_tokens,
        cost_usd=result.cost_usd or 0.0,
        simulated=result.simulated,
        note=note,
        prompt=prompt,
    )


# ---- code ---------------------------------------------------------------------------------


async def _run_code(ctx: NodeContext) -> NodeOutcome:
    from cagents.engine.sandbox import SandboxError, SandboxLimits, run_code

    variables = render_variables(ctx)
    sandbox = ctx.node.sandbox
    limits = SandboxLimits.from_config(
        preset=sandbox.preset if sandbox else None,
        timeout=(sandbox.timeout or (sandbox.resources.timeout if sandbox.resources else None)) if sandbox else None,
        memory=(sandbox.resources.memory if sandbox and sandbox.resources else None),
        network=bool(sandbox.network) if sandbox else False,
    )
    if ctx.node.timeout is not None:
        limits = type(limits)(**{**limits.__dict__, "timeout": min(limits.timeout, ctx.node.timeout)})
    try:
        result = await run_code(ctx.node.code or "", variables, limits)
    except SandboxError as error:
        raise NodeError(ctx.node.id, str(error)) from None
    writes = _result_to_writes(ctx, result.value, "the code's `result`")
    note = f"stdout: {result.stdout[:500]}" if result.stdout else None
    return NodeOutcome(writes=writes, note=note)


# ---- tool ---------------------------------------------------------------------------------


async def _run_tool(ctx: NodeContext) -> NodeOutcome:
    from cagents.tools.calling import call_tool

    ref = ctx.node.tool_ref
    assert ref is not None
    args = _render_values(ctx, ctx.node.args, render_variables(ctx), "argument")
    tool = _tool(ctx, ref.name)
    started = time.perf_counter()
    try:
        result = await call_tool(tool, args, _tool_context(ctx, ref.config))
    except ToolError as error:
        ctx.emit(ToolCalled(ctx.execution_id, node_id=ctx.node.id, tool=ref.name, arguments=args,
                            result=None, error=str(error), duration_s=time.perf_counter() - started))
        if ref.on_error == "continue":
            return NodeOutcome(writes={}, note=f"tool error ignored (on_error: continue): {error}")
        raise NodeError(ctx.node.id, str(error)) from None
    if ctx.listening:
        ctx.emit(ToolCalled(ctx.execution_id, node_id=ctx.node.id, tool=ref.name, arguments=args,
                            result=result, error=None, duration_s=time.perf_counter() - started))
    return NodeOutcome(writes=_result_to_writes(ctx, result, f"the result of tool `{ref.name}`"))


# ---- human --------------------------------------------------------------------------------


def human_prompt(ctx: NodeContext) -> str:
    """The question a human node asks, rendered from the state."""
    return _render(ctx, ctx.node.prompt or "", render_variables(ctx), "prompt")


async def _run_human(ctx: NodeContext) -> NodeOutcome:
    return NodeOutcome(writes={}, waiting=True, prompt=human_prompt(ctx))


_EXECUTORS = {"llm": _run_llm, "code": _run_code, "tool": _run_tool, "human": _run_human}


def run_node(ctx: NodeContext) -> Coroutine[Any, Any, NodeOutcome]:
    """The coroutine that runs one node once (its executor, without a wrapper frame).

    Executors raise ExecutionError subclasses; the runner names the node on anything else.
    """
    return _EXECUTORS[ctx.node.effective_kind](ctx)
