"""Building environments: a venv made by uv inside a sandbox, at the path where it is mounted.

The build runs in bubblewrap with the network (to reach the package index) and with the repo at
/testbed through an overlay, so an editable install points at /testbed and every file the build
adds to the repo (egg-info, generated version files) is captured in the overlay's upper layer.
That layer is kept as ``repo-extra`` and stacked over the repo in every episode. A build happens
in a temporary directory renamed into place only on success: a failed build never looks valid.
"""

from __future__ import annotations

import functools
import json
import os
import shlex
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from swegym.config import sub_cache
from swegym.envs.python import Interpreter, find_interpreter
from swegym.envs.spec import EnvSpec
from swegym.envs.uvtool import uv_bin, uv_cache_dir
from swegym.errors import EnvBuildError
from swegym.sandbox.bwrap import ENV_MOUNT, REPO_MOUNT, Layout, build_argv, find_bwrap
from swegym.sandbox.launch import run_logged
from swegym.sandbox.limits import Limits, dir_size
from swegym.sources.materialize import file_lock

UV_MOUNT = "/opt/swegym/bin/uv"
UV_CACHE_MOUNT = "/opt/swegym/uv-cache"
_PASSTHROUGH_PREFIXES = ("UV_INDEX", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX", "PIP_INDEX", "PIP_EXTRA")
_PASSTHROUGH = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "UV_NATIVE_TLS",
    "UV_INSECURE_HOST",
)


@dataclass
class BuiltEnv:
    """A built environment on disk."""

    path: Path
    spec: EnvSpec
    python: Interpreter
    info: dict[str, object]

    @property
    def venv(self) -> Path:
        return self.path / "env"

    @property
    def repo_extra(self) -> Path:
        return self.path / "repo-extra"

    @functools.cached_property
    def repo_extra_files(self) -> list[str]:
        """Files (not bytecode) the build wrote into the repo, relative to its root; computed once."""
        root = self.repo_extra
        if not root.is_dir():
            return []
        return sorted(
            str(p.relative_to(root))
            for p in root.rglob("*")
            if not p.is_dir() and "__pycache__" not in p.parts
        )

    def layout(self, repo_dir: Path, changed: Iterable[str] = ()) -> Layout:
        """The sandbox layout of an episode on ``repo_dir`` with this environment.

        ``changed`` lists repo files that differ from the tree the environment was built on (a
        synthetic task's injected bug): their bytecode from the build holds the original code, so
        it is masked, and Python compiles the changed source instead.
        """
        env = {"VIRTUAL_ENV": ENV_MOUNT, **self.spec.env}
        return Layout(
            repo_layers=[repo_dir, self.repo_extra],
            env_dir=self.venv,
            ro_binds=[(self.python.prefix, str(self.python.prefix))],
            env=env,
            masks=self.stale_bytecode(changed),
        )

    def stale_bytecode(self, changed: Iterable[str]) -> list[str]:
        """Sandbox paths of build-time bytecode compiled from the original versions of ``changed``."""
        out: list[str] = []
        for rel in changed:
            if not rel.endswith(".py"):
                continue
            path = Path(rel)
            cache = self.repo_extra / path.parent / "__pycache__"
            if cache.is_dir():
                for pyc in sorted(cache.glob(f"{path.stem}.*.pyc")):
                    out.append(f"{REPO_MOUNT}/{pyc.relative_to(self.repo_extra)}")
        return out


def env_path(spec: EnvSpec, python: Interpreter) -> Path:
    """Where the environment for ``spec`` lives in the cache."""
    name = f"{spec.repo.replace('/', '__')}-{spec.version}-{spec.build_key(python.version)}"
    return sub_cache("envs") / name


def load_built(spec: EnvSpec) -> BuiltEnv | None:
    """The built environment for ``spec`` if one is complete on disk."""
    python = find_interpreter(spec.python)
    path = env_path(spec, python)
    marker = path / "env.json"
    if not marker.exists():
        return None
    info = json.loads(marker.read_text())
    return BuiltEnv(path, spec, python, info) if info.get("ok") else None


def _build_script(spec: EnvSpec, python: Interpreter) -> str:
    date = ["--exclude-newer", spec.exclude_newer] if spec.exclude_newer else []
    q = shlex.join
    lines = [
        "set -euo pipefail",
        f"uv venv -q --python {shlex.quote(str(python.executable))} {ENV_MOUNT}",
        f"export VIRTUAL_ENV={ENV_MOUNT}",
    ]
    if spec.pre_install:
        lines.append(f"uv pip install {q(date)} {q(spec.pre_install)}")
    install = [*spec.uv_args, *spec.install, *spec.packages]
    lines.append(f"uv pip install --compile-bytecode {q(date)} {q(install)}")
    lines.append("uv pip freeze > /tmp/freeze.txt && cp /tmp/freeze.txt " + f"{ENV_MOUNT}/swegym-freeze.txt")
    # Bytecode for the repo itself lands in the overlay's upper layer, hence in repo-extra: every
    # episode and test run then starts from compiled modules instead of compiling them again.
    lines.append(f"{ENV_MOUNT}/bin/python -m compileall -q -j 0 /testbed > /dev/null 2>&1 || true")
    return "\n".join(lines)


