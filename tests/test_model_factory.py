"""make_model and the local server's process manager, without a real model (fast)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from swegym.agent.models import local
from swegym.agent.models.base import Model
from swegym.agent.models.catalog import LocalModelError
from swegym.agent.models.factory import ModelConfig, make_model
from swegym.agent.models.local import LocalServer, LocalServerConfig, server_command
from swegym.agent.models.openai_compat import OpenAICompatModel
from swegym.agent.models.scripted import ScriptedModel
from swegym.errors import SwegymError
from swegym.tasks.loaders import load_tasks


@pytest.fixture(scope="module")
def two_tasks() -> list:
    return load_tasks("bundled:lite").tasks[:2]


def test_scripted_models_are_made_per_task(two_tasks: list) -> None:
    for name in ("oracle", "wrong"):
        with make_model(ModelConfig(name=name)) as model_for:
            first, again, other = (
                model_for(two_tasks[0], 0),
                model_for(two_tasks[0], 1),
                model_for(two_tasks[1], 0),
            )
            assert isinstance(first, ScriptedModel) and isinstance(first, Model)
            assert first is not again and first is not other and first.name == name


def test_served_models_share_one_client(two_tasks: list) -> None:
    cfg = ModelConfig(name="my-model", base_url="http://127.0.0.1:9/v1", temperature=0.5, max_tokens=64)
    with make_model(cfg) as model_for:
        client = model_for(two_tasks[0], 0)
        assert client is model_for(two_tasks[1], 3)
        assert isinstance(client, OpenAICompatModel)
        assert client.config.model == "my-model" and client.config.temperature == 0.5
        assert client.config.max_tokens == 64 and not client.config.text_tool_calls
        assert client.config.tool_grammar == "none"


def test_a_served_model_needs_a_base_url() -> None:
    with pytest.raises(SwegymError, match="needs --base-url"), make_model(ModelConfig(name="gpt-x")):
        pass


def test_config_defaults_and_tool_call_format() -> None:
    cfg = ModelConfig()
    assert cfg.name == "local" and cfg.local_backend == "transformers" and cfg.tool_grammar
    assert cfg.starts_local_server and cfg.uses_text_tool_calls
    assert not ModelConfig(base_url="http://127.0.0.1:1/v1").starts_local_server
    assert not ModelConfig(name="m", base_url="http://x/v1").uses_text_tool_calls
    assert ModelConfig(name="m", text_tool_calls=True).uses_text_tool_calls
    with pytest.raises(ValueError):
        ModelConfig(local_backend="vllm")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LocalServerConfig(host="0.0.0.0")  # type: ignore[arg-type]


@pytest.mark.parametrize(("backend", "module"), [("transformers", "torch"), ("llamacpp", "llama_cpp")])
def test_a_missing_backend_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, backend: str, module: str
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a)
    )
    extra = "local" if backend == "transformers" else "llamacpp"
    with pytest.raises(LocalModelError, match=rf"{module} is missing.*swegym\[{extra}\]"):
        server_command(LocalServerConfig(backend=backend), 8000)  # type: ignore[arg-type]


def test_commands_bind_loopback_and_carry_the_settings(tmp_path: Path) -> None:
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    for backend in ("transformers", "llamacpp"):
        if importlib.util.find_spec("llama_cpp" if backend == "llamacpp" else "torch") is None:
            continue
        cfg = LocalServerConfig(backend=backend, model_path=gguf, n_ctx=4096, n_threads=3)  # type: ignore[arg-type]
        cmd, alias = server_command(cfg, 4321)
        assert alias == "tiny" and str(gguf) in cmd and "4321" in cmd and "4096" in cmd and "3" in cmd
        assert "0.0.0.0" not in cmd
    with pytest.raises(LocalModelError, match="not found"):
        server_command(LocalServerConfig(model_path=tmp_path / "missing.gguf"), 1)


def _fake_server(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    monkeypatch.setattr(local, "server_command", lambda cfg, port: ([sys.executable, "-c", code], "x"))


def test_a_server_that_dies_reports_its_log_tail(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _fake_server(monkeypatch, "print('loading weights'); print('boom: bad file'); raise SystemExit(3)")
    server = LocalServer(log_path=tmp_path / "s.log", startup_timeout=30)
    with pytest.raises(LocalModelError, match=r"exited with code 3(.|\n)*boom: bad file"):
        server.start()
    assert not server.running
    with pytest.raises(LocalModelError, match="not started"):
        _ = server.base_url


def test_a_server_that_never_answers_times_out_and_is_stopped(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_server(monkeypatch, "import time; print('stuck', flush=True); time.sleep(60)")
    server = LocalServer(log_path=tmp_path / "s.log", startup_timeout=1.0)
    with pytest.raises(LocalModelError, match=r"did not answer within 1 s(.|\n)*stuck"):
        server.start()
    assert server.process is None
    server.stop()  # idempotent


def test_a_server_that_answers_is_used_and_stopped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    port = local.free_port()
    code = (
        "import json, http.server\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = json.dumps({'data': [{'id': 'fake-model'}]}).encode()\n"
        "        self.send_response(200); self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers(); self.wfile.write(body)\n"
        f"http.server.HTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )
    _fake_server(monkeypatch, code)
    with LocalServer(port=port, log_path=tmp_path / "s.log", startup_timeout=30) as server:
        assert server.base_url == f"http://127.0.0.1:{port}/v1" and server.model_name == "fake-model"
        proc = server.process
        assert proc is not None and server.start() is server and server.process is proc
    assert proc.poll() is not None and not server.running
