"""Per-project figures of a bug-synthesis build (`datasets/synth/build.py OUT`): a table and JSON.

Usage: python benchmarks/synth_report.py OUT [--json benchmarks/results/synth.json]

Reads each project's ``summary.json`` (tried, verdicts, kept, validated, seconds) and its trial and
validation journals (for rows resumed across runs, the journals hold every trial and result).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def project_row(d: Path) -> dict[str, Any]:
    trials = read_jsonl(d / "trials.jsonl")
    results = read_jsonl(d / "tasks.jsonl.results.jsonl")
    summary = json.loads((d / "summary.json").read_text()) if (d / "summary.json").exists() else {}
    verdicts = Counter(t["status"] for t in trials)
    valid = [r for r in results if r["status"] == "valid"]
    trial_s = sum(float(t.get("seconds", 0)) for t in trials)
    val_s = sum(float(r.get("seconds", 0)) for r in results)
    return {
        "project": d.name,
        "covered_functions": summary.get("covered_functions"),
        "baseline_tests": summary.get("baseline_tests"),
        "tried": len(trials),
        "verdicts": dict(verdicts),
        "kept": verdicts.get("kept", 0),
        "validated": len(valid),
        "invalid": len(results) - len(valid),
        "keep_rate": round(verdicts.get("kept", 0) / len(trials), 2) if trials else None,
        "trial_cpu_s": round(trial_s, 1),
        "validation_s": round(val_s, 1),
        "s_per_task": round((trial_s + val_s) / len(valid), 1) if valid else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    rows = [project_row(d) for d in sorted(args.out.iterdir()) if (d / "trials.jsonl").exists()]
    cols = (
        "project",
        "tried",
        "kept",
        "keep_rate",
        "validated",
        "invalid",
        "trial_cpu_s",
        "validation_s",
        "s_per_task",
    )
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(str(r[c]) for c in cols) + " |")
    total = {c: sum(r[c] or 0 for r in rows) for c in ("tried", "kept", "validated", "invalid")}
    print(f"total: {total}")
    if args.json:
        args.json.write_text(json.dumps({"projects": rows, "total": total}, indent=2) + "\n")


if __name__ == "__main__":
    main()
