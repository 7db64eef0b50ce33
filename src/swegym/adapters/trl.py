"""TRL: a ``rollout_func`` for ``GRPOTrainer`` that plays multi-turn swegym episodes (``trl``).

::

    from swegym.adapters.trl import grpo_dataset, make_rollout_func, reward_funcs
    trainer = GRPOTrainer(model=model, args=GRPOConfig(num_generations=4, ...),
                          train_dataset=grpo_dataset(tasks), processing_class=tokenizer,
                          reward_funcs=reward_funcs(), rollout_func=make_rollout_func(tasks, tokenizer))

Each prompt TRL hands over (a task's, repeated ``num_generations`` times) becomes one episode in
the task's sandbox; the policy samples from the conversation's token ids (the trainer's model with
transformers, or TRL's vLLM generation when ``use_vllm``), and the function returns
``prompt_ids``, ``completion_ids`` (replies and tool results, ``env_mask`` 0 on the latter),
``logprobs`` and the tests' reward for `reward_funcs`. `swegym train grpo` is this plus a run
store, checkpoints and resume. The OpenEnv path (TRL driving ``swegym serve-env``) is in
docs/rl-adapters.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swegym.adapters.episode import AdapterConfig
from swegym.agent.models.base import Model
from swegym.agent.schemas import TOOLS
from swegym.agent.textcalls import render_text_tool_call
from swegym.rollouts.store import RunStore
from swegym.tasks.model import Task
from swegym.train.deps import require
from swegym.train.grpo_policy import Generator, HFGenerator, VLLMGenerator
from swegym.train.grpo_rollout import SWERollout, episode_messages, tests_reward

__all__ = ["ScriptedGenerator", "grpo_dataset", "make_rollout_func", "reward_funcs", "trainer_generator"]


def grpo_dataset(tasks: list[Task]) -> Any:
    """A ``datasets.Dataset`` of the tasks' conversational prompts (``prompt``, ``instance_id``)."""
    datasets = require("datasets")
    return datasets.Dataset.from_list(
        [{"prompt": episode_messages(t), "instance_id": t.instance_id} for t in tasks]
    )


def reward_funcs() -> list[Callable[..., list[float | None]]]:
    """The reward functions to pass TRL: the tests' reward the rollout function returned."""
    return [tests_reward]


def trainer_generator(trainer: Any) -> Generator:
    """The trainer's own sampler: vLLM when it uses vLLM, else its model with transformers."""
    if getattr(trainer, "use_vllm", False):
        return VLLMGenerator(trainer)
    model = trainer.accelerator.unwrap_model(trainer.model)
    temperature = float(getattr(trainer.args, "temperature", 1.0))
    return HFGenerator(
        model, trainer.processing_class, temperature, float(getattr(trainer.args, "top_p", 1.0))
    )


def make_rollout_func(
    tasks: list[Task],
    tokenizer: Any,
    config: AdapterConfig | None = None,
    *,
    max_new_tokens: int = 256,
    max_completion_tokens: int = 4096,
    temperature: float = 1.0,
    generator_for: Callable[[Any], Generator] = trainer_generator,
    store: RunStore | None = None,
) -> SWERollout:
    """A ``rollout_func`` over ``tasks`` (episodes saved to ``store`` when given)."""
    config = config or AdapterConfig()
    return SWERollout(
        tasks,
        generator_for,
        tokenizer,
        agent=config.agent(),
        env=config.env,
        max_new_tokens=max_new_tokens,
        max_completion_tokens=max_completion_tokens,
        temperature=temperature,
        store=store,
    )


class ScriptedGenerator:
    """A `Generator` that writes a scripted model's turns as text tool calls (for tests and for
    checking a setup end to end: the oracle's episode earns 1.0 through the real trainer)."""

    def __init__(self, model: Model, tokenizer: Any) -> None:
        self.model, self.tokenizer = model, tokenizer

    def __call__(self, ids: list[int], max_new_tokens: int) -> tuple[list[int], list[float] | None]:
        resp = self.model.complete([], TOOLS)
        text = resp.content or "\n".join(render_text_tool_call(c) for c in resp.tool_calls)
        out = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])[: max(max_new_tokens - 1, 0)]
        return [*out, int(self.tokenizer.eos_token_id)], None
