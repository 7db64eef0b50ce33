"""Disk per synthetic task: derived repos as whole copies vs hard links into a per-source pool.

Materializes every bundled task with a ``base_patch`` in ``$SWEGYM_CACHE_DIR`` and counts disk
blocks (files and directories, each inode once). The baseline, in the same run, is what each
task's repo takes as a whole copy (its own blocks, links counted in full); ``extra_task_mb`` is
what one more task adds (blocks not shared with the pool: its patched files, index, directories).

    SWEGYM_CACHE_DIR=/tmp/swc python benchmarks/task_storage.py [--json FILE]

A cache whose derived repos were made before the pool existed measures the old layout (no links).
Nothing here runs a task's code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from swegym.config import sub_cache
from swegym.sources.gitutil import git
from swegym.sources.materialize import materialize, source_task
from swegym.sources.storage import ensure_pool, linked_repo, pool_dir, tree_repo
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

MB = 2**20


def tree_blocks(root: Path, seen: set[tuple[int, int]] | None = None, own_only: bool = False) -> int:
    """Bytes of disk blocks under ``root`` (directories included, symlinks not followed). With
    ``seen``, an inode already counted is skipped (hard links count once across calls); with
    ``own_only``, files with more than one link are skipped (shared with the pool)."""
    total = 0
    for dirpath, _dirs, filenames in os.walk(root):
        for path, is_dir in [(dirpath, True), *((os.path.join(dirpath, f), False) for f in filenames)]:
            st = os.lstat(path)
            key = (st.st_dev, st.st_ino)
            if seen is not None:
                if key in seen:
                    continue
                seen.add(key)
            if own_only and not is_dir and st.st_nlink > 1:
                continue
            total += st.st_blocks * 512
    return total


def measure(tasks: list[Task] | None = None) -> dict[str, Any]:
    """Materialize the derived tasks (bundled by default) and return the disk figures."""
    rows = tasks if tasks is not None else [t for t in load_tasks("bundled").tasks if t.base_patch]
    t0 = time.perf_counter()
    dirs = [materialize(t) for t in rows]
    seconds = time.perf_counter() - t0
    pools = sorted({pool_dir(materialize(source_task(t))) for t in rows})
    pools = [p for p in pools if p.is_dir()]
    copy = [tree_blocks(d) / MB for d in dirs]
    seen: set[tuple[int, int]] = set()
    pool_mb = sum(tree_blocks(p, seen) for p in pools) / MB
    stored_mb = pool_mb + sum(tree_blocks(d, seen) for d in dirs) / MB
    extra = [tree_blocks(d, own_only=True) / MB for d in dirs]
    return {
        "storage_tasks": len(rows),
        "storage_sources": len({t.meta.get("source_commit") for t in rows}),
        "storage_pools": len(pools),
        "storage_cache": str(sub_cache("repos")),
        "task_repo_full_copy_mb_mean": statistics.fmean(copy),
        "task_repo_full_copy_mb_max": max(copy),
        "task_repo_stored_mb_per_task": stored_mb / len(rows),
        "task_repo_pool_mb_total": pool_mb,
        "task_repo_extra_task_mb_mean": statistics.fmean(extra),
        "task_repo_extra_task_mb_max": max(extra),
        "task_repo_materialize_s": seconds,
    }


def time_both(tasks: list[Task]) -> dict[str, Any]:
    """Seconds to make each task's repo as a whole copy (the old way) and from links (the new
    one), into scratch directories, and whether both give the same commit."""
    copy_s: list[float] = []
    link_s: list[float] = []
    same = 0
    for t in tasks:
        clean = materialize(source_task(t))
        msg = git(clean, "log", "-1", "--format=%B").strip()
        pool = ensure_pool(clean, msg)
        with tempfile.TemporaryDirectory(dir=sub_cache("repos")) as tmp:
            a0 = time.perf_counter()
            ca = tree_repo(clean, Path(tmp, "copy"), t.base_patch, msg, t.instance_id)
            a1 = time.perf_counter()
            cb = linked_repo(pool, Path(tmp, "linked"), t.base_patch, msg, t.instance_id)
            a2 = time.perf_counter()
            shutil.rmtree(tmp, ignore_errors=True)
        copy_s.append(a1 - a0)
        link_s.append(a2 - a1)
        same += ca == cb
    return {
        "timing_tasks": len(tasks),
        "make_repo_copy_s_median": statistics.median(copy_s),
        "make_repo_linked_s_median": statistics.median(link_s),
        "make_repo_same_commit": same,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    ap.add_argument("--label", default="", help="a name for this layout in the JSON ('before', 'after')")
    ap.add_argument("--timing", type=int, default=10, metavar="N", help="time both ways on N tasks")
    args = ap.parse_args(argv)
    m = measure()
    if args.timing:
        derived = [t for t in load_tasks("bundled").tasks if t.base_patch]
        step = max(1, len(derived) // args.timing)
        m.update(time_both(derived[::step][: args.timing]))
    m["label"] = args.label
    m["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    width = max(map(len, m))
    for k, v in m.items():
        print(f"{k.ljust(width)}  {v:,.3f}" if isinstance(v, float) else f"{k.ljust(width)}  {v}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
