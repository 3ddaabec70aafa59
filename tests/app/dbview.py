"""Workflows, scripted answers and plain-SQL views of the app database for the app tests.

The views use the standard library's sqlite3, not our store, so the tests check what is
really in the database file.
"""

from __future__ import annotations

import json
import sqlite3
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.llm_server import Reply

CHAIN4 = textwrap.dedent("""\
    schema_version: "1.0"
    flow: {name: chain4}
    state:
      fields:
        seed: {type: str, required: true}
        a: {type: str}
        b: {type: str}
        c: {type: str}
        d: {type: str}
    nodes:
      - {id: n1, prompt: "n1 {seed}", outputs: [a]}
      - {id: n2, prompt: "n2 {a}", outputs: [b]}
      - {id: n3, prompt: "n3 {b}", outputs: [c]}
      - {id: n4, prompt: "n4 {c}", outputs: [d]}
    edges:
      - {from: START, to: n1}
      - {from: n1, to: n2}
      - {from: n2, to: n3}
      - {from: n3, to: n4}
      - {from: n4, to: END}
    config:
      llm: {model: gpt-4o-mini}
      execution: {max_retries: 0}
    """)

#: A code node that raises: a failed execution with an error message.
BREAKS = textwrap.dedent("""\
    schema_version: "1.0"
    flow: {name: breaks}
    state:
      fields:
        n: {type: int, required: true}
        out: {type: int}
    nodes:
      - id: crash
        kind: code
        inputs: {n: "{n}"}
        code: |
          raise ValueError("boom " + str(inputs["n"]))
        outputs: [out]
    edges:
      - {from: START, to: crash}
      - {from: crash, to: END}
    """)

APPROVAL = textwrap.dedent("""\
    schema_version: "1.0"
    flow: {name: approval}
    state:
      fields:
        news: {type: str, required: true}
        post: {type: str}
        approved: {type: bool, default: false, description: Publish the post?}
        notes: {type: str, default: ""}
        outcome: {type: str}
    nodes:
      - {id: draft, prompt: "draft {news}", outputs: [post]}
      - id: review
        kind: human
        prompt: "Approve this post? {post}"
        outputs: [approved, notes]
      - {id: publish, prompt: "publish {post}", outputs: [outcome]}
      - {id: reject, prompt: "reject {notes}", outputs: [outcome]}
    edges:
      - {from: START, to: draft}
      - {from: draft, to: review}
      - from: review
        routes:
          - {when: approved, to: publish}
          - {condition: {logic: default}, to: reject}
      - {from: publish, to: END}
      - {from: reject, to: END}
    config:
      llm: {model: gpt-4o-mini}
      execution: {max_retries: 0}
    """)

#: The one output each node writes.
OUTPUTS = {"n1": "a", "n2": "b", "n3": "c", "n4": "d", "draft": "post", "publish": "outcome",
           "reject": "outcome"}


def prompt_of(request: dict[str, Any]) -> str:
    return request["messages"][-1]["content"]


def node_of(request: dict[str, Any]) -> str:
    return prompt_of(request).split(" ", 1)[0]


def echo(delays: dict[str, float] | None = None, usage: tuple[int, int] = (7, 3)) -> Callable[[dict[str, Any]], Reply]:
    """Answers `<node> <text>` with `<text>+<node>` in the node's output field."""

    def respond(body: dict[str, Any]) -> Reply:
        node, _, text = prompt_of(body).partition(" ")
        return Reply(json.dumps({OUTPUTS[node]: f"{text}+{node}"}), usage=usage,
                     delay=(delays or {}).get(node, 0.0))

    return respond


def rows(db_file: Path, sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of a query against the database file, as dicts (a fresh connection each time)."""
    connection = sqlite3.connect(db_file, timeout=10)
    try:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(sql, args).fetchall()]
    finally:
        connection.close()


def execution_row(db_file: Path, execution_id: str) -> dict[str, Any]:
    found = rows(db_file, "SELECT * FROM executions WHERE id = ?", execution_id)
    assert len(found) == 1, f"no row for {execution_id}"
    return found[0]


def state_rows(db_file: Path, execution_id: str) -> list[dict[str, Any]]:
    return rows(db_file, "SELECT * FROM execution_states WHERE execution_id = ? ORDER BY id", execution_id)


def wait_for(check: Callable[[], Any], what: str, limit: float = 60.0) -> Any:
    """Poll until `check()` is truthy; the limit only stops a broken test from hanging."""
    deadline = time.monotonic() + limit
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def dump_database(db_file: Path) -> str:
    """Every row of every table, as text, to search for what must never be stored."""
    tables = [row["name"] for row in rows(db_file, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    lines = []
    for table in tables:
        for row in rows(db_file, f'SELECT * FROM "{table}"'):
            lines.append(f"{table}: {row!r}")
    return "\n".join(lines)
