"""Caller-side cost of MLflow tracing per execution, side by side with tracing off.

The same 3-node LLM workflow (the offline simulator provider: no network, ~1 ms a run) runs
N times with a fresh `tracer_for(...)` subscriber and N times without, in one process, to a
SQLite MLflow store in a temporary home. Two orders: interleaved (on, off, on, off, ...:
both modes see the same background load, so the difference is the tracer's own work on
the caller's side) and in blocks (all off while the exporter is idle, then all on while it
writes: the difference also holds the background thread's competition for the GIL).
Target: <= 2 ms per execution. Run: python benchmarks/bench_tracing.py [N]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import table  # noqa: E402

WORKFLOW = """
schema_version: "1.0"
flow: {name: bench_tracing}
state:
  fields:
    topic: {type: str, required: true}
    outline: {type: str}
    draft: {type: str}
    review: {type: str}
nodes:
  - {id: plan, prompt: "Outline {topic}", outputs: [outline]}
  - {id: write, prompt: "Write from {outline}", outputs: [draft]}
  - {id: check, prompt: "Review {draft}", outputs: [review]}
edges:
  - {from: START, to: plan}
  - {from: plan, to: write}
  - {from: write, to: check}
  - {from: check, to: END}
config:
  llm: {provider: simulator, model: sim-1}
"""


MISSING: list[str] = []


def _written(result: object) -> None:
    problem = getattr(result, "problem", None)
    if problem:
        MISSING.append(problem)


async def one(workflow: object, traced: bool) -> float:
    from cagents.observe import tracer_for

    started = time.perf_counter()
    subscribers = []
    if traced:
        tracer = tracer_for(workflow, on_trace=_written)
        assert tracer is not None
        subscribers.append(tracer)
    result = await workflow.arun({"topic": "tracing"}, subscribers=subscribers)  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - started
    assert result.status == "completed", result.error
    return elapsed


def summary(samples: list[float]) -> tuple[str, str, str]:
    p95 = statistics.quantiles(samples, n=20)[-1]
    return (f"{statistics.median(samples) * 1e3:.3f}", f"{statistics.fmean(samples) * 1e3:.3f}",
            f"{p95 * 1e3:.3f}")


async def main(n: int) -> None:
    import cagents
    from cagents.observe import flush_traces

    workflow = cagents.load(WORKFLOW)
    # Warm up: imports, the exporter thread, MLflow's import and a fresh store's migrations.
    for traced in (False, True, False, True):
        await one(workflow, traced)
    warm = time.perf_counter()
    assert flush_traces(120), "the warm-up traces were not written"
    print(f"warm-up traces written ({time.perf_counter() - warm:.1f} s incl. MLflow import/migrations)")

    on: list[float] = []
    off: list[float] = []
    for _ in range(n):
        on.append(await one(workflow, True))
        off.append(await one(workflow, False))
    drained = time.perf_counter()
    assert flush_traces(600)
    drain_s = time.perf_counter() - drained

    block_off = [await one(workflow, False) for _ in range(n)]
    block_on = [await one(workflow, True) for _ in range(n)]
    written = time.perf_counter()
    assert flush_traces(600)
    block_drain_s = time.perf_counter() - written

    rows = [
        ("interleaved, off", *summary(off)),
        ("interleaved, on", *summary(on)),
        ("blocks, off (exporter idle)", *summary(block_off)),
        ("blocks, on (exporter busy)", *summary(block_on)),
    ]
    print(table(rows, ("mode", "median ms/exec", "mean ms/exec", "p95 ms/exec")))
    inter = statistics.median(on) - statistics.median(off)
    blocks = statistics.median(block_on) - statistics.median(block_off)
    print(f"\nadded per execution, interleaved: {inter * 1e3:+.3f} ms (median), "
          f"{(statistics.fmean(on) - statistics.fmean(off)) * 1e3:+.3f} ms (mean)")
    print(f"added per execution, blocks:      {blocks * 1e3:+.3f} ms (median), "
          f"{(statistics.fmean(block_on) - statistics.fmean(block_off)) * 1e3:+.3f} ms (mean)")
    print(f"target <= 2 ms: {'met' if max(inter, blocks) <= 0.002 else 'NOT met'}")
    print(f"background: {n} traces written {drain_s:.1f} s after the interleaved runs, "
          f"{n} more {block_drain_s:.1f} s after the block; traces missing: {len(MISSING)}"
          + (f" (first: {MISSING[0]})" if MISSING else ""))


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory(prefix="bench-tracing-") as home:
        os.environ["CAGENTS_HOME"] = home
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        os.environ.pop("CAGENTS_TRACING", None)
        asyncio.run(main(count))
