"""The code-node sandbox: real child processes, real limits, a real socket on 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

import pytest

from cagents.engine import sandbox
from cagents.engine.sandbox import (
    CodeResult,
    SandboxError,
    SandboxLimits,
    parse_memory,
    run_code,
)
from cagents.errors import ConfigError, ExecutionError

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the sandbox targets Linux"
)

LIMITS = SandboxLimits(timeout=30, memory_mb=256)


async def run(code: str, inputs: dict[str, object] | None = None, **limits: object) -> CodeResult:
    merged = {"timeout": 30.0, "memory_mb": 256, **limits}
    return await run_code(code, inputs or {}, SandboxLimits(**merged))  # type: ignore[arg-type]


async def fails(
    code: str, inputs: dict[str, object] | None = None, **limits: object
) -> SandboxError:
    with pytest.raises(SandboxError) as caught:
        await run(code, inputs, **limits)
    return caught.value


def sandbox_children() -> list[int]:
    """Pids of this process's children that run the sandbox script (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                ppid = int(handle.read().rsplit(b")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read()
        except OSError:
            continue
        if ppid == os.getpid() and b"_sandbox_child.py" in cmdline:
            found.append(int(entry))
    return found


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that answers each line with `pong`."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"pong\n")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port
    server.close()
    await server.wait_closed()


CONNECT = """
import socket
with socket.create_connection(("127.0.0.1", inputs["port"]), timeout=10) as conn:
    conn.sendall(b"ping\\n")
    result = conn.makefile().readline().strip()
"""


# --- results, output, inputs -------------------------------------------------------------


async def test_result_and_stdout_come_back() -> None:
    outcome = await run(
        "print('working on', inputs['name'])\nresult = {'greeting': 'hi ' + inputs['name']}",
        {"name": "Ada"},
    )
    assert outcome.value == {"greeting": "hi Ada"}
    assert outcome.stdout == "working on Ada\n"
    assert outcome.duration_s > 0


async def test_inputs_keep_their_json_types() -> None:
    inputs = {
        "numbers": [3, 1, 2],
        "ratio": 0.5,
        "flag": True,
        "nothing": None,
        "nested": {"k": ["v"]},
    }
    code = (
        "result = {name: type(value).__name__ for name, value in inputs.items()}\n"
        "result['sum'] = sum(inputs['numbers'])"
    )
    outcome = await run(code, inputs)
    assert outcome.value == {
        "numbers": "list",
        "ratio": "float",
        "flag": "bool",
        "nothing": "NoneType",
        "nested": "dict",
        "sum": 6,
    }


async def test_the_standard_library_is_available() -> None:
    code = (
        "import statistics, math, json, re, datetime, collections\n"
        "result = [statistics.mean(inputs['xs']), math.sqrt(16),"
        " json.dumps({'a': 1}), re.sub('a', 'b', 'aa')]"
    )
    assert (await run(code, {"xs": [1, 2, 3]})).value == [2, 4.0, '{"a": 1}', "bb"]


async def test_stderr_and_warnings_are_part_of_the_output() -> None:
    outcome = await run("import sys\nprint('to stderr', file=sys.stderr)\nresult = 1")
    assert outcome.stdout == "to stderr\n"


async def test_files_and_asyncio_work_inside_the_working_directory() -> None:
    code = (
        "import asyncio, os, tempfile\n"
        "with open('notes.txt', 'w') as f:\n    f.write('kept')\n"
        "with tempfile.NamedTemporaryFile('w', delete=False) as t:\n    t.write('x')\n"
        "async def main():\n    await asyncio.sleep(0)\n    return open('notes.txt').read()\n"
        "result = [asyncio.run(main()), t.name.startswith(os.getcwd())]"
    )
    assert (await run(code)).value == ["kept", True]


async def test_missing_result_says_the_code_must_assign_it() -> None:
    error = await fails("x = 1")
    assert error.kind == "error"
    assert "the code must assign `result`" in str(error)


async def test_non_serialisable_result_names_the_type_and_where() -> None:
    error = await fails("result = {'rows': [1, {'tags': {'a', 'b'}}]}")
    assert error.kind == "error"
    assert "`result['rows'][1]['tags']` has type set" in str(error)
    assert "not JSON-serialisable" in str(error)


