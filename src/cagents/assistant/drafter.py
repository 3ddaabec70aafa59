"""Drafting with a model: a `propose_workflow` tool call whose arguments follow the workflow
JSON Schema, checked by our validator, with the issues sent back for repair.

The model gets at most `MAX_ATTEMPTS` invalid proposals; then drafting fails with the last
issues (`DraftFailed`), and nothing invalid is ever returned as a draft.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cagents.assistant.drafts import Draft, check_data, issue_lines
from cagents.assistant.prompts import ANSWER_SYSTEM, DRAFT_SYSTEM, history
from cagents.errors import CagentsError, ConfigIssue

if TYPE_CHECKING:
    from cagents.assistant.model import Spend
    from cagents.llm import LLMSettings

__all__ = ["MAX_ATTEMPTS", "TOOL_NAME", "DraftFailed", "ModelDraft", "answer_with_model", "draft_with_model"]

TOOL_NAME = "propose_workflow"
#: Invalid proposals the model may make in one turn before drafting gives up.
MAX_ATTEMPTS = 3


class DraftFailed(CagentsError):
    """The model made no valid workflow within the attempts; says which issues remained."""

    http_status = 502

    def __init__(self, attempts: int, issues: Sequence[ConfigIssue]) -> None:
        self.attempts = attempts
        self.issues = list(issues)
        lines = "; ".join(issue_lines(self.issues, 5)) or "no proposal was made"
        super().__init__(f"the model made no valid workflow in {attempts} attempt(s): {lines}")


@dataclass
class ModelDraft:
    draft: Draft
    text: str
    attempts: int


def _tool_description() -> str:
    from cagents.config.tool_names import BUILTIN_TOOLS

    return ("Propose the complete workflow (every key, not a diff). The validator answers valid, or the "
            f"issues to fix. Built-in tools: {', '.join(sorted(BUILTIN_TOOLS))}.")


def _system() -> str:
    from cagents.config.tool_names import BUILTIN_TOOLS

    return DRAFT_SYSTEM.replace("{tools}", ", ".join(sorted(BUILTIN_TOOLS)))


async def draft_with_model(
    request_text: str,
    *,
    current_yaml: str | None,
    messages: Sequence[Mapping[str, Any]],
    llm: LLMSettings,
    env: Mapping[str, str],
    spend: Spend,
    on_token: Callable[[str], None] | None = None,
) -> ModelDraft:
    """A valid draft for `request_text` (a description, or a change of `current_yaml`)."""
    from cagents.assistant.model import ask
    from cagents.config.schema import workflow_json_schema
    from cagents.llm import LLMRequest, StopToolLoop, ToolBinding

    valid: list[Draft] = []
    invalid: list[Draft] = []

    async def propose(arguments: dict[str, Any]) -> dict[str, Any]:
        draft = await asyncio.to_thread(check_data, arguments)
        if draft.valid:
            valid.append(draft)
            return {"valid": True, "workflow": draft.workflow, "nodes": draft.nodes,
                    "next": "The user sees this workflow and its diagram. Now reply in 2-4 sentences and ask "
                            "whether it matches what they had in mind."}
        invalid.append(draft)
        spend.attempts = len(invalid)
        if len(invalid) >= MAX_ATTEMPTS:
            raise StopToolLoop(f"{len(invalid)} invalid proposals")
        return {"valid": False, "issues": issue_lines(draft.issues),
                "next": f"Fix every issue and call {TOOL_NAME} again with the complete corrected workflow "
                        f"({MAX_ATTEMPTS - len(invalid)} attempt(s) left)."}

    def accept(content: Any) -> Any:
        if not valid:
            raise ValueError(f"no valid workflow yet: call the tool {TOOL_NAME} with the complete workflow")
        return content

    conversation: list[dict[str, Any]] = [{"role": "system", "content": _system()}, *history(messages)]
    if current_yaml:
        conversation.append({"role": "system", "content": "The current draft (change it as the user asks; "
                             f"keep everything else):\n```yaml\n{current_yaml}```"})
    if conversation[-1]["content"] != request_text:
        conversation.append({"role": "user", "content": request_text})
    binding = ToolBinding(TOOL_NAME, _tool_description(), workflow_json_schema(), propose)
    request = LLMRequest(messages=conversation, tools=[binding], max_tool_steps=MAX_ATTEMPTS + 2,
                         max_repair_attempts=1, validate=accept, on_token=on_token, label="assistant draft")
    try:
        result = await ask(request, llm, env)
    except StopToolLoop:
        raise DraftFailed(len(invalid), invalid[-1].issues if invalid else []) from None
    spend.add(result)
    spend.attempts = len(invalid) + len(valid)
    return ModelDraft(draft=valid[-1], text=result.content.strip(), attempts=len(invalid) + len(valid))


async def answer_with_model(
    question: str,
    *,
    current_yaml: str | None,
    suggestions: Mapping[str, Any] | None,
    messages: Sequence[Mapping[str, Any]],
    llm: LLMSettings,
    env: Mapping[str, str],
    spend: Spend,
    on_token: Callable[[str], None] | None = None,
) -> str:
    """An answer to a question, in the context of the conversation and the draft."""
    from cagents.assistant.model import ask
    from cagents.assistant.offline_edits import CAPABILITIES
    from cagents.llm import LLMRequest

    system = ANSWER_SYSTEM.format(
        capabilities=CAPABILITIES,
        draft=f"```yaml\n{current_yaml}```" if current_yaml else "(none yet)",
        suggestions=json.dumps(suggestions, indent=1) if suggestions else "(none yet)",
    )
    conversation = [{"role": "system", "content": system}, *history(messages)]
    if conversation[-1]["content"] != question:
        conversation.append({"role": "user", "content": question})
    result = await ask(LLMRequest(messages=conversation, on_token=on_token, label="assistant answer"), llm, env)
    spend.add(result)
    return result.content.strip()
