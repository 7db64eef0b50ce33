"""Resource limits: cgroups (v1 or v2) where writable, rlimits otherwise.

RLIMIT_NPROC does not bind uid 0, and a sandbox started by root keeps uid 0 on the host, so the
process limit needs the pids controller; memory uses the memory controller, which also charges
the sandbox's tmpfs files (its /tmp and in-memory overlay).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
JOIN_FAILED = "swegym-sandbox: cannot join the sandbox cgroups"


def _writable(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)


def _cgroup_mode() -> str | None:
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        own = _own_v2_cgroup()
        if own is not None and _writable(own):
            controllers = (own / "cgroup.controllers").read_text().split()
            if {"pids", "memory"} <= set(controllers):
                return "v2"
        return None
    if _writable(CGROUP_ROOT / "pids") and _writable(CGROUP_ROOT / "memory"):
        return "v1"
    return None


def _own_v2_cgroup() -> Path | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return CGROUP_ROOT / line[3:].lstrip("/")
    except OSError:
        return None
    return None


def _sweep_stale(min_age: float = 300.0) -> None:
    """Remove empty swegym cgroups left by processes that died without cleaning up."""
    now = time.time()
    parents = [CGROUP_ROOT / "pids", CGROUP_ROOT / "memory"]
    own = _own_v2_cgroup()
    if own is not None:
        parents.append(own)
    for parent in parents:
        with contextlib.suppress(OSError):
            for d in parent.glob("swegym-*"):
                with contextlib.suppress(OSError):
                    if now - d.stat().st_mtime > min_age:
                        d.rmdir()  # fails, harmlessly, while processes are inside


@dataclass
class Limits:
    """Limits for one sandbox; ``wrap`` prefixes a command so its process joins them."""

    memory_mb: int
    pids: int
    use_cgroups: bool = True
    dirs: list[Path] = field(default_factory=list)
    mode: str | None = None

    def setup(self) -> None:
        """Create the cgroups (if possible) and write the limits."""
        self.mode = _cgroup_mode() if self.use_cgroups else None
        if self.mode:
            _sweep_stale()
        name = f"swegym-{uuid.uuid4().hex[:12]}"
        mem = self.memory_mb << 20
        try:
            if self.mode == "v1":
                pids_dir = CGROUP_ROOT / "pids" / name
                mem_dir = CGROUP_ROOT / "memory" / name
                pids_dir.mkdir()
                self.dirs.append(pids_dir)
                mem_dir.mkdir()
                self.dirs.append(mem_dir)
                (pids_dir / "pids.max").write_text(str(self.pids))
                (mem_dir / "memory.limit_in_bytes").write_text(str(mem))
                with contextlib.suppress(OSError):
                    (mem_dir / "memory.memsw.limit_in_bytes").write_text(str(mem))
            elif self.mode == "v2":
                own = _own_v2_cgroup()
                assert own is not None
                d = own / name
                d.mkdir()
                self.dirs.append(d)
                (d / "pids.max").write_text(str(self.pids))
                (d / "memory.max").write_text(str(mem))
                with contextlib.suppress(OSError):
                    (d / "memory.swap.max").write_text("0")
        except OSError:
            self.cleanup()
            self.mode = None

    def wrap(self, argv: list[str]) -> list[str]:
        """Prefix ``argv`` with a shell that joins the cgroups (or sets rlimits) then execs."""
        if self.mode:
            joins = " && ".join(f"echo $$ > '{d}/cgroup.procs'" for d in self.dirs)
            script = f"{{ {joins}; }} 2>/dev/null || {{ echo '{JOIN_FAILED}' >&2; exit 125; }}; exec \"$@\""
        else:
            kb = self.memory_mb << 10
            script = f'ulimit -v {kb} 2>/dev/null; ulimit -u {self.pids} 2>/dev/null; exec "$@"'
        return ["/bin/sh", "-c", script, "swegym-sandbox", *argv]

    def pids_in(self) -> list[int]:
        """Host pids of every process in the sandbox's cgroup (empty without cgroups)."""
        for d in self.dirs:
            try:
                return [int(x) for x in (d / "cgroup.procs").read_text().split()]
            except OSError:
                continue
        return []

    def kill_all(self) -> None:
        """SIGKILL every process in the cgroups, repeatedly, until they are empty."""
        kill_until_gone(self.pids_in, rounds=50, pause=0.01)

    def cleanup(self) -> None:
        """Kill what is left and remove the cgroups."""
        self.kill_all()
        for d in reversed(self.dirs):
            for _ in range(100):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        self.dirs.clear()

    def memory_peak_mb(self) -> float | None:
        """Peak memory use, if the cgroup reports it."""
        for d in self.dirs:
            for name in ("memory.max_usage_in_bytes", "memory.peak"):
                f = d / name
                if f.exists():
                    with contextlib.suppress(OSError, ValueError):
                        return int(f.read_text()) / (1 << 20)
        return None


def kill_until_gone(find: Callable[[], list[int]], rounds: int, pause: float) -> None:
    """SIGKILL the pids ``find`` returns, again and again (forks race the kill), until none."""
    for _ in range(rounds):
        pids = find()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(pause)


def descendants(root: int) -> list[int]:
    """Host pids of every descendant of ``root`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: list[int] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def dir_size(path: Path) -> int:
    """Bytes used by regular files under ``path`` (not following symlinks)."""
    total = 0
    stack = [str(path)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_blocks * 512
                    except OSError:
                        continue
        except OSError:
            continue
    return total
