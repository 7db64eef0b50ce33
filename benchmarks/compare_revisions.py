"""Run one benchmark script from two source trees, alternately, and compare their figures.

For "no behaviour change" claims: the same machine, the same run, rounds interleaved (A, B, A,
B...) so that load drifts hit both sides alike; the table gives each numeric figure's median per
side and the ratio after/before. Make the "before" tree with ``git worktree add /tmp/before REV``.

    python benchmarks/compare_revisions.py --before /tmp/before --script rollout.py \\
        --rounds 2 --json benchmarks/results/redesign_rollout.json -- --steps 300 --episodes 16
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run_once(tree: Path, script: str, args: list[str]) -> dict[str, Any]:
    """The JSON figures of ``tree/benchmarks/script`` run against ``tree/src``."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    cmd = [sys.executable, str(tree / "benchmarks" / script), *args, "--json", str(out)]
    subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    try:
        return dict(json.loads(out.read_text()))
    finally:
        out.unlink(missing_ok=True)


def numbers(figures: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Every numeric figure, nested keys joined with '.' (booleans and bookkeeping left out)."""
    flat: dict[str, float] = {}
    for key, value in figures.items():
        if key in ("machine", "n", "timestamp"):
            continue
        if isinstance(value, dict):
            flat.update(numbers(value, f"{prefix}{key}."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[prefix + key] = float(value)
    return flat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--before", type=Path, required=True, help="the source tree to compare against")
    ap.add_argument("--after", type=Path, default=ROOT, help="default: this checkout")
    ap.add_argument("--script", required=True, help="a script under benchmarks/, e.g. rollout.py")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("args", nargs="*", help="arguments for the script (after --)")
    a = ap.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for i in range(a.rounds):
        for side, tree in (("before", a.before), ("after", a.after)):
            print(f"round {i + 1}/{a.rounds}: {side} ({tree})", file=sys.stderr, flush=True)
            runs[side].append(numbers(run_once(tree, a.script, a.args)))
    keys = [k for k in runs["after"][0] if all(k in r for rs in runs.values() for r in rs)]
    rows = []
    for k in keys:
        b = statistics.median(r[k] for r in runs["before"])
        f = statistics.median(r[k] for r in runs["after"])
        rows.append({"figure": k, "before": b, "after": f, "ratio": f / b if b else None})
    width = max(len(r["figure"]) for r in rows)
    print(f"{'figure':<{width}}  {'before':>12}  {'after':>12}  {'after/before':>12}")
    for r in rows:
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.3f}"
        print(f"{r['figure']:<{width}}  {r['before']:>12.4g}  {r['after']:>12.4g}  {ratio:>12}")
    if a.json:
        blob = {"script": a.script, "args": a.args, "rounds": a.rounds, "rows": rows, "runs": runs}
        a.json.write_text(json.dumps(blob, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
