"""What the workbench costs inside Jupyter, measured against targets.

(a) `jupyter server` start-up with and without the cagents extension: interleaved starts,
    spawn to the first answer of `/api/status` (and, with the extension, of
    `/cagents/api/health`: the workbench opened in the background). Target: <= 0.2 s added.
(b) `%load_ext cagents` in fresh processes: a plain IPython shell, and a real ipykernel
    (what a notebook pays, `import IPython` and the kernel's own imports already done).
    Target: median <= 0.3 s.
(c) `GET /cagents/api/executions?limit=50` through a real server over 1,000,000 executions
    (bulk-loaded as in bench_store.py): the first page, status=failed, a text search and a
    deep keyset page. Target: p95 <= 50 ms.

Run: python benchmarks/bench_jupyter.py [--starts N] [--loads N] [--rows N] [--requests N]
                                        [--keep PATH] [--skip-start] [--skip-load] [--skip-list]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import table

TOKEN = "bench-token"
HEAVY = ("sqlalchemy", "mlflow", "openai", "httpx", "aiohttp", "pydantic", "docker", "graphviz", "anywidget")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    """One GET with the token; a fresh connection unless one is given (keep-alive)."""
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"token {TOKEN}"})
        reply = conn.getresponse()
        return reply.status, reply.read()
    finally:
        if own:
            conn.close()


class ServerDied(Exception):
    pass


class Server:
    """A `jupyter server` subprocess on a private home, config and runtime folder."""

    def __init__(self, folder: Path, *, extension: bool, db_url: str | None = None) -> None:
        self.port = free_port()
        env = dict(os.environ, CAGENTS_HOME=str(folder / "home"), CAGENTS_TRACING="off",
                   JUPYTER_CONFIG_DIR=str(folder / "config"), JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
                   JUPYTER_DATA_DIR=str(folder / "data"))
        if db_url:
            env["CAGENTS_DB_URL"] = db_url
        command = [
            sys.executable, "-m", "jupyter_server", f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0", "--ServerApp.open_browser=False", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={folder}", f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.jpserver_extensions=cagents.jupyter={extension}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)

    def wait_for(self, path: str, timeout: float = 120.0) -> float:
        """Seconds from spawn until `path` answers 200."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise ServerDied(f"jupyter server exited with {self.process.returncode} before {path} answered")
            try:
                code, _ = get(self.port, path)
                if code == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.005)
        raise SystemExit(f"{path} did not answer within {timeout} s")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---- (a) start-up -----------------------------------------------------------------------------
def bench_start(folder: Path, starts: int) -> list[tuple[str, ...]]:
    """Interleaved starts; wall time to /api/status, and the CPU time the server used by then.

    Wall time moves with whatever else the machine runs; CPU time much less, so both are shown.
    """
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    ready: list[float] = []
    (folder / "home").mkdir()

    def one(extension: bool, keep: bool) -> None:
        for attempt in range(3):  # a free port can be taken between probing and binding
            server = Server(folder, extension=extension)
            try:
                status = server.wait_for("/api/status")
                used = server.cpu_seconds()
                health = server.wait_for("/cagents/api/health") if extension else None
                break
            except ServerDied:
                if attempt == 2:
                    raise
            finally:
                server.stop()
        if keep:
            wall[extension].append(status)
            cpu[extension].append(used)
            if health is not None:
                ready.append(health)

    one(True, keep=False)  # creates the database; later starts open an existing one, as users do
    one(False, keep=False)
    for round_ in range(starts):
        for extension in ((False, True) if round_ % 2 else (True, False)):
            one(extension, keep=True)

    def row(name: str, values: list[float]) -> tuple[str, ...]:
        return (name, f"{statistics.median(values):.3f}", f"{min(values):.3f}", f"{max(values):.3f}")

    return [
        row("wall, without the extension", wall[False]),
        row("wall, with the extension", wall[True]),
        ("wall, added (difference of medians / of minima)",
         f"{statistics.median(wall[True]) - statistics.median(wall[False]):+.3f}",
         f"{min(wall[True]) - min(wall[False]):+.3f}", ""),
        row("CPU, without the extension", cpu[False]),
        row("CPU, with the extension", cpu[True]),
        ("CPU, added (difference of medians)", f"{statistics.median(cpu[True]) - statistics.median(cpu[False]):+.3f}",
         "", ""),
        row("wall, with: until /cagents/api/health", ready),
    ]


# ---- (b) %load_ext cagents --------------------------------------------------------------------
SHELL_PROBE = """\
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
before = set(sys.modules)
started = time.perf_counter()
shell.run_line_magic("load_ext", "cagents")
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "loaded": "cagents" in shell.extension_manager.loaded,
                  "new": sorted({m.split(".")[0] for m in set(sys.modules) - before})}))
"""
KERNEL_PROBE = """\
import json, sys, time
before = set(sys.modules)
started = time.perf_counter()
get_ipython().run_line_magic("load_ext", "cagents")
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "loaded": "cagents" in get_ipython().extension_manager.loaded,
                  "new": sorted({m.split(".")[0] for m in set(sys.modules) - before})}))
"""


def _last_json(text: str) -> dict[str, Any]:
    line = [row for row in text.splitlines() if row.startswith("{")][-1]
    return dict(json.loads(line))


def load_in_shell() -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", SHELL_PROBE], capture_output=True, text=True, check=True,
                          env=dict(os.environ, CAGENTS_TRACING="off"))
    return _last_json(done.stdout)


