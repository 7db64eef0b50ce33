"""Host-side checks of a run's results channel: nonce, duplicates, tamper exits, canaries."""

from __future__ import annotations

import json

from swegym.harness.integrity import (
    TAMPER_EXIT,
    audit_canary,
    audit_channel,
    new_canary,
    new_nonce,
    strip_canary,
)
from swegym.harness.parsers import parse_plugin_records

NONCE = "feedface" * 4


def _rec(nonce: str | None = NONCE, **fields: object) -> str:
    if nonce is not None:
        fields["n"] = nonce
    return json.dumps(fields)


def _run(*lines: str) -> str:
    return "\n".join(['{"event":"patch_applied"}', '{"event":"tests_started"}', *lines]) + "\n"


def _report(nodeid: str, outcome: str, nonce: str | None = NONCE) -> list[str]:
    return [
        _rec(nonce, nodeid=nodeid, when=w, outcome=o)
        for w, o in (("setup", "passed"), ("call", outcome), ("teardown", "passed"))
    ]


def test_a_clean_run_passes_the_audit() -> None:
    text = _run(_rec(event="start"), *_report("t.py::a", "passed"), _rec(event="finish", exitstatus=0))
    assert audit_channel(text, NONCE).tampered is None


def test_records_without_the_nonce_are_forged() -> None:
    forged = _run(_rec(event="start"), *_report("t.py::a", "passed", nonce=None))
    assert "nonce" in (audit_channel(forged, NONCE).tampered or "")
    wrong = _run(_rec(event="start"), *_report("t.py::a", "passed", nonce="0" * 32))
    assert audit_channel(wrong, NONCE).tampered


def test_a_second_report_of_the_same_phase_is_tampering() -> None:
    text = _run(*_report("t.py::a", "failed"), _rec(nodeid="t.py::a", when="call", outcome="passed"))
    assert "two reports" in (audit_channel(text, NONCE).tampered or "")


def test_a_rerun_opens_a_new_attempt_and_counts_as_a_failure() -> None:
    # What pytest-rerunfailures sends for a test that fails once and passes when run again.
    first = [
        _rec(nodeid="t.py::a", when="setup", outcome="passed"),
        _rec(nodeid="t.py::a", when="call", outcome="rerun"),
    ]
    finish = _rec(event="finish", exitstatus=0)
    text = _run(_rec(event="start"), *first, *_report("t.py::a", "passed"), finish)
    assert audit_channel(text, NONCE).tampered is None
    assert parse_plugin_records(text).status == {"t.py::a": "FAILED"}
    # A rerun of one test does not let another test's phases repeat.
    other = _run(*first, *_report("t.py::b", "passed"), _rec(nodeid="t.py::b", when="call", outcome="passed"))
    assert "two reports of t.py::b" in (audit_channel(other, NONCE).tampered or "")


def test_repeated_stages_tamper_events_and_exit_86_are_tampering() -> None:
    assert audit_channel(_run(_rec(event="finish"), _rec(event="finish")), NONCE).tampered
    assert audit_channel(
        _run('{"event":"tests_exit","rc":0}', '{"event":"tests_exit","rc":1}'), NONCE
    ).tampered
    assert "audit" in (
        audit_channel(_run(_rec(event="tamper", why="audit: open /proc")), NONCE).tampered or ""
    )
    assert audit_channel(_run(f'{{"event":"tests_exit","rc":{TAMPER_EXIT}}}'), NONCE).tampered


def test_canaries_must_fail_and_pass_and_are_never_labels() -> None:
    canary = new_canary("tests/test_mod.py")
    assert canary.path == "tests/test_mod.py" and canary.case.startswith("Test")
    assert canary.passing != canary.failing
    good = {
        "tests/test_mod.py::test_real": "PASSED",
        f"tests/{canary.filename}::{canary.case}::{canary.passing}": "PASSED",
        f"tests/{canary.filename}::{canary.case}::{canary.failing}": "FAILED",
    }
    assert audit_canary(good, canary).tampered is None and audit_canary(good, canary).untrusted is None
    assert strip_canary(good, canary) == {"tests/test_mod.py::test_real": "PASSED"}
    forged = {**good, f"tests/{canary.filename}::{canary.case}::{canary.failing}": "PASSED"}
    assert "must fail" in (audit_canary(forged, canary).tampered or "")
    xfailed = {**good, f"tests/{canary.filename}::{canary.case}::{canary.failing}": "XFAIL"}
    assert audit_canary(xfailed, canary).tampered
    missing = {"tests/test_mod.py::test_real": "PASSED"}
    assert audit_canary(missing, canary).untrusted and not audit_canary(missing, canary).tampered


def test_canary_names_are_drawn_per_run() -> None:
    names = {new_canary("tests/test_x.py").case for _ in range(20)}
    assert len(names) > 10
    assert len({new_nonce() for _ in range(5)}) == 5


def test_an_xfail_raised_from_project_code_counts_as_failed() -> None:
    text = "\n".join(
        [
            _rec(nodeid="t.py::a", when="call", outcome="skipped", wasxfail=True, xfail_from="code"),
            _rec(nodeid="t.py::b", when="call", outcome="skipped", wasxfail=True),
        ]
    )
    status = parse_plugin_records(text).status
    assert status == {"t.py::a": "FAILED", "t.py::b": "XFAIL"}
