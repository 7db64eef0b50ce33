"""A fixed wall clock per sandbox: libfaketime preloaded inside, so labels do not rot with the calendar.

A test that reads ``date.today()`` can pass on one day and fail on another (a month/day swap is
invisible while the day of the month is <= 12). With ``SandboxConfig.clock == "task"`` every
process in the sandbox starts its wall clock at ``Layout.clock`` (the task's date) and lets it
run: ``FAKETIME="@YYYY-MM-DD HH:MM:SS"``. Monotonic clocks stay real (``DONT_FAKE_MONOTONIC``),
so timeouts and durations are true, and file times stay real (``NO_FAKE_STAT``), so bytecode
compiled at build time stays valid. ``LD_PRELOAD`` is set only in the sandbox's environment
(bwrap's ``--setenv``), never for the host process that starts it.

libfaketime 0.9.10 breaks ``time.sleep`` on Python >= 3.11 under that setting (EINVAL from
``clock_nanosleep``), so the same layout also mounts :data:`SLEEP_FIX_MOUNT`, a ``sitecustomize``
that swaps in a working sleep when the real one fails so, and puts it first on PYTHONPATH.

Without libfaketime (Debian: ``apt-get install libfaketime``) the sandbox runs on the real clock
and one line says so, once per process; :func:`effective_clock` tells callers which clock ran,
so that results can record it.
"""

from __future__ import annotations

import glob
import os
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Literal

from swegym.sandbox.layout import Layout

ClockMode = Literal["task", "real"]

LIB_ENV = "SWEGYM_LIBFAKETIME"
"""Overrides where libfaketime is looked for (a path; a missing one means: no libfaketime)."""
_SEARCH = (
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/*/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/lib64/faketime/libfaketime.so.1",
)
_LIB_MOUNT = "/run/swegym/libfaketime.so.1"
"""Where a libfaketime outside /usr is bound (everything under /usr is already visible)."""
SLEEP_FIX_MOUNT = "/run/swegym/clock"
"""Where the directory holding the sleep fix's ``sitecustomize`` is bound (read-only)."""
_SLEEP_FIX_DIR = Path(__file__).resolve().with_name("clockfix")

_warned = False
_warn_lock = threading.Lock()


def find_libfaketime() -> str | None:
    """The host path of libfaketime.so.1, or None when it is not installed."""
    explicit = os.environ.get(LIB_ENV)
    if explicit is not None:
        return explicit if os.path.isfile(explicit) else None
    for pattern in _SEARCH:
        for path in sorted(glob.glob(pattern)):
            if os.path.isfile(path):
                return path
    return None


def warn_missing() -> None:
    """Say, once per process and in one line, that the real clock is used and how to fix it."""
    global _warned
    with _warn_lock:
        if _warned:
            return
        _warned = True
    sys.stderr.write(
        "swegym: libfaketime not found, tests run on the real clock (labels of date-dependent "
        "tests may change); apt-get install libfaketime\n"
    )


def effective_clock(mode: ClockMode) -> ClockMode:
    """The clock a sandbox configured with ``mode`` really gets: 'task' needs libfaketime."""
    if mode == "task" and find_libfaketime() is None:
        warn_missing()
        return "real"
    return mode


def faketime_env(start: str, lib: str) -> dict[str, str]:
    """Environment that starts the wall clock at ``start`` ('YYYY-MM-DD HH:MM:SS') and lets it run."""
    return {
        "LD_PRELOAD": lib,
        "FAKETIME": f"@{start}",
        "DONT_FAKE_MONOTONIC": "1",
        "NO_FAKE_STAT": "1",
        # libfaketime turns its "monotonic fix" on by itself for this glibc; it then routes every
        # pthread_cond_timedwait through the faked clock, which made each hand-over of Python's
        # GIL wait out its timeout: threaded code ran 10-20x slower (dask-6801: 296 s, not 31 s).
        # It exists for a faked CLOCK_MONOTONIC, which DONT_FAKE_MONOTONIC rules out.
        "FAKETIME_FORCE_MONOTONIC_FIX": "0",
    }


def apply_clock(layout: Layout, mode: ClockMode) -> Layout:
    """``layout`` with its clock applied: unchanged for the real clock or a layout without one."""
    if mode != "task" or not layout.clock:
        return layout
    lib = find_libfaketime()
    if lib is None:
        warn_missing()
        return layout
    binds = [*layout.ro_binds, (_SLEEP_FIX_DIR, SLEEP_FIX_MOUNT)]
    if not lib.startswith("/usr/"):
        binds.append((Path(lib), _LIB_MOUNT))
        lib = _LIB_MOUNT
    # First on the path, so that the fix is the sitecustomize every Python of the sandbox starts.
    path = layout.env.get("PYTHONPATH")
    env = {**layout.env, **faketime_env(layout.clock, lib)}
    env["PYTHONPATH"] = f"{SLEEP_FIX_MOUNT}:{path}" if path else SLEEP_FIX_MOUNT
    return replace(layout, env=env, ro_binds=binds)
