"""Capped output: head and tail of a stream, in memory and in host log files.

The sandbox never holds a descriptor of a host log file (it could write gigabytes through
``/proc/<pid>/fd``): its output comes through a pipe, and :class:`CappedLog` keeps at most a cap
of it (head and tail) in the file.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

LOG_LIMIT = 32 << 20
"""Default cap on the bytes of a sandbox's output kept in a host log file."""


class OutputBuffer:
    """Keeps the head and tail of a stream up to ``limit`` bytes and counts what it drops."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            excess = len(self.tail) - self.half
            if excess > 4 * self.half:
                self.dropped += excess
                del self.tail[:excess]

    def finish(self) -> tuple[bytes, int]:
        excess = len(self.tail) - self.half
        if excess > 0:
            self.dropped += excess
            del self.tail[:excess]
        if self.dropped:
            note = f"\n[... {self.dropped} bytes of output elided ...]\n".encode()
            return bytes(self.head) + note + bytes(self.tail), self.dropped
        return bytes(self.head + self.tail), 0


class HeadTailFile:
    """Writes the first half of ``limit`` bytes to ``path`` as they come, keeps the last half in
    memory, and appends it (after a note of what was elided) when closed."""

    def __init__(self, path: Path, limit: int, append: bool = False) -> None:
        self.fh = path.open("ab" if append else "wb")
        self.room = max(limit // 2, 1)
        self.keep = max(limit // 2, 1)
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, data: bytes) -> None:
        if self.room > 0:
            head, data = data[: self.room], data[self.room :]
            self.fh.write(head)
            self.room -= len(head)
        if data:
            self.tail += data
            excess = len(self.tail) - self.keep
            if excess > 4 * self.keep:  # trim in large steps: amortized O(1) per byte
                self.dropped += excess
                del self.tail[:excess]

    def close(self) -> None:
        excess = len(self.tail) - self.keep
        if excess > 0:
            self.dropped += excess
            del self.tail[:excess]
        if self.dropped:
            self.fh.write(f"\n[... {self.dropped} bytes of output elided ...]\n".encode())
        self.fh.write(bytes(self.tail))
        self.fh.close()


class CappedLog:
    """Drains a sandbox's output pipe in a thread: into an :class:`OutputBuffer` of
    ``output_limit`` bytes and, if ``log_path`` is given, at most ``log_limit`` bytes of a file."""

    def __init__(
        self, fd: int, output_limit: int, log_path: Path | None, log_limit: int, append: bool = False
    ) -> None:
        self.buf = OutputBuffer(output_limit)
        self._file = HeadTailFile(log_path, log_limit, append) if log_path is not None else None
        self._fd = fd
        self._thread = threading.Thread(target=self._drain, name="swegym-log", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while data := os.read(self._fd, 1 << 16):
                self.buf.feed(data)
                if self._file is not None:
                    self._file.feed(data)
        finally:
            os.close(self._fd)
            if self._file is not None:
                self._file.close()

    def finish(self, timeout: float = 10.0) -> tuple[bytes, int]:
        """Wait for the end of the output; the capped output and the bytes it elided."""
        self._thread.join(timeout)
        return self.buf.finish()
