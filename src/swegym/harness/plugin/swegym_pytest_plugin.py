# mypy: disable-error-code="no-untyped-def"
"""pytest plugin that reports each test phase's outcome over a side channel.

Loaded inside the sandbox with ``-p swegym_pytest_plugin``. It writes JSON lines to the file
descriptor named by $SWEGYM_RESULTS_FD (and removes that variable at once, so the code under
test does not inherit it). Grading reads this channel, never the printed log, so printing
"PASSED test_x" cannot make a test pass. Kept compatible with Python 3.6 and old pytest.
"""

import json
import os

_FD = None


def _emit(record):
    if _FD is None:
        return
    data = (json.dumps(record) + "\n").encode("utf-8")
    try:
        while data:
            n = os.write(_FD, data)
            data = data[n:]
    except OSError:
        pass


def pytest_configure(config):
    global _FD
    raw = os.environ.pop("SWEGYM_RESULTS_FD", None)
    if raw and _FD is None:
        try:
            _FD = int(raw)
            os.set_inheritable(_FD, False)
        except (ValueError, OSError):
            _FD = None
        _emit({"event": "start"})


def pytest_collectreport(report):
    if report.failed:
        _emit({"nodeid": report.nodeid, "when": "collect", "outcome": "failed"})


def pytest_runtest_logreport(report):
    record = {
        "nodeid": report.nodeid,
        "when": report.when,
        "outcome": report.outcome,
        "wasxfail": bool(getattr(report, "wasxfail", None) is not None and hasattr(report, "wasxfail")),
    }
    if report.failed:
        # The one-line reason (e.g. "AssertionError: assert 1 == 2"): curation writes problem
        # statements from it; grading never reads it.
        crash = getattr(getattr(report, "longrepr", None), "reprcrash", None)
        if crash is not None:
            record["message"] = str(getattr(crash, "message", ""))[:2000]
    _emit(record)


def pytest_sessionfinish(session, exitstatus):
    _emit({"event": "finish", "exitstatus": int(exitstatus)})
