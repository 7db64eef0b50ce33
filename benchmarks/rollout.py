"""Rollout benchmark: environment-side cost per agent step, and scaling from 1 to 2 workers.

* ``env_step_p50_ms``: time of ``SWEEnv.step`` (the tool call included) for a scripted mix of
  CodeAct actions (bash commands, file views, edits), measured by the caller; the baseline is the
  same shell command run with ``subprocess.run`` on the host (no sandbox, no persistent shell).
* ``scaling_2w``: oracle episodes per minute with 2 workers / with 1 worker, same episodes.

Usage: python benchmarks/rollout.py [--json FILE] [--steps N] [--episodes N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from swegym.agent.env import SWEEnv
from swegym.agent.models.base import ToolCall
from swegym.agent.models.scripted import oracle_model
from swegym.rollouts.runner import rollout
from swegym.rollouts.store import RunStore
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task


def pct(values: list[float], q: float) -> float:
    data = sorted(values)
    return data[min(len(data) - 1, int(q * len(data)))]


def action_mix(task: Task) -> list[ToolCall]:
    """A typical exploration step mix: shell commands, file views, an edit and its undo."""
    from swegym.harness.patches import touched_files

    path = f"/testbed/{touched_files(task.patch)[0]}"
    bash = [
        ToolCall(name="execute_bash", arguments={"command": c})
        for c in (
            "echo hi",
            "ls",
            "git status --short",
            "grep -rn 'def ' --include=*.py . | head -n 5",
            "pwd",
        )
    ]
    edit = [
        ToolCall(
            name="str_replace_editor", arguments={"command": "view", "path": path, "view_range": [1, 20]}
        ),
        ToolCall(
            name="str_replace_editor",
            arguments={"command": "insert", "path": path, "insert_line": 0, "new_str": "# probe"},
        ),
        ToolCall(name="str_replace_editor", arguments={"command": "undo_edit", "path": path}),
    ]
    return bash + edit


def bench_steps(task: Task, n: int) -> dict[str, Any]:
    env = SWEEnv()
    env.reset(options={"task": task})
    per_tool: dict[str, list[float]] = {}
    all_ms: list[float] = []
    mix = action_mix(task)
    for _ in range(3):  # warm-up
        env.step(mix[0])
    for i in range(n):
        call = mix[i % len(mix)]
        t0 = time.perf_counter()
        env.step(call)
        ms = (time.perf_counter() - t0) * 1000
        all_ms.append(ms)
        key = call.name if call.name == "execute_bash" else f"editor:{call.arguments['command']}"
        per_tool.setdefault(key, []).append(ms)
    env.close()
    host = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            cmd = ("echo hi", "ls", "pwd")[i % 3]
            t0 = time.perf_counter()
            subprocess.run(["bash", "-c", cmd], cwd=tmp, capture_output=True)
            host.append((time.perf_counter() - t0) * 1000)
    return {
        "env_step_p50_ms": round(pct(all_ms, 0.5), 3),
        "env_step_p95_ms": round(pct(all_ms, 0.95), 3),
        "env_step_per_tool_p50_ms": {k: round(statistics.median(v), 3) for k, v in sorted(per_tool.items())},
        "host_subprocess_p50_ms": round(pct(host, 0.5), 3),
        "steps": n,
    }


def bench_scaling(tasks: list[Task], episodes: int) -> dict[str, Any]:
    k = max(1, episodes // len(tasks))
    out: dict[str, Any] = {"episodes": len(tasks) * k}
    for workers in (1, 2):
        run = Path(tempfile.mkdtemp(prefix=f"bench-{workers}w-"))
        store = RunStore(run)
        t0 = time.perf_counter()
        stats = rollout(tasks, lambda t, s: oracle_model(t), store, k=k, workers=workers)
        secs = time.perf_counter() - t0
        store.close()
        shutil.rmtree(run, ignore_errors=True)
        out[f"episodes_per_min_{workers}w"] = round(stats.ran / secs * 60, 2)
        out[f"seconds_{workers}w"] = round(secs, 2)
        out[f"resolved_{workers}w"] = stats.resolved
    out["scaling_2w"] = round(out["episodes_per_min_2w"] / out["episodes_per_min_1w"], 3)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--episodes", type=int, default=20, help="oracle episodes per scaling measurement")
    args = ap.parse_args()
    tasks = load_tasks("bundled:lite").tasks
    steps = bench_steps(tasks[0], args.steps)
    scaling = bench_scaling(tasks, args.episodes)
    result = {
        **steps,
        **scaling,
        "machine": {
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        },
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    rows = [
        (
            "env_step_p50_ms (SWEEnv.step, tool call included)",
            result["env_step_p50_ms"],
            f"host subprocess.run {result['host_subprocess_p50_ms']}",
        ),
        ("env_step_p95_ms", result["env_step_p95_ms"], "-"),
        *[(f"  {k}", v, "-") for k, v in result["env_step_per_tool_p50_ms"].items()],
        ("episodes/min, 1 worker", result["episodes_per_min_1w"], "-"),
        ("episodes/min, 2 workers", result["episodes_per_min_2w"], "-"),
        ("scaling_2w", result["scaling_2w"], "goal >= 1.8"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'metric':{width}}  {'value':>10}  baseline")
    for name, value, base in rows:
        print(f"{name:{width}}  {value:>10}  {base}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
