"""The sandbox seam: every caller opens sandboxes through `open_sandbox`, so a second backend
registered under a new `SandboxConfig.type` serves the gym env, the tools and grading unchanged."""

from __future__ import annotations

from collections import Counter
from types import TracebackType

import pytest

from conftest import with_labels
from swegym.agent.env import EnvConfig, SWEEnv
from swegym.errors import SandboxError
from swegym.harness.grader import grade_diff
from swegym.harness.runner import prepare
from swegym.harness.verdict import Outcome
from swegym.sandbox.base import Command, CommandResponse, ExecRequest, ExecResponse, Sandbox
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.factory import backends, open_sandbox, register_backend
from swegym.sandbox.layout import Layout
from swegym.sandbox.local import LocalSandbox
from swegym.tasks.model import Task

pytestmark = pytest.mark.sandbox

CALLS: Counter[str] = Counter()


class CountingSandbox:
    """A second backend: counts every call, delegates the work to a bubblewrap sandbox."""

    def __init__(self, layout: Layout, config: SandboxConfig) -> None:
        self.inner = LocalSandbox(layout, config.model_copy(update={"type": "local"}))
        CALLS["open"] += 1

    def start(self) -> None:
        CALLS["start"] += 1
        self.inner.start()

    def execute(self, command: Command) -> CommandResponse:
        CALLS["execute"] += 1
        return self.inner.execute(command)

    def run(
        self, command: str, timeout: float | None = None, output_limit: int | None = None
    ) -> CommandResponse:
        return self.execute(Command(command=command, timeout=timeout, output_limit=output_limit))

    def read_file(self, path: str, max_bytes: int = 16 << 20) -> bytes:
        CALLS["read_file"] += 1
        return self.inner.read_file(path, max_bytes)

    def write_file(self, path: str, data: bytes) -> None:
        CALLS["write_file"] += 1
        self.inner.write_file(path, data)

    def exec_once(self, request: ExecRequest) -> ExecResponse:
        CALLS["exec_once"] += 1
        return self.inner.exec_once(request)

    def interactive(self, script: str = "", env: dict[str, str] | None = None) -> int:
        return self.inner.interactive(script, env)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> CountingSandbox:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@pytest.fixture(scope="module", autouse=True)
def counting_backend() -> None:
    register_backend("counting", CountingSandbox)


@pytest.fixture(scope="module")
def task(calc_task: Task) -> Task:
    return with_labels(calc_task)


def test_a_second_backend_serves_env_tools_and_grading(task: Task) -> None:
    assert isinstance(CountingSandbox(Layout(), SandboxConfig()), Sandbox)
    CALLS.clear()
    env = SWEEnv(EnvConfig(sandbox=SandboxConfig(type="counting")))
    env.reset(options={"task": task})
    view = {"command": "view", "path": "/testbed/calc.py"}
    assert "def clamp" in env.step({"name": "str_replace_editor", "arguments": view})[0]
    edit = {"command": "str_replace", "path": "/testbed/calc.py", "old_str": "hi + 1", "new_str": "hi"}
    env.step({"name": "str_replace_editor", "arguments": edit})
    _, reward, terminated, _, info = env.step({"name": "finish", "arguments": {}})
    assert terminated and reward == 1.0 and info["verdict"].outcome is Outcome.RESOLVED
    # The episode, its editor and the grading all went through the registered backend.
    assert CALLS["start"] == 1 and CALLS["execute"] >= 2 and CALLS["read_file"] >= 2
    assert CALLS["write_file"] >= 1 and CALLS["exec_once"] == 1
    verdict = grade_diff(prepare(task), task.patch, config=SandboxConfig(type="counting"))
    assert verdict.resolved and CALLS["exec_once"] == 2


def test_unknown_backend_is_one_clear_error() -> None:
    assert "local" in backends()
    with pytest.raises(SandboxError, match=r"unknown sandbox type 'nope'.*register_backend"):
        open_sandbox(Layout(), SandboxConfig(type="nope"))
