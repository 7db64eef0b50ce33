"""Tool calls that are well-formed by construction, in SWE-Gym's text format.

One call is written as (see :mod:`swegym.agent.textcalls`)::

    <function=NAME>
    <parameter=P>value</parameter>
    </function>

:func:`call_steps` turns the tools' JSON schemas into the steps a decoder takes to write one such
call: :class:`Literal` spans are appended without sampling, a :class:`Choice` picks one of a few
strings (a tool name, a parameter name, an enum value, or ``</function>``), :class:`Digits` writes
an integer and :class:`FreeText` samples a string value until the model writes ``</parameter>``.
Required parameters always come, in schema order; each optional parameter may follow, also in
schema order; then ``</function>`` and the end of generation. :func:`run_steps` drives the steps
with any :class:`Decoder` (the transformers server's engine, or a fake one in tests), and
:func:`tools_gbnf` writes the same language as a llama.cpp GBNF grammar.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Protocol

CLOSE_PARAM = "</parameter>"
END_CALL = "</function>"


@dataclass(frozen=True)
class Literal:
    """Text appended as it is, without sampling."""

    text: str


@dataclass(frozen=True)
class Choice:
    """Exactly one of ``options``, chosen by the model's likelihood of each."""

    options: tuple[str, ...]


@dataclass(frozen=True)
class Digits:
    """A non-negative integer written as digits (at least one)."""

    max_digits: int = 6


@dataclass(frozen=True)
class FreeText:
    """Sampled text, ended by the model writing ``stop`` (which is not part of the value)."""

    stop: str = CLOSE_PARAM


Step = Literal | Choice | Digits | FreeText
Steps = Generator[Step, str, None]


class Decoder(Protocol):
    """What a model-backed writer must do for each kind of step; each returns the text written."""

    def force(self, text: str) -> str:
        """Append ``text`` as it is."""
        ...

    def choose(self, options: tuple[str, ...]) -> str:
        """Append one of ``options`` and return it."""
        ...

    def digits(self, max_digits: int) -> str:
        """Append 1..max_digits digits and return them."""
        ...

    def free_text(self, stop: str) -> str:
        """Sample text until ``stop`` (or the token budget ends); return it without ``stop``."""
        ...


def _function(tools: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(t["function"] for t in tools if t["function"]["name"] == name)


def _value_steps(spec: dict[str, Any]) -> Steps:
    """The steps of one parameter's value, by its JSON-schema type."""
    kind = spec.get("type", "string")
    if spec.get("enum"):
        yield Choice(tuple(str(v) for v in spec["enum"]))
    elif kind in ("integer", "number"):
        yield Digits()
    elif kind == "array" and spec.get("items", {}).get("type") == "integer":
        # The editor's view_range: [start, end]; textcalls parses a value starting with "[" as JSON.
        yield Literal("[")
        yield Digits()
        yield Literal(", ")
        yield Digits()
        yield Literal("]")
    else:
        yield FreeText()


def _param_steps(name: str, spec: dict[str, Any], opened: bool = False) -> Steps:
    if not opened:
        yield Literal(f"<parameter={name}>")
    yield from _value_steps(spec)
    # A free-text value ends when the model writes the closing tag; the decoder then writes it.
    yield Literal(CLOSE_PARAM + "\n")


def call_steps(tools: list[dict[str, Any]]) -> Steps:
    """The steps of one tool call to one of ``tools``; ``send()`` each step's written text back."""
    yield Literal("<function=")
    name = yield Choice(tuple(t["function"]["name"] for t in tools))
    yield Literal(">\n")
    params = _function(tools, name).get("parameters", {})
    props: dict[str, Any] = params.get("properties", {})
    required = [p for p in props if p in set(params.get("required", []))]
    for p in required:
        yield from _param_steps(p, props[p])
    optional = [p for p in props if p not in required]
    while optional:
        options = (*(f"<parameter={p}>" for p in optional), END_CALL)
        picked = yield Choice(options)
        if picked == END_CALL:
            return
        p = picked[len("<parameter=") : -1]
        yield from _param_steps(p, props[p], opened=True)
        optional = optional[optional.index(p) + 1 :]
    yield Literal(END_CALL)


def run_steps(steps: Steps, decoder: Decoder) -> str:
    """Write one call by driving ``steps`` with ``decoder``; return the whole text written."""
    out: list[str] = []
    try:
        step = next(steps)
        while True:
            if isinstance(step, Literal):
                text = decoder.force(step.text)
            elif isinstance(step, Choice):
                text = decoder.choose(step.options)
            elif isinstance(step, Digits):
                text = decoder.digits(step.max_digits)
            else:
                text = decoder.free_text(step.stop)
            out.append(text)
            step = steps.send(text)
    except StopIteration:
        pass
    return "".join(out)


# -- GBNF for llama.cpp ----------------------------------------------------------------------------
def _q(text: str) -> str:
    return json.dumps(text)  # a GBNF string literal has JSON's escapes


def _rule(name: str) -> str:
    return re.sub(r"[^a-zA-Z0-9-]", "-", name)


def _gbnf_value(spec: dict[str, Any]) -> str:
    kind = spec.get("type", "string")
    if spec.get("enum"):
        return "(" + " | ".join(_q(str(v)) for v in spec["enum"]) + ")"
    if kind in ("integer", "number"):
        return "digits"
    if kind == "array" and spec.get("items", {}).get("type") == "integer":
        return '"[" digits ", " digits "]"'
    return "text"


def _gbnf_param(name: str, spec: dict[str, Any]) -> str:
    return f"{_q(f'<parameter={name}>')} {_gbnf_value(spec)} {_q(CLOSE_PARAM + chr(10))}"


def _gbnf_optionals(fname: str, props: dict[str, Any], optional: list[str]) -> list[str]:
    """Rules opt-F-I: optional parameter I (or a later one) may come next, or none; schema order."""
    rules = []
    for i, p in enumerate(optional):
        later = f" opt-{fname}-{i + 1}" if i + 1 < len(optional) else ""
        nxt = f"opt-{fname}-{i + 1}" if later else ""
        alts = [f"{_gbnf_param(p, props[p])}{later}", nxt or '""']
        rules.append(f"opt-{fname}-{i} ::= " + " | ".join(alts))
    return rules


def tools_gbnf(tools: list[dict[str, Any]]) -> str:
    """A GBNF grammar (llama.cpp's ``grammar`` request field) for exactly one call to ``tools``.

    String values are any text without ``</`` (GBNF cannot say "up to the first
    ``</parameter>``" directly), so a value cannot contain that two-character sequence.
    """
    names = [t["function"]["name"] for t in tools]
    rules = ['root ::= "<function=" (' + " | ".join(f"fn-{_rule(n)}" for n in names) + ")"]
    for n in names:
        fname = _rule(n)
        params = _function(tools, n).get("parameters", {})
        props: dict[str, Any] = params.get("properties", {})
        required = [p for p in props if p in set(params.get("required", []))]
        optional = [p for p in props if p not in required]
        body = [_q(f"{n}>\n")] + [_gbnf_param(p, props[p]) for p in required]
        if optional:
            body.append(f"opt-{fname}-0")
        rules.append(f"fn-{fname} ::= " + " ".join(body) + f" {_q(END_CALL)}")
        rules += _gbnf_optionals(fname, props, optional)
    rules.append("digits ::= [0-9] [0-9]? [0-9]? [0-9]? [0-9]? [0-9]?")
    rules.append('text ::= ([^<] | "<" [^/])*')
    return "\n".join(rules) + "\n"
