"""Loading tasks from JSONL, JSON, Parquet, Hugging Face datasets and the bundled set."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from swegym.errors import TaskFormatError
from swegym.tasks.model import Task

BUNDLED_SPLITS = ("lite", "full")


@dataclass
class LoadResult:
    """Tasks that loaded, and one-line errors for rows that did not."""

    tasks: list[Task]
    errors: list[str] = field(default_factory=list)


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"field '{loc}': {msg}")
    return "; ".join(parts)


def _rows_jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, TaskFormatError(f"{where}: not valid JSON ({exc.msg})")


def _rows_json(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TaskFormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise TaskFormatError(f"{path}: expected a JSON list of task objects")
    for i, row in enumerate(data):
        yield f"{path}[{i}]", row


def _rows_parquet(path: Path) -> Iterator[tuple[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise TaskFormatError(f"{path}: reading Parquet needs pyarrow: pip install 'swegym[data]'") from None
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise TaskFormatError(f"{path}: not a readable Parquet file ({exc})") from None
    for i, row in enumerate(table.to_pylist()):
        yield f"{path}#row{i}", row


def _rows_hf(name: str, split: str | None) -> Iterator[tuple[str, Any]]:
    try:
        datasets: Any = importlib.import_module("datasets")
    except ImportError:
        raise TaskFormatError(
            f"{name}: loading a Hugging Face dataset needs `datasets`: pip install 'swegym[data]'"
        ) from None
    path = Path(name)
    try:
        if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
            ds: Any = datasets.load_from_disk(str(path))
        else:
            ds = datasets.load_dataset(name, split=split)
    except Exception as exc:
        raise TaskFormatError(f"{name}: could not load the dataset ({exc})") from None
    if isinstance(ds, datasets.DatasetDict):
        if split is None:
            split = "train" if "train" in ds else next(iter(ds))
        if split not in ds:
            raise TaskFormatError(f"{name}: no split '{split}' (has: {', '.join(ds)})")
        ds = ds[split]
    for i, row in enumerate(ds):
        yield f"{name}#row{i}", row


def _bundled_rows(split: str | None) -> Iterator[tuple[str, Any]]:
    if split is not None and split not in BUNDLED_SPLITS:
        raise TaskFormatError(f"bundled:{split}: unknown split; choose one of {', '.join(BUNDLED_SPLITS)}")
    ref = resources.files("swegym.data").joinpath("bundled.jsonl")
    with resources.as_file(ref) as path:
        for where, row in _rows_jsonl(Path(path)):
            if split in (None, "full") or (isinstance(row, dict) and row.get("split") == split):
                yield where, row


SWEGYM_HF = "SWE-Gym/SWE-Gym"


def swegym_lite_ids() -> set[str]:
    """The 230 instance ids of SWE-Gym Lite (shipped with the package)."""
    text = resources.files("swegym.data").joinpath("swegym-lite-ids.txt").read_text()
    return {line.strip() for line in text.splitlines() if line.strip()}


def _swegym_rows(source: str) -> Iterator[tuple[str, Any]]:
    """``swe-gym[:lite][:PATH]``: the official dataset from the Hub, or from a local copy."""
    parts = source.split(":", 2)[1:]
    lite = bool(parts) and parts[0] == "lite"
    if parts and parts[0] not in ("lite", "full"):
        raise TaskFormatError(f"{source}: use swe-gym, swe-gym:lite or swe-gym:lite:PATH (a local copy)")
    local = parts[1] if len(parts) > 1 else None
    rows = _source_rows(local) if local else _rows_hf(SWEGYM_HF, "train")
    keep = swegym_lite_ids() if lite else None
    try:
        for where, row in rows:
            if keep is None or (isinstance(row, dict) and row.get("instance_id") in keep):
                yield where, row
    except TaskFormatError as exc:
        if local:
            raise
        first = str(exc).splitlines()[0][:200]
        raise TaskFormatError(
            f"{first}; without access to the Hugging Face Hub, save {SWEGYM_HF} elsewhere "
            "(datasets' save_to_disk or a .parquet/.jsonl file) and pass --tasks swe-gym:lite:PATH"
        ) from None


def _source_rows(source: str) -> Iterator[tuple[str, Any]]:
    if source == "swe-gym" or source.startswith("swe-gym:"):
        yield from _swegym_rows(source)
        return
    if source == "bundled" or source.startswith("bundled:"):
        _, _, split = source.partition(":")
        yield from _bundled_rows(split or None)
        return
    if source.startswith("hf:"):
        name, _, split = source[3:].partition(":")
        yield from _rows_hf(name, split or None)
        return
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted([*path.glob("*.jsonl"), *path.glob("*.parquet")])
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
            yield from _rows_hf(str(path), None)
            return
        if not files:
            raise TaskFormatError(f"{path}: directory holds no .jsonl or .parquet task files")
        for f in files:
            yield from _source_rows(str(f))
        return
    if not path.exists():
        raise TaskFormatError(
            f"{source}: no such file; give a .jsonl/.json/.parquet file, a directory, "
            "'bundled[:lite|full]', 'swe-gym[:lite]' or 'hf:NAME[:SPLIT]'"
        )
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from _rows_jsonl(path)
    elif suffix == ".json":
        yield from _rows_json(path)
    elif suffix == ".parquet":
        yield from _rows_parquet(path)
    else:
        raise TaskFormatError(f"{path}: unknown task file type '{suffix}' (.jsonl, .json, .parquet)")


def parse_rows(rows: Iterable[tuple[str, Any]], *, skip_invalid: bool = False) -> LoadResult:
    """Validate raw rows into tasks; raise on the first bad row unless ``skip_invalid``."""
    result = LoadResult(tasks=[])
    seen: dict[str, str] = {}
    for where, row in rows:
        try:
            if isinstance(row, Exception):
                raise row
            if not isinstance(row, dict):
                raise TaskFormatError(f"{where}: expected a JSON object, got {type(row).__name__}")
            try:
                task = Task.model_validate(row)
            except ValidationError as exc:
                tid = row.get("instance_id", "?")
                raise TaskFormatError(f"{where} (task {tid}): {_describe(exc)}") from None
            if task.instance_id in seen:
                raise TaskFormatError(
                    f"{where}: duplicate instance_id '{task.instance_id}' (first at {seen[task.instance_id]})"
                )
            seen[task.instance_id] = where
            result.tasks.append(task)
        except TaskFormatError as exc:
            if not skip_invalid:
                raise
            result.errors.append(str(exc))
    return result


def load_tasks(
    source: str,
    *,
    skip_invalid: bool = False,
    ids: Iterable[str] | None = None,
) -> LoadResult:
    """Load tasks from ``source``: a file, a directory, ``bundled[:split]`` or ``hf:NAME[:split]``.

    Raises ``TaskFormatError`` with the file, line and field of the first bad row, unless
    ``skip_invalid`` is set, in which case bad rows are reported in ``LoadResult.errors``.
    """
    result = parse_rows(_source_rows(source), skip_invalid=skip_invalid)
    if ids is not None:
        wanted = list(ids)
        by_id = {t.instance_id: t for t in result.tasks}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise TaskFormatError(f"{source}: no task with id {', '.join(missing[:5])}")
        result.tasks = [by_id[i] for i in wanted]
    return result
