"""A fixed clock per task (libfaketime in the sandbox) and the detection of date-dependent tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from swegym.harness.dates import DEFAULT_TASK_DATE, date_dependent, probe_date, task_clock, task_date
from swegym.harness.runner import prepare, run_tests
from swegym.harness.validate import validate_task
from swegym.sandbox import clock as clock_mod
from swegym.sandbox.clock import apply_clock, effective_clock, find_libfaketime
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.factory import open_sandbox
from swegym.sandbox.layout import Layout
from swegym.tasks.model import Task

needs_faketime = pytest.mark.skipif(
    find_libfaketime() is None, reason="libfaketime is not installed (apt-get install libfaketime)"
)
TODAY = "python -c 'import datetime; print(datetime.date.today())'"
# A test that passes only while the day of the month is above 12, like tomlkit's
# test_date_unwrap on a month/day swap.
DATE_TEST = (
    "diff --git a/tests/test_dates.py b/tests/test_dates.py\n"
    "new file mode 100644\n"
    "--- /dev/null\n"
    "+++ b/tests/test_dates.py\n"
    "@@ -0,0 +1,5 @@\n"
    "+import datetime\n"
    "+\n"
    "+\n"
    "+def test_today_day_above_12():\n"
    "+    assert datetime.date.today().day > 12\n"
)
DATED = "tests/test_dates.py::test_today_day_above_12"


@pytest.fixture
def no_libfaketime(monkeypatch: pytest.MonkeyPatch) -> None:
    """libfaketime missing, and the once-per-process warning not yet given."""
    monkeypatch.setenv(clock_mod.LIB_ENV, "/nonexistent/libfaketime.so.1")
    monkeypatch.setattr(clock_mod, "_warned", False)


def test_task_date_from_created_at_or_fixed_default(calc_task: Task) -> None:
    assert task_clock(calc_task) == "2024-01-01 12:00:00"
    late = calc_task.model_copy(update={"created_at": "2023-11-05T23:30:00-05:00"})
    assert task_date(late) == dt.date(2023, 11, 6)  # in UTC
    for created in ("", "not a date"):
        assert task_date(calc_task.model_copy(update={"created_at": created})) == DEFAULT_TASK_DATE


def test_probe_date_is_distant_and_across_12() -> None:
    day = dt.date(2020, 1, 1)
    while day < dt.date(2021, 1, 1):
        p = probe_date(day)
        assert p.month != day.month and p.day != day.day and p.month != p.day
        assert (p.day > 12) != (day.day > 12) and p.year == day.year + 3
        day += dt.timedelta(days=1)


def test_date_dependent_compares_each_patch_across_dates() -> None:
    primary = [
        {"a": "FAILED", "b": "PASSED", "f": "PASSED"},
        {"a": "PASSED", "b": "PASSED", "x[2024]": "PASSED"},
    ]
    probe = [
        {"a": "FAILED", "b": "FAILED", "f": "FAILED"},
        {"a": "PASSED", "b": "PASSED", "x[2027]": "PASSED"},
    ]
    assert date_dependent(primary, probe, flaky=["f"]) == ["b", "x[2024]", "x[2027]"]


def test_clock_env_only_for_the_task_clock(tmp_path: object) -> None:
    layout = Layout(clock="2024-01-01 12:00:00", env={"A": "1"})
    assert apply_clock(layout, "real") is layout
    assert apply_clock(Layout(), "task").env == {}
    if find_libfaketime() is not None:
        env = apply_clock(layout, "task").env
        assert env["FAKETIME"] == "@2024-01-01 12:00:00" and env["DONT_FAKE_MONOTONIC"] == "1"
        assert env["LD_PRELOAD"].endswith("libfaketime.so.1") and env["A"] == "1"


def test_missing_libfaketime_warns_once_in_one_line(
    no_libfaketime: None, capsys: pytest.CaptureFixture[str]
) -> None:
    layout = Layout(clock="2024-01-01 12:00:00")
    assert effective_clock("task") == "real"
    assert apply_clock(layout, "task") is layout
    assert effective_clock("task") == "real"
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apt-get install libfaketime" in err
    assert effective_clock("real") == "real"


@pytest.mark.sandbox
@needs_faketime
def test_sandbox_sees_the_task_date(calc_task: Task) -> None:
    prep = prepare(calc_task)
    with open_sandbox(prep.layout(), SandboxConfig()) as sb:  # the agent's episode
        out = sb.run(f"{TODAY}; date +%F; python -c 'import time; print(time.monotonic())'").output
        assert out.splitlines()[:2] == ["2024-01-01", "2024-01-01"], out
        assert float(out.splitlines()[2]) > 0
    with open_sandbox(prep.layout(), SandboxConfig(clock="real")) as sb:
        assert sb.run(TODAY).output.strip() == dt.date.today().isoformat()


def test_the_task_clock_puts_the_sleep_fix_first_on_pythonpath(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lib = tmp_path / "libfaketime.so.1"
    lib.write_bytes(b"")
    monkeypatch.setenv(clock_mod.LIB_ENV, str(lib))
    layout = Layout(clock="2024-01-01 12:00:00", env={"PYTHONPATH": "/testbed"})
    out = apply_clock(layout, "task")
    assert out.env["PYTHONPATH"] == f"{clock_mod.SLEEP_FIX_MOUNT}:/testbed"
    assert (clock_mod._SLEEP_FIX_DIR, clock_mod.SLEEP_FIX_MOUNT) in out.ro_binds
    assert (clock_mod._SLEEP_FIX_DIR / "sitecustomize.py").is_file()
    # The fix libfaketime enables by itself slows every GIL hand-over 10-20x (clock_overhead.py).
    assert out.env["FAKETIME_FORCE_MONOTONIC_FIX"] == "0"
    bare = apply_clock(Layout(clock="2024-01-01 12:00:00"), "task")
    assert bare.env["PYTHONPATH"] == clock_mod.SLEEP_FIX_MOUNT
    assert apply_clock(layout, "real") is layout


SLEEPS = (
    "python -c 'import subprocess, sys, time; time.sleep(0.01); "
    'subprocess.run([sys.executable, "-c", "import time; time.sleep(0.01)"], check=True, timeout=30); '
    'print("slept")\''
)


@pytest.mark.sandbox
@needs_faketime
def test_time_sleep_works_in_an_agent_session_under_the_task_clock(calc_task: Task) -> None:
    # libfaketime 0.9.10 fails Python >= 3.11's time.sleep with EINVAL under the task clock; an
    # agent running the tests in its own session (not only the graded run) needs the fix too.
    with open_sandbox(prepare(calc_task).layout(), SandboxConfig()) as sb:
        res = sb.run(SLEEPS)
        assert res.exit_code == 0 and res.output.strip() == "slept", res.output


@pytest.mark.sandbox
@needs_faketime
def test_the_agent_sees_the_graders_clock(calc_task: Task) -> None:
    from swegym.agent.env import EnvConfig, SWEEnv

    env = SWEEnv(EnvConfig(grade=False))
    try:
        env.reset(options={"task": calc_task})
        assert env.sandbox is not None
        assert env.sandbox.run(TODAY).output.strip() == "2024-01-01"
    finally:
        env.close()


@pytest.mark.sandbox
def test_without_libfaketime_the_sandbox_runs_on_the_real_clock(
    calc_task: Task, no_libfaketime: None
) -> None:
    with open_sandbox(prepare(calc_task).layout()) as sb:
        assert sb.run(TODAY).output.strip() == dt.date.today().isoformat()
    res = validate_task(calc_task, runs=1)
    assert res.status == "valid" and res.clock == "real" and res.probe_clock == ""


@pytest.fixture(scope="module")
def dated_task(calc_task: Task) -> Task:
    """The calc task plus a test that passes only while the day of the month is above 12."""
    return calc_task.model_copy(
        update={"test_patch": calc_task.test_patch + DATE_TEST, "created_at": "2024-03-15T08:00:00Z"}
    )


@pytest.mark.sandbox
@needs_faketime
def test_grading_runs_at_the_task_date(dated_task: Task) -> None:
    run = run_tests(prepare(dated_task), dated_task.patch)
    assert run.status[DATED] == "PASSED"  # on 2024-03-15, whatever the host's date


@pytest.mark.sandbox
@needs_faketime
def test_validation_flags_a_test_that_reads_today(dated_task: Task) -> None:
    frozen = validate_task(dated_task, runs=1)
    assert frozen.status == "valid", frozen.reason
    assert frozen.clock == "task@2024-03-15 12:00:00" and frozen.probe_clock == "2027-09-07 12:00:00"
    assert frozen.date_dependent == [DATED]
    assert DATED in frozen.PASS_TO_PASS  # deterministic under the task's clock: kept, flagged
    assert frozen.task is not None and frozen.task.meta["date_dependent"] == [DATED]
    real = validate_task(dated_task, runs=1, config=SandboxConfig(clock="real"))
    assert real.status == "valid" and real.clock == "real"
    assert real.date_dependent == [DATED]  # the probe date is on the other side of 12 from today
    assert DATED not in real.PASS_TO_PASS + real.FAIL_TO_PASS
