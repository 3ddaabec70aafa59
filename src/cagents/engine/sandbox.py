"""Run a code node's Python out of process, with a time limit, a memory limit and no network.

The code reads the dict `inputs` and assigns `result`; what it prints is captured. Code,
inputs and result cross the process boundary as JSON only. Each call starts a fresh child
(`python -I -S`: isolated mode, standard library only) in a fresh temporary working
directory, with an environment reduced to PATH, LANG, HOME and TMPDIR, in its own session so
the whole process group can be killed.

Two layers keep the code in bounds:

* The kernel: resource limits set by the child before the code runs (RLIMIT_AS for memory,
  RLIMIT_CPU, RLIMIT_FSIZE 10 MB, no core files; hard limits too), the wall-clock timeout
  enforced here by killing the process group, and on Linux, where `unshare` works (probed
  once per process), namespaces: a user namespace in which the code is root without any
  capability on the host (the kernel then refuses reading other processes' environment or
  memory and raising the limits back) and, unless the node is granted the network, a fresh
  network namespace in which the kernel itself refuses all traffic, 127.0.0.1 included.
  Without user namespaces (e.g. inside a container) `unshare --net` alone is used when
  permitted (root), else no namespace.
* The interpreter: an audit hook installed in the child before the code runs refuses
  starting processes (subprocess, os.system/exec/spawn/fork, pty), ctypes and sqlite
  extensions, signals to other processes, changing resource limits, reading other
  processes' /proc entries, writes outside the working directory and, unless granted, the
  network (sockets other than socketpair, name lookups). Audit hooks are not a security
  boundary against code written to escape them (PEP 578); they stop accidents and casual
  misuse. Code that must be treated as hostile belongs in the container mode.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cagents.errors import ConfigError, ConfigIssue, ExecutionError

__all__ = ["PRESETS", "CodeResult", "SandboxError", "SandboxLimits", "parse_memory", "run_code"]

SandboxErrorKind = Literal["timeout", "memory", "error", "output", "network"]

#: Preset name -> (memory in MB, timeout in seconds); configurable-agents' names.
PRESETS: dict[str, tuple[int, float]] = {
    "low": (256, 30.0),
    "medium": (512, 60.0),
    "high": (1024, 120.0),
    "max": (2048, 300.0),
}
#: Below this a Python child cannot start under RLIMIT_AS.
MIN_MEMORY_MB = 64
FILE_SIZE_LIMIT = 10 * 1024 * 1024
_STDERR_CAP = 64 * 1024
_ENVELOPE = 64 * 1024  # room for the result document around the value itself
_CHILD = str(Path(__file__).with_name("_sandbox_child.py"))
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_MEMORY_FIX = (
    'raise sandbox.resources.memory (e.g. "1g") or pick a larger sandbox.preset,'
    " or process less data at once"
)
_TIMEOUT_FIX = "raise sandbox.timeout or make the code faster"


def parse_memory(text: str) -> int:
    """Megabytes in a size like "256m", "1g", "512MB" or "1.5GiB"; a bare number is megabytes."""
    match = _MEMORY.match(str(text))
    if match is None:
        raise ConfigError(
            ConfigIssue(
                f"sandbox memory {text!r} is not a size",
                key="sandbox.resources.memory",
                hint='write it like "256m", "1g" or "512MB"',
            )
        )
    number, unit, suffix = float(match[1]), match[2].lower(), match[3]
    if not unit and not suffix:
        return math.ceil(number)
    return math.ceil(number * _UNITS[unit] / 1024**2)


@dataclass(frozen=True)
class SandboxLimits:
    """What one code-node run may use; checked on creation so a run never starts with nonsense."""

    timeout: float = 60.0
    memory_mb: int = 512
    cpu_seconds: float | None = None
    network: bool = False
    max_output_bytes: int = 1_000_000

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ConfigError(
                ConfigIssue(
                    f"sandbox timeout {self.timeout!r} must be a positive number of seconds",
                    key="sandbox.timeout",
                    hint="e.g. `timeout: 30`",
                )
            )
        if self.memory_mb < MIN_MEMORY_MB:
            raise ConfigError(
                ConfigIssue(
                    f"sandbox memory {self.memory_mb} MB is below the {MIN_MEMORY_MB} MB"
                    " a Python process needs",
                    key="sandbox.resources.memory",
                    hint=f'use at least "{MIN_MEMORY_MB}m"',
                )
            )
        if self.cpu_seconds is not None and not self.cpu_seconds > 0:
            raise ConfigError(
                ConfigIssue(
                    f"sandbox CPU limit {self.cpu_seconds!r} must be a positive number of seconds",
                    key="sandbox.resources.cpu",
                )
            )
        if self.max_output_bytes < 1:
            raise ConfigError(
                f"sandbox max_output_bytes {self.max_output_bytes!r} must be at least 1"
            )

    @property
    def cpu_limit(self) -> int:
        """Whole CPU seconds for RLIMIT_CPU: the given limit, else the timeout plus one second.

        The slack lets the wall-clock timeout, with its clearer message, win the race
        against the CPU limit for busy code; the CPU limit still backs it up.
        """
        if self.cpu_seconds is not None:
            return max(1, math.ceil(self.cpu_seconds))
        return max(1, math.ceil(self.timeout) + 1)

    @classmethod
    def from_config(
        cls, preset: str | None, timeout: float | None, memory: str | None, network: bool
    ) -> SandboxLimits:
        """Limits from a node's `sandbox` block: a preset, which `timeout` and `memory` override."""
        name = preset or "medium"
        if name not in PRESETS:
            raise ConfigError(
                ConfigIssue(
                    f"unknown sandbox preset {name!r}",
                    key="sandbox.preset",
                    hint="use one of " + ", ".join(PRESETS),
                )
            )
        memory_mb, preset_timeout = PRESETS[name]
        return cls(
            timeout=preset_timeout if timeout is None else float(timeout),
            memory_mb=memory_mb if memory is None else parse_memory(memory),
            network=bool(network),
        )


