"""Host-side files and directories the sandbox can reach, handled so it cannot turn them on us.

The transfer directory is writable from inside: a file there may have been swapped for a link
(the host would read or write its own files) or a FIFO (the host's open would block forever),
so transfer files are checked with ``lstat`` and opened with ``O_NOFOLLOW | O_NONBLOCK``, then
checked again on the descriptor. Writable layers live under a private (0700) directory, so a
file the sandbox plants there (even one with a setuid bit, should one get through the seccomp
filter) is out of reach of every other host user.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from swegym.config import sub_cache


class TamperedError(OSError):
    """A transfer file is not the regular file the host expects (a link, FIFO, device...)."""


@contextlib.contextmanager
def open_transfer_file(path: Path, flags: int) -> Iterator[IO[bytes]]:
    """Open ``path`` (``os.open`` flags, no mode bits) only as a regular file, never following a
    link nor blocking on a FIFO; TamperedError otherwise."""
    creating = bool(flags & os.O_CREAT)
    before: os.stat_result | None = None
    if not creating:
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode):
            raise TamperedError(f"{path.name} is not a regular file")
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # a link; a FIFO without a reader
            raise TamperedError(f"{path.name} is not a regular file") from None
        raise
    st = os.fstat(fd)
    swapped = before is not None and (st.st_dev, st.st_ino) != (before.st_dev, before.st_ino)
    if not stat.S_ISREG(st.st_mode) or swapped:
        os.close(fd)
        raise TamperedError(f"{path.name} was swapped while it was opened")
    os.set_blocking(fd, True)
    with os.fdopen(fd, "wb" if flags & (os.O_WRONLY | os.O_RDWR) else "rb") as fh:
        yield fh


def private_dir(path: Path | None = None) -> Path:
    """``path`` (default: the cache's ``runtime/sandboxes``), created and made mode 0700.

    Put it on a ``nosuid`` mount where the host has one (``SandboxConfig.workdir``): then even a
    setuid bit that got through would mean nothing on the host."""
    d = path or sub_cache("runtime/sandboxes")
    d.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(d.stat().st_mode) != 0o700:
        d.chmod(0o700)
    return d


def is_nosuid(path: Path) -> bool:
    """Whether the file system holding ``path`` ignores setuid and setgid bits."""
    return bool(os.statvfs(path).f_flag & os.ST_NOSUID)
