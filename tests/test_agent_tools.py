"""CodeAct tools against a real sandbox, and the text tool-call format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from swegym.agent.models.base import ToolCall
from swegym.agent.textcalls import parse_text_tool_calls, render_text_tool_call
from swegym.agent.tools import ToolExecutor, parse_arguments
from swegym.sandbox.bwrap import Layout
from swegym.sandbox.local import LocalSandbox


def test_text_tool_calls_roundtrip() -> None:
    call = ToolCall(
        name="str_replace_editor",
        arguments={"command": "view", "path": "/testbed/a.py", "view_range": [1, 5]},
    )
    text = "I will look.\n" + render_text_tool_call(call)
    (parsed,) = parse_text_tool_calls(text)
    assert parsed.name == call.name and parsed.arguments == call.arguments
    multi = (
        "<function=execute_bash>\n<parameter=command>\nfor i in 1 2; do\n  echo $i\ndone\n"
        "</parameter>\n</function>"
    )
    assert parse_text_tool_calls(multi)[0].arguments["command"] == "for i in 1 2; do\n  echo $i\ndone"
    assert parse_text_tool_calls("no call here") == []
    assert parse_arguments("{bad")["_error"].startswith("the tool call's arguments are not valid JSON")


@pytest.fixture
def tools(tmp_path: Path) -> Iterator[ToolExecutor]:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "m.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 1\n")
    sb = LocalSandbox(Layout(repo_layers=[repo]))
    sb.start()
    yield ToolExecutor(sb, bash_timeout=5)
    sb.close()


def ed(**args: object) -> ToolCall:
    return ToolCall(name="str_replace_editor", arguments=dict(args))


@pytest.mark.sandbox
def test_editor_commands(tools: ToolExecutor) -> None:
    view = tools(ed(command="view", path="/testbed/m.py"))
    assert "     2\t    return 1" in view.observation and not view.error
    bad = tools(ed(command="str_replace", path="/testbed/m.py", old_str="return 1", new_str="return 2"))
    assert bad.error and "occurs 2 times" in bad.observation and "[2, 6]" in bad.observation
    missing = tools(ed(command="str_replace", path="/testbed/m.py", old_str="return 3", new_str="x"))
    assert missing.error and "did not appear verbatim" in missing.observation
    ok = tools(
        ed(
            command="str_replace",
            path="/testbed/m.py",
            old_str="def f():\n    return 1",
            new_str="def f():\n    return 2",
        )
    )
    assert not ok.error and "return 2" in ok.observation
    tools(ed(command="insert", path="/testbed/m.py", insert_line=0, new_str="# top"))
    assert (
        tools(ToolCall(name="execute_bash", arguments={"command": "head -n 2 m.py"})).observation
        == "# top\ndef f():\n"
    )
    tools(ed(command="undo_edit", path="/testbed/m.py"))
    tools(ed(command="undo_edit", path="/testbed/m.py"))
    assert "return 1" in tools(ed(command="view", path="/testbed/m.py", view_range=[1, 2])).observation
    created = tools(ed(command="create", path="/testbed/pkg/new.py", file_text="x = 'ünï'\n"))
    assert not created.error
    assert (
        tools(ToolCall(name="execute_bash", arguments={"command": "cat pkg/new.py"})).observation
        == "x = 'ünï'\n"
    )
    again = tools(ed(command="create", path="/testbed/pkg/new.py", file_text=""))
    assert again.error and "already exists" in again.observation
    assert "pkg" in tools(ed(command="view", path="/testbed")).observation
    assert tools(ed(command="view", path="relative.py")).error
    assert tools(ed(command="explode", path="/testbed/m.py")).error


@pytest.mark.sandbox
def test_bash_and_malformed_calls(tools: ToolExecutor) -> None:
    r = tools(ToolCall(name="execute_bash", arguments={"command": "echo hi; exit 3"}))
    assert "hi" in r.observation
    r = tools(ToolCall(name="execute_bash", arguments={"command": "false"}))
    assert "[exit code: 1]" in r.observation
    r = tools(ToolCall(name="execute_bash", arguments={"command": "sleep 30", "timeout": 1}))
    assert "killed" in r.observation
    r = tools(ToolCall(name="execute_bash", arguments={"command": "seq 1 200000"}))
    assert "output truncated" in r.observation
    assert tools(ToolCall(name="execute_bash", arguments={})).error
    assert tools(ToolCall(name="launch_rockets", arguments={})).error
    assert tools(ToolCall(name="execute_bash", arguments={"_error": "bad"})).error
    assert tools(ToolCall(name="finish", arguments={"message": "done"})).finished
