"""Per-kind mutators: candidate bug edits in one function's body, as exact spans of the file text.

``FunctionMutator`` walks a function's own statements (not those of nested functions, which are
functions of their own) and proposes ``Edit``s: a character span of the file and its replacement.
An edit touches only the tokens it changes (an operator, a constant, a name, whole lines for a
deletion), so the reverse edit, the gold patch of a task, is as small as the bug. Whether an edit
still parses, compiles and changes the function is checked by ``swegym.curate.mutations``.
"""

from __future__ import annotations

import ast

from swegym.curate.mutation_rules import (
    BINOP_SWAP,
    BOOLOP_SWAP,
    COMPARE_SWAP,
    EXCEPTION_SIBLINGS,
    GUARD_EXITS,
    NEEDS_PARENS_UNDER_NOT,
    NO_SWAP_CALLS,
    SIMPLE_STATEMENTS,
    binop_is_subtle,
    dotted,
    first_bindings,
    int_leaves,
    is_docstring,
    is_log_call,
    is_type_checking,
    sequence_display,
    short,
    stringish,
    unswappable,
    yields,
)
from swegym.curate.source_spans import Edit, SourceText


class FunctionMutator:
    """Candidate edits of each kind in one function's own body."""

    def __init__(
        self,
        src: SourceText,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        qualname: str,
        kinds: frozenset[str],
    ) -> None:
        self.src = src
        self.fn = fn
        self.qualname = qualname
        self.kinds = kinds
        self.edits: list[Edit] = []
        self._first_binding = first_bindings(fn)

    def run(self) -> list[Edit]:
        self._block(self.fn.body, function_body=True)
        return self.edits

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

    # -- statements ----------------------------------------------------------------------------

    def _block(self, body: list[ast.stmt], function_body: bool = False) -> None:
        own = body[1:] if function_body and body and is_docstring(body[0]) else body
        for stmt in own:
            self._stmt(stmt, own)

    def _stmt(self, stmt: ast.stmt, block: list[ast.stmt]) -> None:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Assert):
            return  # nested functions are mutated as functions of their own; asserts are not behaviour
        if isinstance(stmt, ast.Expr) and is_log_call(stmt.value):
            return
        if isinstance(stmt, ast.If) and is_type_checking(stmt.test):
            return
        if isinstance(stmt, ast.Raise):
            self._raise(stmt)  # the exception's message is not behaviour worth breaking
            return
        if isinstance(stmt, ast.If):
            self._remove_guard(stmt, block)
            self._negate(stmt.test)
        elif isinstance(stmt, ast.While):
            self._negate(stmt.test)
        elif isinstance(stmt, ast.Return):
            self._wrong_return(stmt)
        elif isinstance(stmt, ast.AugAssign):
            self._augassign(stmt)
        self._remove_statement(stmt, block)
        for field, value in ast.iter_fields(stmt):
            if isinstance(stmt, ast.AnnAssign) and field == "annotation":
                continue
            if isinstance(value, ast.expr):
                self._expr(value)
            elif isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self._block(value)
            elif isinstance(value, list):
                for item in value:
                    self._item(item)

    def _item(self, item: object) -> None:
        if isinstance(item, ast.expr):
            self._expr(item)
        elif isinstance(item, ast.ExceptHandler):
            self._handler(item)
            self._block(item.body)
        elif isinstance(item, ast.withitem):
            self._expr(item.context_expr)
        elif isinstance(item, ast.match_case):
            if item.guard is not None:
                self._expr(item.guard)
            self._block(item.body)

    def _remove_guard(self, stmt: ast.If, block: list[ast.stmt]) -> None:
        body = stmt.body
        if stmt.orelse or len(body) > 3 or not isinstance(body[-1], GUARD_EXITS):
            return
        if not all(isinstance(s, SIMPLE_STATEMENTS) for s in body[:-1]) or len(block) < 2:
            return
        if self.src.text.startswith("elif", self.src.span(stmt)[0]):
            return  # an `elif` guard belongs to the chain above it
        self._delete("remove_guard", stmt, f"removed guard 'if {short(self.src.segment(stmt.test))}'")

    def _remove_statement(self, stmt: ast.stmt, block: list[ast.stmt]) -> None:
        if len(block) < 2:
            return  # the block would become empty
        if isinstance(stmt, ast.Expr):
            value = stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value
            removable = isinstance(value, ast.Call) and not yields(value)
        elif isinstance(stmt, ast.AugAssign):
            removable = True
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            # Removing the first binding of a local only makes a NameError; removing a rebinding
            # or a store into an attribute or item leaves a stale value, a subtler bug.
            removable = (
                stmt.value is not None
                and not yields(stmt.value)
                and all(self._rebinds(t, stmt.lineno) for t in targets)
            )
        else:
            removable = False
        if removable:
            self._delete("remove_statement", stmt, f"removed '{short(self.src.segment(stmt))}'")

    def _rebinds(self, target: ast.expr, lineno: int) -> bool:
        if isinstance(target, ast.Attribute | ast.Subscript):
            return True
        if isinstance(target, ast.Name):
            return self._first_binding.get(target.id, lineno) < lineno
        if isinstance(target, ast.Tuple | ast.List):
            return all(self._rebinds(t, lineno) for t in target.elts)
        return False

    def _wrong_return(self, stmt: ast.Return) -> None:
        value = stmt.value
        if value is None or (isinstance(value, ast.Constant) and value.value is None):
            return
        text = self.src.segment(value)
        if isinstance(value, ast.Constant) and isinstance(value.value, bool):
            after = str(not value.value)
        elif isinstance(value, ast.UnaryOp) and isinstance(value.op, ast.Not):
            after = self._without_not(value)
        else:
            after = "None"
        self._replace("wrong_return", value, after, f"returned {short(after)} instead of '{short(text)}'")

    def _raise(self, stmt: ast.Raise) -> None:
        cls = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        if isinstance(cls, ast.Name) and cls.id in EXCEPTION_SIBLINGS:
            new = EXCEPTION_SIBLINGS[cls.id]
            self._replace("wrong_exception", cls, new, f"raised {new} instead of {cls.id}")

    def _handler(self, handler: ast.ExceptHandler) -> None:
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for cls in types:
            if isinstance(cls, ast.Name) and cls.id in EXCEPTION_SIBLINGS:
                new = EXCEPTION_SIBLINGS[cls.id]
                self._replace("wrong_exception", cls, new, f"caught {new} instead of {cls.id}")

    def _augassign(self, stmt: ast.AugAssign) -> None:
        swap = BINOP_SWAP.get(type(stmt.op))
        if swap is None or stringish(stmt.value) or sequence_display(stmt.value):
            return
        span = self.src.operator_between(stmt.target, stmt.value, swap[0] + "=")
        if span is not None:
            self._add("binary_op", *span, swap[1] + "=", f"changed '{swap[0]}=' to '{swap[1]}='")

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
