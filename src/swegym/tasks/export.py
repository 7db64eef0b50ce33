"""Writing tasks to JSONL or Parquet."""

from __future__ import annotations

import json
from pathlib import Path

from swegym.errors import TaskFormatError
from swegym.tasks.model import Task


def _row(task: Task, json_strings: bool) -> dict[str, object]:
    row = task.model_dump(exclude_none=True)
    if json_strings:
        row["FAIL_TO_PASS"] = json.dumps(task.FAIL_TO_PASS)
        row["PASS_TO_PASS"] = json.dumps(task.PASS_TO_PASS)
    return row


def export_tasks(tasks: list[Task], out: Path, *, json_strings: bool = False) -> None:
    """Write ``tasks`` to ``out`` (.jsonl or .parquet), atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        with tmp.open("w", encoding="utf-8") as fh:
            for t in tasks:
                fh.write(json.dumps(_row(t, json_strings), sort_keys=True) + "\n")
    elif suffix == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise TaskFormatError(
                f"{out}: writing Parquet needs pyarrow: pip install 'swegym[data]'"
            ) from None
        rows = [_row(t, json_strings) for t in tasks]
        for r in rows:
            r["meta"] = json.dumps(r.get("meta", {}))
        pq.write_table(pa.Table.from_pylist(rows), tmp)
    else:
        raise TaskFormatError(f"{out}: unknown output type '{suffix}' (.jsonl or .parquet)")
    tmp.replace(out)
