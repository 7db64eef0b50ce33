"""The harness on a tiny real repository: env build, validation, grading, threats to grading."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import pytest

from conftest import CALC_BUGGY, CALC_FIXED, TESTS_BASE, TESTS_NEW
from swegym.errors import EnvBuildError, InterpreterNotFoundError, UnknownSpecError
from swegym.harness.evaluate import evaluate_prediction
from swegym.harness.parsers import parse_pytest_text
from swegym.harness.runner import prepare, run_tests
from swegym.harness.validate import validate_task
from swegym.sandbox.clock import find_libfaketime
from swegym.tasks.model import Task

pytestmark = pytest.mark.sandbox

F2P = "tests/test_calc.py::test_clamp_upper"


@pytest.fixture(scope="module")
def validated(calc_task: Task) -> Task:
    res = validate_task(calc_task, runs=2)
    assert res.status == "valid", res.reason
    assert res.task is not None
    return res.task


def test_validation_derives_labels(validated: Task) -> None:
    assert validated.FAIL_TO_PASS == [F2P]
    assert validated.PASS_TO_PASS == ["tests/test_calc.py::test_add", "tests/test_calc.py::test_clamp_inside"]


def test_gold_resolves_and_empty_does_not(validated: Task) -> None:
    assert evaluate_prediction(validated, validated.patch).status == "resolved"
    assert evaluate_prediction(validated, "").status == "empty_patch"
    assert evaluate_prediction(validated, None).patch_is_None


def test_wrong_and_unappliable_patches(validated: Task) -> None:
    wrong = validated.patch.replace("max(lo, min(x, hi))", "max(lo, min(x, hi - 1))")
    rep = evaluate_prediction(validated, wrong)
    assert rep.status == "unresolved" and rep.patch_successfully_applied
    assert rep.tests_status["FAIL_TO_PASS"].failure == [F2P]
    garbage = "diff --git a/nope.py b/nope.py\n--- a/nope.py\n+++ b/nope.py\n@@ -1 +1 @@\n-a\n+b\n"
    rep = evaluate_prediction(validated, garbage)
    assert rep.status == "unresolved" and not rep.patch_successfully_applied


def test_forged_pass_lines_do_not_count(validated: Task) -> None:
    # The candidate prints pytest-style PASSED lines for every labelled test, after the summary.
    fake = "\\n".join(f"PASSED {t}" for t in validated.FAIL_TO_PASS + validated.PASS_TO_PASS)
    forged = (
        "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,4 @@\n"
        f"+import atexit\n+atexit.register(print, '{fake}')\n def add(a, b):\n     return a + b\n"
    )
    prep = prepare(validated)
    run = run_tests(prep, forged)
    assert run.patch_applied and f"PASSED {F2P}" in run.log
    assert parse_pytest_text(run.log).status.get(F2P) == "PASSED"  # a text parser is fooled...
    assert evaluate_prediction(validated, forged).status == "unresolved"  # ...grading is not


def test_modified_test_files_are_restored(validated: Task) -> None:
    # The candidate "fixes" the bug by rewriting the test that grades it.
    cheat = validated.test_patch.replace("assert clamp(50, 0, 10) == 10", "assert True")
    assert cheat != validated.test_patch
    rep = evaluate_prediction(validated, cheat)
    # Graded on the real tests (not on an error the cheat caused): the FAIL_TO_PASS test failed.
    assert rep.status == "unresolved" and rep.error is None, rep.error
    assert rep.tests_status["FAIL_TO_PASS"].failure == [F2P]


def test_validation_checks_given_labels(validated: Task) -> None:
    wrong = validated.model_copy(update={"FAIL_TO_PASS": ["tests/test_calc.py::test_add"]})
    res = validate_task(wrong)
    assert res.status == "invalid" and "do not go from fail to pass" in res.reason
    no_fix = validated.model_copy(update={"patch": "", "FAIL_TO_PASS": []})
    assert validate_task(no_fix).status == "invalid"


def test_unknown_repo_version_and_interpreter(calc_task: Task, fixture_specs: Path) -> None:
    with pytest.raises(UnknownSpecError, match=r"no environment spec for repo 'nobody/nothing'"):
        prepare(calc_task.model_copy(update={"repo": "nobody/nothing"}))
    with pytest.raises(UnknownSpecError, match=r"version '9\.9'"):
        prepare(calc_task.model_copy(update={"version": "9.9"}))
    res = validate_task(calc_task.model_copy(update={"version": "9.9"}))
    assert res.status == "error" and "version '9.9'" in res.reason
    from swegym.envs.python import find_interpreter

    with pytest.raises(InterpreterNotFoundError, match=r"uv python install 2\.1"):
        find_interpreter("2.1")


def test_failed_install_is_a_clear_error_and_leaves_no_env(calc_task: Task, fixture_specs: Path) -> None:
    from swegym.envs.builder import build_env, load_built
    from swegym.envs.spec import EnvSpec
    from swegym.sources.materialize import materialize

    spec = EnvSpec(
        repo="fixture/calc",
        version="bad",
        python=calc_task_python(),
        install=[],
        packages=["this-package-does-not-exist-swegym==0.0.1"],
    )
    with pytest.raises(EnvBuildError) as exc:
        build_env(spec, materialize(calc_task))
    assert "failed" in str(exc.value) and "\n" not in str(exc.value)
    assert load_built(spec) is None


def calc_task_python() -> str:
    import sys

    return f"{sys.version_info.major}.{sys.version_info.minor}"


def test_env_is_mounted_read_only(calc_task: Task) -> None:
    from swegym.sandbox.local import LocalSandbox

    prep = prepare(calc_task)
    with LocalSandbox(prep.env.layout(prep.repo_dir)) as sb:
        assert sb.run("python -c 'import pytest; print(pytest.__name__)'").output == "pytest\n"
        assert sb.run("touch /opt/swegym/env/x").exit_code != 0
        assert sb.run("git log --oneline | wc -l").output.strip() == "1"
        assert sb.run("git status --porcelain").output == ""


def test_validation_report_json_shape(validated: Task, tmp_path: Path) -> None:
    from swegym.harness.report import evaluation_summary

    reps = [evaluate_prediction(validated, validated.patch)]
    summary = json.loads(evaluation_summary(reps, 1, [validated.instance_id]).to_json())
    assert summary["resolved_ids"] == [validated.instance_id] and summary["resolved_instances"] == 1
    assert summary["instances"][validated.instance_id]["outcome"] == "resolved"
    assert "instance_id" not in summary["instances"][validated.instance_id]


def test_conftest_hook_cannot_force_passes(validated: Task) -> None:
    # A candidate that adds a conftest.py hook rewriting every outcome to "passed".
    hook = (
        "import pytest\n\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
        "    outcome = yield\n    rep = outcome.get_result()\n    rep.outcome = 'passed'\n"
    )
    lines = "".join(f"+{line}\n" for line in hook.splitlines())
    n = len(hook.splitlines())
    patch = (
        "diff --git a/conftest.py b/conftest.py\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/conftest.py\n@@ -0,0 +1,{n} @@\n{lines}"
    )
    boot = "+import builtins\n"
    patch += (
        "diff --git a/sitecustomize.py b/sitecustomize.py\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/sitecustomize.py\n@@ -0,0 +1,1 @@\n{boot}"
    )
    prep = prepare(validated)
    run = run_tests(prep, patch)
    assert run.patch_applied
    assert run.status.get(F2P) == "FAILED"
    assert evaluate_prediction(validated, patch).status == "unresolved"


def test_a_gold_run_stopped_at_collection_names_the_import_error(calc_task: Task) -> None:
    # What a user fixing a spec needs first (a dependency missing from the env, say) is the
    # error that stopped collection, not only that the canaries did not run.
    new = "import funcy_not_installed\n" + CALC_FIXED
    lines = difflib.unified_diff(
        CALC_BUGGY.splitlines(keepends=True), new.splitlines(keepends=True), "a/calc.py", "b/calc.py"
    )
    gold = "diff --git a/calc.py b/calc.py\n" + "".join(lines)
    res = validate_task(calc_task.model_copy(update={"patch": gold}), date_check=False)
    assert res.status == "error"
    assert "No module named 'funcy_not_installed'" in res.reason, res.reason


def calc_test_patch_with(extra: str) -> str:
    """The calc task's test patch with ``extra`` (more test functions) appended to its test file."""
    lines = difflib.unified_diff(
        TESTS_BASE.splitlines(keepends=True),
        (TESTS_NEW + extra).splitlines(keepends=True),
        "a/tests/test_calc.py",
        "b/tests/test_calc.py",
    )
    return "diff --git a/tests/test_calc.py b/tests/test_calc.py\n" + "".join(lines)


