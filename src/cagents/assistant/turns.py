"""One turn carried out: classify, act as the state machine says, stream and store the reply.

Every reply is stored with the machine state it reached; a failure (model outage, bad key,
no valid draft) is stored as an `error` reply that keeps the previous state, so the session
goes on as if the failed turn had not happened.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cagents.assistant import machine, model
from cagents.assistant.drafter import DraftFailed, answer_with_model, draft_with_model
from cagents.assistant.drafts import Draft, check_data, check_yaml
from cagents.assistant.machine import State
from cagents.assistant.prompts import OFFLINE_LABEL
from cagents.assistant.replies import (
    FIXED,
    failure_text,
    final_data,
    final_text,
    proposal_text,
    suggestions_text,
)
from cagents.assistant.suggestions import suggest
from cagents.errors import CagentsError

if TYPE_CHECKING:
    from cagents.assistant.conversation import ChatAssistant, Emit
    from cagents.llm import LLMSettings

__all__ = ["Turn", "commit", "final_parts", "finalize"]

_log = logging.getLogger("cagents.assistant")


def commit(assistant: ChatAssistant, session: Mapping[str, Any], content: str, metadata: dict[str, Any],
           stage: str, generated_config: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store the reply, then the session's new status / final YAML (blocking)."""
    chats = assistant.workbench.db.chats
    session_id = str(session["session_id"])
    message = chats.add_message(session_id, role="assistant", content=content, metadata=metadata)
    status = machine.session_status(stage)
    changes: dict[str, Any] = {}
    if status != session["status"]:
        changes["status"] = status
    if generated_config is not None and generated_config != session.get("generated_config"):
        changes["generated_config"] = generated_config
    updated = chats.update_session(session_id, **changes) if changes else chats.get_session(session_id)
    return message, updated


def final_parts(state: State, env: Mapping[str, str]) -> tuple[Draft, dict[str, Any], dict[str, Any], State]:
    """The checked final draft, FINAL, SUGGESTIONS and the approved state (blocking)."""
    assert state.draft_yaml is not None
    draft = check_yaml(state.draft_yaml)
    if not draft.valid or draft.spec is None:
        raise DraftFailed(0, draft.issues)  # the validator changed since: never made final
    after = state if state.stage == "done" else machine.approved(state)
    return draft, final_data(draft, env), suggest(draft.spec, env), after


async def finalize(assistant: ChatAssistant, session: Mapping[str, Any], state: State,
                   env: Mapping[str, str]) -> dict[str, Any]:
    """The Approve button: final YAML stored as `generated_config`, session completed."""
    draft, final, suggestions, after = await asyncio.to_thread(final_parts, state, env)
    offline, name = assistant.mode()
    content = (f"{OFFLINE_LABEL} " if offline else "") + final_text(final)
    metadata = {"kind": "final", "stage": after.stage, machine.state_key: after.to_dict(), "final": final,
                "suggestions": suggestions, "model": name, "offline": offline, "simulated": offline}
    message, updated = await asyncio.to_thread(commit, assistant, session, content, metadata, after.stage, draft.yaml)
    return {"final": final, "suggestions": suggestions, "message": message, "session": updated,
            "stage": after.stage}


