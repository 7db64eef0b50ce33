"""The built-in local model: a server process on 127.0.0.1, started and stopped by swegym.

Two backends serve the same OpenAI-compatible API, and the client is always
:class:`~swegym.agent.models.openai_compat.OpenAICompatModel`:

- ``transformers`` (default): :mod:`swegym.agent.models.hf_server`, transformers/torch on the CPU,
  the packages that the ``train`` extra installs anyway (``pip install 'swegym[local]'``);
- ``llamacpp``: llama-cpp-python's server (``python -m llama_cpp.server``), which builds from source
  for several minutes (``CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install 'swegym[llamacpp]'``).

Both serve the bundled SmolLM2-135M-Instruct by default (see :mod:`swegym.agent.models.catalog`).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field

from swegym.agent.models.catalog import (
    DEFAULT,
    INSTALL_HINT,
    LLAMACPP_INSTALL_HINT,
    MODELS,
    LocalModelError,
    default_model_path,
)

LOOPBACK: Literal["127.0.0.1"] = "127.0.0.1"
Backend = Literal["transformers", "llamacpp"]
_NEEDS: dict[str, tuple[tuple[str, ...], str]] = {
    "transformers": (("torch", "transformers", "gguf"), INSTALL_HINT),
    "llamacpp": (("llama_cpp", "uvicorn", "fastapi", "sse_starlette"), LLAMACPP_INSTALL_HINT),
}


def _default_threads() -> int:
    with contextlib.suppress(AttributeError, OSError):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


class LocalServerConfig(BaseModel):
    """How to run the local model's server."""

    model_config = ConfigDict(extra="forbid")

    backend: Backend = "transformers"
    """``transformers`` (torch, no extra build) or ``llamacpp`` (llama-cpp-python, built from source)."""
    model: str = DEFAULT
    """The bundled model to serve when ``model_path`` is None (see ``catalog.MODELS``)."""
    model_path: Path | None = None
    """A model file to serve instead: a GGUF (either backend) or a transformers checkpoint
    directory (transformers backend)."""
    model_alias: str | None = None
    """The model id the server reports; None = the bundled model's name or the file's stem."""
    n_ctx: int = Field(default=8192, ge=256)
    """Context window in tokens (prompt + completion)."""
    n_threads: int = Field(default_factory=_default_threads, ge=1)
    """CPU threads; default: the CPUs this process may use."""
    host: Literal["127.0.0.1"] = LOOPBACK
    """Always loopback: the servers have no authentication and must never listen elsewhere."""
    port: int = Field(default=0, ge=0, le=65535)
    """TCP port on 127.0.0.1; 0 = pick a free one."""
    chat_format: str | None = None
    """llama.cpp only: a llama-cpp-python chat format (``chatml``, ``gemma``...); None = the GGUF's
    template (or the bundled model's known format)."""
    startup_timeout: float = Field(default=300.0, gt=0)
    """Seconds to wait for ``GET /v1/models`` (the first transformers start converts the GGUF)."""
    log_path: Path | None = None
    """Where the server's stdout and stderr go; None = a new temporary file."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path | None, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, for error messages."""
    if path is None or not path.exists():
        return "(no log)"
    text = path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:]) or "(empty log)"