@dataclass(frozen=True)
class CodeResult:
    """What a code node produced: its `result`, what it printed, and the wall time of the call."""

    value: Any
    stdout: str
    duration_s: float


class SandboxError(ExecutionError):
    """A code node failed or broke a limit; `kind` says which, the message how to fix it."""

    def __init__(
        self,
        kind: SandboxErrorKind,
        message: str,
        *,
        stdout: str = "",
        line: int | None = None,
        exception: str | None = None,
    ):
        self.kind = kind
        self.stdout = stdout
        self.line = line
        self.exception = exception
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": "SandboxError",
            "message": str(self),
            "kind": self.kind,
            "line": self.line,
            "exception": self.exception,
        }


async def run_code(code: str, inputs: Mapping[str, Any], limits: SandboxLimits) -> CodeResult:
    """Run `code` in a fresh sandboxed child; its `result` comes back, or a SandboxError."""
    try:
        payload = json.dumps(
            {
                "code": code,
                "inputs": dict(inputs),
                "memory_mb": limits.memory_mb,
                "cpu_seconds": limits.cpu_limit,
                "fsize_bytes": FILE_SIZE_LIMIT,
                "network": limits.network,
                "max_output_bytes": limits.max_output_bytes,
            },
            allow_nan=False,
        ).encode()
    except (TypeError, ValueError) as exc:
        raise SandboxError(
            "error",
            f"the code node's inputs are not JSON ({exc});"
            " pass JSON values (str, number, bool, list, dict)",
        ) from None
    started = time.monotonic()
    prefix = _namespace_prefix(await _isolation(), limits.network)
    workdir = tempfile.mkdtemp(prefix="cagents-code-")
    try:
        return await _Run(limits, workdir, started).run(
            [*prefix, sys.executable, "-I", "-S", _CHILD], payload
        )
    finally:
        await asyncio.to_thread(shutil.rmtree, workdir, True)


class _Capture:
    """Bytes read from a stream up to a cap; the rest is counted, not kept."""

    def __init__(self, cap: int):
        self.cap = cap
        self.data = bytearray()
        self.dropped = 0

    async def drain(self, stream: asyncio.StreamReader, *, overflow: bool = False) -> None:
        while chunk := await stream.read(65536):
            room = self.cap - len(self.data)
            self.data += chunk[: max(room, 0)]
            self.dropped += max(len(chunk) - max(room, 0), 0)
            if overflow and self.dropped:
                raise _ResultTooLarge

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


class _ResultTooLarge(Exception):
    """The result channel carried more than the cap: stop reading and kill the child."""


