"""`swegym train sft`: fine-tune a model on an SFT dataset (loss on assistant turns only)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from swegym.errors import TrainError
from swegym.train.chat import prepare_messages, tokenize_conversation
from swegym.train.deps import require
from swegym.train.models import load_tokenizer
from swegym.train.sft_data import strip_empty
from swegym.train.trainer import TrainConfig, train

#: Named settings. ``paper``: SWE-Gym's SFT (lr 1e-4, 5 epochs, global batch 8, 32k context; the
#: paper fine-tuned all weights, so add ``--full`` to match it exactly). ``cpu-tiny``: a few steps
#: of a tiny model on a CPU, to check the loop.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {
        "learning_rate": 1e-4,
        "epochs": 5.0,
        "per_device_batch_size": 1,
        "grad_accum": 8,
        "max_length": 32768,
        "warmup_ratio": 0.03,
        "gradient_checkpointing": True,
        "precision": "auto",
    },
    "cpu-tiny": {
        "learning_rate": 1e-3,
        "epochs": 1.0,
        "max_steps": 4,
        "per_device_batch_size": 1,
        "grad_accum": 1,
        "max_length": 1024,
        "save_steps": 2,
    },
}


class SFTConfig(TrainConfig):
    """`swegym train sft`: the optimisation settings plus where the data is and how to render it."""

    data: Path
    """A directory made by `swegym train data sft` (or a saved dataset with `messages` and `tools`)."""
    text_tool_calls: bool = False
    """Render native tool calls as SWE-Gym text calls (always done when the template lacks tools)."""


def apply_preset(name: str | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """The preset's settings with explicit ``overrides`` on top."""
    if name is None:
        return overrides
    if name not in PRESETS:
        raise TrainError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return {**PRESETS[name], **overrides}


def load_sft_dataset(data: Path) -> list[dict[str, Any]]:
    """The rows of an SFT dataset directory (``DIR/dataset`` or ``DIR`` itself)."""
    datasets = require("datasets")
    where = data / "dataset" if (data / "dataset").is_dir() else data
    if not where.is_dir():
        raise TrainError(f"{data}: no dataset there; make one with `swegym train data sft --out {data}`")
    try:
        ds = datasets.load_from_disk(str(where))
    except (FileNotFoundError, ValueError) as exc:
        raise TrainError(f"{where}: not a saved Hugging Face dataset ({exc})") from None
    if "messages" not in ds.column_names or len(ds) == 0:
        raise TrainError(f"{where}: expected a non-empty dataset with a 'messages' column")
    return list(ds)


def tokenize_rows(rows: list[dict[str, Any]], tokenizer: Any, text_tool_calls: bool) -> list[dict[str, Any]]:
    """Each row's conversation as ``input_ids``, ``assistant_masks`` and ``labels``."""
    out = []
    for row in rows:
        tools = json.loads(row["tools"]) if isinstance(row.get("tools"), str) else (row.get("tools") or [])
        msgs, shown_tools = prepare_messages(tokenizer, strip_empty(row["messages"]), tools, text_tool_calls)
        out.append(tokenize_conversation(tokenizer, msgs, shown_tools))
    return out


def run_sft(cfg: SFTConfig) -> dict[str, Any]:
    """Fine-tune ``cfg.model`` on ``cfg.data``; see :func:`swegym.train.trainer.train`."""
    rows = load_sft_dataset(cfg.data)
    tokenizer = load_tokenizer(cfg.model)
    tokenized = tokenize_rows(rows, tokenizer, cfg.text_tool_calls)
    summary = train(cfg, tokenized)
    summary["examples"] = len(tokenized)
    return summary
