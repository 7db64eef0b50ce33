"""Sandbox benchmark: command latency, episode reset, disk per task and validation throughput.

Also grades bundled:lite gold patches with the grading defences and without them (the revision
before them), ``grade_overhead_pct``. Compares swegym's persistent bubblewrap shell with a plain
host ``subprocess.run`` and with
SWE-ReX's local runtime (installed in its own venv, ``benchmarks/.venv-swerex``), and puts the
disk figures next to SWE-Gym's published per-task Docker image size.

    SWEGYM_CACHE_DIR=/tmp/swc python benchmarks/sandbox.py [--quick] [--json FILE]

Third-party test suites only ever run inside the sandbox.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from swegym.envs.python import find_interpreter
from swegym.envs.uvtool import uv_bin
from swegym.harness.patches import deleted_files, touched_files
from swegym.harness.runner import Prepared, prepare
from swegym.harness.validate import ValidationResult, validate_task
from swegym.sandbox.local import LocalSandbox, dir_size
from swegym.tasks.loaders import load_tasks

HERE = Path(__file__).resolve().parent
SWEREX_VENV = HERE / ".venv-swerex"
SWEREX_REQUIREMENT = "swe-rex>=1.2"

CMD_N, CMD_WARMUP = 500, 20
SWEREX_N, SWEREX_WARMUP = 100, 5
RESET_N = 30
COMMAND = "echo hi"

# Published figure for SWE-Gym's per-task Docker images (~2.6 GB each); not measured here.
swegym_docker_image_mb_per_task = 2600

MB = 2**20

# Runs inside benchmarks/.venv-swerex; argv: N warmup command. Prints one JSON object.
SWEREX_SCRIPT = r"""
import asyncio, json, statistics, sys, time
from swerex.runtime.abstract import BashAction, CloseBashSessionRequest, CreateBashSessionRequest
from swerex.runtime.local import LocalRuntime

N, WARMUP, CMD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def q(xs, p):
    xs = sorted(xs)
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)

async def main():
    import swerex
    rt = LocalRuntime()
    t0 = time.perf_counter()
    await rt.create_session(CreateBashSessionRequest())
    open_ms = (time.perf_counter() - t0) * 1000
    out = await rt.run_in_session(BashAction(command=CMD))
    assert out.output.strip() == "hi", out
    for _ in range(WARMUP):
        await rt.run_in_session(BashAction(command=CMD))
    lat = []
    for _ in range(N):
        t = time.perf_counter()
        await rt.run_in_session(BashAction(command=CMD))
        lat.append((time.perf_counter() - t) * 1000)
    await rt.close_session(CloseBashSessionRequest())
    await rt.close()
    try:
        from importlib.metadata import version
        ver = version("swe-rex")
    except Exception:
        ver = getattr(swerex, "__version__", "?")
    print(json.dumps({
        "swerex_version": ver,
        "swerex_session_open_ms": open_ms,
        "swerex_cmd_p50_ms": q(lat, 0.5),
        "swerex_cmd_p95_ms": q(lat, 0.95),
        "swerex_n": N,
    }))

asyncio.run(main())
"""


def quantile(values: list[float], p: float) -> float:
    """Linear-interpolated quantile of ``values`` (0 <= p <= 1)."""
    xs = sorted(values)
    k = (len(xs) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def timed_ms(fn: Callable[[], object], n: int, warmup: int = 0) -> list[float]:
    """Call ``fn`` ``warmup`` times untimed, then ``n`` times; return the latencies in ms."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# -- 1, 4: persistent sandbox shell, reset ---------------------------------------------------
def bench_sandbox(prep: Prepared) -> dict[str, float]:
    sb = LocalSandbox(prep.env.layout(prep.repo_dir))
    sb.start()
    try:
        r = sb.run(COMMAND)
        if r.exit_code != 0 or r.output.strip() != "hi":
            raise RuntimeError(f"sandbox echo failed: {r!r}")
        lat = timed_ms(lambda: sb.run(COMMAND), CMD_N, CMD_WARMUP)

        def reset() -> None:
            sb.close()
            sb.start()

        resets = timed_ms(reset, RESET_N, 2)
    finally:
        sb.close()
    return {
        "cmd_p50_ms": quantile(lat, 0.5),
        "cmd_p95_ms": quantile(lat, 0.95),
        "cmd_mean_ms": statistics.fmean(lat),
        "reset_p50_ms": quantile(resets, 0.5),
        "reset_p95_ms": quantile(resets, 0.95),
    }


