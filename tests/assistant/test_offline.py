"""The offline drafter: every pattern validates, the same text gives the same draft, edits work."""

from __future__ import annotations

import pytest

from cagents.assistant.drafts import check_data, check_yaml, to_yaml
from cagents.assistant.offline import draft_offline
from cagents.assistant.offline_edits import answer_offline, revise_offline
from cagents.assistant.suggestions import suggest

CASES = [
    ("Translate an email to French", "single", ["translate"]),
    ("Summarize a web page", "tools", ["agent"]),
    ("Research a topic and write an article about it", "pipeline", ["research", "write_article"]),
    ("Draft a social post and have an editor approve it before publishing", "human",
     ["prepare", "review", "finalize", "record_rejection"]),
    ("Summarize each of a list of documents, then write a digest", "map", ["plan", "process_item", "combine"]),
    ("Write a product description and refine it until a critic is happy", "loop",
     ["write", "critique", "finalize"]),
    ("Triage support tickets into billing, bug or how-to and reply", "conditional",
     ["classify", "handle_billing", "handle_bug", "handle_how_to"]),
]


@pytest.mark.parametrize(("description", "pattern", "nodes"), CASES)
def test_every_pattern_is_a_valid_workflow(description: str, pattern: str, nodes: list[str]) -> None:
    made = draft_offline(description)
    assert made.pattern == pattern
    draft = check_data(made.data)
    assert draft.valid, draft.issues
    assert draft.nodes == nodes
    assert draft.mermaid is not None and draft.mermaid.startswith("flowchart TD")
    assert draft.spec is not None and draft.spec.config.flow.description == description
    again = check_data(draft_offline(description).data)
    assert again.yaml == draft.yaml  # deterministic
    assert check_yaml(draft.yaml).valid  # the YAML reads back as the same valid workflow


def test_kinds_and_edges_of_the_structural_patterns() -> None:
    human = check_data(draft_offline(CASES[3][0]).data).spec
    assert human is not None and [n.effective_kind for n in human.config.nodes][1] == "human"
    mapped = draft_offline(CASES[4][0]).data
    assert mapped["state"]["fields"]["documents"] == {"type": "list[str]", "required": True,
                                                       "description": "The documents to process, one per item."}
    assert mapped["edges"][1]["parallel"]["target_node"] == "process_item"
    looped = draft_offline(CASES[5][0]).data
    assert looped["edges"][2]["loop"] == {"condition_field": "approved", "max_iterations": 3,
                                          "back_to": "write", "exit_to": "finalize"}
    tooled = draft_offline("Answer questions about a URL using web search and a calculator").data
    assert tooled["nodes"][0]["tools"] == ["web_search", "fetch_url", "calculator"]


@pytest.mark.parametrize("description", ["", "x", "🙂 日本語", "and and , then ;", "a" * 5000,
                                         "if if if", "each every each"])
def test_odd_descriptions_still_give_a_valid_workflow(description: str) -> None:
    draft = check_data(draft_offline(description).data)
    assert draft.valid, draft.issues


def test_edits() -> None:
    base = draft_offline("Research a topic and write an article about it")
    cheaper, changes = revise_offline(base.data, "make it cheaper", "Research a topic")
    assert changes == ["switched the model from gpt-4o-mini to gpt-4.1-nano"]
    assert check_data(cheaper.data).valid and cheaper.data["config"]["llm"]["model"] == "gpt-4.1-nano"
    assert base.data["config"]["llm"]["model"] == "gpt-4o-mini"  # the original is untouched
    named, changes = revise_offline(base.data, "use gpt-4o instead", "")
    assert named.data["config"]["llm"]["model"] == "gpt-4o" and changes == ["set the model to gpt-4o"]
    searched, changes = revise_offline(base.data, "add web search to write_article", "")
    assert searched.data["nodes"][1]["tools"] == ["web_search"] and changes == ["added web_search to write_article"]
    removed, changes = revise_offline(base.data, "remove the research step", "")
    assert [n["id"] for n in removed.data["nodes"]] == ["write_article"] and check_data(removed.data).valid
    redrafted, changes = revise_offline(base.data, "and have an editor approve it",
                                        "Research a topic and write an article")
    assert redrafted.pattern == "human" and "drafted again" in changes[0]


def test_answers() -> None:
    data = draft_offline("Research a topic and write an article about it").data
    spec = check_data(data).spec
    assert spec is not None
    suggestions = suggest(spec, {})
    about = answer_offline("what does node research do?", data, suggestions)
    assert "**research**" in about and "`research_result`" in about and "`topic`" in about
    assert "One run costs about $" in answer_offline("how much does it cost?", data, suggestions)
    assert "OPENAI_API_KEY (required, missing)" in answer_offline("which keys do I need?", data, suggestions)
    assert "Parallel maps" in answer_offline("what can you do?", None, None)


def test_yaml_is_readable() -> None:
    text = to_yaml({"nodes": [{"id": "a", "prompt": "line one\nline two", "outputs": ["x"]}],
                    "schema_version": 1.0, "flow": {"name": "f"}})
    assert text.startswith("schema_version: '1.0'\nflow: {name: f}\nnodes:")
    assert "prompt: |-\n    line one\n    line two" in text and "outputs: [x]" in text
