"""What serving a workflow over HTTP costs: `/execute` against the same runs in-process.

A 2-node LLM workflow on the offline simulator (no network, so the time is cagents' own).
The service (`cagents serve`) runs in its own process with its own database; a client in
this process keeps CONCURRENCY requests in flight with httpx. The same number of runs at
the same concurrency through `cagents.app.arun_workflow` (recorded in a database, no HTTP)
is the baseline. Reported: requests/s, latency percentiles, and the overhead per execution
= (service wall time - in-process wall time) / N, plus the same with the service reporting
every execution to a `cagents deployments start` registry. Target: overhead <= 5 ms p50.
Run: python benchmarks/bench_service.py [N] [CONCURRENCY]
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import table

WORKFLOW = """\
schema_version: "1.0"
flow: {name: bench_service}
state:
  fields:
    ticket: {type: str, required: true}
    score: {type: int}
    reply: {type: str}
nodes:
  - {id: classify, prompt: "Classify {ticket}", outputs: [score]}
  - {id: answer, prompt: "Reply to {ticket}", outputs: [reply]}
edges:
  - {from: START, to: classify}
  - {from: classify, to: answer}
  - {from: answer, to: END}
"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(share * len(ordered)), len(ordered) - 1)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def in_process(path: Path, n: int, concurrency: int, home: Path) -> tuple[float, list[float], float]:
    """N recorded runs, CONCURRENCY at a time, no HTTP: the baseline."""
    from cagents.app import Workbench, arun_workflow, load_workflow

    spec = load_workflow(path)
    workbench = await asyncio.to_thread(Workbench.open, home)
    latencies: list[float] = []
    queue = iter(range(n))

    async def worker() -> None:
        for i in queue:
            started = time.perf_counter()
            result = await arun_workflow(workbench, spec, {"ticket": f"t{i}"})
            assert result.status == "completed", result.error
            latencies.append(time.perf_counter() - started)

    for i in range(20):  # warm up
        await arun_workflow(workbench, spec, {"ticket": "warm"})
    cpu = cpu_seconds(os.getpid())
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    cpu = cpu_seconds(os.getpid()) - cpu
    await asyncio.to_thread(workbench.close)
    return wall, latencies, cpu


async def over_http(url: str, n: int, concurrency: int, pid: int) -> tuple[float, list[float], float]:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60, trust_env=False) as client:
        for i in range(20):  # warm up: connections, imports in the service
            (await client.post("/execute", json={"inputs": {"ticket": "warm"}})).raise_for_status()
        latencies: list[float] = []
        queue = iter(range(n))

        async def worker() -> None:
            for i in queue:
                started = time.perf_counter()
                response = await client.post("/execute", json={"inputs": {"ticket": f"t{i}"}})
                assert response.status_code == 200 and response.json()["status"] == "completed", response.text
                latencies.append(time.perf_counter() - started)

        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        return wall, latencies, cpu_seconds(pid) - cpu


def start(args: list[str], env: dict[str, str], pattern: str, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a `cagents` command (its output in `log`) and wait for the URL it prints."""
    with open(log, "wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "cagents", *args], env=env, stderr=output,
                                   stdout=subprocess.DEVNULL)
    while process.poll() is None:
        found = re.search(pattern, log.read_text())
        if found:
            return process, found.group(1)
        time.sleep(0.05)
    raise SystemExit(f"cagents {args[0]} did not start:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(60)


def service_run(path: Path, n: int, concurrency: int, env: dict[str, str]) -> tuple[float, list[float], float]:
    log = Path(env["CAGENTS_HOME"] + ".log")
    process, url = start(["serve", str(path), "--port", "0"], env, r"at (http://\S+) ", log)
    try:
        return asyncio.run(over_http(url, n, concurrency, process.pid))
    except Exception:
        print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(process)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    concurrency = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = root / "workflow.yaml"
        path.write_text(WORKFLOW, encoding="utf-8")
        env = {**os.environ, "CAGENTS_TRACING": "off", "CAGENTS_HOME": str(root / "service")}
        for name in ("CAGENTS_DB_URL", "CAGENTS_DASHBOARD_URL", "OPENAI_API_KEY", "CAGENTS_LLM_BASE_URL"):
            env.pop(name, None)
        os.environ.update({"CAGENTS_TRACING": "off"})
        os.environ.pop("OPENAI_API_KEY", None)
        os.environ.pop("CAGENTS_LLM_BASE_URL", None)

        base = asyncio.run(in_process(path, n, concurrency, root / "direct"))
        http = service_run(path, n, concurrency, env)

        registry, registry_url = start(["deployments", "start", "--port", "0", "--home", str(root / "wb")],
                                       env, r"CAGENTS_DASHBOARD_URL=(\S+)", root / "registry.log")
        try:
            token = (root / "wb" / "deployment_token").read_text().strip()
            reporting_env = {**env, "CAGENTS_HOME": str(root / "service2"),
                             "CAGENTS_DASHBOARD_URL": registry_url, "CAGENTS_DEPLOYMENT_TOKEN": token}
            reporting = service_run(path, n, concurrency, reporting_env)
        finally:
            stop(registry)
        reported = _count(root / "wb")
        if reported != n + 20:
            print((root / "service2.log").read_text()[-2000:], file=sys.stderr)

    rows = []
    base_wall, _, base_cpu = base
    for label, (wall, lat, cpu) in (("in-process arun_workflow (baseline)", base),
                                    ("POST /execute", http),
                                    ("POST /execute, reporting to a registry", reporting)):
        extra = ("", "") if wall is base_wall else (f"{(wall - base_wall) / n * 1000:.2f}",
                                                    f"{(cpu - base_cpu) / n * 1000:.2f}")
        rows.append((label, f"{n / wall:.0f}", f"{statistics.median(lat) * 1000:.1f}",
                     f"{percentile(lat, 0.95) * 1000:.1f}", f"{cpu / n * 1000:.2f}", *extra))
    print(f"{n} executions of a 2-node simulator workflow, {concurrency} in flight; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    print(table(rows, ("path", "exec/s", "p50 ms", "p95 ms", "CPU ms/exec", "overhead wall ms/exec",
                       "overhead CPU ms/exec")))
    print(f"\nexecutions the registry received: {reported} (expected {n + 20})")


def _count(home: Path) -> int:
    from cagents.app import Workbench

    with Workbench.open(home) as workbench:
        return workbench.db.executions.summary().total


if __name__ == "__main__":
    main()
