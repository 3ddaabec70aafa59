"""The store's two hot paths, measured: the per-node checkpoint write, and the Executions page.

(a) One checkpoint per node, one transaction each, on an SQLite file: our `add_state` with a
    realistic 20-field state, side by side in the same run with LangGraph's `SqliteSaver.put`
    of the same state (as shipped, and with the same `synchronous=NORMAL` we use).
    Targets: median <= 0.3 ms and <= 1/5 of SqliteSaver's.
(b) The Executions page over 1,000,000 executions in SQLite (spread over a year, realistic
    status mix): a 50-row page and the summary under each filter. Target: p95 <= 50 ms.
    Text filters are reported on their own: from 3 characters they go through the trigram
    index (revision 0003), shorter ones scan.
(c) What the text index (revision 0003: FTS5 trigram table kept by triggers) adds to writing
    an execution: create() + finish() with and without it, interleaved.

Run: python benchmarks/bench_store.py [--rows N] [--keep PATH] [--skip-list] [--skip-checkpoints]
     [--skip-writes] [--postgresql URL]   (b and c also on PostgreSQL, from a copy of the SQLite rows)
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
from cagents.store.migrate import upgrade

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


# ---- (c) the cost of the text index on writes ------------------------------------------------
def bench_writes(urls: dict[str, str], executions: int, rounds: int) -> list[tuple[str, ...]]:
    """create() + finish() of one execution (two transactions), with the text index (head:
    SQLite's triggers, PostgreSQL's GIN index) and without it (revision 0002), interleaved
    on two empty databases (`urls`: "with" and "without")."""
    rng = random.Random(5)
    dbs = {}
    for name, revision in (("with", "head"), ("without", "0002")):
        db = open_database(urls[name], migrate=False)
        upgrade(db, revision)
        dbs[name] = db
    now = datetime.now(timezone.utc).replace(tzinfo=None)

    def run(db: Any, n: int) -> list[float]:
        times = []
        for _ in range(n):
            id = uuid.UUID(int=rng.getrandbits(128)).hex
            workflow = _weighted(WORKFLOWS, rng, 1)[0]
            failed = rng.random() < 0.09
            started = time.perf_counter()
            db.executions.create(id=id, workflow_name=workflow, config_snapshot="flow: {}", config_hash="c0ffee",
                                 inputs={"topic": "t"}, started_at=now)
            db.executions.finish(id, status="failed" if failed else "completed", outputs={"result": "ok"},
                                 error_message=rng.choice(ERRORS) if failed else None, completed_at=now,
                                 duration_seconds=3.0, total_tokens=900, total_cost_usd=0.01,
                                 bottleneck_info=None, simulated=False)
            times.append(time.perf_counter() - started)
        return times

    for db in dbs.values():
        run(db, 2000)  # warm-up: the WAL wraps, the FTS index has merged segments
    samples: dict[str, list[float]] = {name: [] for name in dbs}
    names = list(dbs)
    for r in range(rounds):
        for name in names[r % 2:] + names[: r % 2]:
            samples[name] += run(dbs[name], max(1, executions // rounds))
    for db in dbs.values():
        db.close()
    base = statistics.median(samples["without"])
    return [
        (label, f"{statistics.median(samples[name]) * 1000:.3f}", f"{pct(samples[name], 0.95) * 1000:.3f}",
         f"{statistics.median(samples[name]) / base:.2f}")
        for name, label in (("without", "revision 0002 (no text index)"), ("with", "head (trigram index)"))
    ]


def new_postgresql_database(url: str, name: str) -> str:
    """A fresh database `name` on the server of `url` (dropped first if it exists)."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def load_postgresql(path: Path, url: str) -> None:
    """Copy the executions of the SQLite file into the PostgreSQL database at revision 0002
    (COPY), then the day totals and the upgrade to head, which builds the trigram index."""
    columns = ("id, workflow_name, status, config_snapshot, config_hash, inputs, outputs, error_message, "
               "started_at, completed_at, duration_seconds, total_tokens, total_cost_usd, deployment_id, "
               "simulated, cancel_requested")
    with open_database(url, migrate=False) as db:
        upgrade(db, "0002")
        started = time.perf_counter()
        source = sqlite3.connect(path)
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY executions ({columns}) FROM STDIN") as copy:
                for row in source.execute(f"SELECT {columns} FROM executions ORDER BY rowid"):
                    copy.write_row((*row[:14], bool(row[14]), bool(row[15])))
            raw.commit()
        finally:
            raw.close()
            source.close()
        loaded = time.perf_counter() - started
        db.executions.rebuild_stats()
        started = time.perf_counter()
        upgrade(db)
        indexed = time.perf_counter() - started
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    print(f"PostgreSQL: copied in {loaded:.1f} s; upgrade to head (trigram index) in {indexed:.1f} s")


