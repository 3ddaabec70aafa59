"""Engine overhead per node with no I/O, side by side with LangGraph on the same graphs.

Graphs: a 100-node chain, and a 100-branch fan-out joined by one node. Every node does
nothing but return one value, so the time measured is the engine's own: scheduling,
state checks, routing, checkpoints (in memory) and events. Target: cagents <= 1/5 of
LangGraph's per-node overhead. Run: python benchmarks/bench_engine_overhead.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import table  # noqa: E402

N = 100
REPEAT = 7


async def noop(value: int) -> int:
    """A node body that does no I/O."""
    return value


def chain_yaml(n: int) -> str:
    fields = "\n".join(f"    v{i}: {{type: int}}" for i in range(n))
    nodes = "\n".join(
        f"  - {{id: n{i}, kind: tool, tool: \"bench_noop:noop\", args: {{value: {i}}}, outputs: [v{i}]}}"
        for i in range(n)
    )
    edges = ["  - {from: START, to: n0}"]
    edges += [f"  - {{from: n{i}, to: n{i + 1}}}" for i in range(n - 1)]
    edges += [f"  - {{from: n{n - 1}, to: END}}"]
    return f"""schema_version: "1.0"
flow: {{name: chain{n}}}
state:
  fields:
{fields}
nodes:
{nodes}
edges:
""" + "\n".join(edges) + "\n"


def fanout_yaml(n: int) -> str:
    fields = "\n".join(f"    v{i}: {{type: int}}" for i in range(n)) + "\n    start: {type: int}\n    joined: {type: int}"
    nodes = ["  - {id: fan, kind: tool, tool: \"bench_noop:noop\", args: {value: 0}, outputs: [start]}"]
    nodes += [
        f"  - {{id: b{i}, kind: tool, tool: \"bench_noop:noop\", args: {{value: {i}}}, outputs: [v{i}]}}"
        for i in range(n)
    ]
    nodes += ["  - {id: join, kind: tool, tool: \"bench_noop:noop\", args: {value: 1}, outputs: [joined]}"]
    targets = ", ".join(f"b{i}" for i in range(n))
    edges = ["  - {from: START, to: fan}", f"  - {{from: fan, to: [{targets}]}}"]
    edges += [f"  - {{from: b{i}, to: join}}" for i in range(n)]
    edges += ["  - {from: join, to: END}"]
    return f"""schema_version: "1.0"
flow: {{name: fanout{n}}}
config: {{execution: {{max_concurrency: 1000}}}}
state:
  fields:
{fields}
nodes:
""" + "\n".join(nodes) + "\nedges:\n" + "\n".join(edges) + "\n"


def cagents_runner(text: str) -> Any:
    import cagents

    workflow = cagents.load(text)

    async def run() -> None:
        result = await workflow.arun()
        assert result.status == "completed", result.error

    return run


def langgraph_chain(n: int) -> Any:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    State = TypedDict("State", {f"v{i}": int for i in range(n)}, total=False)  # type: ignore[misc]
    graph = StateGraph(State)

    def make(i: int) -> Any:
        async def node(state: Any) -> dict[str, int]:
            return {f"v{i}": await noop(i)}

        return node

    for i in range(n):
        graph.add_node(f"n{i}", make(i))
    graph.add_edge(START, "n0")
    for i in range(n - 1):
        graph.add_edge(f"n{i}", f"n{i + 1}")
    graph.add_edge(f"n{n - 1}", END)
    app = graph.compile()

    async def run() -> None:
        await app.ainvoke({}, {"recursion_limit": n + 10})

    return run


def langgraph_fanout(n: int) -> Any:
    from typing import TypedDict

    from langgraph.graph import END, START, StateGraph

    keys = {f"v{i}": int for i in range(n)} | {"start": int, "joined": int}
    State = TypedDict("State", keys, total=False)  # type: ignore[misc]
    graph = StateGraph(State)

    def make(key: str, value: int) -> Any:
        async def node(state: Any) -> dict[str, int]:
            return {key: await noop(value)}

        return node

    graph.add_node("fan", make("start", 0))
    for i in range(n):
        graph.add_node(f"b{i}", make(f"v{i}", i))
    graph.add_node("join", make("joined", 1))
    graph.add_edge(START, "fan")
    for i in range(n):
        graph.add_edge("fan", f"b{i}")
    graph.add_edge([f"b{i}" for i in range(n)], "join")
    graph.add_edge("join", END)
    app = graph.compile()

    async def run() -> None:
        await app.ainvoke({})

    return run


async def median_time(run: Any, repeat: int) -> float:
    """Median seconds of `repeat` runs, all in one event loop (no loop start-up measured)."""
    import statistics
    import time

    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def compare(ours: Any, theirs: Any) -> tuple[float, float]:
    await ours()
    await theirs()  # warm up both
    t_ours = t_theirs = 0.0
    # Interleave rounds so that background load hits both sides alike.
    rounds = [(await median_time(ours, REPEAT), await median_time(theirs, REPEAT)) for _ in range(5)]
    t_ours = min(r[0] for r in rounds)
    t_theirs = min(r[1] for r in rounds)
    return t_ours, t_theirs


def main() -> None:
    # The node body lives in a module the tool registry can import by reference.
    module = Path(__file__).resolve().parent / "bench_noop.py"
    sys.path.insert(0, str(module.parent))
    rows = []
    for label, ours, theirs, nodes in (
        (f"chain of {N}", cagents_runner(chain_yaml(N)), langgraph_chain(N), N),
        (f"fan-out {N} + join", cagents_runner(fanout_yaml(N)), langgraph_fanout(N), N + 2),
    ):
        t_ours, t_theirs = asyncio.run(compare(ours, theirs))
        rows.append((
            label,
            f"{t_ours / nodes * 1e6:.1f}",
            f"{t_theirs / nodes * 1e6:.1f}",
            f"{t_ours / t_theirs:.3f}",
            "yes" if t_ours / t_theirs <= 0.2 else "NO",
        ))
    print(table(rows, ("graph", "cagents us/node", "langgraph us/node", "ratio", "<= 1/5")))


if __name__ == "__main__":
    main()
