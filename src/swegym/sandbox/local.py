"""The local sandbox: bubblewrap namespaces, cgroup limits and a persistent shell."""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import threading
import uuid
from dataclasses import replace
from pathlib import Path
from types import TracebackType

from swegym.errors import SandboxError
from swegym.sandbox.base import Command, CommandResponse, ExecRequest, ExecResponse
from swegym.sandbox.bwrap import XFER_MOUNT, Layout, build_argv, find_bwrap
from swegym.sandbox.clock import apply_clock
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.hostfs import TamperedError, open_transfer_file, private_dir
from swegym.sandbox.launch import popen
from swegym.sandbox.limits import Limits, descendants, dir_size
from swegym.sandbox.oneshot import run_script
from swegym.sandbox.session import ShellSession


class LocalSandbox:
    """An episode sandbox on this machine.

    ``/testbed`` is the task's repo (writable, through an overlay of the read-only cached repo),
    ``/opt/swegym/env`` the read-only environment, ``/tmp`` a private sized tmpfs. No host
    network, home directory or environment variables are visible; processes, memory, disk,
    output and time are bounded. Use as a context manager, or call ``close()``.
    """

    def __init__(self, layout: Layout, config: SandboxConfig | None = None) -> None:
        self.layout = layout
        self.config = config or SandboxConfig()
        self.bwrap = find_bwrap(self.config.bwrap)
        self._workdir: Path | None = None
        self._limits: Limits | None = None
        self._session: ShellSession | None = None
        self._lock = threading.Lock()
        self._live_layout = layout
        self._guard: threading.Thread | None = None
        self._guard_stop = threading.Event()
        self._violation: str | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def _prepare(self, tag: str) -> tuple[Layout, Path]:
        """A per-instance copy of the layout with its own writable layer for /testbed."""
        # Under a 0700 parent (mkdtemp's own mode is 0700 too): what the sandbox writes to its
        # upper layer is out of reach of other host users.
        root = private_dir(Path(self.config.workdir) if self.config.workdir else None)
        work = Path(tempfile.mkdtemp(prefix=f"{tag}-", dir=root))
        layout = Layout(**{**self.layout.__dict__})
        if self.config.repo_mode == "overlay":
            layout.repo_upper = work / "upper"
            layout.repo_upper.mkdir()
        elif self.config.repo_mode == "copy" and self.layout.repo_layers:
            layout.repo_copy = work / "repo"
            for layer in self.layout.repo_layers:
                shutil.copytree(layer, layout.repo_copy, symlinks=True, dirs_exist_ok=True)
        return layout, work

    def _argv(self, layout: Layout, limits: Limits) -> list[str]:
        argv = build_argv(
            self.bwrap,
            apply_clock(layout, self.config.clock),  # the task's date, or the real clock
            network=self.config.network,
            tmp_size_mb=self.config.tmp_size_mb,
            repo_mode=self.config.repo_mode,
        )
        return limits.wrap(argv)

    def start(self) -> None:
        """Start the sandbox and its persistent shell (idempotent)."""
        if self._session is not None and self._session.alive:
            return
        self.close()
        layout, self._workdir = self._prepare("sbx")
        xfer = self._workdir / "xfer"
        xfer.mkdir()
        layout.rw_binds = [*layout.rw_binds, (xfer, XFER_MOUNT)]
        self._live_layout = layout
        self._spawn_shell()
        if self.config.repo_mode != "tmp-overlay":
            self._guard_stop = threading.Event()
            self._guard = threading.Thread(target=self._disk_guard, name="swegym-disk-guard", daemon=True)
            self._guard.start()

    def _disk_guard(self) -> None:
        """For the sandbox's whole life (background jobs included), hold /testbed to disk_mb."""
        while not self._guard_stop.wait(0.5):
            reason = self._disk_watchdog()
            session = self._session
            if reason and session is not None:
                self._violation = reason
                session.interrupt()  # every process but the shell, background jobs included

    def _spawn_shell(self) -> None:
        if self._limits is not None:
            self._limits.cleanup()
        self._limits = Limits(self.config.memory_mb, self.config.pids, self.config.use_cgroups)
        self._limits.setup()
        self._session = ShellSession(self._argv(self._live_layout, self._limits), self.config.output_limit)
        self._session.start()
        probe = self._session.run("echo ready", timeout=30)
        if probe.exit_code != 0 or "ready" not in probe.output:
            detail = probe.output.strip().splitlines()[-1:] or ["no output"]
            self.close()
            raise SandboxError(f"the sandbox did not start: {detail[0]}")

    def close(self) -> None:
        """Kill every process of the sandbox and delete its writable layer (idempotent)."""
        if self._guard is not None:
            self._guard_stop.set()
            self._guard.join(timeout=5)
            self._guard = None
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._limits is not None:
            self._limits.cleanup()
            self._limits = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> LocalSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- commands --------------------------------------------------------------------------
    @property
    def upper_dir(self) -> Path | None:
        """Host directory holding this sandbox's writes to /testbed (overlay mode)."""
        return self._workdir / "upper" if self._workdir and self.config.repo_mode == "overlay" else None

    def _disk_watchdog(self) -> str | None:
        if self._workdir is None:
            return None
        layer = self._workdir / ("upper" if self.config.repo_mode == "overlay" else "repo")
        used = sum(dir_size(d) for d in (layer, self._workdir / "xfer") if d.exists())
        if used > self.config.disk_mb << 20:
            return f"disk limit of {self.config.disk_mb} MB for /testbed exceeded"
        return None

    # -- file transfer -------------------------------------------------------------------
    # Files cross through a per-sandbox directory bound at /run/swegym/xfer: one `cat` inside
    # instead of pushing the bytes through the shell's command line (bash parses its input one
    # byte at a time from a pipe, which makes large payloads slow).
    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes:
        """Bytes of ``path`` as the sandbox sees it; SandboxError if unreadable or too large."""
        if self._workdir is None:
            raise SandboxError("the sandbox is not running (call start())")
        name = f"r-{uuid.uuid4().hex}"
        q = shlex.quote(path)
        r = self.run(
            f"if [ ! -f {q} ]; then echo 'not a regular file' >&2; false; "
            f"elif [ $(stat -c %s -- {q}) -gt {max_bytes} ]; then echo 'larger than "
            f"{max_bytes >> 20} MiB' >&2; false; else cat -- {q} > {XFER_MOUNT}/{name}; fi"
        )
        host = self._workdir / "xfer" / name
        try:
            if r.exit_code != 0:
                raise SandboxError(f"cannot read {path}: {r.output.strip()}")
            with open_transfer_file(host, os.O_RDONLY) as fh:
                return fh.read(max_bytes + 1)[:max_bytes]
        except TamperedError:
            raise SandboxError(f"cannot read {path}: the transfer file was tampered with") from None
        finally:
            host.unlink(missing_ok=True)

    def write_file(self, path: str, data: bytes) -> None:
        """Write ``data`` to ``path`` inside the sandbox (parent directories created)."""
        if self._workdir is None:
            raise SandboxError("the sandbox is not running (call start())")
        name = f"w-{uuid.uuid4().hex}"
        host = self._workdir / "xfer" / name
        try:
            with open_transfer_file(host, os.O_WRONLY | os.O_CREAT | os.O_EXCL) as fh:
                fh.write(data)
        except (TamperedError, FileExistsError):
            host.unlink(missing_ok=True)
            raise SandboxError(f"cannot write {path}: the transfer file was tampered with") from None
        q = shlex.quote(path)
        parent = shlex.quote(os.path.dirname(path) or "/")
        try:
            r = self.run(f"{{ [ -d {parent} ] || mkdir -p -- {parent}; }} && cat {XFER_MOUNT}/{name} > {q}")
            if r.exit_code != 0:
                raise SandboxError(f"cannot write {path}: {r.output.strip()}")
        finally:
            host.unlink(missing_ok=True)

    def execute(self, command: Command) -> CommandResponse:
        """Run a command in the persistent shell.

        If a command kills the shell (``exit``, a failed fork under the process limit, the
        memory limit), a new shell is started for the next command; in 'overlay' and 'copy'
        modes the files in /testbed are kept, only shell state (cwd, variables) is lost.
        """
        with self._lock:
            if self._session is None:
                raise SandboxError("the sandbox is not running (call start())")
            timeout = command.timeout or self.config.command_timeout
            watchdog = self._disk_watchdog if self.config.repo_mode != "tmp-overlay" else None
            resp = self._session.run(command.command, timeout, watchdog, command.output_limit)
            if self._violation:
                resp.output += f"\n[processes were killed: {self._violation}]"
                self._violation = None
            if not self._session.alive:
                self._session.close()
                kept = (
                    "files in /testbed are kept"
                    if self.config.repo_mode != "tmp-overlay"
                    else ("/testbed was reset")
                )
                resp.output += f"\n[a new shell was started; {kept}]"
                self._spawn_shell()
            return resp

    def process_count(self) -> int:
        """Processes now alive in the sandbox (bwrap's own two included)."""
        if self._session is None or self._session.proc is None:
            return 0
        return len(descendants(self._session.proc.pid)) + 1

    def run(
        self, command: str, timeout: float | None = None, output_limit: int | None = None
    ) -> CommandResponse:
        """Shorthand for ``execute(Command(command=..., timeout=..., output_limit=...))``."""
        return self.execute(Command(command=command, timeout=timeout, output_limit=output_limit))

    def exec_once(self, request: ExecRequest) -> ExecResponse:
        """Run ``request.script`` with bash in a fresh copy of this sandbox, then tear it down."""
        layout, work = self._prepare("once")
        limits = Limits(self.config.memory_mb, self.config.pids, self.config.use_cgroups)
        try:
            argv_for = lambda env: self._argv(replace(layout, env=env), limits)  # noqa: E731
            return run_script(argv_for, layout.env, limits, work, request)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def interactive(self, script: str = "", env: dict[str, str] | None = None) -> int:
        """Run ``script``, then an interactive bash on this terminal, in a fresh copy of the sandbox."""
        layout, work = self._prepare("shell")
        layout = replace(layout, env={**layout.env, **(env or {})})
        limits = Limits(self.config.memory_mb, self.config.pids, self.config.use_cgroups)
        limits.setup()
        try:
            argv = [*self._argv(layout, limits), "/bin/bash", "-c", script + "\nexec /bin/bash --norc -i"]
            return popen(argv).wait()
        finally:
            limits.cleanup()
            shutil.rmtree(work, ignore_errors=True)
