"""Connection reuse under concurrency, client clean-up at loop end, and a cheap import."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from cagents.llm import LLMRequest, LLMSettings, acomplete
from support.llm_server import Reply, ScriptedLLMServer

SRC = str(Path(__file__).resolve().parents[2] / "src")


async def test_concurrent_calls_run_at_once(llm_env: ScriptedLLMServer) -> None:
    llm_env.responder = lambda body: Reply(f"answer to {body['messages'][0]['content']}",
                                           delay=0.05)
    results = await asyncio.gather(*(
        acomplete(LLMRequest(messages=[{"role": "user", "content": f"q{i}"}]), LLMSettings())
        for i in range(200)))
    assert [r.content for r in results] == [f"answer to q{i}" for i in range(200)]
    # Concurrency shown by the server, not by a clock: many requests were open at once.
    assert llm_env.peak_in_flight >= 50


def test_clients_are_closed_when_their_loop_ends(llm_server: ScriptedLLMServer) -> None:
    """Each asyncio.run gets its own client, closed at loop shutdown: no unclosed sockets."""
    llm_server.responder = lambda body: Reply("ok")
    script = textwrap.dedent(f"""
        import asyncio, gc
        from cagents.llm import LLMRequest, LLMSettings, acomplete, complete
        request = LLMRequest(messages=[{{"role": "user", "content": "hi"}}])
        settings = LLMSettings(base_url={llm_server.url!r})
        for _ in range(2):
            assert asyncio.run(acomplete(request, settings, env={{}})).content == "ok"
        assert complete(request, settings, env={{}}).content == "ok"
        gc.collect()
        print("clean")
    """)
    env = {**os.environ, "PYTHONPATH": SRC}
    run = subprocess.run([sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", script],
                         capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "clean"
    assert "ResourceWarning" not in run.stderr and "unclosed" not in run.stderr
    assert len(llm_server.requests) == 3


def test_importing_the_package_does_not_import_the_sdk() -> None:
    code = ("import sys, cagents.llm; "
            "print(sorted(m for m in ('openai', 'httpx', 'httpx2') if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": SRC}, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
