"""--mirror-root DIR: mirrors found as DIR/<owner>+<name>/repo or DIR/<owner>__<name>, on every
command that takes --mirror; `swegym env build` and `swegym tasks check` on a task whose version is
empty, cloned from such a root."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import run_git
from swegym.cli.app import app
from swegym.cli.common import mirrors
from swegym.errors import SourceError
from swegym.sources.materialize import mirrors_under
from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task

PYVER = f"{sys.version_info.major}.{sys.version_info.minor}"
CODE = "__version__ = '0.4.1'\n\n\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi + 1))\n"
TESTS = "from mrcalc import clamp\n\n\ndef test_inside():\n    assert clamp(5, 0, 10) == 5\n"
TESTS_NEW = TESTS + "\n\ndef test_upper():\n    assert clamp(50, 0, 10) == 10\n"


def test_layouts_and_precedence(tmp_path: Path) -> None:
    (tmp_path / "getmoto+moto" / "repo").mkdir(parents=True)
    (tmp_path / "pydantic__pydantic").mkdir()
    (tmp_path / "Project-MONAI+MONAI" / "repo").mkdir(parents=True)
    (tmp_path / "plain").mkdir()  # neither layout
    (tmp_path / "half+empty").mkdir()  # '+' without the repo folder
    (tmp_path / "fetch.sh").write_text("")
    assert mirrors_under(tmp_path) == {
        "Project-MONAI/MONAI": str(tmp_path / "Project-MONAI+MONAI" / "repo"),
        "getmoto/moto": str(tmp_path / "getmoto+moto" / "repo"),
        "pydantic/pydantic": str(tmp_path / "pydantic__pydantic"),
    }
    both = mirrors(["getmoto/moto=/elsewhere"], tmp_path)  # an explicit --mirror wins
    assert both["getmoto/moto"] == "/elsewhere" and "pydantic/pydantic" in both
    assert mirrors(None) == {}


def test_missing_root_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"--mirror-root .*nope: not a directory"):
        mirrors_under(tmp_path / "nope")
    res = CliRunner().invoke(app, ["tasks", "version", "--tasks", "bundled:lite", "--mirror-root", "/nope"])
    assert isinstance(res.exception, SourceError)  # main() prints it as one line and exits 2


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A mirror root holding fixture/mrcalc (version file, fix commit), its rule, spec and task."""
    base_dir = tmp_path_factory.mktemp("mroot")
    root = base_dir / "mirrors" / "fixture+mrcalc" / "repo"
    root.mkdir(parents=True)
    run_git(root, "init", "-q", "--initial-branch=main")
    for name, text in {"mrcalc/__init__.py": CODE, "tests/test_mrcalc.py": TESTS}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "init")
    base = run_git(root, "rev-parse", "HEAD").strip()
    (root / "mrcalc/__init__.py").write_text(CODE.replace("hi + 1", "hi"))
    (root / "tests/test_mrcalc.py").write_text(TESTS_NEW)
    gold, tests = run_git(root, "diff", "--", "mrcalc"), run_git(root, "diff", "--", "tests")
    run_git(root, "commit", "-qam", "fix (#2)")
    (base_dir / "rules.json").write_text(
        json.dumps({"fixture/mrcalc": {"method": "file", "path": "mrcalc/__init__.py"}})
    )
    spec = {"python": PYVER, "install": [], "packages": ["pytest"], "env": {"PYTHONPATH": "/testbed"}}
    spec["test_cmd"] = "python -m pytest -rA -p no:cacheprovider"
    (base_dir / "specs").mkdir()
    (base_dir / "specs" / "fixture__mrcalc.json").write_text(
        json.dumps({"repo": "fixture/mrcalc", "versions": {"0.4": spec}})
    )
    task = Task(
        instance_id="fixture__mrcalc-2",
        repo="fixture/mrcalc",
        base_commit=base,
        patch=gold,
        test_patch=tests,
        problem_statement="clamp's upper bound is off by one",
        created_at="2024-01-01T00:00:00Z",
        FAIL_TO_PASS=["tests/test_mrcalc.py::test_upper"],
        PASS_TO_PASS=["tests/test_mrcalc.py::test_inside"],
    )
    export_tasks([task], base_dir / "tasks.jsonl")
    return {"dir": base_dir, "mirrors": base_dir / "mirrors"}


@pytest.mark.sandbox
def test_env_build_and_check_detect_the_version(
    mirrored: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = mirrored["dir"]
    monkeypatch.setenv("SWEGYM_VERSION_RULES", str(d / "rules.json"))
    monkeypatch.setenv("SWEGYM_SPECS_PATH", str(d / "specs"))
    tasks, root = str(d / "tasks.jsonl"), str(mirrored["mirrors"])
    built = CliRunner().invoke(app, ["env", "build", "--tasks", tasks, "--mirror-root", root])
    assert built.exit_code == 0, built.output
    assert built.output.startswith("fixture/mrcalc 0.4: ")  # the detected version's env
    out = tmp_path / "check"
    args = ["tasks", "check", "--tasks", tasks, "--runs", "1", "--mirror-root", root, "--out", str(out)]
    checked = CliRunner().invoke(app, [*args, "--workers", "1"])
    assert checked.exit_code == 0, checked.output
    assert json.loads((out / "check.json").read_text())["ok"] == 1
