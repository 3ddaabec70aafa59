"""The offline simulator's changes and answers: deterministic edits of a draft, and replies to
questions about it, from keywords ("make it cheaper", "add web search", "what does node X do?").

A change it cannot make as an edit becomes a new draft from the description plus the change.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from cagents.assistant.offline import OfflineDraft, draft_offline, tools_for, words

__all__ = ["CAPABILITIES", "answer_offline", "revise_offline"]

CAPABILITIES = (
    "- **Single-agent LLM workflows**: one prompt, a structured answer\n"
    "- **Multi-step pipelines**: research -> outline -> write, each step feeding the next\n"
    "- **Tool-augmented agents**: web search, fetching pages, a calculator, files, HTTP, SQL\n"
    "- **Conditional branching**: route on a classification or a score\n"
    "- **Loops**: write -> critique -> rewrite, with a bound on the rounds\n"
    "- **Parallel maps**: the same step for every item of a list, results collected in order\n"
    "- **Human steps**: pause for a person's approval or input, then go on"
)
#: Cheaper models, most expensive first: "make it cheaper" moves one step down.
_LADDER = ("gpt-4-turbo", "gpt-4o", "gpt-4.1", "gpt-5", "gpt-4.1-mini", "gpt-5-mini", "gpt-4o-mini",
           "gpt-4.1-nano")
_STRUCTURAL = re.compile(r"\b(approv\w*|human|loop|until|refine|each|every|parallel|if|otherwise|"
                         r"classif\w*|branch\w*|route)\b", re.IGNORECASE)


def _llm_nodes(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for n in data.get("nodes", []) if isinstance(n, dict) and n.get("kind", "llm") == "llm"
            and "code" not in n]


def _named_node(data: dict[str, Any], text: str) -> dict[str, Any] | None:
    said = set(words(text)) | set(re.findall(r"[a-z][a-z0-9_]*", text.lower()))
    return next((n for n in data.get("nodes", []) if isinstance(n, dict) and n.get("id") in said), None)


def _cheaper(data: dict[str, Any]) -> str | None:
    llm = data.setdefault("config", {}).setdefault("llm", {})
    current = str(llm.get("model") or "gpt-4o-mini")
    position = _LADDER.index(current) if current in _LADDER else len(_LADDER) - 2
    if position >= len(_LADDER) - 1:
        return None
    llm["model"] = _LADDER[position + 1]
    for node in _llm_nodes(data):  # a per-node model would keep costing what it did
        if isinstance(node.get("llm"), dict):
            node["llm"].pop("model", None)
            node["llm"].pop("provider", None)
    return f"switched the model from {current} to {llm['model']}"


def _set_model(data: dict[str, Any], text: str) -> str | None:
    from cagents.llm import load_prices

    lowered = text.lower()
    named = sorted((m for m in load_prices() if re.search(rf"(?<![\w.-]){re.escape(m)}(?![\w.-])", lowered)),
                   key=len, reverse=True)
    if not named:
        return None
    data.setdefault("config", {}).setdefault("llm", {})["model"] = named[0]
    return f"set the model to {named[0]}"


def _add_tools(data: dict[str, Any], text: str) -> str | None:
    tools = tools_for(text)
    target = _named_node(data, text) or next(iter(_llm_nodes(data)), None)
    if not tools or target is None:
        return None
    have = [t if isinstance(t, str) else t.get("name") for t in target.get("tools", [])]
    added = [t for t in tools if t not in have]
    if not added:
        return None
    target["tools"] = [*target.get("tools", []), *added]
    target.setdefault("max_tool_steps", 6)
    return f"added {', '.join(added)} to {target['id']}"


def _remove_node(data: dict[str, Any], text: str) -> str | None:
    node = _named_node(data, text)
    if node is None:
        return None
    name = node["id"]
    edges = data.get("edges", [])
    into = [e for e in edges if e.get("to") == name and set(e) == {"from", "to"}]
    out = [e for e in edges if e.get("from") == name]
    if len(into) != 1 or len(out) != 1 or set(out[0]) != {"from", "to"} or \
            any(name in str(e) for e in edges if e not in into and e not in out):
        return None  # not a plain step of a chain: leave it to a new draft
    into[0]["to"] = out[0]["to"]
    edges.remove(out[0])
    data["nodes"] = [n for n in data["nodes"] if n is not node]
    return f"removed the step {name}"


def revise_offline(data: dict[str, Any], request: str, description: str) -> tuple[OfflineDraft, list[str]]:
    """The draft changed as `request` asks: edits where keywords say how, else a new draft."""
    lowered = request.lower()
    changed = copy.deepcopy(data)
    changes: list[str] = []
    if not _STRUCTURAL.search(lowered):
        if re.search(r"\b(cheap\w*|less expensive|lower (the )?cost|save money|costs? less)\b", lowered):
            changes.append(_cheaper(changed) or "kept the model: it is already the cheapest I know")
        if model := _set_model(changed, request):
            changes.append(model)
        if re.search(r"\b(add|use|with|include|give)\b", lowered) and (added := _add_tools(changed, request)):
            changes.append(added)
        if re.search(r"\b(remove|delete|drop|skip)\b", lowered) and (removed := _remove_node(changed, request)):
            changes.append(removed)
    if changes:
        return OfflineDraft(changed, "edit"), changes
    fresh = draft_offline(f"{description.strip().rstrip('.')}. {request}")
    return fresh, [f"drafted again from your description and the change ({fresh.pattern} pattern)"]


def _node_text(data: dict[str, Any], node: dict[str, Any]) -> str:
    kind = node.get("kind", "llm")
    lines = [f"**{node['id']}** is a{'n' if kind == 'llm' else ''} {kind} step"
             + (f": {node['description']}" if node.get("description") else ".")]
    if node.get("prompt"):
        prompt = " ".join(str(node["prompt"]).split())
        lines.append(f"Its prompt: \u201c{prompt[:300]}{'...' if len(prompt) > 300 else ''}\u201d")
    reads = sorted(set(re.findall(r"\{([a-z_][\w.]*)\}", str(node.get("prompt") or ""))))
    if reads:
        lines.append("It reads " + ", ".join(f"`{r}`" for r in reads) + ".")
    if node.get("outputs"):
        lines.append("It writes " + ", ".join(f"`{o}`" for o in node["outputs"]) + ".")
    if node.get("tools"):
        names = [t if isinstance(t, str) else t.get("name") for t in node["tools"]]
        lines.append("It may call the tools " + ", ".join(f"`{n}`" for n in names) + ".")
    after = [str(e.get("to") or e.get("routes") or e.get("loop") or e.get("parallel"))
             for e in data.get("edges", []) if e.get("from") == node["id"]]
    if after:
        lines.append("Then: " + "; ".join(after) + ".")
    return " ".join(lines)


def answer_offline(question: str, data: dict[str, Any] | None, suggestions: Mapping[str, Any] | None) -> str:
    """A reply to a question, from the draft and its suggestions."""
    lowered = question.lower()
    if data is not None and (node := _named_node(data, question)) is not None:
        return _node_text(data, node)
    if suggestions is not None and re.search(r"\b(cost|price|expensive|cheap|spend|tokens?)\b", lowered):
        cost = suggestions["cost_estimate"]
        usd = cost["usd_per_run"]
        price = f"about ${usd:.4f}" if usd is not None else "unknown (no price for the model)"
        return (f"One run costs {price}, ~{cost['tokens_per_run']:,} tokens ({cost['basis']}). "
                "Say \u201cmake it cheaper\u201d to switch to a cheaper model.")
    if suggestions is not None and re.search(r"\b(keys?|env\w*|secrets?|credentials?|api)\b", lowered):
        needs = [f"{' or '.join(n['names'])} ({'required' if n['required'] else 'optional'}, "
                 f"{'set' if n['set'] else 'missing'})" for n in suggestions["env"]]
        return "It needs: " + ("; ".join(needs) if needs else "no keys") + \
            ". Type missing keys into the env area when you Execute or Deploy; they are used for that request only."
    if data is not None and re.search(r"\b(nodes?|steps?|how does|what does|explain|work)\b", lowered):
        nodes = ", ".join(f"`{n.get('id')}`" for n in data.get("nodes", []))
        return (f"The workflow `{data.get('flow', {}).get('name')}` runs these steps: {nodes}. "
                "Ask \u201cwhat does node X do?\u201d about any of them.")
    return ("Here is what I can build:\n" + CAPABILITIES + "\n\nIn offline mode I answer questions about the "
            "draft's nodes (\u201cwhat does node X do?\u201d), its cost and the keys it needs.")
