"""verifiers (0.4, ``verifiers.v1``): a multi-turn env over swegym tasks (the rl extra).

verifiers 0.4 replaced ``MultiTurnEnv`` with an `Env` whose ``run(task, agents)`` holds the
rollout open turn by turn (``agent.interaction(task)``) and plays the user: here the user is the
task's sandbox. Each reply is parsed as a text tool call and run in a fresh swegym sandbox per
rollout; the result is the next user turn; at ``finish`` (or a limit) the diff is graded by the
one grading path, and the tests' reward is recorded on the trace (``tests``, weight 1) as the
rollout's rubric. `SWEGymHarness` is the in-process chat loop verifiers allows (each model call
through the rollout's interception endpoint, no program to install).

::

    import swegym.adapters.verifiers as swe
    env = swe.SWEGymEnv(swe.env_config(tasks="bundled:lite", max_turns=30))
    async with env.serving():
        episode = await env.run_episode(task, vf.ModelContext(model=..., client=vf.EvalClientConfig(...)))
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import httpx
from pydantic import Field

from swegym.adapters.episode import AdapterConfig, StepResult, TextEpisode, find_task
from swegym.errors import MissingExtraError
from swegym.train.grpo_rollout import episode_messages

try:
    import verifiers.v1 as vf
    from verifiers.v1.clients import ModelContext
    from verifiers.v1.runtimes import ProgramResult, Runtime
    from verifiers.v1.task import TaskData
    from verifiers.v1.trace import Trace
except ImportError as exc:  # the rl extra is optional
    raise MissingExtraError(
        f"the verifiers adapter needs verifiers ({exc.name} is missing): pip install 'swegym[rl]'"
    ) from None

__all__ = ["SWEGymEnv", "SWEGymHarness", "SWEGymTaskset"]

#: verifiers finds a taskset, its env and its harness by a plugin id naming a top-level module;
#: this module answers to it (``--env.taskset.id swegym-verifiers`` once it is imported).
PLUGIN_ID = "swegym-verifiers"
sys.modules.setdefault("swegym_verifiers", sys.modules[__name__])


class SWEGymTasksetConfig(vf.TasksetConfig):
    """Which swegym tasks the taskset holds."""

    tasks: str = "bundled:lite"
    ids: list[str] = Field(default_factory=list)


class SWEGymData(vf.TaskData):
    info: dict[str, str]
    """``instance_id`` and ``tasks`` (the source): how the env finds the swegym task."""


class SWEGymTask(vf.Task[SWEGymData, vf.State, vf.TaskConfig]):
    pass


class SWEGymTaskset(vf.Taskset[SWEGymTask, SWEGymTasksetConfig]):
    """swegym tasks as verifiers tasks: the issue as the prompt, the tools in the system prompt."""

    def load(self) -> Iterator[SWEGymTask]:
        from swegym.tasks.loaders import load_tasks

        for task in load_tasks(self.config.tasks, ids=self.config.ids or None).tasks:
            system, user = episode_messages(task)
            data = SWEGymData(
                name=task.instance_id,
                prompt=user["content"],
                system_prompt=system["content"],
                info={"instance_id": task.instance_id, "tasks": self.config.tasks},
            )
            yield SWEGymTask(data, self.config.task)


class SWEGymEnvConfig(vf.EnvConfig):
    """The env's one seat (``solver``) and the swegym episode limits."""

    solver: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())
    """The seat. Its runtime is the local subprocess one: the harness runs no code (tools run
    in swegym's own sandbox), so no remote box or tunnel is needed."""
    max_turns: int = 30
    max_observation_chars: int = 20_000


class SWEGymEnv(vf.Env[SWEGymEnvConfig]):
    """One sandbox per rollout; the sandbox answers every reply; the tests give the reward."""

    async def run(self, task: Any, agents: Any) -> None:
        info = task.data.info
        swe_task = await asyncio.to_thread(find_task, info["tasks"], info["instance_id"])
        config = AdapterConfig(
            max_turns=self.config.max_turns, max_observation_chars=self.config.max_observation_chars
        )
        episode = TextEpisode(swe_task, config)
        result: StepResult | None = None
        try:
            await asyncio.to_thread(episode.reset)
            async with agents.solver.interaction(task) as interaction:
                segment = await interaction.turn()
                while not segment.terminated:
                    step = await asyncio.to_thread(episode.step, segment.last_reply)
                    if step.done:
                        result = step
                        break
                    assert step.observation is not None
                    segment = await interaction.turn(step.observation["content"])
            if result is None:  # verifiers ended the exchange (its own limits): grade what is there
                result = await asyncio.to_thread(episode.end, "agent_limit")
        finally:
            await asyncio.to_thread(episode.close)
        trace: Trace = interaction.trace
        trace.record_reward("tests", result.reward, 1.0)
        trace.info["outcome"] = result.info["outcome"]
        trace.info["diff"] = result.info["diff"]


class SWEGymHarnessConfig(vf.HarnessConfig):
    pass


class SWEGymHarness(vf.Harness[SWEGymHarnessConfig]):
    """A plain chat turn, in process: the conversation so far to the interception endpoint."""

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_RESUME = True
    EXECUTES_CODE = False  # tools run in swegym's sandbox, not in the harness's runtime
    NEEDS_CONTAINER = False

    async def launch(
        self,
        ctx: ModelContext,
        trace: Trace,
        runtime: Runtime,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: TaskData,
        tool_interception_url: str | None = None,
    ) -> ProgramResult:
        from verifiers.v1.dialects.chat import message_to_wire

        system, prompt = self.resolve_prompt(data)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        elif prompt is not None:
            messages += [m if isinstance(m, dict) else message_to_wire(m) for m in prompt]
        body = {"model": ctx.model, "messages": messages}
        async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
            resp = await client.post(
                f"{endpoint}/chat/completions", json=body, headers={"Authorization": f"Bearer {secret}"}
            )
        ok = resp.status_code == 200
        return ProgramResult(exit_code=0 if ok else 1, stdout="", stderr="" if ok else resp.text[:2000])


def env_config(tasks: str = "bundled:lite", ids: list[str] | None = None, **env: Any) -> SWEGymEnvConfig:
    """A `SWEGymEnvConfig` over ``tasks`` (``ids`` to narrow), with this module's plugin id."""
    taskset = SWEGymTasksetConfig(id=PLUGIN_ID, tasks=tasks, ids=ids or [])
    return SWEGymEnvConfig(taskset=taskset, **env)
