"""Reading unified diffs: which files a patch touches. Pure functions."""

from __future__ import annotations

import re

_DIFF_GIT = re.compile(r"^diff --git a/(.+?) b/(.+)$")
_PLUS = re.compile(r"^\+\+\+ (?:b/)?(.+?)(?:\t.*)?$")
_MINUS = re.compile(r"^--- (?:a/)?(.+?)(?:\t.*)?$")


def touched_files(patch: str) -> list[str]:
    """Every path a patch touches (old and new names), in order of appearance."""
    seen: dict[str, None] = {}
    for line in patch.splitlines():
        m = _DIFF_GIT.match(line)
        if m:
            seen.setdefault(m.group(1))
            seen.setdefault(m.group(2))
            continue
        for rx in (_MINUS, _PLUS):
            m = rx.match(line)
            if m and m.group(1) != "/dev/null":
                seen.setdefault(m.group(1))
    return list(seen)


def deleted_files(patch: str) -> set[str]:
    """Paths the patch deletes."""
    out: set[str] = set()
    current: str | None = None
    for line in patch.splitlines():
        m = _MINUS.match(line)
        if m:
            current = m.group(1)
        elif line.startswith("+++ /dev/null") and current:
            out.add(current)
    return out


def run_targets(test_patch: str, suffixes: tuple[str, ...] = (".py",)) -> list[str]:
    """The test files to run for a task: those the test patch touches and leaves in place."""
    gone = deleted_files(test_patch)
    return [f for f in touched_files(test_patch) if f.endswith(suffixes) and f not in gone]
