"""Log parsers: test output -> {test id: status}. Pure functions, one per format, in a table.

Statuses follow SWE-bench: PASSED, FAILED, SKIPPED, ERROR, XFAIL (and XPASS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

PASSED, FAILED, SKIPPED, ERROR, XFAIL, XPASS = "PASSED", "FAILED", "SKIPPED", "ERROR", "XFAIL", "XPASS"
PASSING = frozenset({PASSED, XFAIL})
RERUN = "rerun"
"""The outcome pytest-rerunfailures gives a failed attempt it runs again."""

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class ParsedResults:
    """Per-test statuses, and whether the test session reported that it finished."""

    status: dict[str, str] = field(default_factory=dict)
    finished: bool = False
    exitstatus: int | None = None


def json_records(text: str) -> Iterator[dict[str, Any]]:
    """The JSON objects of a side channel, one per line; other lines (torn, foreign) are skipped."""
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict):
            yield rec


def parse_plugin_records(text: str) -> ParsedResults:
    """Fold the side-channel records of ``swegym_pytest_plugin`` into per-test statuses."""
    out = ParsedResults()
    for rec in json_records(text):
        if rec.get("event") == "finish":
            out.finished = True
            out.exitstatus = rec.get("exitstatus")
            continue
        nodeid, when, outcome = rec.get("nodeid"), rec.get("when"), rec.get("outcome")
        if not isinstance(nodeid, str) or not nodeid:
            continue
        prev = out.status.get(nodeid)
        new = _phase_status(when, outcome, bool(rec.get("wasxfail")))
        if new is None:
            continue
        if new == XFAIL and rec.get("xfail_from") == "code":
            # pytest.xfail() called from project code, not a test: a way to turn a failure into
            # a pass, so it counts as the failure it hides.
            new = FAILED
        # A failing phase always wins over an earlier passing one (e.g. teardown errors).
        if prev in (FAILED, ERROR) and new not in (FAILED, ERROR):
            continue
        out.status[nodeid] = new
    return out


def _phase_status(when: object, outcome: object, wasxfail: bool) -> str | None:
    if outcome == RERUN:
        # A phase that failed and was run again (pytest-rerunfailures): a failure, and sticky,
        # so reruns cannot retry a candidate past a test it fails once (validation's repeated
        # runs find the tests that only pass sometimes and leave them out as flaky).
        return FAILED
    if when == "collect":
        return ERROR
    if when == "setup":
        if outcome == "failed":
            return ERROR
        if outcome == "skipped":
            return XFAIL if wasxfail else SKIPPED
        return None
    if when == "call":
        if outcome == "passed":
            return XPASS if wasxfail else PASSED
        if outcome == "failed":
            return FAILED
        if outcome == "skipped":
            return XFAIL if wasxfail else SKIPPED
        return None
    if when == "teardown" and outcome == "failed":
        return ERROR
    return None


_RA_LINE = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\s+(\S.*?)(?:\s+-\s+.*)?$")


def parse_pytest_text(log: str) -> ParsedResults:
    """Parse pytest's ``-rA`` short summary (SWE-bench's format). Forgeable: only for interop."""
    out = ParsedResults()
    for raw in log.splitlines():
        line = _ANSI.sub("", raw).strip()
        m = _RA_LINE.match(line)
        if not m:
            continue
        status, test = m.group(1), m.group(2)
        if status == SKIPPED and test.startswith("["):
            continue  # "SKIPPED [1] file.py:12: reason" has no node id
        out.status[test] = status
    out.finished = bool(re.search(r"=+ .*(passed|failed|error|no tests ran).* =+", log))
    return out


LOG_PARSERS: dict[str, Callable[[str, str], ParsedResults]] = {
    # name -> f(side_channel_text, printed_log)
    "pytest": lambda channel, log: parse_plugin_records(channel),
    "pytest-text": lambda channel, log: parse_pytest_text(log),
}


def get_parser(name: str) -> Callable[[str, str], ParsedResults]:
    """The parser called ``name``; ValueError if unknown."""
    try:
        return LOG_PARSERS[name]
    except KeyError:
        raise ValueError(f"unknown log parser '{name}' (known: {', '.join(LOG_PARSERS)})") from None
