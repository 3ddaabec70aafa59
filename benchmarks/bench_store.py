"""The store's two hot paths, measured: the per-node checkpoint write, and the Executions page.

(a) One checkpoint per node, one transaction each, on an SQLite file: our `add_state` with a
    realistic 20-field state, side by side in the same run with LangGraph's `SqliteSaver.put`
    of the same state (as shipped, and with the same `synchronous=NORMAL` we use).
    Targets: median <= 0.3 ms and <= 1/5 of SqliteSaver's.
(b) The Executions page over 1,000,000 executions in SQLite (spread over a year, realistic
    status mix): a 50-row page and the summary under each filter. Target: p95 <= 50 ms.
    A text filter needs an exact scan and is reported on its own.

Run: python benchmarks/bench_store.py [--rows N] [--keep PATH] [--skip-list] [--skip-checkpoints]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import table

from cagents.store import ExecutionFilters, open_database

WORKFLOWS = [
    ("research_bot", 30), ("summarizer", 20), ("article_writer", 12), ("translator", 10),
    ("support_triage", 8), ("code_reviewer", 6), ("lead_scorer", 5), ("invoice_parser", 4),
    ("meeting_notes", 2), ("sql_helper", 1.5), ("news_digest", 1), ("legal_check", 0.5),
]
STATUSES = [
    ("completed", 86.0), ("failed", 9.0), ("cancelled", 2.0), ("interrupted", 1.0),
    ("running", 0.05), ("pending", 0.03), ("waiting", 0.5),
]
ERRORS = [
    "node 'research': LLM provider error 429: rate limit exceeded, retry later",
    "node 'summarize': execution timeout after 120 s",
    "node 'fetch': tool 'web_scrape': HTTP 503 from https://example.org/article",
    "invalid inputs: topic: field required",
    "node 'write': structured output did not match the schema after 3 attempts",
]


def realistic_state() -> dict[str, Any]:
    """About 20 fields, as a research/summarize workflow carries them between nodes."""
    return {
        "topic": "Safety evaluations of large language models in production",
        "depth": 3,
        "language": "en",
        "audience": "engineering managers",
        "max_sources": 8,
        "queries": ["LLM safety evaluation", "red teaming LLM production", "LLM eval benchmarks 2026"],
        "sources": [f"https://example.org/papers/{i}" for i in range(6)],
        "source_titles": [f"Paper number {i} on evaluation practice" for i in range(6)],
        "notes": "Key findings: " + "evaluations must run continuously; " * 12,
        "outline": ["Intro", "Threat models", "Evaluation methods", "Tooling", "Recommendations"],
        "draft": "Large language models are deployed ... " * 20,
        "word_count": 742,
        "score": 8.5,
        "approved": False,
        "revision": 2,
        "feedback": "Tighten the intro and cite two more industry reports.",
        "citations": {"[1]": "https://example.org/papers/0", "[2]": "https://example.org/papers/3"},
        "metadata": {"model": "gpt-4o-mini", "temperature": 0.2, "run_by": "notebook"},
        "tags": ["safety", "evaluation", "llm"],
        "summary": None,
    }


def resume_data(step: int) -> dict[str, Any]:
    return {
        "frontier": ["write"], "waiting": [], "visits": {"research": 1, "summarize": step},
        "node_runs": step,
        "metrics": {"research": {"runs": 1, "duration_s": 2.1, "tokens": 812, "cost_usd": 0.0012}},
    }


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ---- (a) checkpoint writes ------------------------------------------------------------------
def bench_checkpoints(folder: Path, writes: int, rounds: int) -> list[tuple[str, ...]]:
    from langgraph.checkpoint.base import empty_checkpoint
    from langgraph.checkpoint.base.id import uuid6
    from langgraph.checkpoint.sqlite import SqliteSaver

    state = realistic_state()
    db = open_database(f"sqlite:///{folder / 'ours.db'}")
    db.executions.create(id="bench", workflow_name="research_bot", config_snapshot="flow: {}",
                         config_hash="h", inputs={"topic": state["topic"]})

    def checkpoints(n: int) -> list[Any]:
        out = []
        for i in range(n):
            cp = empty_checkpoint()
            cp["id"] = str(uuid6(clock_seq=i))
            cp["channel_values"] = dict(state)
            cp["channel_versions"] = {name: f"{i:032d}" for name in state}
            out.append(cp)
        return out

    samples: dict[str, list[float]] = {"ours": [], "saver": [], "saver_normal": []}
    with SqliteSaver.from_conn_string(str(folder / "saver.db")) as saver, \
            SqliteSaver.from_conn_string(str(folder / "saver_normal.db")) as saver_normal:
        saver.setup()
        saver_normal.setup()
        saver_normal.conn.execute("PRAGMA synchronous=NORMAL")
        config = {"configurable": {"thread_id": "bench", "checkpoint_ns": ""}}
        counter = iter(range(10**9))

        def put(target: Any) -> Callable[[int], list[float]]:
            def write(n: int) -> list[float]:
                prepared = checkpoints(n)  # ids and copies made outside the timed call
                total = []
                for i, cp in enumerate(prepared):
                    started = time.perf_counter()
                    target.put(config, cp, {"source": "loop", "step": i}, {})
                    total.append(time.perf_counter() - started)
                return total

            return write

        def add_states(n: int) -> list[float]:
            total = []
            for _ in range(n):
                step = next(counter)
                started = time.perf_counter()
                db.executions.add_state("bench", node_id="summarize", step=step, state_data=state,
                                        duration_seconds=1.5, tokens=900, cost_usd=0.0014,
                                        resume_data=resume_data(step))
                total.append(time.perf_counter() - started)
            return total

        writers: dict[str, Callable[[int], list[float]]] = {
            "ours": add_states, "saver": put(saver), "saver_normal": put(saver_normal),
        }
        # Warm up until each WAL has wrapped once (steady state), then interleave short rounds
        # in rotating order so every writer sees the same machine conditions.
        for write in writers.values():
            write(1200)
        names = list(writers)
        per_round = max(1, writes // rounds)
        for r in range(rounds):
            for name in names[r % 3:] + names[: r % 3]:
                samples[name] += writers[name](per_round)
    db.close()
    ours = statistics.median(samples["ours"]) * 1000
    rows: list[tuple[str, ...]] = []
    for name, label in (("ours", "cagents add_state"), ("saver", "LangGraph SqliteSaver.put (as shipped)"),
                        ("saver_normal", "LangGraph SqliteSaver.put (synchronous=NORMAL)")):
        median = statistics.median(samples[name]) * 1000
        rows.append((label, f"{median:.3f}", f"{pct(samples[name], 0.95) * 1000:.3f}",
                     "1.00" if name == "ours" else f"{ours / median:.2f}"))
    return rows


# ---- (b) the Executions page over a million rows --------------------------------------------
def _weighted(pairs: list[tuple[str, float]], rng: random.Random, n: int) -> list[str]:
    names = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(names, weights=weights, k=n)


def generate(path: Path, rows: int, now: datetime) -> float:
    """Bulk-load `rows` executions (executemany), then the day totals (one INSERT ... SELECT)."""
    open_database(f"sqlite:///{path}").close()  # schema at head
    rng = random.Random(7)
    started = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    year = 365 * 86400
    snapshot = "schema_version: '1.0'\nflow: {name: %s}\nstate: {fields: {topic: {type: str}}}\n"
    batch = 50_000
    # Executions arrive in time order, so rowids follow started_at as they do in real use.
    offsets = sorted((rng.random() * year for _ in range(rows)), reverse=True)
    for start in range(0, rows, batch):
        n = min(batch, rows - start)
        workflows = _weighted(WORKFLOWS, rng, n)
        statuses = _weighted(STATUSES, rng, n)
        values = []
        for i in range(n):
            offset = offsets[start + i]
            status = statuses[i]
            if status in ("running", "pending", "waiting") and offset > 86400:
                status = "completed"  # only recent executions can still be active
            begun = now - timedelta(seconds=offset)
            done = status not in ("running", "pending", "waiting")
            duration = rng.uniform(2, 180)
            cost = round(rng.uniform(0.0005, 0.08), 6) if done else None
            values.append((
                uuid.UUID(int=rng.getrandbits(128)).hex, workflows[i], status, snapshot % workflows[i],
                "c0ffee", json.dumps({"topic": f"topic {start + i}"}),
                json.dumps({"result": "ok"}) if status == "completed" else None,
                rng.choice(ERRORS) if status == "failed" else None,
                begun.strftime("%Y-%m-%d %H:%M:%S.%f"),
                (begun + timedelta(seconds=duration)).strftime("%Y-%m-%d %H:%M:%S.%f") if done else None,
                duration if done else None, rng.randint(200, 9000) if done else None, cost,
                "dep-research-prod" if workflows[i] == "research_bot" and rng.random() < 0.3 else None,
                0, 0,
            ))
        conn.executemany(
            "INSERT INTO executions (id, workflow_name, status, config_snapshot, config_hash, inputs, "
            "outputs, error_message, started_at, completed_at, duration_seconds, total_tokens, "
            "total_cost_usd, deployment_id, simulated, cancel_requested) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
    conn.execute("COMMIT")
    conn.close()
    loaded = time.perf_counter() - started
    with open_database(f"sqlite:///{path}") as db:
        t = time.perf_counter()
        db.executions.rebuild_stats()
        print(f"generated {rows:,} executions in {loaded:.1f} s; totals rebuilt in {time.perf_counter() - t:.1f} s")
    return loaded


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_page(path: Path, now: datetime, runs: int) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    rng = random.Random(11)
    db = open_database(f"sqlite:///{path}")
    today = datetime(now.year, now.month, now.day)

    def some_range() -> tuple[datetime, datetime]:
        start = now - timedelta(days=rng.uniform(20, 340))
        return start, start + timedelta(days=rng.uniform(1, 30))

    def some_week() -> tuple[datetime, datetime]:
        start = now - timedelta(days=rng.uniform(7, 300))
        return start, start + timedelta(days=7)

    cases: list[tuple[str, Callable[[], ExecutionFilters]]] = [
        ("no filter", lambda: ExecutionFilters()),
        ("status=failed", lambda: ExecutionFilters(status="failed")),
        ("status=running (rare)", lambda: ExecutionFilters(status="running")),
        ("status in (running, pending, waiting)", lambda: ExecutionFilters(status=["running", "pending", "waiting"])),
        ("workflow=research_bot", lambda: ExecutionFilters(workflow="research_bot")),
        ("workflow=legal_check (rare)", lambda: ExecutionFilters(workflow="legal_check")),
        ("workflow + status=failed", lambda: ExecutionFilters(workflow=rng.choice(WORKFLOWS)[0], status="failed")),
        ("today", lambda: ExecutionFilters(since=today)),
        ("this week", lambda: ExecutionFilters(since=now - timedelta(days=7))),
        ("random range (1-30 days, partial days)", lambda: ExecutionFilters(since=(r := some_range())[0], until=r[1])),
        ("random week + workflow + status=failed",
         lambda: ExecutionFilters(status="failed", workflow=rng.choice(WORKFLOWS[:6])[0],
                                  since=(w := some_week())[0], until=w[1])),
        ("rare workflow + rare status + range",
         lambda: ExecutionFilters(status="interrupted", workflow="legal_check",
                                  since=(r := some_range())[0], until=r[1])),
        ("deployment", lambda: ExecutionFilters(deployment_id="dep-research-prod")),
    ]
    text_cases: list[tuple[str, Callable[[], ExecutionFilters]]] = [
        ("text 'rate limit' (common in errors)", lambda: ExecutionFilters(text="rate limit")),
        ("text: an id prefix (one match)", lambda: ExecutionFilters(text=uuid.UUID(int=rng.getrandbits(128)).hex[:10])),
        ("text + this week", lambda: ExecutionFilters(text="timeout", since=now - timedelta(days=7))),
    ]

    def measure(name: str, make: Callable[[], ExecutionFilters], n: int) -> tuple[str, ...]:
        lists, sums, pages = [], [], []
        for _ in range(n):
            filters = make()
            a = timed(partial(db.executions.list, filters, limit=50))
            b = timed(partial(db.executions.summary, filters))
            lists.append(a)
            sums.append(b)
            pages.append(a + b)
        def ms(v: float) -> str:
            return f"{v * 1000:.1f}"

        return (name, ms(statistics.median(lists)), ms(pct(lists, 0.95)), ms(statistics.median(sums)),
                ms(pct(sums, 0.95)), ms(pct(pages, 0.95)))

    # Warm the page cache once, as a running workbench would be.
    db.executions.summary()
    db.executions.list()
    rows = [measure(name, make, runs) for name, make in cases]
    # Paging deep with the cursor: each page costs the same as the first.
    cursor_times: list[float] = []
    cursor = None
    for _ in range(40):
        started = time.perf_counter()
        page = db.executions.list(ExecutionFilters(status="completed"), limit=50, cursor=cursor)
        cursor_times.append(time.perf_counter() - started)
        cursor = page.next_cursor
    rows.append(("paging: pages 1-40 of status=completed", f"{statistics.median(cursor_times) * 1000:.1f}",
                 f"{pct(cursor_times, 0.95) * 1000:.1f}", "-", "-", f"{pct(cursor_times, 0.95) * 1000:.1f}"))
    text_rows = [measure(name, make, max(3, runs // 10)) for name, make in text_cases]
    db.close()
    return rows, text_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=40, help="samples per filter case")
    parser.add_argument("--keep", type=Path, help="reuse / keep the generated database at this path")
    parser.add_argument("--skip-checkpoints", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cagents-bench-store-") as tmp:
        folder = Path(tmp)
        if not args.skip_checkpoints:
            rows = bench_checkpoints(folder, args.writes, rounds=30)
            print("\n(a) checkpoint write, one transaction per checkpoint, SQLite file, 20-field state")
            print(table(rows, ("writer", "median ms", "p95 ms", "cagents / this")))
        if not args.skip_list:
            path = args.keep or folder / "million.db"
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            if not path.exists():
                generate(path, args.rows, now)
            else:
                with open_database(f"sqlite:///{path}") as db, db.read() as conn:
                    newest = conn.exec_driver_sql("SELECT max(started_at) FROM executions").scalar()
                now = datetime.fromisoformat(str(newest))
            page_rows, text_rows = bench_page(path, now, args.runs)
            header = ("filter", "list p50", "list p95", "summary p50", "summary p95", "list+summary p95")
            print(f"\n(b) Executions page over {args.rows:,} executions (ms; target: list+summary p95 <= 50)")
            print(table(page_rows, header))
            print("\n    text filters (exact scan, reported separately)")
            print(table(text_rows, header))


if __name__ == "__main__":
    main()
