"""The tool-call grammar on its own: every path it allows is a call that textcalls parses (no model)."""

from __future__ import annotations

import importlib.util
import random

import pytest

from swegym.agent.models.openai_compat import OpenAICompatModel, OpenAIConfig
from swegym.agent.models.toolgrammar import (
    CLOSE_PARAM,
    Choice,
    Digits,
    FreeText,
    Literal,
    call_steps,
    run_steps,
    tools_gbnf,
)
from swegym.agent.schemas import STR_REPLACE_EDITOR, TOOL_NAMES, TOOLS
from swegym.agent.textcalls import parse_text_tool_calls


class RandomDecoder:
    """Makes every choice at random and writes adversarial free text (newlines, '<', quotes)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.log: list[str] = []

    def force(self, text: str) -> str:
        self.log.append("force")
        return text

    def choose(self, options: tuple[str, ...]) -> str:
        self.log.append("choose")
        return self.rng.choice(options)

    def digits(self, max_digits: int) -> str:
        return str(self.rng.randrange(10 ** self.rng.randint(1, max_digits)))

    def free_text(self, stop: str) -> str:
        alphabet = ["ls", " -la", "\n", "<b>", "a < b", '"q"', "{}", "[x]", "é", "  "]
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(0, 8)))


def _schema(name: str) -> dict:
    return next(t["function"]["parameters"] for t in TOOLS if t["function"]["name"] == name)


@pytest.mark.parametrize("seed", range(200))
def test_every_path_is_a_parsable_call_with_its_required_parameters(seed: int) -> None:
    text = run_steps(call_steps(TOOLS), RandomDecoder(seed))
    calls = parse_text_tool_calls(text)
    assert len(calls) == 1 and text.endswith("</function>")
    call = calls[0]
    assert call.name in TOOL_NAMES
    schema = _schema(call.name)
    assert set(schema["required"]) <= set(call.arguments) <= set(schema["properties"])
    for key, value in call.arguments.items():
        spec = schema["properties"][key]
        if "enum" in spec:
            assert value in spec["enum"]
        elif spec.get("type") in ("integer", "number"):
            assert isinstance(value, int)
        elif spec.get("type") == "array":
            assert isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)


def test_steps_for_the_editor_follow_the_schema_order() -> None:
    """Name, then `command` as an enum choice, `path` as free text, then optional ones or the end."""
    steps = call_steps([STR_REPLACE_EDITOR])
    seen = [next(steps)]
    replies = {Literal: lambda s: s.text, Choice: lambda s: s.options[0], FreeText: lambda s: "/testbed/x.py"}
    while True:
        step = seen[-1]
        reply = "7" if isinstance(step, Digits) else replies[type(step)](step)
        try:
            seen.append(steps.send(reply))
        except StopIteration:
            break
    assert seen[0] == Literal("<function=")
    assert seen[1] == Choice(("str_replace_editor",))
    assert seen[4] == Choice(("view", "create", "str_replace", "insert", "undo_edit"))
    assert isinstance(seen[7], FreeText) and seen[7].stop == CLOSE_PARAM
    assert seen[9].options[-1] == "</function>"  # type: ignore[union-attr]
    assert seen[9].options[0] == "<parameter=file_text>"  # type: ignore[union-attr]


def test_a_tool_without_required_parameters_may_end_at_once() -> None:
    class EndAtOnce(RandomDecoder):
        def choose(self, options: tuple[str, ...]) -> str:
            return "finish" if "finish" in options else options[-1]

    text = run_steps(call_steps(TOOLS), EndAtOnce(0))
    assert text == "<function=finish>\n</function>"
    assert parse_text_tool_calls(text)[0].arguments == {}


def test_gbnf_names_every_tool_parameter_and_enum_value() -> None:
    grammar = tools_gbnf(TOOLS)
    assert grammar.startswith('root ::= "<function="')
    for tool in TOOLS:
        fn = tool["function"]
        assert f'"{fn["name"]}>\\n"' in grammar
        for param in fn["parameters"]["properties"]:
            assert f'"<parameter={param}>"' in grammar
    for value in STR_REPLACE_EDITOR["function"]["parameters"]["properties"]["command"]["enum"]:
        assert f'"{value}"' in grammar


@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python not installed")
def test_gbnf_is_accepted_by_llama_cpp() -> None:
    import llama_cpp  # a broken install fails here rather than being skipped

    assert llama_cpp.LlamaGrammar.from_string(tools_gbnf(TOOLS), verbose=False) is not None


@pytest.mark.parametrize(
    ("mode", "field"), [("gbnf", "grammar"), ("swegym", "swegym_tool_grammar"), ("none", None)]
)
def test_client_sends_the_grammar_in_text_mode_only(mode: str, field: str | None) -> None:
    text = OpenAICompatModel(OpenAIConfig(model="m", text_tool_calls=True, tool_grammar=mode))  # type: ignore[arg-type]
    body = text._payload([{"role": "user", "content": "hi"}], TOOLS)
    assert "tools" not in body
    for other in ("grammar", "swegym_tool_grammar"):
        assert (other in body) == (other == field)
    if field == "grammar":
        assert body["grammar"] == tools_gbnf(TOOLS)
    native = OpenAICompatModel(OpenAIConfig(model="m", tool_grammar=mode))  # type: ignore[arg-type]
    body = native._payload([{"role": "user", "content": "hi"}], TOOLS)
    assert body["tools"] == TOOLS and "grammar" not in body and "swegym_tool_grammar" not in body
