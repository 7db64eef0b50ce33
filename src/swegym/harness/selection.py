"""Which tests a grading run selects: the test patch's test files, or mypy's data-driven cases.

mypy's tests live in data files (``test-data/unit/check-*.test``), each case opened by a
``[case NAME]`` line and collected by drivers under ``mypy/test`` (``mypyc/test`` for mypyc).
SWE-Gym runs them as ``pytest -k "NAME1 or NAME2 ..."`` over the test patch's case names; we do
the same over the drivers' directories, with the harness's canary class added to the
expression so the tamper check still sees its tests run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from swegym.envs.spec import EnvSpec
from swegym.harness.patches import run_targets, touched_files
from swegym.tasks.model import Task

_CASE = re.compile(r"\[case ([^\]\s]+)\]")


@dataclass(frozen=True)
class Selection:
    """What pytest is given: ``targets`` (files or directories), and ``keywords`` for ``-k``."""

    targets: list[str]
    keywords: list[str] = field(default_factory=list)

    def args(self, canary_case: str | None) -> list[str]:
        """pytest's arguments: the targets, then ``-k`` over the keywords and the canary class."""
        if not self.keywords:
            return list(self.targets)
        names = [*self.keywords, *([canary_case] if canary_case else [])]
        return [*self.targets, "-k", " or ".join(names)]


def canary_home(repo_dir: Path, selection: Selection) -> str | None:
    """For a ``-k`` selection over directories, an existing test module of the first one to
    carry the canaries (``None`` otherwise). They must share a collected module: pytest 8.3
    drops a whole package directory argument when a file inside it is also an argument."""
    if not selection.keywords or not selection.targets:
        return None
    first = selection.targets[0]
    for path in sorted((repo_dir / first).glob("test*.py")):
        if path.is_file() and not path.is_symlink():
            return f"{first.rstrip('/')}/{path.name}"
    return None


def mypy_cases(test_patch: str) -> list[str]:
    """The ``[case NAME]`` names the test patch leaves in place (added or context lines), in
    order, without mypy's flags after a dash (``testFoo-skip``, ``testBar-xfail``)."""
    names: list[str] = []
    for line in test_patch.splitlines():
        if line.startswith(("+++", "---")) or line[:1] not in ("+", " "):
            continue
        match = _CASE.match(line[1:].strip())
        if match:
            name = match.group(1).split("-", 1)[0]
            if name and name not in names:
                names.append(name)
    return names


def _mypy_drivers(test_patch: str) -> list[str]:
    """The driver directories the test patch's files belong to (mypyc's or mypy's)."""
    dirs: list[str] = []
    for path in touched_files(test_patch):
        top = "mypyc/test" if path.startswith("mypyc/") else "mypy/test"
        if top not in dirs:
            dirs.append(top)
    return dirs or ["mypy/test"]


def select_tests(task: Task, spec: EnvSpec) -> Selection:
    """The tests that grade ``task``: by default the test patch's test files plus the task's
    ``test_files``; for ``test_select: mypy_cases``, the case names over the drivers (falling
    back to the files when the test patch names no case)."""
    files = list(dict.fromkeys([*run_targets(task.test_patch), *task.test_files]))
    if spec.test_select == "mypy_cases":
        cases = mypy_cases(task.test_patch)
        if cases:
            return Selection(_mypy_drivers(task.test_patch), cases)
    return Selection(files)
