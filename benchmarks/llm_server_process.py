"""Serve the scripted OpenAI-compatible test server in its own process for benchmarks.

Every chat request is answered after DELAY seconds with a JSON object that fills the
requested response schema, so any workflow runs against it. Prints the URL, then serves
until stdin closes. Usage: python benchmarks/llm_server_process.py [DELAY]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.llm_server import Reply, ScriptedLLMServer  # noqa: E402


def answer_for(payload: dict[str, Any], delay: float) -> Reply:
    import json

    schema = ((payload.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
    values = {}
    for name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type")
        values[name] = {"integer": 1, "number": 1.0, "boolean": True, "array": [], "object": {}}.get(
            kind, f"{name} text"
        )
    return Reply(content=json.dumps(values), delay=delay, usage=(50, 20))


def main() -> None:
    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.05
    server = ScriptedLLMServer()
    server.responder = lambda payload: answer_for(payload, delay)
    server.start()
    print(server.url, flush=True)
    sys.stdin.read()
    server.stop()


if __name__ == "__main__":
    main()
