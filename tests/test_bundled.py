"""The bundled tasks validate for real: sdists from the package index, uv-built envs, sandboxed tests."""

from __future__ import annotations

import pytest

from swegym.harness.validate import validate_task
from swegym.tasks.loaders import load_tasks

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


def test_bundled_lite_validates_with_identical_labels() -> None:
    from concurrent.futures import ThreadPoolExecutor

    tasks = load_tasks("bundled:lite").tasks
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda t: validate_task(t, runs=1), tasks))
    problems = {r.instance_id: r.reason for r in results if r.status != "valid"}
    assert not problems
    for task, res in zip(tasks, results, strict=True):
        assert res.FAIL_TO_PASS == task.FAIL_TO_PASS
        assert set(res.PASS_TO_PASS) == set(task.PASS_TO_PASS)