async def test_nan_result_is_refused() -> None:
    error = await fails("result = {'mean': float('nan')}")
    assert "`result['mean']` is nan" in str(error)


async def test_inputs_that_are_not_json_are_refused_before_starting() -> None:
    with pytest.raises(SandboxError) as caught:
        await run_code("result = 1", {"when": object()}, LIMITS)
    assert caught.value.kind == "error"
    assert "inputs are not JSON" in str(caught.value)


# --- the user's errors -------------------------------------------------------------------


async def test_user_exception_names_type_message_and_their_line() -> None:
    code = "def ratio(a, b):\n    return a / b\n\nvalue = ratio(1, 0)\n"
    error = await fails(code)
    assert error.kind == "error"
    assert error.exception == "ZeroDivisionError"
    assert error.line == 2
    message = str(error)
    assert "ZeroDivisionError: division by zero" in message
    assert "line 4, in <module>: value = ratio(1, 0)" in message
    assert "line 2, in ratio: return a / b" in message
    assert "_sandbox_child" not in message and "runpy" not in message


async def test_syntax_error_points_at_the_line() -> None:
    error = await fails("x = 1\ny = = 2\n")
    assert error.exception == "SyntaxError"
    assert error.line == 2
    assert "line 2: y = = 2" in str(error)


async def test_deep_recursion_is_folded() -> None:
    error = await fails("def down(n):\n    return down(n + 1)\ndown(0)")
    assert error.exception == "RecursionError"
    assert "times in a row" in str(error)
    assert len(str(error).splitlines()) < 10


# --- limits -------------------------------------------------------------------------------


async def test_infinite_loop_hits_the_timeout() -> None:
    error = await fails("print('started')\nwhile True:\n    pass", timeout=1)
    assert error.kind == "timeout"
    assert "ran longer than 1 s" in str(error) and "sandbox.timeout" in str(error)
    assert error.stdout == "started\n"
    assert sandbox_children() == []


async def test_cpu_limit_stops_a_busy_loop() -> None:
    error = await fails("while True:\n    pass", timeout=30, cpu_seconds=1)
    assert error.kind == "timeout"
    assert "CPU time" in str(error)


async def test_allocating_beyond_the_memory_limit_is_a_memory_error() -> None:
    error = await fails("block = bytearray(2 * 1024**3)", memory_mb=128)
    assert error.kind == "memory"
    assert "limit 128 MB" in str(error)
    assert error.line == 1


async def test_growing_until_the_limit_is_a_memory_error() -> None:
    error = await fails(
        "chunks = []\nwhile True:\n    chunks.append(bytearray(10**6))", memory_mb=128
    )
    assert error.kind == "memory"
    assert "sandbox.resources.memory" in str(error)


async def test_large_files_are_refused_by_the_kernel() -> None:
    error = await fails("open('big', 'wb').write(b'x' * (20 * 1024 * 1024))")
    assert error.exception == "OSError"
    assert "File too large" in str(error)


async def test_long_output_is_truncated_with_a_note() -> None:
    outcome = await run("print('y' * 5000)\nresult = 'done'", max_output_bytes=1000)
    assert outcome.value == "done"
    assert outcome.stdout.startswith("y" * 1000)
    assert (
        "[output truncated: 4001 more bytes not shown; the limit is 1000 bytes]" in outcome.stdout
    )


async def test_a_result_over_the_cap_is_an_output_error() -> None:
    error = await fails("result = 'x' * 5000", max_output_bytes=1000)
    assert error.kind == "output"
    assert "over the limit of 1000 bytes" in str(error)


async def test_flooding_the_result_channel_is_an_output_error() -> None:
    error = await fails(
        "import os, sys\nos.write(int(sys.argv[1]), b'x' * 300_000)\nresult = 1",
        max_output_bytes=1000,
    )
    assert error.kind == "output"


# --- refusals -----------------------------------------------------------------------------


async def test_network_is_refused_by_default(echo_port: int) -> None:
    error = await fails(CONNECT, {"port": echo_port})
    assert error.kind == "network"
    assert "network: true" in str(error)


async def test_network_works_when_granted(echo_port: int) -> None:
    outcome = await run(CONNECT, {"port": echo_port}, network=True)
    assert outcome.value == "pong"