class _Run:
    """One child: start, feed, read, wait or kill, then turn what came back into an outcome."""

    def __init__(self, limits: SandboxLimits, workdir: str, started: float):
        self.limits = limits
        self.workdir = workdir
        self.started = started
        self.stdout = _Capture(limits.max_output_bytes)
        self.stderr = _Capture(_STDERR_CAP)
        self.result = _Capture(limits.max_output_bytes + _ENVELOPE)

    async def run(self, argv: list[str], payload: bytes) -> CodeResult:
        read_fd, write_fd = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                str(write_fd),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.workdir,
                env=_child_env(self.workdir),
                start_new_session=True,
                pass_fds=(write_fd,),
            )
        except BaseException as exc:
            os.close(read_fd)
            if isinstance(exc, OSError):
                raise SandboxError("error", f"could not start the sandbox process: {exc}") from exc
            raise
        finally:
            os.close(write_fd)
        try:
            await self._supervise(proc, read_fd, payload)
        finally:
            # Also on cancellation: the group dies and is reaped before the caller goes on.
            if proc.returncode is None:
                _kill_group(proc.pid)
                await proc.wait()
        return self._outcome(proc.returncode)

    async def _supervise(
        self, proc: asyncio.subprocess.Process, read_fd: int, payload: bytes
    ) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        try:
            transport, _ = await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), pipe
            )
        except BaseException:
            pipe.close()
            raise
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        tasks = [
            asyncio.ensure_future(_feed(proc.stdin, payload)),
            asyncio.ensure_future(self.stdout.drain(proc.stdout)),
            asyncio.ensure_future(self.stderr.drain(proc.stderr)),
            asyncio.ensure_future(self.result.drain(reader, overflow=True)),
            asyncio.ensure_future(proc.wait()),
        ]
        try:
            done, pending = await asyncio.wait(
                tasks, timeout=self.limits.timeout, return_when=asyncio.FIRST_EXCEPTION
            )
            for task in done:
                if isinstance(task.exception(), _ResultTooLarge):
                    raise self._too_large(f"more than {self.limits.max_output_bytes}")
                task.result()  # anything else unexpected surfaces as itself
            if pending:
                raise SandboxError(
                    "timeout",
                    f"the code ran longer than {_seconds(self.limits.timeout)} s"
                    f" and was stopped; {_TIMEOUT_FIX}",
                    stdout=self._stdout(),
                )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
            transport.close()

    def _stdout(self) -> str:
        text = self.stdout.text()
        if self.stdout.dropped:
            text += (
                f"\n[output truncated: {self.stdout.dropped} more bytes not shown;"
                f" the limit is {self.limits.max_output_bytes} bytes]"
            )
        return text

    def _too_large(self, size: str) -> SandboxError:
        return SandboxError(
            "output",
            f"the code's result is {size} bytes of JSON, over the limit of"
            f" {self.limits.max_output_bytes} bytes; return less (a summary, counts or the first"
            " rows)",
            stdout=self._stdout(),
        )

    def _outcome(self, returncode: int | None) -> CodeResult:
        """The CodeResult, or the SandboxError that explains why there is none."""
        stdout = self._stdout()
        try:
            doc = json.loads(self.result.data) if self.result.data else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise self._died(returncode, stdout)
        if doc.get("ok") is True:
            return CodeResult(
                value=doc.get("value"), stdout=stdout, duration_s=time.monotonic() - self.started
            )
        raise _failure(doc, self.limits, stdout, self._too_large)

    def _died(self, returncode: int | None, stdout: str) -> SandboxError:
        """The child ended without a report: a signal from the kernel, or the code ended it."""
        limits = self.limits
        if returncode is not None and returncode < 0:
            number = -returncode
            if number == signal.SIGXCPU:
                return SandboxError(
                    "timeout",
                    f"the code used more than {limits.cpu_limit} s of CPU time"
                    f" and was stopped; {_TIMEOUT_FIX}",
                    stdout=stdout,
                )
            if number == signal.SIGKILL:
                return SandboxError(
                    "memory",
                    "the code's process was killed by the system, most likely for running out"
                    f" of memory (limit {limits.memory_mb} MB); {_MEMORY_FIX}",
                    stdout=stdout,
                )
            return SandboxError(
                "error",
                f"the code's process crashed ({signal.Signals(number).name}); this can mean it"
                f" ran out of memory (limit {limits.memory_mb} MB) inside a native library"
                f"{self._stderr_hint()}",
                stdout=stdout,
            )
        if b"MemoryError" in self.stderr.data:
            return SandboxError(
                "memory",
                f"the code ran out of memory (limit {limits.memory_mb} MB); {_MEMORY_FIX}",
                stdout=stdout,
            )
        return SandboxError(
            "error",
            f"the code's process ended (exit status {returncode}) before reporting a result;"
            " do not call os._exit() or close file descriptors in a code node"
            f"{self._stderr_hint()}",
            stdout=stdout,
        )

    def _stderr_hint(self) -> str:
        lines = [line for line in self.stderr.text().splitlines() if line.strip()]
        return f" (last message: {lines[-1][:300]})" if lines else ""


