"""Rebuild the synthetic part of the bundled dataset: `swegym curate synth` on each project.

Usage: python datasets/synth/build.py OUT_DIR [--only NAME ...]
Each project's tasks land in OUT_DIR/<repo_key>/tasks.jsonl (validated 3 times); reruns resume.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    out = Path(sys.argv[1])
    only = set(sys.argv[3:]) if len(sys.argv) > 2 and sys.argv[2] == "--only" else set()
    failed = []
    for proj in json.loads((HERE / "projects.json").read_text()):
        key = proj["repo"].replace("/", "__")
        if only and key not in only and proj["repo"] not in only:
            continue
        cmd = [
            "swegym",
            "curate",
            "synth",
            "--source",
            proj["source"],
            "--repo",
            proj["repo"],
            "--n",
            str(proj["n"]),
            "--runs",
            "3",
            "--out",
            str(out / key),
            "--workers",
            "2",
            "--max-test-files",
            str(proj.get("max_test_files", 1)),
        ]
        for t in proj["tests"]:
            cmd += ["--tests", t]
        print("$", " ".join(cmd), flush=True)
        if subprocess.run(cmd).returncode != 0:
            failed.append(key)
    print("failed:", failed or "none")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
