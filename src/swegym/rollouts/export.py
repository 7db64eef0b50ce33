"""Exporting a run: JSONL, Parquet, a Hugging Face dataset, SWE-bench predictions."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from swegym.agent.schemas import TOOLS
from swegym.errors import SwegymError
from swegym.rollouts.store import RunStore

FORMATS = ("jsonl", "parquet", "hf", "predictions")


def _rows(store: RunStore) -> list[dict[str, Any]]:
    """Each episode's columns and messages as JSON values, plus the tool schemas it was given."""
    return [
        {**ep.model_dump(mode="json", exclude={"run"}), "tools": TOOLS}
        for ep in store.episodes(with_messages=True)
    ]


def export_run(store: RunStore, fmt: str, out: Path, *, sample: int | None = None) -> int:
    """Write the run's finished episodes to ``out`` in ``fmt``; return the number of rows."""
    if fmt not in FORMATS:
        raise SwegymError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "predictions":
        return _predictions(store, out, sample or 0)
    rows = _rows(store)
    if fmt == "jsonl":
        with out.open("w", encoding="utf-8") as fh:
            for r in rows:
                fh.write(json.dumps(r) + "\n")
        return len(rows)
    flat = [
        {
            **r,
            "messages": json.dumps(r["messages"]),
            "tools": json.dumps(r["tools"]),
            "report": json.dumps(r["report"]),
        }
        for r in rows
    ]
    if fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise SwegymError("Parquet export needs pyarrow: pip install 'swegym[data]'") from None
        pq.write_table(pa.Table.from_pylist(flat), out)
        return len(rows)
    try:
        datasets: Any = importlib.import_module("datasets")
    except ImportError:
        raise SwegymError("Hugging Face export needs datasets: pip install 'swegym[data]'") from None
    # messages and tools stay JSON strings: tool-call arguments have no fixed schema for Arrow.
    datasets.Dataset.from_list(flat).save_to_disk(str(out))
    return len(rows)


def _predictions(store: RunStore, out: Path, sample: int) -> int:
    n = 0
    with out.open("w", encoding="utf-8") as fh:
        for ep in store.episodes():
            if ep.sample != sample:
                continue
            pred = {
                "instance_id": ep.instance_id,
                "model_name_or_path": ep.model,
                "model_patch": ep.diff or "",
            }
            fh.write(json.dumps(pred) + "\n")
            n += 1
    return n
