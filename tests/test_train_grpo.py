"""`swegym train grpo` end to end on the CPU: TRL's GRPOTrainer, sandbox episodes, store, resume.

The policy is a tiny randomly initialised model with SmolLM2's tokenizer and chat template (the
`local-tiny` model's, from the bundled GGUF), so that two GRPO steps with real multi-turn episodes
on a bundled task fit in CI's budget; `local-tiny` itself runs the same code path, only slower.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from swegym.errors import ModelError, TrainError
from swegym.tasks.loaders import load_tasks
from swegym.train.grpo import GRPOTrainConfig, run_grpo

pytest.importorskip("trl")
pytest.importorskip("peft")
pytestmark = pytest.mark.sandbox

TASK = "tkem__cachetools.5.3.2.compare_op__c08b813b"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer model (random weights) saved with local-tiny's tokenizer."""
    import torch
    import transformers

    from swegym.train.models import resolve_model

    src = resolve_model("local")
    out = tmp_path_factory.mktemp("tiny-model")
    config = transformers.AutoConfig.from_pretrained(src)
    config.update(
        {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    )
    config.update({"num_key_value_heads": 1, "head_dim": 16})
    torch.manual_seed(0)
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(out)
    transformers.AutoTokenizer.from_pretrained(src).save_pretrained(out)
    return out


def grpo(out: Path, model: Path, steps: int, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["--tasks", "bundled:lite", "--id", TASK, "--model", str(model), "--out", str(out)]
    args += ["--group-size", "2", "--steps", str(steps), "--max-turns", "2", "--max-new-tokens", "16"]
    args += ["--max-completion-tokens", "256", "--max-observation-chars", "300", *extra]
    env = {"TRL_EXPERIMENTAL_SILENCE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "swegym", "train", "grpo", *args],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **env},
    )


def episodes(out: Path) -> list[tuple[str, int, str, float]]:
    with sqlite3.connect(out / "rollouts.db") as con:
        return con.execute(
            "SELECT instance_id, sample, outcome, reward FROM episodes WHERE status='done' ORDER BY sample"
        ).fetchall()


def test_grpo_two_steps_store_checkpoint_and_resume(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    task = load_tasks("bundled:lite", ids=[TASK]).tasks
    # Step 1 through the library (in this process), step 2 through the command line.
    cfg = GRPOTrainConfig(out=out, model=str(tiny_model), group_size=2, steps=1, tasks="bundled:lite")
    cfg = cfg.model_copy(update={"max_turns": 2, "max_new_tokens": 16, "max_completion_tokens": 256})
    first = run_grpo(cfg.model_copy(update={"max_observation_chars": 300}), task)
    assert first.steps == 1 and first.episodes == 2 and first.checkpoint and first.resumed_from is None
    assert (out / "checkpoints" / "checkpoint-1" / "trainer_state.json").exists()
    rows = episodes(out)
    assert [(r[0], r[1]) for r in rows] == [(TASK, 0), (TASK, 1)]
    # A random model writes no tool call: every episode is graded (no diff) and scored 0.
    assert all(r[3] == 0.0 and r[2] in {"no_diff", "limit_reached"} for r in rows)

    with pytest.raises(TrainError, match="--resume"):  # a run with checkpoints needs --resume
        run_grpo(GRPOTrainConfig(out=out, model=str(tiny_model)), load_tasks("bundled:lite").tasks)

    resumed = grpo(out, tiny_model, 2, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "resumed from" in resumed.stdout and "checkpoint-1" in resumed.stdout
    state = json.loads((out / "checkpoints" / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2
    assert [r[1] for r in episodes(out)] == [0, 1, 2, 3]  # step 2's group, numbered after step 1's
    log = [json.loads(line) for line in (out / "grpo_episodes.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [0, 0, 1, 1] and all(row["reward"] == 0.0 for row in log)

    # The run is a rollout run like any other: `swegym report` and `export` read it.
    from swegym.metrics.report import write_report
    from swegym.rollouts.export import export_run
    from swegym.rollouts.store import RunStore

    store = RunStore(out, create=False)
    assert write_report(out, store).totals.episodes == 4
    assert export_run(store, "jsonl", tmp_path / "episodes.jsonl") == 4


def test_policy_tokens_are_the_chat_template_of_the_episode(tiny_model: Path) -> None:
    """prompt_ids + completion_ids decode to the template's rendering of the whole conversation,
    and env_mask is 1 exactly on the sampled replies (what GRPO learns from)."""
    import transformers

    from swegym.train.grpo_policy import PolicyModel, render

    tok = transformers.AutoTokenizer.from_pretrained(tiny_model)
    replies = ["<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>", "thinking"]
    sampled: list[list[int]] = []

    def generator(ids: list[int], max_new: int) -> tuple[list[int], None]:
        out = [*tok(replies[len(sampled)], add_special_tokens=False)["input_ids"], tok.eos_token_id]
        sampled.append(out)
        return out, None

    policy = PolicyModel(generator, tok, max_new_tokens=64, max_completion_tokens=512)
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "fix it"}]
    first = policy.complete(messages, [])
    assert first.tool_calls[0].name == "execute_bash" and first.tool_calls[0].arguments == {"command": "ls"}
    messages += [
        {"role": "assistant", "content": first.content},
        {"role": "user", "content": "EXECUTION RESULT of [execute_bash]:\nsetup.py"},
    ]
    second = policy.complete(messages, [])
    assert second.tool_calls == [] and second.content == "thinking"
    messages.append({"role": "assistant", "content": second.content})

    traj = policy.traj
    text = tok.decode(traj.prompt_ids + traj.completion_ids, skip_special_tokens=False)
    full = render(tok, messages, False)
    assert full.startswith(text) and full[len(text) :].strip() == ""
    learnt = [t for t, m in zip(traj.completion_ids, traj.env_mask, strict=True) if m]
    assert learnt == sampled[0] + sampled[1]
    assert len(traj.completion_ids) > len(learnt)  # the tool result is in, masked out

    tight = PolicyModel(generator, tok, max_new_tokens=64, max_completion_tokens=3)
    sampled.clear()
    tight.complete(messages[:2], [])
    with pytest.raises(ModelError, match="budget"):  # the episode's token budget ends it
        tight.complete(messages[:4], [])


def test_shaping_is_off_by_default_and_named_terms_become_weighted_reward_functions() -> None:
    from swegym.agent.loop import EpisodeResult
    from swegym.train.grpo import _grpo_args
    from swegym.train.grpo_rollout import ShapingConfig, SWERollout, shaping_reward, shaping_terms

    assert ShapingConfig().enabled() == {}
    assert _grpo_args(GRPOTrainConfig()).reward_weights == [1.0]
    cfg = GRPOTrainConfig(shaping=ShapingConfig(parsed_calls=0.1, turns=-0.01))
    assert _grpo_args(cfg).reward_weights == [1.0, 0.1, -0.01]
    res = EpisodeResult(instance_id="x", repo="r", tool_calls=4, tool_calls_parsed=3, reward=0.0)
    assert shaping_terms(res) == {"parsed_calls": 0.75, "turns": 4.0}
    assert shaping_reward("turns")([None], shaping_turns=[4.0]) == [4.0]

    task = load_tasks("bundled:lite").tasks[0]
    twin = task.model_copy(update={"instance_id": task.instance_id + "-twin"})
    with pytest.raises(TrainError, match="same prompt"):
        SWERollout([task, twin], lambda trainer: None, None, agent=cfg.agent())  # type: ignore[arg-type,return-value]
