"""Helpers of the deploy tests: workflow texts, polling, and a tool that waits at a gate.

`hold` keeps a run in flight until the test opens `GATE`; workflows reference it as
`deploy.helpers:hold` (the tests folder is on sys.path).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

GATE = threading.Event()
CALLS: list[str] = []


async def hold(value: str) -> str:
    """Record the call, wait until the gate opens (cancellable), return the value."""
    CALLS.append(value)
    while not GATE.is_set():
        await asyncio.sleep(0.01)
    return value


TRIAGE = """\
schema_version: "1.0"
flow: {name: triage, description: Score a ticket and answer it, version: "2"}
state:
  fields:
    ticket: {type: str, required: true}
    priority: {type: int, default: 1}
    score: {type: int}
    reply: {type: str}
nodes:
  - {id: classify, prompt: "Classify {ticket}", outputs: [score]}
  - {id: answer, prompt: "Reply to {ticket}", outputs: [reply]}
edges:
  - {from: START, to: classify}
  - {from: classify, to: answer}
  - {from: answer, to: END}
"""

HOLD = """\
schema_version: "1.0"
flow: {name: held}
state:
  fields:
    value: {type: str, required: true}
    echoed: {type: str}
nodes:
  - {id: wait, kind: tool, tool: "deploy.helpers:hold", args: {value: "{value}"}, outputs: [echoed]}
edges:
  - {from: START, to: wait}
  - {from: wait, to: END}
"""


def eventually(check: Callable[[], Any], interval: float = 0.02) -> Any:
    """Poll `check` until it returns something truthy (the test timeout bounds the wait)."""
    while True:
        value = check()
        if value:
            return value
        time.sleep(interval)
