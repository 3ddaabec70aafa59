"""1,000 concurrent executions of a 3-node workflow against an LLM server answering in 50 ms.

The server runs in another process (the scripted OpenAI-compatible server of the tests);
the 1,000 executions run in this one process, through the real `openai` client. The ideal
wall time is 3 x 50 ms; target: all finish within 1.3x of it.
Run: python benchmarks/bench_concurrency.py [N] [DELAY]
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

WORKFLOW = """
schema_version: "1.0"
flow: {name: three_steps}
config: {llm: {model: gpt-4o-mini}, execution: {max_retries: 0}}
state:
  fields:
    topic: {type: str, required: true}
    outline: {type: str}
    draft: {type: str}
    title: {type: str}
nodes:
  - {id: outline, prompt: "Outline {topic}", outputs: [outline]}
  - {id: draft, prompt: "Draft from {outline}", outputs: [draft]}
  - {id: title, prompt: "Title for {draft}", outputs: [title]}
edges:
  - {from: START, to: outline}
  - {from: outline, to: draft}
  - {from: draft, to: title}
  - {from: title, to: END}
"""


async def client_floor(n: int) -> float:
    """The same calls without the engine: n concurrent chains of 3 `acomplete` calls.

    What the OpenAI client itself costs on this machine; the engine cannot beat it.
    """
    from cagents.llm import LLMRequest, LLMSettings, acomplete

    schema = {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"],
              "additionalProperties": False}
    settings = LLMSettings(model="gpt-4o-mini")

    async def chain(i: int) -> None:
        for step in range(3):
            request = LLMRequest(messages=[{"role": "user", "content": f"step {step} of {i}"}],
                                 output_schema=schema)
            await acomplete(request, settings, retries=0)

    await chain(-1)
    started = time.perf_counter()
    await asyncio.gather(*(chain(i) for i in range(n)))
    return time.perf_counter() - started


async def run_all(n: int) -> tuple[float, list[str]]:
    import cagents

    workflow = cagents.load(WORKFLOW)
    # Warm up: client, connection pool, imports.
    await workflow.arun(topic="warm-up")
    started = time.perf_counter()
    results = await asyncio.gather(*(workflow.arun(topic=f"topic {i}") for i in range(n)))
    elapsed = time.perf_counter() - started
    return elapsed, [r.status for r in results]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.05
    server = subprocess.Popen(
        [sys.executable, str(HERE / "llm_server_process.py"), str(delay)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        os.environ["CAGENTS_LLM_BASE_URL"] = url
        os.environ["CAGENTS_LLM_API_KEY"] = "bench"
        elapsed, statuses = asyncio.run(run_all(n))
        floor = asyncio.run(client_floor(n))
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(10)
    ideal = 3 * delay
    completed = statuses.count("completed")
    print(f"executions: {n}, completed: {completed}, LLM calls: {3 * n}")
    print(f"wall time: {elapsed:.3f} s, ideal: {ideal:.3f} s, ratio: {elapsed / ideal:.2f} "
          f"(target <= 1.3): {'yes' if elapsed / ideal <= 1.3 else 'NO'}")
    print(f"throughput: {n / elapsed:.0f} executions/s, {3 * n / elapsed:.0f} LLM calls/s")
    print(f"the same calls through the client alone (no engine): {floor:.3f} s; "
          f"engine / client-alone: {elapsed / floor:.2f}")


if __name__ == "__main__":
    main()
