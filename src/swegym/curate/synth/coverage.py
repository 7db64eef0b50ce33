"""Per-test coverage from the side channel, mapped onto the functions of the repo's source."""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field

from swegym.harness.parsers import PASSING, json_records


@dataclass
class Baseline:
    """One run of a project's tests on the clean tree: outcomes, failure messages and coverage."""

    status: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    covers: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    """(repo path, first line of a code object) -> the node ids of tests that ran it."""

    def passing(self) -> set[str]:
        """Tests that passed."""
        return {t for t, s in self.status.items() if s in PASSING}


def parse_records(results: str) -> tuple[dict[str, str], dict[tuple[str, int], set[str]]]:
    """Failure messages per test, and per-code-object test sets, from the plugins' JSON lines."""
    messages: dict[str, str] = {}
    names: dict[int, tuple[str, int]] = {}
    covers: dict[tuple[str, int], set[str]] = defaultdict(set)
    for rec in json_records(results):
        if "cover_fn" in rec:
            names[int(rec["cover_fn"])] = (str(rec["path"]), int(rec["line"]))
        elif "cover" in rec:
            for ident in rec.get("fns", []):
                if ident in names:
                    covers[names[ident]].add(str(rec["cover"]))
        elif rec.get("message") and rec.get("nodeid"):
            messages.setdefault(str(rec["nodeid"]), str(rec["message"]))
    return messages, dict(covers)


def function_starts(source: str) -> dict[int, tuple[int, int]]:
    """Map each line a function's code object may report as its first line to (def line, end line).

    A decorated function's code object starts at its first decorator, an undecorated one at ``def``.
    """
    out: dict[int, tuple[int, int]] = {}
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return out
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            span = (node.lineno, node.end_lineno or node.lineno)
            out[node.lineno] = span
            if node.decorator_list:
                out[min(d.lineno for d in node.decorator_list)] = span
    return out


def test_file_of(nodeid: str) -> str:
    """The file part of a pytest node id."""
    return nodeid.split("::", 1)[0]
