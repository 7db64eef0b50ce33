"""Candidate bug edits in expressions, as exact spans of the file text (the mutators' base).

``ExpressionMutator`` proposes ``Edit``s in one expression tree and its sub-expressions: a
character span of the file and its replacement, touching only the tokens it changes (an operator,
a constant, a name), so the reverse edit, the gold patch of a task, is as small as the bug.
``statement_edits.FunctionMutator`` walks a function's statements and calls it on their parts.
"""

from __future__ import annotations

import ast

from swegym.curate.synth.rules import (
    BINOP_SWAP,
    BOOLOP_SWAP,
    COMPARE_SWAP,
    NEEDS_PARENS_UNDER_NOT,
    NO_SWAP_CALLS,
    binop_is_subtle,
    dotted,
    int_leaves,
    is_log_call,
    is_type_checking,
    short,
    unswappable,
)
from swegym.curate.synth.spans import Edit, SourceText


class ExpressionMutator:
    """Candidate edits in expressions, each kept if its kind is wanted (``edits``)."""

    def __init__(self, src: SourceText, qualname: str, kinds: frozenset[str]) -> None:
        self.src = src
        self.qualname = qualname
        self.kinds = kinds
        self.edits: list[Edit] = []

    # -- plumbing ------------------------------------------------------------------------------

    def _add(self, kind: str, start: int, end: int, after: str, summary: str) -> None:
        if kind in self.kinds:
            self.edits.append(Edit(kind, start, end, after, f"{summary} in {self.qualname}"))

    def _replace(self, kind: str, node: ast.AST, after: str, summary: str) -> None:
        start, end = self.src.span(node)
        self._add(kind, start, end, after, summary)

    def _delete(self, kind: str, stmt: ast.stmt, summary: str) -> None:
        span = self.src.owned_lines(stmt)
        if span is not None:
            self._add(kind, *span, "", summary)

    # -- expressions ---------------------------------------------------------------------------

    def _expr(self, node: ast.expr) -> None:
        if isinstance(node, ast.JoinedStr) or is_log_call(node):
            return  # f-strings format messages (and their inner positions are unreliable before 3.12)
        if isinstance(node, ast.Compare):
            self._compare(node)
        elif isinstance(node, ast.BinOp):
            self._binop(node)
        elif isinstance(node, ast.BoolOp):
            self._boolop(node)
        elif isinstance(node, ast.IfExp):
            self._negate(node.test)
        elif isinstance(node, ast.Call):
            self._call(node)
        elif isinstance(node, ast.Subscript):
            self._subscript(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child)
            elif isinstance(child, ast.comprehension):
                self._expr(child.iter)
                for cond in child.ifs:
                    self._expr(cond)
            elif isinstance(child, ast.keyword):
                self._expr(child.value)
            elif isinstance(child, ast.arguments):
                for default in [*child.defaults, *child.kw_defaults]:
                    if default is not None:
                        self._expr(default)

    def _compare(self, node: ast.Compare) -> None:
        operands = [node.left, *node.comparators]
        for i, op in enumerate(node.ops):
            old, new = COMPARE_SWAP[type(op)]
            span = self.src.operator_between(operands[i], operands[i + 1], old)
            if span is not None:
                self._add("compare_op", *span, new, f"changed '{old}' to '{new}'")
        # `i > 0` -> `i > -1` is an off-by-one; `x == -1` for `x == 0`, or any negative bound on
        # a length (never below 0), is only a dead branch.
        ordering = all(isinstance(op, ast.Lt | ast.LtE | ast.Gt | ast.GtE) for op in node.ops)
        has_len = any(isinstance(o, ast.Call) and dotted(o.func) == "len" for o in operands)
        for operand in operands:
            self._off_by_one(operand, cross_zero=ordering and not has_len)

    def _binop(self, node: ast.BinOp) -> None:
        swap = BINOP_SWAP.get(type(node.op))
        if swap is None or not binop_is_subtle(node):
            return
        span = self.src.operator_between(node.left, node.right, swap[0])
        if span is not None:
            self._add("binary_op", *span, swap[1], f"changed '{swap[0]}' to '{swap[1]}'")

    def _boolop(self, node: ast.BoolOp) -> None:
        old, new = BOOLOP_SWAP[type(node.op)]
        for left, right in zip(node.values, node.values[1:], strict=False):
            span = self.src.operator_between(left, right, old)
            if span is not None:
                self._add("bool_op", *span, new, f"changed '{old}' to '{new}'")

    def _negate(self, test: ast.expr) -> None:
        if isinstance(test, ast.Constant) or is_type_checking(test):
            return  # `while True` -> `while not True` is dead code, not a bug
        text = self.src.segment(test)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            after = self._without_not(test)
        elif isinstance(test, NEEDS_PARENS_UNDER_NOT):
            after = f"not ({text})"
        else:
            after = f"not {text}"
        self._replace("negate_condition", test, after, f"negated condition '{short(text)}'")

    def _without_not(self, node: ast.UnaryOp) -> str:
        # Keep the operand's own text, parentheses included: `not (a or b)` -> `(a or b)`.
        return self.src.segment(node)[len("not") :].lstrip()

    def _call(self, node: ast.Call) -> None:
        name = dotted(node.func)
        if name == "range":
            for i, arg in enumerate(node.args[:3]):
                self._off_by_one(arg, cross_zero=False, allow_zero=i < 2)  # range(a, b, 0) raises
        if name.rpartition(".")[2] in NO_SWAP_CALLS:
            return
        for a, b in zip(node.args, node.args[1:], strict=False):
            if unswappable(a) or unswappable(b) or ast.dump(a) == ast.dump(b):
                continue
            (a_start, a_end), (b_start, b_end) = self.src.span(a), self.src.span(b)
            text = self.src.text
            after = text[b_start:b_end] + text[a_end:b_start] + text[a_start:a_end]
            summary = (
                f"swapped arguments '{short(text[a_start:a_end], 20)}' and '{short(text[b_start:b_end], 20)}'"
            )
            self._add("swap_args", a_start, b_end, after, summary)

    def _subscript(self, node: ast.Subscript) -> None:
        if dotted(node.value).rpartition(".")[2] in ("Literal", "Annotated"):
            return  # a type, not an index
        index = node.slice
        if isinstance(index, ast.Slice):
            for bound in (index.lower, index.upper):
                if bound is not None:
                    self._off_by_one(bound, cross_zero=True)
            if index.step is not None:
                self._off_by_one(index.step, cross_zero=False, allow_zero=False)  # x[::0] raises
        else:
            for part in index.elts if isinstance(index, ast.Tuple) else [index]:
                self._off_by_one(part, cross_zero=True)

    def _off_by_one(self, operand: ast.expr, *, cross_zero: bool, allow_zero: bool = True) -> None:
        """n -> n+1 and n -> n-1 for the integer constants of an index, a bound or a compared value.

        Only a whole operand may change sign (`x[0]` -> `x[-1]`, `i > 0` -> `i > -1`); a constant
        inside arithmetic stays on its side of zero, so `x - 1` never becomes `x - -1`.
        """
        for leaf, value, whole in int_leaves(operand):
            for new in (value + 1, value - 1):
                if (new < 0 <= value or value < 0 <= new) and not (cross_zero and whole):
                    continue
                if new == 0 and not allow_zero:
                    continue
                old = self.src.segment(leaf)
                self._replace("off_by_one", leaf, str(new), f"changed {old} to {new}")
