"""Diffs of synthetic bugs: one file's edit as a git-style diff, and the diff that undoes it."""

from __future__ import annotations

import difflib


def unified_diff(path: str, old: str, new: str) -> str:
    """A git-style diff of one file, which ``git apply`` accepts."""
    lines = list(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}", n=3
        )
    )
    out = [f"diff --git a/{path} b/{path}\n"]
    for line in lines:
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\n") + "\n")
        elif not line.endswith("\n"):
            out.append(line + "\n\\ No newline at end of file\n")
        else:
            out.append(line)
    return "".join(out)


def reverse_diff(patch: str) -> str:
    """The diff that undoes ``patch`` (old and new sides swapped, removals before additions)."""
    out: list[str] = []
    block: dict[str, list[str]] = {"-": [], "+": []}

    def flush() -> None:
        out.extend(block["-"] + block["+"])
        block["-"], block["+"] = [], []

    last = ""
    for line in patch.splitlines(keepends=True):
        if line.startswith(("diff --git", "---", "+++")):
            flush()
            out.append(line)
        elif line.startswith("@@"):
            flush()
            old, new = line.split()[1:3]
            out.append(f"@@ -{new[1:]} +{old[1:]} @@\n")
        elif line.startswith("\\"):
            block[last].append(line) if last in block else out.append(line)
            continue
        elif line[:1] in ("-", "+"):
            last = "+" if line[0] == "-" else "-"
            block[last].append(last + line[1:])
            continue
        else:
            flush()
            out.append(line)
        last = ""
    flush()
    return "".join(out)
