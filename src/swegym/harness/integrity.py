"""Was a test run's results channel tampered with? Host-side checks over its records. Pure.

The results plugin stamps every record with the run's nonce (which only it read, before any
project code ran) and ends the process with status 86 when its own checks see tampering; the
grading shell, which runs no test code, reports the stages and the tests' exit status. A run is
**tampered** when the channel carries a plugin record without the nonce, two reports of the same
test phase, a repeated stage, a tamper event, exit status 86, or a must-fail canary that did not
fail. A run whose canaries did not report at all is not trusted (graded as failing).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from swegym.harness.parsers import ERROR, FAILED, RERUN, json_records
from swegym.harness.script import TESTS_EXIT, Canary

TAMPER_EXIT = 86
_PLUGIN_EVENTS = frozenset({"start", "finish", "tamper"})
_WORDS = tuple(
    [
        "parse",
        "format",
        "render",
        "load",
        "dump",
        "merge",
        "split",
        "join",
        "encode",
        "decode",
        "resolve",
        "convert",
        "update",
        "apply",
        "default",
        "value",
        "option",
        "config",
        "context",
        "handler",
        "result",
        "error",
        "message",
        "output",
        "input",
        "record",
        "field",
        "schema",
        "model",
        "index",
        "cache",
        "path",
        "token",
        "stream",
        "buffer",
    ]
)


@dataclass
class Audit:
    """What the host concluded about a run's channel."""

    tampered: str | None = None
    """Why the run counts as tampered with, or None."""
    untrusted: str | None = None
    """Why the outcomes cannot be trusted (not tampering: e.g. the canaries never ran)."""


def new_nonce() -> str:
    return secrets.token_hex(16)


def new_canary(first_target: str, taken: str = "") -> Canary:
    """Canary tests for the first target file, under names drawn for this run (none of them
    in ``taken``, the text they must not collide with)."""

    def name() -> str:
        while True:
            drawn = f"test_{secrets.choice(_WORDS)}_{secrets.choice(_WORDS)}_{secrets.choice(_WORDS)}"
            if drawn not in taken:
                return drawn

    passing, failing = name(), name()
    while failing == passing:
        failing = name()
    case = "Test" + "".join(w.capitalize() for w in name().split("_")[1:])
    return Canary(first_target, case, passing, failing)


def _canary_status(status: dict[str, str], canary: Canary, test: str) -> str | None:
    suffix = f"{canary.filename}::{canary.case}::{test}"
    for nodeid, value in status.items():
        if nodeid == suffix or nodeid.endswith("/" + suffix):
            return value
    return None


def strip_canary(status: dict[str, str], canary: Canary | None) -> dict[str, str]:
    """``status`` without the canary tests (they are never labels)."""
    if canary is None:
        return status
    return {k: v for k, v in status.items() if f"::{canary.case}::" not in k}


def audit_channel(results: str, nonce: str | None) -> Audit:
    """Check the records themselves: nonce, duplicates, tamper events, the exit status."""
    seen: set[tuple[str, str]] = set()
    stages: set[str] = set()
    for rec in json_records(results):
        event = rec.get("event")
        nodeid = rec.get("nodeid")
        from_plugin = event in _PLUGIN_EVENTS or nodeid is not None or "cover" in rec or "cover_fn" in rec
        if from_plugin and nonce is not None and rec.get("n") != nonce:
            return Audit(tampered="a record on the results channel without the run's nonce")
        if event == "tamper":
            return Audit(tampered=f"the results plugin saw tampering: {rec.get('why', '')}")
        if isinstance(event, str):
            if event in stages and event != "start":
                return Audit(tampered=f"the {event!r} record appeared twice")
            stages.add(event)
            if event == TESTS_EXIT and rec.get("rc") == TAMPER_EXIT:
                return Audit(tampered="the results plugin ended the run: it saw tampering")
        elif isinstance(nodeid, str) and "when" in rec:
            key = (nodeid, str(rec.get("when")))
            if key in seen:
                return Audit(tampered=f"two reports of {nodeid} ({key[1]})")
            seen.add(key)
            if rec.get("outcome") == RERUN:
                # pytest-rerunfailures ends an attempt with a 'rerun' report and runs the test
                # again, so its phases repeat. That is safe to allow: a 'rerun' counts as a
                # failure that no later report undoes (see parsers.parse_plugin_records), so a
                # forged one can only fail the test it names.
                seen -= {k for k in seen if k[0] == nodeid}
    return Audit()


def audit_canary(status: dict[str, str], canary: Canary | None) -> Audit:
    """The canaries' outcomes: the failing one must fail, both must have run."""
    if canary is None:
        return Audit()
    failing = _canary_status(status, canary, canary.failing)
    passing = _canary_status(status, canary, canary.passing)
    if failing is not None and failing not in (FAILED, ERROR):
        return Audit(tampered=f"a test that must fail was reported {failing}")
    if failing is None or passing is None:
        return Audit(untrusted="the run's canary tests did not report")
    return Audit()