def load_in_kernel(folder: Path) -> dict[str, Any]:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    spec_dir = folder / "kernels" / "bench"
    spec_dir.mkdir(parents=True, exist_ok=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bench", "language": "python",
    }), encoding="utf-8")
    manager = KernelManager(kernel_name="bench", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(folder / "kernels")]))
    manager.start_kernel(env=dict(os.environ, CAGENTS_TRACING="off"))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        out: list[str] = []
        client.execute_interactive(KERNEL_PROBE, timeout=60,
                                   output_hook=lambda m: out.append(m["content"].get("text", ""))
                                   if m["msg_type"] == "stream" else None)
        return _last_json("".join(out))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def bench_load(folder: Path, loads: int) -> tuple[list[tuple[str, ...]], list[str], bool]:
    shell = [load_in_shell() for _ in range(loads + 1)][1:]  # the first warms the OS file cache
    kernel = [load_in_kernel(folder) for _ in range(loads)]
    loaded = all(r["loaded"] for r in shell + kernel)
    rows = []
    for name, runs in (("fresh IPython shell", shell), ("fresh ipykernel", kernel)):
        times = [r["seconds"] for r in runs]
        rows.append((name, f"{statistics.median(times):.3f}", f"{min(times):.3f}", f"{max(times):.3f}"))
    heavy = sorted({m for r in kernel for m in r["new"] if m in HEAVY})
    return rows, heavy, loaded


# ---- (c) the executions list over a million rows ---------------------------------------------
def deep_cursor(db_path: Path, offset: int) -> str:
    """The keyset cursor after the `offset`-th newest execution (what paging there would send)."""
    from cagents.store import open_database
    from cagents.store.repositories.executions import encode_cursor

    with open_database(f"sqlite:///{db_path}") as db, db.read() as conn:
        row = conn.exec_driver_sql(
            "SELECT started_at, id FROM executions ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET ?",
            (offset,),
        ).one()
    started = row[0] if isinstance(row[0], datetime) else datetime.fromisoformat(str(row[0]))
    return encode_cursor(started, row[1])


def bench_list(folder: Path, rows: int, requests: int, keep: Path | None) -> list[tuple[str, ...]]:
    from bench_store import generate

    db_path = keep or folder / "million.db"
    if not db_path.exists():
        generate(db_path, rows, datetime.now(timezone.utc).replace(tzinfo=None))
    (folder / "home").mkdir(exist_ok=True)
    cursor = deep_cursor(db_path, rows // 2)
    server = Server(folder, extension=True, db_url=f"sqlite:///{db_path}")
    out: list[tuple[str, ...]] = []
    try:
        ready = server.wait_for("/cagents/api/health")
        print(f"server with the extension ready in {ready:.2f} s on {rows:,} executions")
        api = "/cagents/api/executions"
        cases: list[tuple[str, str, int]] = [
            ("first page", f"{api}?limit=50", requests),
            ("status=failed", f"{api}?{urlencode({'status': 'failed', 'limit': 50})}", requests),
            ("text search q='rate limit'", f"{api}?{urlencode({'q': 'rate limit', 'limit': 50})}", requests),
            (f"deep page (cursor at row {rows // 2:,})", f"{api}?{urlencode({'cursor': cursor, 'limit': 50})}",
             requests),
            ("summary, no filter (info)", f"{api}/summary", requests),
            ("text in no row q='zz-no-such-text'", f"{api}?{urlencode({'q': 'zz-no-such-text', 'limit': 50})}",
             requests),
            ("summary, q='rate limit' (info)", f"{api}/summary?{urlencode({'q': 'rate limit'})}", requests),
        ]
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        for name, path, n in cases:
            for _ in range(3):  # warm: the page cache and the server's code paths
                code, body = get(server.port, path, conn)
                assert code == 200, (code, body[:300])
            times = []
            for _ in range(n):
                started = time.perf_counter()
                code, body = get(server.port, path, conn)
                times.append(time.perf_counter() - started)
                assert code == 200, (code, body[:300])
            count = len(json.loads(body).get("items", [])) if "summary" not in path else "-"
            out.append((name, str(n), str(count), ms(statistics.median(times)), ms(pct(times, 0.95)),
                        ms(max(times))))
        conn.close()
    finally:
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=10, help="server starts each way")
    parser.add_argument("--loads", type=int, default=10, help="fresh processes for %%load_ext, each kind")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="requests per list case")
    parser.add_argument("--keep", type=Path, help="reuse / keep the generated database at this path")
    parser.add_argument("--skip-start", action="store_true")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-list", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cagents-bench-jupyter-") as tmp:
        if not args.skip_start:
            folder = Path(tmp) / "start"
            folder.mkdir()
            rows = bench_start(folder, args.starts)
            print(f"\n(a) jupyter server start-up, spawn to /api/status, {args.starts} interleaved starts each "
                  "(s; target: <= 0.2 s added)")
            print(table(rows, ("measure", "median", "min", "max")))
        if not args.skip_load:
            folder = Path(tmp) / "load"
            folder.mkdir()
            rows, heavy, loaded = bench_load(folder, args.loads)
            print(f"\n(b) %load_ext cagents, {args.loads} fresh processes each (s; target: median <= 0.3)")
            if not loaded:
                print("    cagents did NOT load as an IPython extension (no cagents.load_ipython_extension?)")
            print(table(rows, ("process", "median", "min", "max")))
            print(f"    heavy packages it imports in a kernel: {', '.join(heavy) or 'none'}")
        if not args.skip_list:
            folder = Path(tmp) / "list"
            folder.mkdir()
            rows = bench_list(folder, args.rows, args.requests, args.keep)
            print(f"\n(c) GET /cagents/api/executions over {args.rows:,} executions, one keep-alive client "
                  "(ms; target: p95 <= 50)")
            print(table(rows, ("case", "requests", "rows", "p50", "p95", "max")))


if __name__ == "__main__":
    main()
