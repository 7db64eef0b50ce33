"""Task recipes (a directory per task: meta.json, fix.patch, test.patch) -> raw tasks.

This is how the bundled set is made, and how users add tasks of their own in the same form.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from swegym.errors import TaskFormatError
from swegym.sources.materialize import resolve_source
from swegym.sources.pypi import download_sdist, parse_pypi_source
from swegym.tasks.model import Task

_META_KEYS = ("fixed_in", "upstream", "how")


def load_recipe(path: Path) -> Task:
    """Read one recipe directory into a task (resolving its base commit from the source)."""
    meta_file = path / "meta.json"
    try:
        meta = json.loads(meta_file.read_text())
    except FileNotFoundError:
        raise TaskFormatError(f"{meta_file}: missing") from None
    except json.JSONDecodeError as exc:
        raise TaskFormatError(f"{meta_file}: not valid JSON ({exc.msg})") from None
    for name in ("fix.patch", "test.patch"):
        if not (path / name).exists():
            raise TaskFormatError(f"{path / name}: missing")
    source = meta.get("source")
    if not isinstance(source, str):
        raise TaskFormatError(f"{meta_file}: field 'source' is required (pypi:NAME==VERSION)")
    _, commit = resolve_source(source, meta.get("repo", "unknown/unknown"))
    _, sha = download_sdist(parse_pypi_source(source))
    extra = {k: meta.pop(k) for k in _META_KEYS if k in meta}
    extra.setdefault("how", "mined-release")
    try:
        return Task.model_validate(
            {
                **meta,
                "base_commit": commit,
                "patch": (path / "fix.patch").read_text(),
                "test_patch": (path / "test.patch").read_text(),
                "meta": {**extra, "sdist_sha256": sha},
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"])
        raise TaskFormatError(f"{meta_file}: field '{field}': {err['msg']}") from None


def recipe_dirs(root: Path) -> list[Path]:
    """Recipe directories under ``root`` (those holding a meta.json), sorted."""
    if not root.is_dir():
        raise TaskFormatError(f"{root}: not a directory of task recipes")
    return sorted(p.parent for p in root.glob("*/meta.json"))
