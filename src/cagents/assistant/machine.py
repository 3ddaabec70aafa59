"""The conversation as an explicit state machine: stages, what each intent does in each, and
how the state is persisted (in the metadata of the assistant's messages) and read back.

Everything here is pure: no model, no database. The conversation (`conversation.py`) asks
`decide` what to do with a classified message, carries the action out, and stores the
`State` it reaches with the assistant's reply, so a session resumes after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from cagents.errors import ConflictError

__all__ = [
    "ACTIONS", "INTENTS", "STAGES", "State", "abandoned", "actions_allowed", "approved", "decide",
    "executed", "proposed", "restore", "reviewing", "session_status", "state_key",
]

#: welcome -> awaiting_description -> proposed <-> (changes) -> reviewing -> approved -> done;
#: "no thanks" before approval -> abandoned.
STAGES = ("awaiting_description", "proposed", "reviewing", "approved", "done", "abandoned")
INTENTS = ("describe", "modify", "approve", "reject", "question")
#: What `decide` may answer.
ACTIONS = ("draft", "redraft", "suggest", "finalize", "abandon", "answer", "ask_description",
           "keep_final")
#: The metadata key of an assistant message that holds the state it left the session in.
state_key = "state"


@dataclass(frozen=True)
class State:
    """Where a session is: its stage, what the user asked for so far, and the current draft."""

    stage: str = "awaiting_description"
    description: str = ""
    draft_yaml: str | None = None
    revision: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        stage = data.get("stage")
        draft = data.get("draft_yaml")
        revision = data.get("revision")
        return cls(
            stage=stage if stage in STAGES else "awaiting_description",
            description=str(data.get("description") or ""),
            draft_yaml=draft if isinstance(draft, str) and draft.strip() else None,
            revision=revision if isinstance(revision, int) and revision >= 0 else 0,
        )


def restore(messages: Sequence[Mapping[str, Any]], status: str) -> State:
    """The state of a session from its messages (newest assistant state wins) and status.

    A session whose status was changed by hand is believed over its last message: an
    abandoned status means abandoned; an active one with an abandoned stage is reopened.
    """
    state = State()
    for message in reversed(messages):
        metadata = message.get("metadata")
        if message.get("role") == "assistant" and isinstance(metadata, dict) and \
                isinstance(metadata.get(state_key), dict):
            state = State.from_dict(metadata[state_key])
            break
    if status == "abandoned":
        return replace(state, stage="abandoned")
    if state.stage == "abandoned":
        return replace(state, stage="proposed" if state.draft_yaml else "awaiting_description")
    return state


def decide(state: State, intent: str) -> str:
    """The action for a message of `intent` at the state's stage (see ACTIONS)."""
    if intent not in INTENTS:
        raise ValueError(f"unknown intent {intent!r}; one of {', '.join(INTENTS)}")
    stage = state.stage
    if stage == "abandoned":
        raise ConflictError("this chat session was abandoned (the user said no thanks); start a new "
                            "session to describe another workflow")
    if intent == "question":
        return "answer"
    if stage == "awaiting_description" or state.draft_yaml is None:
        return {"reject": "abandon", "approve": "ask_description"}.get(intent, "draft")
    if intent == "describe":
        return "draft"
    if intent == "modify":
        return "redraft"
    if intent == "reject":
        return "keep_final" if stage in ("approved", "done") else "abandon"
    # approve: "yes, it matches" first brings the suggestions, a second yes makes it final.
    return "suggest" if stage == "proposed" else "finalize"


# ---- transitions (pure: a new State) ------------------------------------------------------
def proposed(state: State, draft_yaml: str, description: str, *, fresh: bool) -> State:
    """A new draft is shown; a fresh one (a new description) replaces what was asked before."""
    asked = description if fresh or not state.description else f"{state.description}\n{description}"
    return State(stage="proposed", description=asked[-4000:], draft_yaml=draft_yaml,
                 revision=state.revision + 1)


def reviewing(state: State) -> State:
    return replace(state, stage="reviewing")


def approved(state: State) -> State:
    return replace(state, stage="approved")


def executed(state: State) -> State:
    """After an Execute or a Deploy of the approved workflow."""
    return replace(state, stage="done")


def abandoned(state: State) -> State:
    return replace(state, stage="abandoned")


def session_status(stage: str) -> str:
    """The `chat_sessions.status` of a stage."""
    if stage == "abandoned":
        return "abandoned"
    return "completed" if stage in ("approved", "done") else "active"


def actions_allowed(state: State, has_final: bool) -> list[str]:
    """The REST actions a session accepts now (`turn`, `approve`, `execute`, `deploy`)."""
    if state.stage == "abandoned":
        return []
    allowed = ["turn"]
    if state.draft_yaml is not None and state.stage in ("proposed", "reviewing", "approved", "done"):
        allowed.append("approve")
    if has_final and state.stage in ("approved", "done"):
        allowed += ["execute", "deploy"]
    return allowed
