"""Scaling out: the same validation and oracle-rollout units on the local pool, Ray with one node
and Ray with two nodes (one CPU each, simulated on this machine), in one run.

Each unit is what the batch commands run (``validate_task`` for one task; ``run_episode`` with
the oracle model for one episode), handed to the executor exactly as ``run_batch`` and
``rollout`` hand it. For every unit the driver measures its turnaround (handed to the executor ->
result back) and the unit measures its own run time; the difference is the executor's overhead
per unit (scheduling, shipping the function and the task, the result's way back, a worker's
start). Throughput is units per second of wall time. The baseline is the local pool with one
worker, the same CPU count as one node, measured in the same run.

    python benchmarks/scale.py                      # 8 bundled:lite tasks, 1 oracle episode each
    python benchmarks/scale.py --tasks 12 --json benchmarks/results/scale.json

All nodes use the same, already warm swegym cache (the "shared path" set-up of docs/scale.md), so
environment builds are not timed; the nodes listen on 127.0.0.1 and stop at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swegym.agent.loop import run_episode
from swegym.agent.models.scripted import oracle_model
from swegym.config import cache_dir
from swegym.executors import Executor, LocalExecutor, UnitResources, env_group
from swegym.executors.cluster import LocalCluster
from swegym.executors.ray_executor import RayExecutor
from swegym.harness.validate import validate_task
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

ROOT = Path(__file__).resolve().parent.parent
# Short-running bundled:lite tasks from three repositories (environments already in the cache).
DEFAULT_REPOS = ("pallets/click", "tkem/cachetools", "pallets/jinja")


@dataclass
class Timed:
    """A unit's result with its own run time (measured where it ran)."""

    ok: bool
    seconds: float


def _validate_unit(task: Task) -> Timed:
    start = time.perf_counter()
    res = validate_task(task, runs=1, date_check=False)
    return Timed(res.status == "valid", time.perf_counter() - start)


def _episode_unit(task: Task) -> Timed:
    start = time.perf_counter()
    res = run_episode(task, oracle_model(task), sample=0)
    return Timed(bool(res.resolved), time.perf_counter() - start)


def measure(ex: Executor, fn: Callable[[Task], Timed], tasks: list[Task], workers: int) -> dict[str, Any]:
    """Wall time, throughput, unit times and per-unit overhead of ``fn`` over ``tasks`` on ``ex``."""
    handed: dict[str, float] = {}

    def on_start(task: Task) -> None:
        handed[task.instance_id] = time.perf_counter()

    def unit(task: Task) -> tuple[str, Timed]:
        return task.instance_id, fn(task)

    start = time.perf_counter()
    units, overheads = [], []
    for iid, timed in ex.map(unit, tasks, workers=workers, group=env_group, on_start=on_start):
        turnaround = time.perf_counter() - handed[iid]
        units.append(timed)
        overheads.append(max(0.0, turnaround - timed.seconds))
    wall = time.perf_counter() - start
    med_unit = statistics.median(u.seconds for u in units)
    med_over = statistics.median(overheads)
    return {
        "units": len(units),
        "ok": sum(u.ok for u in units),
        "wall_s": round(wall, 2),
        "throughput_per_min": round(60 * len(units) / wall, 2),
        "median_unit_s": round(med_unit, 3),
        "sum_unit_s": round(sum(u.seconds for u in units), 2),
        "median_overhead_s": round(med_over, 4),
        "mean_overhead_s": round(statistics.fmean(overheads), 4),
        "max_overhead_s": round(max(overheads), 4),
        "overhead_pct_of_median_unit": round(100 * med_over / med_unit, 2),
    }


def pick_tasks(n: int) -> list[Task]:
    rows = [t for t in load_tasks("bundled:lite").tasks if t.repo in DEFAULT_REPOS]
    return rows[:n]


