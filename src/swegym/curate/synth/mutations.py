"""Bug injection by AST mutation: enumerate small, real edits of a module's functions.

``enumerate_mutations`` lists every candidate bug of the kinds in ``KINDS`` in the functions of
one file, in file order. Each ``Mutation`` replaces only the exact source text of the node it
changes (or deletes whole lines), so the rest of the file stays byte-identical and the reverse
edit, the gold patch of a synthetic task, is a diff of a line or two. Every mutation is checked:
the mutated code parses and compiles, and its AST differs from the original's. ``key()`` names
the mutated function's AST, so the same bug reached two ways is kept once.

What is never mutated: test files and test functions, ``__repr__``-like trivia, docstrings, type
annotations, ``if TYPE_CHECKING:`` blocks, decorators, ``assert`` statements, logging, warnings
and ``print`` calls, the inside of f-strings, and the arguments of ``raise`` (only the exception
class changes).
"""

from __future__ import annotations

import ast
import hashlib
import json
import warnings
from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

from swegym.curate.synth.functions import Function, FunctionNode, walk_functions
from swegym.curate.synth.spans import Edit, SourceText
from swegym.curate.synth.statement_edits import FunctionMutator

KINDS: tuple[str, ...] = (
    "compare_op",
    "binary_op",
    "bool_op",
    "off_by_one",
    "remove_guard",
    "remove_statement",
    "swap_args",
    "wrong_return",
    "wrong_exception",
    "negate_condition",
)

# A gold patch should be as small as the bug: an edit may span at most this many lines (a deleted
# ten-line call or a swapped pair of multi-line arguments is a large, conspicuous diff).
MAX_SPAN_LINES = 4

_TRIVIA = frozenset({"__repr__", "__str__", "__rich_repr__", "__format__", "__dir__", "__sizeof__"})


