"""Choosing a model from configuration: ``make_model(ModelConfig(...))``.

::

    with make_model(ModelConfig(name="local")) as model_for:
        model = model_for(task, sample)   # a Model

``oracle`` and ``wrong`` are scripted per task (:mod:`swegym.agent.models.scripted`); ``local``
starts the built-in model's server (:mod:`swegym.agent.models.local`) for the duration of the
``with`` block; any other name is a model served at ``base_url``. Served models share one
thread-safe :class:`~swegym.agent.models.openai_compat.OpenAICompatModel`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from swegym.agent.models.balanced import BalancedModel
from swegym.agent.models.base import Model
from swegym.agent.models.local import Backend, LocalServer, LocalServerConfig
from swegym.agent.models.openai_compat import OpenAICompatModel, OpenAIConfig
from swegym.agent.models.scripted import oracle_model, wrong_model
from swegym.errors import SwegymError
from swegym.tasks.model import Task

ModelFactory = Callable[[Task, int], Model]
"""Gives the model for (task, sample): a shared client, or a per-task scripted one."""

BUILTIN_MODELS = ("local", "oracle", "wrong")


class ModelConfig(BaseModel):
    """Which model answers the agent, and how to reach or run it."""

    model_config = ConfigDict(extra="forbid")

    name: str = "local"
    """``local`` (the built-in model), ``oracle`` (applies the gold patch), ``wrong`` (a useless
    edit), or the name of a model served at ``base_url``."""
    base_url: str | None = None
    """An OpenAI-compatible endpoint (``http://host:port/v1``); for ``local``, a server already
    running, so that none is started."""
    base_urls: list[str] = Field(default_factory=list)
    """Every endpoint serving the model (replicas on a cluster), ``base_url`` first; requests are
    balanced by outstanding requests (:class:`~swegym.agent.models.balanced.BalancedModel`)."""
    temperature: float = 0.0
    """Sampling temperature of served models."""
    max_tokens: int = Field(default=1024, ge=1)
    """Most tokens per model reply."""
    text_tool_calls: bool | None = None
    """SWE-Gym's ``<function=...>`` text calls (True) or native ``tools`` / ``tool_calls`` (False);
    None = text for ``local``, native otherwise."""
    api_key_env: str = "OPENAI_API_KEY"
    """Environment variable holding the API key of a served model (none needed locally)."""
    local_backend: Backend = "transformers"
    """The built-in model's server: ``transformers`` (torch, nothing to build) or ``llamacpp``
    (llama-cpp-python, built from source at install)."""
    model_path: Path | None = None
    """A model file for ``local`` instead of the bundled SmolLM2-135M-Instruct (a GGUF, or a
    transformers checkpoint directory for the transformers backend)."""
    n_ctx: int = Field(default=8192, ge=256)
    """Context window of the local server, in tokens."""
    tool_grammar: bool = True
    """Constrain the local model to one well-formed text tool call per reply (a decoding
    state machine for transformers, a GBNF grammar for llama.cpp)."""
    log_path: Path | None = None
    """Where the local server's log goes; None = a temporary file."""

    @property
    def starts_local_server(self) -> bool:
        """Whether :func:`make_model` starts the built-in model's server."""
        return self.name == "local" and self.base_url is None

    @property
    def uses_text_tool_calls(self) -> bool:
        """The tool-call format in effect (see ``text_tool_calls``)."""
        return self.name == "local" if self.text_tool_calls is None else self.text_tool_calls


def _client(config: ModelConfig, model: str, base_url: str, grammar: str = "none") -> OpenAICompatModel:
    return OpenAICompatModel(
        OpenAIConfig(
            model=model,
            base_url=base_url,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            text_tool_calls=config.uses_text_tool_calls,
            api_key_env=config.api_key_env,
            tool_grammar=grammar if config.uses_text_tool_calls else "none",  # type: ignore[arg-type]
        )
    )


@contextlib.contextmanager
def make_model(config: ModelConfig) -> Iterator[ModelFactory]:
    """Yield the per-(task, sample) model for ``config``; a local server lives as long as the block."""
    if config.name == "oracle":
        yield lambda task, sample: oracle_model(task)
        return
    if config.name == "wrong":
        yield lambda task, sample: wrong_model(task)
        return
    if config.starts_local_server:
        server_cfg = LocalServerConfig(
            backend=config.local_backend,
            model_path=config.model_path,
            n_ctx=config.n_ctx,
            log_path=config.log_path,
        )
        grammar = (
            ("swegym" if config.local_backend == "transformers" else "gbnf")
            if config.tool_grammar
            else "none"
        )
        with LocalServer(server_cfg) as server:
            client = _client(config, server.model_name, server.base_url, grammar)
            yield lambda task, sample: client
        return
    if config.base_url is None:
        raise SwegymError(
            f"--model {config.name!r} needs --base-url (an OpenAI-compatible endpoint), "
            f"or use one of {', '.join(BUILTIN_MODELS)}"
        )
    urls = list(dict.fromkeys([config.base_url, *config.base_urls]))
    shared: Model = _client(config, config.name, urls[0])
    if len(urls) > 1:
        shared = BalancedModel([_client(config, config.name, u) for u in urls])
    yield lambda task, sample: shared