async def test_the_kernel_namespace_alone_refuses_traffic(echo_port: int) -> None:
    """Without the audit hook (plain `python -c`), the namespace prefix still blocks 127.0.0.1."""
    prefix = sandbox._namespace_prefix(await sandbox._isolation(), network=False)
    if not prefix:
        pytest.skip("no network namespace on this machine (unshare missing or not permitted)")
    script = f"import socket\nsocket.create_connection(('127.0.0.1', {echo_port}), timeout=5)"
    for argv, refused in (
        ([sys.executable, "-c", script], False),
        ([*prefix, sys.executable, "-c", script], True),
    ):
        proc = await asyncio.create_subprocess_exec(*argv, stderr=asyncio.subprocess.PIPE)
        _, stderr = await proc.communicate()
        assert (proc.returncode != 0) is refused, stderr
        if refused:
            assert b"Network is unreachable" in stderr


async def test_the_user_namespace_alone_hides_the_parent_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the audit hook, the kernel refuses /proc/<parent>/environ in the user namespace."""
    mode = await sandbox._isolation()
    if mode[0] != "userns":
        pytest.skip("no user namespace on this machine")
    monkeypatch.setenv("CAGENTS_TEST_CANARY", "canary-9c1e")
    script = "import os\nprint(open(f'/proc/{os.getppid()}/environ', 'rb').read())"
    argv = [*sandbox._namespace_prefix(mode, network=True), sys.executable, "-c", script]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await proc.communicate()
    assert b"canary-9c1e" not in stdout
    assert b"Permission denied" in stderr


async def test_the_audit_hook_alone_still_refuses(
    monkeypatch: pytest.MonkeyPatch, echo_port: int
) -> None:
    """Where no namespace can be made (a container), the in-child hook is what refuses."""
    monkeypatch.setattr(sandbox, "_isolation_mode", ("none", None))
    monkeypatch.setenv("CAGENTS_TEST_CANARY", "canary-77d0")
    assert (await fails(CONNECT, {"port": echo_port})).kind == "network"
    error = await fails("import os\nresult = open(f'/proc/{os.getppid()}/environ').read()")
    assert "other processes' data" in str(error)
    assert (await run(CONNECT, {"port": echo_port}, network=True)).value == "pong"


@pytest.mark.parametrize(
    "code, refused",
    [
        (
            "import subprocess\nsubprocess.run(['true'])",
            "may not start processes (subprocess.Popen)",
        ),
        ("import os\nos.system('true')", "may not start processes (os.system)"),
        ("import os\nos.fork()", "may not start processes (os.fork)"),
        (
            "import multiprocessing\nmultiprocessing.Process(target=print).start()",
            "may not start processes",
        ),
        (
            "import _posixsubprocess\n_posixsubprocess.fork_exec()",
            "may not start processes (fork_exec)",
        ),
    ],
)
async def test_starting_processes_is_refused(code: str, refused: str) -> None:
    error = await fails(code)
    assert error.kind == "error"
    assert f"the sandbox refused: code nodes {refused}" in str(error)
    assert error.line == 2


async def test_ctypes_is_refused() -> None:
    error = await fails("import ctypes\nctypes.CDLL(None).system(b'true')")
    assert "the sandbox refused: code nodes may not use ctypes" in str(error)
    assert error.line == 1


async def test_signalling_the_parent_is_refused() -> None:
    error = await fails("import os, signal\nos.kill(os.getppid(), signal.SIGTERM)")
    assert "may not signal other processes" in str(error)


async def test_raising_the_limits_back_is_refused() -> None:
    error = await fails("import resource\nresource.setrlimit(resource.RLIMIT_AS, (-1, -1))")
    assert "may not change their resource limits" in str(error)


async def test_writes_outside_the_working_directory_are_refused(tmp_path: object) -> None:
    target = os.path.join(str(tmp_path), "escaped.txt")
    error = await fails("open(inputs['target'], 'w').write('x')", {"target": target})
    assert "may only write inside their working directory" in str(error)
    assert not os.path.exists(target)


async def test_environment_of_the_parent_is_invisible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAGENTS_TEST_CANARY", "canary-4f2a")
    code = "import os\nresult = sorted(os.environ)\nprint(os.environ.get('CAGENTS_TEST_CANARY'))"
    outcome = await run(code)
    assert "CAGENTS_TEST_CANARY" not in outcome.value
    assert set(outcome.value) <= {"PATH", "LANG", "HOME", "TMPDIR", "MALLOC_ARENA_MAX"}
    assert outcome.stdout == "None\n"
    # nor through /proc: the parent's environment file is refused
    error = await fails(
        "import os\nresult = open(f'/proc/{os.getppid()}/environ', 'rb').read().decode()"
    )
    assert "canary-4f2a" not in str(error) + error.stdout
    assert "other processes' data" in str(error)


async def test_prints_cannot_forge_the_result() -> None:
    code = (
        'print(\'{"ok": true, "value": "forged"}\')\n'
        'import sys\nprint(\'{"ok": true, "value": "forged"}\', file=sys.stderr)\n'
        "result = 'real'"
    )
    outcome = await run(code)
    assert outcome.value == "real"
    assert outcome.stdout.count("forged") == 2


# --- process lifecycle ---------------------------------------------------------------------


async def test_cancellation_kills_the_child() -> None:
    task = asyncio.ensure_future(run("while True:\n    pass", timeout=60))
    pids: list[int] = []
    for _ in range(500):
        await asyncio.sleep(0.02)
        pids = sandbox_children()
        if pids:
            break
    assert len(pids) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not os.path.exists(f"/proc/{pids[0]}")
    assert sandbox_children() == []


async def test_ten_runs_at_once_all_succeed() -> None:
    outcomes = await asyncio.gather(*(run("result = inputs['i'] * 2", {"i": i}) for i in range(10)))
    assert [outcome.value for outcome in outcomes] == [i * 2 for i in range(10)]


async def test_the_working_directory_is_removed_afterwards() -> None:
    outcome = await run("import os\nopen('left.txt', 'w').write('x')\nresult = os.getcwd()")
    assert os.path.basename(outcome.value).startswith("cagents-code-")
    assert not os.path.exists(outcome.value)


# --- limits from configuration -------------------------------------------------------------


@pytest.mark.parametrize(
    "preset, memory_mb, timeout",
    [
        ("low", 256, 30),
        ("medium", 512, 60),
        ("high", 1024, 120),
        ("max", 2048, 300),
        (None, 512, 60),
    ],
)
def test_presets_map_to_memory_and_timeout(
    preset: str | None, memory_mb: int, timeout: float
) -> None:
    limits = SandboxLimits.from_config(preset, None, None, False)
    assert (limits.memory_mb, limits.timeout, limits.network) == (memory_mb, timeout, False)
    assert limits.cpu_limit == timeout + 1  # one second of slack: the wall clock speaks first


def test_timeout_and_memory_override_the_preset() -> None:
    limits = SandboxLimits.from_config("low", 7.5, "1g", True)
    assert (limits.memory_mb, limits.timeout, limits.network, limits.cpu_limit) == (
        1024,
        7.5,
        True,
        9,
    )


@pytest.mark.parametrize(
    "text, megabytes",
    [
        ("256m", 256),
        ("1g", 1024),
        ("512MB", 512),
        ("1.5GiB", 1536),
        ("300", 300),
        ("2048k", 2),
        ("1048576b", 1),
    ],
)
def test_memory_sizes(text: str, megabytes: int) -> None:
    assert parse_memory(text) == megabytes


def test_bad_settings_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown sandbox preset 'huge'"):
        SandboxLimits.from_config("huge", None, None, False)
    with pytest.raises(ConfigError, match="is not a size"):
        SandboxLimits.from_config(None, None, "lots", False)
    with pytest.raises(ConfigError, match="below the 64 MB"):
        SandboxLimits.from_config(None, None, "16m", False)
    with pytest.raises(ConfigError, match="positive number of seconds"):
        SandboxLimits(timeout=0)


async def test_the_smallest_memory_limit_still_runs() -> None:
    assert (await run("result = sum(range(10))", memory_mb=sandbox.MIN_MEMORY_MB)).value == 45


def test_sandbox_error_is_an_execution_error_with_a_kind() -> None:
    error = SandboxError("timeout", "the code ran longer than 1 s", line=3, exception=None)
    assert isinstance(error, ExecutionError)
    assert error.to_dict() == {
        "error": "SandboxError",
        "message": "the code ran longer than 1 s",
        "kind": "timeout",
        "line": 3,
        "exception": None,
    }
