"""What a user's message means: a description, a change, approval, "no thanks" or a question.

Plain confirmations and refusals ("yes", "approve", "no thanks") are recognised by keywords
and cost nothing; anything else is classified by the assistant's model with a structured
answer, or by keywords when the offline simulator answers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from cagents.assistant.machine import INTENTS, State

if TYPE_CHECKING:
    from cagents.assistant.model import Spend
    from cagents.llm import LLMSettings

__all__ = ["classify", "keyword_intent"]

_APPROVE = re.compile(
    r"^(yes|yep|yeah|yup|y|ok|okay|sure|perfect|great|correct|exactly|approve[ds]?|lgtm|"
    r"(yes,? )?(it |that |this )?(looks|sounds) (good|great|right|fine)( to me)?|(yes,? )?(it|that) matches|"
    r"(yes,? )?that'?s (it|right|correct|perfect)|go ahead|ship it|do it|let'?s go|"
    r"(yes,? )?(please )?(approve|finali[sz]e|generate)( it| the (final )?(config|yaml|workflow))?)"
    r"( please| thanks| thank you)?[.! ]*$", re.IGNORECASE)
_REJECT = re.compile(
    r"^(no,? thanks?( you)?|no thank you|nope,? thanks|never ?mind|cancel|stop|quit|forget it|not interested|"
    r"i'?m done|no need|end( the)? (chat|session))[.! ]*$", re.IGNORECASE)
_CHANGE = re.compile(
    r"\b(add|remove|delete|drop|change|make|replace|rename|use|switch|instead|cheaper|faster|also|include|"
    r"without|more|less|fewer|split|merge|swap|increase|decrease|reduce|set|limit|insert|turn)\b", re.IGNORECASE)
_QUESTION = re.compile(r"^(what|how|why|which|where|when|who|whose|does|do|is|are|explain|tell me|"
                       r"describe|show me|can you explain)\b", re.IGNORECASE)
_SYSTEM = """You classify one message a user wrote to a workflow-building assistant.
Answer with the intent only:
- describe: the user describes a (new) workflow they want built
- modify: the user wants the current draft changed (add/remove/rename steps or tools, cheaper model, ...)
- approve: the user agrees the current draft matches / wants it finalized
- reject: the user wants to stop ("no thanks")
- question: the user asks something (about a node, the cost, keys, what the assistant can do)
There is {draft}. The conversation stage is {stage}."""


def keyword_intent(text: str, state: State) -> tuple[str, bool]:
    """(intent, certain): certain for plain confirmations and refusals only."""
    message = " ".join(text.split())
    if _REJECT.match(message):
        return "reject", True
    if _APPROVE.match(message):
        return "approve", True
    has_draft = state.draft_yaml is not None
    asks = message.endswith("?") or bool(_QUESTION.match(message))
    if has_draft and _CHANGE.search(message) and not _QUESTION.match(message):
        return "modify", False
    if asks and (has_draft or re.search(r"\b(you|your|support|can)\b", message, re.IGNORECASE)):
        return "question", False
    if re.match(r"^(no|nope|not really|not quite|wrong)\b", message, re.IGNORECASE) and has_draft:
        return "modify", False
    return ("modify" if has_draft else "describe"), False


async def classify(text: str, state: State, *, llm: LLMSettings | None, env: Mapping[str, str],
                   spend: Spend) -> str:
    """The intent of `text` at `state` (the model is asked unless keywords are certain or `llm` is None)."""
    intent, certain = keyword_intent(text, state)
    if certain or llm is None:
        return intent
    from cagents.assistant.model import ask
    from cagents.llm import LLMRequest

    draft = "a current draft workflow" if state.draft_yaml else "no draft yet"
    schema = {"type": "object", "properties": {"intent": {"type": "string", "enum": list(INTENTS)},
                                               "reason": {"type": "string"}},
              "required": ["intent"], "additionalProperties": False}
    request = LLMRequest(
        messages=[{"role": "system", "content": _SYSTEM.format(draft=draft, stage=state.stage)},
                  {"role": "user", "content": text}],
        output_schema=schema, max_repair_attempts=1, label="assistant intent",
    )
    result = await ask(request, llm, env)
    spend.add(result)
    found = result.data.get("intent") if isinstance(result.data, dict) else None
    return found if found in INTENTS else intent
