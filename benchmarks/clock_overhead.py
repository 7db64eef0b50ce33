"""Task-clock overhead: Python workloads in a sandbox on the task clock (libfaketime) against the
same sandbox on the real clock, and against libfaketime with its self-enabled "monotonic fix"
(the setting swegym ran with until it turned the fix off; see ``swegym.sandbox.clock``).

    SWEGYM_CACHE_DIR=/tmp/swc python benchmarks/clock_overhead.py [--tasks SRC --id ID] [--json FILE]

Each workload runs ``--repeats`` times per setting, in one sandbox per setting, interleaved;
the table gives the median seconds and the ratio to the real clock measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from swegym.harness.runner import prepare
from swegym.sandbox.clock import ClockMode, find_libfaketime
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.factory import open_sandbox
from swegym.tasks.loaders import load_tasks

HERE = Path(__file__).resolve().parent
WORKLOADS = {
    # Two threads handing work to each other: each hand-over passes Python's GIL (threaded
    # schedulers such as dask's local one live on this).
    "thread hand-over x2000": (
        "import queue, threading\n"
        "a, b = queue.Queue(), queue.Queue()\n"
        "def w():\n    for _ in range(2000): b.put(a.get())\n"
        "t = threading.Thread(target=w); t.start()\n"
        "for i in range(2000): a.put(i); b.get()\n"
        "t.join()\n"
    ),
    "time.time() x200000": "import time\nfor _ in range(200000): time.time()\n",
    "timed waits 1 ms x200": (
        "import threading\nl = threading.Lock(); l.acquire()\nfor _ in range(200): l.acquire(timeout=0.001)\n"
    ),
}
SETTINGS: dict[str, tuple[ClockMode, str]] = {
    "real": ("real", ""),
    "task": ("task", ""),
    "task, fix on": ("task", "FAKETIME_FORCE_MONOTONIC_FIX=1 "),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--tasks", default="bundled:lite")
    ap.add_argument("--id", help="the task whose env runs the workloads (default: the first)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", type=Path, default=HERE / "results" / "clock_overhead.json")
    args = ap.parse_args(argv)
    if find_libfaketime() is None:
        sys.stderr.write("libfaketime is not installed (apt-get install libfaketime): nothing to compare\n")
        return 1
    tasks = load_tasks(args.tasks).tasks
    task = next(t for t in tasks if args.id in (None, t.instance_id))
    prep = prepare(task)
    times: dict[str, dict[str, list[float]]] = {s: {w: [] for w in WORKLOADS} for s in SETTINGS}
    boxes = {s: open_sandbox(prep.layout(), SandboxConfig(clock=c)) for s, (c, _) in SETTINGS.items()}
    try:
        for box in boxes.values():
            box.start()
        for name, code in WORKLOADS.items():
            for box in boxes.values():
                box.run(f"cat > /tmp/w.py <<'EOF'\n{code}EOF", timeout=30)
            for _ in range(args.repeats):
                for s, box in boxes.items():
                    prefix = SETTINGS[s][1]
                    cmd = f"{prefix}python -c 'import time, runpy; t = time.perf_counter(); "
                    cmd += 'runpy.run_path("/tmp/w.py"); print(time.perf_counter() - t)\''
                    out = box.run(cmd, timeout=300).output.strip().splitlines()
                    times[s][name].append(float(out[-1]))
    finally:
        for box in boxes.values():
            box.close()
    rows = {name: {s: round(statistics.median(times[s][name]), 4) for s in SETTINGS} for name in WORKLOADS}
    print(" | ".join(["workload", *SETTINGS, "task / real", "fix on / real"]))
    for name, r in rows.items():
        ratios = [round(r["task"] / r["real"], 2), round(r["task, fix on"] / r["real"], 2)]
        print(" | ".join(str(v) for v in [name, *r.values(), *ratios]))
    data = {"task": task.instance_id, "python": prep.spec.python, "repeats": args.repeats, "median_s": rows}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=2) + "\n")
    print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
