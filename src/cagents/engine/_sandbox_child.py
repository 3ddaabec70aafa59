"""The child side of the code-node sandbox: limit itself, run the user's code, report as JSON.

Run as a script (`python -I -S _sandbox_child.py RESULT_FD`) by `cagents.engine.sandbox`,
never imported. It reads one JSON document on stdin (code, inputs, limits), sets resource
limits, installs an audit hook (the refusals are listed in `_Guard`), runs the code with
`runpy.run_path`, and writes one JSON document to RESULT_FD, a pipe of its own, so nothing
the code prints can pass for its result. Standard library only, few imports: every code
node pays this start-up.
"""

from __future__ import annotations

import _posixsubprocess
import io
import json
import os
import resource
import runpy
import signal
import stat
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn

_STDLIB = os.path.dirname(os.__file__) + os.sep
_PID = str(os.getpid())
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
_AF_UNIX = 1  # socket.AF_UNIX on every POSIX system; importing socket would cost start-up
_MAX_FRAMES = 10
_MAX_TEXT = 2000
_RUN_NAME = "<code>"
_NETWORK_EVENTS = (
    "socket.connect",
    "socket.bind",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
)
_PROCESS_EVENTS = (
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.fork",
    "os.forkpty",
    "pty.spawn",
    "os.startfile",
    "os.setns",
    "os.unshare",
    "sys.remote_exec",
)
_NATIVE_EVENTS = (
    "ctypes.dlopen",
    "ctypes.dlsym",
    "ctypes.dlsym/handle",
    "ctypes.cdata",
    "ctypes.cdata/buffer",
    "ctypes.call_function",
    "ctypes.addressof",
    "ctypes.string_at",
    "ctypes.wstring_at",
    "ctypes.PyObj_FromPtr",
    "sqlite3.enable_load_extension",
    "sqlite3.load_extension",
)
# event -> ((index of a path argument, index of its dir_fd argument or None), ...)
_WRITE_EVENTS: dict[str, tuple[tuple[int, int | None], ...]] = {
    "os.remove": ((0, 1),),
    "os.rmdir": ((0, 1),),
    "os.mkdir": ((0, 2),),
    "os.rename": ((0, 2), (1, 3)),
    "os.link": ((0, 2), (1, 3)),
    "os.symlink": ((1, 2),),
    "os.chmod": ((0, 2),),
    "os.chown": ((0, 3),),
    "os.utime": ((0, 3),),
    "os.truncate": ((0, None),),
    "os.setxattr": ((0, None),),
    "os.removexattr": ((0, None),),
    "os.chflags": ((0, None),),
    "os.lchflags": ((0, None),),
    "shutil.rmtree": ((0, 1),),
}

_refusals: list[tuple[str, str]] = []  # (category, detail) of every refused action


class SandboxRefusal(PermissionError):
    """An action the sandbox does not allow; the message says which."""


class SandboxImportRefusal(ImportError):
    """A module the sandbox does not allow; an ImportError, so optional imports fall back."""


SandboxRefusal.__module__ = SandboxImportRefusal.__module__ = "sandbox"


def _refuse(
    category: str, message: str, exc_type: type[Exception] = SandboxRefusal, detail: str = ""
) -> NoReturn:
    _refusals.append((category, detail or message))
    raise exc_type(message)


def _resolve(path: Any, dir_fd: int | None = None) -> str:
    """The absolute, symlink-free form of `path` (relative to `dir_fd` when one is given)."""
    text = os.fsdecode(os.fspath(path))
    if dir_fd is not None and dir_fd >= 0 and not os.path.isabs(text):
        text = os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), text)
    return os.path.realpath(text)


def _other_process(real: str) -> bool:
    """True for another process's /proc entries (environment, memory, files) and for any `mem`."""
    parts = real.split("/")
    if len(parts) < 3 or parts[1] != "proc" or not parts[2].isdigit():
        return False
    return parts[2] != _PID or "mem" in parts[3:]