# -- 2: host subprocess ----------------------------------------------------------------------
def bench_subprocess() -> dict[str, float]:
    argv = ["bash", "-c", COMMAND]
    lat = timed_ms(lambda: subprocess.run(argv, capture_output=True, check=True), CMD_N, CMD_WARMUP)
    return {
        "subprocess_cmd_p50_ms": quantile(lat, 0.5),
        "subprocess_cmd_p95_ms": quantile(lat, 0.95),
    }


# -- 3: SWE-ReX --------------------------------------------------------------------------------
def swerex_python() -> Path:
    """The interpreter of benchmarks/.venv-swerex, creating the venv (once) with uv."""
    py = SWEREX_VENV / "bin" / "python"
    marker = SWEREX_VENV / ".swerex-installed"
    if py.exists() and marker.exists():
        return py
    uv = uv_bin()
    interp = find_interpreter("3.11").executable
    log(f"creating {SWEREX_VENV} with {interp} and installing {SWEREX_REQUIREMENT}")
    subprocess.run([uv, "venv", "--clear", "--python", str(interp), str(SWEREX_VENV)], check=True)
    subprocess.run([uv, "pip", "install", "--python", str(py), SWEREX_REQUIREMENT], check=True)
    marker.write_text(SWEREX_REQUIREMENT + "\n")
    return py


