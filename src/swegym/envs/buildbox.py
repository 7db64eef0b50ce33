"""Running a build script in bubblewrap: mounts, the uv cache and where the venv is made.

uv installs fastest by hard-linking files from its cache, which works only when the venv and
the cache are on one mount. So when the cache and the env directory share a file system, the
venv is made inside the cache's mount (``<cache>/swegym-staging/<build>/env``) as a relocatable
venv, hard-linked from the cache, and moved to the env directory afterwards; it is mounted
read-only at ``/opt/swegym/env`` in every episode. uv never rewrites a cache entry, and no
episode mounts the cache, so shared inodes are not writable from any episode. Otherwise (another
file system, or ``SWEGYM_ENV_LINK_MODE=copy``) the venv is built at its mount point and copied.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from swegym.envs.buildscript import build_script
from swegym.envs.python import Interpreter
from swegym.envs.spec import EnvSpec
from swegym.envs.uvtool import uv_bin, uv_cache_dir
from swegym.errors import EnvBuildError
from swegym.sandbox.bwrap import ENV_MOUNT, Layout, build_argv, find_bwrap
from swegym.sandbox.launch import run_logged
from swegym.sandbox.limits import Limits

UV_MOUNT = "/opt/swegym/bin/uv"
UV_CACHE_MOUNT = "/opt/swegym/uv-cache"
STAGING = "swegym-staging"
"""Directory inside the uv cache where hard-linked venvs are built (moved out when done)."""
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


@dataclass(frozen=True)
class VenvPlan:
    """Where the build makes the venv and how uv fills it."""

    link_mode: str
    """'hardlink' (venv inside the cache's mount) or 'copy' (venv at its mount point)."""
    host_dir: Path
    """The venv on the host while it is built."""
    sandbox_dir: str
    """The venv's path inside the build sandbox."""


def plan_venv(cache: Path, staging: Path, at_mount: bool = False) -> VenvPlan:
    """Hard links when the cache and the staging directory share a file system (and neither the
    user nor the spec, ``venv_at_mount``, asks for the venv at its mount point), else copies
    into the venv at its mount point."""
    wanted = os.environ.get("SWEGYM_ENV_LINK_MODE", "auto")
    if wanted not in ("auto", "copy", "hardlink"):
        raise EnvBuildError(f"SWEGYM_ENV_LINK_MODE={wanted!r}: use auto, copy or hardlink")
    same_fs = os.stat(cache).st_dev == os.stat(staging).st_dev
    if wanted == "copy" or at_mount or not same_fs:
        return VenvPlan("copy", staging / "env", ENV_MOUNT)
    _sweep(cache / STAGING)
    rel = f"{STAGING}/{staging.name}/env"
    return VenvPlan("hardlink", cache / rel, f"{UV_CACHE_MOUNT}/{rel}")


def _sweep(root: Path, max_age_s: float = 6 * 3600) -> None:
    """Remove venvs left in the cache by builds that were killed (older than any build runs)."""
    if not root.is_dir():
        return
    now = time.time()
    for entry in root.iterdir():
        with contextlib.suppress(OSError):
            if now - entry.stat().st_mtime > max_age_s:
                shutil.rmtree(entry, ignore_errors=True)


def passthrough_env(link_mode: str, timeout: float = 1800) -> dict[str, str]:
    """The host variables a build may see (index and proxy settings) and uv's fixed settings."""
    out = {k: v for k, v in os.environ.items() if k.startswith(_PASSTHROUGH_PREFIXES) or k in _PASSTHROUGH}
    out.update(
        {
            "UV_CACHE_DIR": UV_CACHE_MOUNT,
            "UV_LINK_MODE": link_mode,
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_PROGRESS": "1",
            "UV_NO_CONFIG": "1",
            # uv locks an editable build by its path, and every build's project is /testbed: a
            # concurrent build's long native compile holds that lock past uv's default 300 s, so
            # a build waits as long as it may run instead of failing.
            "UV_LOCK_TIMEOUT": str(int(timeout)),
        }
    )
    return out


def run_build(
    spec: EnvSpec, python: Interpreter, repo_dir: Path, staging: Path, timeout: float
) -> int | None:
    """Run the build script in bubblewrap (with the network, for the package index), the repo at
    /testbed over an overlay whose upper layer catches what the build writes there; the venv
    ends up in ``staging/env``. The exit status, or None on timeout; output in ``build.log``."""
    cache = uv_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    plan = plan_venv(cache, staging, spec.venv_at_mount)
    plan.host_dir.mkdir(parents=True, exist_ok=True)
    rw = [(cache, UV_CACHE_MOUNT)]
    if plan.link_mode == "copy":
        rw.insert(0, (plan.host_dir, ENV_MOUNT))
    layout = Layout(
        repo_layers=[repo_dir],
        repo_upper=staging / "upper",
        ro_binds=[(python.prefix, str(python.prefix)), (Path(uv_bin()), UV_MOUNT)],
        rw_binds=rw,
        env={
            **passthrough_env(plan.link_mode),
            "PATH": f"/opt/swegym/bin:{plan.sandbox_dir}/bin:/usr/bin:/bin",
        },
    )
    argv = build_argv(find_bwrap(), layout, network=True, tmp_size_mb=4096, repo_mode="overlay")
    script = build_script(
        spec, str(python.executable), env_dir=plan.sandbox_dir, relocatable=plan.link_mode == "hardlink"
    )
    log = staging / "build.log"
    with log.open("ab") as f:
        f.write(f"# venv: {plan.link_mode} from the uv cache\n$ {script}\n".encode())
    limits = Limits(memory_mb=8192, pids=2048)
    limits.setup()
    try:
        # bwrap gets a minimal host environment and the seccomp filter; the build's output
        # reaches build.log through a pipe, capped (the build never holds the log's descriptor).
        return run_logged(limits.wrap([*argv, "/bin/bash", "-c", script]), log, timeout)
    finally:
        limits.cleanup()
        _settle(plan, staging)


def _settle(plan: VenvPlan, staging: Path) -> None:
    """Move a venv built inside the cache's mount to ``staging/env`` (same file system: a rename)."""
    if plan.link_mode != "hardlink":
        return
    dest = staging / "env"
    shutil.rmtree(dest, ignore_errors=True)
    if plan.host_dir.exists():
        plan.host_dir.rename(dest)
    shutil.rmtree(plan.host_dir.parent, ignore_errors=True)
