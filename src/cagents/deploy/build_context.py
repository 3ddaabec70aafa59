"""The Docker build context of a deployment: Dockerfile, host-built wheelhouse, workflow YAML.

No step inside the image reaches a package index (builds cannot verify TLS there, and no
registry is needed): the project's wheel and the wheels of its `serve` extra are built on the
host with `pip wheel`, cached under the workbench home per project version and source hash,
and installed in the image with `pip install --no-index --find-links`. Nothing secret goes
into the context: env values reach the container at run time only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from cagents._version import __version__
from cagents.errors import DeploymentError

__all__ = [
    "CONTAINER_WORKFLOW",
    "SERVICE_UID",
    "BuildContext",
    "Wheelhouse",
    "build_context",
    "dockerfile",
    "project_source",
    "warm_up",
    "wheelhouse",
]

#: Where the workflow lives inside the image (read-only for the service user).
CONTAINER_WORKFLOW = "/app/workflow.yaml"
VENV = "/opt/cagents"
SERVICE_UID = 10001
#: What the source hash covers: everything hatch puts into the wheel.
_SOURCE_PARTS = ("pyproject.toml", "README.md", "src", "jupyter-config")
_SKIP_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "node_modules"}


def project_source() -> Path | None:
    """The source tree of the running cagents (an editable install), or None for an installed wheel."""
    import cagents

    root = Path(cagents.__file__).resolve().parents[2]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    if not re.search(r'(?m)^name\s*=\s*"cagents"\s*$', pyproject.read_text("utf-8")):
        return None
    return root


def _source_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for part in _SOURCE_PARTS:
        top = root / part
        paths = [top] if top.is_file() else sorted(_walk(top)) if top.is_dir() else []
        for path in paths:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _walk(top: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        found += [Path(folder) / name for name in files if not name.endswith((".pyc", ".pyo"))]
    return found


@dataclass(frozen=True)
class Wheelhouse:
    """Wheels that install `cagents[serve]` offline: the dependencies and the project's own.

    Kept apart because they change apart: the dependencies when pyproject.toml does (a slow
    build, rare), the project wheel with every source edit (a fast one). The image installs
    them in two layers for the same reason.
    """

    deps: Path
    app: Path

    @property
    def app_wheel(self) -> Path:
        return next(self.app.glob("cagents-*.whl"))

    def dep_wheels(self) -> list[Path]:
        return sorted(p for p in self.deps.glob("*.whl") if not p.name.startswith("cagents-"))


def wheelhouse(cache_dir: Path) -> Wheelhouse:
    """The wheelhouse of this cagents, built with `pip wheel` on the host where not cached.

    Keyed by this interpreter's Python version and the project version, plus for a source
    tree the hash of pyproject.toml (dependencies) and of the sources (the project wheel).
    """
    cache_dir = Path(cache_dir)
    source = project_source()
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    if source is None:
        requirement = f"cagents[serve]=={__version__}"
        deps = _cached(cache_dir, f"deps-{py}-{__version__}", [requirement])
        return Wheelhouse(deps=deps, app=deps)
    pyproject = hashlib.sha256((source / "pyproject.toml").read_bytes()).hexdigest()[:16]
    deps = _cached(cache_dir, f"deps-{py}-{__version__}-{pyproject}", [f"{source}[serve]"])
    app = _cached(cache_dir, f"app-{__version__}-{_source_digest(source)[:16]}",
                  ["--no-deps", *_no_isolation(), str(source)])
    _prune(cache_dir, "app-", keep=app)
    return Wheelhouse(deps=deps, app=app)


def _no_isolation() -> list[str]:
    # With hatchling at hand the project wheel builds in about a second instead of setting up
    # an isolated build environment each time.
    try:
        import hatchling  # noqa: F401
    except ImportError:
        return []
    return ["--no-build-isolation"]


def _cached(cache_dir: Path, key: str, args: list[str]) -> Path:
    """`cache_dir/key`, filled by `pip wheel ARGS` once."""
    target = cache_dir / key
    if (target / ".complete").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Build beside the final place and rename: a concurrent or interrupted build never leaves
    # a half-filled folder under the key.
    work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=cache_dir))
    try:
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                   "--wheel-dir", str(work), *args]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        shown = " ".join(args)
        if result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise DeploymentError(f"building the wheels for the image failed (`pip wheel {shown}`):\n{tail}")
        if not any(work.glob("cagents-*.whl")):
            raise DeploymentError(f"`pip wheel {shown}` made no cagents wheel")
        (work / ".complete").write_text(shown + "\n")
        try:
            work.rename(target)
        except OSError:
            if not (target / ".complete").is_file():  # not another build's finished result
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _prune(cache_dir: Path, prefix: str, *, keep: Path, count: int = 3) -> None:
    """Drop all but the newest few project wheels (each source edit makes one)."""
    old = sorted((p for p in cache_dir.glob(prefix + "*") if p != keep and p.is_dir()),
                 key=lambda p: p.stat().st_mtime, reverse=True)
    for path in old[count - 1:]:
        shutil.rmtree(path, ignore_errors=True)


#: What `cagents serve` imports besides cagents itself (some of it lazily, inside functions).
_SERVED_IMPORTS = (
    "fastapi", "fastapi.openapi.docs", "openai", "sqlalchemy.orm", "sqlalchemy.dialects.sqlite",
    "alembic", "alembic.command", "httpx", "pydantic", "yaml", "orjson", "uvicorn.main",
    "uvicorn.loops.auto", "uvicorn.protocols.http.auto", "uvicorn.lifespan.on",
)


def warm_up() -> None:
    """Import what the service imports, so that its bytecode is written (run in the image build).

    The service user cannot write `__pycache__`, so without this every start compiles from
    source; compiling only what is imported keeps the image ~20 MB below compiling everything.
    """
    import contextlib
    import importlib
    import pkgutil

    import cagents

    names = [m.name for m in pkgutil.walk_packages(cagents.__path__, "cagents.")]
    for name in [*names, *_SERVED_IMPORTS]:
        # Optional parts (Jupyter, MLflow) are not installed in the image.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def dockerfile(base_image: str, app_wheel: str, labels: dict[str, str] | None = None) -> str:
    """The Dockerfile text; its layers are ordered so that a source edit rebuilds little.

    Stage `install` holds the dependencies (slow, cached while pyproject.toml stays), stage
    `app` the project wheel; the final stage copies the dependencies, byte-compiles what the
    service imports (also cached), then adds cagents itself and the workflow. No wheel is
    left in the image.
    """
    label_line = ""
    if labels:
        pairs = " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in sorted(labels.items()))
        label_line = f"LABEL {pairs}\n"
    pip = (f"python3 -m pip --python {VENV}/bin/python install --no-index --no-cache-dir --no-compile "
           "--disable-pip-version-check --root-user-action=ignore")
    site = f"{VENV}/lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
    deps_warm = json.dumps("import " + ", ".join(_SERVED_IMPORTS))
    return f"""\
