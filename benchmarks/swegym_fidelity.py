"""SWE-Gym fidelity: validate real SWE-Gym instances, per repository, against a naive validator.

Per repository: instances, valid, invalid, error (with causes), env build seconds (median over
the builds this run made), test seconds (median per instance), env disk (MB) and disk per extra
task (the instance's own repo; its env is shared by the instances of one version). In the same
run, the naive validator of ``naive_validator.py`` (a fresh clone and a plain-uv venv per
instance, tests once without and once with the gold patch, all in bubblewrap) validates the same
instances, on the same number of workers: total time against swegym's, and per instance set-up
plus validation and disk against SWE-Gym's published ~2.6 GB per-task Docker image.

    SWEGYM_CACHE_DIR=/tmp/fid python benchmarks/swegym_fidelity.py \\
        --tasks benchmarks/data/swegym_lite_rebuilt.jsonl --mirror-root /work/.mirror \\
        --repos moto,pydantic,hydra --per-repo 2 [--no-naive] [--json FILE]

An empty ``SWEGYM_CACHE_DIR`` makes swegym build every env. Each validator gets a uv package
cache of its own, empty at the start (``--out-dir``/uv-swegym and uv-naive), so neither finds
the other's downloads warm. ``--out-dir DIR`` keeps swegym's results journal there: a run that
is stopped resumes where it stopped (its wall time is then the sum of the parts' per-instance
seconds over the workers, and says so). ``--naive-per-repo N`` runs the naive validator on N
instances of each repository only, evenly spaced over its instances (its eras and versions);
the speed-up is then measured on that subset, where swegym's per-instance seconds include an
env build only for the instance that built it. Over the whole set, the naive validator's cost
is estimated per repository from that sample (it shares nothing, so a repository's mean per
instance carries over to its other instances), against swegym's measured instance-seconds and,
in an uninterrupted run, its measured wall time; each env swegym built is compared with plain
uv's builds of the same recipe for that env's instances.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from naive_validator import NaiveResult, naive_validate
from swegym.harness.runner import prepare
from swegym.harness.validate import ValidationResult
from swegym.harness.validation_run import validate_tasks
from swegym.sources.materialize import parse_mirrors
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

DOCKER_IMAGE_MB = 2600  # SWE-Gym's published average per-task image (~2.6 GB; not measured here)
DEFAULT_TASKS = Path(__file__).resolve().parent / "data" / "swegym_lite_rebuilt.jsonl"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "swegym_fidelity.json"
MB = 2**20


def pick(tasks: list[Task], repos: list[str], per_repo: int, *, evenly: bool = False) -> list[Task]:
    """``per_repo`` instances (0: all) of each repository whose name holds a ``repos`` word, taken
    round-robin over the repositories (a run stopped early has covered each): the first by id, or
    ``evenly`` spaced over its instances by id (over its eras and versions: the naive validator's
    sample, from which its whole-set cost is estimated)."""
    groups: list[list[Task]] = []
    for word in repos:
        mine = sorted((t for t in tasks if word.lower() in t.repo.lower()), key=lambda t: t.instance_id)
        if per_repo and per_repo < len(mine):
            spaced = [mine[int((i + 0.5) * len(mine) / per_repo)] for i in range(per_repo)]
            mine = spaced if evenly else mine[:per_repo]
        groups.append(mine)
    return [t for row in itertools.zip_longest(*groups) for t in row if t is not None]


def mirrors_from(items: list[str], root: Path | None, tasks: list[Task]) -> dict[str, str]:
    """``--mirror`` items, plus ``root/owner+name/repo`` (or ``root/owner__name``) clones."""
    out = parse_mirrors(items)
    for repo in {t.repo for t in tasks} - set(out):
        owner, name = repo.split("/")
        for cand in (root / f"{owner}+{name}" / "repo", root / f"{owner}__{name}") if root else ():
            if (cand / "HEAD").exists() or (cand / ".git").exists():
                out[repo] = str(cand)
                break
    return out


def _blocks(root: Path) -> int:
    return sum(p.lstat().st_blocks * 512 for p in [root, *root.rglob("*")] if p.exists() or p.is_symlink())


def run_swegym(
    rows: list[Task], mirrors: dict[str, str], workers: int, out: Path, date_check: bool, fresh: bool
) -> dict[str, Any]:
    """swegym's validation of ``rows``: wall time, each result, and the env / repo disk figures.

    Not ``fresh``: results already in the journal next to ``out`` are kept (a resumed run); when
    there were any, the wall time is the per-instance seconds summed over the workers
    (``wall_estimated``), else it is measured."""
    journal = out.with_name(out.name + ".results.jsonl")
    resumed = not fresh and journal.exists() and journal.stat().st_size > 0
    t0 = time.perf_counter()
    with _uv_cache(out.parent / "uv-swegym"):
        summary = validate_tasks(
            rows, out, runs=1, workers=workers, mirrors=mirrors, fresh=fresh, quiet=True,
            date_check=date_check,
        )  # fmt: skip
    wall = time.perf_counter() - t0
    if resumed:
        wall = sum(r.seconds for r in summary.results) / workers
    return {"wall_s": wall, "wall_estimated": resumed, "results": summary.results, **disk(rows, mirrors)}


@contextmanager
def _uv_cache(path: Path) -> Iterator[None]:
    """uv's package cache at ``path`` while the block runs (each validator gets its own)."""
    old = os.environ.get("UV_CACHE_DIR")
    path.mkdir(parents=True, exist_ok=True)  # the naive validator binds it into its sandbox
    os.environ["UV_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("UV_CACHE_DIR", None)
        else:
            os.environ["UV_CACHE_DIR"] = old


def swegym_from(path: Path, rows: list[Task], mirrors: dict[str, str]) -> dict[str, Any]:
    """The swegym half of an earlier run's JSON (same ``SWEGYM_CACHE_DIR``: its envs are found)."""
    data = json.loads(path.read_text())
    results = [ValidationResult.model_validate(r) for r in data["swegym_results"]]
    totals = data["totals"]
    return {
        "wall_s": totals["swegym_wall_s"],
        "wall_estimated": bool(totals.get("swegym_wall_estimated")),
        "results": results,
        **disk(rows, mirrors),
    }


def disk(rows: list[Task], mirrors: dict[str, str]) -> dict[str, Any]:
    """Each env's size, build seconds and tasks, and each instance's repo size (all cached by now)."""
    envs: dict[str, dict[str, Any]] = {}
    repo_mb: dict[str, float] = {}
    env_of: dict[str, str] = {}
    for t in rows:
        try:
            prep = prepare(t, mirrors)  # cached by now: finds the repo and env
        except Exception:
            continue
        info = prep.env.info
        envs.setdefault(str(prep.env.path), {"repo": t.repo, "size_mb": info.get("size_mb"), "tasks": 0})
        envs[str(prep.env.path)]["tasks"] += 1
        envs[str(prep.env.path)]["build_seconds"] = info.get("build_seconds")
        repo_mb[t.instance_id] = _blocks(prep.repo_dir) / MB
        env_of[t.instance_id] = str(prep.env.path)
    return {"envs": envs, "repo_mb": repo_mb, "env_of": env_of}


def run_naive(rows: list[Task], mirrors: dict[str, str], workers: int, logs: Path) -> dict[str, Any]:
    """The naive validator over ``rows`` on ``workers`` threads: wall time and each result."""
    logs.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with (
        _uv_cache(logs.parent / "uv-naive"),
        tempfile.TemporaryDirectory(prefix="swegym-naive-") as work,
        ThreadPoolExecutor(workers) as pool,
    ):
        results = list(pool.map(lambda t: naive_validate(t, mirrors, Path(work), logs), rows))
    return {"wall_s": time.perf_counter() - t0, "results": results}


def naive_from(path: Path) -> dict[str, Any]:
    """The naive half of an earlier run's JSON (``--naive-only`` or a whole run)."""
    data = json.loads(path.read_text())
    wall = data.get("naive_wall_s", data.get("totals", {}).get("naive_wall_s", 0.0))
    return {"wall_s": wall, "results": [NaiveResult(**r) for r in data["naive_results"]]}


def _median(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 2) if xs else None


def per_repo(rows: list[Task], sw: dict[str, Any], naive: dict[str, Any] | None) -> dict[str, Any]:
    """The per-repository table."""
    by_id = {r.instance_id: r for r in sw["results"]}
    nv: dict[str, NaiveResult] = {r.instance_id: r for r in (naive or {}).get("results", [])}
    table: dict[str, Any] = {}
    for repo in sorted({t.repo for t in rows}):
        ids = [t.instance_id for t in rows if t.repo == repo]
        res: list[ValidationResult] = [by_id[i] for i in ids if i in by_id]
        envs = [e for e in sw["envs"].values() if e["repo"] == repo]
        row: dict[str, Any] = {
            "instances": len(ids),
            "valid": sum(r.status == "valid" for r in res),
            "invalid": sum(r.status == "invalid" for r in res),
            "error": sum(r.status == "error" for r in res),
            "causes": {r.instance_id: f"{r.status}: {r.reason}" for r in res if r.status != "valid"},
            "env_build_s_median": _median(
                [float(e["build_seconds"]) for e in envs if e.get("build_seconds")]
            ),
            "envs": len(envs),
            "test_s_median": _median([r.test_seconds for r in res if r.test_seconds]),
            "setup_s_median": _median([r.build_seconds for r in res]),
            "validate_s_median": _median([r.seconds for r in res]),
            "env_disk_mb": _median([float(e["size_mb"]) for e in envs if e.get("size_mb") is not None]),
            "disk_per_extra_task_mb": _median([sw["repo_mb"][i] for i in ids if i in sw["repo_mb"]]),
        }
        if nv:
            mine = [nv[i] for i in ids if i in nv]
            row["naive"] = {
                "valid": sum(r.status == "valid" for r in mine),
                "causes": {r.instance_id: f"{r.status}: {r.reason}" for r in mine if r.status != "valid"},
                "build_s_median": _median([r.build_seconds for r in mine if r.build_seconds]),
                "test_s_median": _median([r.test_seconds for r in mine if r.test_seconds]),
                "validate_s_median": _median([r.seconds for r in mine]),
                "disk_mb_median": _median([r.disk_mb for r in mine]),
                "same_f2p": sum(
                    1
                    for r in mine
                    if r.instance_id in by_id and r.fail_to_pass == sorted(by_id[r.instance_id].FAIL_TO_PASS)
                ),
            }
        table[repo] = row
    return table


def print_table(table: dict[str, Any], totals: dict[str, Any]) -> None:
    cols = (
        "repo",
        "n",
        "valid",
        "invalid",
        "error",
        "env build s",
        "test s",
        "env MB",
        "MB/extra task",
        "naive s",
    )
    lines = [" | ".join(cols)]
    for repo, r in table.items():
        naive = r.get("naive", {}).get("validate_s_median")
        vals = (repo, r["instances"], r["valid"], r["invalid"], r["error"], r["env_build_s_median"],
                r["test_s_median"], r["env_disk_mb"], _fmt(r["disk_per_extra_task_mb"]), naive)  # fmt: skip
        lines.append(" | ".join("-" if v is None else str(v) for v in vals))
    print("\n".join(lines))
    for r in table.values():
        for iid, why in r["causes"].items():
            print(f"  {iid}: {why[:160]}")
    print(json.dumps(totals, indent=2))


def _fmt(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--tasks", default=str(DEFAULT_TASKS), help="task source (default: the rebuilt Lite set)")
    ap.add_argument("--mirror", action="append", default=[], help="owner/name=PATH (repeatable)")
    ap.add_argument("--mirror-root", type=Path, help="directory of clones (owner+name/repo or owner__name)")
    ap.add_argument("--repos", default="moto,pydantic,hydra", help="comma-separated words; '' for all")
    ap.add_argument("--per-repo", type=int, default=2, help="instances per repository (0: all)")
    ap.add_argument("--workers", type=int, default=2, help="workers for both validators")
    ap.add_argument("--date-check", action="store_true", help="swegym also runs the second-date probe")
    ap.add_argument("--no-naive", action="store_true", help="skip the naive validator")
    ap.add_argument("--naive-per-repo", type=int, default=0, help="naive on N per repository (0: all)")
    ap.add_argument("--out-dir", type=Path, help="keep swegym's journal here and resume from it")
    ap.add_argument("--naive-only", action="store_true", help="only the naive half (for --naive-from)")
    ap.add_argument("--naive-from", type=Path, help="take the naive half from this earlier run's JSON")
    ap.add_argument("--swegym-from", type=Path, help="take swegym's half from this earlier run's JSON")
    ap.add_argument("--json", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)

    tasks = load_tasks(args.tasks).tasks
    words = [w for w in args.repos.split(",") if w] or sorted({t.repo for t in tasks})
    rows = pick(tasks, words, args.per_repo)
    mirrors = mirrors_from(args.mirror, args.mirror_root, rows)
    work = args.out_dir or Path(tempfile.mkdtemp(prefix="swegym-fidelity-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"{len(rows)} instances: {', '.join(t.instance_id for t in rows)}", file=sys.stderr)
    naive_rows = pick(rows, words, args.naive_per_repo, evenly=True)
    if args.naive_only:
        alone = run_naive(naive_rows, mirrors, args.workers, work / "naive-logs")
        results = [vars(r) for r in alone["results"]]
        only = {"naive_wall_s": round(alone["wall_s"], 1), "naive_results": results}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(only, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
        return 0
    if args.swegym_from:
        sw = swegym_from(args.swegym_from, rows, mirrors)
    else:
        fresh = args.out_dir is None
        sw = run_swegym(rows, mirrors, args.workers, work / "tasks.jsonl", args.date_check, fresh)
    naive: dict[str, Any] | None = None
    if args.naive_from:
        naive = naive_from(args.naive_from)
        naive_rows = [t for t in rows if t.instance_id in {r.instance_id for r in naive["results"]}]
    elif not args.no_naive:
        naive = run_naive(naive_rows, mirrors, args.workers, work / "naive-logs")
    table = per_repo(rows, sw, naive)
    sw_res: list[ValidationResult] = sw["results"]
    totals: dict[str, Any] = {
        "instances": len(rows),
        "swegym_wall_s": round(sw["wall_s"], 1),
        "swegym_wall_estimated": bool(sw.get("wall_estimated")),
        "swegym_valid": sum(r.status == "valid" for r in sw_res),
        "swegym_setup_plus_validation_s_median": _median([r.seconds for r in sw_res]),
        "swegym_disk_per_task_mb_median": _median(
            [sw["repo_mb"][t.instance_id] + _env_share(sw, t) for t in rows if t.instance_id in sw["repo_mb"]]
        ),
        "docker_image_mb_per_task_published": DOCKER_IMAGE_MB,
    }
    if naive is not None:
        totals.update(naive_totals(naive, sw, len(naive_rows) == len(rows)))
    data = {
        "tasks": args.tasks,
        "repos": words,
        "per_repo": args.per_repo,
        "workers": args.workers,
        "date_check": args.date_check,
        "swegym_from": str(args.swegym_from or ""),
        "sample_note": f"{len(rows)} instances ({args.per_repo or 'all'} per repository): a small sample",
        "per_repo_table": table,
        "totals": totals,
        "naive_results": [vars(r) for r in (naive or {}).get("results", [])],
        "swegym_results": [r.model_dump(mode="json", exclude={"task"}) for r in sw_res],
        "cache_dir": os.environ.get("SWEGYM_CACHE_DIR", "~/.cache/swegym"),
        "work_dir": str(work),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    print_table(table, totals)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


def naive_totals(naive: dict[str, Any], sw: dict[str, Any], same_rows: bool) -> dict[str, Any]:
    """The naive validator's totals and the speed-up: instance-seconds summed over the instances
    both validated (swegym's include an env build only where that instance built it); the
    wall-time ratio too when both ran the same instances in one uninterrupted run."""
    nres: list[NaiveResult] = naive["results"]
    by_id = {r.instance_id: r for r in sw["results"]}
    both = [r for r in nres if r.instance_id in by_id]
    sw_s, nv_s = sum(by_id[r.instance_id].seconds for r in both), sum(r.seconds for r in both)
    out: dict[str, Any] = {
        "naive_instances": len(nres),
        "naive_wall_s": round(naive["wall_s"], 1),
        "naive_valid": sum(r.status == "valid" for r in nres),
        "naive_setup_plus_validation_s_median": _median([r.seconds for r in nres]),
        "naive_disk_per_task_mb_median": _median([r.disk_mb for r in nres]),
        "subset_swegym_instance_s": round(sw_s, 1),
        "subset_naive_instance_s": round(nv_s, 1),
        "speedup_vs_naive_instance_s": round(nv_s / sw_s, 2) if sw_s else None,
    }
    if same_rows and not sw.get("wall_estimated"):
        out["speedup_vs_naive"] = round(naive["wall_s"] / sw["wall_s"], 2) if sw["wall_s"] else None
    out.update(_whole_set(nres, float(naive["wall_s"]), sw))
    return out


def _whole_set(nres: list[NaiveResult], naive_wall: float, sw: dict[str, Any]) -> dict[str, Any]:
    """The naive validator's cost over the whole set, estimated from its sample per repository
    (it shares nothing between instances, so a repository's mean per instance carries over to
    that repository's other instances; a repository it did not sample takes the overall mean),
    against swegym's measured instance-seconds over every instance, and the same for wall time
    (the naive wall scaled by the same factor, against swegym's measured wall); and each env
    swegym built against plain uv's builds of the same recipe (the naive venvs of that env's
    instances, their mean)."""
    out: dict[str, Any] = {}
    sw_res: list[ValidationResult] = sw["results"]
    nres = [r for r in nres if r.status != "error"]  # a run that broke early says nothing of cost
    if nres and sw_res:
        overall = sum(r.seconds for r in nres) / len(nres)
        means: dict[str, list[float]] = {}
        for r in nres:
            means.setdefault(_repo_of(r.instance_id), []).append(r.seconds)
        estimate = sum(statistics.mean(means.get(_repo_of(r.instance_id), [overall])) for r in sw_res)
        sw_total = sum(r.seconds for r in sw_res)
        out["naive_instance_s_mean"] = round(overall, 1)
        out["whole_set_naive_instance_s_extrapolated"] = round(estimate, 1)
        out["whole_set_swegym_instance_s"] = round(sw_total, 1)
        out["speedup_vs_naive_whole_set_extrapolated"] = round(estimate / sw_total, 2) if sw_total else None
        sampled = sum(r.seconds for r in nres)
        if naive_wall:
            wall = naive_wall * estimate / sampled
            out["whole_set_naive_wall_s_extrapolated"] = round(wall, 1)
            if sw.get("wall_s") and not sw.get("wall_estimated"):
                out["speedup_vs_naive_wall_whole_set_extrapolated"] = round(wall / float(sw["wall_s"]), 2)
    plain: dict[str, list[float]] = {}
    for r in nres:
        env = sw.get("env_of", {}).get(r.instance_id)
        if env and r.status != "error" and r.build_seconds:
            plain.setdefault(env, []).append(r.build_seconds)
    pairs = [
        (float(sw["envs"][e]["build_seconds"]), statistics.mean(v))
        for e, v in plain.items()
        if sw["envs"].get(e, {}).get("build_seconds")
    ]
    if pairs:
        out["env_builds_compared"] = len(pairs)
        out["env_build_ratio_vs_plain_uv"] = round(sum(a for a, _ in pairs) / sum(b for _, b in pairs), 2)
        out["env_build_ratio_vs_plain_uv_median"] = _median([a / b for a, b in pairs])
    return out


def _repo_of(instance_id: str) -> str:
    """``owner__name-123`` -> ``owner__name``: the repository part of an instance id."""
    return instance_id.rsplit("-", 1)[0]


def _env_share(sw: dict[str, Any], task: Task) -> float:
    """The task's share of its repository's envs (env MB over the instances using them)."""
    envs = [e for e in sw["envs"].values() if e["repo"] == task.repo and e.get("size_mb") is not None]
    n = sum(e["tasks"] for e in envs)
    return sum(float(e["size_mb"]) for e in envs) / n if n else 0.0


if __name__ == "__main__":
    sys.exit(main())