def _failure(
    doc: dict[str, Any],
    limits: SandboxLimits,
    stdout: str,
    too_large: Callable[[str], SandboxError],
) -> SandboxError:
    """The SandboxError for a failure the child reported."""
    kind = doc.get("kind")
    frames = [
        frame for frame in doc.get("frames") or [] if isinstance(frame, list) and len(frame) == 4
    ]
    line = frames[-1][0] if frames else None
    if kind == "output":
        return too_large(str(doc.get("size")))
    problem = doc.get("problem")
    if problem == "missing":
        return SandboxError(
            "error",
            "the code must assign `result` (for example"
            ' `result = {"total": sum(inputs["numbers"])}`); it finished without assigning it',
            stdout=stdout,
        )
    if problem:
        return SandboxError(
            "error", f"the code's result cannot be passed on as JSON: {problem}", stdout=stdout
        )
    if kind == "memory":
        text = f"the code ran out of memory (limit {limits.memory_mb} MB); {_MEMORY_FIX}"
        return SandboxError(
            "memory", text + _trace(frames, 0), stdout=stdout, line=line, exception="MemoryError"
        )
    exception = str(doc.get("type") or "Exception")
    message = str(doc.get("message") or "")
    category, refusal = (list(doc.get("refused") or []) + [None, None])[:2]
    refused_itself = exception.startswith("sandbox.")
    if category == "network":
        text = (
            f"the code tried to use the network ({refusal}), but this code node has no network"
            " access; grant it with `network: true` under the node's `sandbox` if it really"
            " needs it, or pass the data in through `inputs`"
        )
        if not refused_itself:
            text += f"; the code then raised {exception}: {message}"
    elif refused_itself:
        text = f"the sandbox refused: {message}"
    elif exception == "SystemExit":
        text = f"the code called sys.exit({message}); assign `result` and let the code end instead"
    else:
        text = (
            f"the code raised {exception}: {message}" if message else f"the code raised {exception}"
        )
        if refusal:
            text += f" (after the sandbox refused: {refusal})"
    return SandboxError(
        "network" if category == "network" else "error",
        text + _trace(frames, int(doc.get("omitted") or 0)),
        stdout=stdout,
        line=line,
        exception=exception,
    )


def _trace(frames: list[list[Any]], omitted: int) -> str:
    """The failing line of the user's code, or their frames only when there are several."""
    if not frames:
        return ""
    if len(frames) == 1 and frames[0][3] == 1 and not omitted:
        return f"\n  line {frames[0][0]}: {frames[0][2]}"
    text = "\nTraceback of the code (most recent call last):"
    if omitted:
        text += f"\n  ... {omitted} earlier frames"
    for number, name, source, times in frames:
        text += f"\n  line {number}, in {name}: {source}"
        if times > 1:
            text += f"  [{times} times in a row]"
    return text


async def _feed(stdin: asyncio.StreamWriter, payload: bytes) -> None:
    try:
        stdin.write(payload)
        await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child died early; its exit status explains why
    finally:
        stdin.close()


def _kill_group(pid: int) -> None:
    """SIGKILL the child's process group (its session, since it was started in a new one)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _child_env(workdir: str) -> dict[str, str]:
    """The child's whole environment: nothing of the parent's (no API keys) reaches the code."""
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "MALLOC_ARENA_MAX": "2",  # fewer malloc arenas: less address space wasted under RLIMIT_AS
    }


def _seconds(value: float) -> str:
    return f"{value:g}"


# --- kernel isolation: probed once per process --------------------------------------------

_isolation_mode: tuple[str, str | None] | None = None


async def _isolation() -> tuple[str, str | None]:
    """("userns" | "netns" | "none", unshare's path): the strongest namespaces that work here."""
    global _isolation_mode
    if _isolation_mode is None:
        mode: tuple[str, str | None] = ("none", None)
        unshare = shutil.which("unshare") if sys.platform.startswith("linux") else None
        if unshare:
            for name, flags in (
                ("userns", ["--user", "--map-root-user", "--net"]),
                ("netns", ["--net"]),
            ):
                if await _starts([unshare, *flags, sys.executable, "-I", "-S", "-c", "pass"]):
                    mode = (name, unshare)
                    break
        _isolation_mode = mode
    return _isolation_mode


async def _starts(argv: list[str]) -> bool:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env={"PATH": "/usr/bin:/bin"},
        )
    except OSError:
        return False
    try:
        return await asyncio.wait_for(proc.wait(), 10) == 0
    except asyncio.TimeoutError:
        return False
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _namespace_prefix(mode: tuple[str, str | None], network: bool) -> list[str]:
    """The command prefix that puts the child in its namespaces (empty where none work)."""
    name, unshare = mode
    if name == "userns" and unshare:
        return [unshare, "--user", "--map-root-user", *([] if network else ["--net"])]
    if name == "netns" and unshare and not network:
        return [unshare, "--net"]
    return []
