"""`swegym train data sft|verifier`, `swegym train sft`, `swegym train verifier`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from swegym.cli.train_grpo_cmd import grpo

app = typer.Typer(
    help="Training from trajectories: SFT data and fine-tuning, verifiers.", no_args_is_help=True
)
data_app = typer.Typer(help="Build training datasets from rollout runs.", no_args_is_help=True)
app.add_typer(data_app, name="data")
app.command("grpo")(grpo)

RunsOpt = typer.Option(..., "--runs", help="Rollout run directories (repeatable).")


@data_app.command("sft")
def data_sft(
    runs: list[Path] = RunsOpt,
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (dataset/ and stats.json)."),
    model: str = typer.Option("local", "--model", "-m", help="Target model (its tokenizer counts tokens)."),
    max_per_task: int | None = typer.Option(None, "--max-per-task", help="Cap trajectories per task."),
    dedupe: bool = typer.Option(True, "--dedupe/--keep-duplicates"),
    max_tokens: int | None = typer.Option(None, "--max-tokens", help="Drop longer trajectories."),
    text_tool_calls: bool = typer.Option(False, "--text-tool-calls/--native-tool-calls"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """SFT data from resolved episodes (TRL conversational shape: messages with tool calls, tools).

    Example: swegym train data sft --runs runs/oracle --runs runs/qwen --max-per-task 2 --out data/sft
    """
    from swegym.train.sft_data import SFTDataConfig, render_stats, write_sft_dataset

    cfg = SFTDataConfig(
        runs=runs,
        out=out,
        model=model,
        max_per_task=max_per_task,
        dedupe=dedupe,
        max_tokens=max_tokens,
        text_tool_calls=text_tool_calls,
        seed=seed,
    )
    stats = write_sft_dataset(cfg)
    typer.echo(render_stats(stats))
    typer.echo(f"wrote {out}/dataset and {out}/stats.json")


@data_app.command("verifier")
def data_verifier(
    runs: list[Path] = RunsOpt,
    out: Path = typer.Option(..., "--out", "-o"),
    max_chars: int = typer.Option(24000, "--max-chars", help="Trajectory length in the prompt (middle cut)."),
    balance: bool = typer.Option(True, "--balance/--no-balance"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Balanced YES/NO judge examples from resolved and unresolved episodes.

    Example: swegym train data verifier --runs runs/qwen --out data/verifier
    """
    from swegym.train.verifier import VerifierDataConfig, write_verifier_dataset

    stats = write_verifier_dataset(
        VerifierDataConfig(runs=runs, out=out, max_chars=max_chars, balance=balance, seed=seed)
    )
    typer.echo(
        f"{stats['examples']} examples ({stats['yes']} YES, {stats['no']} NO) "
        f"from {stats['tasks']} tasks -> {out}"
    )


def _train_overrides(**opts: Any) -> dict[str, Any]:
    return {k: v for k, v in opts.items() if v is not None}


def _report(summary: dict[str, Any]) -> None:
    losses = summary.get("losses") or []
    first, last = (f"{losses[0]:.3f}", f"{losses[-1]:.3f}") if losses else ("-", "-")
    resumed = f", resumed from {summary['resumed_from']}" if summary.get("resumed_from") else ""
    typer.echo(
        f"trained {summary['steps']} steps on {summary['examples']} examples{resumed}; "
        f"loss {first} -> {last}; wrote {summary['out']} (loss.json, loss.png)"
    )


LR = typer.Option(None, "--lr", help="Learning rate.")
EPOCHS = typer.Option(None, "--epochs")
STEPS = typer.Option(None, "--max-steps", help="Stop after N optimizer steps.")
BATCH = typer.Option(None, "--batch-size", help="Per-device batch size.")
ACCUM = typer.Option(None, "--grad-accum", help="Gradient accumulation steps.")
MAXLEN = typer.Option(None, "--max-length", help="Tokens per example.")
MEM = typer.Option(None, "--max-memory-gb", help="Refuse to start above this memory estimate.")
GC = typer.Option(None, "--gradient-checkpointing/--no-gradient-checkpointing")


@app.command("sft")
def sft(
    data: Path = typer.Option(..., "--data", help="Directory made by `swegym train data sft`."),
    model: str = typer.Option("local", "--model", "-m", help="local/smollm2, an HF org/name, or a path."),
    out: Path = typer.Option(..., "--out", "-o", help="Checkpoint directory."),
    preset: str | None = typer.Option(None, "--preset", help="paper (SWE-Gym's settings) or cpu-tiny."),
    full: bool = typer.Option(False, "--full", help="Full fine-tuning instead of LoRA."),
    text_tool_calls: bool = typer.Option(False, "--text-tool-calls/--native-tool-calls"),
    lr: float | None = LR,
    epochs: float | None = EPOCHS,
    max_steps: int | None = STEPS,
    batch_size: int | None = BATCH,
    grad_accum: int | None = ACCUM,
    max_length: int | None = MAXLEN,
    max_memory_gb: float | None = MEM,
    gradient_checkpointing: bool | None = GC,
    resume: bool = typer.Option(True, "--resume/--no-resume"),
) -> None:
    """Fine-tune on SFT data (loss on assistant turns only); LoRA by default. Resumes.

    Example: swegym train sft --data data/sft --model Qwen/Qwen2.5-7B-Instruct --preset paper --out ckpt/sft
    Multi-GPU: accelerate launch --num_processes 4 -m swegym train sft ...
    """
    from swegym.train.sft import SFTConfig, apply_preset, run_sft

    opts = _train_overrides(
        learning_rate=lr,
        epochs=epochs,
        max_steps=max_steps,
        per_device_batch_size=batch_size,
        grad_accum=grad_accum,
        max_length=max_length,
        max_memory_gb=max_memory_gb,
        gradient_checkpointing=gradient_checkpointing,
    )
    settings = apply_preset(preset, opts)
    cfg = SFTConfig(data=data, model=model, out=out, lora=not full, resume=resume, **settings)
    cfg = cfg.model_copy(update={"text_tool_calls": text_tool_calls})
    _report(run_sft(cfg))


@app.command("verifier")
def verifier(
    data: Path = typer.Option(..., "--data", help="Directory made by `swegym train data verifier`."),
    model: str = typer.Option("local", "--model", "-m"),
    out: Path = typer.Option(..., "--out", "-o"),
    lr: float | None = LR,
    epochs: float | None = EPOCHS,
    max_steps: int | None = STEPS,
    batch_size: int | None = BATCH,
    grad_accum: int | None = ACCUM,
    max_length: int | None = MAXLEN,
    max_memory_gb: float | None = MEM,
    gradient_checkpointing: bool | None = GC,
    resume: bool = typer.Option(True, "--resume/--no-resume"),
) -> None:
    """Train a YES/NO verifier with LoRA; its score is P(YES) over the tokenizer's answer ids.

    Example: swegym train verifier --data data/verifier --model Qwen/Qwen2.5-7B-Instruct --out ckpt/verifier
    """
    from swegym.train.verifier import VerifierConfig, run_verifier_training

    opts = _train_overrides(
        learning_rate=lr,
        epochs=epochs,
        max_steps=max_steps,
        per_device_batch_size=batch_size,
        grad_accum=grad_accum,
        max_length=max_length,
        max_memory_gb=max_memory_gb,
        gradient_checkpointing=gradient_checkpointing,
    )
    cfg = VerifierConfig(data=data, model=model, out=out, resume=resume, **opts)
    _report(run_verifier_training(cfg))
    typer.echo(json.dumps({"verifier": str(out)}))