class _Guard:
    """The audit hook: a dict from event name to a check, so other events cost one lookup.

    Refuses starting processes, native code (ctypes, sqlite extensions), signals to other
    processes, changing resource limits, reading other processes' /proc entries, writes
    outside the working directory and, unless granted, the network. Audit hooks stop
    accidents and casual misuse, not code written to escape them (PEP 578).
    """

    def __init__(self, workdir: str, network: bool):
        self.workdir = workdir
        self.checks: dict[str, Callable[[str, tuple[Any, ...]], None]] = {
            "import": self.check_import,
            "open": self.check_open,
            "os.kill": self.check_kill,
            "os.killpg": self.refuse_signal,
            "resource.setrlimit": self.refuse_limits,
            "resource.prlimit": self.refuse_limits,
            "sqlite3.connect": self.check_sqlite,
        }
        self.checks.update(dict.fromkeys(_PROCESS_EVENTS, self.refuse_process))
        self.checks.update(dict.fromkeys(_NATIVE_EVENTS, self.refuse_native))
        self.checks.update(dict.fromkeys(_WRITE_EVENTS, self.check_write_event))
        if not network:
            self.checks.update(dict.fromkeys(_NETWORK_EVENTS, self.refuse_network))
            self.checks["socket.__new__"] = self.check_socket

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        check = self.checks.get(event)
        if check is not None:
            check(event, args)

    def refuse_process(self, event: str, args: tuple[Any, ...]) -> None:
        _refuse("process", f"code nodes may not start processes ({event})")

    def refuse_native(self, event: str, args: tuple[Any, ...]) -> None:
        _refuse("native", f"code nodes may not load native code ({event})")

    def refuse_signal(self, event: str, args: tuple[Any, ...]) -> None:
        _refuse("process", f"code nodes may not signal other processes ({event})")

    def refuse_limits(self, event: str, args: tuple[Any, ...]) -> None:
        _refuse("limits", f"code nodes may not change their resource limits ({event})")

    def refuse_network(self, event: str, args: tuple[Any, ...]) -> None:
        target = (
            args[1]
            if event.startswith(("socket.connect", "socket.bind", "socket.send"))
            else args[0]
        )
        detail = f"{event} {target!r}"
        _refuse("network", f"this code node has no network ({detail})", detail=detail)

    def check_socket(self, event: str, args: tuple[Any, ...]) -> None:
        if args[1] != _AF_UNIX:  # socketpair() stays usable: asyncio needs it
            detail = f"a socket of address family {args[1]}"
            _refuse("network", f"this code node has no network ({detail})", detail=detail)

    def check_import(self, event: str, args: tuple[Any, ...]) -> None:
        if args[0] in ("_ctypes", "ctypes"):
            _refuse("native", "code nodes may not use ctypes", SandboxImportRefusal)
        if args[0] == "_posixsubprocess":  # a fresh copy would bring fork_exec back
            _refuse("process", "code nodes may not start processes", SandboxImportRefusal)

    def check_kill(self, event: str, args: tuple[Any, ...]) -> None:
        if str(args[0]) != _PID:
            self.refuse_signal(event, args)

    def check_sqlite(self, event: str, args: tuple[Any, ...]) -> None:
        database = args[0]
        if isinstance(database, (str, bytes, os.PathLike)) and os.fsdecode(database) not in (
            "",
            ":memory:",
        ):
            self.check_write(database, None, event)

    def check_open(self, event: str, args: tuple[Any, ...]) -> None:
        path, mode, flags = args
        if isinstance(path, int):
            return
        text = os.fsdecode(os.fspath(path))
        if (flags or 0) & _WRITE_FLAGS or (
            isinstance(mode, str) and any(c in mode for c in "wax+")
        ):
            self.check_write(text, None, event)
            return
        if text.startswith(_STDLIB):  # imports: no symlinks the code could have planted there
            return
        real = _resolve(text)
        if _other_process(real):
            _refuse(
                "file", f"code nodes may not read process memory or other processes' data ({text})"
            )
        if mode is None and not self.inside(real) and os.path.isdir(real):
            # A directory fd would let os.open(name, dir_fd=fd) write where this hook can't see.
            _refuse(
                "file",
                f"code nodes may not os.open directories outside their working directory ({text})",
            )

    def check_write_event(self, event: str, args: tuple[Any, ...]) -> None:
        for index, fd_index in _WRITE_EVENTS[event]:
            if not isinstance(args[index], int):
                self.check_write(args[index], None if fd_index is None else args[fd_index], event)

    def check_write(self, path: Any, dir_fd: int | None, event: str) -> None:
        real = _resolve(path, dir_fd)
        if real == "/dev/null":
            return
        shown = os.fsdecode(os.fspath(path))
        if not self.inside(real):
            _refuse(
                "file",
                f"code nodes may only write inside their working directory ({event} {shown})",
            )
        try:
            mode = os.stat(real).st_mode
        except OSError:
            return
        if stat.S_ISBLK(mode) or stat.S_ISCHR(mode):
            _refuse("file", f"code nodes may not write to devices ({shown})")

    def inside(self, real: str) -> bool:
        return real == self.workdir or real.startswith(self.workdir + os.sep)


