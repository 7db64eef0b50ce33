"""Grading: per-test statuses + labels -> resolved or not. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import BaseModel, Field

from swegym.harness.parsers import PASSING


class TestsStatus(BaseModel):
    """Which labelled tests passed and failed (SWE-bench's `tests_status` shape)."""

    __test__ = False  # not a pytest test class

    success: list[str] = Field(default_factory=list)
    failure: list[str] = Field(default_factory=list)


class Grade(BaseModel):
    """The outcome of grading one test run against a task's labels."""

    resolved: bool
    FAIL_TO_PASS: TestsStatus
    PASS_TO_PASS: TestsStatus


def passed(status: Mapping[str, str], test: str) -> bool:
    """A test counts as passed only if present with PASSED or XFAIL; missing counts as failed."""
    return status.get(test) in PASSING


def _split(status: Mapping[str, str], tests: Iterable[str]) -> TestsStatus:
    out = TestsStatus()
    for t in tests:
        (out.success if passed(status, t) else out.failure).append(t)
    return out


def grade(status: Mapping[str, str], fail_to_pass: list[str], pass_to_pass: list[str]) -> Grade:
    """Resolved iff every FAIL_TO_PASS and every PASS_TO_PASS test passed (SWE-bench rule)."""
    f2p = _split(status, fail_to_pass)
    p2p = _split(status, pass_to_pass)
    resolved = bool(fail_to_pass) and not f2p.failure and not p2p.failure
    return Grade(resolved=resolved, FAIL_TO_PASS=f2p, PASS_TO_PASS=p2p)
