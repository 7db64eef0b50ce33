"""Outcome verifiers: balanced YES/NO judge data, LoRA training, and scoring episodes with P(YES)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from swegym.errors import TrainError
from swegym.harness.verdict import Outcome
from swegym.rollouts.records import EpisodeRecord
from swegym.train.chat import tokenize_prompt_completion
from swegym.train.deps import oom_guard, quiet_hf, require
from swegym.train.episodes import load_episodes
from swegym.train.judge import LABELS, judge_messages
from swegym.train.models import load_model, load_tokenizer
from swegym.train.scoring import p_yes, render_prompt
from swegym.train.trainer import TrainConfig, train


class VerifierDataConfig(BaseModel):
    """`swegym train data verifier`: judge examples from resolved and unresolved episodes."""

    runs: list[Path]
    out: Path
    max_chars: int = Field(default=24000, ge=500)
    """Bound on the flattened trajectory in the prompt (cut in the middle, with a marker)."""
    balance: bool = True
    """Down-sample the larger class so that YES and NO are equally frequent."""
    seed: int = 0


def build_verifier_rows(cfg: VerifierDataConfig, episodes: list[EpisodeRecord]) -> list[dict[str, Any]]:
    """One row per graded episode: ``prompt`` (messages), ``completion`` (YES/NO), ``label``."""
    # An infrastructure error says nothing about the patch, so it is neither a YES nor a NO; a
    # tampered episode is a NO even if it claims to be resolved (its results were forged).
    pos = [e for e in episodes if e.resolved and not e.tampered]
    neg = [e for e in episodes if e.tampered or (not e.resolved and e.outcome != Outcome.INFRA_ERROR)]
    if not pos or not neg:
        raise TrainError(
            f"verifier data needs resolved and unresolved episodes; got {len(pos)} resolved, {len(neg)} not"
        )
    rng = random.Random(cfg.seed)
    if cfg.balance:
        n = min(len(pos), len(neg))
        pos, neg = rng.sample(pos, n), rng.sample(neg, n)
    rows = []
    for label, ep in [(1, e) for e in pos] + [(0, e) for e in neg]:
        rows.append(
            {
                "prompt": judge_messages(ep, cfg.max_chars),
                "completion": [{"role": "assistant", "content": LABELS[0] if label else LABELS[1]}],
                "label": label,
                "instance_id": ep.instance_id,
                "run": ep.run,
                "sample": ep.sample,
            }
        )
    rng.shuffle(rows)
    return rows


def write_verifier_dataset(cfg: VerifierDataConfig) -> dict[str, Any]:
    """Build and save the judge dataset (TRL prompt-completion shape); return its stats."""
    datasets = require("datasets")
    quiet_hf()
    rows = build_verifier_rows(cfg, load_episodes(cfg.runs))
    cfg.out.mkdir(parents=True, exist_ok=True)
    datasets.Dataset.from_list(rows).save_to_disk(str(cfg.out / "dataset"))
    stats = {
        "examples": len(rows),
        "yes": sum(r["label"] for r in rows),
        "no": sum(1 - r["label"] for r in rows),
        "tasks": len({r["instance_id"] for r in rows}),
        "config": json.loads(cfg.model_dump_json()),
    }
    (cfg.out / "stats.json").write_text(json.dumps(stats, indent=2))
    return stats


class VerifierConfig(TrainConfig):
    """`swegym train verifier`: LoRA on the judge data; the target is one word, YES or NO."""

    data: Path
    """A directory made by `swegym train data verifier`."""
    epochs: float = 2.0
    grad_accum: int = 4


def _prompt_completion_text(tokenizer: Any, row: dict[str, Any]) -> tuple[str, str]:
    prompt = render_prompt(tokenizer, row["prompt"])
    full = str(tokenizer.apply_chat_template([*row["prompt"], *row["completion"]], tokenize=False))
    if not full.startswith(prompt):
        raise TrainError("the chat template renders the judge prompt differently once the answer follows")
    return prompt, full[len(prompt) :]


def run_verifier_training(cfg: VerifierConfig) -> dict[str, Any]:
    """Train the verifier on ``cfg.data``; the loss is on the answer (and end of turn) only."""
    datasets = require("datasets")
    where = cfg.data / "dataset"
    if not where.is_dir():
        raise TrainError(
            f"{cfg.data}: no dataset; make one with `swegym train data verifier --out {cfg.data}`"
        )
    rows = list(datasets.load_from_disk(str(where)))
    tokenizer = load_tokenizer(cfg.model)
    tokenized = [tokenize_prompt_completion(tokenizer, *_prompt_completion_text(tokenizer, r)) for r in rows]
    summary = train(cfg, tokenized)
    data_cfg = json.loads((cfg.data / "stats.json").read_text()).get("config", {})
    (cfg.out / "verifier.json").write_text(json.dumps({"max_chars": data_cfg.get("max_chars", 24000)}))
    summary["examples"] = len(tokenized)
    return summary


class Verifier:
    """A trained verifier (``CKPT/merged``, or any causal LM) that scores episodes with P(YES)."""

    def __init__(self, ckpt: str, max_chars: int | None = None) -> None:
        meta = Path(ckpt) / "verifier.json"
        saved = json.loads(meta.read_text()) if meta.exists() else {}
        self.max_chars = max_chars or int(saved.get("max_chars", 24000))
        self.tokenizer = load_tokenizer(ckpt)
        self.model = load_model(ckpt, dtype="float32")
        torch = require("torch")
        if torch.cuda.is_available():
            self.model = self.model.to("cuda")
        self.model.eval()

    def score(self, episode: EpisodeRecord) -> float:
        """P(YES) for one episode (with its messages and diff)."""
        with oom_guard("scoring", "lower --max-chars so that the judge prompt is shorter"):
            return p_yes(self.model, self.tokenizer, judge_messages(episode, self.max_chars))
