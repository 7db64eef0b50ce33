"""The CodeAct agent loop: prompt, model call, tool calls, observations, until finish or a limit."""

from __future__ import annotations

import json
import time
from typing import Any

from pydantic import BaseModel, Field

from swegym.agent.env import EnvConfig, SWEEnv
from swegym.agent.models.base import Model, ModelResponse, ToolCall
from swegym.agent.prompts import SYSTEM_PROMPT
from swegym.agent.schemas import TOOL_NAMES, TOOLS
from swegym.agent.textcalls import describe_tools, render_text_tool_call
from swegym.agent.wrappers import ContextLimit, TimeLimit, TurnLimit
from swegym.errors import ModelError, SwegymError
from swegym.harness.verdict import MODEL_ERROR_REASON, Outcome, Verdict
from swegym.tasks.model import Task

NO_TOOL_CALL = (
    "Your reply contained no tool call. Use one of the tools (execute_bash, str_replace_editor), "
    "or call finish when the issue is resolved."
)


class AgentConfig(BaseModel):
    """Limits and format of one agent episode."""

    max_turns: int = 30
    """Most tool calls (SWE-Gym: 30-50 for training, 100 for evaluation)."""
    max_seconds: float = 1800.0
    """Wall-clock limit of an episode."""
    max_context_tokens: int = 32_000
    """Truncate when the conversation grows past this many tokens."""
    text_tool_calls: bool = False
    """Tools described in the system prompt and called in SWE-Gym's text format."""
    max_observation_chars: int = 20_000
    """Longer tool outputs are cut in the middle (with a notice) before the model sees them."""


class Step(BaseModel):
    """What one message of an episode cost: timing and tokens of a model turn, the tool and its
    outcome for an observation (aligned one to one with the episode's messages)."""

    role: str
    seconds: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    tool: str | None = None
    """The tool an observation came from ('' for a reply with no parsable call)."""
    error: bool | None = None
    """Whether the tool call failed (bad arguments, unknown tool, an editor error)."""


class EpisodeResult(BaseModel):
    """Everything about one episode: the conversation, timings, the diff and the grade."""

    instance_id: str
    repo: str
    sample: int = 0
    model: str = ""
    temperature: float = 0.0
    outcome: Outcome = Outcome.INFRA_ERROR
    resolved: bool | None = None
    reward: float = 0.0
    turns: int = 0
    tool_calls: int = 0
    """Tool calls the model attempted (a reply with no parsable call counts as one failed attempt)."""
    tool_calls_parsed: int = 0
    """Of those, calls naming a known tool with well-formed arguments (they ran in the sandbox)."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_seconds: float = 0.0
    env_seconds: float = 0.0
    total_seconds: float = 0.0
    diff: str = ""
    report: dict[str, Any] | None = None
    error: str | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    """Per message: role, seconds, tokens, tool name and error flag (aligned with messages)."""


def make_env(env_config: EnvConfig, agent: AgentConfig) -> Any:
    """`SWEEnv` wrapped with the agent's limits."""
    env: Any = SWEEnv(env_config)
    env = TurnLimit(env, agent.max_turns)
    env = TimeLimit(env, agent.max_seconds)
    return ContextLimit(env, agent.max_context_tokens)


def _assistant_message(resp: ModelResponse, calls: list[ToolCall], text_mode: bool) -> dict[str, Any]:
    if text_mode or not resp.tool_calls:
        return {"role": "assistant", "content": resp.content}
    return {
        "role": "assistant",
        "content": resp.content or None,
        "tool_calls": [
            {
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
            }
            for c in calls
        ],
    }


