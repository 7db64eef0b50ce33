"""The agent loop end to end: SWEEnv contract, oracle and wrong agents, every failure recorded."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conftest import with_labels
from swegym.agent.env import SWEEnv
from swegym.agent.loop import AgentConfig, run_episode
from swegym.agent.models.openai_compat import OpenAICompatModel, OpenAIConfig
from swegym.agent.models.scripted import ScriptedModel, oracle_model, wrong_model
from swegym.errors import SwegymError
from swegym.tasks.model import Task

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def task(calc_task: Task) -> Task:
    return with_labels(calc_task)


def test_swe_env_contract(task: Task) -> None:
    env = SWEEnv()
    obs, info = env.reset(options={"task": task})
    assert "clamp(50, 0, 10)" in obs and {t["function"]["name"] for t in info["tools"]} >= {
        "execute_bash",
        "finish",
    }
    obs, reward, terminated, truncated, info = env.step(
        {"name": "execute_bash", "arguments": {"command": "pwd"}}
    )
    assert (obs, reward, terminated, truncated) == ("/testbed\n", 0.0, False, False)
    fix = {
        "name": "str_replace_editor",
        "arguments": json.dumps(
            {"command": "str_replace", "path": "/testbed/calc.py", "old_str": "hi + 1", "new_str": "hi"}
        ),
    }
    assert "has been edited" in env.step(fix)[0]
    obs, reward, terminated, truncated, info = env.step({"name": "finish", "arguments": {}})
    assert terminated and not truncated and reward == 1.0
    assert "-    return max(lo, min(x, hi + 1))" in info["diff"] and info["outcome"] == "resolved"
    assert info["report"]["FAIL_TO_PASS"]["success"] == task.FAIL_TO_PASS
    with pytest.raises(SwegymError):
        env.step({"name": "execute_bash", "arguments": {"command": "ls"}})
    env.close()


def test_oracle_resolves_and_wrong_agent_gets_zero(task: Task) -> None:
    good = run_episode(task, oracle_model(task))
    assert good.outcome == "resolved" and good.reward == 1.0 and good.resolved
    bad = run_episode(task, wrong_model(task))
    assert bad.outcome == "tests_failed" and bad.reward == 0.0 and bad.resolved is False
    assert bad.messages[0]["role"] == "system" and bad.messages[-1]["role"] == "tool"


def test_agent_that_never_finishes_hits_the_turn_limit(task: Task) -> None:
    from swegym.agent.models.base import ToolCall

    forever = ScriptedModel([ToolCall(name="execute_bash", arguments={"command": "ls"})] * 100)
    res = run_episode(task, forever, AgentConfig(max_turns=3))
    assert res.outcome == "limit_reached" and res.turns == 3 and res.reward == 0.0


class FakeServer:
    """An OpenAI-style endpoint on loopback that replays scripted replies."""

    def __init__(self, replies: list[tuple[int, Any]]) -> None:
        self.replies = replies
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, body = outer.replies[min(outer.calls, len(outer.replies) - 1)]
                outer.calls += 1
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()


def reply(content: str = "", calls: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        msg["tool_calls"] = [{"id": f"c{i}", "type": "function", "function": c} for i, c in enumerate(calls)]
    return {
        "choices": [{"message": msg, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 5},
    }


@pytest.fixture
def client_for() -> Iterator[Any]:
    servers: list[FakeServer] = []

    def make(replies: list[tuple[int, Any]], **cfg: Any) -> OpenAICompatModel:
        srv = FakeServer(replies)
        servers.append(srv)
        return OpenAICompatModel(OpenAIConfig(model="fake", base_url=srv.url, retries=1, backoff=0.01, **cfg))

    yield make
    for s in servers:
        s.close()


def test_malformed_tool_calls_become_observations(task: Task, client_for: Any) -> None:
    model = client_for(
        [
            (200, reply(calls=[{"name": "execute_bash", "arguments": "{not json"}])),
            (200, reply(content="thinking without a call")),
            (200, reply(calls=[{"name": "finish", "arguments": "{}"}])),
        ]
    )
    res = run_episode(task, model)
    assert res.outcome == "no_diff" and res.turns == 3
    observations = [m["content"] for m in res.messages if m["role"] in ("tool", "user")][1:]
    assert "not valid JSON" in observations[0] and "no tool call" in observations[1]
    assert res.prompt_tokens == 150 and res.completion_tokens == 15


def test_model_server_down_is_recorded(task: Task) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    model = OpenAICompatModel(
        OpenAIConfig(model="x", base_url=f"http://127.0.0.1:{port}/v1", retries=1, backoff=0.01)
    )
    res = run_episode(task, model)
    assert res.outcome == "model_error" and "cannot reach" in (res.error or "")


def test_garbage_replies_are_recorded(task: Task, client_for: Any) -> None:
    res = run_episode(task, client_for([(200, "<html>not json</html>")]))
    assert res.outcome == "model_error" and "unreadable reply" in (res.error or "")
    res = run_episode(task, client_for([(200, {"choices": []})]))
    assert res.outcome == "model_error"


def test_context_overflow_is_recorded(task: Task, client_for: Any) -> None:
    model = client_for([(400, {"error": {"message": "This model's maximum context length is 8192 tokens"}})])
    res = run_episode(task, model)
    assert res.outcome == "limit_reached" and "context overflow" in (res.error or "")


def test_text_tool_call_mode(task: Task, client_for: Any) -> None:
    call = (
        "<function=execute_bash>\n<parameter=command>sed -i 's/hi + 1/hi/' calc.py</parameter>\n</function>"
    )
    model = client_for(
        [(200, reply(content=call)), (200, reply(content="<function=finish>\n</function>"))],
        text_tool_calls=True,
    )
    res = run_episode(task, model, AgentConfig(text_tool_calls=True))
    assert res.outcome == "resolved"
    assert "<function=execute_bash>" in res.messages[0]["content"]  # tools described in the prompt
    assert res.messages[3]["content"].startswith("EXECUTION RESULT of [execute_bash]")


def test_committed_work_and_shell_tricks_still_give_the_diff(task: Task) -> None:
    env = SWEEnv()
    env.reset(options={"task": task})
    steps = [
        "sed -i 's/hi + 1/hi/' calc.py",
        "git -c user.name=a -c user.email=a@b commit -qam 'my fix'",
        "git() { echo 'fake diff'; }; export GIT_INDEX_FILE=/tmp/elsewhere",
        "(while :; do echo NOISE; sleep 0.05; done) &",
    ]
    for cmd in steps:
        env.step({"name": "execute_bash", "arguments": {"command": cmd}})
    diff = env.diff()
    assert "+    return max(lo, min(x, hi))" in diff and "NOISE" not in diff and "fake" not in diff
    # The diff leaves no state behind in the agent's shell.
    obs = env.step(
        {"name": "execute_bash", "arguments": {"command": "unset -f git; echo ${GIT_INDEX_FILE}"}}
    )[0]
    assert "/tmp/elsewhere" in obs
    _, reward, terminated, _, _ = env.step({"name": "finish", "arguments": {}})
    assert terminated and reward == 1.0
    env.close()
