"""Time each stage of the CPU training loop (rollouts -> SFT -> verifier -> rerank).

Runs tests/test_train_loop.py, which drives the real commands on the fixture task with
SmolLM2-135M, and writes the per-stage wall-clock seconds to benchmarks/results/train_cpu.json.

    .venv/bin/python benchmarks/train_cpu.py
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    out = ROOT / "benchmarks" / "results" / "train_cpu.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    stages = out.with_suffix(".stages.tmp")
    env = {**os.environ, "SWEGYM_TRAIN_TIMINGS": str(stages)}
    start = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/test_train_loop.py", "-q", "-p", "no:randomly"],
        cwd=ROOT,
        env=env,
    )
    total = time.perf_counter() - start
    timings = json.loads(stages.read_text()) if stages.exists() else {}
    stages.unlink(missing_ok=True)
    result = {
        "passed": r.returncode == 0,
        "total_seconds": round(total, 1),
        "stages_seconds": timings,
        "cpus": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "python": platform.python_version(),
    }
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return r.returncode


if __name__ == "__main__":
    raise SystemExit(main())
