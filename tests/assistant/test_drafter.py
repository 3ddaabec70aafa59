"""Drafting with a model through the `propose_workflow` tool call, against the scripted server."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from cagents.assistant import adraft_workflow, draft_workflow
from cagents.assistant.drafter import MAX_ATTEMPTS, DraftFailed, draft_with_model
from cagents.assistant.model import Spend, call_env, settings
from support.llm_server import ScriptedLLMServer

GOOD: dict[str, Any] = {
    "schema_version": "1.0",
    "flow": {"name": "summarizer"},
    "state": {"fields": {"text": {"type": "str", "required": True}, "summary": {"type": "str"}}},
    "nodes": [{"id": "summarize", "prompt": "Summarize {text}", "outputs": ["summary"]}],
    "edges": [{"from": "START", "to": "summarize"}, {"from": "summarize", "to": "END"}],
}
BAD = copy.deepcopy(GOOD)
BAD["nodes"][0]["outputs"] = ["sumary"]  # not a state field


def propose(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"name": "propose_workflow", "arguments": workflow}]


async def draft(llm: ScriptedLLMServer, text: str = "summarize a text") -> Any:
    spend = Spend("m", "openai", False)
    made = await draft_with_model(text, current_yaml=None, messages=[], llm=settings(), env=call_env(None),
                                  spend=spend)
    return made, spend


async def test_a_valid_proposal_is_drafted_in_one_attempt(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(tool_calls=propose(GOOD), usage=(500, 100))
    llm_env.reply("It summarizes a text. Does this match?", usage=(600, 20))
    made, spend = await draft(llm_env)
    assert made.draft.valid and made.draft.workflow == "summarizer" and made.attempts == 1
    assert made.text == "It summarizes a text. Does this match?"
    assert (spend.prompt_tokens, spend.completion_tokens, spend.calls) == (1100, 120, 1)
    assert spend.cost_usd is not None and spend.cost_usd > 0  # gpt-4o-mini, priced
    tool = llm_env.requests[0]["tools"][0]["function"]
    assert tool["name"] == "propose_workflow" and tool["parameters"]["$id"] == "urn:cagents:workflow:1.0"
    assert json.loads(llm_env.requests[1]["messages"][-1]["content"])["valid"] is True


async def test_the_validator_issues_go_back_until_the_proposal_is_valid(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(tool_calls=propose(BAD))
    llm_env.reply(tool_calls=propose(GOOD))
    llm_env.reply("Fixed. Does this match?")
    made, spend = await draft(llm_env)
    assert made.draft.valid and made.attempts == 2 and spend.attempts == 2
    answer = json.loads(llm_env.requests[1]["messages"][-1]["content"])
    assert answer["valid"] is False and "2 attempt(s) left" in answer["next"]
    assert "sumary" in " ".join(answer["issues"])  # the validator's own words, naming the field


async def test_invalid_proposals_are_bounded_and_never_returned(llm_env: ScriptedLLMServer) -> None:
    for _ in range(MAX_ATTEMPTS):
        llm_env.reply(tool_calls=propose(BAD))
    with pytest.raises(DraftFailed, match=f"{MAX_ATTEMPTS} attempt") as caught:
        await draft(llm_env)
    assert caught.value.issues and len(llm_env.requests) == MAX_ATTEMPTS  # no extra round trip
    assert llm_env.pending == 0


async def test_an_answer_without_a_proposal_is_sent_back(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply("Here is some YAML: schema_version: 1.0 ...")  # prose instead of the tool call
    llm_env.reply(tool_calls=propose(GOOD))
    llm_env.reply("Done.")
    made, _ = await draft(llm_env)
    assert made.draft.valid and made.text == "Done."
    assert "call the tool propose_workflow" in llm_env.requests[1]["messages"][-1]["content"]


async def test_the_current_draft_goes_along_with_a_change(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(tool_calls=propose(GOOD))
    llm_env.reply("Changed.")
    spend = Spend("m", "openai", False)
    await draft_with_model("rename the node", current_yaml="flow: {name: old_one}\n",
                           messages=[{"role": "user", "content": "rename the node"}], llm=settings(),
                           env=call_env(None), spend=spend)
    sent = llm_env.requests[0]["messages"]
    assert "old_one" in sent[-2]["content"] and sent[-1] == {"role": "user", "content": "rename the node"}


async def test_one_shot_drafts_for_the_magic(llm_env: ScriptedLLMServer) -> None:
    llm_env.reply(tool_calls=propose(GOOD))
    llm_env.reply("ok")
    text = await adraft_workflow("summarize a text")
    assert "name: summarizer" in text and "outputs: [summary]" in text


def test_one_shot_offline_is_labelled_and_valid() -> None:
    from cagents.app.workflows import check_text

    text = draft_workflow("Research a topic and write an article about it")  # no key: offline
    assert text.startswith("# Drafted by the cagents assistant's offline simulator")
    assert check_text(text)["valid"]