def _observation_message(call: ToolCall, obs: str, text_mode: bool, native: bool) -> dict[str, Any]:
    if native and not text_mode:
        return {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": obs}
    return {"role": "user", "content": f"EXECUTION RESULT of [{call.name or 'invalid call'}]:\n{obs}"}


def run_episode(
    task: Task,
    model: Model,
    agent: AgentConfig | None = None,
    env_config: EnvConfig | None = None,
    *,
    sample: int = 0,
    temperature: float = 0.0,
) -> EpisodeResult:
    """Run one episode of ``model`` on ``task``; every way it can end is a recorded outcome."""
    agent = agent or AgentConfig()
    res = EpisodeResult(
        instance_id=task.instance_id, repo=task.repo, sample=sample, model=model.name, temperature=temperature
    )
    start = time.perf_counter()
    env = make_env(env_config or EnvConfig(), agent)
    try:
        _drive(env, task, model, agent, res)
    except SwegymError as exc:
        res.outcome, res.error = Outcome.INFRA_ERROR, str(exc)
    except Exception as exc:  # a bug must cost one episode, not the whole rollout
        res.outcome, res.error = Outcome.INFRA_ERROR, f"{type(exc).__name__}: {exc}"
    finally:
        env.close()
    base = env.unwrapped
    res.env_seconds = round(base.env_seconds, 3)
    res.total_seconds = round(time.perf_counter() - start, 3)
    return res


def _drive(env: Any, task: Task, model: Model, agent: AgentConfig, res: EpisodeResult) -> None:
    obs, info = env.reset(options={"task": task})
    system = SYSTEM_PROMPT + ("\n\n" + describe_tools(TOOLS) if agent.text_tool_calls else "")
    res.messages = [{"role": "system", "content": system}, {"role": "user", "content": obs}]
    res.steps = [Step(role="system"), Step(role="user")]
    base: SWEEnv = env.unwrapped
    while True:
        try:
            resp = model.complete(res.messages, TOOLS)
        except ModelError as exc:
            reason = "context_limit" if exc.kind == "context_overflow" else MODEL_ERROR_REASON
            _, end = base.end_episode(reason)
            _finish(res, end, error=str(exc))
            return
        res.model_seconds += resp.seconds
        res.prompt_tokens += resp.prompt_tokens
        res.completion_tokens += resp.completion_tokens
        base.report_usage(resp.prompt_tokens)
        native = bool(resp.tool_calls) and not agent.text_tool_calls
        calls = resp.tool_calls or [ToolCall(name="", arguments={"_error": NO_TOOL_CALL})]
        if agent.text_tool_calls and resp.tool_calls:
            resp = resp.model_copy(update={"content": _text_content(resp)})
        res.messages.append(_assistant_message(resp, calls, agent.text_tool_calls))
        res.steps.append(
            Step(
                role="assistant",
                seconds=round(resp.seconds, 4),
                prompt_tokens=resp.prompt_tokens,
                completion_tokens=resp.completion_tokens,
            )
        )
        for call in calls:
            res.tool_calls += 1
            res.tool_calls_parsed += int(call.name in TOOL_NAMES and "_error" not in call.arguments)
            obs, _, terminated, truncated, info = env.step(call)
            obs = clip(obs, agent.max_observation_chars)
            res.turns += 1
            res.messages.append(_observation_message(call, obs, agent.text_tool_calls, native))
            res.steps.append(
                Step(
                    role=res.messages[-1]["role"],
                    tool=call.name,
                    seconds=round(info.get("tool_seconds", 0.0), 4),
                    error=info.get("tool_error"),
                )
            )
            if terminated or truncated:
                _finish(res, info)
                return


def clip(text: str, limit: int) -> str:
    """``text`` cut in the middle to about ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half} characters elided ...]\n{text[-half:]}"


def _text_content(resp: ModelResponse) -> str:
    # Keep what the model wrote; make sure the call it made is in its canonical text form.
    if "<function=" in resp.content:
        return resp.content
    return (resp.content + "\n" + render_text_tool_call(resp.tool_calls[0])).strip()


def _finish(res: EpisodeResult, end: dict[str, Any], error: str | None = None) -> None:
    verdict: Verdict = end["verdict"]
    res.diff = end.get("diff", "")
    res.report = verdict.report
    res.reward = verdict.reward
    res.outcome = verdict.outcome
    # An infrastructure error is ungraded (None); a tampered run is graded and never resolved,
    # whatever its forged test results said.
    res.resolved = None if verdict.outcome is Outcome.INFRA_ERROR else verdict.credited
    res.error = error or verdict.error