class Turn:
    """The answer to one user message (see module docstring)."""

    def __init__(self, assistant: ChatAssistant, session: Mapping[str, Any], messages: list[dict[str, Any]],
                 state: State, text: str, env: Mapping[str, str], emit: Emit) -> None:
        self.assistant, self.session, self.messages = assistant, session, messages
        self.state, self.text, self.emit = state, text, emit
        self.request_env = env
        self.env = model.call_env(env)
        self.parts: list[str] = []
        self.spend: model.Spend | None = None
        self.llm: LLMSettings | None = None

    def say(self, text: str, *, record: bool = True) -> None:
        if text:
            self.emit("delta", {"text": text})
            if record:
                self.parts.append(text)

    def stream(self, token: str) -> None:
        self.say(token, record=False)

    async def run(self) -> None:
        try:
            endpoint = model.endpoint(self.assistant.llm, self.env)  # an LLMError without key and simulator
            offline = endpoint.simulated
            from cagents.assistant.offline import OFFLINE_MODEL

            self.spend = model.Spend(OFFLINE_MODEL if offline else endpoint.model, endpoint.provider, offline)
            self.llm = None if offline else self.assistant.llm
            if offline:
                self.say(f"{OFFLINE_LABEL} ")
            from cagents.assistant.intents import classify

            intent = await classify(self.text, self.state, llm=self.llm, env=self.env, spend=self.spend)
            action = machine.decide(self.state, intent)
            kind, after, extra, final_yaml = await getattr(self, f"_{action}")()
            metadata = {"kind": kind, "stage": after.stage, machine.state_key: after.to_dict(),
                        "intent": intent, "action": action, **self.spend.metadata(), **extra}
            await self._store(metadata, after, final_yaml)
        except CagentsError as error:
            await self._fail(error)
        except Exception as error:  # noqa: BLE001  (a bug: the chat says so, the log has the details)
            _log.exception("chat turn of session %s failed", self.session["session_id"])
            await self._fail(error, unexpected=True)

    async def _store(self, metadata: dict[str, Any], after: State, final_yaml: str | None) -> None:
        content = "".join(self.parts)
        message, session = await asyncio.to_thread(commit, self.assistant, self.session, content, metadata,
                                                    after.stage, final_yaml)
        status = {"session_status": session["status"], "stage": after.stage}
        self.emit("status", status)
        self.emit("message", message)
        self.emit("end", status)

    async def _fail(self, error: BaseException, *, unexpected: bool = False) -> None:
        problem = "an unexpected error (the server log has the details)" if unexpected else \
            model.scrub(str(error), self.request_env)
        self.parts = []
        draft = Draft(yaml="", valid=False, issues=error.issues) if isinstance(error, DraftFailed) else None
        self.say(failure_text(problem, draft))
        shown = {"error": type(error).__name__ if not unexpected else "InternalError", "message": problem}
        self.emit("error", shown)
        metadata = {"kind": "error", "stage": self.state.stage, machine.state_key: self.state.to_dict(),
                    "error": shown, **(self.spend.metadata() if self.spend else {})}
        await self._store(metadata, self.state, None)

    # ---- the actions (see machine.ACTIONS) ----------------------------------------------
    async def _draft(self, fresh: bool = True) -> tuple[str, State, dict[str, Any], str | None]:
        assert self.spend is not None
        fresh = fresh or self.state.draft_yaml is None
        if self.llm is None:
            draft, intro, changes = await asyncio.to_thread(self._offline_draft, fresh)
        else:
            made = await draft_with_model(self.text, current_yaml=None if fresh else self.state.draft_yaml,
                                          messages=self.messages, llm=self.llm, env=self.env, spend=self.spend,
                                          on_token=self.stream)
            draft, intro, changes = made.draft, made.text, None
            self.parts.append(intro)
        pieces = proposal_text(intro, draft, offline=self.llm is None, changes=changes)
        for piece in pieces[0 if self.llm is None else 1:]:
            self.say(piece)
        after = machine.proposed(self.state, draft.yaml, self.text, fresh=fresh)
        assert draft.spec is not None
        proposal, suggestions = draft.to_dict(after.revision), suggest(draft.spec, self.env)
        self.emit("proposal", proposal)
        self.emit("suggestions", suggestions)
        return "proposal", after, {"proposal": proposal, "suggestions": suggestions}, None

    async def _redraft(self) -> tuple[str, State, dict[str, Any], str | None]:
        return await self._draft(fresh=False)

    def _offline_draft(self, fresh: bool) -> tuple[Draft, str, list[str] | None]:
        import yaml

        from cagents.assistant.offline import draft_offline
        from cagents.assistant.offline_edits import revise_offline

        changes = None
        if fresh:
            made = draft_offline(self.text)
            intro = f"Here is a first draft (the {made.pattern} pattern)."
        else:
            data = yaml.safe_load(self.state.draft_yaml or "") or {}
            made, changes = revise_offline(data, self.text, self.state.description)
            intro = "Here is the changed draft."
        draft = check_data(made.data)
        if not draft.valid:
            raise DraftFailed(1, draft.issues)
        return draft, intro, changes

    async def _suggest(self) -> tuple[str, State, dict[str, Any], str | None]:
        draft = await asyncio.to_thread(check_yaml, self.state.draft_yaml or "")
        if not draft.valid or draft.spec is None:
            raise DraftFailed(0, draft.issues)
        suggestions = suggest(draft.spec, self.env)
        self.say(suggestions_text(suggestions))
        self.emit("suggestions", suggestions)
        return "suggestions", machine.reviewing(self.state), {"suggestions": suggestions}, None

    async def _finalize(self) -> tuple[str, State, dict[str, Any], str | None]:
        draft, final, suggestions, after = await asyncio.to_thread(final_parts, self.state, self.env)
        self.say(final_text(final))
        self.emit("final", final)
        self.emit("suggestions", suggestions)
        return "final", after, {"final": final, "suggestions": suggestions}, draft.yaml

    async def _answer(self) -> tuple[str, State, dict[str, Any], str | None]:
        assert self.spend is not None
        draft = await asyncio.to_thread(check_yaml, self.state.draft_yaml) if self.state.draft_yaml else None
        suggestions = suggest(draft.spec, self.env) if draft is not None and draft.spec is not None else None
        if self.llm is None:
            import yaml

            from cagents.assistant.offline_edits import answer_offline

            data = yaml.safe_load(self.state.draft_yaml) if self.state.draft_yaml else None
            self.say(answer_offline(self.text, data if isinstance(data, dict) else None, suggestions))
        else:
            text = await answer_with_model(self.text, current_yaml=self.state.draft_yaml, suggestions=suggestions,
                                           messages=self.messages, llm=self.llm, env=self.env, spend=self.spend,
                                           on_token=self.stream)
            self.parts.append(text)
        return "answer", self.state, {}, None

    async def _fixed(self, action: str, after: State, kind: str) -> tuple[str, State, dict[str, Any], str | None]:
        self.say(FIXED[action])
        return kind, after, {}, None

    async def _abandon(self) -> tuple[str, State, dict[str, Any], str | None]:
        return await self._fixed("abandon", machine.abandoned(self.state), "abandoned")

    async def _keep_final(self) -> tuple[str, State, dict[str, Any], str | None]:
        return await self._fixed("keep_final", self.state, "answer")

    async def _ask_description(self) -> tuple[str, State, dict[str, Any], str | None]:
        return await self._fixed("ask_description", self.state, "answer")
