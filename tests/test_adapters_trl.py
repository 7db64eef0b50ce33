"""The TRL adapter inside TRL's own loop: ``GRPOTrainer.train()`` calls the rollout function,
which plays real sandbox episodes on a bundled task; the oracle's earns 1.0, a wrong edit 0.0,
and the advantage between them moves the weights."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from swegym.agent.models.scripted import oracle_model, wrong_model
from swegym.rollouts.store import RunStore
from swegym.tasks.loaders import load_tasks
from test_train_grpo import TASK, tiny_model  # noqa: F401  (tiny_model is a fixture)

trl = pytest.importorskip("trl")
pytestmark = pytest.mark.sandbox


def test_grpo_trainer_step_on_oracle_and_wrong_episodes(tiny_model: Path, tmp_path: Path) -> None:  # noqa: F811
    import torch
    import transformers

    from swegym.adapters.episode import AdapterConfig
    from swegym.adapters.trl import ScriptedGenerator, grpo_dataset, make_rollout_func, reward_funcs

    task = load_tasks("bundled:lite", ids=[TASK]).tasks[0]
    tok = transformers.AutoTokenizer.from_pretrained(tiny_model)
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model)
    scripts = itertools.cycle([oracle_model, wrong_model])
    store = RunStore(tmp_path / "run")
    rollout = make_rollout_func(
        [task],
        tok,
        AdapterConfig(max_turns=6, max_observation_chars=300),
        max_new_tokens=1024,
        generator_for=lambda trainer: ScriptedGenerator(next(scripts)(task), tok),
        store=store,
    )
    args = trl.GRPOConfig(
        output_dir=str(tmp_path / "out"),
        per_device_train_batch_size=2,
        num_generations=2,
        max_steps=1,
        learning_rate=1e-2,
        max_completion_length=4096,
        bf16=False,
        save_strategy="no",
        logging_steps=1,
        report_to="none",
        disable_tqdm=True,
    )
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=reward_funcs(),
        args=args,
        train_dataset=grpo_dataset([task]),
        processing_class=tok,
        rollout_func=rollout,
    )
    before = [p.detach().clone() for p in model.parameters()]
    trainer.train()

    episodes = sorted(store.episodes(), key=lambda e: e.sample)
    assert [(e.outcome, e.reward) for e in episodes] == [("resolved", 1.0), ("tests_failed", 0.0)]
    oracle_run = next(iter(store.episodes(with_messages=True)))
    assert any("git apply" in (m["content"] or "") for m in oracle_run.messages or [])
    logged = trainer.state.log_history[0]
    assert logged["rewards/tests_reward/mean"] == 0.5 and logged["reward_std"] > 0
    assert any(not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters(), strict=True))
