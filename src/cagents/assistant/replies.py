"""The assistant's fixed replies and the FINAL of an approved workflow (text and data).

Kept apart from the conversation so the words can be read (and changed) in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cagents.assistant.drafts import Draft, issue_lines
from cagents.assistant.suggestions import text_of

__all__ = ["FIXED", "failure_text", "final_data", "final_text", "proposal_text", "suggestions_text"]

PROPOSAL_FOOTER = "Does this match what you had in mind? Say **yes**, tell me what to change, or ask about any step."

FIXED = {
    "abandon": "Okay, no workflow this time. Start a new chat whenever you want to build one.",
    "keep_final": ("The approved workflow stays saved in this session: Execute or Deploy it any time, tell me "
                   "what to change, or start a new chat for another workflow."),
    "ask_description": ("There is nothing to approve yet. Describe the workflow you want in a sentence or two, "
                        "for example \u201cresearch a topic and write an article about it\u201d."),
}


def _diagram(draft: Draft) -> str:
    return f"```mermaid\n{draft.mermaid}```" if draft.mermaid else ""


def proposal_text(intro: str, draft: Draft, *, offline: bool, changes: list[str] | None = None) -> list[str]:
    """The parts of a proposal message: intro (or the model's text), diagram, question."""
    parts = []
    if offline:
        described = f"I changed the draft: {'; '.join(changes)}." if changes else intro
        parts.append(f"{described} The workflow `{draft.workflow}` runs "
                     + " -> ".join(f"`{n}`" for n in draft.nodes) + ".")
    else:
        parts.append(intro or f"Here is a draft of `{draft.workflow}`.")
    parts += ["\n\n" + _diagram(draft), "\n\n" + PROPOSAL_FOOTER]
    return parts


def suggestions_text(suggestions: Mapping[str, Any]) -> str:
    return (f"Great. Before I finalize it, some suggestions:\n\n{text_of(suggestions)}\n\n"
            "Say **approve** (or press Approve) for the final YAML, or tell me what to change.")


def final_data(draft: Draft, env: Mapping[str, str]) -> dict[str, Any]:
    """FINAL of the REST contract: the YAML, its diagram, input schema and the keys it needs."""
    assert draft.spec is not None
    spec = draft.spec
    return {
        "yaml": draft.yaml,
        "mermaid": draft.mermaid,
        "workflow": spec.name,
        "input_schema": spec.input_schema(),
        "env": [{**req.to_dict(), "set": any(env.get(n) for n in req.names)} for req in spec.env],
        "config_hash": spec.config_hash,
    }


def final_text(final: Mapping[str, Any]) -> str:
    keys = [f"`{' or '.join(e['names'])}` ({'required' if e['required'] else 'optional'}, "
            f"{'set' if e['set'] else 'missing'})" for e in final["env"]]
    return (f"Here is the final workflow `{final['workflow']}`:\n\n```yaml\n{final['yaml']}```\n\n"
            f"```mermaid\n{final['mermaid']}```\n\n"
            f"Keys: {', '.join(keys) if keys else 'none'}. Choose **Execute** to run it here (the result "
            "appears in this chat) or **Deploy** to run it as a service; type missing keys into the env area, "
            "they are used for that request only.")


def failure_text(problem: str, draft: Draft | None = None) -> str:
    extra = ""
    if draft is not None and draft.issues:
        extra = "\n\nThe validator still found:\n" + "\n".join(f"- {line}" for line in issue_lines(draft.issues, 6))
    return (f"Sorry, I could not answer that: {problem}{extra}\n\nYour message is kept and nothing else changed: "
            "send it again, or fix the key in the env area and retry.")