GIT_REPOS_TEST = """

def test_own_git_repos(tmp_path):
    import subprocess

    for name in ("a", "b"):
        repo = tmp_path / name
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (repo / (name + ".txt")).write_text(name)
        subprocess.run(["git", "-C", str(repo), "add", name + ".txt"], check=True)
    listed = subprocess.run(["git", "-C", str(tmp_path / "b"), "ls-files"], capture_output=True, text=True)
    assert listed.stdout.split() == ["b.txt"]
"""


def test_tests_that_make_git_repos_do_not_share_the_harness_index(calc_task: Task) -> None:
    # The harness runs its own git steps on a private index (GIT_INDEX_FILE); a suite that makes
    # repositories of its own (dvc's, conan's) must not inherit it, or all of them share one index
    # and `git checkout` finds files it never added (dvc-2141 failed with the gold patch).
    test_patch = calc_test_patch_with(GIT_REPOS_TEST)
    res = validate_task(calc_task.model_copy(update={"test_patch": test_patch}), date_check=False)
    assert res.status == "valid", res.reason
    assert "tests/test_calc.py::test_own_git_repos" in res.PASS_TO_PASS


SLEEP_TEST = """

def test_sleeps_and_waits():
    import subprocess
    import sys
    import time

    start = time.monotonic()
    time.sleep(0.05)
    assert time.monotonic() - start >= 0.05
    child = "import time; time.sleep(0.01); print('slept')"
    out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "slept", out.stderr
"""


@pytest.mark.skipif(find_libfaketime() is None, reason="needs libfaketime (the task clock)")
def test_time_sleep_works_under_the_task_clock(calc_task: Task) -> None:
    # libfaketime 0.9.10 makes clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME) fail with EINVAL,
    # which is how Python >= 3.11 sleeps: every time.sleep and subprocess timeout in a sandbox
    # raised OSError (moto-7607's gold run failed on sleep(0)). The task clock's sitecustomize
    # waits through select() instead, in the test process and the Pythons it starts.
    test_patch = calc_test_patch_with(SLEEP_TEST)
    res = validate_task(calc_task.model_copy(update={"test_patch": test_patch}), date_check=False)
    assert res.status == "valid", res.reason
    assert res.clock.startswith("task")
    assert "tests/test_calc.py::test_sleeps_and_waits" in res.PASS_TO_PASS, sys.version
