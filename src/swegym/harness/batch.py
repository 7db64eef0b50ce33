"""Running many tasks in parallel with progress, writing each result as it lands (resumable)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from swegym.executors import current_executor, env_group

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)


def read_done(path: Path, key: str = "instance_id") -> dict[str, dict[str, object]]:
    """Results already written to ``path`` (a JSONL journal); a torn last line is ignored."""
    done: dict[str, dict[str, object]] = {}
    if not path.exists():
        return done
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash: that task simply runs again
            if isinstance(row, dict) and key in row:
                done[str(row[key])] = row
    return done


class Journal:
    """Append-only JSONL file; each line is flushed and fsynced before it counts as done."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair(path)
        self.fh = path.open("a", encoding="utf-8")
        self.lock = threading.Lock()

    @staticmethod
    def _repair(path: Path) -> None:
        # A kill mid-write can leave a partial last line; end it so the next append is clean.
        if path.exists() and path.stat().st_size:
            with path.open("rb+") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")

    def write(self, row: BaseModel) -> None:
        line = row.model_dump_json() + "\n"
        with self.lock:
            self.fh.write(line)
            self.fh.flush()
            os.fsync(self.fh.fileno())

    def close(self) -> None:
        self.fh.close()


def run_batch(
    items: Iterable[T],
    work: Callable[[T], R],
    journal_path: Path,
    *,
    key: Callable[[T], str],
    workers: int,
    label: str,
    describe: Callable[[R], str] = lambda r: "",
    quiet: bool = False,
    fingerprint: Callable[[T], str] | None = None,
    on_error: Callable[[T, Exception], R] | None = None,
) -> list[R]:
    """Run ``work`` over the items that the journal does not hold yet; return the new results.

    A journaled result counts as done only if it is not an error and its ``fingerprint`` (a
    hash of what produced it: the patch, the task, the settings) matches; so a changed input is
    redone and transient errors are retried. An unexpected exception in one item becomes that
    item's result through ``on_error``. On Ctrl-C, queued items are cancelled at once.
    """
    done = read_done(journal_path)

    def finished(it: T) -> bool:
        row = done.get(key(it))
        if row is None or row.get("status") == "error":
            return False
        return fingerprint is None or row.get("fingerprint") == fingerprint(it)

    def one(it: T) -> R:
        try:
            res = work(it)
        except Exception as exc:
            if on_error is None:
                raise
            res = on_error(it, exc)
        if fingerprint is not None:
            res = res.model_copy(update={"fingerprint": fingerprint(it)})
        return res

    todo = [it for it in items if not finished(it)]
    journal = Journal(journal_path)
    try:
        return _run_pool(todo, one, journal, workers, label, describe, quiet)
    finally:
        journal.close()


def _run_pool(
    todo: list[T],
    one: Callable[[T], R],
    journal: Journal,
    workers: int,
    label: str,
    describe: Callable[[R], str],
    quiet: bool,
) -> list[R]:
    """``one`` over ``todo`` on the current executor (a thread pool unless the caller chose Ray),
    journaling each result as it lands, with progress."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    results: list[R] = []
    progress = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[last]}"),
        disable=quiet,
        transient=False,
    )
    units = current_executor().map(one, todo, workers=workers, group=env_group)
    with progress, contextlib.closing(units) as done:
        bar = progress.add_task(label, total=len(todo), last="")
        for res in done:
            journal.write(res)
            results.append(res)
            progress.update(bar, advance=1, last=describe(res))
    return results


def fingerprint_of(*parts: object) -> str:
    """A short stable hash of JSON-able parts (pydantic models are dumped first)."""
    import hashlib

    blob = json.dumps(
        [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in parts], sort_keys=True
    ).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def out_paths(out: Path) -> tuple[Path, Path, Path]:
    """(journal, summary, logs dir) kept next to an output file ``out``."""
    return (
        out.with_name(out.name + ".results.jsonl"),
        out.with_name(out.name + ".summary.json"),
        out.with_name(out.name + ".logs"),
    )
