"""A client for any OpenAI-compatible chat endpoint (vLLM, SGLang, llama.cpp server, OpenAI)."""

from __future__ import annotations

import json
import os
import time
import uuid
from functools import lru_cache
from typing import Any, Literal

import httpx
from pydantic import BaseModel, Field

from swegym.agent.models.base import ModelResponse, ToolCall
from swegym.agent.models.toolgrammar import tools_gbnf
from swegym.agent.textcalls import parse_text_tool_calls
from swegym.agent.tools import parse_arguments
from swegym.errors import ModelError

_CONTEXT_HINTS = ("context length", "context_length", "maximum context", "too long", "exceeds", "n_ctx")


class OpenAIConfig(BaseModel):
    """Settings of an OpenAI-compatible model client."""

    model: str
    """Model name as the server knows it."""
    base_url: str = "http://127.0.0.1:8000/v1"
    """Endpoint root (…/v1)."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the API key (none needed for local servers)."""
    temperature: float = 0.0
    max_tokens: int | None = 2048
    """Most tokens per reply."""
    text_tool_calls: bool = False
    """Describe tools in the prompt and parse SWE-Gym's <function=...> text calls, for servers
    without tool-call parsing; otherwise use native `tools` / `tool_calls`."""
    tool_grammar: Literal["none", "gbnf", "swegym"] = "none"
    """With text tool calls, make each reply exactly one well-formed call: ``gbnf`` sends a GBNF
    grammar of the tools as ``grammar`` (llama.cpp servers), ``swegym`` sends the tools as
    ``swegym_tool_grammar`` (swegym's transformers server); ``none`` leaves replies free."""
    timeout: float = 300.0
    """Seconds per request."""
    retries: int = 4
    """Retries on connection errors, 429 and 5xx, with exponential backoff."""
    backoff: float = 0.5
    extra_body: dict[str, Any] = Field(default_factory=dict)
    """Extra request fields (e.g. top_p, seed)."""


class OpenAICompatModel:
    """`Model` over HTTP; thread-safe (one connection pool shared by the workers)."""

    def __init__(self, config: OpenAIConfig, client: httpx.Client | None = None) -> None:
        self.config = config
        self.name = config.model
        key = os.environ.get(config.api_key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = client or httpx.Client(
            base_url=config.base_url.rstrip("/") + "/", headers=headers, timeout=config.timeout
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy in another process (a Ray worker) opens its own connection pool.
        return (type(self), (self.config,))

    def _payload(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.config.model,
            "messages": messages,
            "temperature": self.config.temperature,
            **self.config.extra_body,
        }
        if self.config.max_tokens:
            body["max_tokens"] = self.config.max_tokens
        if tools and not self.config.text_tool_calls:
            body["tools"] = tools
            body["tool_choice"] = "auto"
        elif tools and self.config.tool_grammar == "gbnf":
            body["grammar"] = _gbnf(json.dumps(tools))  # key order matters: parameters follow the schema
        elif tools and self.config.tool_grammar == "swegym":
            body["swegym_tool_grammar"] = tools
        return body

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelResponse:
        body = self._payload(messages, tools)
        last = "no attempt"
        start = time.perf_counter()
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(self.config.backoff * 2 ** (attempt - 1))
            try:
                resp = self.client.post("chat/completions", json=body)
            except httpx.HTTPError as exc:
                last = f"cannot reach {self.config.base_url} ({type(exc).__name__})"
                continue
            if resp.status_code == 400 and any(h in resp.text.lower() for h in _CONTEXT_HINTS):
                raise ModelError(f"context overflow: {resp.text[:200]}", kind="context_overflow")
            if resp.status_code in (408, 409, 429) or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}: {resp.text[:200]}"
                continue
            if resp.status_code >= 400:
                raise ModelError(f"HTTP {resp.status_code}: {resp.text[:200]}", kind="bad_request")
            try:
                out = self._parse(resp.json())
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                last = f"unreadable reply ({exc})"
                continue
            out.seconds = time.perf_counter() - start
            return out
        kind = "unavailable" if last.startswith(("cannot reach", "HTTP")) else "bad_response"
        raise ModelError(f"model {self.name}: {last} after {self.config.retries + 1} tries", kind=kind)

    def _parse(self, data: dict[str, Any]) -> ModelResponse:
        choice = data["choices"][0]
        msg = choice["message"]
        content = msg.get("content") or ""
        if not isinstance(content, str):
            raise ValueError("message content is not text")
        calls = []
        for raw in msg.get("tool_calls") or []:
            fn = raw["function"]
            calls.append(
                ToolCall(
                    id=raw.get("id") or f"call_{uuid.uuid4().hex[:8]}",
                    name=fn["name"],
                    arguments=parse_arguments(fn.get("arguments")),
                )
            )
        if not calls and self.config.text_tool_calls:
            calls = parse_text_tool_calls(content)[:1]
        usage = data.get("usage") or {}
        return ModelResponse(
            content=content,
            tool_calls=calls,
            finish_reason=choice.get("finish_reason"),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            raw={
                "id": data.get("id"),
                "usage": usage,
                "tool_calls": json.loads(json.dumps(msg.get("tool_calls") or [])),
            },
        )


@lru_cache(maxsize=8)
def _gbnf(tools_json: str) -> str:
    return tools_gbnf(json.loads(tools_json))
