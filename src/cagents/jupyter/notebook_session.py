"""The kernel side of the magics: one workbench per kernel (opened on first use, closed at
exit or when the extension unloads) and the step-by-step runs a notebook has open, by name.

Runs go through `cagents.app` (`start_workflow`, `drive`), so every one is recorded in the
app database like a CLI or REST run. The cell's thread only waits and refreshes views;
the run itself goes on the engine's background loop.
"""

from __future__ import annotations

import atexit
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from cagents.errors import RequestError
from cagents.jupyter.progress import ProgressView, StepReport

if TYPE_CHECKING:
    from cagents.app import Workbench
    from cagents.engine import RunHandle, RunResult, Workflow

__all__ = ["CELL", "NotebookSession", "SteppedRun", "close_session", "compile_cell", "current", "open_session"]

#: The file name issues of a `%%cagents` cell carry; line 1 is the line under `%%cagents`.
CELL = "<cell>"
#: Seconds between two looks at a run in progress (and two chances to refresh its view).
POLL_SECONDS = 0.1
#: Seconds a cancelled run may take to record how it ended after Ctrl-C.
CANCEL_WAIT = 30.0

T = TypeVar("T")


def compile_cell(text: str) -> Workflow:
    """The workflow of a `%%cagents` cell; `ConfigError` lists every issue with its cell line."""
    from cagents.app.workflows import compile_text
    from cagents.engine import Workflow

    # Straight to the text loader: a one-line cell must not be taken for a file path.
    return Workflow(compile_text(text, CELL))


@dataclass
class SteppedRun:
    """A run the notebook drives one `%cagents step` at a time."""

    name: str
    workflow: Workflow
    handle: RunHandle
    view: ProgressView  # collects per-node metrics; never displayed
    last_step: int = 0