def run(n: int, out: Path | None) -> dict[str, Any]:
    tasks = pick_tasks(n)
    shared = str(cache_dir())  # every node uses the warm cache: builds are not what is timed
    load_before = os.getloadavg()
    res: dict[str, Any] = {"tasks": [t.instance_id for t in tasks], "configs": {}}
    small = UnitResources(memory_mb=512)
    for name, nodes in (("local_pool_1_worker", 0), ("ray_1_node", 1), ("ray_2_nodes", 2)):
        print(f"[scale] {name} ...", flush=True)
        if not nodes:
            ex: Executor = LocalExecutor()
            res["configs"][name] = {
                "validate": measure(ex, _validate_unit, tasks, workers=1),
                "rollout": measure(ex, _episode_unit, tasks, workers=1),
            }
            continue
        with (
            tempfile.TemporaryDirectory(prefix="swegym-scale-", dir="/tmp") as tmp,
            LocalCluster(Path(tmp)) as c,
        ):
            for _ in range(nodes):
                c.add_node(cpus=1, cache_dir=Path(shared))
            ray_ex = RayExecutor(address=c.address, resources=small)
            try:
                # One unit per node first, so that worker start-up is counted once, below, and
                # the table shows steady state; the cold start is reported on its own.
                cold = measure(ray_ex, _episode_unit, tasks[:nodes], workers=nodes)
                res["configs"][name] = {
                    "cold_start_overhead_s": cold["max_overhead_s"],
                    "validate": measure(ray_ex, _validate_unit, tasks, workers=nodes),
                    "rollout": measure(ray_ex, _episode_unit, tasks, workers=nodes),
                }
            finally:
                ray_ex.close()
    cfg = res["configs"]
    for kind in ("validate", "rollout"):
        one, two = cfg["ray_1_node"][kind], cfg["ray_2_nodes"][kind]
        res[f"{kind}_scaling_2_vs_1_node"] = round(two["throughput_per_min"] / one["throughput_per_min"], 3)
        local = cfg["local_pool_1_worker"][kind]
        # Not an overhead figure: the unit times themselves move with this machine's load.
        res[f"{kind}_ray_1_node_vs_local_throughput"] = round(
            one["throughput_per_min"] / local["throughput_per_min"], 3
        )
        res[f"{kind}_ray_overhead_pct"] = max(
            cfg["ray_1_node"][kind]["overhead_pct_of_median_unit"],
            cfg["ray_2_nodes"][kind]["overhead_pct_of_median_unit"],
        )
    res["targets"] = {"overhead_pct_max": 5.0, "scaling_min": 1.8}
    res["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    res["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print_table(res)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=2) + "\n")
        print(f"wrote {out}")
    return res


def print_table(res: dict[str, Any]) -> None:
    head = f"{'config':22} {'kind':9} {'units':>5} {'wall s':>8} {'units/min':>9} {'med unit s':>10} "
    print(head + f"{'med overhead s':>14} {'overhead %':>10}")
    for name, cfg in res["configs"].items():
        for kind in ("validate", "rollout"):
            m = cfg[kind]
            print(
                f"{name:22} {kind:9} {m['units']:>5} {m['wall_s']:>8} {m['throughput_per_min']:>9} "
                f"{m['median_unit_s']:>10} {m['median_overhead_s']:>14} "
                f"{m['overhead_pct_of_median_unit']:>10}"
            )
    for kind in ("validate", "rollout"):
        print(
            f"{kind}: 2 nodes / 1 node throughput {res[f'{kind}_scaling_2_vs_1_node']}x (target >= 1.8); "
            f"Ray overhead {res[f'{kind}_ray_overhead_pct']}% of the median unit (target <= 5); "
            f"1 node / local pool {res[f'{kind}_ray_1_node_vs_local_throughput']}x"
        )
    print(
        f"load average before/after: {res['machine']['loadavg_before']} / {res['machine']['loadavg_after']}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tasks", type=int, default=8, help="bundled:lite tasks (click, cachetools, jinja)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "scale.json")
    args = ap.parse_args()
    run(args.tasks, args.json)


if __name__ == "__main__":
    main()
