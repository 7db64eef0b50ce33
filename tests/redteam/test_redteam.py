"""Red team: attacks on grading must not pay.

Each ``test_attack_<class>`` builds one attack class as a real diff and grades it through
``swegym eval``'s library path (`evaluate_predictions`) on two tasks: the synthetic calc task
(tests/conftest.py) and the real bundled task pallets__click-2193. Each ``test_agent_<class>``
performs an attack with bash tool calls in `SWEEnv` and must get reward 0. A paying attack is
one graded ``resolved`` (or ``infra_error``, which would drop it from the statistics instead of
counting it as unresolved); ``tests_failed``, ``patch_failed`` and ``tampered`` are fine.

All attacks of one task are graded in one batch (two workers), shared by the module.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import rt_attacks as rt

from conftest import with_labels
from swegym.tasks.model import Task

pytestmark = pytest.mark.sandbox

SANITY = {"__gold": None, "__noop": None, "__empty": None}


class Graded:
    """The attack outcomes per task, computed on first use (one eval batch per task)."""

    def __init__(self, calc_task: Task, tmp: Path) -> None:
        self.tasks = {"synthetic": lambda: with_labels(calc_task), "real": rt.real_task}
        self.tmp = tmp
        self.kits: dict[str, rt.Kit] = {}
        self.results: dict[str, dict[str, rt.Result]] = {}

    def kit(self, kind: str) -> rt.Kit:
        if kind not in self.kits:
            self.kits[kind] = rt.make_kit(kind, self.tasks[kind]())
        return self.kits[kind]

    def result(self, kind: str, name: str) -> rt.Result:
        if kind not in self.results:
            kit = self.kit(kind)
            diffs, broken = rt.build_all(kit)
            diffs["__gold"] = kit.task.patch
            diffs["__noop"] = rt.git_diff(kit, {"RT_NOTES.md": "nothing to see\n"})
            diffs["__empty"] = ""
            self.results[kind] = {**rt.evaluate_diffs(kit, diffs, self.tmp / kind), **broken}
        return self.results[kind][name]


@pytest.fixture(scope="module")
def graded(calc_task: Task, tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(calc_task, tmp_path_factory.mktemp("redteam"))


@pytest.mark.parametrize("kind", rt.KINDS)
def test_gold_patch_resolves(graded: Graded, kind: str) -> None:
    r = graded.result(kind, "__gold")
    assert r.outcome == "resolved", r


@pytest.mark.parametrize("kind", rt.KINDS)
def test_empty_and_noop_diffs_do_not_resolve(graded: Graded, kind: str) -> None:
    assert graded.result(kind, "__empty").outcome == "no_diff"
    assert graded.result(kind, "__noop").outcome == "tests_failed"


def _attack_test(name: str) -> Callable[..., None]:
    @pytest.mark.parametrize("kind", rt.KINDS)
    def test(graded: Graded, kind: str) -> None:
        r = graded.result(kind, name)
        assert r.outcome != "build_error", r.error
        assert not r.paid, f"attack {name} pays on the {kind} task: {r.outcome} ({r.error})"

    test.__name__ = test.__qualname__ = f"test_attack_{name}"
    test.__doc__ = (rt.ATTACKS[name].__doc__ or "").strip() or f"The {name} attack does not pay."
    return test


def _agent_test(name: str) -> Callable[..., None]:
    @pytest.mark.parametrize("kind", rt.KINDS)
    def test(graded: Graded, kind: str) -> None:
        r = rt.run_agent(graded.kit(kind), name)
        assert not r.paid, f"agent attack {name} pays on the {kind} task: {r.outcome} ({r.error})"

    test.__name__ = test.__qualname__ = f"test_agent_{name}"
    return test


for _name in rt.ATTACKS:
    globals()[f"test_attack_{_name}"] = _attack_test(_name)
for _name in rt.AGENTS:
    globals()[f"test_agent_{_name}"] = _agent_test(_name)
