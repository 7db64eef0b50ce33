"""The functions and methods of a module: qualnames, spans, size, and whether they are tests.

A function is test code when its file is (``swegym.harness.testfiles.is_test_path``), when a
``Test*`` class holds it, or when its name starts with ``test``; tests are never mutated.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from pydantic import BaseModel, Field

from swegym.curate.synth.rules import is_docstring
from swegym.curate.synth.spans import SourceText
from swegym.harness.testfiles import is_test_path

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


class FunctionInfo(BaseModel):
    """A function or method of a module."""

    qualname: str = Field(description="Python's __qualname__: 'parse_int', 'Model.validate', 'f.<locals>.g'.")
    lineno: int = Field(description="Line of the `def` (decorators are above it).")
    end_lineno: int = Field(description="Last line of the body.")
    n_statements: int = Field(
        description="Statements in its own body, nested blocks included, docstring not."
    )
    is_test: bool = Field(description="In a test file, a `Test*` class, or named `test*`.")


@dataclass
class Function:
    """A function's node, found by walking a module."""

    node: FunctionNode
    qualname: str
    outermost: FunctionNode  # the outermost def around it: compiling it checks nonlocal names too
    is_test: bool


def _walk(node: ast.AST, prefix: str, outermost: FunctionNode | None, in_test: bool) -> Iterator[Function]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
            qualname = prefix + child.name
            is_test = in_test or child.name.startswith("test")
            yield Function(child, qualname, outermost or child, is_test)
            yield from _walk(child, qualname + ".<locals>.", outermost or child, is_test)
        elif isinstance(child, ast.ClassDef):
            yield from _walk(
                child, f"{prefix}{child.name}.", outermost, in_test or child.name.startswith("Test")
            )
        elif isinstance(child, ast.stmt):
            yield from _walk(child, prefix, outermost, in_test)


def walk_functions(path: str, tree: ast.Module) -> list[Function]:
    """Every function and method of a parsed module, outermost first, in file order."""
    return list(_walk(tree, "", None, is_test_path(path)))


def _count_statements(body: list[ast.stmt]) -> int:
    count = 0
    for stmt in body:
        if is_docstring(stmt) and stmt is body[0]:
            continue
        count += 1
        if not isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            for child in ast.iter_child_nodes(stmt):
                inner = getattr(child, "body", None)
                if isinstance(child, ast.ExceptHandler | ast.match_case) and isinstance(inner, list):
                    count += _count_statements(inner)
            for field in ("body", "orelse", "finalbody"):
                block = getattr(stmt, field, None)
                if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                    count += _count_statements(block)
    return count


def functions_in(path: str, source: str) -> list[FunctionInfo]:
    """Every function and method of a module, in file order. Raises SyntaxError if it does not parse."""
    return [
        FunctionInfo(
            qualname=f.qualname,
            lineno=f.node.lineno,
            end_lineno=f.node.end_lineno or f.node.lineno,
            n_statements=_count_statements(f.node.body),
            is_test=f.is_test,
        )
        for f in walk_functions(path, ast.parse(SourceText(source).parsable))
    ]
