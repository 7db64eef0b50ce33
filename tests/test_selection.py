"""Test selection: mypy's data-driven cases run as ``pytest -k`` over the test patch's [case]
names (SWE-Gym's rule), with the canary still collected and reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import PYVER, run_git
from swegym.envs.spec import EnvSpec
from swegym.harness.selection import Selection, canary_home, mypy_cases, select_tests
from swegym.harness.validate import validate_task
from swegym.tasks.model import Task

REAL_PATCH = """diff --git a/test-data/unit/check-functions.test b/test-data/unit/check-functions.test
--- a/test-data/unit/check-functions.test
+++ b/test-data/unit/check-functions.test
@@ -10,6 +10,14 @@ def f() -> None: pass
 [case testKeywordOnlyArg]
 def f(*, x: int) -> None: pass
-[case testRemovedCase]
+[case testNewCase]
+def g() -> None: pass
+[out]
+[case testSkipped-skip]
+[case testNewCase]
"""


def test_mypy_cases_takes_added_and_context_cases_without_flags() -> None:
    assert mypy_cases(REAL_PATCH) == ["testKeywordOnlyArg", "testNewCase", "testSkipped"]


def test_selection_args_add_the_canary_class_to_the_expression() -> None:
    sel = Selection(["mypy/test"], ["testA", "testB"])
    assert sel.args("TestCanary") == ["mypy/test", "-k", "testA or testB or TestCanary"]
    assert Selection(["tests/test_x.py"]).args("TestCanary") == ["tests/test_x.py"]


def _task(test_patch: str) -> Task:
    return Task(
        instance_id="python__mypy-1",
        repo="python/mypy",
        base_commit="0" * 40,
        patch="",
        test_patch=test_patch,
        problem_statement="x",
        version="1.4",
    )


def test_select_tests_uses_cases_only_when_the_spec_says_so() -> None:
    mypy = EnvSpec(python="3.11", test_select="mypy_cases")
    assert select_tests(_task(REAL_PATCH), mypy) == Selection(
        ["mypy/test"], ["testKeywordOnlyArg", "testNewCase", "testSkipped"]
    )
    mypyc = REAL_PATCH.replace("test-data/unit", "mypyc/test-data")
    assert select_tests(_task(mypyc), mypy).targets == ["mypyc/test"]
    # No [case] in the patch: the files rule, as for every other repository.
    f = "mypy/test/testx.py"
    plain = f"diff --git a/{f} b/{f}\n--- a/{f}\n+++ b/{f}\n@@ -1 +1 @@\n-a\n+b\n"
    assert select_tests(_task(plain), mypy) == Selection(["mypy/test/testx.py"])
    assert select_tests(_task(REAL_PATCH), EnvSpec(python="3.11")).targets == []


DRIVER = """import pathlib
import re

import pytest

from mini import triple

DATA = pathlib.Path(__file__).resolve().parents[2] / "test-data" / "unit"
CASES = []
for f in sorted(DATA.glob("check-*.test")):
    for name, arg, want in re.findall(r"\\[case (\\w+)\\]\\n(\\d+) -> (\\d+)", f.read_text()):
        CASES.append(pytest.param(int(arg), int(want), id=name))


@pytest.mark.parametrize("arg,want", CASES)
def test_case(arg, want):
    assert triple(arg) == want
"""


@pytest.mark.sandbox
def test_mypy_style_task_validates_with_k_over_its_cases(tmp_path: Path) -> None:
    """A data-driven suite like mypy's: the test patch adds a [case]; only the patch's cases run
    (another case in the file, failing at base, is not selected), and the canary is checked."""
    root = tmp_path / "mini"
    (root / "mini").mkdir(parents=True)
    (root / "mypy" / "test").mkdir(parents=True)
    (root / "test-data" / "unit").mkdir(parents=True)
    (root / "mini" / "__init__.py").write_text("def triple(x):\n    return x * 2\n")
    (root / "mypy" / "__init__.py").write_text("")
    (root / "mypy" / "test" / "__init__.py").write_text("")
    (root / "mypy" / "test" / "testcheck.py").write_text(DRIVER)
    (root / "pytest.ini").write_text("[pytest]\npython_files = test*.py\n")
    data = root / "test-data" / "unit" / "check-basic.test"
    data.write_text("[case testBrokenElsewhere]\n5 -> 99\n\n[case testZero]\n0 -> 0\n")
    run_git(root, "init", "-q", "--initial-branch=main")
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "base")
    base = run_git(root, "rev-parse", "HEAD").strip()
    (root / "mini" / "__init__.py").write_text("def triple(x):\n    return x * 3\n")
    data.write_text(data.read_text() + "\n[case testTwo]\n2 -> 6\n")
    gold = run_git(root, "diff", "--", "mini")
    test_patch = run_git(root, "diff", "-U2", "--", "test-data")
    specs = tmp_path / "specs"
    specs.mkdir()
    spec = {
        "repo": "fixture/mypylike",
        "versions": {
            "1.0": {
                "python": PYVER,
                "install": [],
                "packages": ["pytest"],
                "env": {"PYTHONPATH": "/testbed"},
                "test_cmd": "python -m pytest -rA -p no:cacheprovider",
                "test_select": "mypy_cases",
                "test_timeout": 120,
            }
        },
    }
    (specs / "fixture__mypylike.json").write_text(json.dumps(spec))
    task = Task(
        instance_id="fixture__mypylike-1",
        repo="fixture/mypylike",
        base_commit=base,
        patch=gold,
        test_patch=test_patch,
        problem_statement="triple doubles",
        version="1.0",
        source=str(root),
        created_at="2024-01-01T00:00:00Z",
    )
    assert mypy_cases(test_patch) == ["testZero", "testTwo"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWEGYM_SPECS_PATH", str(specs))
        result = validate_task(task, runs=1, date_check=False)
    assert result.status == "valid", result
    assert result.task is not None
    assert result.task.FAIL_TO_PASS == ["mypy/test/testcheck.py::test_case[testTwo]"]
    assert result.task.PASS_TO_PASS == ["mypy/test/testcheck.py::test_case[testZero]"]


def test_canary_home_is_an_existing_module_of_the_first_directory(tmp_path: Path) -> None:
    (tmp_path / "mypy" / "test").mkdir(parents=True)
    for name in ("testsolve.py", "testcheck.py", "helpers.py"):
        (tmp_path / "mypy" / "test" / name).write_text("")
    sel = Selection(["mypy/test"], ["testA"])
    assert canary_home(tmp_path, sel) == "mypy/test/testcheck.py"
    assert canary_home(tmp_path, Selection(["mypy/test"])) is None  # files mode: as before
    assert canary_home(tmp_path, Selection(["mypyc/test"], ["testA"])) is None
