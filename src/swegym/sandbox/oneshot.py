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
from swegym.sandbox.limits import JOIN_FAILED, Limits
from swegym.sandbox.session import OutputBuffer


def run_script(
    argv_for: Callable[[dict[str, str]], list[str]],
    env: dict[str, str],
    limits: Limits,
    work: Path,
    request: ExecRequest,
) -> ExecResponse:
    """Run ``request.script`` under the sandbox argv that ``argv_for(env)`` builds.

    The results channel is a pipe whose write end the script inherits (its number in
    ``$SWEGYM_RESULTS_FD``); the printed output goes to a log file and comes back capped.
    """
    log_path = Path(request.log_path) if request.log_path else work / "output.log"
    read_fd, write_fd = os.pipe() if request.results_channel else (-1, -1)
    if request.results_channel:
        env = {**env, "SWEGYM_RESULTS_FD": str(write_fd)}
    chunks: list[bytes] = []
    proc: subprocess.Popen[bytes] | None = None
    start = time.perf_counter()
    timed_out = False
    code: int | None = None
    try:
        limits.setup()
        argv = [*argv_for(env), "/bin/bash", "--noprofile", "--norc", "-c", request.script]
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(write_fd,) if request.results_channel else (),
            )
        reader = None
        if request.results_channel:
            os.close(write_fd)
            write_fd = -1
            reader = threading.Thread(target=_drain, args=(read_fd, chunks), daemon=True)
            reader.start()
            read_fd = -1  # the reader closes it
        try:
            code = proc.wait(timeout=request.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        if reader is not None:
            reader.join(timeout=10)
        data, dropped = _read_capped(log_path, request.output_limit)
    except OSError as exc:
        raise SandboxError(f"could not start the sandbox: {exc}") from None
    finally:
        if proc is not None and proc.poll() is None:  # timeout, Ctrl-C or an error
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            limits.kill_all()
            proc.wait()
        for fd in (read_fd, write_fd):
            if fd >= 0:
                os.close(fd)
        limits.cleanup()
    if code == 125 and JOIN_FAILED.encode() in data:
        raise SandboxError("could not join the sandbox's cgroups")
    return ExecResponse(
        exit_code=code,
        timed_out=timed_out,
        output=data.decode("utf-8", errors="replace"),
        truncated_bytes=dropped,
        duration_s=time.perf_counter() - start,
        results=b"".join(chunks).decode("utf-8", errors="replace"),
    )


def _read_capped(path: Path, limit: int) -> tuple[bytes, int]:
    buf = OutputBuffer(limit)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            buf.feed(block)
    return buf.finish()


def _drain(fd: int, sink: list[bytes]) -> None:
    try:
        while True:
            data = os.read(fd, 1 << 16)
            if not data:
                break
            sink.append(data)
    finally:
        os.close(fd)
