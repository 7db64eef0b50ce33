"""Starting bwrap from the host: a minimal environment and the seccomp filter.

bwrap's own process becomes pid 1 of the sandbox, and its environment is readable there at
``/proc/1/environ`` (``--clearenv`` only clears the child's), so bwrap starts with
:func:`launch_env`, never the host's; :func:`popen` also hands bwrap the seccomp filter.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from swegym.sandbox.output import LOG_LIMIT, CappedLog
from swegym.sandbox.seccomp import filter_fd

SECCOMP_FD_ARG = "@swegym-seccomp-fd@"
"""Placeholder in a bwrap argv for the filter's descriptor; :func:`popen` fills it in."""


def launch_env() -> dict[str, str]:
    """The environment bwrap itself starts with: nothing from the host."""
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def popen(argv: Sequence[str], *, pass_fds: Sequence[int] = (), **kwargs: Any) -> subprocess.Popen[bytes]:
    """``subprocess.Popen`` for a bwrap argv: :func:`launch_env`, and a fresh seccomp filter
    descriptor in place of :data:`SECCOMP_FD_ARG`."""
    fd = filter_fd()
    try:
        args = [str(fd) if a == SECCOMP_FD_ARG else a for a in argv]
        kwargs.setdefault("cwd", "/")  # a shell on the way exports PWD: not the host's
        return subprocess.Popen(args, env=launch_env(), pass_fds=(*pass_fds, fd), **kwargs)
    finally:
        os.close(fd)  # the child has its own copy


def run_logged(argv: Sequence[str], log_path: Path, timeout: float, log_limit: int = LOG_LIMIT) -> int | None:
    """Run a bwrap argv to its end with its output appended to ``log_path`` through a pipe, at
    most ``log_limit`` bytes of it (head and tail); the exit status, or None on timeout (the
    sandbox is then killed: ``--die-with-parent`` takes it down with bwrap)."""
    read_fd, write_fd = os.pipe()
    try:
        proc = popen(argv, stdin=subprocess.DEVNULL, stdout=write_fd, stderr=subprocess.STDOUT)
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    log = CappedLog(read_fd, 1024, log_path, log_limit, append=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None
    finally:
        log.finish()
