"""Parsers, grading and label derivation: pure functions on recorded outputs."""

from __future__ import annotations

import json

from swegym.harness.grading import grade
from swegym.harness.parsers import parse_plugin_records, parse_pytest_text
from swegym.harness.patches import deleted_files, run_targets, touched_files
from swegym.harness.validate import derive_labels


def rec(nodeid: str, when: str, outcome: str, wasxfail: bool = False) -> str:
    return json.dumps({"nodeid": nodeid, "when": when, "outcome": outcome, "wasxfail": wasxfail})


def test_plugin_records_fold_into_statuses() -> None:
    lines = [
        rec("t.py::a", "setup", "passed"),
        rec("t.py::a", "call", "passed"),
        rec("t.py::a", "teardown", "passed"),
        rec("t.py::b", "setup", "passed"),
        rec("t.py::b", "call", "failed"),
        rec("t.py::c", "setup", "failed"),
        rec("t.py::d", "setup", "passed"),
        rec("t.py::d", "call", "passed"),
        rec("t.py::d", "teardown", "failed"),
        rec("t.py::e", "setup", "passed"),
        rec("t.py::e", "call", "skipped", wasxfail=True),
        rec("t.py::f", "setup", "skipped"),
        rec("t.py::g", "call", "passed", wasxfail=True),
        rec("u.py", "collect", "failed"),
        "garbage line",
        json.dumps({"event": "finish", "exitstatus": 1}),
    ]
    res = parse_plugin_records("\n".join(lines))
    assert res.status == {
        "t.py::a": "PASSED",
        "t.py::b": "FAILED",
        "t.py::c": "ERROR",
        "t.py::d": "ERROR",
        "t.py::e": "XFAIL",
        "t.py::f": "SKIPPED",
        "t.py::g": "XPASS",
        "u.py": "ERROR",
    }
    assert res.finished and res.exitstatus == 1


def test_text_parser_keeps_ids_with_spaces() -> None:
    log = (
        "PASSED tests/t.py::test_x[a b]\n"
        "FAILED tests/t.py::test_y[1 2] - AssertionError: boom\n"
        "SKIPPED [1] tests/t.py:3: no reason\n"
        "\x1b[32mPASSED\x1b[0m tests/t.py::test_z\n"
        "==== 2 passed, 1 failed in 0.1s ====\n"
    )
    res = parse_pytest_text(log)
    assert res.status == {
        "tests/t.py::test_x[a b]": "PASSED",
        "tests/t.py::test_y[1 2]": "FAILED",
        "tests/t.py::test_z": "PASSED",
    }
    assert res.finished


def test_grading_rules() -> None:
    status = {"a": "PASSED", "b": "XFAIL", "c": "FAILED", "d": "SKIPPED"}
    assert grade(status, ["a"], ["b"]).resolved
    assert not grade(status, ["a"], ["c"]).resolved
    assert not grade(status, ["missing"], []).resolved  # a test absent from the log failed
    assert not grade(status, ["d"], []).resolved  # skipped is not passed
    assert not grade(status, [], ["a"]).resolved  # no FAIL_TO_PASS: nothing to resolve
    g = grade(status, ["a", "c"], ["b"])
    assert g.FAIL_TO_PASS.success == ["a"] and g.FAIL_TO_PASS.failure == ["c"]


def test_derive_labels_and_flaky() -> None:
    before = [
        {"f2p": "FAILED", "p2p": "PASSED", "flk": "PASSED"},
        {"f2p": "FAILED", "p2p": "PASSED", "flk": "FAILED"},
    ]
    after = [
        {"f2p": "PASSED", "p2p": "PASSED", "flk": "PASSED", "bad": "FAILED"},
        {"f2p": "PASSED", "p2p": "PASSED", "flk": "PASSED", "bad": "FAILED"},
    ]
    labels = derive_labels(before, after)
    assert labels.fail_to_pass == ["f2p"] and labels.pass_to_pass == ["p2p"]
    assert labels.flaky == ["flk"] and labels.gold_failures == ["bad"]
    # A test present in only some runs (e.g. a time-stamped id) is flaky, not a label.
    labels = derive_labels([{"x[00:01]": "PASSED"}, {}], [{"x[00:01]": "PASSED"}, {}])
    assert labels.flaky == ["x[00:01]"]
    # Even from a single run each: the empty run ran x with another (time-stamped) id.
    labels = derive_labels(
        [{"x[00:01]": "PASSED", "y[1]": "FAILED"}], [{"x[00:02]": "PASSED", "y[1]": "PASSED"}]
    )
    assert labels.flaky == ["x[00:01]", "x[00:02]"] and labels.fail_to_pass == ["y[1]"]
    # A parametrized test that cannot even be collected without the fix is a real FAIL_TO_PASS.
    labels = derive_labels([{"t.py": "FAILED"}], [{"t.py::z[a]": "PASSED"}])
    assert labels.fail_to_pass == ["t.py::z[a]"]


PATCH = """diff --git a/tests/test_a.py b/tests/test_a.py
--- a/tests/test_a.py
+++ b/tests/test_a.py
@@ -1 +1 @@
-x
+y
diff --git a/tests/data.json b/tests/data.json
new file mode 100644
--- /dev/null
+++ b/tests/data.json
@@ -0,0 +1 @@
+{}
diff --git a/tests/test_old.py b/tests/test_old.py
deleted file mode 100644
--- a/tests/test_old.py
+++ /dev/null
@@ -1 +0,0 @@
-z
"""


def test_patch_files() -> None:
    assert touched_files(PATCH) == ["tests/test_a.py", "tests/data.json", "tests/test_old.py"]
    assert deleted_files(PATCH) == {"tests/test_old.py"}
    assert run_targets(PATCH) == ["tests/test_a.py"]
