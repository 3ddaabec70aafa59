"""shell, process and env_vars: refused unless allowed; confined, time-limited, secret-free."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cagents.errors import ToolError
from cagents.tools import ToolContext, call_tool, default_registry

ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/home/someone",
    "REGION": "eu",
    "OPENAI_API_KEY": "sk-live",
    "github_token": "ghp-1",
    "DB_PASSWORD": "hunter2",
    "APP_SECRET": "s3",
    "PUBLIC_KEY_ID": "kid-1",
}


@pytest.fixture
def unsafe_ctx(workspace: Path) -> ToolContext:
    return ToolContext(
        workspace=workspace, env=ENV, allow={"shell", "process", "env_vars"}, timeout=10
    )


async def run(name: str, ctx: ToolContext, **args: Any) -> Any:
    return await call_tool(default_registry().get(name), args, ctx)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("shell", {"command": "touch pwned"}),
        ("process", {"args": ["touch", "pwned"]}),
        ("env_vars", {"names": ["REGION"]}),
    ],
)
async def test_refused_unless_allowed(name: str, args: dict[str, Any], workspace: Path) -> None:
    only_other = ToolContext(workspace=workspace, env=ENV, allow={"calculator"})
    with pytest.raises(ToolError, match=f"add '{name}' to config.tools.allow"):
        await call_tool(default_registry().get(name), args, only_other)
    assert not (workspace / "pwned").exists()


async def test_shell_runs_in_the_workspace(unsafe_ctx: ToolContext, workspace: Path) -> None:
    result = await run("shell", unsafe_ctx, command="pwd; echo out; echo err >&2; exit 3")
    assert result["exit_code"] == 3
    assert result["stdout"] == f"{workspace}\nout\n"
    assert result["stderr"] == "err\n"
    assert result["truncated"] is False


async def test_commands_see_no_secrets(unsafe_ctx: ToolContext) -> None:
    result = await run("shell", unsafe_ctx, command="env")
    lines = set(result["stdout"].splitlines())
    assert "REGION=eu" in lines
    for secret in ("sk-live", "ghp-1", "hunter2", "s3", "kid-1"):
        assert secret not in result["stdout"]
    exposed = unsafe_ctx.with_config({"expose": ["OPENAI_API_KEY"]})
    assert "OPENAI_API_KEY=sk-live" in (await run("shell", exposed, command="env"))["stdout"]


async def test_process_runs_without_a_shell(unsafe_ctx: ToolContext, workspace: Path) -> None:
    result = await run(
        "process",
        unsafe_ctx,
        args=[sys.executable, "-c", "import sys; print(sys.argv[1:])", "a b", "$HOME"],
    )
    assert result["stdout"] == "['a b', '$HOME']\n"
    assert result["exit_code"] == 0
    with pytest.raises(ToolError, match="command not found: no-such-program-xyz"):
        await run("process", unsafe_ctx, args=["no-such-program-xyz"])
    with pytest.raises(ToolError, match="args is empty"):
        await run("process", unsafe_ctx, args=[])


async def test_output_is_capped(unsafe_ctx: ToolContext) -> None:
    result = await run("process", unsafe_ctx, args=[sys.executable, "-c", "print('x' * 500_000)"])
    assert len(result["stdout"]) == 64_000
    assert result["truncated"] is True
    assert result["exit_code"] == 0


async def test_commands_are_stopped_at_the_timeout(
    unsafe_ctx: ToolContext, workspace: Path
) -> None:
    quick = unsafe_ctx.with_config({"timeout": 0.5})
    with pytest.raises(ToolError, match="timed out after 0.5s"):
        await run("shell", quick, command="sleep 30 && touch late")
    outer = replace(unsafe_ctx, timeout=0.5)
    with pytest.raises(ToolError, match="timed out"):
        await run("shell", outer, command="sleep 30 && touch late")
    assert not (workspace / "late").exists()


async def test_env_vars_never_returns_key_shaped_names(unsafe_ctx: ToolContext) -> None:
    result = await run(
        "env_vars",
        unsafe_ctx,
        names=["REGION", "OPENAI_API_KEY", "github_token", "DB_PASSWORD", "APP_SECRET", "MISSING"],
    )
    assert result["variables"] == {"REGION": "eu", "MISSING": None}
    assert result["withheld"] == ["OPENAI_API_KEY", "github_token", "DB_PASSWORD", "APP_SECRET"]
    assert "sk-live" not in repr(result) and "hunter2" not in repr(result)


async def test_env_vars_expose_lists_exceptions(unsafe_ctx: ToolContext) -> None:
    exposed = unsafe_ctx.with_config({"expose": ["PUBLIC_KEY_ID"]})
    result = await run("env_vars", exposed, names=["PUBLIC_KEY_ID", "OPENAI_API_KEY"])
    assert result["variables"] == {"PUBLIC_KEY_ID": "kid-1"}
    assert result["withheld"] == ["OPENAI_API_KEY"]
    with pytest.raises(ToolError, match="expose must be a list"):
        await run("env_vars", unsafe_ctx.with_config({"expose": "PUBLIC_KEY_ID"}), names=["X"])
