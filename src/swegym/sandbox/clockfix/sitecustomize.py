# mypy: ignore-errors
"""Imported by every Python process of a sandbox on the task clock (``swegym.sandbox.clock``
puts this directory on its PYTHONPATH): agent sessions and graded test runs alike.

Under the task clock (libfaketime with DONT_FAKE_MONOTONIC, see ``swegym.sandbox.clock``),
libfaketime 0.9.10 rewrites the absolute deadline of ``clock_nanosleep(CLOCK_MONOTONIC,
TIMER_ABSTIME)`` as if it were a faked wall-clock time, and the kernel answers EINVAL. Python >= 3.11
sleeps exactly that way, so ``time.sleep`` (and everything built on it: ``subprocess`` timeouts,
retry loops) raised ``OSError: [Errno 22]`` in every sandbox on those versions. When the real
``time.sleep`` fails so, it is replaced by the same wait through ``select()`` on the real
monotonic clock; nothing changes anywhere else. Kept compatible with Python 3.6.
"""

import errno
import select
import time

_CHUNK = 3600.0  # select() rejects very large timeouts; longer sleeps wait in steps


def _sleep(secs):
    """``time.sleep(secs)``: the same errors for bad values, the same real duration."""
    if secs != secs:
        raise ValueError("Invalid value NaN (not a number)")
    if secs < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + secs
    remaining = float(secs)
    while remaining > 0:
        select.select([], [], [], min(remaining, _CHUNK))
        remaining = deadline - time.monotonic()


def _install():
    try:
        time.sleep(0)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            time.sleep = _sleep


_install()
