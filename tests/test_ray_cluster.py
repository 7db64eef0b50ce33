"""The Ray executor on a real Ray: a local ``ray.init()``, and a two-node cluster simulated on this
machine (``ray start --head`` + ``ray start --address``, each node with its own swegym cache),
giving the same labels, outputs, grades and episodes as the local pool, and surviving a node stopped
mid-run with nothing lost and nothing twice.

The default tier uses the fixture repo (fast to build on each node's empty cache); the ``slow``
tier validates all of bundled:lite on two nodes and compares it with the published labels (what
the local executor derives; ``tasks check`` and test_bundled hold it to them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import labelled
from swegym.agent.models.factory import ModelConfig, make_model
from swegym.executors import UnitResources, make_executor, use_executor
from swegym.executors.cluster import LocalCluster
from swegym.executors.ray_executor import RayExecutor
from swegym.harness.batch import out_paths
from swegym.harness.evaluate import Prediction
from swegym.harness.evaluation_run import evaluate_predictions
from swegym.harness.validation_run import ValidationSummary, validate_tasks
from swegym.rollouts.runner import rollout
from swegym.rollouts.store import RunStore
from swegym.tasks.loaders import load_tasks
from swegym.tasks.model import Task

pytest.importorskip("ray")
pytestmark = pytest.mark.sandbox

SMALL = UnitResources(memory_mb=256)  # the simulated nodes share this machine's memory


def _ray_processes(root: Path) -> list[int]:
    """Processes whose command line names ``root`` (the cluster's temp dir): Ray's own."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().split()[2]
        except OSError:
            continue
        if str(root) in cmd and state != "Z":
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def cluster(fixture_specs: Path) -> Iterator[LocalCluster]:
    """Head and one worker node, one CPU each, each with its own swegym cache (and the fixture
    repo's spec through $SWEGYM_SPECS_PATH, which the nodes inherit)."""
    root = Path(tempfile.mkdtemp(prefix="swegym-ray-", dir="/tmp"))
    c = LocalCluster(root)
    try:
        c.add_node(cpus=1, cache_dir=root / "cache-head")
        c.add_node(cpus=1, cache_dir=root / "cache-worker")
        yield c
    finally:
        c.close()
        deadline = time.monotonic() + 20
        while _ray_processes(root) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _ray_processes(root)
        shutil.rmtree(root, ignore_errors=True)
        assert not left, f"Ray processes left running: {left}"


def _validate(rows: list[Task], out: Path) -> ValidationSummary:
    return validate_tasks(rows, out, runs=1, workers=2, mirrors={}, fresh=False, quiet=True, date_check=False)


def _labels(summary: ValidationSummary) -> dict[str, tuple[object, ...]]:
    return {
        r.instance_id: (r.status, r.FAIL_TO_PASS, r.PASS_TO_PASS, r.flaky, r.reason) for r in summary.results
    }


def test_a_local_ray_gives_what_the_local_pool_gives(
    calc_task: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # a loopback test cluster needs no token
    rows = labelled(calc_task, 2)
    local = _validate(rows, tmp_path / "local" / "tasks.jsonl")
    ray_dir = Path(tempfile.mkdtemp(prefix="swegym-rayinit-", dir="/tmp"))
    try:
        ex = RayExecutor(resources=SMALL, local_options={"num_cpus": 2, "_temp_dir": str(ray_dir)})
        with use_executor(ex):
            remote = _validate(rows, tmp_path / "ray" / "tasks.jsonl")
        assert not ex.ray.is_initialized()  # the Ray started for this block is gone
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)
    assert _labels(remote) == _labels(local) and local.valid == 2
    assert (tmp_path / "ray" / "tasks.jsonl").read_text() == (tmp_path / "local" / "tasks.jsonl").read_text()


def test_two_nodes_give_the_local_labels_outputs_grades_and_episodes(
    cluster: LocalCluster, calc_task: Task, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = labelled(calc_task, 4)
    local = _validate(rows, tmp_path / "local" / "tasks.jsonl")
    monkeypatch.setenv("RAY_ADDRESS", cluster.address)  # the address as a user's shell gives it
    with use_executor(make_executor("ray", resources=SMALL)):
        remote = _validate(rows, tmp_path / "ray" / "tasks.jsonl")
        again = _validate(rows, tmp_path / "ray" / "tasks.jsonl")  # resumes: nothing reruns
        gold, empty = rows[0].instance_id, rows[1].instance_id
        preds = {
            gold: Prediction(instance_id=gold, model_patch=rows[0].patch),
            empty: Prediction(instance_id=empty, model_patch=""),
        }
        graded = evaluate_predictions(rows, preds, tmp_path / "eval-ray", workers=2, quiet=True)
        store_dir = tmp_path / "run-ray"
        with make_model(ModelConfig(name="oracle")) as model_for:
            stats = rollout(rows[:2], model_for, RunStore(store_dir), k=2, workers=2)
    assert _labels(remote) == _labels(local) and remote.valid == 4
    assert (tmp_path / "ray" / "tasks.jsonl").read_text() == (tmp_path / "local" / "tasks.jsonl").read_text()
    journal = out_paths(tmp_path / "ray" / "tasks.jsonl")[0]
    assert len(journal.read_text().splitlines()) == 4 and _labels(again) == _labels(local)
    # Each node that ran a unit built the environment once, in its own cache.
    built = {
        n.cache_dir: sorted(p.name for p in (n.cache_dir / "envs").glob("fixture__calc-*") if p.is_dir())
        for n in cluster.nodes
        if n.cache_dir and (n.cache_dir / "envs").exists()
    }
    assert built and all(len(v) == 1 for v in built.values()), built
    # Grading: the same report as the local pool's.
    local_graded = evaluate_predictions(rows, preds, tmp_path / "eval-local", workers=2, quiet=True)
    assert graded.model_dump(exclude={"instances"}) == local_graded.model_dump(exclude={"instances"})
    assert graded.resolved_ids == [gold] and graded.empty_patch_ids == [empty]
    # Episodes: the driver wrote every one, once, as the local pool does.
    with make_model(ModelConfig(name="oracle")) as model_for:
        rollout(rows[:2], model_for, RunStore(tmp_path / "run-local"), k=2, workers=2)

    def rows_of(d: Path) -> list[tuple[object, ...]]:
        return sorted(
            (e.instance_id, e.sample, e.resolved, str(e.outcome), e.diff) for e in RunStore(d).episodes()
        )

    assert stats.ran == 4 and stats.resolved == 4
    assert rows_of(store_dir) == rows_of(tmp_path / "run-local") and len(rows_of(store_dir)) == 4


@pytest.mark.slow
def test_two_nodes_validate_bundled_lite_to_its_labels(swegym_cache: Path, tmp_path: Path) -> None:
    """All of bundled:lite on two nodes sharing the session's cache (the shared-path set-up, so
    environments other slow tests built are reused): the published labels, which the local
    executor derives (test_bundled, `tasks check`)."""
    rows = load_tasks("bundled:lite").tasks
    root = Path(tempfile.mkdtemp(prefix="swegym-ray-lite-", dir="/tmp"))
    try:
        with LocalCluster(root) as c:
            c.add_node(cpus=1, cache_dir=swegym_cache)
            c.add_node(cpus=1, cache_dir=swegym_cache)
            with use_executor(RayExecutor(address=c.address, resources=SMALL)):
                summary = validate_tasks(
                    rows, tmp_path / "tasks.jsonl", runs=1, workers=2, mirrors={}, fresh=False, quiet=True
                )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    got = {r.instance_id: (r.status, sorted(r.FAIL_TO_PASS), sorted(r.PASS_TO_PASS)) for r in summary.results}
    want = {t.instance_id: ("valid", sorted(t.FAIL_TO_PASS), sorted(t.PASS_TO_PASS)) for t in rows}
    assert got == want


def test_a_driver_killed_mid_run_resumes_from_its_journal(
    cluster: LocalCluster, calc_task: Task, tmp_path: Path
) -> None:
    rows = labelled(calc_task, 4)
    tasks = tmp_path / "calc.jsonl"
    tasks.write_text("".join(t.model_dump_json() + "\n" for t in rows))
    out = tmp_path / "kill" / "tasks.jsonl"
    journal = out_paths(out)[0]
    cmd = [sys.executable, "-m", "swegym", "validate", "--tasks", str(tasks), "--out", str(out), "--json"]
    cmd += ["--no-date-check", "--executor", "ray", "--ray-address", cluster.address]
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (journal.exists() and journal.read_text().strip()):
        time.sleep(0.1)
    driver.kill()  # kill -9: no cleanup, its Ray job dies with it
    driver.wait()
    first = journal.read_text().splitlines()
    assert 1 <= len(first) < 4, "the driver finished before it could be killed"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    ids = []
    for line in journal.read_text().splitlines():
        try:
            ids.append(json.loads(line)["instance_id"])
        except json.JSONDecodeError:
            continue  # a line the kill cut: that task ran again (read_done skips it too)
    assert sorted(ids) == sorted(t.instance_id for t in rows)  # the finished ones did not run again
    assert json.loads(done.stdout[done.stdout.index("{") :])["valid"] == 4


def test_a_node_stopped_mid_run_loses_nothing_and_duplicates_nothing(
    cluster: LocalCluster, calc_task: Task, tmp_path: Path
) -> None:
    import ray

    # The last test of the module: it stops the worker node for good.
    extra = cluster.nodes[1]
    rows = labelled(calc_task, 6)
    out = tmp_path / "stop" / "tasks.jsonl"
    journal = out_paths(out)[0]
    ex = RayExecutor(address=cluster.address, resources=SMALL)
    lost_in_flight: list[int] = []

    def stop_when_busy() -> None:
        doomed = extra.node_id(ray.nodes())
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            busy = [i for i, node in list(ex.in_flight.items()) if node == doomed]
            if busy and journal.exists() and journal.read_text().strip():
                lost_in_flight.extend(busy)
                cluster.stop_node(extra)
                return
            time.sleep(0.2)

    with use_executor(ex):
        ex._connect()
        stopper = threading.Thread(target=stop_when_busy)
        stopper.start()
        summary = _validate(rows, out)
        stopper.join()
    assert lost_in_flight, "the node was never stopped with a unit on it"
    ids = [json.loads(line)["instance_id"] for line in journal.read_text().splitlines()]
    assert sorted(ids) == sorted(t.instance_id for t in rows)  # nothing lost, nothing twice
    expected = labelled(calc_task, 1)[0]
    assert summary.valid == 6
    assert all(
        r.FAIL_TO_PASS == expected.FAIL_TO_PASS and r.PASS_TO_PASS == expected.PASS_TO_PASS
        for r in summary.results
    )
