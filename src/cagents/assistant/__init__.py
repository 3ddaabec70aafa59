"""The chat assistant: from a plain-English description to a validated workflow, in conversation.

`ChatAssistant(workbench)` runs the chat panel's conversation (a state machine persisted in
the chat tables); `draft_workflow(description)` is the one-shot form `%cagents new` uses.
Both draft through a model's schema-checked tool call, or the offline drafter without a key.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cagents.assistant.conversation import ChatAssistant

__all__ = ["ChatAssistant", "adraft_workflow", "draft_workflow"]

_OFFLINE_HEADER = ("# Drafted by the cagents assistant's offline simulator (no model key set): a template\n"
                   "# from your description. Review it; set a key for a model-written draft.\n")


async def adraft_workflow(description: str, *, env: Mapping[str, str] | None = None) -> str:
    """A valid workflow YAML for `description` (ConfigError-free: invalid drafts raise DraftFailed)."""
    from cagents.assistant import model
    from cagents.assistant.conversation import check_turn_text
    from cagents.assistant.drafter import DraftFailed, draft_with_model
    from cagents.assistant.drafts import check_data
    from cagents.assistant.offline import OFFLINE_MODEL, draft_offline

    check_turn_text(description)
    llm = model.settings()
    call_env = model.call_env(env)
    endpoint = model.endpoint(llm, call_env)
    if endpoint.simulated:
        draft = await asyncio.to_thread(lambda: check_data(draft_offline(description).data))
        if not draft.valid:
            raise DraftFailed(1, draft.issues)
        return _OFFLINE_HEADER + draft.yaml
    spend = model.Spend(OFFLINE_MODEL, endpoint.provider, False)
    made = await draft_with_model(description, current_yaml=None, messages=[], llm=llm, env=call_env, spend=spend)
    return made.draft.yaml


def draft_workflow(description: str) -> str:
    """Blocking `adraft_workflow`, safe inside a notebook's running loop (it runs on its own thread)."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["value"] = asyncio.run(adraft_workflow(description))
        except BaseException as error:  # noqa: BLE001  (handed to the caller's thread)
            box["error"] = error

    thread = threading.Thread(target=work, name="cagents-draft", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return str(box["value"])


def __getattr__(name: str) -> Any:
    if name == "ChatAssistant":
        from cagents.assistant.conversation import ChatAssistant

        return ChatAssistant
    raise AttributeError(f"module 'cagents.assistant' has no attribute {name!r}")
