"""`SWEEnv` follows Gymnasium's API: `check_env` passes on a real bundled task, and the action
space samples tool calls that run in the sandbox."""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from swegym.agent.env import ENV_ID, SWEEnv, to_tool_call
from swegym.agent.schemas import TOOL_NAMES
from swegym.agent.spaces import TextSpace, ToolCallSpace
from swegym.tasks.loaders import load_tasks

pytestmark = pytest.mark.sandbox

TASK_ID = "tkem__cachetools.5.3.2.compare_op__c08b813b"


def test_spaces_sample_valid_elements_reproducibly() -> None:
    space, text = ToolCallSpace(seed=7), TextSpace(seed=7)
    samples = [space.sample() for _ in range(60)]
    assert {s["name"] for s in samples} == TOOL_NAMES  # every tool is sampled, finish included
    for s in samples:
        assert space.contains(s)
        call = to_tool_call(s)
        assert call.name in TOOL_NAMES and "_error" not in call.arguments
    assert ToolCallSpace(seed=7).sample() == samples[0]
    word = text.sample()
    assert text.contains(word) and word and not text.contains(3)


def test_check_env_passes_on_a_bundled_task() -> None:
    task = load_tasks("bundled:lite", ids=[TASK_ID]).tasks[0]
    env = SWEEnv(task=task)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env)
        # Gymnasium reports API problems it tolerates as warnings; none may concern SWEEnv.
        assert [str(w.message) for w in caught if "WARN" in str(w.message)] == []
    finally:
        env.close()


def test_gymnasium_make_builds_the_env_and_a_sampled_step_runs() -> None:
    task = load_tasks("bundled:lite", ids=[TASK_ID]).tasks[0]
    env = gym.make(ENV_ID, task=task)
    try:
        obs, info = env.reset(seed=0)
        assert TASK_ID in info["instance_id"] and isinstance(obs, str)
        env.action_space.seed(1)
        action = {"name": "execute_bash", "arguments": {"command": "echo conformance"}}
        obs, reward, terminated, truncated, _ = env.step(action)
        assert "conformance" in obs and reward == 0.0 and not terminated and not truncated
    finally:
        env.close()
