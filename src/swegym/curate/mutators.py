"""Per-kind mutators: candidate bug edits in one function's body, as exact spans of the file text.

``FunctionMutator`` walks a function's own statements (not those of nested functions, which are
functions of their own) and proposes ``Edit``s: a character span of the file and its replacement.
An edit touches only the tokens it changes (an operator, a constant, a name, whole lines for a
deletion), so the reverse edit, the gold patch of a task, is as small as the bug. Whether an edit
still parses, compiles and changes the function is checked by ``swegym.curate.mutations``.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

_NEWLINE = re.compile(r"\r\n|\r|\n")  # what the tokenizer counts as a line break
_OP_CHARS = frozenset("<>=!+-*/%&|^@~")
_GAP_TRIVIA = frozenset(" \t\f\r\n()")

_COMPARE_SWAP: dict[type[ast.cmpop], tuple[str, str]] = {
    ast.Lt: ("<", "<="),
    ast.LtE: ("<=", "<"),
    ast.Gt: (">", ">="),
    ast.GtE: (">=", ">"),
    ast.Eq: ("==", "!="),
    ast.NotEq: ("!=", "=="),
    ast.In: ("in", "not in"),
    ast.NotIn: ("not in", "in"),
    ast.Is: ("is", "is not"),
    ast.IsNot: ("is not", "is"),
}
_BINOP_SWAP: dict[type[ast.operator], tuple[str, str]] = {
    ast.Add: ("+", "-"),
    ast.Sub: ("-", "+"),
    ast.Mult: ("*", "//"),
    ast.FloorDiv: ("//", "*"),
    ast.Div: ("/", "*"),
    ast.Mod: ("%", "//"),
    ast.LShift: ("<<", ">>"),
    ast.RShift: (">>", "<<"),
    ast.BitAnd: ("&", "|"),
    ast.BitOr: ("|", "&"),
}
_BOOLOP_SWAP: dict[type[ast.boolop], tuple[str, str]] = {ast.And: ("and", "or"), ast.Or: ("or", "and")}

# A built-in exception and a sibling that handlers of the first do not catch (nor the reverse,
# except where noted), so raising or catching the sibling breaks the caller's error handling.
EXCEPTION_SIBLINGS: dict[str, str] = {
    "ValueError": "TypeError",
    "TypeError": "ValueError",
    "KeyError": "IndexError",
    "IndexError": "KeyError",
    "AttributeError": "KeyError",
    "ZeroDivisionError": "OverflowError",
    "OverflowError": "ZeroDivisionError",
    "FileNotFoundError": "PermissionError",
    "PermissionError": "FileNotFoundError",
    "IsADirectoryError": "NotADirectoryError",
    "NotADirectoryError": "IsADirectoryError",
    "FileExistsError": "FileNotFoundError",
    "NotImplementedError": "RuntimeError",  # a RuntimeError handler still catches the original
    "RuntimeError": "ValueError",
    "ModuleNotFoundError": "ImportError",
    "ImportError": "AttributeError",
    "StopIteration": "StopAsyncIteration",
    "StopAsyncIteration": "StopIteration",
}

_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
# Swapping these calls' arguments is either a no-op (min, max) or an immediate TypeError on types
# and attribute names, not a subtle bug.
_NO_SWAP_CALLS = frozenset(
    {"isinstance", "issubclass", "getattr", "setattr", "hasattr", "delattr", "min", "max", "super", "cast"}
)
_TYPE_NAMES = frozenset(
    {"int", "str", "bytes", "float", "bool", "complex", "list", "dict", "tuple", "set", "frozenset", "type"}
)
# `not a == b` parses but reads wrong (and linters flag `not x is y`): comparisons get parentheses too.
_NEEDS_PARENS_UNDER_NOT = (
    ast.BoolOp,
    ast.IfExp,
    ast.Lambda,
    ast.NamedExpr,
    ast.Yield,
    ast.YieldFrom,
    ast.Compare,
)
_GUARD_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
_SIMPLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Pass)


class SourceText:
    """A file's text, with ast positions (1-based lines, UTF-8 byte columns) mapped to str offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.line_starts = [0] + [m.end() for m in _NEWLINE.finditer(text)]

    def line_end(self, lineno: int) -> int:
        """Offset just before line ``lineno``'s terminator (or the end of the text)."""
        if lineno >= len(self.line_starts):
            return len(self.text)
        nxt = self.line_starts[lineno]
        return nxt - 2 if self.text[nxt - 2 : nxt] == "\r\n" else nxt - 1

    def next_line_start(self, lineno: int) -> int:
        return self.line_starts[lineno] if lineno < len(self.line_starts) else len(self.text)

    def offset(self, lineno: int, col: int) -> int:
        """The str offset of an ast (line, UTF-8 byte column) position."""
        start = self.line_starts[lineno - 1]
        line = self.text[start : self.line_end(lineno)]
        if line.isascii():
            return start + col
        return start + len(line.encode("utf-8")[:col].decode("utf-8"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        return start, self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def lineno_at(self, offset: int) -> int:
        return bisect.bisect_right(self.line_starts, offset)


@dataclass(frozen=True)
class Edit:
    """Replace ``text[start:end]`` with ``after``: one candidate bug."""

    kind: str
    start: int
    end: int
    after: str
    summary: str


def short(text: str, limit: int = 40) -> str:
    """One line of at most ``limit`` characters, for summaries."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func) + "()"
    return ""


def is_log_call(node: ast.expr) -> bool:
    """``logger.debug(...)``, ``logging.info(...)``, ``warnings.warn(...)`` and the like."""
    if isinstance(node, ast.Await):
        node = node.value
    if not isinstance(node, ast.Call):
        return False
    name = _dotted(node.func)
    if name in ("warn", "warnings.warn", "warnings.warn_explicit", "print"):
        return True
    head, _, method = name.rpartition(".")
    return method in _LOG_METHODS and "log" in head.lower()


def _is_type_checking(test: ast.expr) -> bool:
    return _dotted(test).rpartition(".")[2] == "TYPE_CHECKING"


def _int_value(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_value(node.operand)
        return None if inner is None else -inner
    return None


def _int_leaves(node: ast.expr) -> Iterator[tuple[ast.expr, int, bool]]:
    """Integer constants in ``node``, through arithmetic only: (node, value, is_the_whole_operand)."""
    value = _int_value(node)
    if value is not None:
        yield node, value, True
    elif isinstance(node, ast.BinOp):
        for side in (node.left, node.right):
            for leaf, val, _ in _int_leaves(side):
                yield leaf, val, False


def _yields(node: ast.expr) -> bool:
    # Removing the only `yield` would turn a generator into a plain function: not a subtle bug.
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(node))


def _unswappable(arg: ast.expr) -> bool:
    # `Base.__init__(self, x)` -> `(x, self)` fails at once; a starred arg has no fixed position.
    return isinstance(arg, ast.Starred) or (isinstance(arg, ast.Name) and arg.id in ("self", "cls"))


def _stringish(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bytes)
    if isinstance(node, ast.BinOp):
        return _stringish(node.left) or _stringish(node.right)
    return isinstance(node, ast.JoinedStr)


def _sequence_display(node: ast.expr) -> bool:
    return isinstance(node, ast.List | ast.Tuple | ast.ListComp)


def _type_like(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None
    return isinstance(node, ast.Subscript | ast.Dict | ast.DictComp) or (
        isinstance(node, ast.Name) and node.id in _TYPE_NAMES
    )


def _binop_is_subtle(node: ast.BinOp) -> bool:
    """False where swapping the operator only makes an immediate TypeError (str + x, [0] * n, int | None)."""
    sides = (node.left, node.right)
    if isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        return not any(_stringish(s) or _sequence_display(s) for s in sides)
    if isinstance(node.op, ast.Mod):
        return not _stringish(node.left)  # "%s" % x is formatting
    if isinstance(node.op, ast.BitOr | ast.BitAnd):
        return not any(_type_like(s) for s in sides)
    return True


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
        self._first_binding = _first_bindings(fn)

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

    def _operator_between(self, left: ast.AST, right: ast.AST, expected: str) -> tuple[int, int] | None:
        """The span of the operator ``expected`` in the source between two sibling nodes.

        The gap holds only the operator, parentheses, whitespace, comments and line continuations;
        anything else (or another operator) means the positions are not what we think: no edit.
        """
        lo, hi = self.src.span(left)[1], self.src.span(right)[0]
        gap = self.src.text[lo:hi]
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

    def _delete_lines(self, kind: str, stmt: ast.stmt, summary: str) -> None:
        """Delete the whole lines of ``stmt`` (and a comment that ends its last line), if it owns them."""
        src = self.src
        start, end = src.span(stmt)
        first = src.line_starts[stmt.lineno - 1]
        if src.text[first:start].strip():
            return  # shares its first line with another statement (`a = 1; b = 2`, `if x: y`)
        tail = src.text[end : src.line_end(stmt.end_lineno or stmt.lineno)].strip()
        if tail and not tail.startswith("#"):
            return  # `a = 1; b = 2` or a trailing `;`
        if stmt.lineno > 1 and src.text[src.line_starts[stmt.lineno - 2] : first].rstrip("\r\n").endswith(
            "\\"
        ):
            return  # the previous line continues onto this one
        self._add(kind, first, src.next_line_start(stmt.end_lineno or stmt.lineno), "", summary)

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
        if isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
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
        if stmt.orelse or len(body) > 3 or not isinstance(body[-1], _GUARD_EXITS):
            return
        if not all(isinstance(s, _SIMPLE) for s in body[:-1]) or len(block) < 2:
            return
        if self.src.text.startswith("elif", self.src.span(stmt)[0]):
            return  # an `elif` guard belongs to the chain above it
        self._delete_lines("remove_guard", stmt, f"removed guard 'if {short(self.src.segment(stmt.test))}'")

    def _remove_statement(self, stmt: ast.stmt, block: list[ast.stmt]) -> None:
        if len(block) < 2:
            return  # the block would become empty
        if isinstance(stmt, ast.Expr):
            value = stmt.value.value if isinstance(stmt.value, ast.Await) else stmt.value
            removable = isinstance(value, ast.Call) and not _yields(value)
        elif isinstance(stmt, ast.AugAssign):
            removable = True
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            # Removing the first binding of a local only makes a NameError; removing a rebinding
            # or a store into an attribute or item leaves a stale value, a subtler bug.
            removable = (
                stmt.value is not None
                and not _yields(stmt.value)
                and all(self._rebinds(t, stmt.lineno) for t in targets)
            )
        else:
            removable = False
        if removable:
            self._delete_lines("remove_statement", stmt, f"removed '{short(self.src.segment(stmt))}'")

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
        swap = _BINOP_SWAP.get(type(stmt.op))
        if swap is None or _stringish(stmt.value) or _sequence_display(stmt.value):
            return
        span = self._operator_between(stmt.target, stmt.value, swap[0] + "=")
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
            old, new = _COMPARE_SWAP[type(op)]
            span = self._operator_between(operands[i], operands[i + 1], old)
            if span is not None:
                self._add("compare_op", *span, new, f"changed '{old}' to '{new}'")
        # A length is never negative: `len(x) == 0` -> `len(x) == -1` only makes a dead branch.
        has_len = any(isinstance(o, ast.Call) and _dotted(o.func) == "len" for o in operands)
        for operand in operands:
            self._off_by_one(operand, cross_zero=not has_len)

    def _binop(self, node: ast.BinOp) -> None:
        swap = _BINOP_SWAP.get(type(node.op))
        if swap is None or not _binop_is_subtle(node):
            return
        span = self._operator_between(node.left, node.right, swap[0])
        if span is not None:
            self._add("binary_op", *span, swap[1], f"changed '{swap[0]}' to '{swap[1]}'")

    def _boolop(self, node: ast.BoolOp) -> None:
        old, new = _BOOLOP_SWAP[type(node.op)]
        for left, right in zip(node.values, node.values[1:], strict=False):
            span = self._operator_between(left, right, old)
            if span is not None:
                self._add("bool_op", *span, new, f"changed '{old}' to '{new}'")

    def _negate(self, test: ast.expr) -> None:
        if isinstance(test, ast.Constant) or _is_type_checking(test):
            return  # `while True` -> `while not True` is dead code, not a bug
        text = self.src.segment(test)
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            after = self._without_not(test)
        elif isinstance(test, _NEEDS_PARENS_UNDER_NOT):
            after = f"not ({text})"
        else:
            after = f"not {text}"
        self._replace("negate_condition", test, after, f"negated condition '{short(text)}'")

    def _without_not(self, node: ast.UnaryOp) -> str:
        # Keep the operand's own text, parentheses included: `not (a or b)` -> `(a or b)`.
        return self.src.segment(node)[len("not") :].lstrip()

    def _call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        if name == "range":
            for i, arg in enumerate(node.args[:3]):
                self._off_by_one(arg, cross_zero=False, allow_zero=i < 2)  # range(a, b, 0) raises
        if name.rpartition(".")[2] in _NO_SWAP_CALLS:
            return
        for a, b in zip(node.args, node.args[1:], strict=False):
            if _unswappable(a) or _unswappable(b) or ast.dump(a) == ast.dump(b):
                continue
            (a_start, a_end), (b_start, b_end) = self.src.span(a), self.src.span(b)
            text = self.src.text
            after = text[b_start:b_end] + text[a_end:b_start] + text[a_start:a_end]
            summary = (
                f"swapped arguments '{short(text[a_start:a_end], 20)}' and '{short(text[b_start:b_end], 20)}'"
            )
            self._add("swap_args", a_start, b_end, after, summary)

    def _subscript(self, node: ast.Subscript) -> None:
        if _dotted(node.value).rpartition(".")[2] in ("Literal", "Annotated"):
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
        for leaf, value, whole in _int_leaves(operand):
            for new in (value + 1, value - 1):
                if (new < 0 <= value or value < 0 <= new) and not (cross_zero and whole):
                    continue
                if new == 0 and not allow_zero:
                    continue
                old = self.src.segment(leaf)
                self._replace("off_by_one", leaf, str(new), f"changed {old} to {new}")


def _first_bindings(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, int]:
    """The first line on which each local name of ``fn`` is bound (parameters: the def line)."""
    first: dict[str, int] = {}
    args = fn.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            first[arg.arg] = fn.lineno
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first[node.name] = min(first.get(node.name, node.lineno), node.lineno)
            continue  # their bodies are other scopes
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            first[node.id] = min(first.get(node.id, node.lineno), node.lineno)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            first[node.name] = min(first.get(node.name, node.lineno), node.lineno)
        elif isinstance(node, ast.alias):
            name = (node.asname or node.name).partition(".")[0]
            first[name] = min(first.get(name, node.lineno), node.lineno)
        stack.extend(ast.iter_child_nodes(node))
    return first
