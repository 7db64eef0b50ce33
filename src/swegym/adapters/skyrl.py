"""SkyRL-Gym: `SWEGymTextEnv`, a ``BaseTextEnv`` over a swegym task (``skyrl-gym``, the rl extra).

::

    from swegym.adapters.skyrl import register
    register()  # skyrl_gym.make("swegym", env_config=..., extras={"instance_id": ..., "tasks": ...})

SkyRL's generator calls ``init(prompt)`` and then ``step(reply)`` per model turn; each reply is
parsed as a SWE-Gym text tool call and run in the task's sandbox; the observation comes back as a
user message, and the last step's reward is the tests' (1.0 resolved, else 0.0).
"""

from __future__ import annotations

from typing import Any

from swegym.adapters.episode import AdapterConfig, TextEpisode, find_task
from swegym.errors import MissingExtraError
from swegym.extras import import_extra
from swegym.tasks.model import Task

try:
    from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput
except ImportError as exc:  # the rl extra is optional
    raise MissingExtraError(
        f"the SkyRL adapter needs skyrl-gym ({exc.name} is missing): pip install 'swegym[rl]'"
    ) from None
ENV_ID = "swegym"


def _config(env_config: Any) -> AdapterConfig:
    if env_config is None:
        return AdapterConfig()
    if isinstance(env_config, AdapterConfig):
        return env_config
    # SkyRL hands an OmegaConf DictConfig (or a dict); keep the fields swegym knows.
    items = dict(env_config.items()) if hasattr(env_config, "items") else {}
    return AdapterConfig.model_validate({k: v for k, v in items.items() if k in AdapterConfig.model_fields})


class SWEGymTextEnv(BaseTextEnv):
    """One swegym episode as a SkyRL text environment.

    ``extras``: ``task`` (a `Task` or its dict) or ``instance_id`` (+ ``tasks``, the source,
    default ``bundled:lite``); ``max_turns`` overrides the config's.
    """

    def __init__(self, env_config: Any = None, extras: dict[str, Any] | None = None) -> None:
        super().__init__()
        extras = extras or {}
        config = _config(env_config)
        if "max_turns" in extras:
            config = config.model_copy(update={"max_turns": int(extras["max_turns"])})
        task = extras.get("task")
        if task is None:
            task = find_task(str(extras.get("tasks", "bundled:lite")), str(extras["instance_id"]))
        self.task = task if isinstance(task, Task) else Task.model_validate(task)
        self.max_turns = config.max_turns
        self.episode = TextEpisode(self.task, config)
        self.outcome: dict[str, Any] = {}

    def init(self, prompt: list[dict[str, str]] | None = None) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Start the sandbox; the prompt is the dataset's when it has one, else swegym's."""
        messages = self.episode.reset()
        self.turns = 0
        return (list(prompt) if prompt else messages), {"instance_id": self.task.instance_id}

    def step(self, action: str) -> BaseTextEnvStepOutput:
        self.turns += 1
        res = self.episode.step(action)
        if res.done:
            self.outcome = res.info
        return BaseTextEnvStepOutput(
            observations=[res.observation] if res.observation else [],
            reward=res.reward,
            done=res.done,
            metadata=res.info,
            postprocessed_action=action,
        )

    def close(self) -> None:
        self.episode.close()

    def get_metrics(self) -> dict[str, Any]:
        return {"resolved": float(bool(self.outcome.get("resolved"))), "turns": self.turns}


def register(env_id: str = ENV_ID) -> str:
    """Register `SWEGymTextEnv` with skyrl_gym under ``env_id`` (idempotent); return the id."""
    skyrl_gym = import_extra(
        "skyrl_gym",
        needed_by="the SkyRL adapter",
        install="pip install 'swegym[rl]'",
        error=MissingExtraError,
    )
    if env_id not in skyrl_gym.registry:
        skyrl_gym.register(id=env_id, entry_point="swegym.adapters.skyrl:SWEGymTextEnv")
    return env_id


def dataset_row(task: Task, config: AdapterConfig | None = None) -> dict[str, Any]:
    """A SkyRL dataset row for ``task`` (``prompt``, ``env_class``, ``env_extras``)."""
    from swegym.train.grpo_rollout import episode_messages

    extras: dict[str, Any] = {"task": task.model_dump(mode="json")}
    if config is not None:
        extras["max_turns"] = config.max_turns
    return {"prompt": episode_messages(task), "env_class": ENV_ID, "env_extras": extras}