# Written by cagents.deploy.build_context. No registry and no network inside the build:
# the wheels come from the host, the base image is local.
FROM {base_image} AS install
COPY deps/ /tmp/deps/
RUN python3 -m venv --without-pip {VENV} \\
 && {pip} --find-links /tmp/deps /tmp/deps/*.whl

FROM install AS app
COPY app/ /tmp/app/
RUN {pip} --no-deps --target /tmp/out/site /tmp/app/{app_wheel} \\
 && mv /tmp/out/site/bin /tmp/out/bin && rm -rf /tmp/out/site/etc /tmp/out/site/share

FROM {base_image}
COPY --from=install {VENV} {VENV}
RUN useradd --uid {SERVICE_UID} --no-log-init --create-home --home-dir /home/cagents \\
      --shell /usr/sbin/nologin cagents \\
 && {VENV}/bin/python -c {deps_warm}
COPY --from=app /tmp/out/site/ {site}/
COPY --from=app /tmp/out/bin/ {VENV}/bin/
RUN {VENV}/bin/python -c "from cagents.deploy.build_context import warm_up; warm_up()"
COPY workflow.yaml {CONTAINER_WORKFLOW}
# No MLflow in the image: tracing stays off unless the deployment's env turns it on.
ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PYTHONUNBUFFERED=1 \\
    PYTHONDONTWRITEBYTECODE=1 \\
    CAGENTS_TRACING=off
USER cagents
WORKDIR /home/cagents
{label_line}CMD ["cagents", "serve", "{CONTAINER_WORKFLOW}", "--host", "127.0.0.1", "--port", "8000"]
"""


@dataclass
class BuildContext:
    """A tar stream the engine builds from, with the tag and labels the image gets."""

    fileobj: IO[bytes]
    tag: str
    labels: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        self.fileobj.close()


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")
    return slug[:60] or "workflow"


def build_context(spec_path: Path, wheels: Wheelhouse, *, workflow_name: str, base_image: str) -> BuildContext:
    """The context for `spec_path`: Dockerfile, `deps/` and `app/` wheels, `workflow.yaml`.

    The tag is a hash of all of it, so the same workflow on the same wheels and base image
    names the same image, which a deploy can reuse without building.
    """
    text = Path(spec_path).read_bytes()
    labels = {
        "cagents.workflow": workflow_name,
        "cagents.version": __version__,
        "cagents.workflow_sha256": hashlib.sha256(text).hexdigest(),
        "cagents.base_image": base_image,
    }
    app_wheel = wheels.app_wheel
    docker_text = dockerfile(base_image, app_wheel.name, labels).encode()
    # The wheel folders' names are their cache keys: they stand for their content.
    digest = hashlib.sha256(b"\0".join([docker_text, wheels.deps.name.encode(), wheels.app.name.encode()]))
    tag = f"cagents-{_slug(workflow_name)}:{digest.hexdigest()[:12]}"
    stream = tempfile.TemporaryFile()  # noqa: SIM115 - BuildContext.close() closes it
    with tarfile.open(fileobj=stream, mode="w") as tar:
        _add_bytes(tar, "Dockerfile", docker_text)
        _add_bytes(tar, "workflow.yaml", text)
        for wheel in wheels.dep_wheels():
            tar.add(str(wheel), arcname=f"deps/{wheel.name}", filter=_plain)
        tar.add(str(app_wheel), arcname=f"app/{app_wheel.name}", filter=_plain)
    stream.seek(0)
    return BuildContext(fileobj=stream, tag=tag, labels=labels)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def _plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # Host owners and times are nobody's business inside the image, and would break caching.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    info.mode = 0o644
    return info
