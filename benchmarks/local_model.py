"""The built-in local model's two server stacks, end to end: install time and speed at real prompts.

For each backend (``transformers``: swegym's server on torch; ``llamacpp``: llama-cpp-python's
server), with the bundled SmolLM2-135M-Instruct, through the HTTP API (so HTTP/JSON overhead counts):

* ``startup_s``: start the server until it answers ``/v1/models``;
* ``prompt_tps``: prompt processing of the main job's real first prompt (system prompt + the text
  tool descriptions + a bundled task's issue) grown to ~3.5k tokens with two earlier turns of real
  file contents, cold (a unique tag at its start defeats any prefix cache);
* ``gen_tps``: generation of up to 128 free tokens after that prompt, already cached;
* ``episode_s``: a 3-turn episode with the tool grammar (as ``swegym rollout --model local`` sends
  it), each turn adding a ~300-token observation; ``parsed`` = replies that parse as a tool call.

``--install`` also times what each stack costs to install on top of swegym: a fresh venv with the
transformers stack (torch, transformers, gguf, no pip cache), and the llama-cpp-python source build
(``pip wheel --no-deps``, ``CMAKE_ARGS="-DGGML_NATIVE=OFF"``, no pip cache). Both are slow.

Usage: python benchmarks/local_model.py [--backends transformers,llamacpp] [--install]
       [--json benchmarks/results/local_model.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from swegym.agent.models.local import LocalServer
from swegym.agent.models.toolgrammar import tools_gbnf
from swegym.agent.prompts import SYSTEM_PROMPT, task_prompt
from swegym.agent.schemas import TOOLS
from swegym.agent.textcalls import describe_tools, parse_text_tool_calls
from swegym.tasks.loaders import load_tasks

TARGET_PROMPT_CHARS = 10_000  # ~3.5k tokens of this mix for SmolLM2's tokenizer
LLAMACPP = "llama-cpp-python[server]==0.3.36"
HF_STACK = ["torch==2.13.0", "transformers>=5.0,<6", "gguf>=0.10"]


def real_prompt() -> list[dict[str, str]]:
    """System + tools + the longest bundled lite issue, then earlier turns showing real code."""
    tasks = load_tasks("bundled:lite").tasks
    task = max(tasks, key=lambda t: len(task_prompt(t)))
    system = SYSTEM_PROMPT + "\n\n" + describe_tools(TOOLS)
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": task_prompt(task)}]
    code = "\n".join(t.patch + t.test_patch for t in tasks)
    while sum(len(m["content"]) for m in msgs) < TARGET_PROMPT_CHARS:
        call = "<function=execute_bash>\n<parameter=command>git log -p | head -80</parameter>\n</function>"
        need = TARGET_PROMPT_CHARS - sum(len(m["content"]) for m in msgs)
        start = len(msgs) * 997 % max(1, len(code) - need)
        obs = code[start : start + min(need, 4000)]
        msgs += [
            {"role": "assistant", "content": call},
            {"role": "user", "content": f"EXECUTION RESULT:\n{obs}"},
        ]
    return msgs


def _post(client: httpx.Client, server: LocalServer, body: dict[str, Any]) -> tuple[dict[str, Any], float]:
    t0 = time.perf_counter()
    resp = client.post(f"{server.base_url}/chat/completions", json={"model": server.model_name, **body})
    resp.raise_for_status()
    return resp.json(), time.perf_counter() - t0


def grammar_field(backend: str) -> dict[str, Any]:
    """The request field that constrains replies to one tool call, per backend."""
    return {"grammar": tools_gbnf(TOOLS)} if backend == "llamacpp" else {"swegym_tool_grammar": TOOLS}


def measure(backend: str, max_tokens: int) -> dict[str, Any]:
    """Start ``backend``'s server and time prompt processing, generation and a 3-turn episode."""
    t0 = time.perf_counter()
    with (
        LocalServer(backend=backend, n_ctx=8192) as server,
        httpx.Client(trust_env=False, timeout=900) as client,
    ):  # type: ignore[arg-type]
        out: dict[str, Any] = {"backend": backend, "startup_s": round(time.perf_counter() - t0, 2)}
        msgs = real_prompt()
        tagged = [{**msgs[0], "content": f"[{time.time_ns()}] " + msgs[0]["content"]}, *msgs[1:]]
        first, secs = _post(client, server, {"messages": tagged, "max_tokens": 1, "temperature": 0})
        n = first["usage"]["prompt_tokens"]
        out.update(prompt_tokens=n, prompt_s=round(secs, 2), prompt_tps=round(n / secs, 1))
        gen, secs = _post(client, server, {"messages": tagged, "max_tokens": 128, "temperature": 0})
        k = gen["usage"]["completion_tokens"]
        out.update(gen_tokens=k, gen_s=round(secs, 2), gen_tps=round(k / secs, 1))
        out.update(episode(client, server, msgs, backend, max_tokens))
    return out


def episode(
    client: httpx.Client, server: LocalServer, msgs: list[dict[str, str]], backend: str, max_tokens: int
) -> dict[str, Any]:
    """Three constrained turns, as the agent loop sends them; time and parse share."""
    msgs = [msgs[0], msgs[1]]  # the real first prompt of an episode (~1.5k tokens)
    obs = "EXECUTION RESULT of [execute_bash]:\n" + "\n".join(f"src/module_{i}.py" for i in range(60))
    parsed, t0, tokens = 0, time.perf_counter(), []
    for turn in range(3):
        body = {"messages": msgs, "max_tokens": max_tokens, "temperature": 0.5, "seed": turn}
        answer, _ = _post(client, server, {**body, **grammar_field(backend)})
        text = answer["choices"][0]["message"]["content"]
        parsed += bool(parse_text_tool_calls(text))
        tokens.append(answer["usage"]["prompt_tokens"])
        msgs = [*msgs, {"role": "assistant", "content": text}, {"role": "user", "content": obs}]
    return {
        "episode_s": round(time.perf_counter() - t0, 2),
        "episode_prompt_tokens": tokens,
        "parsed": f"{parsed}/3",
    }


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return round(time.perf_counter() - t0, 1)


def install_times() -> dict[str, float]:
    """Seconds to install each stack from the package index with no pip cache (slow: minutes)."""
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "CMAKE_ARGS": "-DGGML_NATIVE=OFF"}
    with tempfile.TemporaryDirectory(prefix="swegym-bench-install-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        hf = _timed([*pip, *HF_STACK], env)
        build = _timed([*pip, "--no-deps", LLAMACPP.split("[")[0] + "==0.3.36"], env)
    return {"transformers_stack_install_s": hf, "llamacpp_build_s": build}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="transformers,llamacpp")
    parser.add_argument("--max-tokens", type=int, default=48, help="per reply in the episode")
    parser.add_argument("--install", action="store_true", help="also time both installs (minutes)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/local_model.json"))
    args = parser.parse_args()
    rows = [measure(b, args.max_tokens) for b in args.backends.split(",")]
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load": os.getloadavg()},
        "model": "smollm2-135m-instruct",
        "backends": rows,
    }
    if args.install:
        result["install"] = install_times()
    cols = ["backend", "startup_s", "prompt_tokens", "prompt_tps", "gen_tps", "episode_s", "parsed"]
    print(" | ".join(f"{c:>13}" for c in cols))
    for row in rows:
        print(" | ".join(f"{row[c]!s:>13}" for c in cols))
    if "install" in result:
        print(json.dumps(result["install"]))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
