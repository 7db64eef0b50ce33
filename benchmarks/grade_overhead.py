"""What the grading defences cost: gold patches graded by this tree and by a tree without them.

"Defences off" is the last revision before the reward-integrity work (``--baseline``, default
``a995ecd``), exported with ``git archive`` into a temporary directory. Both trees grade the same
tasks' gold patches in fresh sandboxes, in alternating rounds (this tree, baseline, this tree...)
so that load drifts hit both alike; each grading runs in its own worker process importing only
its tree's ``src``. ``grade_overhead_pct`` is the ratio of the summed per-task medians, minus 1.

    python benchmarks/grade_overhead.py [--tasks 6] [--rounds 3] [--json FILE]

Also called by ``benchmarks/sandbox.py`` (figure ``grade_overhead_pct``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = "a995ecd"

# Runs under one tree's src (PYTHONPATH); argv: instance ids. Prints {id: seconds} as JSON.
WORKER = r"""
import json, sys, time
from swegym.harness.runner import prepare, run_tests
from swegym.tasks.loaders import load_tasks
want = set(sys.argv[1:])
out = {}
for task in load_tasks("bundled:full").tasks:
    if task.instance_id not in want:
        continue
    prep = prepare(task)
    start = time.perf_counter()
    run = run_tests(prep, task.patch)
    seconds = time.perf_counter() - start
    ok = bool(run.status) and not run.error and not getattr(run, "tampered", None)
    out[task.instance_id] = {"seconds": seconds, "ok": ok, "tests": len(run.status)}
print(json.dumps(out))
"""


def export_tree(rev: str, dest: Path) -> Path:
    """``rev`` of this repository, unpacked under ``dest`` (no worktree, no checkout)."""
    data = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def pick_tasks(n: int) -> list[str]:
    """``n`` bundled:lite tasks spread over the projects (round robin by repository)."""
    sys.path.insert(0, str(ROOT / "src"))
    from swegym.tasks.loaders import load_tasks
    from swegym.tasks.select import round_robin_by_repo

    return [t.instance_id for t in round_robin_by_repo(load_tasks("bundled:lite").tasks, n)]


def grade_once(src: Path, ids: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, *ids], env=env, check=True, capture_output=True, text=True
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def measure(n_tasks: int = 6, rounds: int = 3, baseline: str = BASELINE) -> dict[str, Any]:
    """Per-task median grading seconds on both trees and ``grade_overhead_pct``."""
    ids = pick_tasks(n_tasks)
    runs: dict[str, list[dict[str, Any]]] = {"defences_on": [], "defences_off": []}
    with tempfile.TemporaryDirectory(prefix="swegym-baseline-") as tmp:
        base_src = export_tree(baseline, Path(tmp)) / "src"
        grade_once(ROOT / "src", ids)  # warm-up: environments built, caches filled
        grade_once(base_src, ids)
        for _ in range(rounds):
            runs["defences_on"].append(grade_once(ROOT / "src", ids))
            runs["defences_off"].append(grade_once(base_src, ids))
    per_task: dict[str, dict[str, float]] = {}
    for tid in ids:
        on = statistics.median(r[tid]["seconds"] for r in runs["defences_on"])
        off = statistics.median(r[tid]["seconds"] for r in runs["defences_off"])
        per_task[tid] = {"on_s": round(on, 3), "off_s": round(off, 3), "ratio": round(on / off, 3)}
    total_on = sum(v["on_s"] for v in per_task.values())
    total_off = sum(v["off_s"] for v in per_task.values())
    gold_ok = all(r[tid]["ok"] for r in runs["defences_on"] for tid in ids)
    return {
        "grade_overhead_pct": round(100 * (total_on / total_off - 1), 1),
        "grade_on_s_per_task": round(total_on / len(ids), 3),
        "grade_off_s_per_task": round(total_off / len(ids), 3),
        "grade_gold_ok_with_defences": gold_ok,
        "grade_baseline": baseline,
        "grade_rounds": rounds,
        "grade_per_task": per_task,
    }


def print_table(m: dict[str, Any]) -> None:
    print(f"{'task':60} {'on s':>7} {'off s':>7} {'ratio':>6}")
    for tid, v in m["grade_per_task"].items():
        print(f"{tid:60} {v['on_s']:7.2f} {v['off_s']:7.2f} {v['ratio']:6.2f}")
    print(
        f"grade_overhead_pct = {m['grade_overhead_pct']} (baseline {m['grade_baseline']}, gold ok: "
        f"{m['grade_gold_ok_with_defences']})"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--tasks", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", default=BASELINE, help="revision without the defences")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    m = measure(args.tasks, args.rounds, args.baseline)
    print_table(m)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
