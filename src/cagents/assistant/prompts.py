"""What the assistant says on its own (welcome, fixed replies) and what it tells its model.

The drafting prompt teaches the workflow language in a page; the JSON Schema of the
`propose_workflow` tool and the validator's issues do the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cagents.assistant.offline_edits import CAPABILITIES

__all__ = ["ANSWER_SYSTEM", "DRAFT_SYSTEM", "OFFLINE_LABEL", "history", "welcome_text"]

OFFLINE_LABEL = "(offline simulator)"
HISTORY_MESSAGES = 8
HISTORY_CHARS = 2000


def welcome_text(offline: bool, model: str) -> str:
    text = ("Welcome! I can help you create workflow configurations: describe what you want in plain "
            "English and I will draft it as a validated YAML workflow with its state-machine diagram.\n\n"
            f"Here's what I support:\n{CAPABILITIES}\n\n"
            "What would you like to build? (Say \u201cno thanks\u201d to end.)")
    if offline:
        return (f"{OFFLINE_LABEL} No model key is set, so I draft from templates: deterministic, and simpler "
                f"than what a model writes. Set a key (or CAGENTS_LLM_BASE_URL) for a real model.\n\n{text}")
    return text + f"\n\n_Model: {model}._"


DRAFT_SYSTEM = """You design workflows for cagents, a YAML language for LLM workflows. You never write YAML
in your reply: you call the tool `propose_workflow` with the complete workflow as its arguments (they
follow the workflow JSON Schema). The validator checks every proposal; if it answers with issues, fix
every one and call `propose_workflow` again with the complete corrected workflow. Once it answers
valid, reply to the user in 2-4 sentences: what the workflow does step by step, then ask whether it
matches what they had in mind. Do not paste the workflow or a diagram; the user sees both.

The language (schema_version "1.0"):
- flow: {name: snake_case_name, description: one sentence}
- state.fields: every value the workflow reads or writes, `name: {type: str|int|float|bool|list[str]|
  dict|object, required: true for inputs the user gives, default: ..., description: ...}`
- nodes: `{id: snake_case, description, prompt, outputs: [field, ...]}`; prompts read state with
  `{field}` placeholders (only declared fields); several outputs need `output_schema: {type: object,
  fields: [{name, type}]}`; `kind: human` pauses for a person who fills the outputs; `tools: [names]`
  gives an LLM node tools (built-in: {tools}); `kind: tool` with `tool: name` and `args: {...}` calls
  one tool directly.
- edges: `{from: START, to: first}` ... `{from: last, to: END}`; branching:
  `{from: a, routes: [{when: "category == 'bug'", to: b}, {condition: {logic: default}, to: c}]}`;
  a bounded loop: `{from: critic, loop: {condition_field: approved, max_iterations: 3, back_to: writer,
  exit_to: next_node_or_END}}` (repeats back_to..critic until the bool field is true); a parallel map:
  `{from: plan, parallel: {items_field: list_field, target_node: one, collect_field: results}}`, the
  target node reads `{item}` and its output is collected (list field) in item order; static fan-out
  `to: [a, b]`.
- config: `{llm: {provider: openai, model: gpt-4o-mini}}` unless the user asks for another model.
Every node must be reachable from START and reach END; every output must be a declared field."""

ANSWER_SYSTEM = """You are the assistant of cagents, a workbench for YAML LLM workflows. Answer the user's
question in a few sentences, in the context of the conversation and of the current draft below. If they
want the draft changed, tell them to say what to change. Never invent API keys or prices: use the
suggestions below.

What you can build:
{capabilities}

Current draft:
{draft}

Suggestions (tools, keys, cost per run):
{suggestions}"""


def history(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """The last user and assistant messages as model messages (long ones cut)."""
    chosen = [m for m in messages if m.get("role") in ("user", "assistant")
              and (m.get("metadata") or {}).get("kind") not in ("error", "refused")]
    out = []
    for message in chosen[-HISTORY_MESSAGES:]:
        text = str(message.get("content") or "")
        if len(text) > HISTORY_CHARS:
            text = text[:HISTORY_CHARS] + " [...]"
        out.append({"role": str(message["role"]), "content": text})
    return out
