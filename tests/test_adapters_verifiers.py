"""The verifiers adapter in verifiers' own episode loop: ``Env.serving()`` + ``run_episode`` with
its interception server and client, against a scripted model served over OpenAI's chat API on
loopback; the sandbox plays the user and the tests' reward lands on the trace."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from swegym.agent.models.base import Model
from swegym.agent.models.scripted import ScriptedModel, oracle_model, wrong_model
from swegym.agent.schemas import TOOLS
from swegym.agent.textcalls import render_text_tool_call
from swegym.tasks.loaders import load_tasks

pytest.importorskip("verifiers.v1")
pytestmark = pytest.mark.sandbox

TASK = "tkem__cachetools.5.3.2.compare_op__c08b813b"


class ScriptedServer:
    """An OpenAI-compatible chat endpoint answering with a scripted model's text tool calls."""

    def __init__(self) -> None:
        self.model: Model | None = None
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                assert outer.model is not None
                resp = outer.model.complete(body["messages"], TOOLS)
                text = resp.content or render_text_tool_call(resp.tool_calls[0])
                answer = {
                    "id": f"c{len(outer.requests)}",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": "stop",
                            "message": {"role": "assistant", "content": text},
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                }
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedServer]:
    monkeypatch.setenv("SWEGYM_SCRIPTED_KEY", "not-a-secret")
    s = ScriptedServer()
    s.thread.start()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def run(server: ScriptedServer, model: Model, max_turns: int = 8) -> Any:
    import verifiers.v1 as vf

    import swegym.adapters.verifiers as swe

    server.model = model
    env = swe.SWEGymEnv(swe.env_config(ids=[TASK], max_turns=max_turns))
    task = next(iter(env.taskset))
    client = vf.EvalClientConfig(base_url=server.url, api_key_var="SWEGYM_SCRIPTED_KEY")
    ctx = vf.ModelContext(model="scripted", client=client)

    async def episode() -> Any:
        async with env.serving():
            return await env.run_episode(task, ctx)

    return asyncio.run(episode())


def test_oracle_earns_1_and_a_wrong_edit_0(server: ScriptedServer) -> None:
    task = load_tasks("bundled:lite", ids=[TASK]).tasks[0]
    good = run(server, oracle_model(task))
    assert good.ok, good.errors
    trace = good.traces[0]
    assert trace.rewards["tests"].score == 1.0 and trace.info["outcome"] == "resolved"
    assert trace.num_turns == 4  # bash, view, apply, finish: one model call each
    # The model saw the sandbox's answers as user turns.
    last = server.requests[-1]["messages"]
    assert any("EXECUTION RESULT of [execute_bash]" in str(m.get("content")) for m in last)

    bad = run(server, wrong_model(task))
    assert bad.ok and bad.traces[0].rewards["tests"].score == 0.0
    assert bad.traces[0].info["outcome"] == "tests_failed"


def test_turn_limit_ends_and_grades_the_episode(server: ScriptedServer) -> None:
    ep = run(server, ScriptedModel(["no call here", "nor here", "still none"]), max_turns=2)
    assert ep.ok and ep.traces[0].rewards["tests"].score == 0.0
    assert ep.traces[0].info["outcome"] in {"no_diff", "limit_reached"}
