"""`%cagents` and `%%cagents`: define, run and step workflows in a notebook, and show the
workbench's panels under a cell.

A thin host: each command parses its arguments, calls the kernel's `NotebookSession` or a
`cagents.app` function, and shows the result. Bad input is an IPython `UsageError`: one
message under the cell, no traceback, nothing in the namespace changed.
"""

from __future__ import annotations

import argparse
import difflib
import keyword
import shlex
from typing import TYPE_CHECKING, Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand

from cagents.errors import CagentsError, ConfigError, InputError
from cagents.jupyter import notebook_session
from cagents.jupyter.progress import (
    ProgressView,
    esc,
    html_table,
    publish,
    step_bundle,
    text_table,
    usd,
)

if TYPE_CHECKING:
    from cagents.engine import Workflow
    from cagents.jupyter.notebook_session import NotebookSession

__all__ = ["CagentsMagics", "identifier", "load_ipython_extension", "unload_ipython_extension"]

COMMANDS = ("run", "step", "executions", "deploy", "deployments", "mlflow", "chat", "new", "help")
STATUSES = ("pending", "running", "waiting", "completed", "failed", "cancelled", "interrupted")
CHAT_NOTE = ("Talk with the workflow assistant in JupyterLab: the Chat page of the cagents sidebar, or this "
             "output where widgets are shown; below are the chat sessions stored in the workbench database.")


