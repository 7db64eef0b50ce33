"""Exact text spans of AST nodes: where an edit starts and ends in a file, to the character.

ast gives 1-based lines and UTF-8 *byte* columns; edits work on ``str`` offsets. ``SourceText``
converts one to the other (a line with ``é`` or ``→`` has fewer characters than bytes), finds
operator tokens that ast does not locate (the ``<`` between two operands) and the whole lines a
statement owns, so an edit never touches a byte it does not mean to change.
"""

from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass

_NEWLINE = re.compile(r"\r\n|\r|\n")  # what the tokenizer counts as a line break
_OP_CHARS = frozenset("<>=!+-*/%&|^@~")
_GAP_TRIVIA = frozenset(" \t\f\r\n()")


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` (str offsets) with ``after``: one candidate bug."""

    kind: str
    start: int
    end: int
    after: str
    summary: str


class SourceText:
    """A file's text, with ast positions (1-based lines, UTF-8 byte columns) mapped to str offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]
        # A byte-order mark is text before line 1, column 0 for ast (which is given the text without it).
        self.bom = 1 if text.startswith("\ufeff") else 0

    @property
    def parsable(self) -> str:
        """The text as ast.parse takes it: without a byte-order mark."""
        return self.text[self.bom :]

    def line_end(self, lineno: int) -> int:
        """Offset just before line ``lineno``'s terminator (or the end of the text)."""
        if lineno >= len(self.line_starts):
            return len(self.text)
        nxt = self.line_starts[lineno]
        return nxt - 2 if self.text[nxt - 2 : nxt] == "\r\n" else nxt - 1

    def next_line_start(self, lineno: int) -> int:
        """Offset of the line after ``lineno`` (or the end of the text)."""
        return self.line_starts[lineno] if lineno < len(self.line_starts) else len(self.text)

    def lineno_at(self, offset: int) -> int:
        """The 1-based line an offset is on."""
        return bisect.bisect_right(self.line_starts, offset)

    def offset(self, lineno: int, col: int) -> int:
        """The str offset of an ast (line, UTF-8 byte column) position."""
        start = self.line_starts[lineno - 1] + (self.bom if lineno == 1 else 0)
        line = self.text[start : self.line_end(lineno)]
        if line.isascii():
            return start + col
        return start + len(line.encode("utf-8")[:col].decode("utf-8"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        """The str offsets of a node's source text (parentheses around it excluded, as in ast)."""
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        return start, self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def operator_between(self, left: ast.AST, right: ast.AST, expected: str) -> tuple[int, int] | None:
        """The span of the operator ``expected`` (``"<"``, ``"not in"``) between two sibling nodes.

        The gap may hold only the operator, parentheses, whitespace, comments and line
        continuations; anything else, or another operator, means the positions are not what we
        think, and there is no span.
        """
        lo, hi = self.span(left)[1], self.span(right)[0]
        gap = self.text[lo:hi]
        tokens: list[tuple[int, int]] = []
        i = 0
        while i < len(gap):
            c = gap[i]
            if c in _GAP_TRIVIA or (c == "\\" and gap[i + 1 : i + 2] in ("\n", "\r")):
                i += 1
            elif c == "#":
                while i < len(gap) and gap[i] not in "\r\n":
                    i += 1
            elif c in _OP_CHARS or c.isalpha():
                j = i + 1
                same = _OP_CHARS.__contains__ if c in _OP_CHARS else str.isalpha
                while j < len(gap) and same(gap[j]):
                    j += 1
                tokens.append((i, j))
                i = j
            else:
                return None
        if not tokens or " ".join(gap[a:b] for a, b in tokens) != expected:
            return None
        return lo + tokens[0][0], lo + tokens[-1][1]

    def owned_lines(self, stmt: ast.stmt) -> tuple[int, int] | None:
        """The span of the whole lines of ``stmt``, a comment ending its last line included.

        None where deleting them would cut another statement: one sharing its first or last line
        (``a = 1; b = 2``, ``if x: y``), or a previous line continued onto it with a backslash.
        """
        start, end = self.span(stmt)
        last = stmt.end_lineno or stmt.lineno
        first = self.line_starts[stmt.lineno - 1]
        if self.text[first:start].strip():
            return None
        tail = self.text[end : self.line_end(last)].strip()
        if tail and not tail.startswith("#"):
            return None
        if stmt.lineno > 1 and self.text[self.line_starts[stmt.lineno - 2] : first].rstrip("\r\n").endswith(
            "\\"
        ):
            return None
        return first, self.next_line_start(last)