# ---- (b) the Executions page over a million rows --------------------------------------------
def _weighted(pairs: list[tuple[str, float]], rng: random.Random, n: int) -> list[str]:
    names = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(names, weights=weights, k=n)


def generate(path: Path, rows: int, now: datetime) -> float:
    """Bulk-load `rows` executions (executemany) at revision 0002, then the day totals (one
    INSERT ... SELECT) and the upgrade to head, which builds the text index of those rows."""
    with open_database(f"sqlite:///{path}", migrate=False) as db:
        upgrade(db, "0002")
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
    with open_database(f"sqlite:///{path}", migrate=False) as db:
        t = time.perf_counter()
        db.executions.rebuild_stats()
        rebuilt = time.perf_counter() - t
        t = time.perf_counter()
        upgrade(db)
        print(f"generated {rows:,} executions in {loaded:.1f} s; totals rebuilt in {rebuilt:.1f} s; "
              f"upgrade to head (text index of every row) in {time.perf_counter() - t:.1f} s")
    return loaded


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def bench_page(url: str, now: datetime, runs: int) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    rng = random.Random(11)
    db = open_database(url)
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
    with db.read() as conn:  # real ids, spread over the year, for the id-prefix case
        ids = list(conn.exec_driver_sql("SELECT id FROM executions ORDER BY id LIMIT 1000").scalars())
    text_cases: list[tuple[str, Callable[[], ExecutionFilters]]] = [
        ("text in no row (random 12 hex chars)", lambda: ExecutionFilters(text=uuid.UUID(int=rng.getrandbits(128)).hex[:12])),
        ("text: an id prefix (one match)", lambda: ExecutionFilters(text=rng.choice(ids)[:10])),
        ("text 'rate limit' (1.8% of rows, in errors)", lambda: ExecutionFilters(text="rate limit")),
        ("text 'node' (7% of rows, in errors)", lambda: ExecutionFilters(text="node")),
        ("text 'research' (31%, mostly a workflow name)", lambda: ExecutionFilters(text="research")),
        ("text 'timeout' + this week", lambda: ExecutionFilters(text="timeout", since=now - timedelta(days=7))),
        ("text 'research_bot' + workflow=summarizer (none)",
         lambda: ExecutionFilters(text="research_bot", workflow="summarizer")),
        ("text of 2 chars in no row ('zq': scan)", lambda: ExecutionFilters(text="zq")),
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
    text_rows = [measure(name, make, max(10, runs // 2)) for name, make in text_cases]
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
    parser.add_argument("--skip-writes", action="store_true")
    parser.add_argument("--postgresql", metavar="URL",
                        help="also measure (b) and (c) on this PostgreSQL server (creates cagents_bench_* databases)")
    args = parser.parse_args()
    header = ("filter", "list p50", "list p95", "summary p50", "summary p95", "list+summary p95")

    with tempfile.TemporaryDirectory(prefix="cagents-bench-store-") as tmp:
        folder = Path(tmp)
        if not args.skip_checkpoints:
            rows = bench_checkpoints(folder, args.writes, rounds=30)
            print("\n(a) checkpoint write, one transaction per checkpoint, SQLite file, 20-field state")
            print(table(rows, ("writer", "median ms", "p95 ms", "cagents / this")))
        if not args.skip_writes:
            kinds = {"SQLite file": {n: f"sqlite:///{folder / f'writes-{n}.db'}" for n in ("with", "without")}}
            if args.postgresql:
                kinds["PostgreSQL"] = {n: new_postgresql_database(args.postgresql, f"cagents_bench_writes_{n}")
                                       for n in ("with", "without")}
            for kind, urls in kinds.items():
                rows = bench_writes(urls, args.writes, rounds=30)
                print(f"\n(c) create() + finish() of one execution, {kind}, with and without the text index")
                print(table(rows, ("schema", "median ms", "p95 ms", "/ without")))
        if not args.skip_list:
            path = args.keep or folder / "million.db"
            now = datetime.now(timezone.utc).replace(tzinfo=None)
            if not path.exists():
                generate(path, args.rows, now)
            else:
                with open_database(f"sqlite:///{path}") as db, db.read() as conn:
                    newest = conn.exec_driver_sql("SELECT max(started_at) FROM executions").scalar()
                now = datetime.fromisoformat(str(newest))
            targets = {"SQLite": f"sqlite:///{path}"}
            if args.postgresql:
                targets["PostgreSQL"] = new_postgresql_database(args.postgresql, "cagents_bench_page")
                load_postgresql(path, targets["PostgreSQL"])
            for kind, url in targets.items():
                page_rows, text_rows = bench_page(url, now, args.runs)
                print(f"\n(b) Executions page over {args.rows:,} executions, {kind} "
                      "(ms; target: list+summary p95 <= 50)")
                print(table(page_rows, header))
                print("\n    text filters (through the trigram index from 3 characters)")
                print(table(text_rows, header))


if __name__ == "__main__":
    main()