class _HelpShown(Exception):
    """argparse printed help: the magic is done."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports through UsageError instead of exiting the kernel."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            print(message)
        raise _HelpShown()


def _parser() -> _Parser:
    parser = _Parser(prog="%cagents", description="Run and inspect cagents workflows from a notebook. "
                     "Define a workflow with a `%%cagents [NAME]` cell holding its YAML.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run a workflow with a live progress view; returns the final state")
    step = commands.add_parser("step", help="start or advance a run one step, showing what changed")
    for sub in (run, step):
        sub.add_argument("name", metavar="NAME", help="a workflow defined by a %%%%cagents cell")
        sub.add_argument("-i", "--input", action="append", default=[], metavar="FIELD=VALUE",
                         help="an input state field (repeatable; converted to the field's type)")
        sub.add_argument("--inputs", metavar="VAR", help="a dict of inputs from the notebook's variables")
    run.add_argument("--stream", action="store_true", help="count the model's tokens as they stream")
    step.add_argument("--reset", action="store_true", help="drop (and cancel) the open step-by-step run")
    listing = commands.add_parser("executions", help="recorded executions, newest first, with a summary")
    listing.add_argument("--status", metavar="S[,S]", help="only these statuses (comma-separated)")
    listing.add_argument("--workflow", metavar="NAME", help="only this workflow name")
    listing.add_argument("--search", metavar="TEXT", help="text in the id, workflow name or error")
    listing.add_argument("--limit", type=int, default=20, metavar="N", help="rows (1-500, default 20)")
    deploy = commands.add_parser("deploy", help="run a workflow as a service (local process or container) "
                                 "that registers with the workbench and reports its executions")
    deploy.add_argument("name", metavar="NAME", help="a workflow defined by a %%%%cagents cell")
    deploy.add_argument("--target", choices=("process", "docker"), default="process",
                        help="process (default: a local subprocess) or docker (a container)")
    deploy.add_argument("--service-name", metavar="N", help="the deployment's name (default: the workflow's)")
    deploy.add_argument("--port", type=int, metavar="P", help="port on 127.0.0.1 (default: a free one)")
    deploy.add_argument("-e", "--env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment value for the service only, e.g. an API key (repeatable)")
    commands.add_parser("deployments", help="registered deployments and their health")
    mlflow = commands.add_parser("mlflow", help="the MLflow UI (embedded) or a link to it")
    mlflow.add_argument("--base-url", metavar="URL",
                        help="the Jupyter server's base URL (default: the server's own, "
                             "$CAGENTS_JUPYTER_BASE_URL, else $JUPYTERHUB_SERVICE_PREFIX or /)")
    mlflow.add_argument("--height", type=int, default=650, metavar="PX", help="height of the embedded UI")
    commands.add_parser("chat", help="the chat sessions in the workbench database")
    new = commands.add_parser("new", help="ask the assistant for a workflow; its YAML goes into a new cell")
    new.add_argument("description", nargs="+", help="what the workflow should do")
    commands.add_parser("help", help="show this help")
    return parser


def identifier(name: str) -> str:
    """A Python name made from a flow name (`support triage` -> `support_triage`)."""
    text = "".join(ch if ("a" + ch).isidentifier() else "_" for ch in name.strip())
    text = "_".join(part for part in text.split("_") if part) or "workflow"
    if not text.isidentifier():
        text = "wf_" + text
    return text + "_" if keyword.iskeyword(text) else text


def _config_message(error: ConfigError, cell: str) -> str:
    """Each issue with its cell line (1 = the line under %%cagents), the line and a caret."""
    lines = cell.splitlines()
    count = len(error.issues)
    head = (f"the workflow is not valid ({count} problem{'s' if count != 1 else ''}; "
            "line 1 is the first line under %%cagents):")
    out = [head]
    for issue in error.issues:
        where = f"line {issue.line}" if issue.line else "the cell"
        if issue.line and issue.column:
            where += f", column {issue.column}"
        out.append(f"  {where}: {issue.message}" + (f" ({issue.hint})" if issue.hint else ""))
        if issue.line and 0 < issue.line <= len(lines):
            number = f"{issue.line:>5} | "
            out.append(f"  {number}{lines[issue.line - 1]}")
            if issue.column:
                out.append("  " + " " * (len(number) - 2) + "| " + " " * (issue.column - 1) + "^")
    return "\n".join(out)


@magics_class
class CagentsMagics(Magics):
    """`%cagents COMMAND ...` and the `%%cagents [NAME]` cell."""

    def __init__(self, shell: Any, session: NotebookSession) -> None:
        super().__init__(shell)
        self.session = session

    @no_var_expand
    @line_cell_magic
    def cagents(self, line: str, cell: str | None = None) -> Any:
        """Define a workflow (`%%cagents [NAME]` + YAML) or run a command (`%cagents help`)."""
        try:
            if cell is not None:
                return self._define(line, cell)
            return self._command(line)
        except _HelpShown:
            return None
        except UsageError:
            raise
        except InputError as error:
            problems = "\n".join(f"  {name}: {why}" for name, why in error.problems.items())
            raise UsageError(f"invalid inputs:\n{problems}") from None
        except CagentsError as error:
            raise UsageError(str(error)) from None
        except Exception as error:  # a bug: one line here, the details with %tb
            raise UsageError(f"unexpected error: {type(error).__name__}: {error} "
                             "(%tb shows the details; please report it)") from error

    @property
    def _shell(self) -> Any:
        shell = self.shell
        assert shell is not None  # register_magics gave it
        return shell

    @property
    def _ns(self) -> dict[str, Any]:
        return self._shell.user_ns  # type: ignore[no-any-return]

    # ---- dispatch -------------------------------------------------------------------------
    def _command(self, line: str) -> Any:
        try:
            argv = shlex.split(line)
        except ValueError as error:
            raise UsageError(f"cannot read the arguments: {error} (check the quotes)") from None
        parser = _parser()
        if not argv or argv[0] == "help":
            parser.print_help()
            return None
        if argv[0] not in COMMANDS and not argv[0].startswith("-"):
            close = difflib.get_close_matches(argv[0], COMMANDS, n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            raise UsageError(f"unknown command `{argv[0]}`: {hint}commands: {', '.join(COMMANDS)}")
        args = parser.parse_args(argv)
        return getattr(self, f"_{args.command}")(args)

    def _workflow(self, name: str) -> Workflow:
        from cagents.engine import Workflow

        found = self._ns.get(name)
        if isinstance(found, Workflow):
            return found
        known = sorted(k for k, v in self._ns.items() if isinstance(v, Workflow) and not k.startswith("_"))
        where = f" (workflows here: {', '.join(known)})" if known else ""
        if found is None:
            raise UsageError(f"no workflow named `{name}`: define it with a `%%cagents {name}` cell{where}")
        raise UsageError(f"`{name}` is a {type(found).__name__}, not a workflow{where}")

    def _inputs(self, args: argparse.Namespace) -> dict[str, Any]:
        from cagents.app.formatting import parse_inputs

        inputs: dict[str, Any] = {}
        if args.inputs:
            given = self._ns.get(args.inputs)
            if not isinstance(given, dict):
                what = "not defined" if given is None else f"a {type(given).__name__}"
                raise UsageError(f"--inputs {args.inputs}: expected a dict variable, but it is {what}")
            inputs.update(given)
        inputs.update(parse_inputs(args.input, None))
        return inputs

    # ---- %%cagents --------------------------------------------------------------------------
    def _define(self, line: str, cell: str) -> None:
        argv = line.split()
        if len(argv) > 1 or (argv and not argv[0].isidentifier()):
            raise UsageError(f"%%cagents takes one optional NAME (a Python identifier), got {line.strip()!r}")
        try:
            workflow = notebook_session.compile_cell(cell)
        except ConfigError as error:
            message = _config_message(error, cell)
            if argv and argv[0] in self._ns:
                message += f"\n{argv[0]} keeps its previous value"
            raise UsageError(message) from None
        name = argv[0] if argv else identifier(workflow.name)
        self._ns[name] = workflow
        publish(self._summary(name, workflow))
        publish(self._diagram(workflow))

    def _summary(self, name: str, workflow: Workflow) -> dict[str, str]:
        from cagents.app.info import llm_info
        from cagents.app.workflows import env_entry

        spec = workflow.spec
        required = [k for k, f in spec.config.state.fields.items() if f.required]
        count = len(spec.config.nodes)
        lines = [f"workflow {spec.name}: {count} node{'s' if count != 1 else ''}, bound to `{name}`",
                 f"inputs: {', '.join(required) or 'none required'}"
                 f" · run: %cagents run {name}" + "".join(f" --input {k}=..." for k in required)]
        llm = llm_info()
        for entry in (env_entry(r) for r in spec.env):
            if entry["set"] or (llm["gateway_url"] and entry["reason"].startswith("API key of LLM provider")):
                continue
            lines.append(f"not set here: {' or '.join(entry['names'])} ({entry['reason']})")
        if llm["simulator"] and any(n.effective_kind == "llm" for n in spec.config.nodes):
            lines.append("no model key or gateway is set: LLM nodes run on the offline simulator")
        html = "".join(f"<div>{esc(text)}</div>" for text in lines)
        return {"text/html": f'<div class="cagents-workflow">{html}</div>', "text/plain": "\n".join(lines)}

    @staticmethod
    def _diagram(workflow: Workflow) -> dict[str, str]:
        """Mermaid in Markdown (JupyterLab 4 draws it) plus Graphviz SVG when `dot` exists,
        for frontends and exports that prefer SVG; the Mermaid source as plain text."""
        from cagents.config import diagram

        mermaid = diagram.to_mermaid(workflow.spec)
        bundle = {"text/markdown": f"```mermaid\n{mermaid}```\n", "text/plain": mermaid}
        if diagram.dot_available():
            try:
                bundle["image/svg+xml"] = diagram.to_svg(workflow.spec)
            except CagentsError:  # a broken Graphviz install: Mermaid still shows
                pass
        return bundle

    # ---- run and step -----------------------------------------------------------------------
    def _run(self, args: argparse.Namespace) -> Any:
        workflow = self._workflow(args.name)
        inputs = self._inputs(args)
        view = ProgressView(workflow.spec, live=False)
        handle = self.session.start(workflow, inputs, view=view, stream=args.stream)
        view.show()
        try:
            result = self.session.run(handle, on_tick=view.refresh)
        finally:
            view.refresh(force=True)
        self._ns[f"{args.name}_result"] = result
        if result.status == "completed":
            return result.outputs
        if result.status == "waiting":
            self.session.park(args.name, workflow, handle, view)
            fields = " ".join(f"--input {k}=..." for k in (result.waiting_for or {}).get("fields") or {})
            print(f"execution {result.execution_id} waits for input; answer with "
                  f"`%cagents step {args.name} {fields}`")
            return None
        raise UsageError(f"{workflow.name} {result.status}: {result.error or 'no error message'} "
                         f"(execution {result.execution_id}; details in {args.name}_result)")

    def _step(self, args: argparse.Namespace) -> None:
        if args.reset:
            if args.input or args.inputs:
                raise UsageError("--reset drops the open run; give --input on the next `%cagents step`")
            dropped = self.session.drop(args.name)
            print(f"dropped the step-by-step run of {args.name} (execution {dropped} cancelled)" if dropped
                  else f"no step-by-step run of {args.name} is open")
            return
        workflow = self._workflow(args.name)
        report = self.session.step(args.name, workflow, self._inputs(args) or None)
        publish(step_bundle(report))
        if report.done:
            self._ns[f"{args.name}_result"] = report.result
            if report.status != "completed":
                raise UsageError(f"{report.workflow_name} {report.status}: {report.error or 'no error message'} "
                                 f"(execution {report.execution_id})")

    # ---- panels -----------------------------------------------------------------------------
    def _executions(self, args: argparse.Namespace) -> None:
        from cagents.app.formatting import ago, duration
        from cagents.store import ExecutionFilters

        statuses = [s.strip() for s in (args.status or "").split(",") if s.strip()] or None
        unknown = [s for s in statuses or () if s not in STATUSES]
        if unknown:
            raise UsageError(f"--status: unknown status {', '.join(unknown)} (choose from {', '.join(STATUSES)})")
        if not 1 <= args.limit <= 500:
            raise UsageError(f"--limit must be between 1 and 500, got {args.limit}")
        filters = ExecutionFilters(status=statuses, workflow=args.workflow, text=args.search)
        executions = self.session.workbench().db.executions
        page, summary = executions.list(filters, limit=args.limit), executions.summary(filters)
        now = _utcnow()
        rows = [[r.status, r.workflow_name, ago(r.started_at, now), duration(r.duration_seconds),
                 "-" if r.total_tokens is None else str(r.total_tokens), usd(r.total_cost_usd),
                 "yes" if r.simulated else "", r.id] for r in page.items]
        headers = ["Status", "Workflow", "Started", "Duration", "Tokens", "Cost", "Simulated", "ID"]
        totals = (f"Total: {summary.total} · Completed: {summary.completed} · Failed: {summary.failed} · "
                  f"Running: {summary.running} · Total cost: {usd(summary.total_cost_usd)}")
        more = f"showing the newest {len(rows)}; more with --limit" if page.next_cursor else ""
        self._panel("Executions", totals, headers, rows, right=(3, 4, 5), empty="no executions match", extra=more)

    def _deploy(self, args: argparse.Namespace) -> dict[str, Any]:
        """The workflow of NAME as a service; it registers with this home's registry (JupyterLab's
        server, or `cagents deployments start`) when one runs."""
        from cagents.app.deploy import deploy_workflow, find_registry
        from cagents.app.formatting import parse_env
        from cagents.store.home import workbench_home

        workflow = self._workflow(args.name)
        env = parse_env(args.env, None)
        dashboard, token = find_registry()
        deployed = deploy_workflow(
            self.session.workbench(), workflow.spec.text, target=args.target, name=args.service_name,
            port=args.port, env=env, dashboard_url=dashboard, token=token, home=workbench_home(),
        )
        where = f"registered with {dashboard}" if dashboard else (
            "registered in this home's database; no registry runs, so it sends no heartbeats "
            "(start JupyterLab with `cagents lab`, or `cagents deployments start`)")
        print(f"deployment {deployed['deployment_id']} of {workflow.name} runs at {deployed['url']} "
              f"({args.target}); {where}. Stop it with `cagents deployments stop {deployed['deployment_id']}`.")
        return deployed

    def _deployments(self, args: argparse.Namespace) -> None:
        from cagents.app.formatting import ago

        records = self.session.workbench().db.deployments.list()
        now = _utcnow()
        rows = [["● healthy" if d.is_alive else "○ dead", d.deployment_name, d.workflow_name,
                 f"{d.host}:{d.port}", ago(d.last_heartbeat, now), ago(d.registered_at, now), d.deployment_id]
                for d in records]
        alive = sum(1 for d in records if d.is_alive)
        totals = f"Total: {len(records)} · Healthy: {alive} · Dead: {len(records) - alive}"
        headers = ["Health", "Name", "Workflow", "Host:Port", "Last heartbeat", "Registered", "ID"]
        self._panel("Deployments", totals, headers, rows, empty="no deployments registered",
                    widget=("DeploymentsWidget", {}))

    def _chat(self, args: argparse.Namespace) -> None:
        sessions = self.session.workbench().db.chats.list_sessions(limit=50)
        rows = [[s["session_id"], s["status"], s["created_at"], s["updated_at"],
                 "yes" if s["generated_config"] else ""] for s in sessions]
        headers = ["Session", "Status", "Created", "Last active", "Has YAML"]
        self._panel("Chat sessions", CHAT_NOTE, headers, rows, empty="no chat sessions yet",
                    widget=("ChatWidget", {}))

    def _panel(self, title: str, summary: str, headers: list[str], rows: list[list[str]], *,
               right: tuple[int, ...] = (), empty: str, extra: str = "",
               widget: tuple[str, dict[str, Any]] | None = None) -> None:
        table = html_table(headers, rows, right=right) if rows else f"<div>{esc(empty)}</div>"
        tail = f"<div>{esc(extra)}</div>" if extra else ""
        html = (f'<div class="cagents-panel"><div><strong>{esc(title)}</strong></div>'
                f"<div>{esc(summary)}</div>{table}{tail}</div>")
        text = "\n".join(filter(None, [title, summary, text_table(headers, rows) if rows else empty, extra]))
        publish({"text/html": html, "text/plain": text, **(_widget_view(*widget) if widget else {})})

    def _mlflow(self, args: argparse.Namespace) -> None:
        import os

        from cagents.app.info import mlflow_info

        base = (args.base_url or os.environ.get("CAGENTS_JUPYTER_BASE_URL")
                or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/")
        src = "/" + "/".join(part for part in (*base.split("/"), "cagents", "mlflow") if part) + "/"
        info = mlflow_info(proxy_path=src)
        lines: list[str] = []
        if info.get("error"):
            lines.append(f"MLflow settings are not valid: {info['error']}")
        elif not info["enabled"]:
            lines.append(f"tracing is off ({info['disabled_reason']}): new executions are not traced")
        parts = [f"<div>{esc(line)}</div>" for line in lines]
        if info.get("mode") == "embedded" and not info.get("ui_installed"):
            lines.append("the MLflow UI needs the full MLflow package: pip install 'cagents[mlflow]'")
            parts.append(f"<div>{esc(lines[-1])}</div>")
        elif info.get("mode") == "embedded":
            lines.append(f"MLflow UI (tracking store {info['tracking_uri']}): {src}")
            parts.append(f'<iframe src="{esc(src)}" width="100%" height="{max(args.height, 200)}" '
                         f'style="border:0" title="MLflow"></iframe>'
                         f'<div><a href="{esc(src)}" target="_blank" rel="noopener">open MLflow in a new tab</a></div>')
        elif info.get("mode") == "external":
            url = str(info["ui_url"])
            lines.append(f"MLflow is configured at {url}")
            link = (f'<a href="{esc(url)}" target="_blank" rel="noopener">Open MLflow UI ↗</a>'
                    if url.startswith(("http://", "https://")) else esc(url))
            parts.append(f"<div>MLflow is configured at: {esc(url)}</div><div>{link}</div>")
        traits: dict[str, Any] = {"height": max(args.height, 200)}
        if args.base_url:
            traits["base_url"] = args.base_url
        publish({"text/html": f'<div class="cagents-mlflow">{"".join(parts)}</div>', "text/plain": "\n".join(lines),
                 **_widget_view("MlflowWidget", traits)})

    def _new(self, args: argparse.Namespace) -> None:
        """The chat assistant in one shot: its validated draft goes into a new cell below."""
        from cagents.assistant import draft_workflow

        description = " ".join(args.description).strip()
        if not description:
            raise UsageError('describe the workflow: %cagents new "what it should do"')
        yaml_text = draft_workflow(description).strip("\n")
        # No NAME: the cell binds the flow's own name, as any `%%cagents` cell does.
        self._shell.set_next_input(f"%%cagents\n{yaml_text}\n", replace=False)
        print("the assistant's workflow is in the new cell below: run it to validate and draw it")


def _widget_view(name: str, traits: dict[str, Any]) -> dict[str, Any]:
    """The panel widget's view for a display bundle: frontends with widgets show the live
    panel, others (exports, consoles) the HTML and text beside it. Empty without anywidget
    or the built panel bundles."""
    import importlib.util

    if importlib.util.find_spec("anywidget") is None:
        return {}
    from cagents.jupyter import widgets

    try:
        widget = getattr(widgets, name)(**traits)
    except CagentsError:  # a checkout installed without building the front end
        return {}
    data, _ = widget._repr_mimebundle_()
    view = data.get("application/vnd.jupyter.widget-view+json")
    return {"application/vnd.jupyter.widget-view+json": view} if view else {}


def _utcnow() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).replace(tzinfo=None)


def load_ipython_extension(shell: Any) -> None:
    """Register the magics with this kernel's shell; the workbench opens on first use."""
    shell.register_magics(CagentsMagics(shell, notebook_session.open_session()))


def unload_ipython_extension(shell: Any) -> None:
    """Close the kernel's workbench (the magics stay registered until the kernel restarts)."""
    notebook_session.close_session()
