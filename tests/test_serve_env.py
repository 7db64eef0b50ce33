"""`swegym serve-env` for real: a server subprocess on loopback, driven by openenv-core's own
client and by swegym's; episodes graded by the one grading path; sessions that end on finish,
close, idle timeout or client loss leave no sandbox process or directory behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from swegym.agent.models.scripted import oracle_model, wrong_model
from swegym.server.client import ClientError, SWEGymClient
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

pytestmark = pytest.mark.sandbox

TASK_ID = "tkem__cachetools.5.3.2.compare_op__c08b813b"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A `swegym serve-env` subprocess on 127.0.0.1 (its own process group, stopped by the test)."""

    def __init__(self, log: Path, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        cmd = [sys.executable, "-m", "swegym", "serve-env", "--port", str(self.port), "--id", TASK_ID, *args]
        # Output to a file, never an unread pipe: a full pipe would stall the server's event loop.
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        # The server builds the task's environment first: seconds with a warm uv cache, longer
        # when the machine's package cache is busy.
        deadline = time.time() + 600
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("server did not come up")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def sandbox_processes(self) -> list[int]:
        """Descendants of the server that are sandbox processes (bwrap and what runs inside)."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        out, todo = [], list(children.get(self.proc.pid, []))
        while todo:
            pid = todo.pop()
            out.append(pid)
            todo += children.get(pid, [])
        return out

    def active(self) -> int:
        return int(httpx.get(f"{self.url}/capacity", timeout=5).json()["active_sessions"])


def sandbox_dirs() -> set[str]:
    root = Path(os.environ["SWEGYM_CACHE_DIR"]) / "runtime" / "sandboxes"
    return {p.name for p in root.iterdir()} if root.exists() else set()


def wait_for(cond: Any, seconds: float = 30.0) -> bool:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return bool(cond())


@pytest.fixture(scope="module")
def task() -> Task:
    return load_tasks("bundled:lite", ids=[TASK_ID]).tasks[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("serve") / "server.log",
        "--max-sessions",
        "32",
        "--session-timeout",
        "2",
        "--grade-workers",
        "2",
    )
    try:
        yield srv
    finally:
        srv.stop()


def actions(model: Any) -> list[dict[str, Any]]:
    return [{"name": s.name, "arguments": s.arguments} for s in model.steps]


def openenv_episode(url: str, steps: list[dict[str, Any]]) -> Any:
    from openenv.core.generic_client import GenericEnvClient

    with GenericEnvClient(base_url=url, message_timeout_s=300).sync() as env:
        first = env.reset(instance_id=TASK_ID)
        assert first.observation["instance_id"] == TASK_ID and not first.done
        assert {t["function"]["name"] for t in first.observation["tools"]} == {
            "execute_bash",
            "str_replace_editor",
            "finish",
        }
        for step in steps:
            result = env.step(step)
            if result.done:
                break
        assert result.done
        assert env.state()["outcome"] == result.observation["outcome"]
        return result


def test_openenv_client_oracle_gets_1_and_wrong_edit_gets_0(server: Server, task: Task) -> None:
    good = openenv_episode(server.url, actions(oracle_model(task)))
    assert good.reward == 1.0 and good.observation["outcome"] == "resolved" and good.observation["resolved"]
    assert good.observation["diff"].strip()
    bad = openenv_episode(server.url, actions(wrong_model(task)))
    assert bad.reward == 0.0 and bad.observation["outcome"] == "tests_failed"


def test_32_concurrent_sessions_finish_without_leaks(server: Server, task: Task) -> None:
    dirs = sandbox_dirs()
    oracle = actions(oracle_model(task))
    noop = [
        {"name": "execute_bash", "arguments": {"command": "echo hi"}},
        {"name": "finish", "arguments": {}},
    ]

    def one(i: int) -> float | None:
        steps = oracle if i % 16 == 0 else noop
        if i % 2:  # half through openenv-core's client, half through swegym's
            return openenv_episode(server.url, steps).reward
        with SWEGymClient(server.url) as env:
            env.reset(instance_id=TASK_ID)
            for s in steps:
                r = env.step(s["name"], s["arguments"])
            return r.reward

    with ThreadPoolExecutor(32) as pool:
        rewards = list(pool.map(one, range(32)))
    assert rewards == [1.0 if i % 16 == 0 else 0.0 for i in range(32)]
    assert wait_for(
        lambda: server.active() == 0 and not server.sandbox_processes() and sandbox_dirs() == dirs
    )
    assert sandbox_dirs() == dirs


def test_idle_timeout_closes_the_session_and_its_sandbox(server: Server) -> None:
    sid = httpx.post(f"{server.url}/sessions").json()["session_id"]
    r = httpx.post(f"{server.url}/sessions/{sid}/reset", json={"instance_id": TASK_ID}, timeout=60)
    assert r.status_code == 200 and r.json()["observation"]["instance_id"] == TASK_ID
    step = httpx.post(
        f"{server.url}/sessions/{sid}/step",
        json={"action": {"name": "execute_bash", "arguments": {"command": "sleep 3; echo slept"}}},
        timeout=60,
    )
    # a step longer than the idle timeout is not cut short: only idle sessions are reaped
    assert step.status_code == 200 and "slept" in step.json()["observation"]["output"]
    assert server.sandbox_processes()
    assert wait_for(lambda: httpx.get(f"{server.url}/sessions/{sid}/state").status_code == 404, 15)
    assert wait_for(lambda: not server.sandbox_processes())

    with SWEGymClient(server.url) as env:  # a WebSocket session idles out the same way
        env.reset(instance_id=TASK_ID)
        assert wait_for(lambda: server.active() == 0, 15)
        with pytest.raises(ClientError, match="session was closed"):
            env.step("execute_bash", {"command": "true"})
    assert not server.sandbox_processes()


CLIENT_THEN_HANG = """
import sys, time
from swegym.server.client import SWEGymClient
env = SWEGymClient(sys.argv[1]).connect()
env.reset(instance_id=sys.argv[2])
print("ready", flush=True)
time.sleep(600)
"""


def test_client_loss_ends_the_session_and_cleans_up(server: Server) -> None:
    dirs = sandbox_dirs()
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT_THEN_HANG, server.url, TASK_ID], stdout=subprocess.PIPE, text=True
    )
    try:
        assert client.stdout is not None and client.stdout.readline().strip() == "ready"
        assert server.active() == 1 and server.sandbox_processes()
    finally:
        client.kill()  # kill -9: no close message, the socket just drops
        client.wait()
    # The session ends, then its sandbox's processes, then its directory: wait for all three.
    assert wait_for(
        lambda: server.active() == 0 and not server.sandbox_processes() and sandbox_dirs() == dirs, 10
    )
    assert sandbox_dirs() == dirs
