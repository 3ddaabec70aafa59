"""`cagents executions list|show|rerun|resume|cancel`: the execution history on the command line.

Every execution (CLI, notebook, Jupyter, deployed service) is in the app database; these
commands read it and call the same `cagents.app` use cases the other hosts call. `rerun`
and `resume` print like `cagents run` and exit with its codes.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from cagents.app.formatting import ago, cost, duration, parse_inputs
from cagents.cli.run import Progress, ask, print_result, recorded, release_llm_clients
from cagents.errors import CagentsError, InputError

if TYPE_CHECKING:
    from cagents.app import Workbench
    from cagents.engine import RunResult
    from cagents.store import ExecutionRecord, StateRecord

HELP = "list, inspect, re-run, resume and cancel recorded executions"
DESCRIPTION = """\
Every execution is recorded in the app database ($CAGENTS_DB_URL, else
$CAGENTS_HOME/configurable_agents.db), wherever it ran.

  cagents executions list [--status S[,S]] [--workflow NAME] [--since ISO] [--until ISO]
                          [--search TEXT] [--limit N] [--cursor C] [--json]
  cagents executions show ID [--json]        details and the per-node timeline
  cagents executions rerun ID                run again: same config and inputs, new id
  cagents executions resume ID [--input k=v] continue an interrupted or waiting execution
  cagents executions cancel ID               stop a running or waiting execution