def server_command(cfg: LocalServerConfig, port: int) -> tuple[list[str], str]:
    """The server's command line and the model id it will report."""
    modules, hint = _NEEDS[cfg.backend]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise LocalModelError(
            f"the {cfg.backend} backend of the local model is not installed ({missing[0]} is "
            f"missing); run: {hint}"
        )
    if cfg.model_path is None:
        spec = MODELS.get(cfg.model)
        if spec is None:
            raise LocalModelError(f"unknown local model {cfg.model!r} (known: {', '.join(sorted(MODELS))})")
        path = default_model_path(spec.name)  # fetch or find it here: errors say how to install
        alias, chat_format = cfg.model_alias or spec.name, cfg.chat_format or spec.chat_format
        target = spec.name if cfg.backend == "transformers" else str(path)
    else:
        path = Path(cfg.model_path).expanduser()
        if not path.exists():
            raise LocalModelError(f"model file not found: {path}")
        bundled = next((s for s in MODELS.values() if s.filename == path.name), None)
        alias = cfg.model_alias or (bundled.name if bundled else path.stem)
        chat_format = cfg.chat_format or (bundled.chat_format if bundled else None)
        target = str(path.resolve())
    threads, py = str(cfg.n_threads), sys.executable
    if cfg.backend == "transformers":
        cmd = [py, "-m", "swegym.agent.models.hf_server", "--model", target, "--alias", alias,
               "--port", str(port), "--n-ctx", str(cfg.n_ctx), "--threads", threads]  # fmt: skip
        return cmd, alias
    cmd = [py, "-m", "llama_cpp.server", "--model", target, "--model_alias", alias,
           "--host", LOOPBACK, "--port", str(port), "--n_ctx", str(cfg.n_ctx),
           "--n_threads", threads, "--n_threads_batch", threads]  # fmt: skip
    return cmd + (["--chat_format", chat_format] if chat_format else []), alias


class LocalServer:
    """The local model's server process on 127.0.0.1; a context manager::

    with LocalServer(LocalServerConfig(backend="transformers")) as server:
        model = OpenAICompatModel(OpenAIConfig(model=server.model_name, base_url=server.base_url))
    """

    def __init__(self, config: LocalServerConfig | None = None, **overrides: Any) -> None:
        base = config or LocalServerConfig()
        self.config = LocalServerConfig.model_validate({**base.model_dump(), **overrides})
        self.process: subprocess.Popen[bytes] | None = None
        self.port: int | None = None
        self.log_path: Path | None = None
        self._model_name: str | None = None
        self._log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, ``http://127.0.0.1:PORT/v1``."""
        if self.port is None or not self.running:
            raise LocalModelError("the local model server is not started")
        return f"http://{LOOPBACK}:{self.port}/v1"

    @property
    def model_name(self) -> str:
        """The model id the server reports in ``GET /v1/models``."""
        if self._model_name is None:
            raise LocalModelError("the local model server is not started")
        return self._model_name

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process is not None and self.process.poll() is None

    def _open_log(self) -> IO[bytes]:
        if self.config.log_path is not None:
            self.log_path = Path(self.config.log_path)
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        else:
            fd, name = tempfile.mkstemp(prefix=f"swegym-{self.config.backend}-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        return self.log_path.open("wb")

    def start(self) -> LocalServer:
        """Launch the server and wait until it answers; a no-op if it is already running."""
        if self.running:
            return self
        self.stop()  # clean up after a server that died on its own
        port = self.config.port or free_port()
        cmd, _ = server_command(self.config, port)
        self.port, self._log = port, self._open_log()
        self._log.write(("$ " + " ".join(cmd) + "\n").encode())
        self._log.flush()
        self.process = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        atexit.register(self.stop)
        try:
            self._wait_ready(self.config.startup_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{LOOPBACK}:{self.port}/v1/models"
        with httpx.Client(trust_env=False, timeout=2.0) as client:  # no proxy for loopback
            while True:
                assert self.process is not None
                code = self.process.poll()
                if code is not None:
                    raise LocalModelError(
                        f"the local {self.config.backend} server exited with code {code} while "
                        f"starting; log {self.log_path}:\n{log_tail(self.log_path)}"
                    )
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    data = client.get(url).json().get("data") or []
                    if data and isinstance(data[0], dict) and data[0].get("id"):
                        self._model_name = str(data[0]["id"])
                        return
                if time.monotonic() > deadline:
                    raise LocalModelError(
                        f"the local {self.config.backend} server did not answer within {timeout:g} s; "
                        f"log {self.log_path}:\n{log_tail(self.log_path)}"
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

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