def bench_swerex() -> dict[str, Any]:
    py = swerex_python()
    proc = subprocess.run(
        [str(py), "-c", SWEREX_SCRIPT, str(SWEREX_N), str(SWEREX_WARMUP), COMMAND],
        capture_output=True,
        text=True,
        timeout=1200,
        cwd=HERE,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"SWE-ReX benchmark failed: {proc.stderr.strip()[-2000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    return dict(json.loads(lines[-1]))


# -- 5: disk per task ------------------------------------------------------------------------
def test_files(test_patch: str) -> list[str]:
    """The .py files the test patch touches and leaves in place (what the harness runs)."""
    gone = deleted_files(test_patch)
    return [f for f in touched_files(test_patch) if f.endswith(".py") and f not in gone]


def episode_upper_mb(prep: Prepared) -> tuple[float, bool, int | None]:
    """Writable-layer size (MB) after applying the gold patch and the test patch and running the
    task's test files in a sandbox; also whether the patches applied, and pytest's exit code."""
    task = prep.task
    targets = test_files(task.test_patch)
    sb = LocalSandbox(prep.env.layout(prep.repo_dir))
    sb.start()
    try:
        ok = True
        for name, patch in (("gold.patch", task.patch), ("test.patch", task.test_patch)):
            if not patch.strip():
                continue
            eof = "SWEGYM_BENCH_EOF"
            while eof in patch:
                eof += "_"
            body = patch if patch.endswith("\n") else patch + "\n"
            w = sb.run(f"cat > /tmp/{name} <<'{eof}'\n{body}{eof}")
            a = sb.run(f"git apply --whitespace=nowarn /tmp/{name}")
            ok = ok and w.exit_code == 0 and a.exit_code == 0
        code: int | None = None
        if targets:
            r = sb.run(
                "python -m pytest -q -p no:cacheprovider " + " ".join(map(shlex.quote, targets)),
                timeout=prep.spec.test_timeout,
            )
            code = r.exit_code
        upper = sb.upper_dir
        size = dir_size(upper) / MB if upper is not None else 0.0
    finally:
        sb.close()
    return size, ok, code


def bench_disk(preps: list[Prepared]) -> dict[str, Any]:
    sharing = Counter(p.repo_dir for p in preps)
    repo_mb = {d: dir_size(d) / MB for d in sharing}
    per_task: list[float] = []
    uppers: list[float] = []
    failed: list[str] = []
    test_codes: dict[str, int | None] = {}
    for prep in preps:
        upper, ok, code = episode_upper_mb(prep)
        if not ok:
            failed.append(prep.task.instance_id)
        test_codes[prep.task.instance_id] = code
        uppers.append(upper)
        per_task.append(repo_mb[prep.repo_dir] / sharing[prep.repo_dir] + upper)
    envs = {p.env.path: float(str(p.env.info.get("size_mb", 0.0))) for p in preps}
    env_sharing = Counter(p.env.path for p in preps)
    with_env = [t + envs[p.env.path] / env_sharing[p.env.path] for t, p in zip(per_task, preps, strict=True)]
    return {
        "disk_per_task_mb": statistics.fmean(per_task),
        "disk_per_task_mb_max": max(per_task),
        "episode_upper_mb_mean": statistics.fmean(uppers),
        "repo_mb_mean": statistics.fmean(repo_mb.values()),
        "env_mb_mean": statistics.fmean(envs.values()),
        "disk_per_task_incl_env_share_mb": statistics.fmean(with_env),
        "distinct_repos": len(sharing),
        "distinct_envs": len(envs),
        "disk_tasks": len(preps),
        "disk_patch_failures": failed,
        "disk_pytest_exit_codes": test_codes,
    }


# -- 6: validation throughput ----------------------------------------------------------------
def bench_validate(split: str, cores: int) -> dict[str, Any]:
    tasks = load_tasks(split).tasks
    t0 = time.perf_counter()
    with ThreadPoolExecutor(cores) as pool:
        results: list[ValidationResult] = list(pool.map(lambda t: validate_task(t, runs=1), tasks))
    wall = time.perf_counter() - t0
    statuses = Counter(r.status for r in results)
    return {
        "tasks_per_core_hour": len(tasks) / (wall / 3600 * cores),
        "validate_wall_s": wall,
        "validate_tasks": len(tasks),
        "validate_cores": cores,
        "validate_statuses": dict(statuses),
        "validate_not_valid": {r.instance_id: r.reason for r in results if r.status != "valid"},
    }


# -- report ------------------------------------------------------------------------------------
def rows(m: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    def f(x: float | None, unit: str = "") -> str:
        if x is None:
            return "-"
        return f"{x:,.3f}{unit}" if abs(x) < 10 else f"{x:,.1f}{unit}"

    def ratio(a: float | None, b: float | None) -> str:
        return f"{b / a:,.1f}x" if a and b else "-"

    sub, rex = m.get("subprocess_cmd_p50_ms"), m.get("swerex_cmd_p50_ms")
    img = m["swegym_docker_image_mb_per_task"]
    return [
        (
            "cmd_p50_ms (sandbox `echo hi`)",
            f(m["cmd_p50_ms"]),
            f"swe-rex {f(rex)}",
            ratio(m["cmd_p50_ms"], rex),
        ),
        (
            "cmd_p95_ms",
            f(m["cmd_p95_ms"]),
            f"swe-rex {f(m.get('swerex_cmd_p95_ms'))}",
            ratio(m["cmd_p95_ms"], m.get("swerex_cmd_p95_ms")),
        ),
        (
            "subprocess_cmd_p50_ms (host bash -c)",
            f(sub),
            f"sandbox {f(m['cmd_p50_ms'])}",
            ratio(m["cmd_p50_ms"], sub),
        ),
        ("swerex_cmd_p50_ms", f(rex), f"sandbox {f(m['cmd_p50_ms'])}", ratio(m["cmd_p50_ms"], rex)),
        (
            "swerex_session_open_ms",
            f(m.get("swerex_session_open_ms")),
            f"sandbox reset {f(m['reset_p50_ms'])}",
            ratio(m["reset_p50_ms"], m.get("swerex_session_open_ms")),
        ),
        ("reset_p50_ms (close + start)", f(m["reset_p50_ms"]), "-", "-"),
        *(
            (label, f(m[key]), f"docker image {img:,}", ratio(m[key], img))
            for label, key in (
                ("disk_per_task_mb (mean)", "disk_per_task_mb"),
                ("disk_per_task_mb_max", "disk_per_task_mb_max"),
                ("env_mb_mean (shared per env)", "env_mb_mean"),
                ("disk_per_task_incl_env_share_mb", "disk_per_task_incl_env_share_mb"),
            )
        ),
        (
            "task_repo_extra_task_mb (synthetic, linked)",
            f(m.get("task_repo_extra_task_mb_mean")),
            f"whole copy {f(m.get('task_repo_full_copy_mb_mean'))}",
            ratio(m.get("task_repo_extra_task_mb_mean"), m.get("task_repo_full_copy_mb_mean")),
        ),
        ("tasks_per_core_hour", f(m["tasks_per_core_hour"]), "-", "-"),
        *(
            [
                (
                    "grade_overhead_pct (defences on vs off)",
                    f(m["grade_overhead_pct"]),
                    f"off {f(m['grade_off_s_per_task'], ' s')}/task",
                    ratio(m["grade_off_s_per_task"], m["grade_on_s_per_task"]),
                )
            ]
            if "grade_overhead_pct" in m
            else []
        ),
    ]


def print_table(m: dict[str, Any]) -> str:
    """Print the table (rich when available) and return it as plain text."""
    header = ("metric", "value", "baseline", "ratio")
    body = rows(m)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(4)]

    def line(r: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    plain = "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body)])
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="swegym sandbox benchmark (ratio = baseline / swegym)")
        for h in header:
            table.add_column(h, justify="left" if h == "metric" else "right")
        for r in body:
            table.add_row(*r)
        Console().print(table)
    except ImportError:
        print(plain)
    return plain


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--json", type=Path, help="write the figures as JSON to this file")
    ap.add_argument("--quick", action="store_true", help="validate bundled:lite only")
    ap.add_argument("--no-swerex", action="store_true", help="skip the SWE-ReX baseline")
    ap.add_argument("--cores", type=int, default=2, help="validation workers (default 2)")
    ap.add_argument(
        "--grade-overhead",
        type=int,
        default=6,
        metavar="N",
        help="grade N bundled:lite gold patches with the grading defences and without them "
        "(benchmarks/grade_overhead.py, baseline a995ecd); 0 skips it",
    )
    args = ap.parse_args(argv)

    cores = args.cores
    split = "bundled:lite" if args.quick else "bundled"
    m: dict[str, Any] = {"swegym_docker_image_mb_per_task": swegym_docker_image_mb_per_task}

    lite = load_tasks("bundled:lite").tasks[0]
    prep0 = prepare(lite)
    log(f"sandbox shell on {lite.instance_id}: N={CMD_N}, reset N={RESET_N}")
    m.update(bench_sandbox(prep0))
    log("host subprocess")
    m.update(bench_subprocess())
    if not args.no_swerex:
        log(f"SWE-ReX local runtime: N={SWEREX_N}")
        m.update(bench_swerex())
        m["speedup_vs_swerex"] = m["swerex_cmd_p50_ms"] / m["cmd_p50_ms"]

    all_tasks = load_tasks("bundled").tasks
    log(f"disk per task over {len(all_tasks)} bundled tasks")
    m.update(bench_disk([prepare(t) for t in all_tasks]))
    # Synthetic tasks' repos: hard links into a per-source pool vs a whole copy each (same run).
    sys.path.insert(0, str(HERE))
    import task_storage

    m.update(task_storage.measure())

    log(f"validation throughput over {split} on {cores} workers")
    m.update(bench_validate(split, cores))

    if args.grade_overhead:
        log(f"grading defences on vs off over {args.grade_overhead} tasks")
        sys.path.insert(0, str(HERE))
        import grade_overhead

        m.update(grade_overhead.measure(args.grade_overhead))

    m["n"] = {
        "cmd": CMD_N,
        "cmd_warmup": CMD_WARMUP,
        "subprocess": CMD_N,
        "subprocess_warmup": CMD_WARMUP,
        "swerex": SWEREX_N,
        "swerex_warmup": SWEREX_WARMUP,
        "reset": RESET_N,
        "disk_tasks": m["disk_tasks"],
        "validate_tasks": m["validate_tasks"],
    }
    m["machine"] = {
        "cpu_count": os.cpu_count(),
        "cores_used": cores,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
    }
    m["timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    m["split"] = split
    m["command"] = COMMAND

    print_table(m)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
