"""The executor seam without a cluster: the local pool, environment placement, endpoint balancing,
and every command working as before when Ray cannot be imported (fast)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from swegym.agent.models.balanced import BalancedModel
from swegym.agent.models.factory import ModelConfig, make_model
from swegym.agent.models.openai_compat import OpenAICompatModel, OpenAIConfig
from swegym.executors import (
    ExecutorError,
    LocalExecutor,
    UnitResources,
    current_executor,
    env_group,
    make_executor,
    use_executor,
)
from swegym.executors.placement import GroupQueue
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task


def test_local_pool_yields_every_result_and_pulls_lazily() -> None:
    pulled: list[int] = []
    running, peak = [0], [0]
    lock = threading.Lock()

    def items() -> Iterator[int]:
        for i in range(10):
            pulled.append(i)
            yield i

    def work(i: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return i * i

    started: list[int] = []
    out = list(LocalExecutor().map(work, items(), workers=3, on_start=started.append))
    assert sorted(out) == [i * i for i in range(10)] and sorted(started) == list(range(10))
    assert peak[0] <= 3
    # A consumer that stops early leaves the rest unpulled: nothing new starts once it stops.
    pulled.clear()
    gen = LocalExecutor().map(work, items(), workers=2)
    next(gen)
    gen.close()
    assert len(pulled) <= 3


def test_local_pool_propagates_a_units_exception() -> None:
    def work(i: int) -> int:
        if i == 3:
            raise ValueError("unit 3 broke")
        return i

    with pytest.raises(ValueError, match="unit 3 broke"):
        list(LocalExecutor().map(work, range(6), workers=2))


def test_the_current_executor_is_local_unless_a_block_says_otherwise() -> None:
    assert current_executor().name == "local"
    with use_executor(LocalExecutor()) as ex:
        assert current_executor() is ex
    assert current_executor().name == "local"
    with pytest.raises(ExecutorError, match="use one of local, ray"):
        make_executor("dask")


def test_units_group_by_environment() -> None:
    task = load_tasks("bundled:lite").tasks[0]
    key = f"{task.repo}@{task.version}"
    assert env_group(task) == key and env_group((task, "diff")) == key and env_group((task, 3)) == key
    assert env_group("x") == "" and env_group(()) == ""


def test_a_node_keeps_its_environments_and_helps_with_the_largest_left() -> None:
    items = [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("b", 1), ("b", 2), ("c", 1)]
    q: GroupQueue[tuple[str, int]] = GroupQueue(items, lambda it: it[0], lookahead=len(items))
    # Fresh nodes take the largest untouched environment each.
    assert q.take("n1") == ("a", 1) and q.take("n2") == ("b", 1)
    # Each then stays with its own.
    assert q.take("n1") == ("a", 2) and q.take("n2") == ("b", 2)
    # n2's environment is done: it takes the untouched one before stealing.
    assert q.take("n2") == ("c", 1)
    # Nothing untouched is left: it helps with the environment that has the most units left.
    assert q.take("n2") == ("a", 3) and q.owners["a"] == {"n1", "n2"}
    q.push_front(("a", 3))  # its node was lost: it runs next, before the others of its group
    assert q.take("n1") == ("a", 3) and q.take("n1") == ("a", 4)
    assert q.take("n1") is None and q.empty()


def test_resources_come_from_the_sandbox_limits() -> None:
    from swegym.sandbox.config import SandboxConfig

    limits = SandboxConfig(memory_mb=3000)
    res = UnitResources.from_sandbox(limits.memory_mb)
    assert res.memory_mb == 3000 and res.cpus == 1.0


class _Endpoint:
    """A tiny OpenAI-compatible endpoint that counts requests; ``hold`` blocks replies."""

    def __init__(self) -> None:
        self.calls = 0
        self.hold = threading.Event()
        self.hold.set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.calls += 1
                outer.hold.wait(10)
                body = {"choices": [{"message": {"role": "assistant", "content": "ok"}}], "usage": {}}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


def test_requests_go_to_the_endpoint_with_the_fewest_outstanding() -> None:
    slow, fast = _Endpoint(), _Endpoint()
    try:
        cfg = ModelConfig(name="m", base_url=slow.url, base_urls=[slow.url, fast.url])
        with make_model(cfg) as model_for:
            model = model_for(load_tasks("bundled:lite").tasks[0], 0)
            assert isinstance(model, BalancedModel)
            slow.hold.clear()  # the first request (to the first endpoint) hangs there
            hung = threading.Thread(target=model.complete, args=([{"role": "user", "content": "x"}], []))
            hung.start()
            deadline = time.monotonic() + 10
            while slow.calls == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            for _ in range(5):  # round robin would send two of these to the busy endpoint
                assert model.complete([{"role": "user", "content": "y"}], []).content == "ok"
            assert (slow.calls, fast.calls) == (1, 5) and model.outstanding == [1, 0]
            slow.hold.set()
            hung.join(10)
            assert model.outstanding == [0, 0] and model.sent == [1, 5]
            # A copy shipped to another process (a Ray worker) keeps the endpoints, not the counts.
            copy = pickle.loads(pickle.dumps(model))
            assert [m.config.base_url for m in copy.models] == [slow.url, fast.url]
            assert copy.outstanding == [0, 0]
    finally:
        slow.hold.set()
        slow.httpd.shutdown()
        fast.httpd.shutdown()


def test_a_served_client_pickles_by_its_config() -> None:
    client = OpenAICompatModel(OpenAIConfig(model="m", base_url="http://127.0.0.1:9/v1"))
    copy = pickle.loads(pickle.dumps(client))
    assert copy.config == client.config and copy.client is not client.client


_BLOCK_RAY = (
    "import sys; sys.modules['ray'] = None; from swegym.cli.app import main; sys.argv[0] = 'swegym'; main()"
)


def _swegym_without_ray(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK_RAY, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


@pytest.mark.sandbox
def test_without_ray_local_works_and_ray_says_how_to_install(calc_task: Task, tmp_path: Path) -> None:
    tasks = tmp_path / "calc.jsonl"
    tasks.write_text(calc_task.model_dump_json() + "\n")
    out = tmp_path / "v" / "tasks.jsonl"
    ok = _swegym_without_ray("validate", "--tasks", str(tasks), "--out", str(out), "--json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout[ok.stdout.index("{") :])["valid"] == 1
    for cmd in (
        ["validate", "--tasks", str(tasks), "--out", str(tmp_path / "r" / "t.jsonl")],
        ["rollout", "--tasks", str(tasks), "--model", "oracle", "--out", str(tmp_path / "run")],
        ["tasks", "check", "--tasks", str(tasks), "--out", str(tmp_path / "check")],
    ):
        res = _swegym_without_ray(*cmd, "--executor", "ray", cwd=tmp_path)
        assert res.returncode == 2, (cmd, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert lines == ["error: --executor ray needs ray (ray is missing): pip install 'swegym[ray]'"], lines
    assert not (tmp_path / "r").exists() and not (tmp_path / "run" / "rollouts.db").exists()
