"""Per-kind mutators: candidate bug edits in one function's body, as exact spans of the file text.

``FunctionMutator`` walks a function's own statements (not those of nested functions, which are
functions of their own) and proposes ``Edit``s: a character span of the file and its replacement.
An edit touches only the tokens it changes (an operator, a constant, a name, whole lines for a
deletion), so the reverse edit, the gold patch of a task, is as small as the bug. Edits inside
expressions come from ``expression_edits``; whether an edit still parses, compiles and changes
the function is checked by ``swegym.curate.synth.mutations``.
"""

from __future__ import annotations

import ast

from swegym.curate.synth.expression_edits import ExpressionMutator
from swegym.curate.synth.rules import (
    BINOP_SWAP,
    EXCEPTION_SIBLINGS,
    GUARD_EXITS,
    SIMPLE_STATEMENTS,
    first_bindings,
    is_docstring,
    is_log_call,
    is_type_checking,
    sequence_display,
    short,
    stringish,
    yields,
)
from swegym.curate.synth.spans import Edit, SourceText


class FunctionMutator(ExpressionMutator):
    """Candidate edits of each kind in one function's own body."""

    def __init__(
        self,
        src: SourceText,
        fn: ast.FunctionDef | ast.AsyncFunctionDef,
        qualname: str,
        kinds: frozenset[str],
    ) -> None:
        super().__init__(src, qualname, kinds)
        self.fn = fn
        self._first_binding = first_bindings(fn)

    def run(self) -> list[Edit]:
        """Every candidate edit of the wanted kinds in the function's body."""
        self._block(self.fn.body, function_body=True)
        return self.edits

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
