"""Rebuild SWE-Gym Lite instances from the 11 repositories' public git history.

The Hugging Face Hub is not needed: each id ``owner__name-PR`` is found as its pull request's
squash or merge commit on the main line of a local clone (see ``swegym.sources.prcommits`` for the
rules, the gold/test split and what git cannot give: the issue text). Versions come from SWE-Gym's
own rule (``swegym.sources.versions``); FAIL_TO_PASS / PASS_TO_PASS are left empty for
``swegym validate`` to derive.

    python scripts/rebuild_swegym_lite.py --mirror-root /work/.mirror \\
        --out benchmarks/data/swegym_lite_rebuilt.jsonl --recipe-out tests/fixtures/swegym_lite_recipe.json
    # the same set again, from the recorded commits only:
    python scripts/rebuild_swegym_lite.py --mirror-root DIR \\
        --recipe tests/fixtures/swegym_lite_recipe.json --out X

Mirrors: ``--mirror owner/name=PATH`` (repeatable) or ``--mirror-root DIR`` holding
``owner+name/repo`` or ``owner__name`` clones (full clones with tags: versions read the tags).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from swegym.errors import SwegymError
from swegym.sources.materialize import parse_mirrors
from swegym.sources.prcommits import PullCommit, pull_commits, rebuild_task
from swegym.tasks.export import export_tasks
from swegym.tasks.loaders import swegym_lite_ids
from swegym.tasks.model import Task


def split_id(instance_id: str) -> tuple[str, int]:
    """('owner/name', PR) of an id 'owner__name-PR'."""
    head, _, pr = instance_id.rpartition("-")
    owner, _, name = head.partition("__")
    return f"{owner}/{name}", int(pr)


def find_mirror(repo: str, mirrors: dict[str, str], root: Path | None) -> Path | None:
    """The local clone of ``repo``: an explicit mirror, else one under ``root``."""
    if repo in mirrors:
        return Path(mirrors[repo])
    if root is None:
        return None
    owner, name = repo.split("/")
    for cand in (root / f"{owner}+{name}" / "repo", root / f"{owner}__{name}", root / name):
        if (cand / "HEAD").exists() or (cand / ".git").exists():
            return cand
    return None


def rebuild(
    ids: list[str], mirrors: dict[str, str], root: Path | None, recipe: dict[str, dict]
) -> tuple[list[Task], list[dict], dict[str, str]]:
    """Tasks rebuilt, recipe rows, and why each missing id was not rebuilt."""
    tasks: list[Task] = []
    rows: list[dict] = []
    why: dict[str, str] = {}
    found_by_repo: dict[str, dict[int, list[PullCommit]]] = {}
    for iid in ids:
        repo, pr = split_id(iid)
        git_dir = find_mirror(repo, mirrors, root)
        if git_dir is None:
            why[iid] = "no mirror of the repository"
            continue
        if iid in recipe:
            pull = PullCommit.model_validate({"pr": pr, **recipe[iid]})
        else:
            if repo not in found_by_repo:
                found_by_repo[repo] = pull_commits(git_dir)
            candidates = found_by_repo[repo].get(pr, [])
            if not candidates:
                why[iid] = "PR not found in history (no '(#PR)' or 'Merge pull request #PR' subject)"
                continue
            if len(candidates) > 1:
                why[iid] = f"ambiguous: {len(candidates)} commits name the PR"
                continue
            pull = candidates[0]
        try:
            task = rebuild_task(git_dir, repo, iid, pull)  # the version detected again
        except SwegymError as exc:
            why[iid] = str(exc)
            continue
        pinned = recipe.get(iid, {}).get("version")
        if pinned and pinned != task.version:  # a recipe's version (edited by hand) wins
            task = task.model_copy(
                update={"version": pinned, "meta": {**task.meta, "version_from_recipe": True}}
            )
        if not task.test_patch or not task.patch:
            why[iid] = "no test files changed" if not task.test_patch else "only test files changed"
            continue
        tasks.append(task)
        raw = task.meta.get("version_detected", {}).get("raw", "")
        rows.append(
            {
                "instance_id": iid,
                "commit": pull.commit,
                "base": pull.base,
                "kind": pull.kind,
                "version": task.version,
                "version_raw": raw,
            }
        )
    return tasks, rows, why


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", action="append", default=[], help="owner/name=PATH (repeatable)")
    ap.add_argument("--mirror-root", type=Path, help="directory of clones (owner+name/repo or owner__name)")
    ap.add_argument("--ids", type=Path, help="file of instance ids (default: the shipped Lite ids)")
    ap.add_argument("--recipe", type=Path, help="rebuild from this recipe's commits instead of searching")
    ap.add_argument("--out", type=Path, required=True, help="tasks (.jsonl)")
    ap.add_argument("--recipe-out", type=Path, help="write the recipe (id -> commit, base, version)")
    args = ap.parse_args(argv)
    ids = args.ids.read_text().split() if args.ids else sorted(swegym_lite_ids())
    recipe = (
        {r["instance_id"]: r for r in json.loads(args.recipe.read_text())["instances"]} if args.recipe else {}
    )
    if recipe:  # its ids (those of --ids among them)
        ids = [i for i in ids if i in recipe] if args.ids else list(recipe)
    try:
        tasks, rows, why = rebuild(ids, parse_mirrors(args.mirror), args.mirror_root, recipe)
    except SwegymError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    export_tasks(tasks, args.out)
    if args.recipe_out:
        body = {
            "source": "scripts/rebuild_swegym_lite.py",
            "instances": rows,
            "not_rebuilt": dict(sorted(why.items())),
        }
        args.recipe_out.write_text(json.dumps(body, indent=1) + "\n")
    total, done = Counter(split_id(i)[0] for i in ids), Counter(t.repo for t in tasks)
    print(f"{'repo':28} {'ids':>4} {'rebuilt':>7}")
    for repo in sorted(total):
        print(f"{repo:28} {total[repo]:>4} {done[repo]:>7}")
    print(f"{'total':28} {sum(total.values()):>4} {len(tasks):>7}  -> {args.out}")
    for iid, reason in sorted(why.items()):
        print(f"  not rebuilt: {iid}: {reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
