"""The AST bug-injection engine: each kind, minimal text edits, exclusions, and real stdlib modules."""

from __future__ import annotations

import ast
import collections
import difflib
import functools
import importlib
import textwrap
from pathlib import Path

import pytest

from swegym.curate.synth import functions, mutations
from swegym.curate.synth.candidates import sample_mutations
from swegym.curate.synth.functions import functions_in
from swegym.curate.synth.mutations import KINDS, MAX_SPAN_LINES, Mutation, enumerate_mutations
from swegym.curate.synth.spans import SourceText

PATH = "pkg/mod.py"


def mutate(source: str, kind: str | None = None, **kwargs: object) -> list[Mutation]:
    kinds = None if kind is None else [kind]
    return enumerate_mutations(PATH, textwrap.dedent(source), kinds=kinds, **kwargs)  # type: ignore[arg-type]


def edits(source: str, kind: str) -> list[tuple[str, str]]:
    return [(m.before, m.after) for m in mutate(source, kind)]


def diff(before: str, after: str) -> tuple[list[str], list[str]]:
    """The removed and added lines of a zero-context unified diff."""
    lines = list(difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0))
    removed = [line[1:] for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    return removed, added


def check(source: str, mutation: Mutation) -> str:
    """Apply, and check what every mutation must be: it compiles, differs, and reverts exactly."""
    mutated = mutation.apply(source)
    compile(mutated, PATH, "exec")
    assert ast.dump(ast.parse(mutated)) != ast.dump(ast.parse(source))
    assert mutation.revert(mutated) == source
    return mutated


# -- each kind -------------------------------------------------------------------------------


def test_compare_op_flips_each_operator_and_changes_one_line() -> None:
    source = textwrap.dedent(
        """\
        def f(a, b, xs):
            if a < b:
                return a >= b
            return a not in xs or a is not None or a == b
        """
    )
    ms = enumerate_mutations(PATH, source, kinds=["compare_op"])
    assert [(m.before, m.after) for m in ms] == [
        ("<", "<="),
        (">=", ">"),
        ("not in", "in"),
        ("is not", "is"),
        ("==", "!="),
    ]
    mutated = check(source, ms[0])
    assert diff(source, mutated) == (["    if a < b:\n"], ["    if a <= b:\n"])
    assert mutated.replace("<=", "<", 1) == source
    assert ms[0].summary == "changed '<' to '<=' in f"
    assert (ms[0].lineno, ms[0].end_lineno, ms[0].col) == (2, 2, 9)


def test_binary_op_skips_string_and_type_operands() -> None:
    source = """\
        def f(x, y, n):
            total = x + y * 2
            label = "a" + y
            text = "%d" % n
            kind = int | None
            pad = [0] * n
            n += 1
            return total, label, text, kind, pad, n, x % 7, x | y
        """
    assert edits(source, "binary_op") == [("+", "-"), ("*", "//"), ("+=", "-="), ("%", "//"), ("|", "&")]


def test_bool_op_changes_one_operator_at_a_time() -> None:
    source = """\
        def f(a, b, c):
            return a and b and c
        """
    ms = mutate(source, "bool_op")
    assert [(m.before, m.after, m.col) for m in ms] == [("and", "or", 13), ("and", "or", 19)]


def test_off_by_one_in_indexes_slices_ranges_and_comparisons() -> None:
    source = """\
        def f(xs, n):
            for i in range(1, n):
                if xs[i - 1] > 0 and len(xs) == 0 and n != 0:
                    return xs[:2]
            return xs[::-1]
        """
    assert edits(source, "off_by_one") == [
        ("1", "2"),  # range(1, n)
        ("1", "0"),
        ("1", "2"),  # xs[i - 1]: inside arithmetic, may reach zero but never cross it
        ("1", "0"),
        ("0", "1"),  # > 0
        ("0", "-1"),
        ("0", "1"),  # len(xs) == 0: a length is never -1, so only 1
        ("0", "1"),  # n != 0: `n != -1` would be a dead test, so only 1
        ("2", "3"),
        ("2", "1"),
        ("-1", "-2"),  # a step of 0 would raise at once
    ]


def test_remove_guard_deletes_whole_lines_with_trailing_comment() -> None:
    source = textwrap.dedent(
        """\
        def f(x):
            if x is None:  # nothing to do
                return 0
            if x < 0:
                raise ValueError(x)
            elif x > 10:
                return 10
            if x == 5:
                x = 4
            else:
                return 3
            return x * 2
        """
    )
    ms = enumerate_mutations(PATH, source, kinds=["remove_guard"])
    assert [m.before for m in ms] == ["    if x is None:  # nothing to do\n        return 0\n"]
    mutated = check(source, ms[0])
    assert diff(source, mutated) == (["    if x is None:  # nothing to do\n", "        return 0\n"], [])
    assert (ms[0].lineno, ms[0].end_lineno, ms[0].after) == (2, 3, "")


def test_remove_statement_never_empties_a_block_nor_cuts_a_shared_line() -> None:
    source = """\
        def f(self, x):
            \"\"\"Docstring.\"\"\"
            y = compute(x)
            y = y.strip()
            self.value = y
            a = 1; self.b = 2
            register(y)
            if y:
                notify(y)
            return y

        def g(x):
            \"\"\"Only one statement.\"\"\"
            record(x)
        """
    assert edits(source, "remove_statement") == [
        # `y = compute(x)` is the first binding: removing it only makes a NameError.
        ("    y = y.strip()\n", ""),
        ("    self.value = y\n", ""),
        ("    register(y)\n", ""),
    ]


def test_swap_args_skips_identical_and_type_arguments() -> None:
    source = """\
        def f(a, b):
            g(a, a)
            isinstance(a, int)
            return h(a, b, *rest)
        """
    assert edits(source, "swap_args") == [("a, b", "b, a")]


def test_wrong_return() -> None:
    source = """\
        def f(x):
            if x:
                return True
            if x is None:
                return None
            if x == 1:
                return not x
            return x + 1
        """
    assert edits(source, "wrong_return") == [("True", "False"), ("not x", "x"), ("x + 1", "None")]


def test_wrong_exception_in_raise_and_except() -> None:
    source = """\
        def f(d, k):
            try:
                return d[k]
            except (KeyError, MyError):
                raise ValueError(f"no {k}") from None
            except Exception:
                raise MyError(k)
        """
    assert edits(source, "wrong_exception") == [("KeyError", "IndexError"), ("ValueError", "TypeError")]


def test_negate_condition_wraps_or_unwraps() -> None:
    source = """\
        def f(a, b):
            if a:
                pass
            elif a and b:
                pass
            while not (a or b):
                a = b if a < b else a
            while True:
                break
        """
    assert edits(source, "negate_condition") == [
        ("a", "not a"),
        ("a and b", "not (a and b)"),
        ("not (a or b)", "(a or b)"),
        ("a < b", "not (a < b)"),
    ]


# -- what is never mutated -------------------------------------------------------------------


def test_trivia_and_tests_are_not_mutated() -> None:
    source = """\
        from typing import TYPE_CHECKING
        import logging

        logger = logging.getLogger(__name__)

        class Model:
            def __repr__(self):
                return f"Model({self.x + 1})"

            @decorate(1 + 2)
            def method(self, x: int = 1) -> list[int]:
                \"\"\"Doc with a < b.\"\"\"
                if TYPE_CHECKING:
                    y = x + 1
                assert x > 0
                logger.debug("x=%s", x - 1)
                name: Annotated[int, 3] = x
                return f"{x + 1}"

        def test_thing():
            assert f(1) == 2

        class TestModel:
            def check(self):
                return 1 + 1
        """
    found = [(m.qualname, m.kind, m.before) for m in mutate(source)]
    assert found == [("Model.method", "wrong_return", 'f"{x + 1}"')]
    assert enumerate_mutations("tests/test_mod.py", "def f(a, b):\n    return a < b\n") == []


# -- text positions --------------------------------------------------------------------------


def test_unicode_before_the_edit_counts_characters_not_bytes() -> None:
    source = 'def f(s, n):\n    return "héllo → 🎉" if len(s) < n else s\n'
    ms = enumerate_mutations(PATH, source, kinds=["compare_op"])
    assert len(ms) == 1
    assert ms[0].col == source.splitlines()[1].index("<")
    mutated = check(source, ms[0])
    assert mutated == source.replace("< n", "<= n")


def test_byte_order_mark_is_kept_and_skipped() -> None:
    source = "\ufeffdef f(a):  # é\n    return a < 1\n"
    (m,) = enumerate_mutations(PATH, source, kinds=["compare_op"])
    assert m.apply(source) == source.replace("<", "<=")
    assert [f.qualname for f in functions_in(PATH, source)] == ["f"]


def test_tabs_crlf_and_multiline_expressions() -> None:
    source = (
        "def f(a,\r\n\tb):\r\n"
        "\tif (a and\r\n\t\t\tb):  # both\r\n"
        "\t\treturn [a,\r\n\t\t\tb]\r\n"
        "\treturn a\r\n"
    )
    ms = enumerate_mutations(PATH, source)
    assert {m.kind for m in ms} >= {"bool_op", "negate_condition", "remove_guard", "wrong_return"}
    for m in ms:
        mutated = check(source, m)
        assert "\n" not in mutated.replace("\r\n", "")  # line endings untouched
    negated = next(m for m in ms if m.kind == "negate_condition")
    assert (negated.lineno, negated.end_lineno) == (3, 4)
    assert negated.after == "not (a and\r\n\t\t\tb)"
    removed, added = diff(source, negated.apply(source))
    assert removed == ["\tif (a and\r\n", "\t\t\tb):  # both\r\n"]
    assert added == ["\tif (not (a and\r\n", "\t\t\tb)):  # both\r\n"]
    long_return = [m for m in ms if m.kind == "wrong_return" and m.lineno == 5]
    assert [(m.before, m.after, m.end_lineno) for m in long_return] == [("[a,\r\n\t\t\tb]", "None", 6)]


def test_operators_found_across_parentheses_comments_and_continuations() -> None:
    source = """\
        def f(a, b):
            x = (a  # left
                 ) + \\
                (b)
            return x
        """
    ms = mutate(source, "binary_op")
    assert [(m.before, m.after, m.lineno) for m in ms] == [("+", "-", 3)]
    check(textwrap.dedent(source), ms[0])


# -- functions, keys, order, sampling --------------------------------------------------------


def test_functions_in_names_methods_nested_and_async() -> None:
    source = textwrap.dedent(
        """\
        class A:
            @property
            def p(self):
                \"\"\"Doc.\"\"\"
                return 1

            async def run(self, x):
                def inner(y):
                    nonlocal x
                    x = y + 1
                for i in x:
                    if i:
                        inner(i)
                return x
        """
    )
    infos = functions_in(PATH, source)
    assert [(f.qualname, f.lineno, f.end_lineno, f.n_statements) for f in infos] == [
        ("A.p", 3, 5, 1),
        ("A.run", 7, 14, 5),
        ("A.run.<locals>.inner", 8, 10, 2),
    ]
    ms = enumerate_mutations(PATH, source)
    assert {m.qualname for m in ms} == {"A.p", "A.run", "A.run.<locals>.inner"}
    inner = [m for m in ms if m.qualname == "A.run.<locals>.inner"]
    assert [(m.before, m.after) for m in inner] == [("+", "-")]  # plain arithmetic: no off-by-one
    for m in ms:
        check(source, m)


def test_apply_rejects_a_source_where_before_is_not_in_place() -> None:
    source = "def f(a, b):\n    return a < b\n"
    (m,) = enumerate_mutations(PATH, source, kinds=["compare_op"])
    with pytest.raises(ValueError, match="is not at column"):
        m.apply(source.replace("<", ">"))
    with pytest.raises(ValueError, match="past the end"):
        m.model_copy(update={"lineno": 9}).apply(source)
    with pytest.raises(ValueError, match="unknown mutation kind"):
        Mutation(**{**m.model_dump(), "kind": "nonsense"})
    with pytest.raises(ValueError, match="unknown mutation kinds"):
        enumerate_mutations(PATH, source, kinds=["nonsense"])


def test_key_is_stable_and_names_the_mutated_function() -> None:
    source = "def f(a, b):\n    return a < b\n"
    (m,) = enumerate_mutations(PATH, source, kinds=["compare_op"])
    (again,) = enumerate_mutations(PATH, source, kinds=["compare_op"])
    (shifted,) = enumerate_mutations(PATH, "import os\n\n\n" + source, kinds=["compare_op"])
    assert m.key() == again.key() == shifted.key() == Mutation.model_validate_json(m.model_dump_json()).key()
    assert shifted.lineno == m.lineno + 3
    (other,) = enumerate_mutations("pkg/other.py", source, kinds=["compare_op"])
    assert other.key() != m.key()
    keys = [x.key() for x in enumerate_mutations(PATH, source)]
    assert len(keys) == len(set(keys))


def test_same_bug_reached_two_ways_is_kept_once() -> None:
    # Removing either of two identical statements leaves the same function: one mutation.
    source = "def f(xs):\n    xs.append(1)\n    xs.append(1)\n    return xs\n"
    ms = enumerate_mutations(PATH, source, kinds=["remove_statement"])
    assert [(m.lineno, m.before) for m in ms] == [(2, "    xs.append(1)\n")]


def test_order_is_deterministic_file_then_kind() -> None:
    first = stdlib_mutations("textwrap")
    assert first == enumerate_mutations("textwrap.py", Path(textwrap.__file__).read_text())
    assert first == sorted(first, key=lambda m: (m.lineno, m.col, KINDS.index(m.kind)))


def test_max_per_function_balances_kinds() -> None:
    source = """\
        def f(a, b, xs):
            if a < b and a > 0:
                xs.append(a)
                xs.append(b)
            return a + b
        """
    all_kinds = {m.kind for m in mutate(source)}
    capped = mutate(source, max_per_function=len(all_kinds))
    assert {m.kind for m in capped} == all_kinds
    assert capped == sorted(capped, key=lambda m: (m.lineno, m.col, KINDS.index(m.kind)))


def test_sample_takes_turns_over_functions_and_balances_kinds() -> None:
    body = "    if a < b:\n        xs.append(a)\n        xs.append(b)\n    return a + b\n"
    source = "".join(f"def f{i}(a, b, xs):\n{body}\n" for i in range(6))
    ms = enumerate_mutations(PATH, source)
    picked = sample_mutations(ms, 12, seed=3)
    assert picked == sample_mutations(ms, 12, seed=3)
    assert [m.key() for m in picked] != [m.key() for m in sample_mutations(ms, 12, seed=4)]
    assert collections.Counter(m.qualname for m in picked) == {f"f{i}": 2 for i in range(6)}
    per_kind = collections.Counter(m.kind for m in picked)
    assert max(per_kind.values()) - min(per_kind.values()) <= 1
    assert len(per_kind) == len({m.kind for m in ms})


def test_sample_over_a_real_module() -> None:
    ms = stdlib_mutations("textwrap")
    picked = sample_mutations(ms, 30, seed=7)
    assert len(picked) == 30 == len({m.key() for m in picked})
    assert len({m.qualname for m in picked}) == min(30, len({m.qualname for m in ms}))
    assert {m.kind for m in picked} == {m.kind for m in ms}
    everything = sample_mutations(ms, 10**6)
    assert sorted(m.key() for m in everything) == sorted(m.key() for m in ms)


# -- real code -------------------------------------------------------------------------------


@functools.cache
def stdlib_mutations(name: str) -> list[Mutation]:
    path = Path(importlib.import_module(name).__file__ or "")
    return enumerate_mutations(path.name, path.read_text())


@pytest.mark.parametrize("name", ["json.decoder", "textwrap", "argparse"])
def test_real_modules_give_small_compiling_mutations(name: str) -> None:
    source = Path(importlib.import_module(name).__file__ or "").read_text()
    ms = stdlib_mutations(name)
    assert {m.kind for m in ms} == set(KINDS)
    lines = source.splitlines(True)
    # Compiling argparse takes ~30 ms: check a spread sample of it, all of the smaller modules.
    for m in sample_mutations(ms, 50, seed=0) if len(ms) > 300 else ms:
        mutated = m.apply(source)
        compile(mutated, m.path, "exec", dont_inherit=True)
        assert m.revert(mutated) == source
        start = sum(map(len, lines[: m.lineno - 1])) + m.col
        assert mutated[:start] == source[:start]
        assert mutated[start + len(m.after) :] == source[start + len(m.before) :]
        removed, added = diff(source, mutated)
        assert 1 <= len(removed) <= MAX_SPAN_LINES and len(added) <= MAX_SPAN_LINES, m.summary
        assert removed[0] == lines[m.lineno - 1]


def test_checking_one_function_at_a_time_equals_checking_the_whole_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = Path(importlib.import_module("json.decoder").__file__ or "").read_text()
    source += textwrap.dedent(
        """
        class Extra:
            @property
            @functools.cache
            def value(self, x=1):
                def inner():
                    nonlocal x
                    x = x + 1
                    return x
                return inner() if x > 0 else -x
        """
    )
    # JSONObject: a long module-level function; Extra.value: decorated, with a nonlocal closure.
    only = ["JSONObject", "Extra.value", "Extra.value.<locals>.inner"]
    local = enumerate_mutations("decoder.py", source, functions=only)
    assert {m.qualname for m in local} == set(only)
    original_init = mutations._Checker.__init__

    def whole_file(self: mutations._Checker, path: str, src: SourceText, fn: functions.Function) -> None:
        original_init(self, path, src, fn)
        assert self.lo > 0  # decorated and nested functions are checked on their own lines
        self.lo, self.hi, self.prefix, self.line = 0, len(source), "", fn.node.lineno

    monkeypatch.setattr(mutations._Checker, "__init__", whole_file)
    assert enumerate_mutations("decoder.py", source, functions=only) == local
