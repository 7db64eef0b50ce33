"""The training core shared by SFT and the verifier: TRL's SFTTrainer on pre-tokenized rows.

Rows carry ``input_ids`` and ``labels`` (-100 outside the turns that are learnt), so the loss mask
is ours and testable, and TRL only pads and trains. LoRA (PEFT) by default, full fine-tuning on
request; resumes from the newest checkpoint in ``OUT/checkpoints``; writes ``adapter/`` (LoRA),
``merged/`` (a plain transformers model that vLLM serves), ``loss.json`` and ``loss.png``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from swegym.errors import OutOfMemoryError, TrainError
from swegym.train.chat import IGNORE_INDEX
from swegym.train.deps import oom_guard, require
from swegym.train.models import load_model, load_tokenizer

log = logging.getLogger(__name__)


class TrainConfig(BaseModel):
    """Optimisation settings shared by `swegym train sft` and `swegym train verifier`."""

    model: str = "local"
    """Base model: `local`/`smollm2`, an HF `org/name`, or a model directory."""
    out: Path = Path("ckpt")
    """Checkpoint directory: `checkpoints/`, `adapter/`, `merged/`, `loss.json`, `loss.png`."""
    lora: bool = True
    """LoRA adapters (PEFT) on all linear layers; False = full fine-tuning."""
    lora_r: int = Field(default=16, ge=1)
    lora_alpha: int = Field(default=32, ge=1)
    lora_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    learning_rate: float = Field(default=1e-4, gt=0)
    epochs: float = Field(default=5.0, gt=0)
    max_steps: int = -1
    """Stop after this many optimizer steps (-1: run all epochs)."""
    per_device_batch_size: int = Field(default=1, ge=1)
    grad_accum: int = Field(default=8, ge=1)
    """Gradient accumulation; global batch = per-device batch x accumulation x processes."""
    max_length: int = Field(default=32768, ge=8)
    """Tokens per example; longer ones are cut on the right."""
    warmup_ratio: float = Field(default=0.0, ge=0.0, le=1.0)
    gradient_checkpointing: bool = False
    precision: Literal["auto", "float32", "bfloat16"] = "auto"
    """auto: bfloat16 on a GPU that has it, float32 elsewhere."""
    save_steps: int = Field(default=50, ge=1)
    logging_steps: int = Field(default=1, ge=1)
    seed: int = 0
    resume: bool = True
    """Resume from the newest checkpoint in `out/checkpoints` when there is one."""
    merge: bool = True
    """Also save the merged model (base + adapter) under `out/merged`."""
    max_memory_gb: float | None = Field(default=None, gt=0)
    """Refuse to start when the estimated peak memory is above this."""


def estimate_memory_gb(
    n_params: int, n_trainable: int, bytes_per_param: int, cfg: TrainConfig, hidden: int, layers: int
) -> float:
    """A rough peak-memory estimate: weights, grads and Adam state of trainable weights, activations."""
    weights = n_params * bytes_per_param
    optimizer = n_trainable * (4 + 4 + 4 + bytes_per_param)  # fp32 master copy, two moments, grads
    tokens = cfg.per_device_batch_size * cfg.max_length
    per_layer = tokens * hidden * (2 if cfg.gradient_checkpointing else 18) * bytes_per_param
    return (weights + optimizer + per_layer * layers) / 2**30


def _rows_to_dataset(rows: list[dict[str, Any]], max_length: int) -> Any:
    datasets = require("datasets")
    kept = []
    for r in rows:
        ids, labels = r["input_ids"][:max_length], r["labels"][:max_length]
        if any(t != IGNORE_INDEX for t in labels):
            kept.append({"input_ids": ids, "labels": labels})
    if not kept:
        raise TrainError(f"no example keeps a learnt token within --max-length {max_length}; raise it")
    return datasets.Dataset.from_list(kept)


def _wrap_lora(model: Any, cfg: TrainConfig) -> Any:
    peft = require("peft")
    lcfg = peft.LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return peft.get_peft_model(model, lcfg)


def _check_memory(model: Any, cfg: TrainConfig) -> float:
    n = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    bpp = next(model.parameters()).element_size()
    mc = model.config
    est = estimate_memory_gb(
        n, trainable, bpp, cfg, getattr(mc, "hidden_size", 1024), getattr(mc, "num_hidden_layers", 12)
    )
    if cfg.max_memory_gb is not None and est > cfg.max_memory_gb:
        raise OutOfMemoryError(
            f"estimated peak memory {est:.1f} GB is above --max-memory-gb {cfg.max_memory_gb:g}; lower "
            "--max-length or --batch-size, use LoRA, or turn on --gradient-checkpointing"
        )
    return est


def _trl_args(cfg: TrainConfig, bf16: bool) -> Any:
    trl = require("trl")
    return trl.SFTConfig(
        output_dir=str(cfg.out / "checkpoints"),
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        max_length=cfg.max_length,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float below 1 is a ratio of all steps
        gradient_checkpointing=cfg.gradient_checkpointing,
        bf16=bf16,
        logging_steps=cfg.logging_steps,
        save_steps=cfg.save_steps,
        save_total_limit=2,
        seed=cfg.seed,
        report_to="none",
        lr_scheduler_type="constant" if cfg.max_steps > 0 and cfg.max_steps < 20 else "cosine",
        dataloader_num_workers=0,
        disable_tqdm=True,
    )


def build_trainer(cfg: TrainConfig, rows: list[dict[str, Any]]) -> Any:
    """A TRL ``SFTTrainer`` for ``rows`` (pre-tokenized: ``input_ids`` and ``labels``)."""
    torch = require("torch")
    trl = require("trl")
    bf16 = cfg.precision == "bfloat16" or (
        cfg.precision == "auto" and torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    )
    tokenizer = load_tokenizer(cfg.model)
    model = load_model(cfg.model, dtype="bfloat16" if bf16 and not cfg.lora else "float32")
    if cfg.lora:
        model = _wrap_lora(model, cfg)
    _check_memory(model, cfg)
    return trl.SFTTrainer(
        model=model,
        args=_trl_args(cfg, bf16),
        train_dataset=_rows_to_dataset(rows, cfg.max_length),
        processing_class=tokenizer,
    )


def train(cfg: TrainConfig, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Train on ``rows``, save adapter/merged model and loss curves; return a summary."""
    transformers = require("transformers")
    cfg.out.mkdir(parents=True, exist_ok=True)
    (cfg.out / "train_config.json").write_text(cfg.model_dump_json(indent=2))
    advice = "lower --max-length or --batch-size, use LoRA, or turn on --gradient-checkpointing"
    with oom_guard("training", advice):
        trainer = build_trainer(cfg, rows)
        ckpt_dir = cfg.out / "checkpoints"
        last = transformers.trainer_utils.get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None
        trainer.train(resume_from_checkpoint=last if cfg.resume else None)
    history = [h for h in trainer.state.log_history if "loss" in h]
    from swegym.train.curves import write_curves

    write_curves(history, cfg.out)
    tokenizer = trainer.processing_class
    _save(trainer.model, tokenizer, cfg)
    return {
        "steps": trainer.state.global_step,
        "resumed_from": last,
        "losses": [h["loss"] for h in history],
        "out": str(cfg.out),
    }


def _save(model: Any, tokenizer: Any, cfg: TrainConfig) -> None:
    if cfg.lora:
        model.save_pretrained(str(cfg.out / "adapter"))
        tokenizer.save_pretrained(str(cfg.out / "adapter"))
        (cfg.out / "adapter" / "swegym_base_model.json").write_text(json.dumps({"model": cfg.model}))
        if cfg.merge:
            merged = model.merge_and_unload()
            merged.save_pretrained(str(cfg.out / "merged"))
    else:
        model.save_pretrained(str(cfg.out / "merged"))
    if cfg.merge or not cfg.lora:
        tokenizer.save_pretrained(str(cfg.out / "merged"))


def load_adapter_model(ckpt: Path) -> Any:
    """The base model with ``ckpt/adapter`` applied (unmerged), for checking a saved adapter."""
    peft = require("peft")
    base = json.loads((ckpt / "adapter" / "swegym_base_model.json").read_text())["model"]
    return peft.PeftModel.from_pretrained(load_model(base, dtype="float32"), str(ckpt / "adapter"))
