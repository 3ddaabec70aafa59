"""ExecutionRepository on SQLite and PostgreSQL: records, paging, filters, totals, checkpoints."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from store.paging import all_pages

from cagents.errors import ConflictError, NotFoundError, RequestError, StoreError
from cagents.store import Database, ExecutionFilters
from cagents.store.models import EXECUTION_STATUSES

T0 = datetime(2026, 3, 10, 12, 0, 0)


def make(db: Database, id: str, *, workflow: str = "wf", started: datetime = T0, **kw: Any) -> None:
    db.executions.create(
        id=id, workflow_name=workflow, config_snapshot="flow: {}", config_hash="h",
        inputs={"topic": id}, started_at=started, **kw,
    )


def finish(db: Database, id: str, status: str = "completed", cost: float = 0.5, **kw: Any) -> None:
    fields: dict[str, Any] = {
        "status": status, "outputs": {"result": id}, "error_message": None, "completed_at": T0,
        "duration_seconds": 2.0, "total_tokens": 10, "total_cost_usd": cost,
        "bottleneck_info": None, "simulated": False,
    }
    fields.update(kw)
    db.executions.finish(id, **fields)


# ---- create / get ---------------------------------------------------------------------
def test_create_returns_the_stored_record(db: Database) -> None:
    created = db.executions.create(
        id="e1", workflow_name="research", config_snapshot="yaml", config_hash="abc",
        inputs={"topic": "AI", "depth": 3}, started_at=T0, owner="me", deployment_id="dep-1",
    )
    got = db.executions.get("e1")
    assert got == created
    assert got.status == "running" and got.inputs == {"topic": "AI", "depth": 3}
    assert got.started_at == T0 and got.simulated is False and got.cancel_requested is False
    assert got.deployment_id == "dep-1" and got.owner == "me" and got.corrupt_fields == ()


def test_create_without_start_uses_now(db: Database) -> None:
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    record = db.executions.create(id="e", workflow_name="w", config_snapshot=None, config_hash=None, inputs=None)
    assert before <= record.started_at <= datetime.now(timezone.utc).replace(tzinfo=None)
    assert db.executions.get("e").inputs is None


def test_aware_start_time_is_stored_as_utc(db: Database) -> None:
    aware = datetime(2026, 3, 10, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    make(db, "e", started=aware)
    assert db.executions.get("e").started_at == datetime(2026, 3, 10, 12, 0)


def test_unknown_execution_is_not_found(db: Database) -> None:
    with pytest.raises(NotFoundError) as info:
        db.executions.get("nope")
    assert (info.value.kind, info.value.identifier) == ("execution", "nope")
    for call in (
        lambda: db.executions.update("nope", trace_id="t"),
        lambda: db.executions.update("nope", status="failed"),
        lambda: finish(db, "nope"),
        lambda: db.executions.request_cancel("nope"),
        lambda: db.executions.states("nope"),
        lambda: db.executions.last_state("nope"),
        lambda: db.executions.add_state("nope", node_id="n", step=1, state_data={}, duration_seconds=None,
                                        tokens=None, cost_usd=None, resume_data=None),
    ):
        with pytest.raises(NotFoundError, match="no execution with id 'nope'"):
            call()


def test_duplicate_id_is_refused_and_the_first_row_kept(db: Database) -> None:
    make(db, "e1")
    with pytest.raises(StoreError, match="'e1' already exists"):
        make(db, "e1", workflow="other")
    assert db.executions.get("e1").workflow_name == "wf"
    assert db.executions.summary().total == 1


def test_retry_links_to_an_existing_execution(db: Database) -> None:
    make(db, "first")
    make(db, "second", retry_of="first")
    assert db.executions.get("second").retry_of == "first"
    with pytest.raises(NotFoundError, match="'ghost'"):
        make(db, "third", retry_of="ghost")
    with pytest.raises(NotFoundError):
        db.executions.get("third")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "done"}, "unknown execution status 'done'"),
        ({"id": ""}, "execution id must be a non-empty string"),
        ({"id": "x" * 65}, "execution id is 65 characters long"),
        ({"workflow_name": ""}, "workflow_name must be a non-empty string"),
        ({"inputs": {"when": datetime(2026, 1, 1)}}, "inputs of execution 'e' cannot be stored: it is not JSON"),
    ],
)
def test_bad_create_arguments(db: Database, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "id": "e", "workflow_name": "w", "config_snapshot": None, "config_hash": None, "inputs": {},
    }
    args.update(kwargs)
    with pytest.raises(StoreError, match=message):
        db.executions.create(**args)
    assert db.executions.summary().total == 0


# ---- update / finish / cancel / interrupted --------------------------------------------
def test_finish_writes_the_summary(db: Database) -> None:
    make(db, "e1")
    finish(db, "e1", status="failed", cost=1.25, error_message="node 'a': boom",
           bottleneck_info={"slowest": "a"}, simulated=True)
    record = db.executions.get("e1")
    assert record.status == "failed" and record.error_message == "node 'a': boom"
    assert record.outputs == {"result": "e1"} and record.bottleneck_info == {"slowest": "a"}
    assert record.total_cost_usd == 1.25 and record.total_tokens == 10 and record.simulated is True
    assert record.completed_at == T0 and record.duration_seconds == 2.0


def test_create_can_write_a_whole_reported_row_at_once(db: Database) -> None:
    db.executions.create(
        id="r1", workflow_name="wf", status="waiting", config_snapshot=None, config_hash=None, inputs={},
        started_at=T0, more={"waiting_for": {"node_id": "review"}, "total_cost_usd": 1.5, "total_tokens": 7,
                             "completed_at": T0, "simulated": True},
    )
    record = db.executions.get("r1")
    assert record.status == "waiting" and record.waiting_for == {"node_id": "review"}
    assert (record.total_tokens, record.simulated, record.completed_at) == (7, True, T0)
    assert db.executions.summary().to_dict() == {"total": 1, "completed": 0, "failed": 0, "running": 1,
                                                 "total_cost_usd": 1.5}
    with pytest.raises(StoreError, match="no column 'colour' to set at creation"):
        db.executions.create(id="r2", workflow_name="wf", config_snapshot=None, config_hash=None, inputs={},
                             more={"colour": "red"})
    with pytest.raises(StoreError, match="must be a datetime"):
        db.executions.create(id="r3", workflow_name="wf", config_snapshot=None, config_hash=None, inputs={},
                             more={"completed_at": "yesterday"})
    assert [r.id for r in db.executions.list().items] == ["r1"]


def test_finish_waiting_keeps_what_the_human_node_asks(db: Database) -> None:
    make(db, "e1")
    finish(db, "e1", status="waiting", waiting_for={"node": "approve", "fields": ["ok"]})
    record = db.executions.get("e1")
    assert record.status == "waiting" and record.waiting_for == {"node": "approve", "fields": ["ok"]}
    assert db.executions.summary().running == 1


def test_update_sets_any_column_and_encodes_dicts(db: Database) -> None:
    make(db, "e1")
    finish(db, "e1", status="waiting", waiting_for={"node": "h"})
    db.executions.update("e1", status="running", completed_at=None, waiting_for=None, owner="p2",
                         trace_id="tr-1", trace_note=None, outputs={"x": [1, 2]})
    record = db.executions.get("e1")
    assert (record.status, record.completed_at, record.waiting_for) == ("running", None, None)
    assert (record.owner, record.trace_id, record.outputs) == ("p2", "tr-1", {"x": [1, 2]})


def test_update_refuses_unknown_columns_and_the_id(db: Database) -> None:
    make(db, "e1")
    with pytest.raises(StoreError, match="no column 'colour'.*known: workflow_name"):
        db.executions.update("e1", colour="red")
    with pytest.raises(StoreError, match="id of an execution cannot change"):
        db.executions.update("e1", id="e2")
    with pytest.raises(StoreError, match="unknown execution status 'finished'"):
        db.executions.update("e1", status="finished")
    with pytest.raises(StoreError, match="must be a datetime"):
        db.executions.update("e1", completed_at="yesterday")
    assert db.executions.get("e1").status == "running"


def test_reopen_claims_a_stopped_execution_once(db: Database) -> None:
    make(db, "e1")
    finish(db, "e1", status="waiting", waiting_for={"node_id": "h"})
    db.executions.reopen("e1", owner="p2", from_statuses=("waiting", "interrupted"))
    record = db.executions.get("e1")
    assert (record.status, record.owner, record.waiting_for, record.completed_at) == ("running", "p2", None, None)
    with pytest.raises(ConflictError, match="execution e1 is running now, so it was not resumed here"):
        db.executions.reopen("e1", owner="p3", from_statuses=("waiting", "interrupted"))
    assert db.executions.get("e1").owner == "p2"
    assert db.executions.summary().to_dict()["running"] == 1
    with pytest.raises(NotFoundError):
        db.executions.reopen("nope", owner="p3", from_statuses=("waiting",))


def test_request_cancel_sets_the_flag(db: Database) -> None:
    make(db, "e1")
    db.executions.request_cancel("e1")
    assert db.executions.get("e1").cancel_requested is True


def test_mark_interrupted_only_touches_active_executions(db: Database) -> None:
    for i, status in enumerate(("running", "pending", "waiting", "completed")):
        make(db, f"e{i}", status="running" if status == "completed" else status)
    finish(db, "e3")
    count = db.executions.mark_interrupted(["e0", "e1", "e2", "e3", "unknown", "e0"], "process died")
    assert count == 2
    statuses = {r.id: r.status for r in db.executions.list().items}
    assert statuses == {"e0": "interrupted", "e1": "interrupted", "e2": "waiting", "e3": "completed"}
    assert db.executions.get("e0").error_message == "process died"
    assert db.executions.get("e0").completed_at is not None
    assert db.executions.mark_interrupted([], "x") == 0
    summary = db.executions.summary()
    assert (summary.total, summary.running, summary.completed) == (4, 1, 1)


# ---- list: order, paging, filters -------------------------------------------------------
def test_list_is_newest_first_with_ties_broken_by_id(db: Database) -> None:
    make(db, "a", started=T0)
    make(db, "b", started=T0)
    make(db, "c", started=T0 + timedelta(seconds=1))
    make(db, "d", started=T0 - timedelta(days=1))
    assert [r.id for r in db.executions.list().items] == ["c", "b", "a", "d"]


def test_keyset_paging_visits_every_row_once(db: Database) -> None:
    ids = []
    for i in range(23):
        # Groups of equal start times make the id tie-break matter across page edges.
        make(db, f"e{i:02d}", started=T0 + timedelta(minutes=i // 4))
        ids.append(f"e{i:02d}")
    expected = sorted(ids, key=lambda x: (int(x[1:]) // 4, x), reverse=True)
    for limit in (1, 3, 4, 7, 23, 50):
        assert all_pages(db, limit=limit) == expected
    first = db.executions.list(limit=23)
    assert first.next_cursor is None and len(first.items) == 23


def test_paging_survives_inserts_between_pages(db: Database) -> None:
    for i in range(6):
        make(db, f"e{i}", started=T0 + timedelta(minutes=i))
    page = db.executions.list(limit=3)
    make(db, "newer", started=T0 + timedelta(hours=1))
    rest = db.executions.list(limit=10, cursor=page.next_cursor)
    assert [r.id for r in page.items + rest.items] == ["e5", "e4", "e3", "e2", "e1", "e0"]


@pytest.mark.parametrize(
    "cursor", ["not base64 !!", "bm9waXBl", "eHh4fHk", "", "MjAyNi0wMy0xMFQxMjowMDowMA"]
)
def test_bad_cursor_is_a_store_error(db: Database, cursor: str) -> None:
    make(db, "e1")
    if cursor == "":
        assert [r.id for r in db.executions.list(cursor=cursor).items] == ["e1"]
        return
    with pytest.raises(RequestError, match="invalid cursor"):
        db.executions.list(cursor=cursor)


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_limit_out_of_range(db: Database, limit: int) -> None:
    with pytest.raises(StoreError, match="limit must be between 1 and 1000"):
        db.executions.list(limit=limit)


@pytest.fixture
def mixed(db: Database) -> Database:
    rows = [
        ("r1", "research", "completed", T0 - timedelta(days=3), None, None),
        ("r2", "research", "failed", T0 - timedelta(days=2), "rate limit hit", None),
        ("r3", "research", "running", T0 - timedelta(hours=1), None, "dep-a"),
        ("s1", "summarize", "completed", T0 - timedelta(days=1), None, "dep-a"),
        ("s2", "summarize", "failed", T0, "timeout 100%_done", None),
        ("t1", "translate_100%", "waiting", T0 + timedelta(hours=2), None, None),
    ]
    for id, wf, status, started, error, dep in rows:
        make(db, id, workflow=wf, started=started, deployment_id=dep)
        if status not in ("running", "waiting"):
            finish(db, id, status=status, error_message=error, cost=1.0)
        elif status == "waiting":
            finish(db, id, status="waiting", cost=0.25)
    return db


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ExecutionFilters(), ["t1", "s2", "r3", "s1", "r2", "r1"]),
        (ExecutionFilters(status="failed"), ["s2", "r2"]),
        (ExecutionFilters(status=["running", "waiting"]), ["t1", "r3"]),
        (ExecutionFilters(status=[]), ["t1", "s2", "r3", "s1", "r2", "r1"]),
        (ExecutionFilters(workflow="research"), ["r3", "r2", "r1"]),
        (ExecutionFilters(workflow="research", status="completed"), ["r1"]),
        (ExecutionFilters(since=T0 - timedelta(days=1)), ["t1", "s2", "r3", "s1"]),
        (ExecutionFilters(until=T0), ["r3", "s1", "r2", "r1"]),
        (ExecutionFilters(since=T0 - timedelta(days=2), until=T0 - timedelta(hours=1)), ["s1", "r2"]),
        (ExecutionFilters(text="RATE"), ["r2"]),
        (ExecutionFilters(text="s1"), ["s1"]),
        (ExecutionFilters(text="summ"), ["s2", "s1"]),
        (ExecutionFilters(text="100%"), ["t1", "s2"]),
        (ExecutionFilters(text="%"), ["t1", "s2"]),
        (ExecutionFilters(text="_"), ["t1", "s2"]),
        (ExecutionFilters(deployment_id="dep-a"), ["r3", "s1"]),
        (ExecutionFilters(workflow="nothing"), []),
    ],
)
def test_filters(mixed: Database, filters: ExecutionFilters, expected: list[str]) -> None:
    assert all_pages(mixed, filters, limit=2) == expected
    summary = mixed.executions.summary(filters)
    assert summary.total == len(expected)


def test_unknown_status_filter_names_the_valid_ones(db: Database) -> None:
    with pytest.raises(StoreError, match="unknown execution status 'done'; use one of: pending"):
        db.executions.list(ExecutionFilters(status="done"))
    with pytest.raises(StoreError, match="'done'"):
        db.executions.summary(ExecutionFilters(status=["failed", "done"]))


def test_summary_counts_and_cost(mixed: Database) -> None:
    summary = mixed.executions.summary()
    assert (summary.total, summary.completed, summary.failed, summary.running) == (6, 2, 2, 2)
    assert summary.total_cost_usd == pytest.approx(4.25)
    failed = mixed.executions.summary(ExecutionFilters(status="failed", workflow="summarize"))
    assert (failed.total, failed.failed, failed.completed) == (1, 1, 0)
    assert failed.to_dict() == {"total": 1, "completed": 0, "failed": 1, "running": 0, "total_cost_usd": 1.0}


def test_workflows_lists_distinct_names(mixed: Database) -> None:
    assert mixed.executions.workflows() == ["research", "summarize", "translate_100%"]


def test_workflow_renamed_by_update_moves_its_totals(mixed: Database) -> None:
    for id in ("t1",):
        mixed.executions.update(id, workflow_name="research", total_cost_usd=2.0, status="completed")
    assert mixed.executions.workflows() == ["research", "summarize"]
    research = mixed.executions.summary(ExecutionFilters(workflow="research"))
    assert (research.total, research.completed, research.running) == (4, 2, 1)
    assert research.total_cost_usd == pytest.approx(4.0)


def test_rebuild_stats_matches_the_running_totals(mixed: Database) -> None:
    before = mixed.executions.summary(ExecutionFilters(since=T0 - timedelta(days=2, hours=5)))
    assert mixed.executions.rebuild_stats() > 0
    after = mixed.executions.summary(ExecutionFilters(since=T0 - timedelta(days=2, hours=5)))
    assert before == after


# ---- the summary against a brute-force count ---------------------------------------------
_DAY0 = datetime(2026, 1, 1)
_moments = st.builds(
    lambda d, s: _DAY0 + timedelta(days=d, seconds=s),
    st.integers(0, 6), st.integers(0, 86_399),
)
_rows = st.lists(
    st.tuples(
        _moments,
        st.sampled_from(["wa", "wb"]),
        st.sampled_from(["running", "pending", "completed", "failed", "waiting"]),
        st.sampled_from([None, "d1"]),
        st.sampled_from([0.0, 0.1, 0.25, 3.0]),
        st.sampled_from([None, "completed", "failed", "cancelled", "interrupt"]),
    ),
    max_size=25,
)
_bounds = st.one_of(st.none(), _moments, st.builds(lambda d: _DAY0 + timedelta(days=d), st.integers(0, 7)))
_filters = st.builds(
    ExecutionFilters,
    status=st.one_of(st.none(), st.sampled_from(["failed", "completed", "running"]),
                     st.lists(st.sampled_from(EXECUTION_STATUSES), max_size=3)),
    workflow=st.one_of(st.none(), st.sampled_from(["wa", "wb"])),
    since=_bounds,
    until=_bounds,
    deployment_id=st.one_of(st.none(), st.just("d1")),
)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_rows, filters=st.lists(_filters, min_size=1, max_size=6))
def test_summary_equals_a_brute_force_count(db: Database, rows: list[Any], filters: list[ExecutionFilters]) -> None:
    with db.write() as conn:
        for table in ("execution_states", "session_state", "executions", "executions_stats"):
            conn.execute(text(f"DELETE FROM {table}"))
    truth: dict[str, dict[str, Any]] = {}
    for i, (started, wf, status, dep, cost, then) in enumerate(rows):
        id = f"e{i}"
        make(db, id, workflow=wf, started=started, status=status, deployment_id=dep)
        truth[id] = {"started": started, "wf": wf, "status": status, "dep": dep, "cost": 0.0}
        if then == "interrupt":
            if db.executions.mark_interrupted([id], "gone"):
                truth[id]["status"] = "interrupted"
        elif then is not None:
            finish(db, id, status=then, cost=cost)
            truth[id].update(status=then, cost=cost)
    for f in filters:
        statuses = None if f.status is None else ([f.status] if isinstance(f.status, str) else f.status)
        chosen = [
            row for row in truth.values()
            if (not statuses or row["status"] in statuses)
            and (f.workflow is None or row["wf"] == f.workflow)
            and (f.deployment_id is None or row["dep"] == f.deployment_id)
            and (f.since is None or row["started"] >= f.since)
            and (f.until is None or row["started"] < f.until)
        ]
        summary = db.executions.summary(f)
        assert summary.total == len(chosen)
        assert summary.completed == sum(r["status"] == "completed" for r in chosen)
        assert summary.failed == sum(r["status"] == "failed" for r in chosen)
        assert summary.running == sum(r["status"] in ("running", "pending", "waiting") for r in chosen)
        assert summary.total_cost_usd == pytest.approx(sum(r["cost"] for r in chosen), abs=1e-9)
        assert len(all_pages(db, f, limit=7)) == len(chosen)


# ---- checkpoints -------------------------------------------------------------------------
def test_checkpoints_round_trip_oldest_first(db: Database) -> None:
    make(db, "e1")
    assert db.executions.states("e1") == [] and db.executions.last_state("e1") is None
    ids = [
        db.executions.add_state(
            "e1", node_id=f"n{i}", step=i, state_data={"i": i, "text": "é" * i, "nested": {"l": [i]}},
            duration_seconds=0.5 * i, tokens=i * 10, cost_usd=0.001 * i,
            resume_data={"frontier": [f"n{i + 1}"]}, created_at=T0 + timedelta(seconds=i),
        )
        for i in range(1, 4)
    ]
    assert ids == sorted(ids) and len(set(ids)) == 3
    states = db.executions.states("e1")
    assert [s.node_id for s in states] == ["n1", "n2", "n3"]
    assert states[1].state_data == {"i": 2, "text": "éé", "nested": {"l": [2]}}
    assert states[1].resume_data == {"frontier": ["n3"]} and states[1].tokens == 20
    assert states[1].created_at == T0 + timedelta(seconds=2) and states[1].step == 2
    last = db.executions.last_state("e1")
    assert last is not None and last.id == ids[-1] and last == db.states.last_state("e1")
    assert db.states.states("e1") == states
    assert last.to_dict()["created_at"] == "2026-03-10T12:00:03+00:00"


def test_checkpoint_state_must_be_a_json_dict(db: Database) -> None:
    make(db, "e1")
    with pytest.raises(StoreError, match="must be a dict"):
        db.executions.add_state("e1", node_id="n", step=1, state_data=[1], duration_seconds=None,  # type: ignore[arg-type]
                                tokens=None, cost_usd=None, resume_data=None)
    with pytest.raises(StoreError, match="state after node 'n' cannot be stored"):
        db.executions.add_state("e1", node_id="n", step=1, state_data={"x": object()}, duration_seconds=None,
                                tokens=None, cost_usd=None, resume_data=None)
    assert db.executions.states("e1") == []


# ---- corrupt values never break reads ----------------------------------------------------
def test_corrupt_json_reads_as_none_and_is_named(db: Database) -> None:
    make(db, "e1")
    make(db, "e2", started=T0 + timedelta(seconds=1))
    db.executions.add_state("e1", node_id="n", step=1, state_data={"ok": 1}, duration_seconds=None,
                            tokens=None, cost_usd=None, resume_data={"r": 1})
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE executions SET inputs = '{not json', outputs = '[1, 2]' WHERE id = 'e1'"))
        conn.execute(text("UPDATE execution_states SET state_data = 'garbage', resume_data = 'nul' "
                          "WHERE execution_id = 'e1'"))
    record = db.executions.get("e1")
    assert record.inputs is None and record.outputs is None
    assert record.corrupt_fields == ("inputs", "outputs")
    assert record.to_dict()["corrupt_fields"] == ["inputs", "outputs"]
    listed = db.executions.list().items
    assert [r.id for r in listed] == ["e2", "e1"] and listed[1].corrupt_fields == ("inputs", "outputs")
    assert listed[0].corrupt_fields == () and listed[0].inputs == {"topic": "e2"}
    [state] = db.executions.states("e1")
    assert state.state_data is None and state.resume_data is None
    assert state.corrupt_fields == ("state_data", "resume_data")
    assert db.executions.last_state("e1") == state


def test_record_to_dict_is_json_ready(db: Database) -> None:
    import json

    make(db, "e1", started=datetime(2026, 3, 10, 12, 0, 0, 250000))
    data = db.executions.get("e1").to_dict()
    assert data["started_at"] == "2026-03-10T12:00:00.250000+00:00"
    assert data["completed_at"] is None and data["corrupt_fields"] == []
    assert json.loads(json.dumps(data))["inputs"] == {"topic": "e1"}
