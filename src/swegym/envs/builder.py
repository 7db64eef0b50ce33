"""Building environments: a venv made by uv inside a sandbox, at the path where it is mounted.

The build runs in bubblewrap with the network (to reach the package index) and with the repo at
/testbed through an overlay, so an editable install points at /testbed and every file the build
adds to the repo (egg-info, generated version files) is captured in the overlay's upper layer.
That layer is kept as ``repo-extra`` and stacked over the repo in every episode. A build happens
in a temporary directory renamed into place only on success: a failed build never looks valid.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from swegym.config import sub_cache
from swegym.envs.buildbox import run_build
from swegym.envs.prebuild import apply_edits, check_tools, fill_submodules, restore_edits, with_build_requires
from swegym.envs.python import Interpreter, find_interpreter
from swegym.envs.recipe import utc_timestamp
from swegym.envs.spec import EnvSpec
from swegym.errors import EnvBuildError
from swegym.sandbox.bwrap import ENV_MOUNT, REPO_MOUNT, Layout
from swegym.sandbox.limits import dir_size
from swegym.sources.materialize import file_lock


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


def _unshared_bytes(root: Path) -> int:
    """Bytes of the files only this env holds (hard links into uv's cache are shared)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_nlink == 1:
                total += st.st_size
    return total


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


def _git(repo_dir: Path, *args: str) -> str:
    out = subprocess.run(["git", "-C", str(repo_dir), *args], capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        raise EnvBuildError(f"{repo_dir} is not a git checkout (git {' '.join(args)} failed)")
    return out.stdout.strip()


def resolve_for_repo(spec: EnvSpec, repo_dir: Path) -> EnvSpec:
    """``spec`` with what it takes from the repo at its base commit: the commit (``per_commit``),
    the committer date (``date_from='commit'``, or ``'task'`` not resolved by a task) and the
    digest of its ``key_files``."""
    update: dict[str, object] = {}
    if spec.per_commit and not spec.commit:
        update["commit"] = _git(repo_dir, "rev-parse", "HEAD")
    if spec.key_files and not spec.key_digest:
        update["key_digest"] = key_digest(repo_dir, spec.key_files)
    if spec.date_from == "commit" or (spec.date_from == "task" and not spec.exclude_newer):
        update["exclude_newer"] = utc_timestamp(_git(repo_dir, "log", "-1", "--format=%cI", "HEAD"))
    return spec.model_copy(update=update) if update else spec


def key_digest(repo_dir: Path, files: list[str]) -> str:
    """A digest of ``files`` in ``repo_dir`` (a missing file, or a link, counts as absent)."""
    h = hashlib.sha256()
    for name in files:
        path = repo_dir / name
        data = path.read_bytes() if path.is_file() and not path.is_symlink() else b"\0absent"
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()[:16]


def build_env(
    spec: EnvSpec,
    repo_dir: Path,
    *,
    force: bool = False,
    timeout: float = 1800,
    mirrors: Mapping[str, str] | None = None,
) -> BuiltEnv:
    """Build (or reuse) the environment for ``spec`` using ``repo_dir`` as /testbed.

    ``mirrors`` (``owner/name`` -> local clone) is where empty submodules are filled from. The
    build log stays in the env directory (``build.log``), its seconds in ``env.json``."""
    spec = resolve_for_repo(spec, repo_dir)
    python = find_interpreter(spec.python)
    path = env_path(spec, python)
    with file_lock(path.with_name(path.name + ".lock")):
        existing = load_built(spec)
        if existing and not force:
            return existing
        check_tools(spec)
        if path.exists():
            shutil.rmtree(path)
        staging = Path(tempfile.mkdtemp(prefix=path.name + ".build-", dir=path.parent))
        try:
            return _build_into(spec, python, repo_dir, staging, path, timeout, mirrors or {})
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _prepare_upper(spec: EnvSpec, repo_dir: Path, staging: Path, mirrors: Mapping[str, str]) -> list[str]:
    """Edits and submodules into the upper layer before the install; notes go to build.log.
    Returns the build-only edited files, taken out again after the install."""
    notes: list[str] = []
    try:
        fill_submodules(spec, repo_dir, staging / "upper", mirrors, notes)
        restore = apply_edits(spec, repo_dir, staging / "upper", notes)
    finally:
        (staging / "build.log").write_text("".join(n + "\n" for n in notes))
    return restore


def _build_into(
    spec: EnvSpec,
    python: Interpreter,
    repo_dir: Path,
    staging: Path,
    path: Path,
    timeout: float,
    mirrors: Mapping[str, str],
) -> BuiltEnv:
    for sub in ("env", "upper", "upper.work"):
        (staging / sub).mkdir()
    start = time.perf_counter()
    restore = _prepare_upper(spec, repo_dir, staging, mirrors)
    code = run_build(with_build_requires(spec, repo_dir), python, repo_dir, staging, timeout)
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
    restore_edits(restore, staging / "upper")
    _keep_repo_changes(staging / "upper", staging / "repo-extra")
    shutil.rmtree(staging / "upper.work", ignore_errors=True)
    info: dict[str, object] = {
        "ok": True,
        "spec": spec.model_dump(mode="json"),
        "build_key": spec.build_key(python.version),
        "python": python.version,
        "python_executable": str(python.executable),
        "build_seconds": round(seconds, 2),
        "size_mb": round(dir_size(staging / "env") / 2**20, 1),
        "unshared_mb": round(_unshared_bytes(staging / "env") / 2**20, 1),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_log": "build.log",
    }
    (staging / "env.json").write_text(json.dumps(info, indent=2))
    staging.rename(path)
    return BuiltEnv(path, spec, python, info)
