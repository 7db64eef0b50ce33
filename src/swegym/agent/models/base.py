"""The model protocol: chat messages in, one assistant message (maybe with tool calls) out."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ToolCall(BaseModel):
    """One tool call, as in OpenAI's chat format (arguments already parsed)."""

    id: str = ""
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class ModelResponse(BaseModel):
    """An assistant turn: text, tool calls, token counts and timing."""

    content: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    finish_reason: str | None = None
    raw: dict[str, Any] | None = None


@runtime_checkable
class Model(Protocol):
    """Anything that answers a chat: an OpenAI-compatible server, a scripted list, ..."""

    name: str

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelResponse:
        """Return the next assistant turn for ``messages`` with ``tools`` available."""
        ...
