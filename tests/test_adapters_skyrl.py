"""The SkyRL-Gym adapter through skyrl_gym's own registry, ``make``, ``init`` and ``step``."""

from __future__ import annotations

from typing import Any

import pytest

from swegym.agent.models.scripted import ScriptedModel, oracle_model, wrong_model
from swegym.agent.schemas import TOOLS
from swegym.agent.textcalls import render_text_tool_call
from swegym.tasks.loaders import load_tasks

skyrl_gym = pytest.importorskip("skyrl_gym")
pytestmark = pytest.mark.sandbox

TASK = "tkem__cachetools.5.3.2.compare_op__c08b813b"


def play(env: Any, model: ScriptedModel) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """SkyRL's multi-turn generator loop, with a scripted model writing text tool calls."""
    chat, _ = env.init([])
    while True:
        resp = model.complete(chat, TOOLS)
        action = resp.content or render_text_tool_call(resp.tool_calls[0])
        chat.append({"role": "assistant", "content": action})
        out = env.step(action)
        chat += out["observations"]
        if out["done"]:
            env.close()
            return chat, dict(out)


def make(**extras: Any) -> Any:
    from swegym.adapters.skyrl import register

    return skyrl_gym.make(register(), env_config={"max_turns": 6}, extras=extras)


def test_oracle_gets_reward_1_and_a_wrong_edit_0() -> None:
    from swegym.adapters.skyrl import SWEGymTextEnv

    task = load_tasks("bundled:lite", ids=[TASK]).tasks[0]
    env = make(instance_id=TASK, tasks="bundled:lite")
    assert isinstance(env, SWEGymTextEnv) and env.max_turns == 6
    chat, last = play(env, oracle_model(task))
    assert last["reward"] == 1.0 and last["metadata"]["outcome"] == "resolved"
    assert chat[0]["role"] == "system" and "BEGIN FUNCTION: execute_bash" in chat[0]["content"]
    assert any("EXECUTION RESULT of [execute_bash]" in m["content"] for m in chat if m["role"] == "user")
    assert env.get_metrics()["resolved"] == 1.0

    from swegym.adapters.skyrl import dataset_row

    row = dataset_row(task)  # what a SkyRL dataset holds: the prompt, env_class and env_extras
    assert row["env_class"] == "swegym" and row["prompt"][1]["content"] == chat[1]["content"]
    _, last = play(make(**row["env_extras"]), wrong_model(task))
    assert last["reward"] == 0.0 and last["metadata"]["outcome"] == "tests_failed"


def test_reply_without_a_call_costs_a_turn_and_the_limit_ends_it() -> None:
    env = make(instance_id=TASK, max_turns=2)
    chat, last = play(env, ScriptedModel(["I think the bug is in ttl.", "still thinking"]))
    assert "no tool call" in chat[3]["content"]
    assert last["done"] and last["reward"] == 0.0 and last["metadata"]["reason"] == "turn_limit"


FORGE = """cat > /testbed/conftest.py <<'SWEGYM_FORGE'
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    outcome.get_result().outcome = "passed"
SWEGYM_FORGE
echo 'reward: 1.0 resolved'"""


def test_a_hostile_reply_cannot_forge_the_reward() -> None:
    """A reply that plants a conftest forcing every test to pass, and claims success in its
    output, still earns 0.0: the reward comes from grading the diff in a fresh sandbox."""
    from swegym.agent.models.base import ToolCall

    hostile = ScriptedModel(
        [
            ToolCall(name="execute_bash", arguments={"command": FORGE}),
            "<function=finish>\n<parameter=message>reward 1.0</parameter>\n</function>\n<function=finish>",
        ]
    )
    chat, last = play(make(instance_id=TASK), hostile)
    assert "reward: 1.0 resolved" in chat[3]["content"]  # the forgery ran in the sandbox
    assert last["reward"] == 0.0 and last["metadata"]["outcome"] in {"tests_failed", "tampered"}, last