A running execution of another process stops at that process's next heartbeat
($CAGENTS_HEARTBEAT_SECONDS, default 5). An unknown ID exits with status 1.
Exit status of rerun and resume: 0 completed, 1 failed or cancelled, 3 waiting for input."""

STATUSES = ("pending", "running", "waiting", "completed", "failed", "cancelled", "interrupted")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", dest="action", metavar="ACTION")

    listing = actions.add_parser("list", help="newest first, with filters and a summary line",
                                 description="List executions, newest first, with a summary line.")
    add = listing.add_argument
    add("--status", type=_statuses, metavar="S[,S]", help="only these statuses (comma-separated)")
    add("--workflow", metavar="NAME", help="only this workflow name")
    add("--since", type=_when, metavar="ISO", help="started at or after (UTC unless an offset is given)")
    add("--until", type=_when, metavar="ISO", help="started before (UTC unless an offset is given)")
    add("--search", metavar="TEXT", help="text in the id, workflow name or error")
    add("--limit", type=_positive, default=20, metavar="N", help="rows per page (default 20)")
    add("--cursor", metavar="C", help="the page after the one that printed this cursor")
    add("--json", action="store_true", help="print one JSON object: items, next_cursor, summary")

    show = actions.add_parser(
        "show", help="one execution with its state timeline",
        description="Show an execution: inputs, outputs, error and the per-node timeline.",
    )
    show.add_argument("id", metavar="ID", help="execution id")
    show.add_argument("--json", action="store_true", help="print one JSON object: execution and states")

    rerun = actions.add_parser("rerun", help="run again from the same config and inputs",
                               description="Run an execution again from its config snapshot and inputs; "
                                           "the new execution links to the original (retry_of).")
    rerun.add_argument("id", metavar="ID", help="execution id")
    _run_options(rerun)

    resume = actions.add_parser("resume", help="continue an interrupted or waiting execution",
                                description="Continue an interrupted or waiting execution from its last "
                                            "checkpoint; nodes that finished do not run again. --input "
                                            "answers a waiting human node.")
    resume.add_argument("id", metavar="ID", help="execution id")
    resume.add_argument("-i", "--input", action="append", default=[], metavar="NAME=VALUE",
                        help="a value the waiting node asks for (repeatable)")
    resume.add_argument("--input-file", metavar="JSON", help="a JSON object of those values")
    _run_options(resume)

    cancel = actions.add_parser("cancel", help="stop a running or waiting execution",
                                description="Cancel an execution: at once when nothing drives it, else at "
                                            "the next heartbeat of the process running it.")
    cancel.add_argument("id", metavar="ID", help="execution id")
    cancel.add_argument("--json", action="store_true", help="print the execution as JSON")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object with the result")
    parser.add_argument("--stream", action="store_true", help="show model tokens as they arrive")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    from cagents.app import Workbench

    action = getattr(args, "action", None)
    if action is None:
        print("usage: cagents executions {list,show,rerun,resume,cancel} ...", file=sys.stderr)
        print("cagents: error: name an action (see `cagents executions --help`)", file=sys.stderr)
        return 2
    try:
        with Workbench.open() as workbench:
            return _ACTIONS[action](workbench, args)
    finally:
        if action in ("rerun", "resume"):
            release_llm_clients()


# ---- actions ------------------------------------------------------------------------------
def _list(workbench: Workbench, args: argparse.Namespace) -> int:
    from cagents.store import ExecutionFilters

    filters = ExecutionFilters(status=args.status, workflow=args.workflow, since=args.since,
                               until=args.until, text=args.search)
    page = workbench.db.executions.list(filters, limit=args.limit, cursor=args.cursor)
    summary = workbench.db.executions.summary(filters)
    if args.json:
        items = [_without(record.to_dict(), "config_snapshot") for record in page.items]
        _dump({"items": items, "next_cursor": page.next_cursor, "summary": summary.to_dict()})
        return 0
    now = _utcnow()
    rows = [
        [r.id, r.workflow_name, r.status, ago(r.started_at, now), duration(r.duration_seconds),
         "-" if r.total_tokens is None else str(r.total_tokens), cost(r.total_cost_usd)]
        for r in page.items
    ]
    if rows:
        print(_table(["ID", "WORKFLOW", "STATUS", "STARTED", "DURATION", "TOKENS", "COST"], rows))
    else:
        print("no executions match")
    print(f"{summary.total} total: {summary.completed} completed, {summary.failed} failed, "
          f"{summary.running} running; cost {cost(summary.total_cost_usd)}")
    if page.next_cursor:
        print(f"more: --cursor {page.next_cursor}")
    return 0


def _show(workbench: Workbench, args: argparse.Namespace) -> int:
    record = workbench.db.executions.get(args.id)
    states = workbench.db.executions.states(args.id)
    if args.json:
        _dump({"execution": record.to_dict(),
               "states": [_without(state.to_dict(), "resume_data") for state in states]})
        return 0
    print(describe(record, states))
    return 0


def _rerun(workbench: Workbench, args: argparse.Namespace) -> int:
    from cagents.app import rerun_execution

    subscribers = _subscribers(args, f"re-run of {args.id}")
    workbench.db.executions.get(args.id)  # an unknown id fails before anything prints
    result = rerun_execution(workbench, args.id, subscribers=subscribers, stream=args.stream)
    return print_result(result, as_json=args.json, quiet=args.quiet)


def _resume(workbench: Workbench, args: argparse.Namespace) -> int:
    record = workbench.db.executions.get(args.id)
    values: dict[str, Any] | None = parse_inputs(args.input, args.input_file) or None
    if values is None and record.status == "waiting" and record.waiting_for and sys.stdin.isatty():
        values = ask(record.waiting_for)
    if not args.quiet:
        print(f"execution {record.id} of {record.workflow_name} ({record.status}; resuming after step "
              f"{_last_step(workbench, args.id)})", file=sys.stderr)
    subscribers = [Progress(stream=args.stream, quiet=args.quiet)]
    result = _resume_once(workbench, args.id, values, subscribers, args)
    while result.status == "waiting" and result.waiting_for and sys.stdin.isatty():
        try:
            answers = ask(result.waiting_for)
        except EOFError:
            break
        result = _resume_once(workbench, args.id, answers, subscribers, args)
    return print_result(result, as_json=args.json, quiet=args.quiet)


def _resume_once(workbench: Workbench, execution_id: str, values: dict[str, Any] | None,
                 subscribers: list[Any], args: argparse.Namespace) -> RunResult:
    from cagents.app import resume_execution

    try:
        return recorded(workbench, execution_id, lambda: resume_execution(
            workbench, execution_id, values, subscribers=subscribers, stream=args.stream))
    except InputError as error:
        raise CagentsError(f"{error} (give them with --input NAME=VALUE)") from None


def _cancel(workbench: Workbench, args: argparse.Namespace) -> int:
    from cagents.app import cancel_execution

    record = cancel_execution(workbench, args.id)
    if args.json:
        _dump(record.to_dict())
    elif record.status == "cancelled":
        print(f"execution {record.id} cancelled")
    else:
        print(f"execution {record.id}: cancel requested; the process running it stops it at its next "
              f"heartbeat (within about {workbench.heartbeat_seconds:g} s)")
    return 0


_ACTIONS = {"list": _list, "show": _show, "rerun": _rerun, "resume": _resume, "cancel": _cancel}


# ---- rendering ----------------------------------------------------------------------------
def describe(record: ExecutionRecord, states: list[StateRecord]) -> str:
    """The human view of one execution: fields, then the timeline and the bottleneck."""
    now = _utcnow()
    lines = [f"execution {record.id}"]

    def field(name: str, value: object) -> None:
        if value is not None and value != "":
            lines.append(f"  {name:<13}{value}")

    field("workflow", record.workflow_name)
    field("status", record.status + (" (cancel requested)" if record.cancel_requested
                                     and record.status in ("running", "pending") else ""))
    field("started", f"{record.started_at.isoformat(sep=' ', timespec='seconds')} UTC "
                     f"({ago(record.started_at, now)})")
    if record.completed_at is not None:
        field("ended", f"{record.completed_at.isoformat(sep=' ', timespec='seconds')} UTC")
    field("duration", duration(record.duration_seconds) if record.duration_seconds is not None else None)
    field("tokens", record.total_tokens)
    field("cost", cost(record.total_cost_usd) if record.total_cost_usd is not None else None)
    field("simulated", "yes (offline simulator)" if record.simulated else None)
    field("re-run of", record.retry_of)
    field("deployment", record.deployment_id)
    field("trace", record.trace_id or record.trace_note)
    field("config hash", record.config_hash)
    field("inputs", _compact(record.inputs))
    field("outputs", _compact(record.outputs))
    field("error", record.error_message)
    if record.waiting_for:
        asked = record.waiting_for
        field("waiting for", f"node {asked.get('node_id')}: {asked.get('prompt') or ''}".rstrip(": "))
        field("values", ", ".join(asked.get("fields") or {}))
    if record.corrupt_fields:
        field("unreadable", ", ".join(record.corrupt_fields))
    lines.append("")
    if not states:
        lines.append("timeline: no node has finished")
        return "\n".join(lines)
    total = sum(s.duration_seconds or 0.0 for s in states)
    rows = [
        [str(s.step), s.node_id, duration(s.duration_seconds),
         "-" if s.tokens is None else str(s.tokens), cost(s.cost_usd),
         f"{(s.duration_seconds or 0.0) / total:.0%}" if total and s.duration_seconds is not None else "-"]
        for s in states
    ]
    lines.append("timeline")
    lines.append(_indent(_table(["STEP", "NODE", "DURATION", "TOKENS", "COST", "SHARE"], rows)))
    bottleneck = _bottleneck(record, states)
    if bottleneck:
        lines.append(f"bottleneck: {bottleneck}")
    return "\n".join(lines)


def _bottleneck(record: ExecutionRecord, states: list[StateRecord]) -> str | None:
    info = record.bottleneck_info or {}
    node = info.get("bottleneck_node")
    if node:
        data = (info.get("nodes") or {}).get(node) or {}
        return f"{node} ({data.get('share', 0.0):.0%} of node time, {duration(data.get('duration_s'))})"
    timed = [s for s in states if s.duration_seconds]
    if not timed:
        return None
    total = sum(s.duration_seconds or 0.0 for s in timed)
    per_node: dict[str, float] = {}
    for s in timed:
        per_node[s.node_id] = per_node.get(s.node_id, 0.0) + (s.duration_seconds or 0.0)
    slowest = max(per_node, key=lambda n: per_node[n])
    return f"{slowest} ({per_node[slowest] / total:.0%} of node time so far, {duration(per_node[slowest])})"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(headers), *(line(r) for r in rows)])


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _compact(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 300 else text[:297] + "..."


def _subscribers(args: argparse.Namespace, what: str) -> list[Any]:
    """Progress lines, headed by the new execution's id as soon as it is recorded."""
    progress = Progress(stream=args.stream, quiet=args.quiet)

    def announce(event: Any) -> None:
        if not args.quiet and event.type == "execution_accepted":
            print(f"execution {event.execution_id} of {event.workflow_name} ({what})", file=sys.stderr)

    return [announce, progress]


def _last_step(workbench: Workbench, execution_id: str) -> int:
    last = workbench.db.executions.last_state(execution_id)
    return last.step if last is not None else 0


def _dump(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# ---- argument types -----------------------------------------------------------------------
def _statuses(text: str) -> list[str]:
    found = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [s for s in found if s not in STATUSES]
    if unknown or not found:
        raise argparse.ArgumentTypeError(
            f"unknown status {', '.join(unknown) or repr(text)} (choose from {', '.join(STATUSES)})"
        )
    return found


def _when(text: str) -> datetime:
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or time (e.g. 2025-01-31 or 2025-01-31T14:00)"
        ) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value
