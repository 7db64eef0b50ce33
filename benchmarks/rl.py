"""Online-RL throughput: episodes per hour and environment-side seconds per step, through
`swegym serve-env` and against `SWEEnv` in-process, in one run.

Every episode is the same scripted one on a bundled task: reset, ``--steps`` cheap tool calls
(``echo``, a ``view``, a ``grep``), the gold patch applied through bash, then ``finish`` (graded
by the one grading path, reward 1.0). The in-process baseline drives `SWEEnv` (with the same
limit wrappers the server uses) from threads; the server side drives one `swegym serve-env`
subprocess on 127.0.0.1 over WebSocket, with swegym's client and with openenv-core's, at each
concurrency level (modes alternate so that load drifts hit all alike).

Per step (the ``finish`` steps, which grade, are counted apart):
- ``env_step_ms``: the tool call's time inside the environment (in-process: around
  ``env.step``; server: the same, measured in the server and returned as ``step_seconds``);
- ``client_step_ms``: what the client waits (in-process: the same as env_step);
- ``overhead_ms``: client wait minus the server's own env-side time, step by step: what the
  server adds (WebSocket, JSON, validation, the session's thread hop). Its p50 is the figure the
  2 ms target is about; ``unpaired_overhead_ms`` compares p50s of the two sides instead.

    python benchmarks/rl.py [--episodes 12] [--concurrency 1 16] [--steps 10] [--rounds 3] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from swegym.agent.env import EnvConfig, SWEEnv
from swegym.agent.loop import AgentConfig
from swegym.agent.models.scripted import oracle_model
from swegym.agent.wrappers import ContextLimit, TimeLimit, TurnLimit
from swegym.harness.runner import prepare
from swegym.server.client import SWEGymClient
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

ROOT = Path(__file__).resolve().parent.parent
TASK = "tkem__cachetools.5.3.2.compare_op__c08b813b"
Episode = dict[str, Any]  # {"seconds", "steps": [(client_s, env_s, is_finish)], "reward"}


def script(task: Task, extra: int) -> list[dict[str, Any]]:
    cheap: list[dict[str, Any]] = [
        {"name": "execute_bash", "arguments": {"command": "echo step"}},
        {"name": "str_replace_editor", "arguments": {"command": "view", "path": "/testbed"}},
        {"name": "execute_bash", "arguments": {"command": "grep -rn 'def ' /testbed/src | head -n 20"}},
    ]
    gold = [
        {"name": s.name, "arguments": s.arguments} for s in oracle_model(task).steps if not isinstance(s, str)
    ]
    return [cheap[i % len(cheap)] for i in range(extra)] + gold  # gold ends with finish


def inprocess_episode(task: Task, steps: list[dict[str, Any]]) -> Episode:
    agent = AgentConfig(max_turns=len(steps) + 5)
    env: Any = ContextLimit(
        TimeLimit(TurnLimit(SWEEnv(EnvConfig()), agent.max_turns), agent.max_seconds),
        agent.max_context_tokens,
    )
    start = time.perf_counter()
    out: list[tuple[float, float, bool]] = []
    reward = 0.0
    try:
        env.reset(options={"task": task})
        for s in steps:
            t = time.perf_counter()
            _, reward, term, trunc, _ = env.step(s)
            dt = time.perf_counter() - t
            out.append((dt, dt, s["name"] == "finish"))
            if term or trunc:
                break
    finally:
        env.close()
    return {"seconds": time.perf_counter() - start, "steps": out, "reward": float(reward)}


def server_episode(url: str, task: Task, steps: list[dict[str, Any]], client: str) -> Episode:
    start = time.perf_counter()
    out: list[tuple[float, float, bool]] = []
    reward: float | None = 0.0
    if client == "openenv":
        from openenv.core.generic_client import GenericEnvClient

        with GenericEnvClient(base_url=url, message_timeout_s=600).sync() as env:
            env.reset(instance_id=task.instance_id)
            for s in steps:
                t = time.perf_counter()
                r = env.step(s)
                out.append((time.perf_counter() - t, r.observation["step_seconds"], s["name"] == "finish"))
                reward = r.reward
                if r.done:
                    break
    else:
        with SWEGymClient(url) as env2:
            env2.reset(instance_id=task.instance_id)
            for s in steps:
                t = time.perf_counter()
                r2 = env2.step(s["name"], s["arguments"])
                out.append((time.perf_counter() - t, r2.observation["step_seconds"], s["name"] == "finish"))
                reward = r2.reward
                if r2.done:
                    break
    return {"seconds": time.perf_counter() - start, "steps": out, "reward": float(reward or 0.0)}


class Server:
    def __init__(self, sessions: int, max_turns: int) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = Path(tempfile.mkdtemp(prefix="swegym-rl-")) / "server.log"
        cmd = [sys.executable, "-m", "swegym", "serve-env", "--port", str(self.port), "--id", TASK]
        # As many grading slots as sessions: the in-process baseline grades every episode at once
        # too (the server's default bound, by cores, would make this a benchmark of the bound).
        cmd += [
            "--max-sessions",
            str(sessions),
            "--grade-workers",
            str(sessions),
            "--max-turns",
            str(max_turns),
        ]
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        import httpx

        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
            if self.proc.poll() is not None:
                break
        raise SystemExit(f"the server did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(60)


def run_mode(fn: Any, episodes: int, concurrency: int) -> tuple[list[Episode], float]:
    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        eps = list(pool.map(lambda _: fn(), range(episodes)))
    return eps, time.perf_counter() - start


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


def summarize(eps: list[Episode], wall: float, concurrency: int) -> dict[str, Any]:
    steps = [s for e in eps for s in e["steps"] if not s[2]]
    finish = [s for e in eps for s in e["steps"] if s[2]]
    over = [(c - e) * 1000 for c, e, _ in steps]
    return {
        "concurrency": concurrency,
        "episodes": len(eps),
        "resolved": sum(e["reward"] == 1.0 for e in eps),
        "wall_s": round(wall, 2),
        "episodes_per_hour": round(len(eps) / wall * 3600, 1),
        "steps": len(steps),
        "env_step_ms_p50": round(pct([e * 1000 for _, e, _ in steps], 0.5), 3),
        "env_step_ms_p95": round(pct([e * 1000 for _, e, _ in steps], 0.95), 3),
        "client_step_ms_p50": round(pct([c * 1000 for c, _, _ in steps], 0.5), 3),
        "client_step_ms_p95": round(pct([c * 1000 for c, _, _ in steps], 0.95), 3),
        "overhead_ms_p50": round(pct(over, 0.5), 3),
        "overhead_ms_p95": round(pct(over, 0.95), 3),
        "finish_s_p50": round(pct([c for c, _, _ in finish], 0.5), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--episodes",
        type=int,
        default=12,
        help="Episodes per mode and level (at least the concurrency per round).",
    )
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    ap.add_argument("--steps", type=int, default=10, help="Cheap tool calls before the gold patch.")
    ap.add_argument("--rounds", type=int, default=3, help="Rounds alternating the modes.")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "rl.json")
    args = ap.parse_args()

    task = load_tasks("bundled:lite", ids=[TASK]).tasks[0]
    prepare(task)
    steps = script(task, args.steps)
    server = Server(max(args.concurrency), len(steps) + 5)
    modes = {
        "in-process SWEEnv": lambda: inprocess_episode(task, steps),
        "server (swegym client)": lambda: server_episode(server.url, task, steps, "swegym"),
        "server (openenv client)": lambda: server_episode(server.url, task, steps, "openenv"),
    }
    results: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    try:
        for fn in modes.values():  # warm-up: imports, caches, first connections
            fn()
        for c in args.concurrency:
            # Rounds alternate the modes, so that the machine's load drifts hit all of them alike.
            raw: dict[str, tuple[list[Episode], float]] = {m: ([], 0.0) for m in modes}
            per_round = max(c, args.episodes // args.rounds)
            for _ in range(args.rounds):
                for name, fn in modes.items():
                    eps, wall = run_mode(fn, per_round, c)
                    raw[name] = (raw[name][0] + eps, raw[name][1] + wall)
            for name, (eps, wall) in raw.items():
                results[name].append(summarize(eps, wall, c))
                print(f"{name} x{c}: {results[name][-1]}", flush=True)
    finally:
        server.stop()
    report(results, args, steps)


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace, steps: list[Any]) -> None:
    base = {r["concurrency"]: r for r in results["in-process SWEEnv"]}
    for rows in results.values():
        for r in rows:
            r["unpaired_overhead_ms"] = round(
                r["client_step_ms_p50"] - base[r["concurrency"]]["env_step_ms_p50"], 3
            )
    table = Table(title="swegym online-RL throughput (server vs in-process SWEEnv)")
    cols = [
        "mode",
        "conc",
        "episodes/h",
        "env step p50 ms",
        "client step p50 ms",
        "overhead p50 ms",
        "overhead p95 ms",
        "unpaired p50 ms",
        "finish p50 s",
        "resolved",
    ]
    for col in cols:
        table.add_column(col, justify="left" if col == "mode" else "right")
    for name, rows in results.items():
        for r in rows:
            table.add_row(
                name,
                str(r["concurrency"]),
                f"{r['episodes_per_hour']:,.0f}",
                f"{r['env_step_ms_p50']:.2f}",
                f"{r['client_step_ms_p50']:.2f}",
                f"{r['overhead_ms_p50']:.2f}",
                f"{r['overhead_ms_p95']:.2f}",
                f"{r['unpaired_overhead_ms']:.2f}",
                f"{r['finish_s_p50']:.2f}",
                f"{r['resolved']}/{r['episodes']}",
            )
    Console(width=200).print(table)
    overhead = {
        f"{name} x{r['concurrency']}": r["overhead_ms_p50"]
        for name, rows in results.items()
        if name != "in-process SWEEnv"
        for r in rows
    }
    by_level = {
        c: max(v for k, v in overhead.items() if k.endswith(f" x{c}"))
        for c in sorted({r["concurrency"] for rows in results.values() for r in rows})
    }
    out = {
        "benchmark": "rl",
        "task": TASK,
        "steps_per_episode": len(steps),
        "rounds": args.rounds,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "load_avg_1m": os.getloadavg()[0],
        "results": results,
        "server_overhead_ms_p50": overhead,
        "target_overhead_ms_p50": 2.0,
        "meets_target_by_concurrency": {str(c): v <= 2.0 for c, v in by_level.items()},
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    for c, v in by_level.items():
        print(f"server overhead per step, p50, worst client, {c} sessions: {v:.2f} ms (target <= 2 ms)")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
