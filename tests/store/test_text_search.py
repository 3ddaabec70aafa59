"""The Executions text filter through the trigram index: the same rows as the plain scan.

On both backends: special characters are literal, ASCII case is ignored and other case is
not (the old LIKE/ILIKE semantics, even though SQLite's trigram index folds more), writes
keep the index in step, and list pages and the summary agree with a brute-force count.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, text
from store.paging import all_pages

from cagents.store import Database, ExecutionFilters
from cagents.store.models import TEXT_SEARCH_INDEX, TEXT_SEARCH_TABLE, Execution
from cagents.store.repositories._search import LIST_CANDIDATES

T0 = datetime(2026, 5, 4, 10, 0)
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def make(db: Database, id: str, *, workflow: str = "wf", started: datetime = T0, error: str | None = None,
         status: str = "failed", cost: float = 0.5) -> None:
    db.executions.create(id=id, workflow_name=workflow, config_snapshot=None, config_hash=None, inputs={},
                         started_at=started)
    if status != "running":
        db.executions.finish(id, status=status, outputs=None, error_message=error, completed_at=started,
                             duration_seconds=1.0, total_tokens=1, total_cost_usd=cost, bottleneck_info=None,
                             simulated=False)


def found(db: Database, value: str, limit: int = 4, **more: Any) -> list[str]:
    """Every id the list shows for the text, page by page."""
    return all_pages(db, ExecutionFilters(text=value, **more), limit)


def counted(db: Database, value: str, **more: Any) -> int:
    return db.executions.summary(ExecutionFilters(text=value, **more)).total


def contains(haystack: str | None, needle: str) -> bool:
    """The old semantics on both test backends: substring, ASCII case ignored, nothing else."""
    return haystack is not None and needle.translate(_ASCII_FOLD) in haystack.translate(_ASCII_FOLD)


def fts_integrity(db: Database) -> None:
    """On SQLite, the FTS index agrees with the executions it indexes (raises if not)."""
    if db.is_sqlite:
        with db.write() as conn:
            conn.execute(text(f"INSERT INTO {TEXT_SEARCH_TABLE} ({TEXT_SEARCH_TABLE}, rank) "
                              "VALUES ('integrity-check', 1)"))


# ---- the index exists ------------------------------------------------------------------
def test_head_has_the_text_index(db: Database) -> None:
    with db.read() as conn:
        if db.is_sqlite:
            sql = conn.execute(text("SELECT sql FROM sqlite_master WHERE name = :n"), {"n": TEXT_SEARCH_TABLE})
            assert "trigram" in sql.scalar_one()
            triggers = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                         "AND tbl_name = 'executions' ORDER BY name")).scalars().all()
            assert triggers == [f"{TEXT_SEARCH_TABLE}_{s}" for s in ("delete", "insert", "update")]
        else:
            sql = conn.execute(text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"),
                               {"n": TEXT_SEARCH_INDEX}).scalar_one()
            assert "USING gin" in sql and sql.count("gin_trgm_ops") == 3


# ---- what a text matches ---------------------------------------------------------------
SPECIAL = [
    ("quote", "it's a 'quoted' word"),
    ("dquote", 'the "double" quote'),
    ("star", "glob* and *star"),
    ("percent", "done 100% here"),
    ("under", "snake_case_name"),
    ("backslash", r"C:\temp\file"),
    ("fts", "NEAR(a b) AND x OR y NOT z ^col:{id} -minus +plus (paren)"),
    ("unicode", "Ünïcödé naïve café 東京 emoji 🎉🎉🎉"),
    ("plain", "nothing special at all"),
]


def _special_rows() -> list[tuple[str, str, str | None]]:
    """(id, workflow, error), oldest first."""
    rows: list[tuple[str, str, str | None]] = [(f"sp-{name}", "wf", error) for name, error in SPECIAL]
    return [*rows, ("wf-odd", 'we"ird_wf%*', None)]


@pytest.fixture
def special(db: Database) -> Database:
    for i, (id, workflow, error) in enumerate(_special_rows()):
        make(db, id, workflow=workflow, started=T0 + timedelta(minutes=i), error=error,
             status="completed" if error is None else "failed")
    return db


def _expected(value: str) -> list[str]:
    """Newest first, as the list shows them."""
    return [id for id, workflow, error in reversed(_special_rows())
            if contains(id, value) or contains(workflow, value) or contains(error, value)]


@pytest.mark.parametrize(
    "value",
    [
        "it's", "'quoted'", "s a '", '"double"', '" quote', 'e "d', "glob*", "*star", "* and *",
        "100%", "0% h", "%", "_", "e_c", "snake_case", "\\temp", ":\\", "C:\\t", "NEAR(a", "AND x OR",
        "NOT z", "^col:{id}", "{id}", "-minus", "+plus", "(paren)", "ünïcödé", "东京", "東京", "🎉🎉",
        "café", "naïve", "nothing", 'we"ird', "ird_wf%*", "_wf%", "sp-", "zzz-none", "a b", "   ",
        "ab", "\"'", "e\"d'",
    ],
)
def test_special_characters_are_literal(special: Database, value: str) -> None:
    expected = _expected(value)
    assert found(special, value) == expected
    assert counted(special, value) == len(expected)


def test_ascii_case_is_ignored_on_every_column(special: Database) -> None:
    assert found(special, "SNAKE_CASE") == ["sp-under"] == found(special, "sNaKe_CaSe")
    assert found(special, "SP-DQUOTE") == ["sp-dquote"]
    assert found(special, 'WE"IRD') == ["wf-odd"]
    assert found(special, "Café") == found(special, "CAFé") == ["sp-unicode"]
    assert counted(special, "NEAR(A B)") == 1


def test_other_case_is_not_folded_as_before(special: Database, backend: str) -> None:
    # The trigram index folds Ü/ü alike, the old LIKE/ILIKE (C locale) does not: the
    # index may only narrow the rows, never widen the match.
    assert found(special, "Ünïcödé") == ["sp-unicode"]
    assert found(special, "ünïcödé") == []
    assert found(special, "CAFÉ") == []
    assert counted(special, "ÜNÏCÖDÉ") == 0


@pytest.mark.parametrize("value", ["a", "%", "_", "é", "al", "P-", "'", '"', "\\", "🎉"])
def test_short_texts_still_match(special: Database, value: str) -> None:
    expected = _expected(value)
    assert expected  # each of them is somewhere
    assert found(special, value) == expected
    assert counted(special, value) == len(expected)


# ---- writes keep the index in step -----------------------------------------------------
def test_changed_texts_are_found_and_old_ones_are_not(db: Database) -> None:
    make(db, "e1", workflow="alpha_flow", error="first failure: disk full")
    make(db, "e2", workflow="beta_flow", status="running")
    assert found(db, "disk full") == ["e1"]
    db.executions.update("e1", error_message="second failure: quota exceeded")
    assert found(db, "disk full") == [] and counted(db, "disk full") == 0
    assert found(db, "quota exc") == ["e1"] and counted(db, "QUOTA") == 1
    db.executions.update("e1", workflow_name="gamma_flow")
    assert found(db, "alpha_fl") == [] and counted(db, "alpha_fl") == 0
    assert found(db, "gamma_fl") == ["e1"] and counted(db, "gamma_fl") == 1
    # Other columns change without touching the text.
    db.executions.update("e1", trace_id="tr", owner="someone", total_cost_usd=2.0)
    assert found(db, "quota exc") == ["e1"]
    # The interrupted reason is searchable; a resume clears it.
    assert db.executions.mark_interrupted(["e2"], "worker process vanished") == 1
    assert found(db, "process vanish") == ["e2"]
    db.executions.reopen("e2", owner="p2", from_statuses=("interrupted",))
    assert found(db, "process vanish") == [] and counted(db, "vanish") == 0
    db.executions.finish("e2", status="failed", outputs=None, error_message="gave up after 3 tries",
                         completed_at=T0, duration_seconds=1.0, total_tokens=1, total_cost_usd=0.0,
                         bottleneck_info=None, simulated=False)
    assert found(db, "3 tries") == ["e2"] and counted(db, "gave up", status="failed") == 1
    fts_integrity(db)


def test_deleted_executions_leave_the_index(db: Database) -> None:
    for i in range(5):
        make(db, f"gone-{i}", error=f"unique marker {i}", started=T0 + timedelta(minutes=i))
    with db.write() as conn:
        conn.execute(text("DELETE FROM executions WHERE id IN ('gone-1', 'gone-3')"))
    assert found(db, "unique marker") == ["gone-4", "gone-2", "gone-0"]
    assert found(db, "gone-3") == []
    make(db, "gone-3", error="back again")
    assert found(db, "gone-3") == ["gone-3"] and found(db, "unique marker 3") == []
    fts_integrity(db)


def test_vacuum_keeps_the_index_pointing_at_the_right_rows(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("VACUUM renumbering rowids is an SQLite question")
    for i in range(60):
        make(db, f"v{i:02d}", error=f"marker-{i:02d}", started=T0 + timedelta(seconds=i))
    with db.write() as conn:
        conn.execute(text("DELETE FROM executions WHERE id < 'v30'"))
    raw = db.engine.raw_connection()  # VACUUM cannot run inside the BEGIN our connections start
    try:
        raw.cursor().execute("VACUUM")
    finally:
        raw.close()
    assert found(db, "marker-45") == ["v45"] and found(db, "marker-05") == []
    make(db, "v99", error="marker-99")
    assert found(db, "marker-99") == ["v99"]
    fts_integrity(db)


# ---- many matches: both ways a list can go ---------------------------------------------
def _bulk(db: Database, rows: list[dict[str, Any]]) -> None:
    base = {"status": "completed", "config_snapshot": None, "config_hash": None, "simulated": False,
            "cancel_requested": False, "total_cost_usd": 0.01}
    with db.write() as conn:
        conn.execute(insert(Execution), [{**base, **row} for row in rows])
    db.executions.rebuild_stats()


def test_common_and_rare_texts_page_the_same_as_a_scan(db: Database) -> None:
    common = LIST_CANDIDATES + 50
    rows: list[dict[str, Any]] = [
        {"id": f"c{i:05d}", "workflow_name": "bulk", "started_at": T0 + timedelta(seconds=i // 3),
         "error_message": "shared failure text" if i % 2 else None}
        for i in range(2 * common)
    ]
    rows += [{"id": f"r{i}", "workflow_name": "bulk", "started_at": T0 + timedelta(seconds=5 * i),
              "error_message": "rare failure text"} for i in range(30)]
    _bulk(db, rows)
    by_time = sorted(rows, key=lambda r: (r["started_at"], r["id"]), reverse=True)
    for value, limit in (("SHARED failure", 500), ("rare failure", 7), ("failure text", 1000), ("c0001", 3)):
        expected = [r["id"] for r in by_time if contains(r["error_message"], value) or contains(r["id"], value)]
        assert found(db, value, limit=limit) == expected, value
        assert counted(db, value) == len(expected)
        later = T0 + timedelta(seconds=700)
        wanted = set(expected)
        assert found(db, value, limit=limit, since=later) == [
            r["id"] for r in by_time if r["id"] in wanted and r["started_at"] >= later
        ]


def test_a_chosen_workflow_either_holds_the_text_or_leaves_id_and_error(db: Database) -> None:
    make(db, "r1", workflow="research_bot", error="quota")
    make(db, "s1", workflow="summarizer", error="called research_bot, which failed", started=T0 + timedelta(1))
    make(db, "s2", workflow="summarizer", error="timeout", started=T0 + timedelta(2))
    make(db, "research_bot-copy", workflow="summarizer", status="running", started=T0 + timedelta(3))
    assert found(db, "RESEARCH_bot", workflow="summarizer") == ["research_bot-copy", "s1"]
    assert found(db, "research_bot", workflow="research_bot") == ["r1"]
    assert found(db, "MARIZ", workflow="summarizer") == ["research_bot-copy", "s2", "s1"]
    assert found(db, "nowhere", workflow="summarizer") == [] and counted(db, "nowhere", workflow="summarizer") == 0
    assert counted(db, "research_b", workflow="summarizer") == 2
    assert counted(db, "mariz", workflow="summarizer", status="failed") == 2


# ---- the summary, workflow matches from the day totals -------------------------------------
def test_summary_counts_workflow_matches_and_the_rest_once(db: Database) -> None:
    make(db, "a1", workflow="invoice_parser", started=T0 - timedelta(days=3), status="completed", cost=1.0)
    make(db, "a2", workflow="invoice_parser", started=T0 - timedelta(days=1, hours=5), error="parser crashed",
         cost=2.0)
    make(db, "b1", workflow="other", started=T0, error="invoice_parser gave up", cost=4.0)
    make(db, "b2", workflow="other", started=T0 + timedelta(hours=1), status="running")
    make(db, "invoice_parser-id", workflow="third", started=T0 - timedelta(days=2), status="completed", cost=8.0)
    summary = db.executions.summary(ExecutionFilters(text="INVOICE_parser"))
    assert summary.to_dict() == {"total": 4, "completed": 2, "failed": 2, "running": 0, "total_cost_usd": 15.0}
    week = ExecutionFilters(text="invoice_parser", since=T0 - timedelta(days=2, hours=3), until=T0 + timedelta(hours=2))
    assert db.executions.summary(week).total == 3
    assert [r.id for r in db.executions.list(week).items] == ["b1", "a2", "invoice_parser-id"]
    failed = ExecutionFilters(text="parser", status="failed", workflow="invoice_parser")
    assert db.executions.summary(failed).to_dict()["total_cost_usd"] == 2.0


# ---- against a brute-force count ---------------------------------------------------------
_ALPHABET = "aAbB%_\\\"'*:(é É-"
_pieces = st.text(_ALPHABET, min_size=1, max_size=5)
_rows = st.lists(
    st.tuples(
        st.integers(0, 4 * 86_400 - 1),
        st.sampled_from(["wa", "Wb_%", "x\"y*", "É-é"]),
        st.sampled_from(["running", "completed", "failed"]),
        st.one_of(st.none(), _pieces, st.text(_ALPHABET, max_size=12)),
        st.sampled_from([0.0, 0.5, 2.0]),
    ),
    max_size=20,
)
_bounds = st.one_of(st.none(), st.builds(lambda s: T0 + timedelta(seconds=s), st.integers(0, 5 * 86_400)),
                    st.builds(lambda d: datetime(T0.year, T0.month, T0.day) + timedelta(days=d), st.integers(0, 5)))
_texts = st.one_of(_pieces, st.sampled_from(["wa", "WB_", "_%", "x\"Y", "é É", "e1", "E1", "É-"]))


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_rows, searches=st.lists(st.tuples(_texts, _bounds, _bounds, st.sampled_from([None, "failed"]),
                                               st.sampled_from([None, "wa", "Wb_%"])), min_size=1, max_size=5))
def test_text_results_equal_a_brute_force_match(db: Database, rows: list[Any], searches: list[Any]) -> None:
    with db.write() as conn:
        for table in ("execution_states", "session_state", "executions", "executions_stats"):
            conn.execute(text(f"DELETE FROM {table}"))
    truth = []
    for i, (offset, wf, status, error, cost) in enumerate(rows):
        id = f"e{i}-{error[:3] if error else ''}"
        started = T0 + timedelta(seconds=offset)
        make(db, id, workflow=wf, started=started, error=error, status=status, cost=cost)
        running = status == "running"  # make() finishes the others, with the error
        truth.append({"id": id, "wf": wf, "status": status, "error": None if running else error,
                      "started": started, "cost": 0.0 if running else cost})
    for value, since, until, status, workflow in searches:
        chosen = [
            r for r in truth
            if (contains(r["id"], value) or contains(r["wf"], value) or contains(r["error"], value))
            and (since is None or r["started"] >= since) and (until is None or r["started"] < until)
            and (status is None or r["status"] == status) and (workflow is None or r["wf"] == workflow)
        ]
        chosen.sort(key=lambda r: (r["started"], r["id"]), reverse=True)
        more = {"since": since, "until": until, "status": status, "workflow": workflow}
        assert found(db, value, limit=3, **more) == [r["id"] for r in chosen]
        summary = db.executions.summary(ExecutionFilters(text=value, **more))
        assert summary.total == len(chosen)
        assert summary.failed == sum(r["status"] == "failed" for r in chosen)
        assert summary.running == sum(r["status"] == "running" for r in chosen)
        assert summary.total_cost_usd == pytest.approx(sum(r["cost"] for r in chosen), abs=1e-9)
