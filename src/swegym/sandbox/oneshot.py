"""One-shot scripts in a fresh sandbox: output to a log (capped), results over a side channel."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from swegym.errors import SandboxError
from swegym.sandbox.base import ExecRequest, ExecResponse
from swegym.sandbox.launch import popen
from swegym.sandbox.limits import JOIN_FAILED, Limits
from swegym.sandbox.output import CappedLog


class _Channel:
    """The results side channel: a pipe whose write end the script inherits, drained by a thread."""

    def __init__(self, enabled: bool) -> None:
        self.read_fd, self.write_fd = os.pipe() if enabled else (-1, -1)
        self.chunks: list[bytes] = []
        self.reader: threading.Thread | None = None

    def start_reading(self) -> None:
        """Close our copy of the write end (EOF comes when the script's copies close) and drain."""
        if self.write_fd < 0:
            return
        os.close(self.write_fd)
        self.write_fd = -1
        self.reader = threading.Thread(target=_drain, args=(self.read_fd, self.chunks), daemon=True)
        self.reader.start()
        self.read_fd = -1  # the reader closes it

    def finish(self) -> str:
        if self.reader is not None:
            self.reader.join(timeout=10)
        return b"".join(self.chunks).decode("utf-8", errors="replace")

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            if fd >= 0:
                os.close(fd)
        self.read_fd = self.write_fd = -1


def run_script(
    argv_for: Callable[[dict[str, str]], list[str]],
    env: dict[str, str],
    limits: Limits,
    work: Path,
    request: ExecRequest,
) -> ExecResponse:
    """Run ``request.script`` under the sandbox argv that ``argv_for(env)`` builds.

    The results channel is a pipe whose write end the script inherits (its number in
    ``$SWEGYM_RESULTS_FD``); the printed output comes through another pipe, back capped to
    ``output_limit`` and, if ``log_path`` is set, into that host file capped to ``log_limit``
    (the sandbox never holds a descriptor of the file itself)."""
    channel = _Channel(request.results_channel)
    if request.results_channel:
        env = {**env, "SWEGYM_RESULTS_FD": str(channel.write_fd)}
    proc: subprocess.Popen[bytes] | None = None
    start = time.perf_counter()
    timed_out, code = False, None
    try:
        limits.setup()
        argv = [*argv_for(env), "/bin/bash", "--noprofile", "--norc", "-c", request.script]
        out = _start(argv, channel, request)
        proc = out[0]
        channel.start_reading()
        try:
            code = proc.wait(timeout=request.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _reap(proc, limits)  # before draining: what is left would hold the pipes open
        results = channel.finish()
        data, dropped = out[1].finish()
    except OSError as exc:
        raise SandboxError(f"could not start the sandbox: {exc}") from None
    finally:
        _reap(proc, limits)
        channel.close()
        limits.cleanup()
    if code == 125 and JOIN_FAILED.encode() in data:
        raise SandboxError("could not join the sandbox's cgroups")
    return ExecResponse(
        exit_code=code,
        timed_out=timed_out,
        output=data.decode("utf-8", errors="replace"),
        truncated_bytes=dropped,
        duration_s=time.perf_counter() - start,
        results=results,
    )


def _start(
    argv: list[str], channel: _Channel, request: ExecRequest
) -> tuple[subprocess.Popen[bytes], CappedLog]:
    """Start the script with its output on a pipe that a :class:`CappedLog` drains."""
    read_fd, write_fd = os.pipe()
    try:
        proc = popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=write_fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(channel.write_fd,) if request.results_channel else (),
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    log_path = Path(request.log_path) if request.log_path else None
    return proc, CappedLog(read_fd, request.output_limit, log_path, request.log_limit)


def _reap(proc: subprocess.Popen[bytes] | None, limits: Limits) -> None:
    """Kill whatever is left of a script that is still running (timeout, Ctrl-C or an error)."""
    if proc is not None and proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        limits.kill_all()
        proc.wait()


def _drain(fd: int, sink: list[bytes]) -> None:
    try:
        while True:
            data = os.read(fd, 1 << 16)
            if not data:
                break
            sink.append(data)
    finally:
        os.close(fd)
