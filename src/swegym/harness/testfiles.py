"""Telling test code from library code by path alone (no import, no file read)."""

from __future__ import annotations

from pathlib import PurePosixPath

TEST_DIRS = frozenset({"test", "tests", "testing"})
"""Directory names whose every file is test code (fixtures and helpers included)."""


def is_test_path(path: str) -> bool:
    """Whether a repository path is test code: never a place for a bug, always a test file to run.

    True for any file under a ``test/``, ``tests/`` or ``testing/`` directory (at any depth, so
    their data files and helpers count too), and for files named ``test_*`` (any suffix),
    ``*_test.py`` or ``conftest.py`` anywhere. File names compare case-insensitively
    (``Test_io.py``), directory names exactly; Windows separators are accepted. A module merely
    named like a test helper outside those directories (``pkg/testing_utils.py``) is library code.
    """
    p = PurePosixPath(path.replace("\\", "/"))
    if TEST_DIRS & set(p.parts[:-1]):
        return True
    name = p.name.lower()
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
