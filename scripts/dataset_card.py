"""Print the markdown tables of the bundled task set's dataset card.

Reads ``src/swegym/data/bundled.jsonl``, the env specs under ``src/swegym/envs/specs/`` and the
metadata of built environments (``$SWEGYM_CACHE_DIR/envs/*/env.json``, default
``$XDG_CACHE_HOME/swegym``), and prints the tables used in ``docs/bundled-tasks.md``::

    SWEGYM_CACHE_DIR=/tmp/swc .venv/bin/python scripts/dataset_card.py
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TASKS = ROOT / "src" / "swegym" / "data" / "bundled.jsonl"
SPECS = ROOT / "src" / "swegym" / "envs" / "specs"
SPLITS = ("lite", "full")


def cache_dir() -> Path:
    """``$SWEGYM_CACHE_DIR``, else ``$XDG_CACHE_HOME/swegym`` (as in ``swegym.config``)."""
    explicit = os.environ.get("SWEGYM_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg).expanduser() / "swegym"


def load_tasks(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_envs(root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """env.json of each built environment, keyed by (repo, version); the newest build wins."""
    envs: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted((root / "envs").glob("*/env.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        spec = data.get("spec") or {}
        key = (str(spec.get("repo", "")), str(spec.get("version", "")))
        old = envs.get(key)
        if old is None or str(data.get("built_at", "")) >= str(old.get("built_at", "")):
            envs[key] = data
    return envs


def load_licenses(root: Path) -> dict[str, str]:
    licenses: dict[str, str] = {}
    for path in sorted(root.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        licenses[str(data.get("repo", path.stem))] = str(data.get("license", "?"))
    return licenses


def patch_stats(patch: str) -> tuple[int, int, int]:
    """(added, removed, files) of a unified diff; ``+++``/``---`` headers are not counted."""
    added = removed = 0
    files: set[str] = set()
    for line in patch.splitlines():
        if line.startswith("diff --git "):
            files.add(line.split(" b/", 1)[-1])
        elif line.startswith(("+++ ", "--- ")):
            if line.startswith("+++ ") and not files:
                files.add(line[4:].removeprefix("b/"))
        elif line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return added, removed, len(files)


def project(repo: str) -> str:
    return repo.split("/")[-1]


def table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    right = right or set()
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def made_by(t: dict[str, Any]) -> str:
    return str((t.get("meta") or {}).get("made_by", "mined"))


def counts_table(tasks: list[dict[str, Any]]) -> str:
    cols = ("mined", "synthetic", "lite", "total")
    rows: list[list[str]] = []
    totals = Counter[str]()
    for repo in sorted({t["repo"] for t in tasks}):
        mine = [t for t in tasks if t["repo"] == repo]
        c = Counter(made_by(t) for t in mine)
        c["lite"] = sum(t.get("split") == "lite" for t in mine)
        c["total"] = len(mine)
        totals.update(c)
        rows.append([f"{project(repo)} (`{repo}`)", *(str(c[k]) for k in cols)])
    rows.append(["**total**", *(f"**{totals[k]}**" for k in cols)])
    return table(["project", *cols], rows, right={1, 2, 3, 4})


def kinds_table(tasks: list[dict[str, Any]]) -> str:
    kinds = Counter(str((t.get("meta") or {}).get("edit_kind", "mined fix")) for t in tasks)
    lite = Counter(
        str((t.get("meta") or {}).get("edit_kind", "mined fix")) for t in tasks if t.get("split") == "lite"
    )
    rows = [
        [f"`{k}`", str(n), str(lite[k])] for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    return table(["how made", "tasks", "lite"], rows, right={1, 2})


def _median(values: list[int]) -> str:
    v = sorted(values)
    return str(v[len(v) // 2]) if v else "-"


def difficulty_table(tasks: list[dict[str, Any]]) -> str:
    rows: list[list[str]] = []
    for repo in sorted({t["repo"] for t in tasks}):
        for kind in ("mined", "synthetic"):
            mine = [t for t in tasks if t["repo"] == repo and made_by(t) == kind]
            if not mine:
                continue
            stats = [patch_stats(t.get("patch", "")) for t in mine]
            lines = [a + r for a, r, _ in stats]
            files = [f for _, _, f in stats]
            f2p = [len(t.get("FAIL_TO_PASS", [])) for t in mine]
            p2p = [len(t.get("PASS_TO_PASS", [])) for t in mine]
            rows.append(
                [
                    project(repo),
                    kind,
                    str(len(mine)),
                    _median(lines),
                    str(max(lines)),
                    _median(files),
                    _median(f2p),
                    str(max(f2p)),
                    _median(p2p),
                ]
            )
    headers = [
        "project",
        "made",
        "tasks",
        "gold lines (median)",
        "max",
        "files (median)",
        "F2P (median)",
        "max",
        "P2P (median)",
    ]
    return table(headers, rows, right=set(range(2, 9)))


def tasks_table(tasks: list[dict[str, Any]]) -> str:
    rows: list[list[str]] = []
    for t in sorted(tasks, key=lambda t: t["instance_id"]):
        added, removed, files = patch_stats(t.get("patch", ""))
        fixed_in = (t.get("meta") or {}).get("fixed_in", "?")
        rows.append(
            [
                f"`{t['instance_id']}`",
                project(t["repo"]),
                f"{t['version']} → {fixed_in}",
                t.get("split", "full"),
                f"+{added} −{removed}",
                str(files),
                str(len(t.get("FAIL_TO_PASS", []))),
                str(len(t.get("PASS_TO_PASS", []))),
            ]
        )
    headers = ["instance_id", "project", "buggy → fixed", "split", "gold lines", "gold files", "F2P", "P2P"]
    return table(headers, rows, right={5, 6, 7})


def envs_table(tasks: list[dict[str, Any]], envs: dict[tuple[str, str], dict[str, Any]]) -> str:
    per_env = Counter((t["repo"], t["version"]) for t in tasks)
    rows: list[list[str]] = []
    for repo, version in sorted(per_env):
        env = envs.get((repo, version))
        if env is None:
            python = seconds = size = "not built"
        else:
            python = str(env.get("python", "?"))
            seconds = f"{float(env.get('build_seconds', 0.0)):.1f}"
            size = f"{float(env.get('size_mb', 0.0)):.1f}"
        rows.append([project(repo), version, str(per_env[(repo, version)]), python, seconds, size])
    return table(["project", "version", "tasks", "python", "build s", "venv MB"], rows, right={2, 4, 5})


def licenses_table(tasks: list[dict[str, Any]], licenses: dict[str, str]) -> str:
    rows = [[project(r), f"`{r}`", licenses.get(r, "?")] for r in sorted({t["repo"] for t in tasks})]
    return table(["project", "repo", "license"], rows)


def main() -> int:
    tasks = load_tasks(TASKS)
    envs = load_envs(cache_dir())
    licenses = load_licenses(SPECS)
    sections = [
        ("Tasks per project, origin and split", counts_table(tasks)),
        ("How tasks were made", kinds_table(tasks)),
        ("Difficulty", difficulty_table(tasks)),
        ("Mined tasks", tasks_table([t for t in tasks if made_by(t) == "mined"])),
        ("Environments", envs_table(tasks, envs)),
        ("Licenses", licenses_table(tasks, licenses)),
    ]
    out = "\n\n".join(f"### {title}\n\n{body}" for title, body in sections)
    sys.stdout.write(out + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
