"""Model clients: OpenAI-compatible servers, the built-in local model's server, scripted models.

Pick one from configuration with :func:`swegym.agent.models.factory.make_model`.
"""

from swegym.agent.models.base import Model, ModelResponse, ToolCall

__all__ = ["Model", "ModelResponse", "ToolCall"]
