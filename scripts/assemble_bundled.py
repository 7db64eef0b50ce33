"""Assemble the bundled dataset: the mined release-fix tasks plus the synthetic ones.

Usage: python scripts/assemble_bundled.py SYNTH_DIR [--out src/swegym/data/bundled.jsonl]

SYNTH_DIR holds one directory per project as written by ``datasets/synth/build.py``, each with a
validation journal (``tasks.jsonl.results.jsonl``) of tasks validated three times. Mined tasks
are read from the current bundled file (their recipes are in ``datasets/bundled/``).
Splits: every task is in ``full``. ``lite`` takes LITE_PER_PROJECT synthetic tasks per project
(spread over edit kinds, quickest first) and one mined task per project whose environment a
synthetic lite task already needs, so lite stays cheap.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "src" / "swegym" / "data" / "bundled.jsonl"
LITE_PER_PROJECT = 3
# Tasks left out of the bundled set: instance_id -> why. Date-dependent tasks need no entry: their
# tests run at the task's date (a fixed clock per task, swegym.harness.dates), so the tomlkit swap
# that makes ``date(year, day, month)`` (seen by a ``date.today()`` test only while the day of the
# month is above 12) validates on every host date; validation flags it as date dependent.
EXCLUDED: dict[str, str] = {}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def seconds_by_id(project_dir: Path) -> dict[str, float]:
    journal = project_dir / "tasks.jsonl.results.jsonl"
    if not journal.exists():
        return {}
    return {r["instance_id"]: float(r.get("seconds", 0)) for r in read_jsonl(journal)}


def pick_lite(tasks: list[dict[str, Any]], secs: dict[str, float], k: int) -> set[str]:
    """k tasks, one per edit kind in turn, the quickest to validate first."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for t in sorted(tasks, key=lambda t: (secs.get(t["instance_id"], 1e9), t["instance_id"])):
        by_kind[t["meta"]["edit_kind"]].append(t)
    picked: list[str] = []
    while len(picked) < k and any(by_kind.values()):
        for kind in sorted(
            by_kind, key=lambda kd: secs.get(by_kind[kd][0]["instance_id"], 1e9) if by_kind[kd] else 1e9
        ):
            if by_kind[kind] and len(picked) < k:
                picked.append(by_kind[kind].pop(0)["instance_id"])
    return set(picked)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("synth_dir", type=Path)
    ap.add_argument("--out", type=Path, default=BUNDLED)
    args = ap.parse_args()
    mined = [t for t in read_jsonl(BUNDLED) if (t.get("meta") or {}).get("made_by", "mined") == "mined"]
    synthetic: list[dict[str, Any]] = []
    lite: set[str] = set()
    for project_dir in sorted(
        p for p in args.synth_dir.iterdir() if (p / "tasks.jsonl.results.jsonl").exists()
    ):
        # Valid results in the journal: a project whose validation is still running adds the
        # tasks validated so far (each validated 3 times, like the rest).
        tasks = [
            r["task"]
            for r in read_jsonl(project_dir / "tasks.jsonl.results.jsonl")
            if r["status"] == "valid" and r["instance_id"] not in EXCLUDED
        ]
        synthetic += tasks
        lite |= pick_lite(tasks, seconds_by_id(project_dir), LITE_PER_PROJECT)
    lite_envs = {(t["repo"], t["version"]) for t in synthetic if t["instance_id"] in lite}
    rows = []
    mined_lite: set[str] = set()
    for t in sorted(mined, key=lambda t: t["instance_id"]):
        t["meta"] = {**(t.get("meta") or {}), "made_by": "mined"}
        # One mined task per project whose environment lite already builds: real fixes in lite too.
        if (t["repo"], t["version"]) in lite_envs and t["repo"] not in mined_lite:
            mined_lite.add(t["repo"])
            t["split"] = "lite"
        else:
            t["split"] = "full"
        rows.append(t)
    for t in synthetic:
        t["split"] = "lite" if t["instance_id"] in lite else "full"
        rows.append(t)
    rows.sort(key=lambda t: (t["repo"], t["instance_id"]))
    with args.out.open("w", encoding="utf-8") as fh:
        for t in rows:
            fh.write(json.dumps(t, sort_keys=True) + "\n")
    n_lite = sum(t["split"] == "lite" for t in rows)
    print(
        f"wrote {len(rows)} tasks ({len(mined)} mined, {len(synthetic)} synthetic; "
        f"lite {n_lite}) to {args.out}"
    )


if __name__ == "__main__":
    main()
