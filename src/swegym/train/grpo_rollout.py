"""TRL's ``rollout_func`` for GRPO over swegym tasks: one multi-turn sandbox episode per prompt.

``GRPOTrainer(rollout_func=SWERollout(...))`` hands the function the batch's prompts (each task's
prompt repeated ``num_generations`` times by TRL's sampler); each becomes one episode of
:func:`swegym.agent.loop.run_episode` with `PolicyModel` answering, graded by the single grading
path at its end. Every episode is written to the run store (so ``swegym report``, ``export`` and
``rerank`` read it like any rollout), and the function returns the token ids TRL trains on plus
the rewards as extra fields for the reward functions (`tests_reward`, shaping terms).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from swegym.agent.env import EnvConfig
from swegym.agent.loop import AgentConfig, EpisodeResult, run_episode
from swegym.agent.prompts import SYSTEM_PROMPT, task_prompt
from swegym.agent.schemas import TOOLS
from swegym.agent.textcalls import describe_tools
from swegym.errors import TrainError
from swegym.harness.verdict import Outcome
from swegym.rollouts.store import RunStore
from swegym.tasks.model import Task
from swegym.train.grpo_policy import Generator, PolicyModel


class ShapingConfig(BaseModel):
    """Optional reward-shaping terms, each a weight (0 = off, the default): the reward is the
    tests' reward plus the sum of weight x term. The store keeps the tests' reward alone."""

    parsed_calls: float = 0.0
    """x the fraction of the episode's tool calls that parsed into a known tool."""
    turns: float = 0.0
    """x the number of tool calls (a negative weight prefers short episodes)."""

    def enabled(self) -> dict[str, float]:
        """The terms with a non-zero weight, name -> weight."""
        return {k: v for k, v in self.model_dump().items() if v != 0.0}


def shaping_terms(res: EpisodeResult) -> dict[str, float]:
    """Every shaping term's value for a finished episode (before weights)."""
    return {
        "parsed_calls": res.tool_calls_parsed / res.tool_calls if res.tool_calls else 0.0,
        "turns": float(res.tool_calls),
    }


def episode_messages(task: Task) -> list[dict[str, str]]:
    """The prompt an episode starts from (the loop's own, in text tool-call mode)."""
    system = SYSTEM_PROMPT + "\n\n" + describe_tools(TOOLS)
    return [{"role": "system", "content": system}, {"role": "user", "content": task_prompt(task)}]


def prompt_key(prompt: Any) -> str:
    """The task prompt's text: how a prompt TRL hands back is matched to its task."""
    if isinstance(prompt, list):
        return next((str(m.get("content")) for m in prompt if m.get("role") == "user"), "")
    return str(prompt)


