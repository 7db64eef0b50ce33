"""`swegym train grpo`: online RL with the environment's reward (registered in `train_cmd`)."""

from __future__ import annotations

from pathlib import Path

import typer

from swegym.cli.common import TASKS_HELP, IdsOpt, MirrorOpt, MirrorRootOpt, SkipOpt, get_tasks, mirrors


def grpo(
    tasks: str | None = typer.Option(None, "--tasks", "-t", help=TASKS_HELP + " [default: bundled:lite]"),
    ids: list[str] = IdsOpt,
    model: str | None = typer.Option(
        None, "--model", "-m", help="local-tiny (default), HF org/name, a path."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run directory [default: runs/grpo]."),
    group_size: int | None = typer.Option(
        None, "--group-size", "-G", min=2, help="Episodes per task per step [4]."
    ),
    steps: int | None = typer.Option(None, "--steps", "-N", min=1, help="Optimizer steps in total [10]."),
    tasks_per_step: int | None = typer.Option(None, "--tasks-per-step", min=1, help="[1]"),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate [1e-5]."),
    full: bool | None = typer.Option(None, "--full/--lora", help="All weights, or LoRA adapters (default)."),
    temperature: float | None = typer.Option(None, "--temperature", "-T", help="[1.0]"),
    max_turns: int | None = typer.Option(None, "--max-turns", min=1, help="Tool calls per episode [8]."),
    max_new_tokens: int | None = typer.Option(
        None, "--max-new-tokens", min=1, help="Tokens per reply [256]."
    ),
    max_completion_tokens: int | None = typer.Option(
        None, "--max-completion-tokens", help="Tokens per episode after the prompt [4096]."
    ),
    max_obs: int | None = typer.Option(None, "--max-observation-chars", help="[4000]"),
    save_steps: int | None = typer.Option(None, "--save-steps", min=1, help="Checkpoint every N steps [1]."),
    seed: int | None = typer.Option(None, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint in OUT."),
    vllm_mode: str | None = typer.Option(
        None, "--vllm-mode", help="off (default), server or colocate (GPU)."
    ),
    vllm_server_url: str | None = typer.Option(None, "--vllm-server-url", help="trl vllm-serve's URL."),
    config: Path | None = typer.Option(None, "--config", help="A JSON GRPOTrainConfig; options override it."),
    mirror: list[str] = MirrorOpt,
    mirror_root: Path | None = MirrorRootOpt,
    skip_invalid: bool = SkipOpt,
) -> None:
    """GRPO with multi-turn tool use in the sandbox; reward from the tests. Checkpoints, --resume.

    Example: swegym train grpo --tasks bundled:lite --model local-tiny -G 2 --steps 2 --out runs/grpo
    """
    from swegym.train.grpo import load_config, make_config, run_grpo

    opts = {
        "tasks": tasks,
        "model": model,
        "out": out,
        "group_size": group_size,
        "steps": steps,
        "tasks_per_step": tasks_per_step,
        "learning_rate": lr,
        "lora": None if full is None else not full,
        "temperature": temperature,
        "max_turns": max_turns,
        "max_new_tokens": max_new_tokens,
        "max_completion_tokens": max_completion_tokens,
        "max_observation_chars": max_obs,
        "save_steps": save_steps,
        "seed": seed,
        "vllm_mode": vllm_mode,
        "vllm_server_url": vllm_server_url,
    }
    values = load_config(config) if config else {}
    values.update({k: v for k, v in opts.items() if v is not None})
    values["resume"] = resume
    if mirror or mirror_root:
        values["env"] = {**values.get("env", {}), "mirrors": mirrors(mirror, mirror_root)}
    cfg = make_config(values, str(config) if config else "options")
    summary = run_grpo(cfg, get_tasks(cfg.tasks, ids, skip_invalid))
    resumed = f", resumed from {summary.resumed_from}" if summary.resumed_from else ""
    mean = "-" if summary.mean_reward is None else f"{summary.mean_reward:.3f}"
    typer.echo(
        f"GRPO: {summary.steps} steps{resumed}; {summary.episodes} episodes in {cfg.out}/rollouts.db "
        f"(mean reward {mean}); checkpoint {summary.checkpoint}"
    )
