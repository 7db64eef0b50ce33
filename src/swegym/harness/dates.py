"""The task's clock and date-dependent tests: labels that do not rot with the calendar.

Every sandbox of a task (validation, grading, the agent's episode) starts its wall clock at the
task's date (:func:`task_clock`) when ``SandboxConfig.clock`` is 'task' and libfaketime is
installed (see :mod:`swegym.sandbox.clock`). Validation also runs the tests once more, with and
without the gold patch, at a distant second date (:func:`probe_clock`); a test whose outcome
differs between the two dates is *date dependent* (:func:`date_dependent`). Under the task's
clock it keeps its label (the clock makes it deterministic) and is flagged; under the real clock
it is excluded from the labels, as a flaky test is.
"""

from __future__ import annotations

import datetime as dt

from swegym.harness.parsers import PASSING
from swegym.tasks.model import Task

DEFAULT_TASK_DATE = dt.date(2024, 6, 18)
"""The date of a task without ``created_at`` (synthetic tasks). Fixed, so every host and every
day sees the same clock; the day is above 12 and differs from the month, so a month/day swap
raises or changes the date there, and the probe date then lies on the other side of 12."""
CLOCK_TIME = "12:00:00"
"""Time of day the clock starts at: noon keeps the date the same in every time zone within 12 h
of UTC, and a test run would have to last 12 hours to cross midnight."""


def task_date(task: Task) -> dt.date:
    """The task's date in UTC: its ``created_at``, else :data:`DEFAULT_TASK_DATE`."""
    text = task.created_at.strip()
    if not text:
        return DEFAULT_TASK_DATE
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            return dt.date.fromisoformat(text[:10])
        except ValueError:
            return DEFAULT_TASK_DATE  # an unreadable date: the fixed default, never today
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.timezone.utc)
    return stamp.date()


def clock_at(day: dt.date) -> str:
    """The clock start for ``day``: 'YYYY-MM-DD 12:00:00' (what libfaketime's FAKETIME takes)."""
    return f"{day.isoformat()} {CLOCK_TIME}"


def task_clock(task: Task) -> str:
    """Where the task's sandboxes start their wall clock."""
    return clock_at(task_date(task))


def probe_date(day: dt.date) -> dt.date:
    """A distant second date for ``day``: three years later, the month shifted by six, the day
    of the month on the other side of 12 (7 or 20) and never equal to the month."""
    month = (day.month + 5) % 12 + 1
    dom = 20 if day.day <= 12 else 7
    if dom == month:
        dom += 1  # 7/7: a month/day swap would be invisible on the probe date too
    return dt.date(day.year + 3, month, dom)


def probe_clock(start: str) -> str:
    """The probe clock for a clock start 'YYYY-MM-DD ...'."""
    return clock_at(probe_date(dt.date.fromisoformat(start[:10])))


def date_dependent(primary: list[dict[str, str]], probe: list[dict[str, str]], flaky: list[str]) -> list[str]:
    """Tests whose outcome at the probe date differs from the primary date's, in any pair of runs
    of the same patch (``primary[i]`` against ``probe[i]``: empty, then gold); a test missing from
    one side of a pair counts as not passing there (its id embeds the date). Flaky tests, which
    differ anyway, are left out."""
    skip = set(flaky)
    found: set[str] = set()
    for first, second in zip(primary, probe, strict=True):
        for test in set(first) | set(second):
            if test not in skip and (first.get(test) in PASSING) != (second.get(test) in PASSING):
                found.add(test)
    return sorted(found)