class NotebookSession:
    """The workbench of this kernel and its open step-by-step runs."""

    def __init__(self) -> None:
        self._workbench: Workbench | None = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.steps: dict[str, SteppedRun] = {}
        atexit.register(self._at_exit)

    def __repr__(self) -> str:
        state = "open" if self._workbench is not None else "not opened"
        return f"<NotebookSession workbench {state}, stepping {sorted(self.steps)}>"

    # ---- lifecycle ------------------------------------------------------------------------
    @property
    def opened(self) -> bool:
        return self._workbench is not None

    def workbench(self) -> Workbench:
        """The kernel's workbench, opened on first use ($CAGENTS_DB_URL or $CAGENTS_HOME)."""
        with self._lock:
            if self._workbench is None:
                from cagents.app import Workbench

                self._workbench = Workbench.open()
            return self._workbench

    def _at_exit(self) -> None:
        # The engine's loop may already be stopped by its own exit hook, which also closes
        # the model clients: only the workbench is left to close.
        self.close(release_clients=False)

    def close(self, *, release_clients: bool = True) -> None:
        """Close the workbench. Unfinished stepped runs stay in the database: once this
        process is gone they are marked interrupted and can be resumed."""
        atexit.unregister(self._at_exit)
        with self._lock:
            workbench, self._workbench = self._workbench, None
            pool, self._pool = self._pool, None
        self.steps.clear()
        if pool is not None:
            pool.shutdown(wait=False)
        if workbench is not None:
            workbench.close()
        if release_clients and "cagents.llm" in sys.modules:  # model clients live on the engine's loop
            from cagents.engine._sync import run_sync
            from cagents.llm import aclose_clients

            run_sync(aclose_clients())

    # ---- running --------------------------------------------------------------------------
    def start(self, workflow: Workflow, inputs: Mapping[str, Any], *, view: ProgressView,
              stream: bool = False) -> RunHandle:
        """A recorded run, not started; inputs are checked now (`InputError` names the fields)."""
        from cagents.app import start_workflow

        return start_workflow(self.workbench(), workflow, inputs, subscribers=[view], stream=stream,
                              coerce_inputs=True)

    def run(self, handle: RunHandle, *, on_tick: Callable[[], None]) -> RunResult:
        """Run to the end (or a pause for a person); Ctrl-C cancels and returns the result."""
        from cagents.app.runs import drive
        from cagents.engine._sync import run_sync

        workbench = self.workbench()
        return self._wait(lambda: run_sync(drive(workbench, handle)), handle, on_tick)

    def _wait(self, call: Callable[[], T], handle: RunHandle, on_tick: Callable[[], None]) -> T:
        """Call in a worker thread; meanwhile tick on this (the cell's) thread."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cagents-magic")
            future = self._pool.submit(call)
        try:
            while True:
                try:
                    return future.result(timeout=POLL_SECONDS)
                except FutureTimeout:
                    on_tick()
        except KeyboardInterrupt:
            handle.cancel()  # the run records its cancellation; what finished is kept
            return future.result(timeout=CANCEL_WAIT)

    # ---- step by step ---------------------------------------------------------------------
    def park(self, name: str, workflow: Workflow, handle: RunHandle, view: ProgressView) -> None:
        """Keep a run that waits for a person, so `%cagents step NAME --input ...` answers it."""
        self.steps[name] = SteppedRun(name, workflow, handle, view)

    def drop(self, name: str) -> str | None:
        """Forget the stepped run of `name`, cancelling it (recorded) if it is not over."""
        stepped = self.steps.pop(name, None)
        if stepped is None:
            return None
        handle = stepped.handle
        if not handle.done and handle.status != "pending":
            handle.cancel()
            self._wait(handle.step, handle, lambda: None)  # the step records the cancellation
        return handle.execution_id

    def step(self, name: str, workflow: Workflow, inputs: Mapping[str, Any] | None,
             *, on_tick: Callable[[], None] = lambda: None) -> StepReport:
        """Start a run of `workflow` and take its first step, or take the next step of the
        open one (answering a waiting human node with `inputs`)."""
        note = None
        stepped = self.steps.get(name)
        if stepped is not None and stepped.workflow is not workflow:
            dropped = self.drop(name)
            note = f"{name} was redefined: its step-by-step run {dropped} was cancelled; a new run starts"
            stepped = None
        started = stepped is None
        if stepped is None:
            view = ProgressView(workflow.spec, live=False)
            handle = self.start(workflow, inputs or {}, view=view)
            stepped = self.steps[name] = SteppedRun(name, workflow, handle, view)
        elif inputs and stepped.handle.status != "waiting":
            raise RequestError(
                f"the step-by-step run of {name} (execution {stepped.handle.execution_id}) is at step "
                f"{stepped.last_step}: --input only starts a run or answers a waiting node; run "
                f"`%cagents step {name} --reset` first to start anew with these inputs", field="input")
        try:
            return self._advance(stepped, None if started else inputs, started, note, on_tick)
        finally:
            if stepped.handle.done or stepped.handle.status == "pending":
                self.steps.pop(name, None)

    def _advance(self, stepped: SteppedRun, answers: Mapping[str, Any] | None, started: bool,
                 note: str | None, on_tick: Callable[[], None]) -> StepReport:
        handle, view = stepped.handle, stepped.view
        before_metrics = view.metrics()
        if handle.status == "waiting":
            asked = handle.waiting_for or {}
            if not answers:
                fields = ", ".join(asked.get("fields") or {})
                raise RequestError(
                    f"execution {handle.execution_id} waits for input at node {asked.get('node_id')}: "
                    f"give {fields} with --input FIELD=VALUE", field="input")
            before_state = handle.state
            self._wait(lambda: handle.resume(answers), handle, on_tick)
            after_state = handle.state
            changes = {k: (before_state.get(k), v) for k, v in after_state.items() if before_state.get(k) != v}
            after_metrics = view.metrics()
            nodes = [asked.get("node_id") or "?"] + [
                n for n, m in after_metrics.items() if m != before_metrics.get(n) and n != asked.get("node_id")]
            step_no, next_nodes = stepped.last_step + 1, handle.next_nodes
        else:
            result = self._wait(handle.step, handle, on_tick)
            nodes, changes, step_no, next_nodes = result.nodes, result.changes, result.step, result.next_nodes
            after_metrics = view.metrics()
        stepped.last_step = step_no
        zero = (0.0, 0, 0.0)
        metrics = {n: tuple(a - b for a, b in zip(after_metrics.get(n, zero), before_metrics.get(n, zero)))
                   for n in nodes}
        final = handle.result() if handle.done else None
        return StepReport(
            name=stepped.name, workflow_name=stepped.workflow.name, execution_id=handle.execution_id,
            step=step_no, nodes=list(nodes), metrics=metrics,  # type: ignore[arg-type]
            changes=dict(changes), status=handle.status, next_nodes=list(next_nodes),
            error=final.error if final else None, started=started, note=note,
            totals=(final.total_tokens, final.total_cost_usd, final.duration_seconds) if final else None,
            waiting_for=handle.waiting_for if handle.status == "waiting" else None, result=final,
        )


_session: NotebookSession | None = None


def open_session() -> NotebookSession:
    """The kernel's session, created on first call (the extension loads once per kernel)."""
    global _session
    if _session is None:
        _session = NotebookSession()
    return _session


def current() -> NotebookSession | None:
    return _session


def close_session() -> None:
    """Close and forget the kernel's session (the extension's unload)."""
    global _session
    session, _session = _session, None
    if session is not None:
        session.close()