def _passthrough_env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k.startswith(_PASSTHROUGH_PREFIXES) or k in _PASSTHROUGH}
    out.update(
        {
            "UV_CACHE_DIR": UV_CACHE_MOUNT,
            "UV_LINK_MODE": "copy",
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
            "UV_NO_CONFIG": "1",
        }
    )
    return out


def _keep_repo_changes(upper: Path, dest: Path) -> None:
    """Turn the build's overlay upper layer into ``repo-extra`` (no .git, no whiteouts)."""
    shutil.rmtree(upper / ".git", ignore_errors=True)
    for root, dirs, files in os.walk(upper):
        for name in files:
            p = Path(root, name)
            st = p.lstat()
            if stat.S_ISCHR(st.st_mode):  # an overlay whiteout: the build deleted a repo file
                p.unlink()
        dirs[:] = [d for d in dirs if d != ".git"]
    upper.rename(dest)


def build_env(spec: EnvSpec, repo_dir: Path, *, force: bool = False, timeout: float = 1800) -> BuiltEnv:
    """Build (or reuse) the environment for ``spec`` using ``repo_dir`` as /testbed."""
    python = find_interpreter(spec.python)
    path = env_path(spec, python)
    with file_lock(path.with_name(path.name + ".lock")):
        existing = load_built(spec)
        if existing and not force:
            return existing
        if path.exists():
            shutil.rmtree(path)
        staging = Path(tempfile.mkdtemp(prefix=path.name + ".build-", dir=path.parent))
        try:
            return _build_into(spec, python, repo_dir, staging, path, timeout)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _build_into(
    spec: EnvSpec, python: Interpreter, repo_dir: Path, staging: Path, path: Path, timeout: float
) -> BuiltEnv:
    for sub in ("env", "upper", "upper.work"):
        (staging / sub).mkdir()
    start = time.perf_counter()
    code = _run_build(spec, python, repo_dir, staging, timeout)
    seconds = time.perf_counter() - start
    log_path = staging / "build.log"
    failed_log = path.with_name(path.name + ".failed.log")
    if code != 0:
        shutil.copy(log_path, failed_log)
        tail = [ln for ln in log_path.read_text(errors="replace").splitlines() if ln.strip()][-3:]
        why = "timed out" if code is None else f"exit {code}"
        raise EnvBuildError(
            f"building {spec.repo} {spec.version} failed ({why}); log: {failed_log}; "
            f"last lines: {' | '.join(tail)}"
        )
    failed_log.unlink(missing_ok=True)
    _keep_repo_changes(staging / "upper", staging / "repo-extra")
    shutil.rmtree(staging / "upper.work", ignore_errors=True)
    info: dict[str, object] = {
        "ok": True,
        "spec": spec.model_dump(),
        "python": python.version,
        "python_executable": str(python.executable),
        "build_seconds": round(seconds, 2),
        "size_mb": round(dir_size(staging / "env") / 2**20, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (staging / "env.json").write_text(json.dumps(info, indent=2))
    staging.rename(path)
    return BuiltEnv(path, spec, python, info)


def _run_build(
    spec: EnvSpec, python: Interpreter, repo_dir: Path, staging: Path, timeout: float
) -> int | None:
    """Run the build script in bubblewrap (with the network, for the package index), the repo at
    /testbed over an overlay whose upper layer catches what the build writes there; the exit
    status, or None on timeout. The output goes to ``staging/build.log``."""
    cache = uv_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    layout = Layout(
        repo_layers=[repo_dir],
        repo_upper=staging / "upper",
        ro_binds=[(python.prefix, str(python.prefix)), (Path(uv_bin()), UV_MOUNT)],
        rw_binds=[(staging / "env", ENV_MOUNT), (cache, UV_CACHE_MOUNT)],
        env={**_passthrough_env(), "PATH": f"/opt/swegym/bin:{ENV_MOUNT}/bin:/usr/bin:/bin"},
    )
    argv = build_argv(find_bwrap(), layout, network=True, tmp_size_mb=4096, repo_mode="overlay")
    limits = Limits(memory_mb=8192, pids=2048)
    limits.setup()
    script = _build_script(spec, python)
    log = staging / "build.log"
    log.write_bytes(f"$ {script}\n".encode())
    try:
        # bwrap gets a minimal host environment and the seccomp filter; the build's output
        # reaches build.log through a pipe, capped (the build never holds the log's descriptor).
        return run_logged(limits.wrap([*argv, "/bin/bash", "-c", script]), log, timeout)
    finally:
        limits.cleanup()
