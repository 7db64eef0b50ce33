"""Model clients: OpenAI-compatible servers, a local llama.cpp server, scripted models."""

from swegym.agent.models.base import Model, ModelResponse, ToolCall

__all__ = ["Model", "ModelResponse", "ToolCall"]