def _set_limits(payload: dict[str, Any]) -> None:
    """Kernel-enforced limits; hard limits too, so the code cannot raise them back."""
    wanted = {
        resource.RLIMIT_AS: payload["memory_mb"] * 1024 * 1024,
        resource.RLIMIT_CPU: payload["cpu_seconds"],
        resource.RLIMIT_FSIZE: payload["fsize_bytes"],
        resource.RLIMIT_CORE: 0,
    }
    for which, soft in wanted.items():
        hard = soft + 1 if which == resource.RLIMIT_CPU else soft  # SIGXCPU first, then SIGKILL
        current = resource.getrlimit(which)[1]
        if current != resource.RLIM_INFINITY:
            hard = min(hard, current)
        resource.setrlimit(which, (min(soft, hard), hard))
    # Writing past RLIMIT_FSIZE then raises OSError(EFBIG) in the code instead of killing it.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _clip(text: str) -> str:
    if len(text) <= _MAX_TEXT:
        return text
    return text[:_MAX_TEXT] + f"... [{len(text) - _MAX_TEXT} more characters]"


def _qualified(cls: type) -> str:
    if cls.__module__ in ("builtins", _RUN_NAME):  # the code's own classes need no module
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _user_frames(exc: BaseException, path: str, lines: list[str]) -> tuple[list[list[Any]], int]:
    """[line, function, source, times] of the frames in the user's file, newest last.

    Only the user's frames, never this runner's; repeated frames (recursion) are folded.
    """
    frames: list[list[Any]] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename == path:
            number = tb.tb_lineno
            if frames and frames[-1][0] == number and frames[-1][1] == code.co_name:
                frames[-1][3] += 1
            else:
                text = lines[number - 1].strip() if 0 < number <= len(lines) else ""
                frames.append([number, code.co_name, text, 1])
        tb = tb.tb_next
    if isinstance(exc, SyntaxError) and exc.filename == path and exc.lineno:
        text = (exc.text or "").strip()
        if not text and exc.lineno <= len(lines):
            text = lines[exc.lineno - 1].strip()
        frames.append([exc.lineno, "<module>", text, 1])
    return frames[-_MAX_FRAMES:], max(0, len(frames) - _MAX_FRAMES)


def _describe(exc: BaseException, path: str, lines: list[str]) -> dict[str, Any]:
    if isinstance(exc, SyntaxError) and exc.filename == path:
        message = str(exc.msg)
    elif isinstance(exc, SystemExit):
        message = repr(exc.code)
    else:
        try:
            message = str(exc)
        except Exception:  # noqa: BLE001  (a broken __str__ must not hide the failure itself)
            message = "<the exception could not be shown>"
    frames, omitted = _user_frames(exc, path, lines)
    return {
        "type": _qualified(type(exc)),
        "message": _clip(message),
        "frames": frames,
        "omitted": omitted,
    }