class Mutation(BaseModel):
    """One injected bug: replace ``before`` with ``after`` at a place in one file."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="One of KINDS.")
    path: str = Field(description="File path relative to the repository root, as given.")
    qualname: str = Field(description="The function the edit is in (see FunctionInfo.qualname).")
    lineno: int = Field(description="First changed line, 1-based.")
    end_lineno: int = Field(description="Last changed line (for a deletion, the last deleted line).")
    col: int = Field(description="Where `before` starts on `lineno`, in characters (not UTF-8 bytes).")
    before: str = Field(description="The original text; whole lines, terminators included, for deletions.")
    after: str = Field(description="The replacement text; '' for deletions.")
    summary: str = Field(description="Short internal description, e.g. \"changed '<' to '<=' in Foo.bar\".")
    digest: str = Field(description="sha256 of the normalized ast.dump of the mutated function.")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in KINDS:
            raise ValueError(f"unknown mutation kind {value!r}; known: {', '.join(KINDS)}")
        return value

    def apply(self, source: str) -> str:
        """The mutated file text. Raises ValueError if ``before`` is not at its place in ``source``."""
        start = self._start(source, self.before)
        return source[:start] + self.after + source[start + len(self.before) :]

    def revert(self, mutated: str) -> str:
        """The original file text back from ``apply``'s result: the gold patch's edit."""
        start = self._start(mutated, self.after)
        return mutated[:start] + self.before + mutated[start + len(self.after) :]

    def key(self) -> str:
        """Stable dedup key: equal for mutations that leave the same function with the same AST."""
        payload = json.dumps([self.path, self.qualname, self.digest])
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def _start(self, text: str, expected: str) -> int:
        src = SourceText(text)
        if not 1 <= self.lineno <= len(src.line_starts):
            raise ValueError(f"{self.path}: line {self.lineno} is past the end of the file")
        start = src.line_starts[self.lineno - 1] + self.col
        if start > src.line_end(self.lineno) or text[start : start + len(expected)] != expected:
            raise ValueError(f"{self.path}:{self.lineno}: {expected!r} is not at column {self.col}")
        return start


class _Checker:
    """Parses and compiles mutated code, one outermost function at a time (not the whole file)."""

    def __init__(self, path: str, src: SourceText, fn: Function) -> None:
        self.path = path
        self.src = src
        self.name = fn.node.name
        self.original = ast.dump(fn.node)
        outer = fn.outermost
        first = min([outer.lineno] + [d.lineno for d in outer.decorator_list])  # dumps include decorators
        self.lo = max(src.line_starts[first - 1], src.bom)
        self.hi = src.next_line_start(outer.end_lineno or outer.lineno)
        # An indented def (a method) becomes a valid module under `if 1:`, lines kept aligned.
        self.prefix = "if 1:\n" if outer.col_offset else ""
        self.line = fn.node.lineno - (first - 1) + (1 if self.prefix else 0)
        if self._dump(self.src.text[self.lo : self.hi]) != self.original:
            self.lo, self.hi, self.prefix, self.line = src.bom, len(src.text), "", fn.node.lineno

    def mutated_dump(self, edit: Edit) -> str | None:
        """The mutated function's ast.dump, or None if the edit does not parse or compile."""
        text = self.src.text
        return self._dump(text[self.lo : edit.start] + edit.after + text[edit.end : self.hi])

    def _dump(self, chunk: str) -> str | None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escapes and `is` literals in the project's code
                tree = ast.parse(self.prefix + chunk)
                compile(tree, self.path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            return None
        for node in ast.walk(tree):
            if isinstance(node, FunctionNode) and node.lineno == self.line and node.name == self.name:
                return ast.dump(node)
        return None


def _skipped(fn: Function) -> bool:
    name = fn.node.name
    return fn.is_test or name in _TRIVIA or (name.startswith("_repr_") and name.endswith("_"))


def enumerate_mutations(
    path: str,
    source: str,
    *,
    kinds: Iterable[str] | None = None,
    functions: Iterable[str] | None = None,
    max_per_function: int | None = None,
) -> list[Mutation]:
    """All checked mutations of ``source``'s functions, in file order, then in the order of KINDS.

    ``kinds`` and ``functions`` (qualnames) restrict the search; ``max_per_function`` keeps at
    most that many per function, taken round robin over its kinds. A test file gives none.
    Raises SyntaxError if ``source`` does not parse, ValueError for an unknown kind.
    """
    wanted = frozenset(KINDS if kinds is None else kinds)
    unknown = wanted - set(KINDS)
    if unknown:
        raise ValueError(f"unknown mutation kinds: {sorted(unknown)}; known: {', '.join(KINDS)}")
    only = None if functions is None else set(functions)
    src = SourceText(source)
    tree = ast.parse(src.parsable)
    result: list[Mutation] = []
    for fn in walk_functions(path, tree):
        if _skipped(fn) or (only is not None and fn.qualname not in only):
            continue
        edits = FunctionMutator(src, fn.node, fn.qualname, wanted).run()
        if not edits:
            continue
        checker = _Checker(path, src, fn)
        found: dict[str, Mutation] = {}
        for edit in sorted(edits, key=lambda e: (e.start, KINDS.index(e.kind))):
            if src.lineno_at(max(edit.start, edit.end - 1)) - src.lineno_at(edit.start) >= MAX_SPAN_LINES:
                continue
            dump = checker.mutated_dump(edit)
            if dump is None or dump == checker.original:
                continue
            mutation = _mutation(path, fn.qualname, src, edit, dump)
            found.setdefault(mutation.key(), mutation)
        picked = list(found.values())
        if max_per_function is not None:
            picked = _balanced(picked, max_per_function)
        result.extend(picked)
    result.sort(key=lambda m: (m.lineno, m.col, KINDS.index(m.kind)))
    return result


def _mutation(path: str, qualname: str, src: SourceText, edit: Edit, dump: str) -> Mutation:
    lineno = src.lineno_at(edit.start)
    return Mutation(
        kind=edit.kind,
        path=path,
        qualname=qualname,
        lineno=lineno,
        end_lineno=src.lineno_at(max(edit.start, edit.end - 1)),
        col=edit.start - src.line_starts[lineno - 1],
        before=src.text[edit.start : edit.end],
        after=edit.after,
        summary=edit.summary,
        digest=hashlib.sha256(dump.encode()).hexdigest(),
    )


def _balanced(mutations: list[Mutation], limit: int) -> list[Mutation]:
    """At most ``limit`` mutations, taken round robin over their kinds, back in their own order."""
    by_kind: dict[str, list[Mutation]] = defaultdict(list)
    for m in mutations:
        by_kind[m.kind].append(m)
    queues = [by_kind[k] for k in KINDS if by_kind[k]]
    chosen: set[int] = set()
    rank = 0
    while len(chosen) < min(limit, len(mutations)):
        for queue in queues:
            if rank < len(queue) and len(chosen) < limit:
                chosen.add(id(queue[rank]))
        rank += 1
    return [m for m in mutations if id(m) in chosen]
