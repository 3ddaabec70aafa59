"""The chat use case: one turn of the conversation, approval, and the record of Execute/Deploy.

`ChatAssistant(workbench).turn(session_id, text)` stores the user's message, works out what
it means, carries out what the state machine says (draft, change, suggest, finalize,
answer, abandon) and stores the reply with the state it reached, yielding events as it
goes. A failing model is a reply that says so; the session stays as it was.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING, Any

from cagents.assistant import machine, model
from cagents.assistant.drafts import check_yaml
from cagents.assistant.machine import State
from cagents.errors import CagentsError, ConflictError, RequestError

if TYPE_CHECKING:
    from cagents.app.workbench import Workbench
    from cagents.llm import LLMSettings

__all__ = ["MAX_TURN_CHARS", "ChatAssistant", "Emit"]

#: A turn longer than this is refused (413) before anything is stored.
MAX_TURN_CHARS = 20_000
Emit = Callable[[str, Any], None]
_log = logging.getLogger("cagents.assistant")
#: Sessions with a turn being answered, per workbench: a second turn at once is refused.
_busy: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_END = object()


def check_turn_text(text: Any) -> str:
    if not isinstance(text, str):
        raise RequestError(f"body field 'content' must be a string, got {type(text).__name__}",
                           field="content", status=422)
    if not text.strip():
        raise RequestError("body field 'content' is empty; write what you want the assistant to do",
                           field="content", status=422)
    if len(text) > MAX_TURN_CHARS:
        raise RequestError(f"body field 'content' is {len(text):,} characters long; a chat message holds at "
                           f"most {MAX_TURN_CHARS:,} (paste long documents as workflow inputs instead)",
                           field="content", status=413)
    return text


class ChatAssistant:
    """The assistant of one workbench; cheap to create per request (state lives in the database)."""

    def __init__(self, workbench: Workbench, *, llm: LLMSettings | None = None) -> None:
        self.workbench = workbench
        self.llm = llm or model.settings()

    # ---- reading ------------------------------------------------------------------------
    def mode(self, env: Mapping[str, str] | None = None) -> tuple[bool, str]:
        """(offline, model name) for a call with `env` on top of the server's environment."""
        from cagents.assistant.offline import OFFLINE_MODEL

        try:
            endpoint = model.endpoint(self.llm, model.call_env(env))
        except CagentsError:
            return False, self.llm.model or "unconfigured"
        return (True, OFFLINE_MODEL) if endpoint.simulated else (False, endpoint.model)

    def load(self, session_id: str) -> tuple[dict[str, Any], list[dict[str, Any]], State]:
        """The session, its messages and the machine state (blocking)."""
        chats = self.workbench.db.chats
        session = chats.get_session(session_id)
        messages = chats.messages(session_id)
        return session, messages, machine.restore(messages, session["status"])

    def assistant_view(self, session: Mapping[str, Any], state: State,
                       env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """ASSISTANT of the REST contract: stage, current proposal, suggestions, final, actions."""
        from cagents.assistant.replies import final_data
        from cagents.assistant.suggestions import suggest

        call_env = model.call_env(env)
        draft = check_yaml(state.draft_yaml) if state.draft_yaml else None
        final_yaml = session.get("generated_config")
        final = None
        if final_yaml and state.stage in ("approved", "done"):
            checked = draft if draft is not None and draft.yaml == final_yaml else check_yaml(final_yaml)
            final = final_data(checked, call_env) if checked.valid else None
        offline, name = self.mode(env)
        return {
            "stage": state.stage,
            "proposal": draft.to_dict(state.revision) if draft is not None else None,
            "suggestions": suggest(draft.spec, call_env) if draft is not None and draft.spec else None,
            "final": final,
            "offline": offline,
            "model": name,
            "actions": machine.actions_allowed(state, final is not None),
        }

    def view(self, session_id: str) -> dict[str, Any]:
        session, messages, state = self.load(session_id)
        return {**session, "messages": messages, "assistant": self.assistant_view(session, state)}

    # ---- sessions -----------------------------------------------------------------------
    def open_session(self, user_identifier: str | None = None) -> dict[str, Any]:
        """A new session with the welcome message stored (blocking)."""
        from cagents.assistant.prompts import welcome_text

        chats = self.workbench.db.chats
        session = chats.create_session(user_identifier=user_identifier)
        offline, name = self.mode()
        state = State()
        welcome = chats.add_message(session["session_id"], role="assistant", content=welcome_text(offline, name),
                                    metadata={"kind": "welcome", "stage": state.stage,
                                              machine.state_key: state.to_dict(), "model": name,
                                              "offline": offline, "simulated": offline})
        return {**session, "messages": [welcome], "assistant": self.assistant_view(session, state)}

    # ---- a turn -------------------------------------------------------------------------
    async def turn(self, session_id: str, text: str, *,
                   env: Mapping[str, str] | None = None) -> AsyncIterator[dict[str, Any]]:
        """The events of one turn (`{"event": name, "data": ...}`), `end` last.

        Refusals (unknown session, abandoned, a turn already running, bad text) raise before
        the first event; the answer is written by a task that finishes (and stores the
        reply) even when the consumer stops listening.
        """
        check_turn_text(text)
        busy = _busy.setdefault(self.workbench, set())
        if session_id in busy:
            raise ConflictError("the assistant is still answering the previous message of this session; "
                                "wait for its reply, then send the next one")
        busy.add(session_id)
        try:
            session, messages, state = await asyncio.to_thread(self.load, session_id)
            if state.stage == "abandoned":
                machine.decide(state, "question")  # raises the ConflictError that says what to do
            user = await asyncio.to_thread(self.workbench.db.chats.add_message, session_id, role="user",
                                           content=text)
        except BaseException:
            busy.discard(session_id)
            raise
        queue: asyncio.Queue[Any] = asyncio.Queue()

        def emit(name: str, data: Any) -> None:
            queue.put_nowait({"event": name, "data": data})

        async def answer() -> None:
            from cagents.assistant.turns import Turn

            try:
                await Turn(self, session, [*messages, user], state, text, env or {}, emit).run()
            finally:
                busy.discard(session_id)
                queue.put_nowait(_END)

        task = asyncio.get_running_loop().create_task(answer(), name=f"cagents-chat-{session_id}")
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        yield {"event": "user_message", "data": user}
        while (item := await queue.get()) is not _END:
            yield item

    async def collect(self, session_id: str, text: str, *, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A whole turn as one object (`?stream=false`)."""
        answer: dict[str, Any] = {"user_message": None, "message": None, "text": "", "proposal": None,
                                  "suggestions": None, "final": None, "error": None}
        async for item in self.turn(session_id, text, env=env):
            name, data = item["event"], item["data"]
            if name == "delta":
                answer["text"] += data["text"]
            elif name in ("user_message", "message", "proposal", "suggestions", "final", "error"):
                answer[name] = data
            elif name == "end":
                answer.update(session_status=data["session_status"], stage=data["stage"])
        if answer["message"] is not None:
            answer["text"] = answer["message"]["content"]
        return answer

    async def approve(self, session_id: str, *, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The Approve button: the current draft becomes final (409 with nothing to approve)."""
        from cagents.assistant.turns import finalize

        session, _messages, state = await asyncio.to_thread(self.load, session_id)
        if state.stage == "abandoned" or state.draft_yaml is None:
            what = "the session was abandoned; start a new one" if state.stage == "abandoned" else \
                "there is no draft yet: describe the workflow first (POST .../turn)"
            raise ConflictError(f"nothing to approve in chat session '{session_id}': {what}")
        return await finalize(self, session, state, model.call_env(env))

    # ---- Execute / Deploy ---------------------------------------------------------------
    def approved_workflow(self, session_id: str) -> tuple[str, State]:
        """The final YAML of an approved session, or a 409 saying what to do first (blocking)."""
        session, _messages, state = self.load(session_id)
        final = session.get("generated_config")
        if state.stage not in ("approved", "done") or not final:
            raise ConflictError(f"chat session '{session_id}' has no approved workflow (stage {state.stage}); "
                                "approve a draft first (POST .../approve or say \u201capprove\u201d)")
        return final, state

    def record(self, session_id: str, kind: str, content: str, extra: Mapping[str, Any],
               *, advance: bool = True) -> dict[str, Any]:
        """Store an assistant message about an action on the approved workflow (blocking)."""
        chats = self.workbench.db.chats
        session = chats.get_session(session_id)
        state = machine.restore(chats.messages(session_id), session["status"])
        if advance and state.stage == "approved":
            state = machine.executed(state)
        metadata = {"kind": kind, "stage": state.stage, machine.state_key: state.to_dict(), **extra}
        return chats.add_message(session_id, role="assistant", content=content, metadata=metadata)


_tasks: set[asyncio.Task[Any]] = set()
