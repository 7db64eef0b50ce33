"""Env build benchmark: swegym's builder against a plain ``uv venv`` + ``uv pip install``.

For each recipe (a (repo, version) spec and a repo at its base commit), in the same session and
interleaved (the order alternates per recipe), with an empty uv cache for every build:

- ``swegym``: ``build_env`` as shipped (sandboxed, overlay, hard links from the uv cache where it
  shares a file system with the env, bytecode compiled once at the end);
- ``swegym-allbytecode`` (with ``--variants``): ``compile_scope: all``, every venv file compiled
  (the builder's behaviour before import-driven bytecode);
- ``swegym-copy`` (with ``--variants``): the same with ``SWEGYM_ENV_LINK_MODE=copy``, the
  builder's behaviour before hard links;
- ``swegym-nocompile`` (with ``--variants``): shipped builder with ``compile_bytecode: false``,
  the builder's own overhead without the bytecode it compiles for test runs;
- ``plain``: ``uv venv`` and the same ``uv pip install`` commands (the spec's steps, same Python,
  same dates and flags) on a copy of the repo on the host, no sandbox, no bytecode.

Recipes: the bundled tasks' repos at their bundled versions (offline-available sdists), plus
``--tasks SRC`` (e.g. rebuilt SWE-Gym instances, with ``--mirror owner/name=PATH``).

    python benchmarks/env_build.py [--repos moto,pydantic] [--tasks SRC] [--variants] [--test-run]

``--test-run`` times one grading run of each bundled task's gold patch in every swegym env built
(what the bytecode choices cost or save at test time).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swegym.envs.builder import BuiltEnv, build_env, resolve_for_repo
from swegym.envs.buildscript import BUILD_PINS_FILE, PINS_FILE, step_commands
from swegym.envs.python import find_interpreter
from swegym.envs.spec import EnvSpec, spec_for_task
from swegym.envs.uvtool import uv_bin
from swegym.harness.runner import Prepared, run_tests
from swegym.sources.materialize import materialize
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

HERE = Path(__file__).resolve().parent
BUNDLED = ("getmoto/moto", "pydantic/pydantic", "python/mypy", "dask/dask")


@dataclass
class Recipe:
    """A spec resolved for one repo checkout."""

    name: str
    spec: EnvSpec
    repo_dir: Path
    task: Task


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _recipes(args: argparse.Namespace) -> list[Recipe]:
    tasks: list[Task] = []
    wanted = [r for r in BUNDLED if not args.repos or any(w in r for w in args.repos.split(","))]
    seen: set[str] = set()
    for t in load_tasks("bundled").tasks:
        if t.repo in wanted and t.repo not in seen:
            seen.add(t.repo)
            tasks.append(t)
    if args.tasks:
        tasks += load_tasks(args.tasks).tasks[: args.limit]
    mirrors = dict(m.split("=", 1) for m in args.mirror)
    out = []
    for t in tasks:
        repo_dir = materialize(t, mirrors)
        spec = resolve_for_repo(spec_for_task(t), repo_dir)
        out.append(Recipe(f"{t.repo}@{t.version}", spec, repo_dir, t))
    return out


def build_swegym(recipe: Recipe, work: Path, link_mode: str) -> tuple[float, BuiltEnv]:
    """Seconds for ``build_env`` with a fresh env cache and an empty uv cache; the env."""
    with _env(
        SWEGYM_CACHE_DIR=str(work / "swegym-cache"),
        UV_CACHE_DIR=str(work / "uv-cache"),
        SWEGYM_ENV_LINK_MODE=link_mode,
    ):
        start = time.perf_counter()
        env = build_env(recipe.spec, recipe.repo_dir, force=True)
        return time.perf_counter() - start, env


def test_run_seconds(recipe: Recipe, env: BuiltEnv) -> float:
    """Wall seconds of one grading run of the task's gold patch in ``env`` (in the sandbox)."""
    prep = Prepared(recipe.task, recipe.repo_dir, env.spec, env)
    start = time.perf_counter()
    run = run_tests(prep, recipe.task.patch)
    if run.error:
        raise RuntimeError(f"test run of {recipe.name} failed: {run.error}")
    return time.perf_counter() - start


def build_plain(recipe: Recipe, work: Path) -> float:
    """Seconds for ``uv venv`` + the recipe's ``uv pip`` commands on a host copy of the repo."""
    repo = work / "repo"
    shutil.copytree(recipe.repo_dir, repo, symlinks=True)
    python = find_interpreter(recipe.spec.python)
    venv = work / "venv"
    env = {**os.environ, "UV_CACHE_DIR": str(work / "uv-cache"), "VIRTUAL_ENV": str(venv)}
    env.update({"UV_NO_CONFIG": "1", **recipe.spec.build_env})
    files = {PINS_FILE: recipe.spec.pins, BUILD_PINS_FILE: recipe.spec.build_pins}
    for name, lines in files.items():  # the sandbox's /tmp paths, as host files of this build
        (work / Path(name).name).write_text("".join(x + "\n" for x in lines))
    env.pop("UV_LINK_MODE", None)
    start = time.perf_counter()
    venv_argv = [uv_bin(), "venv", "-q", "--python", str(python.executable), str(venv)]
    subprocess.run(venv_argv, env=env, check=True)
    for cmd in step_commands(recipe.spec):
        if cmd.if_exists and not Path(cmd.if_exists.replace("/testbed", str(repo), 1)).exists():
            continue
        argv = [uv_bin() if a == "uv" and i == 0 else a for i, a in enumerate(cmd.argv)]
        argv = [str(work / Path(a).name) if a in files else a for a in argv]
        cwd = cmd.cwd.replace("/testbed", str(repo), 1)
        done = subprocess.run(argv, cwd=cwd, env={**env, **cmd.env}, capture_output=True, text=True)
        if done.returncode != 0 and not cmd.optional:
            raise RuntimeError(f"plain build of {recipe.name} failed: {done.stderr[-500:]}")
    return time.perf_counter() - start


