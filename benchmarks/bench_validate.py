"""`cagents validate` on a 50-node workflow, wall time including interpreter start-up.

Also checks that `import cagents` and `cagents validate` import none of the heavy
packages (openai, mlflow, sqlalchemy, docker, jupyter). Target: <= 0.3 s.
Side by side: a bare `python -c pass` start, to show what start-up alone costs.
Run: python benchmarks/bench_validate.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("openai", "mlflow", "sqlalchemy", "docker", "jupyter_server", "httpx", "aiohttp")
REPEAT = 15


def workflow(n: int) -> str:
    fields = "\n".join(f"    f{i}: {{type: str, description: field {i}}}" for i in range(n))
    nodes = "\n".join(
        f"  - id: n{i}\n    prompt: \"Improve {{state.f{i - 1 if i else 0}}} for step {i}\"\n"
        f"    outputs: [f{i}]" for i in range(n)
    )
    edges = ["  - {from: START, to: n0}"]
    edges += [f"  - {{from: n{i}, to: n{i + 1}}}" for i in range(n - 1)]
    edges += [f"  - {{from: n{n - 1}, to: END}}"]
    return (
        f'schema_version: "1.0"\nflow: {{name: wide{n}}}\nstate:\n  fields:\n{fields}\n'
        f"nodes:\n{nodes}\nedges:\n" + "\n".join(edges) + "\n"
    )


def median_wall(cmd: list[str]) -> float:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    cagents = Path(sys.executable).with_name("cagents")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wide50.yaml"
        path.write_text(workflow(50), encoding="utf-8")
        t_validate = median_wall([str(cagents), "validate", str(path)])
        t_python = median_wall([sys.executable, "-c", "pass"])
        probe = (
            "import contextlib, io, sys, cagents.cli\n"
            "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "    cagents.cli.main(['validate', sys.argv[1]])\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
        )
        loaded = subprocess.run(
            [sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True
        ).stdout.strip()
        t_import = median_wall([sys.executable, "-c", "import cagents"])
    print(f"cagents validate (50 nodes), wall incl. start-up: {t_validate * 1000:.0f} ms "
          f"(target <= 300 ms): {'yes' if t_validate <= 0.3 else 'NO'}")
    print(f"python -c pass: {t_python * 1000:.0f} ms; import cagents: {t_import * 1000:.0f} ms; "
          f"validate / bare start-up: {t_validate / t_python:.1f}x")
    print(f"heavy modules imported by validate: {loaded or 'none'}")


if __name__ == "__main__":
    main()
