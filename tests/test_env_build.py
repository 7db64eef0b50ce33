"""A real build through the new spec fields: ordered steps, build variables, a build-only edit,
an optional failing step, a skipped step, pins, the kept build log and hard links from uv's cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from swegym.envs.builder import build_env
from swegym.envs.recipe import InstallStep, RepoEdit, SystemTool
from swegym.envs.spec import EnvSpec
from swegym.envs.uvtool import uv_cache_dir
from swegym.errors import EnvBuildError
from swegym.sources.materialize import materialize
from swegym.tasks.model import Task

PYVER = "3.11"
pytestmark = pytest.mark.sandbox


def _spec(**extra: object) -> EnvSpec:
    evidence = (
        'cat /testbed/calc.py > "$VIRTUAL_ENV/seen-calc.py"; '
        'echo "$BUILD_MARK $STEP_VAR" > "$VIRTUAL_ENV/marker"'
    )
    fields: dict[str, object] = {
        "repo": "fixture/calc",
        "version": "steps",
        "python": PYVER,
        "pins": ["pytest<9"],
        "build_env": {"BUILD_MARK": "built"},
        "edits": [RepoEdit(file="calc.py", append="# edited for the build")],
        "steps": [
            InstallStep(packages=["pytest"]),
            InstallStep(kind="run", argv=["false"], optional=True),
            InstallStep(kind="run", argv=["false"], if_exists="no/such/file"),
            InstallStep(kind="run", argv=["sh", "-c", evidence], env={"STEP_VAR": "step-only"}),
        ],
        "env": {"PYTHONPATH": "/testbed"},
        **extra,
    }
    return EnvSpec.model_validate(fields)


def test_build_runs_the_steps_in_order_and_keeps_its_log(calc_task: Task) -> None:
    env = build_env(_spec(), materialize(calc_task), force=True)
    assert (env.venv / "marker").read_text() == "built step-only\n"
    # The edit reached the build, and is not in the env's repo layer (the agent sees the base file).
    assert (env.venv / "seen-calc.py").read_text().endswith("# edited for the build\n")
    assert not (env.repo_extra / "calc.py").exists()
    log = (env.path / "build.log").read_text()
    assert "optional step 2/4 (run) failed, going on" in log and "step 3/4 (run) skipped" in log
    assert "--constraint /tmp/swegym-pins.txt" in log
    info = json.loads((env.path / "env.json").read_text())
    assert info["ok"] and info["build_seconds"] > 0 and info["build_key"] in env.path.name
    freeze = (env.venv / "swegym-freeze.txt").read_text()
    assert "pytest==" in freeze and not freeze.split("pytest==")[1].startswith("9")
    pyc = list((env.venv / "lib").rglob("_pytest/__pycache__/*.pyc"))
    assert pyc, "bytecode compiled at build time"
    if os.stat(uv_cache_dir()).st_dev == os.stat(env.path.parent).st_dev:
        # uv's cache on the env's file system: files are hard links into the cache, not copies
        assert "venv: hardlink" in log
        assert (next((env.venv / "lib").rglob("_pytest/python.py"))).stat().st_nlink > 1
        assert not list((uv_cache_dir() / "swegym-staging").glob(f"{env.path.name}*"))


def test_a_failing_required_step_fails_the_build(calc_task: Task) -> None:
    spec = _spec(version="fails", steps=[InstallStep(kind="run", argv=["sh", "-c", "echo boom; exit 3"])])
    with pytest.raises(EnvBuildError, match="exit 3") as info:
        build_env(spec, materialize(calc_task), force=True)
    assert "\n" not in str(info.value) and "boom" in str(info.value)


def test_a_missing_host_tool_is_one_line(calc_task: Task, tmp_path: Path) -> None:
    spec = _spec(
        version="tool", requires=[SystemTool(command="no-such-tool-xyz", debian="xyz-tools", needed_for="x")]
    )
    with pytest.raises(EnvBuildError, match="apt-get install xyz-tools"):
        build_env(spec, materialize(calc_task), force=True)