class SWERollout:
    """A TRL ``rollout_func``: ``(prompts, trainer) -> {prompt_ids, completion_ids, logprobs, ...}``.

    ``generator_for(trainer)`` gives each episode's sampler (`HFGenerator` on the trainer's model,
    or `VLLMGenerator`); ``store``, when given, receives every episode, numbered per task after the
    samples it already holds (so a resumed run never overwrites one); ``log_path`` gets one JSON
    line per episode with the training step and the shaped reward.
    """

    def __init__(
        self,
        tasks: list[Task],
        generator_for: Callable[[Any], Generator],
        tokenizer: Any,
        *,
        agent: AgentConfig,
        env: EnvConfig | None = None,
        max_new_tokens: int = 64,
        max_completion_tokens: int = 1024,
        temperature: float = 1.0,
        store: RunStore | None = None,
        log_path: Path | None = None,
        model_name: str = "policy",
    ) -> None:
        if not agent.text_tool_calls:
            agent = agent.model_copy(update={"text_tool_calls": True})  # the policy writes text calls
        self.by_prompt: dict[str, Task] = {}
        for t in tasks:
            # TRL hands back prompts only, so a prompt must name one task.
            same = self.by_prompt.setdefault(task_prompt(t), t)
            if same is not t:
                raise TrainError(
                    f"tasks {same.instance_id} and {t.instance_id} have the same prompt (repo and "
                    "issue); GRPO cannot tell their episodes apart: keep one of them"
                )
        self.generator_for, self.tokenizer = generator_for, tokenizer
        self.agent, self.env = agent, env or EnvConfig()
        self.max_new_tokens, self.max_completion_tokens = max_new_tokens, max_completion_tokens
        self.temperature, self.store, self.log_path, self.model_name = (
            temperature,
            store,
            log_path,
            model_name,
        )
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()
        if store is not None:
            for iid, sample in store.done_keys():
                self._next[iid] = max(self._next.get(iid, 0), sample + 1)

    def task_for(self, prompt: Any) -> Task:
        task = self.by_prompt.get(prompt_key(prompt))
        if task is None:
            raise TrainError(
                "rollout_func got a prompt that is none of its tasks' (build prompts with episode_messages)"
            )
        return task

    def _sample(self, instance_id: str) -> int:
        with self._lock:
            n = self._next.get(instance_id, 0)
            self._next[instance_id] = n + 1
            return n

    def run_one(self, task: Task, generator: Generator) -> tuple[EpisodeResult, PolicyModel]:
        """One episode of the policy on ``task``, saved to the store."""
        policy = PolicyModel(
            generator,
            self.tokenizer,
            max_new_tokens=self.max_new_tokens,
            max_completion_tokens=self.max_completion_tokens,
            name=self.model_name,
        )
        sample = self._sample(task.instance_id)
        if self.store is not None:
            self.store.claim(task.instance_id, sample, task.repo)
        res = run_episode(task, policy, self.agent, self.env, sample=sample, temperature=self.temperature)
        if self.store is not None:
            self.store.save(res)
        return res, policy

    def __call__(self, prompts: list[Any], trainer: Any) -> dict[str, Any]:
        step = int(getattr(getattr(trainer, "state", None), "global_step", 0))
        out: dict[str, list[Any]] = {
            k: [] for k in ("prompt_ids", "completion_ids", "logprobs", "env_mask", "tests_reward")
        }
        terms: dict[str, list[float]] = {k: [] for k in ShapingConfig.model_fields}
        with_logprobs = True
        for prompt in prompts:
            task = self.task_for(prompt)
            res, policy = self.run_one(task, self.generator_for(trainer))
            traj = policy.traj
            if not traj.prompt_ids:  # the episode failed before the model spoke (infra error)
                traj.prompt_ids = policy._encode(prompt_text(self.tokenizer, task))
            if not traj.completion_ids:
                traj.add([int(self.tokenizer.eos_token_id)], sampled=True, logprobs=[0.0])
            with_logprobs = with_logprobs and traj.has_logprobs
            out["prompt_ids"].append(traj.prompt_ids)
            out["completion_ids"].append(traj.completion_ids)
            out["logprobs"].append(traj.logprobs)
            out["env_mask"].append(traj.env_mask)
            # An infrastructure failure is no signal about the policy: None makes TRL leave the
            # episode out of its group's baseline (its advantage is 0).
            out["tests_reward"].append(None if res.outcome is Outcome.INFRA_ERROR else res.reward)
            values = shaping_terms(res)
            for name in terms:
                terms[name].append(values[name])
            self._log(step, res, values)
        result: dict[str, Any] = {**out, **{f"shaping_{k}": v for k, v in terms.items()}}
        if not with_logprobs:
            result["logprobs"] = None  # only vLLM's importance-sampling correction reads them
        return result

    def _log(self, step: int, res: EpisodeResult, terms: dict[str, float]) -> None:
        if self.log_path is None:
            return
        row = {
            "step": step,
            "instance_id": res.instance_id,
            "sample": res.sample,
            "outcome": str(res.outcome.value),
            "reward": res.reward,
            "terms": terms,
            "turns": res.turns,
            "completion_tokens": res.completion_tokens,
        }
        with self._lock, self.log_path.open("a") as fh:
            fh.write(json.dumps(row) + "\n")


def prompt_text(tokenizer: Any, task: Task) -> str:
    """The episode prompt rendered by the chat template, ready for generation."""
    from swegym.train.grpo_policy import render

    return render(tokenizer, episode_messages(task), True)


def tests_reward(completions: list[Any], tests_reward: list[float | None], **_: Any) -> list[float | None]:
    """The reward from the task's tests (1.0 resolved, 0.0 otherwise; None for an infra error)."""
    return list(tests_reward)


def shaping_reward(name: str) -> Callable[..., list[float]]:
    """A TRL reward function returning shaping term ``name`` (TRL weighs it by ``reward_weights``)."""

    def reward(completions: list[Any], **kwargs: Any) -> list[float]:
        return [float(v) for v in kwargs[f"shaping_{name}"]]

    reward.__name__ = f"shaping_{name}"
    return reward
