"""The transformers server's HTTP contract, with a fake engine (fast: no torch, no model)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from swegym.agent.models.hf_engine import Generation
from swegym.agent.models.hf_server import make_handler
from swegym.agent.models.openai_compat import OpenAICompatModel, OpenAIConfig
from swegym.agent.schemas import TOOLS
from swegym.errors import ModelError


class FakeEngine:
    """Records what the server passes on; answers with one text call, or fails on request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def generate(self, messages: list[dict[str, str]], **kwargs: Any) -> Generation:
        self.requests.append({"messages": messages, **kwargs})
        if kwargs["max_tokens"] > 1000:
            raise ValueError("the prompt (10 tokens) plus max_tokens exceeds the context length (64 tokens)")
        if kwargs["max_tokens"] == 999:
            raise RuntimeError("kernel failed")
        text = "<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>"
        return Generation(text, "stop", 10, 7, 3, 0.1, 0.2, {"prompt_n": 3})


@pytest.fixture
def served() -> Iterator[tuple[FakeEngine, str]]:
    engine = FakeEngine()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(engine, "tiny"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_models_listing_and_unknown_routes(served: tuple[FakeEngine, str]) -> None:
    _, url = served
    with httpx.Client(trust_env=False) as client:
        assert client.get(f"{url}/models").json()["data"][0]["id"] == "tiny"
        assert client.get(f"{url}/nope").status_code == 404
        assert client.post(f"{url}/completions", json={}).status_code == 404
        assert client.post(f"{url}/chat/completions", content=b"{not json").status_code == 400


def test_the_client_gets_a_parsed_call_and_usage(served: tuple[FakeEngine, str]) -> None:
    engine, url = served
    cfg = OpenAIConfig(model="tiny", base_url=url, text_tool_calls=True, tool_grammar="swegym", max_tokens=32)
    messages = [
        {"role": "system", "content": "sys"},
        {"role": "tool", "content": [{"type": "text", "text": "obs"}]},
    ]
    resp = OpenAICompatModel(cfg).complete(messages, TOOLS)
    assert resp.tool_calls[0].name == "execute_bash" and resp.tool_calls[0].arguments == {"command": "ls"}
    assert (resp.prompt_tokens, resp.completion_tokens, resp.finish_reason) == (10, 7, "stop")
    sent = engine.requests[0]
    assert sent["tools"] == TOOLS and sent["max_tokens"] == 32
    # A tool result is shown to a small chat template as a user turn; content parts become text.
    assert sent["messages"] == [{"role": "system", "content": "sys"}, {"role": "user", "content": "obs"}]


def test_overflow_and_failures_become_model_errors(served: tuple[FakeEngine, str]) -> None:
    _, url = served
    overflow = OpenAICompatModel(OpenAIConfig(model="tiny", base_url=url, max_tokens=2000, retries=0))
    with pytest.raises(ModelError) as info:
        overflow.complete([{"role": "user", "content": "hi"}], [])
    assert info.value.kind == "context_overflow"
    broken = OpenAICompatModel(OpenAIConfig(model="tiny", base_url=url, max_tokens=999, retries=0))
    with pytest.raises(ModelError, match=r"HTTP 500.*kernel failed"):
        broken.complete([{"role": "user", "content": "hi"}], [])
