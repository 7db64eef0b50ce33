"""What may be mutated, and into what: operator tables, exception siblings and node predicates.

The rules keep bugs subtle and honest: an operator swap that can only raise a TypeError at once
(``"a" + b`` -> ``"a" - b``), a swap of arguments that changes nothing (``max(a, b)``), or a
deletion that only makes a NameError is not proposed. Pure functions of AST nodes.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

#####TABLES
COMPARE_SWAP: dict[type[ast.cmpop], tuple[str, str]] = {
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
BINOP_SWAP: dict[type[ast.operator], tuple[str, str]] = {
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
BOOLOP_SWAP: dict[type[ast.boolop], tuple[str, str]] = {ast.And: ("and", "or"), ast.Or: ("or", "and")}

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
NO_SWAP_CALLS = frozenset(
    {"isinstance", "issubclass", "getattr", "setattr", "hasattr", "delattr", "min", "max", "super", "cast"}
)
_TYPE_NAMES = frozenset(
    {"int", "str", "bytes", "float", "bool", "complex", "list", "dict", "tuple", "set", "frozenset", "type"}
)
# `not a == b` parses but reads wrong (and linters flag `not x is y`): comparisons get parentheses too.
NEEDS_PARENS_UNDER_NOT = (
    ast.BoolOp,
    ast.IfExp,
    ast.Lambda,
    ast.NamedExpr,
    ast.Yield,
    ast.YieldFrom,
    ast.Compare,
)
GUARD_EXITS = (ast.Return, ast.Raise, ast.Continue, ast.Break)
SIMPLE_STATEMENTS = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Pass)


def short(text: str, limit: int = 40) -> str:
    """One line of at most ``limit`` characters, for summaries."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def is_docstring(stmt: ast.stmt) -> bool:
    """A string literal statement (only the first one of a body is a docstring; callers check)."""
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def dotted(node: ast.expr) -> str:
    """``a.b.c`` for a name or attribute chain (``f()`` for a call), '' for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return dotted(node.func) + "()"
    return ""


def is_log_call(node: ast.expr) -> bool:
    """``logger.debug(...)``, ``logging.info(...)``, ``warnings.warn(...)`` and the like."""
    if isinstance(node, ast.Await):
        node = node.value
    if not isinstance(node, ast.Call):
        return False
    name = dotted(node.func)
    if name in ("warn", "warnings.warn", "warnings.warn_explicit", "print"):
        return True
    head, _, method = name.rpartition(".")
    return method in _LOG_METHODS and "log" in head.lower()


def is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING``: a block that never runs."""
    return dotted(test).rpartition(".")[2] == "TYPE_CHECKING"


def _int_value(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_value(node.operand)
        return None if inner is None else -inner
    return None


def int_leaves(node: ast.expr) -> Iterator[tuple[ast.expr, int, bool]]:
    """Integer constants in ``node``, through arithmetic only: (node, value, is_the_whole_operand)."""
    value = _int_value(node)
    if value is not None:
        yield node, value, True
    elif isinstance(node, ast.BinOp):
        for side in (node.left, node.right):
            for leaf, val, _ in int_leaves(side):
                yield leaf, val, False


def yields(node: ast.expr) -> bool:
    """Contains ``yield``: removing the only one turns a generator into a plain function."""
    return any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(node))


def unswappable(arg: ast.expr) -> bool:
    """A starred argument (no fixed position), or ``self``/``cls`` (``Base.__init__(x, self)`` fails)."""
    return isinstance(arg, ast.Starred) or (isinstance(arg, ast.Name) and arg.id in ("self", "cls"))


def stringish(node: ast.expr) -> bool:
    """A str or bytes literal, an f-string, or arithmetic on one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bytes)
    if isinstance(node, ast.BinOp):
        return stringish(node.left) or stringish(node.right)
    return isinstance(node, ast.JoinedStr)


def sequence_display(node: ast.expr) -> bool:
    """A list or tuple display: ``+`` and ``*`` on it are concatenation and repetition."""
    return isinstance(node, ast.List | ast.Tuple | ast.ListComp)


def _type_like(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value is None
    return isinstance(node, ast.Subscript | ast.Dict | ast.DictComp) or (
        isinstance(node, ast.Name) and node.id in _TYPE_NAMES
    )


def binop_is_subtle(node: ast.BinOp) -> bool:
    """False where swapping the operator only makes an immediate TypeError (str + x, [0] * n, int | None)."""
    sides = (node.left, node.right)
    if isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        return not any(stringish(s) or sequence_display(s) for s in sides)
    if isinstance(node.op, ast.Mod):
        return not stringish(node.left)  # "%s" % x is formatting
    if isinstance(node.op, ast.BitOr | ast.BitAnd):
        return not any(_type_like(s) for s in sides)
    return True


def first_bindings(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> dict[str, int]:
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
