"""The offline drafter: a deterministic, template-based workflow from a plain-English description.

With no model key configured the assistant still works end to end: keywords pick one of the
patterns it can build (human approval, parallel map, loop, conditional, tool agent,
pipeline, single LLM node) and names come from the description's own words. The result
goes through the same validator as a model's draft; messages label it "offline simulator".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["OFFLINE_MODEL", "OfflineDraft", "draft_offline", "pattern_of", "tools_for", "words"]

#: The model name assistant messages carry when this drafter wrote them.
OFFLINE_MODEL = "offline-simulator"
DEFAULT_LLM = {"provider": "openai", "model": "gpt-4o-mini"}
MAX_STEPS = 6

_STOP = frozenset(["a", "an", "the", "and", "or", "then", "to", "of", "for", "in", "on", "with", "about", "from", "by", "into", "as", "it", "its", "this", "that", "these", "those", "i", "me", "my", "we", "our", "you", "your", "please", "want", "would", "like", "need", "should", "could", "can", "will", "just", "some", "any", "all", "me", "us", "workflow", "agent", "pipeline", "which", "who", "what", "when", "where", "how", "first", "finally", "next", "after", "before", "also", "is", "are", "be", "get", "takes", "take", "using", "use", "give", "gives", "make", "makes", "one", "single", "step", "steps"])
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("human", re.compile(r"\b(approv\w*|human|sign[- ]?off|manual(ly)?|person|editor|reviewer|"
                         r"human[- ]in[- ]the[- ]loop|confirm\w*)\b")),
    ("map", re.compile(r"\b(each|every|in parallel|parallel|for all|one by one|batch\w*)\b")),
    ("loop", re.compile(r"\b(until|iterat\w*|refine\w*|improv\w*|repeat\w*|loop\w*|revis\w*|critiqu\w*|"
                        r"polish\w*)\b")),
    ("conditional", re.compile(r"\b(if|otherwise|classif\w*|rout\w*|triage|depending|categori[sz]\w*|"
                               r"branch\w*)\b")),
)
_TOOL_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("web_search", re.compile(r"\b(search\w*|web|google|look ?up|internet|online|news|latest)\b")),
    ("fetch_url", re.compile(r"\b(urls?|links?|web ?pages?|websites?|fetch\w*|scrap\w*|browse)\b")),
    ("calculator", re.compile(r"\b(calculat\w*|math\w*|arithmetic|sum|totals?|averages?|compute)\b")),
    ("http_request", re.compile(r"\b(api|http|endpoint|rest|webhook)\b")),
)
#: Singular subjects of a request: the word seen -> the input field it becomes.
_SUBJECTS = ("url", "topic", "question", "ticket", "email", "document", "text", "article", "product",
             "code", "query", "message", "review", "post", "announcement", "idea", "company",
             "customer", "report", "data", "request", "story", "essay", "paper", "transcript")
_PLURALS = {"urls": "urls", "links": "urls", "documents": "documents", "docs": "documents",
            "files": "files", "articles": "articles", "reviews": "reviews", "emails": "emails",
            "tickets": "tickets", "questions": "questions", "papers": "papers", "posts": "posts",
            "items": "items", "topics": "topics", "products": "products", "comments": "comments",
            "messages": "messages", "pages": "pages", "companies": "companies"}
_SPLIT = re.compile(r"\s*(,?\s*\band then\b|,?\s*\bthen\b|;|\bafter that\b|\bfinally\b|->|\u2192|"
                    r",\s*and\b|\band\b|,)\s*", re.IGNORECASE)
#: A fragment after "and" or "," is a step of its own only when it starts with one of these.
_VERBS = frozenset(["research", "write", "summarize", "summarise", "translate", "classify", "extract", "analyze", "analyse", "review", "draft", "generate", "create", "outline", "edit", "proofread", "publish", "post", "send", "tweet", "check", "search", "fetch", "answer", "compare", "rank", "score", "critique", "format", "plan", "collect", "gather", "find", "read", "explain", "list", "tag", "categorize", "categorise", "route", "reply", "respond", "email", "notify", "save", "store", "report", "clean", "validate", "verify", "improve", "rewrite", "refine", "polish", "convert", "parse", "compute", "calculate", "design", "build", "test", "debug", "fix", "evaluate", "grade", "recommend", "suggest", "propose", "decide", "approve", "prepare", "produce", "turn", "combine", "merge", "split", "look", "scrape", "download", "upload", "index", "translate", "detect", "identify", "predict", "estimate", "forecast", "schedule", "book", "order", "pay", "invoice", "describe", "brainstorm"])


@dataclass
class OfflineDraft:
    """What the offline drafter made, and which pattern it took (said in the reply)."""

    data: dict[str, Any]
    pattern: str


def words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z0-9]*", text.lower())


def pattern_of(text: str) -> str:
    lowered = text.lower()
    for name, pattern in _PATTERNS:
        if pattern.search(lowered):
            return name
    tools = tools_for(lowered)
    if len(_steps(text)) >= 2:
        return "pipeline"
    return "tools" if tools else "single"


def tools_for(text: str) -> list[str]:
    lowered = text.lower()
    return [name for name, pattern in _TOOL_WORDS if pattern.search(lowered)]


def _ident(parts: list[str], fallback: str, limit: int = 40) -> str:
    text = "_".join(parts)[:limit].strip("_")
    return text if re.fullmatch(r"[a-z][a-z0-9_]*", text or "") else fallback


def _content(text: str) -> list[str]:
    return [w for w in words(text) if w not in _STOP]


def _subject(text: str) -> str:
    found = {w[:-1] if w.endswith("s") and w[:-1] in _SUBJECTS else w for w in words(text)}
    return next((s for s in _SUBJECTS if s in found), "request")


def _items_field(text: str) -> str:
    return next((_PLURALS[w] for w in words(text) if w in _PLURALS), "items")


def _steps(text: str) -> list[str]:
    """The steps of a pipeline description; "and" or a comma only starts a step before a verb."""
    pieces = _SPLIT.split(text)
    parts: list[str] = []
    for index in range(0, len(pieces), 2):
        piece = re.sub(r"^(first|then|next|finally|and)\s+", "", pieces[index].strip(" .!?"), flags=re.IGNORECASE)
        separator = pieces[index - 1].strip().lower() if index else ""
        if not _content(piece):
            continue
        weak = separator in ("and", ",", ", and") or separator.startswith(",") and "then" not in separator
        if parts and weak and words(piece)[0] not in _VERBS:
            parts[-1] = f"{parts[-1]} {separator.strip(',') or 'and'} {piece}".replace("  ", " ")
        else:
            parts.append(piece)
    if len(parts) > MAX_STEPS:
        parts = parts[: MAX_STEPS - 1] + [", ".join(parts[MAX_STEPS - 1:])]
    return parts


def _sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" .")
    return (text[:1].upper() + text[1:] + ".") if text else ""


class _Builder:
    """State fields, nodes and edges of one draft, with unique names."""

    def __init__(self, description: str) -> None:
        self.description = re.sub(r"\s+", " ", description).strip()
        self.fields: dict[str, dict[str, Any]] = {}
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []

    def field(self, name: str, kind: str = "str", **extra: Any) -> str:
        base, number = name, 2
        while name in self.fields and not extra.get("reuse"):
            name, number = f"{base}_{number}", number + 1
        extra.pop("reuse", None)
        self.fields.setdefault(name, {"type": kind, **extra})
        return name

    def node_id(self, parts: list[str], fallback: str) -> str:
        base = _ident(parts, fallback, 30)
        taken = {node["id"] for node in self.nodes} | {"START", "END"}
        name, number = base, 2
        while name in taken or name in self.fields:
            name, number = f"{base}_{number}", number + 1
        return name

    def node(self, node_id: str, prompt: str, outputs: list[str], **extra: Any) -> str:
        self.nodes.append({"id": node_id, **({"description": extra.pop("description")}
                                            if "description" in extra else {}),
                           "prompt": prompt, "outputs": outputs, **extra})
        return node_id

    def chain(self, *ids: str) -> None:
        for source, target in zip(("START", *ids), (*ids, "END")):
            if source == "START" and any(e.get("from") == "START" for e in self.edges):
                continue
            self.edges.append({"from": source, "to": target})

    def result(self) -> dict[str, Any]:
        words_ = _content(self.description)[:4] or ["drafted", "workflow"]
        return {
            "schema_version": "1.0",
            "flow": {"name": _ident(words_, "drafted_workflow"),
                     "description": self.description[:300] or "Drafted by the offline assistant."},
            "state": {"fields": self.fields},
            "nodes": self.nodes,
            "edges": self.edges,
            "config": {"llm": dict(DEFAULT_LLM)},
        }


def _single(b: _Builder, subject: str, tools: list[str]) -> None:
    out = b.field("answer" if subject != "answer" else "result")
    extra: dict[str, Any] = {"tools": tools, "max_tool_steps": 6} if tools else {}
    hint = " Use your tools when they help, and say which sources you used." if tools else ""
    node = b.node(b.node_id(["agent"] if tools else _content(b.description)[:1], "respond"),
                  f"{_sentence(b.description)}{hint}\n\n{subject.capitalize()}: {{{subject}}}", [out],
                  description=_sentence(b.description), **extra)
    b.chain(node)


def _pipeline(b: _Builder, subject: str, steps: list[str]) -> None:
    previous, ids = subject, []
    for step in steps:
        content = _content(step)
        verb = content[0] if content else "step"
        noun = next((w for w in content[1:] if w != subject and w not in b.fields), None)
        node_id = b.node_id([verb] + ([noun] if noun and len(steps) > 1 else []), "step")
        out = b.field(noun if noun and noun not in b.fields and noun != node_id else f"{node_id}_result")
        tools = tools_for(step)
        extra: dict[str, Any] = {"tools": tools, "max_tool_steps": 6} if tools else {}
        source = f"{subject.capitalize()}: {{{subject}}}"
        if previous != subject:
            source += f"\n\nWork from this ({previous}):\n{{{previous}}}"
        ids.append(b.node(node_id, f"{_sentence(step)}\n\n{source}", [out],
                          description=_sentence(step), **extra))
        previous = out
    b.chain(*ids)


def _human(b: _Builder, subject: str) -> None:
    draft = b.field("draft", description="What the reviewer approves or rejects.")
    approved = b.field("approved", "bool", default=False, description="Did the reviewer approve it?")
    notes = b.field("review_notes", default="", description="The reviewer's notes.")
    final, rejection = b.field("final_result"), b.field("rejection_summary")
    b.node("prepare", f"{_sentence(b.description)}\n\n{subject.capitalize()}: {{{subject}}}\n\n"
           "Prepare what a person will approve.", [draft], description="Prepare the work to approve.")
    b.node("review", f"Approve this?\n---\n{{{draft}}}\n---\nSet approved to true to go ahead; add notes "
           "either way.", [approved, notes], kind="human", description="A person approves or rejects it.")
    b.node("finalize", f"The reviewer approved this (notes: {{{notes}}}). Produce the final version:\n"
           f"{{{draft}}}", [final], description="Finish the approved work.")
    b.node("record_rejection", f"The reviewer rejected this with these notes: {{{notes}}}\n{{{draft}}}\n"
           "Summarize in one sentence what must change.", [rejection], description="Record why it was rejected.")
    b.edges += [{"from": "START", "to": "prepare"}, {"from": "prepare", "to": "review"},
                {"from": "review", "routes": [{"when": approved, "to": "finalize"},
                                              {"condition": {"logic": "default"}, "to": "record_rejection"}]},
                {"from": "finalize", "to": "END"}, {"from": "record_rejection", "to": "END"}]


def _map(b: _Builder, items: str) -> None:
    focus = b.field("focus", description="What to look for in every item.")
    one = b.field("item_result", description="The result for one item (written once per item).")
    collected = b.field(f"{items}_results" if items != "items" else "results", "list[str]", default=[])
    digest = b.field("summary")
    b.node("plan", f"{_sentence(b.description)}\n\nIn one sentence, say what to focus on for each of "
           f"these {items}:\n{{{items}}}", [focus], description="Decide what to do with every item.")
    b.node("process_item", f"Item {{item_index}}:\n{{item}}\n\nDo this for the item, focusing on {{{focus}}}: "
           f"{_sentence(b.description)}", [one], description="Runs once per item, in parallel.")
    b.node("combine", f"Here are the results for every item, in order:\n{{{collected}}}\n\nCombine them "
           f"into one answer.", [digest], description="Bring the per-item results together.")
    b.edges += [{"from": "START", "to": "plan"},
                {"from": "plan", "parallel": {"items_field": items, "target_node": "process_item",
                                              "collect_field": collected, "max_concurrency": 4}},
                {"from": "process_item", "to": "combine"}, {"from": "combine", "to": "END"}]


def _loop(b: _Builder, subject: str) -> None:
    draft = b.field("draft", default="")
    feedback = b.field("feedback", default="")
    score, approved = b.field("score", "int", default=0), b.field("approved", "bool", default=False)
    final = b.field("final_text")
    b.node("write", f"{_sentence(b.description)}\n\n{subject.capitalize()}: {{{subject}}}\n\nIf there is "
           f"feedback on an earlier version, address every point:\n{{{feedback}}}\nEarlier version (empty "
           f"on the first round): {{{draft}}}", [draft], description="Write (or rewrite) the draft.")
    b.node("critique", f"Score this from 1 to 10 and list what to fix. Set approved to true only if the "
           f"score is 8 or more.\n\n{{{draft}}}", [score, feedback, approved],
           output_schema={"type": "object", "fields": [{"name": score, "type": "int"},
                                                      {"name": feedback, "type": "str"},
                                                      {"name": approved, "type": "bool"}]},
           description="Judge the draft; approve it or say what to fix.")
    b.node("finalize", f"Polish this final version; change nothing of substance:\n{{{draft}}}", [final],
           description="Polish the approved draft.")
    b.edges += [{"from": "START", "to": "write"}, {"from": "write", "to": "critique"},
                {"from": "critique", "loop": {"condition_field": approved, "max_iterations": 3,
                                              "back_to": "write", "exit_to": "finalize"}},
                {"from": "finalize", "to": "END"}]


def _categories(text: str) -> list[str]:
    condition = re.search(r"\bif\b[^,.;]*?\b(?:is|are|was|looks|seems|sounds)\s+(?:not\s+)?([a-z]+)", text.lower())
    if condition and condition.group(1) not in _STOP:
        return [condition.group(1), "other"]
    found = re.search(r"\b(?:into|as|between|either|by)\s+([a-z ,/-]+?\s(?:or|and)\s[a-z-]+)", text.lower())
    if found:
        names = [_ident(_content(p) or words(p), "") for p in re.split(r",|\bor\b|\band\b|/", found.group(1))]
        names = list(dict.fromkeys(n for n in names if n))
        if 2 <= len(names) <= 5:
            return names
    return ["urgent", "routine"]


def _conditional(b: _Builder, subject: str) -> None:
    categories = _categories(b.description)
    category = b.field("category", description="One of: " + ", ".join(categories) + ".")
    response = b.field("response")
    b.node("classify", f"{_sentence(b.description)}\n\nClassify this {subject} as exactly one of: "
           f"{', '.join(categories)}.\n\n{{{subject}}}", [category], description="Decide which branch applies.")
    routes: list[dict[str, Any]] = []
    for index, name in enumerate(categories):
        node = b.node(b.node_id(["handle", name], "handle"), f"Handle this {name} {subject}:\n{{{subject}}}",
                      [response], description=f"What happens for a {name} {subject}.")
        last = index == len(categories) - 1
        routes.append({"condition": {"logic": "default"}, "to": node} if last
                      else {"when": f"{category} == '{name}'", "to": node})
        b.edges.append({"from": node, "to": "END"})
    b.edges[:0] = [{"from": "START", "to": "classify"}, {"from": "classify", "routes": routes}]


def draft_offline(description: str) -> OfflineDraft:
    """A workflow for `description`, always the same for the same text."""
    b = _Builder(description)
    pattern = pattern_of(description)
    if pattern == "map":
        items = _items_field(description)
        b.field(items, "list[str]", required=True, description=f"The {items} to process, one per item.")
        _map(b, items)
        return OfflineDraft(b.result(), pattern)
    subject = _subject(description)
    b.field(subject, required=True, description=f"The {subject} to work on.")
    if pattern == "human":
        _human(b, subject)
    elif pattern == "loop":
        _loop(b, subject)
    elif pattern == "conditional":
        _conditional(b, subject)
    elif pattern == "pipeline":
        _pipeline(b, subject, _steps(description))
    else:
        _single(b, subject, tools_for(description))
    return OfflineDraft(b.result(), pattern)