VARIANT: dict[str, dict[str, Any]] = {
    "swegym-nocompile": {"compile_bytecode": False},
    "swegym-allbytecode": {"compile_scope": "all"},
}


def _one(kind: str, recipe: Recipe, test_runs: dict[str, float] | None) -> float:
    """One build of ``kind``, in its own temporary caches; with ``test_runs``, also one grading
    run of the task's gold patch in the env just built (swegym kinds)."""
    with tempfile.TemporaryDirectory(prefix=f"envbench-{kind}-") as tmp:
        work = Path(tmp)
        if kind == "plain":
            return build_plain(recipe, work)
        spec = recipe.spec.model_copy(update=VARIANT.get(kind, {}))
        variant = Recipe(recipe.name, spec, recipe.repo_dir, recipe.task)
        seconds, env = build_swegym(variant, work, "copy" if kind == "swegym-copy" else "auto")
        if test_runs is not None and kind != "swegym-copy":
            with _env(SWEGYM_CACHE_DIR=str(work / "swegym-cache")):
                test_runs[kind] = round(test_run_seconds(variant, env), 2)
        return seconds


def run(args: argparse.Namespace) -> dict[str, Any]:
    extra = ["swegym-nocompile", "swegym-allbytecode", "swegym-copy"] if args.variants else []
    kinds = ["swegym", "plain", *extra]
    rows: list[dict[str, Any]] = []
    for i, recipe in enumerate(_recipes(args)):
        order = kinds if i % 2 == 0 else [kinds[1], kinds[0], *kinds[2:]]
        secs: dict[str, float] = {}
        has_tests = recipe.task.test_patch or recipe.task.test_files
        tests: dict[str, float] | None = {} if args.test_run and has_tests else None
        for kind in order:
            secs[kind] = round(_one(kind, recipe, tests), 2)
            print(f"  {recipe.name:32} {kind:18} {secs[kind]:8.1f}s", file=sys.stderr, flush=True)
        row = {"recipe": recipe.name, **secs, "ratio": round(secs["swegym"] / secs["plain"], 2)}
        rows.append({**row, **({"test_run_s": tests} if tests else {})})
    total = {k: round(sum(r[k] for r in rows), 2) for k in kinds}
    return {
        "rows": rows,
        "total": total,
        "ratio_total": round(total["swegym"] / total["plain"], 2),
        "ratio_median": round(statistics.median(float(r["ratio"]) for r in rows), 2),
        **(
            {"ratio_total_nocompile": round(total["swegym-nocompile"] / total["plain"], 2)}
            if "swegym-nocompile" in total
            else {}
        ),
        "target": 1.2,
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2)},
        "notes": "empty uv cache for every build (all packages downloaded from the index); swegym "
        "compiles bytecode (venv + repo) at build time, plain does not",
    }


def _print(result: dict[str, Any]) -> None:
    kinds = [
        k
        for k in ("swegym", "plain", "swegym-nocompile", "swegym-allbytecode", "swegym-copy")
        if k in result["total"]
    ]
    print(f"{'recipe':34}" + "".join(f"{k:>17}" for k in kinds) + f"{'ratio':>8}")
    for r in result["rows"]:
        print(f"{r['recipe']:34}" + "".join(f"{r[k]:16.1f}s" for k in kinds) + f"{r['ratio']:8.2f}")
        if "test_run_s" in r:
            print(
                f"{'  one gold test run':34}" + "".join(f"{r['test_run_s'].get(k, 0):16.1f}s" for k in kinds)
            )
    t = result["total"]
    print(f"{'total':34}" + "".join(f"{t[k]:16.1f}s" for k in kinds) + f"{result['ratio_total']:8.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repos", default="", help="Comma-separated substrings of the bundled repos to use.")
    p.add_argument("--tasks", default="", help="More recipes: a task source (its first --limit tasks).")
    p.add_argument("--limit", type=int, default=4)
    p.add_argument("--mirror", action="append", default=[], help="owner/name=PATH for --tasks.")
    p.add_argument("--variants", action="store_true", help="Also: no bytecode, all bytecode, copies.")
    p.add_argument("--test-run", action="store_true", help="Time one gold-patch test run per swegym env.")
    p.add_argument("--json", default=str(HERE / "results" / "env_build.json"))
    args = p.parse_args()
    result = run(args)
    _print(result)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
