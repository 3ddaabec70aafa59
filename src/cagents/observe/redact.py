"""Scrub secrets from anything bound for a trace: known secret values and key-shaped strings.

Known values are the values of environment entries whose names look like credentials
(`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, ...) plus any the caller names; key-shaped
strings are provider keys (`sk-...`, `sk-ant-...`, `AIza...`, GitHub, Slack, AWS), bearer
tokens and long values after `key=`/`token:`-like labels. Each becomes `[REDACTED]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["REDACTED", "Redactor", "secret_values"]

REDACTED = "[REDACTED]"

#: Environment names whose values are credentials.
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE", re.IGNORECASE)
#: Mapping keys whose string values are credentials, whatever they look like.
_SECRET_FIELD = re.compile(
    r"(api[_-]?key|apikey|secret|password|passwd|token|authorization|credentials?|private[_-]?key)$",
    re.IGNORECASE,
)
#: Shorter values are too likely to be ordinary words to be replaced everywhere they occur.
MIN_SECRET_LENGTH = 8

_LABELLED = (
    r"((?:api[_-]?)?key|apikey|token|access[_-]?token|secret|password|passwd|pwd|auth)"
    r"([\"']?\s*[=:]\s*[\"']?)"
    r"([A-Za-z0-9+/_\-.~]{16,}=*)"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bsk-(?:ant-|proj-|or-|live-|test-)?[A-Za-z0-9_\-]{16,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{30,}"), REDACTED),
    (re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*", re.IGNORECASE), r"\1 " + REDACTED),
    (re.compile(_LABELLED, re.IGNORECASE), r"\1\2" + REDACTED),
)


def secret_values(*envs: Mapping[str, str] | None, extra: Iterable[str] = ()) -> set[str]:
    """Values of credential-named entries of the given environments, plus `extra`."""
    found = {value for value in extra if value and len(value) >= MIN_SECRET_LENGTH}
    for env in envs:
        if not env:
            continue
        for name, value in env.items():
            if value and len(value) >= MIN_SECRET_LENGTH and SECRET_NAME.search(name):
                found.add(value)
    return found


class Redactor:
    """Replaces secrets in strings and in nested JSON-like values; cheap to call repeatedly."""

    def __init__(self, secrets: Iterable[str] = ()):
        values = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._known = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def text(self, value: str) -> str:
        """`value` with every known secret and key-shaped string replaced."""
        if self._known is not None:
            value = self._known.sub(REDACTED, value)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with secrets replaced; other objects become their text."""
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = self.text(str(key))
                if isinstance(item, str) and _SECRET_FIELD.search(name) and item:
                    out[name] = REDACTED
                else:
                    out[name] = self.value(item)
            return out
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.value(item) for item in value]
        if isinstance(value, (bytes, bytearray)):
            return self.text(bytes(value).decode("utf-8", errors="replace"))
        return self.text(str(value))
