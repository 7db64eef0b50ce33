"""What a sandbox mounts where: backend-neutral, so every backend takes the same `Layout`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ENV_MOUNT = "/opt/swegym/env"
TOOLS_MOUNT = "/opt/swegym/lib"
INPUT_MOUNT = "/run/swegym/input"
XFER_MOUNT = "/run/swegym/xfer"
REPO_MOUNT = "/testbed"


@dataclass
class Layout:
    """What is mounted where in a sandbox."""

    repo_layers: list[Path] = field(default_factory=list)
    """Lower layers of /testbed, lowest first (the repo, then files the env build added)."""
    repo_upper: Path | None = None
    """Host directory holding writes to /testbed ('overlay' mode)."""
    repo_copy: Path | None = None
    """Host directory bound read-write at /testbed ('copy' mode)."""
    env_dir: Path | None = None
    """Built environment, mounted read-only at /opt/swegym/env."""
    ro_binds: list[tuple[Path, str]] = field(default_factory=list)
    """(host path, sandbox path) pairs mounted read-only (grading inputs, the harness's plugins)."""
    rw_binds: list[tuple[Path, str]] = field(default_factory=list)
    """(host path, sandbox path) pairs mounted read-write."""
    env: dict[str, str] = field(default_factory=dict)
    """Environment variables on top of the sandbox's fixed set (never the host's)."""
    cwd: str = REPO_MOUNT
    """Working directory of the shell and of one-shot scripts."""
    masks: list[str] = field(default_factory=list)
    """Paths under /testbed shown as empty read-only files (stale bytecode that would leak code)."""
    frozen: list[tuple[Path, str]] = field(default_factory=list)
    """(host path, sandbox path) pairs mounted read-only after /testbed, so they cover paths in
    it (grading binds the pristine ``.git`` over /testbed/.git: nothing a diff does can write it)."""
    clock: str | None = None
    """Start of the sandbox's wall clock, 'YYYY-MM-DD HH:MM:SS' (the task's date), used when
    ``SandboxConfig.clock`` is 'task' (see :mod:`swegym.sandbox.clock`); None: the real clock."""

    def with_binds(self, *ro: tuple[Path, str]) -> Layout:
        """A copy of this layout with ``ro`` added to the read-only binds."""
        return Layout(**{**self.__dict__, "ro_binds": [*self.ro_binds, *ro]})
