"""The conversation's state machine: every intent at every stage, and restoring from messages."""

from __future__ import annotations

import pytest

from cagents.assistant import machine
from cagents.assistant.intents import keyword_intent
from cagents.assistant.machine import State
from cagents.errors import ConflictError

DRAFT = 'schema_version: "1.0"\n'

EXPECTED = {
    # stage: {intent: action}
    "awaiting_description": {"describe": "draft", "modify": "draft", "approve": "ask_description",
                             "reject": "abandon", "question": "answer"},
    "proposed": {"describe": "draft", "modify": "redraft", "approve": "suggest", "reject": "abandon",
                 "question": "answer"},
    "reviewing": {"describe": "draft", "modify": "redraft", "approve": "finalize", "reject": "abandon",
                  "question": "answer"},
    "approved": {"describe": "draft", "modify": "redraft", "approve": "finalize", "reject": "keep_final",
                 "question": "answer"},
    "done": {"describe": "draft", "modify": "redraft", "approve": "finalize", "reject": "keep_final",
             "question": "answer"},
}


@pytest.mark.parametrize("stage", list(EXPECTED))
def test_every_intent_at_every_stage(stage: str) -> None:
    state = State(stage=stage, draft_yaml=None if stage == "awaiting_description" else DRAFT)
    for intent, action in EXPECTED[stage].items():
        assert machine.decide(state, intent) == action, (stage, intent)
        assert action in machine.ACTIONS


def test_an_abandoned_session_refuses_everything_with_advice() -> None:
    for intent in machine.INTENTS:
        with pytest.raises(ConflictError, match="start a new session"):
            machine.decide(State(stage="abandoned"), intent)
    with pytest.raises(ValueError, match="unknown intent"):
        machine.decide(State(), "dance")


def test_transitions_and_statuses() -> None:
    first = machine.proposed(State(), DRAFT, "research and write", fresh=True)
    assert (first.stage, first.revision, first.description) == ("proposed", 1, "research and write")
    changed = machine.proposed(first, DRAFT + "# v2\n", "make it cheaper", fresh=False)
    assert changed.revision == 2 and changed.description == "research and write\nmake it cheaper"
    assert machine.proposed(changed, DRAFT, "something else", fresh=True).description == "something else"
    assert machine.reviewing(changed).stage == "reviewing"
    assert machine.approved(changed).stage == "approved"
    assert machine.executed(machine.approved(changed)).stage == "done"
    assert machine.abandoned(changed).stage == "abandoned"
    assert [machine.session_status(s) for s in machine.STAGES] == [
        "active", "active", "active", "completed", "completed", "abandoned"]


def test_allowed_actions() -> None:
    assert machine.actions_allowed(State(), False) == ["turn"]
    assert machine.actions_allowed(State("proposed", draft_yaml=DRAFT), False) == ["turn", "approve"]
    assert machine.actions_allowed(State("approved", draft_yaml=DRAFT), True) == [
        "turn", "approve", "execute", "deploy"]
    assert machine.actions_allowed(State("abandoned", draft_yaml=DRAFT), True) == []


def test_state_is_restored_from_the_newest_assistant_message() -> None:
    old = State("proposed", "a", DRAFT, 1).to_dict()
    new = State("reviewing", "a", DRAFT, 1).to_dict()
    messages = [
        {"role": "assistant", "metadata": {"state": old}},
        {"role": "assistant", "metadata": {"state": new}},
        {"role": "user", "metadata": None},
        {"role": "assistant", "metadata": None},  # a message stored by hand, without a state
    ]
    assert machine.restore(messages, "active") == State("reviewing", "a", DRAFT, 1)
    assert machine.restore([], "active") == State()
    # A status changed by hand wins: abandoned is abandoned, reopened is usable again.
    assert machine.restore(messages, "abandoned").stage == "abandoned"
    gone = [{"role": "assistant", "metadata": {"state": State("abandoned", "a", DRAFT, 1).to_dict()}}]
    assert machine.restore(gone, "active").stage == "proposed"
    # Garbage in a stored state reads as defaults.
    odd = [{"role": "assistant", "metadata": {"state": {"stage": "flying", "revision": -3, "draft_yaml": 5}}}]
    assert machine.restore(odd, "active") == State()


@pytest.mark.parametrize(("text", "has_draft", "expected"), [
    ("yes", True, ("approve", True)),
    ("Looks good to me!", True, ("approve", True)),
    ("approve", True, ("approve", True)),
    ("No thanks", False, ("reject", True)),
    ("no thank you.", True, ("reject", True)),
    ("make it cheaper", True, ("modify", False)),
    ("can you add a search step?", True, ("modify", False)),
    ("what does node research do?", True, ("question", False)),
    ("how much will a run cost?", True, ("question", False)),
    ("what can you build?", False, ("question", False)),
    ("Research a topic and write an article", False, ("describe", False)),
    ("no, the other way round", True, ("modify", False)),
    ("yes but add a review step", True, ("modify", False)),
])
def test_keywords(text: str, has_draft: bool, expected: tuple[str, bool]) -> None:
    state = State("proposed", draft_yaml=DRAFT) if has_draft else State()
    assert keyword_intent(text, state) == expected
