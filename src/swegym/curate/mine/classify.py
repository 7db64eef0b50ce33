"""What a changed file is, for mining: a test, Python code, docs, CI, build metadata or other.

A commit is a candidate for a task when it changes Python code and Python tests; docs, CI and
build files are left out of both patches, and any other kind of change (a C extension, data)
drops the commit.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Literal

from swegym.curate.mine.history import Commit
from swegym.harness.testfiles import is_test_path

FileKind = Literal["test", "code", "docs", "ci", "build", "other"]

_DOC_DIRS = {"doc", "docs", "documentation"}
_DOC_NAMES = re.compile(
    r"^(?:changelog|changes|history|authors|contributors|readme|license|news|notice)", re.I
)
_DOC_SUFFIXES = {".rst", ".md", ".txt", ".adoc", ".ipynb", ".png", ".svg", ".jpg", ".css", ".html"}
_BUILD_NAMES = {
    "setup.py", "setup.cfg", "pyproject.toml", "manifest.in", "tox.ini", "noxfile.py", "makefile",
    "poetry.lock", "uv.lock", "pipfile", "pipfile.lock", "pdm.lock", "environment.yml", "pytest.ini",
}  # fmt: skip
_CI_PREFIXES = (".github/", ".circleci/", ".azure-pipelines/", "ci/", ".ci/")
_CI_NAMES = re.compile(
    r"^\.(?:travis|pre-commit|readthedocs|coveragerc|git|mailmap|codecov|flake8|editorconfig)"
)
_CI_FILES = {
    "appveyor.yml",
    "azure-pipelines.yml",
    "codecov.yml",
    "readthedocs.yml",
    "mkdocs.yml",
    ".coveragerc",
}


def classify_path(path: str) -> FileKind:
    """What a changed file is, for mining: a test, Python code, docs, CI, build metadata or other."""
    if is_test_path(path):
        return "test"
    p = PurePosixPath(path)
    name = p.name.lower()
    if p.parts[0].lower() in _DOC_DIRS:
        return "docs"
    if path.startswith(_CI_PREFIXES) or _CI_NAMES.match(name) or name in _CI_FILES:
        return "ci"
    if name in _BUILD_NAMES or re.match(r"requirements.*\.(txt|in)$", name) or p.parts[0] == "requirements":
        return "build"
    if p.suffix == ".py":
        return "code"
    if _DOC_NAMES.match(name) or p.suffix.lower() in _DOC_SUFFIXES:
        return "docs"
    return "other"


def is_candidate(commit: Commit) -> bool:
    """A commit that changes Python code and Python tests (against its first parent)."""
    kinds = [(classify_path(p), p.endswith(".py"), status) for status, p in commit.files]
    has_code = any(k == "code" for k, _, _ in kinds)
    has_test = any(k == "test" and py and s != "D" for k, py, s in kinds)
    return commit.parent is not None and has_code and has_test
