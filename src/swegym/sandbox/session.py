"""A persistent bash session over pipes, with per-command exit code, timeout and output cap.

Each command travels as one line, ``eval $'...'`` with every byte escaped, so a command with a
syntax error or an unclosed quote cannot swallow the protocol; it gets /dev/null as stdin, so a
command that reads stdin cannot eat the next one; and its end is a marker line with a random
nonce, so output cannot fake the end of a command.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import selectors
import signal
import subprocess
import time
from collections.abc import Callable

from swegym.sandbox.base import CommandResponse
from swegym.sandbox.launch import popen
from swegym.sandbox.limits import descendants, kill_until_gone
from swegym.sandbox.output import OutputBuffer

_SAFE = set(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-./,:=+@%^")
_ESCAPE = [chr(b) if b in _SAFE else f"\\x{b:02x}" for b in range(256)]


def ansi_c_quote(text: str) -> str:
    """Quote ``text`` as a bash ``$'...'`` literal of printable ASCII only."""
    return "$'" + "".join([_ESCAPE[b] for b in text.encode("utf-8", "surrogateescape")]) + "'"


class ShellSession:
    """bash inside the sandbox, driven over its stdin/stdout pipes."""

    def __init__(self, argv: list[str], output_limit: int) -> None:
        self.argv = argv
        self.output_limit = output_limit
        self.proc: subprocess.Popen[bytes] | None = None
        self._sel: selectors.BaseSelector | None = None
        self._pending = b""

    def start(self) -> None:
        # Through a pipe only: the sandbox never holds a descriptor of a host file.
        self.proc = popen(
            [*self.argv, "/bin/bash", "--noprofile", "--norc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            bufsize=0,
        )
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self.proc.stdout, selectors.EVENT_READ)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _shell_pid(self) -> int | None:
        # outer bwrap -> bwrap (pid 1 of the namespace) -> bash
        assert self.proc is not None
        kids = descendants(self.proc.pid)
        for pid in kids:
            try:
                with open(f"/proc/{pid}/comm") as fh:
                    if fh.read().strip() == "bash":
                        return pid
            except OSError:
                continue
        return None

    def interrupt(self) -> None:
        """Kill every process the current command started, keeping the shell itself."""
        shell = self._shell_pid()
        if shell is None:
            return
        kill_until_gone(lambda: descendants(shell), rounds=20, pause=0.005)

    def run(
        self,
        command: str,
        timeout: float,
        watchdog: Callable[[], str | None] | None = None,
        output_limit: int | None = None,
    ) -> CommandResponse:
        """Run ``command``; ``watchdog`` is polled while it runs and may return a reason to stop."""
        if not self.alive or self.proc is None or self.proc.stdin is None or self._sel is None:
            return CommandResponse(output="[the shell is not running]", exit_code=None)
        nonce = secrets.token_hex(8)
        marker = re.compile(rb"\n__SWEGYM_" + nonce.encode() + rb"_(-?\d+)__\n")
        line = f"eval {ansi_c_quote(command)} < /dev/null 2>&1; printf '\\n__SWEGYM_{nonce}_%d__\\n' \"$?\"\n"
        start = time.perf_counter()
        try:
            self.proc.stdin.write(line.encode())
        except (BrokenPipeError, OSError):
            return CommandResponse(output="[the shell has exited]", exit_code=None)
        buf = OutputBuffer(output_limit or self.output_limit)
        exit_code, stop_reason = self._collect(marker, buf, start, timeout, watchdog)
        data, dropped = buf.finish()
        text = data.decode("utf-8", errors="replace")
        duration = time.perf_counter() - start
        if exit_code is None and not self.alive:
            text += "\n[the shell has exited]"
        if stop_reason is not None:
            text += f"\n[command stopped: {stop_reason}]"
            return CommandResponse(
                output=text,
                exit_code=None,
                timed_out=True,
                truncated_bytes=dropped,
                duration_s=duration,
            )
        return CommandResponse(output=text, exit_code=exit_code, truncated_bytes=dropped, duration_s=duration)

    def _collect(
        self,
        marker: re.Pattern[bytes],
        buf: OutputBuffer,
        start: float,
        timeout: float,
        watchdog: Callable[[], str | None] | None,
    ) -> tuple[int | None, str | None]:
        """Read the command's output into ``buf`` until its end marker: (exit code, stop reason).

        Past the deadline, or when ``watchdog`` names a reason, the command's processes are
        killed; the marker then still ends the read, unless the shell does not come back."""
        assert self.proc is not None and self.proc.stdout is not None and self._sel is not None
        window = b""
        deadline, next_watch = start + timeout, start + 0.25
        stop_reason: str | None = None
        stopped_at = 0.0
        out_fd = self.proc.stdout.fileno()
        keep = len(marker.pattern) + 32
        while True:
            now = time.perf_counter()
            if stop_reason is None:
                if now >= deadline:
                    stop_reason = f"timed out after {timeout:g} s"
                elif watchdog is not None and now >= next_watch:
                    stop_reason = watchdog()
                    next_watch = now + 0.25
                if stop_reason is not None:
                    self.interrupt()
                    stopped_at = now
            elif now - stopped_at > 5:
                break  # the shell did not come back after the kill
            wait = 0.25 if stop_reason is not None else min(max(deadline - now, 0.0), 0.25)
            if not self._sel.select(wait):
                if not self.alive:
                    break
                continue
            try:
                chunk = os.read(out_fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:  # EOF: the shell is gone; let it be reaped so `alive` is accurate
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
                break
            window += chunk
            m = marker.search(window)
            if m:
                buf.feed(window[: m.start()])
                return int(m.group(1)), stop_reason
            if len(window) > keep:
                buf.feed(window[:-keep])
                window = window[-keep:]
        buf.feed(window)  # the shell died or stalled: keep what it printed
        return None, stop_reason

    def close(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                stream.close()  # type: ignore[union-attr]
        if self._sel is not None:
            self._sel.close()
        self.proc = None
