"""Enhancements for a draft: tools worth adding, the API keys it needs, its cost per run.

The cost estimate is the expected tokens of each LLM node (prompt size plus typical input
and answer sizes; loops at their bound, parallel maps at three items) times the model's
price from the price table. Deterministic, so the same draft always gets the same advice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cagents.config.loader import WorkflowSpec
    from cagents.config.models import Node

__all__ = ["cost_estimate", "env_needs", "suggest", "text_of", "tool_suggestions"]

#: Tokens a node's rendered inputs and instructions add to its prompt template.
INPUT_TOKENS = 300
#: Tokens of a typical answer when `max_tokens` does not say.
ANSWER_TOKENS = 400
#: Items a parallel map is assumed to run over.
MAP_ITEMS = 3
_TOOL_HINTS: tuple[tuple[str, str, str], ...] = (
    ("web_search", r"\b(research\w*|facts?|latest|news|current|look ?up|search\w*|sources?|cite)\b",
     "to find current facts and sources on the web"),
    ("fetch_url", r"\b(urls?|web ?pages?|websites?|links?)\b", "to read the page a URL points to"),
    ("calculator", r"\b(calculat\w*|sum|totals?|averages?|percent\w*|math|arithmetic|numbers)\b",
     "so arithmetic is exact instead of guessed"),
    ("write_file", r"\b(save|store|export|file)\b", "to save the result to a file in the workspace"),
)


def _model_of(spec: WorkflowSpec, node: Node) -> str:
    from cagents.config.providers import PROVIDER_INFO

    base = spec.config.settings.llm
    model = (node.llm.model if node.llm and node.llm.model else None) or (base.model if base else None)
    provider = (node.llm.provider if node.llm and node.llm.provider else None) or \
        (base.provider if base and base.provider else "openai")
    info = PROVIDER_INFO.get(provider)
    return model or (info.default_model if info else "gpt-4o-mini")


def _max_tokens(spec: WorkflowSpec, node: Node) -> int | None:
    base = spec.config.settings.llm
    return (node.llm.max_tokens if node.llm and node.llm.max_tokens else None) or (base.max_tokens if base else None)


def _runs(spec: WorkflowSpec) -> dict[str, tuple[int, str]]:
    """How many times each node runs at most in one execution, and why (loops, maps)."""
    runs: dict[str, tuple[int, str]] = {}
    edges = spec.config.edges
    forward: dict[str, list[str]] = {}
    for edge in edges:
        targets = [edge.to] if isinstance(edge.to, str) else list(edge.to or [])
        targets += [route.to for route in edge.routes or []]
        forward.setdefault(edge.from_, []).extend(targets)
    for edge in edges:
        if edge.loop is not None:
            start, end = edge.loop.back_to or edge.from_, edge.from_
            body, todo = {start}, [start]
            while todo:  # nodes from the loop's start that lead back to its end
                for target in forward.get(todo.pop(), []):
                    if target not in body and target not in ("END", edge.loop.exit_to):
                        body.add(target)
                        todo.append(target)
            for node in body | {end}:
                runs[node] = (edge.loop.max_iterations, f"up to {edge.loop.max_iterations} loop rounds")
        if edge.parallel is not None:
            runs[edge.parallel.target_node] = (MAP_ITEMS, f"once per item, {MAP_ITEMS} items assumed")
    return runs


def cost_estimate(spec: WorkflowSpec) -> dict[str, Any]:
    """Expected tokens and USD of one run (None when a model's price is unknown)."""
    from cagents.llm import Usage, cost_usd

    runs = _runs(spec)
    per_node: list[dict[str, Any]] = []
    total_usd: float | None = 0.0
    total_tokens = 0
    for node in spec.config.nodes:
        if node.effective_kind != "llm":
            continue
        prompt = (len(node.prompt or "") + 3) // 4 + INPUT_TOKENS
        answer = min(_max_tokens(spec, node) or ANSWER_TOKENS, ANSWER_TOKENS * 4)
        calls = 2 if node.tool_refs else 1  # a tool round sends the prompt again
        times, why = runs.get(node.id, (1, ""))
        usage = Usage(prompt * calls * times, answer * times)
        model = _model_of(spec, node)
        usd = cost_usd(model, usage)
        total_tokens += usage.total_tokens
        total_usd = None if usd is None or total_usd is None else total_usd + usd
        per_node.append({"node": node.id, "model": model, "tokens": usage.total_tokens,
                         "usd": round(usd, 6) if usd is not None else None, "runs": times,
                         **({"why": why} if why else {})})
    models = sorted({entry["model"] for entry in per_node})
    basis = (f"{len(per_node)} LLM node(s), about {total_tokens:,} tokens per run at "
             f"{', '.join(models) or 'no model'} prices; loops counted at their bound, parallel maps at "
             f"{MAP_ITEMS} items") if per_node else "no LLM nodes: no model cost"
    unknown = [entry["model"] for entry in per_node if entry["usd"] is None]
    if unknown:
        basis += f"; no price known for {', '.join(sorted(set(unknown)))} (add it to prices.json)"
    return {"usd_per_run": round(total_usd, 6) if total_usd is not None else None,
            "tokens_per_run": total_tokens, "model": models[0] if len(models) == 1 else ", ".join(models),
            "basis": basis, "per_node": per_node}


def tool_suggestions(spec: WorkflowSpec, limit: int = 4) -> list[dict[str, Any]]:
    """Built-in tools an LLM node would likely benefit from and does not have yet."""
    from cagents.config.tool_names import TOOL_ENV_KEYS, canonical_tool_name

    found: list[dict[str, Any]] = []
    used = {canonical_tool_name(ref.name) for node in spec.config.nodes for ref in node.tool_refs}
    for node in spec.config.nodes:
        if node.effective_kind != "llm":
            continue
        has = used | {canonical_tool_name(ref.name) for ref in node.tool_refs}
        # Placeholders and field names say what a node reads, not what it does.
        prompt = re.sub(r"\{[^}]*\}|\(\w+\)", " ", node.prompt or "")
        text = f"{node.id} {node.description or ''} {prompt}".lower()
        for name, pattern, reason in _TOOL_HINTS:
            if name not in has and re.search(pattern, text) and all(s["name"] != name for s in found):
                found.append({"name": name, "node": node.id, "reason": reason,
                              "env": list(TOOL_ENV_KEYS.get(name, ()))})
    return found[:limit]


def env_needs(spec: WorkflowSpec, tools: list[dict[str, Any]], env: Mapping[str, str]) -> list[dict[str, Any]]:
    """Keys the workflow needs (required), then keys of suggested tools (optional); `set` never the value."""
    needs = [{**req.to_dict(), "set": any(env.get(n) for n in req.names)} for req in spec.env]
    seen = {tuple(entry["names"]) for entry in needs}
    for tool in tools:
        names = tuple(tool["env"])
        if names and names not in seen:
            seen.add(names)
            needs.append({"names": list(names), "required": False,
                          "reason": f"only if you add {tool['name']}", "set": any(env.get(n) for n in names)})
    return needs


def suggest(spec: WorkflowSpec, env: Mapping[str, str]) -> dict[str, Any]:
    """The SUGGESTIONS of the REST contract (docs/rest-api/chat.md)."""
    tools = tool_suggestions(spec)
    return {"tools": tools, "env": env_needs(spec, tools, env), "cost_estimate": cost_estimate(spec)}


def text_of(suggestions: Mapping[str, Any]) -> str:
    """The suggestions as Markdown for the chat."""
    lines = ["**Tools you could add**"]
    lines += [f"- `{t['name']}` on `{t['node']}`, {t['reason']}" for t in suggestions["tools"]] \
        or ["- none needed: the workflow does its job with the model alone"]
    lines.append("\n**API keys**")
    for need in suggestions["env"]:
        names = " or ".join(f"`{n}`" for n in need["names"])
        kind = "required" if need["required"] else "optional"
        lines.append(f"- {names} ({kind}, {'set' if need['set'] else 'missing'}): {need['reason']}")
    if not suggestions["env"]:
        lines.append("- none")
    cost = suggestions["cost_estimate"]
    usd = cost["usd_per_run"]
    price = f"about ${usd:.4f}" if usd is not None else "unknown (no price for the model)"
    lines.append(f"\n**Cost per run**: {price}, ~{cost['tokens_per_run']:,} tokens ({cost['basis']}).")
    return "\n".join(lines)
