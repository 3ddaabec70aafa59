"""Unsafe tools, usable only with `config.tools.allow`: `shell`, `process`, `env_vars`.

Commands run in the workspace with a time limit and capped output; the environment they
see, and what `env_vars` returns, never holds key-shaped variables unless exposed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from typing import Any

from cagents.tools.context import ToolContext
from cagents.tools.files import resolve_in_workspace
from cagents.tools.schema_from_hints import tool_from_function
from cagents.tools.tool import Tool, ToolFailure

__all__ = ["TOOLS", "is_secret_name"]

MAX_OUTPUT_BYTES = 64_000
_SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """True for names shaped like secrets (`*KEY*`, `*TOKEN*`, `*SECRET*`, `*PASSWORD*`, ...)."""
    return bool(_SECRET.search(name))


def _exposed(ctx: ToolContext) -> set[str]:
    expose = ctx.config.get("expose", [])
    if isinstance(expose, str) or not all(isinstance(name, str) for name in expose):
        raise ToolFailure("config expose must be a list of variable names")
    return set(expose)


def _child_env(ctx: ToolContext) -> dict[str, str]:
    """The run's environment without secrets (unless exposed), with a usable PATH."""
    exposed = _exposed(ctx)
    env = {k: v for k, v in ctx.env.items() if not is_secret_name(k) or k in exposed}
    env.setdefault("PATH", os.environ.get("PATH", os.defpath))
    return env


async def _run(ctx: ToolContext, argv: list[str] | None, command: str | None) -> dict[str, Any]:
    cwd = resolve_in_workspace(ctx, ".")
    timeout = float(ctx.config.get("timeout", ctx.timeout))
    timeout = min(timeout, ctx.timeout) if timeout > 0 else ctx.timeout
    common: dict[str, Any] = dict(
        cwd=cwd,
        env=_child_env(ctx),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        if argv is not None:
            proc = await asyncio.create_subprocess_exec(*argv, **common)
        else:
            proc = await asyncio.create_subprocess_shell(command or "", **common)
    except FileNotFoundError as exc:
        raise ToolFailure(f"command not found: {argv[0] if argv else command}") from exc
    except PermissionError as exc:
        raise ToolFailure(f"not executable: {argv[0] if argv else command}") from exc
    try:
        (out, out_cut), (err, err_cut), code = await asyncio.wait_for(
            asyncio.gather(_read_capped(proc.stdout), _read_capped(proc.stderr), proc.wait()),
            timeout,
        )
    except asyncio.TimeoutError as exc:
        _kill(proc)
        await proc.wait()
        raise ToolFailure(f"command timed out after {timeout:g}s and was stopped") from exc
    except asyncio.CancelledError:
        _kill(proc)
        await asyncio.shield(proc.wait())
        raise
    return {
        "exit_code": code,
        "stdout": out.decode("utf-8", errors="replace"),
        "stderr": err.decode("utf-8", errors="replace"),
        "truncated": out_cut or err_cut,
    }


def _kill(proc: asyncio.subprocess.Process) -> None:
    """Stop the command and everything it started (it leads its own process group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


async def _read_capped(stream: asyncio.StreamReader | None) -> tuple[bytes, bool]:
    """Keep the first MAX_OUTPUT_BYTES and drain the rest, so the command never blocks."""
    if stream is None:
        return b"", False
    kept = bytearray()
    cut = False
    while chunk := await stream.read(65_536):
        room = MAX_OUTPUT_BYTES - len(kept)
        if len(chunk) > room:
            cut = True
        kept += chunk[: max(room, 0)]
    return bytes(kept), cut


async def shell(command: str, *, ctx: ToolContext) -> dict[str, Any]:
    """Run a shell command in the workspace and return its exit code and output.

    Args:
        command: The command line, run by /bin/sh.
    """
    if not command.strip():
        raise ToolFailure("command is empty")
    return await _run(ctx, None, command)


async def process(args: list[str], *, ctx: ToolContext) -> dict[str, Any]:
    """Run a program (no shell) in the workspace and return its exit code and output.

    Args:
        args: The program and its arguments, e.g. ["ls", "-l"].
    """
    if not args or not args[0]:
        raise ToolFailure("args is empty; give the program and its arguments")
    return await _run(ctx, list(args), None)


def env_vars(names: list[str], *, ctx: ToolContext) -> dict[str, Any]:
    """Read named environment variables of this run (secret-shaped names are withheld).

    Args:
        names: Variable names to read.
    """
    exposed = _exposed(ctx)
    values: dict[str, str | None] = {}
    withheld: list[str] = []
    for name in names:
        if is_secret_name(name) and name not in exposed:
            withheld.append(name)
        else:
            values[name] = ctx.env.get(name)
    result: dict[str, Any] = {"variables": values}
    if withheld:
        result["withheld"] = withheld
        result["note"] = (
            "secret-shaped names are never returned unless listed in the tool's config expose"
        )
    return result


TOOLS: tuple[Tool, ...] = (
    tool_from_function(shell, unsafe=True),
    tool_from_function(process, unsafe=True),
    tool_from_function(env_vars, unsafe=True),
)
