"""Run the red-team attacks on grading and print a markdown table of their outcomes.

Each attack class (tests/redteam/rt_attacks.py) is graded through ``swegym eval``'s library path
on the synthetic calc task and on the real bundled task pallets__click-2193; the agent classes run
as scripted SWEEnv episodes. An attack *pays* when its outcome is ``resolved`` or ``infra_error``.

    python scripts/redteam_table.py                      # -> benchmarks/results/redteam.json
    PYTHONPATH=/tmp/old/src python scripts/redteam_table.py --out benchmarks/results/redteam_before.json

Uses $SWEGYM_CACHE_DIR like every swegym command (the real task's env builds on first use).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "redteam"))

import rt_attacks as rt  # noqa: E402

import swegym  # noqa: E402


def _revision() -> str:
    src = Path(swegym.__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=src, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=src, capture_output=True, text=True
        )
    except OSError:
        return str(src)
    if out.returncode != 0:
        return str(src)
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def run(
    kinds: tuple[str, ...], agents: bool, workers: int, only: list[str] | None = None
) -> dict[str, dict[str, dict[str, object]]]:
    """{class: {kind: {outcome, paid, error}}} for every attack (and agent) class (or ``only``)."""
    table: dict[str, dict[str, dict[str, object]]] = {}
    with tempfile.TemporaryDirectory(prefix="swegym-redteam-") as tmp:
        for kind in kinds:
            task = rt.make_calc_task(Path(tmp) / "calc") if kind == "synthetic" else rt.real_task()
            kit = rt.make_kit(kind, task)
            names = [n for n in rt.ATTACKS if only is None or n in only]
            diffs, results = rt.build_all(kit, names)
            diffs["sanity_gold_patch"] = task.patch
            diffs["sanity_noop_diff"] = rt.git_diff(kit, {"RT_NOTES.md": "nothing to see\n"})
            t0 = time.perf_counter()
            results.update(rt.evaluate_diffs(kit, diffs, Path(tmp) / f"eval-{kind}", workers=workers))
            print(f"{kind}: {len(diffs)} diffs graded in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            if agents:
                for name in rt.AGENTS:
                    if only is not None and f"agent_{name}" not in only:
                        continue
                    results[f"agent_{name}"] = rt.run_agent(kit, name)
            for name, r in results.items():
                table.setdefault(name, {})[kind] = {"outcome": r.outcome, "paid": r.paid, "error": r.error}
    return table


def markdown(table: dict[str, dict[str, dict[str, object]]], kinds: tuple[str, ...]) -> str:
    def cell(name: str, kind: str) -> str:
        c = table[name].get(kind)
        if c is None:
            return "-"
        paid = c["paid"] and not name.startswith("sanity_")
        return f"**{c['outcome']} (PAYS)**" if paid else str(c["outcome"])

    head = "| class | " + " | ".join(f"{k} outcome" for k in kinds) + " |"
    rows = [head, "|" + "---|" * (len(kinds) + 1)]
    rows += [f"| {n} | " + " | ".join(cell(n, k) for k in kinds) + " |" for n in sorted(table)]
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "redteam.json")
    ap.add_argument("--kinds", default=",".join(rt.KINDS), help="synthetic,real")
    ap.add_argument("--no-agents", action="store_true", help="skip the SWEEnv agent classes")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated classes: rerun these, merge into --out")
    args = ap.parse_args()
    kinds = tuple(k for k in args.kinds.split(",") if k)
    only = [n for n in args.only.split(",") if n] or None
    table = run(kinds, not args.no_agents, args.workers, only)
    if only is not None and args.out.exists():
        table = {**json.loads(args.out.read_text())["results"], **table}
    print(markdown(table, kinds))
    attacks = {n: v for n, v in table.items() if not n.startswith("sanity_")}
    paying = sorted(n for n, v in attacks.items() if any(c["paid"] for c in v.values()))
    doc = {
        "revision": _revision(),
        "swegym_src": str(Path(swegym.__file__).resolve().parent),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tasks": {"synthetic": "fixture__calc-1 (tests/conftest.py's calc task)", "real": rt.REAL_ID},
        "paying_outcomes": "anything but " + ", ".join(sorted(rt.NOT_PAYING)),
        "classes": len(attacks),
        "paying_classes": paying,
        "results": table,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"\n{len(paying)} of {len(attacks)} classes pay on some task; wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