def _json_problem(value: Any, path: str = "result", active: set[int] | None = None) -> str | None:
    """Where and why JSON cannot hold `value`: the first culprit in json.dumps' order."""
    active = set() if active is None else active
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if value - value == 0 else f"`{path}` is {value!r}, which JSON cannot represent"
    if not isinstance(value, (dict, list, tuple)):
        return (
            f"`{path}` has type {_qualified(type(value))}, which is not JSON-serialisable;"
            " convert it to a list, dict, str or number"
        )
    if id(value) in active:
        return f"`{path}` refers back to one of its containers (a circular reference)"
    active.add(id(value))
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if isinstance(value, dict) and not (
            key is None or isinstance(key, (str, int, float, bool))
        ):
            shown = _clip(repr(key))
            return f"`{path}` has a key of type {_qualified(type(key))} ({shown}); use str keys"
        found = _json_problem(item, f"{path}[{key!r}]", active)
        if found:
            return found
    active.discard(id(value))
    return None


def _encode_result(value: Any) -> tuple[str, dict[str, Any] | None]:
    """The JSON text of `value`, or a failure document saying where it went wrong."""
    try:
        return json.dumps(value, allow_nan=False), None
    except RecursionError:
        return "", {"kind": "error", "problem": "the result is nested too deeply to encode as JSON"}
    except MemoryError:
        return "", {"kind": "memory", "frames": []}
    except (TypeError, ValueError) as exc:
        try:
            found = _json_problem(value)
        except RecursionError:
            found = None
        return "", {
            "kind": "error",
            "problem": found or f"the result cannot be encoded as JSON ({exc})",
        }


def _send(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> None:
    fd = int(sys.argv[1])
    payload = json.loads(sys.stdin.buffer.read())
    workdir = os.path.realpath(os.getcwd())
    path = os.path.join(workdir, "node_code.py")
    code, inputs = payload.pop("code"), payload.pop("inputs")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(code)
    lines = code.splitlines()

    out = sys.stdout
    if isinstance(out, io.TextIOWrapper):  # line-buffered: a timeout still shows the last prints
        out.reconfigure(encoding="utf-8", errors="backslashreplace", line_buffering=True)
    sys.stderr = out  # the code's warnings and stderr prints belong to its output
    _set_limits(payload)

    def no_fork_exec(*args: Any) -> NoReturn:
        _refuse("process", "code nodes may not start processes (fork_exec)")

    # fork_exec is the one process-creating call without an audit event: take it away.
    _posixsubprocess.fork_exec = no_fork_exec
    sys.addaudithook(_Guard(workdir, payload["network"]))

    reserve = bytearray(1 << 20)  # given back on MemoryError, so there is room to report it
    failure: dict[str, Any] | None = None
    text = ""
    try:
        namespace = runpy.run_path(path, init_globals={"inputs": inputs}, run_name=_RUN_NAME)
    except MemoryError as exc:
        del reserve
        failure = {"kind": "memory", "frames": _user_frames(exc, path, lines)[0]}
    except BaseException as exc:  # noqa: BLE001  (SystemExit too is the code's failure)
        failure = {"kind": "error", **_describe(exc, path, lines)}
    else:
        if "result" not in namespace:
            failure = {"kind": "error", "problem": "missing"}
        else:
            text, failure = _encode_result(namespace["result"])
            if failure is None and len(text) > payload["max_output_bytes"]:
                failure = {"kind": "output", "size": len(text)}
        del namespace
    if failure is not None:
        if _refusals:
            failure["refused"] = list(_refusals[-1])
        data = json.dumps({"ok": False, **failure}).encode()
    else:
        data = b'{"ok":true,"value":' + text.encode() + b"}"
    try:
        out.flush()
    except Exception:  # noqa: BLE001, S110  (the code may have closed or replaced its output)
        pass
    _send(fd, data)
    os._exit(0)  # runs none of the code's atexit handlers, waits for none of its threads


if __name__ == "__main__":  # importing this module (docs, type checks) must not run it
    main()
