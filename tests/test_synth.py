"""Bug synthesis on a small git repository that the test builds, end to end in the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_git
from swegym.curate.synth.config import SynthConfig
from swegym.curate.synth.coverage import function_starts, parse_records
from swegym.curate.synth.diffs import reverse_diff, unified_diff
from swegym.curate.synth.pipeline import synthesize
from swegym.curate.synth.statements import reproduction_source, rewrite, write_statement
from swegym.curate.synth.tasks import probe_task
from swegym.harness.testfiles import is_test_path
from swegym.harness.validate import validate_task
from swegym.sources.gitutil import git, git_env
from swegym.sources.materialize import materialize

PYVER = f"{sys.version_info.major}.{sys.version_info.minor}"

GEOMETRY = '''\
"""Small geometry helpers."""


def clamp(x, lo, hi):
    if lo > hi:
        raise ValueError("lo must not exceed hi")
    return max(lo, min(x, hi))


def area(width, height):
    return width * height


def is_inside(x, lo, hi):
    return lo <= x and x <= hi


class Counter:
    def __init__(self):
        self.n = 0

    def bump(self, k=1):
        self.n += k
        return self.n
'''

TESTS = """\
import time

import pytest

from shapes.geometry import Counter, area, clamp, is_inside


def test_clamp_inside():
    assert clamp(5, 0, 10) == 5


def test_clamp_upper():
    assert clamp(50, 0, 10) == 10


def test_clamp_bad_bounds():
    with pytest.raises(ValueError):
        clamp(1, 5, 0)


def test_area():
    assert area(3, 4) == 12


def test_is_inside():
    assert is_inside(3, 0, 10)
    assert not is_inside(11, 0, 10)
    assert is_inside(10, 0, 10)


def test_counter():
    c = Counter()
    c.bump()
    assert c.bump(2) == 3


# Its id holds the time, so it differs in every run: not evidence of any bug.
@pytest.mark.parametrize("stamp", [time.time()])
def test_stamped(stamp):
    assert stamp > 0
"""


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("shapes-origin")
    run_git(root, "init", "-q", "--initial-branch=main")
    (root / "shapes").mkdir()
    (root / "shapes" / "__init__.py").write_text("")
    (root / "shapes" / "geometry.py").write_text(GEOMETRY)
    (root / "tests").mkdir()
    (root / "tests" / "test_geometry.py").write_text(TESTS)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "shapes 0.1")
    return {"path": str(root), "commit": run_git(root, "rev-parse", "HEAD").strip()}


@pytest.fixture(scope="module")
def shapes_specs(tmp_path_factory: pytest.TempPathFactory, fixture_specs: Path) -> Path:
    d = tmp_path_factory.mktemp("shapes-specs")
    spec = {
        "repo": "fixture/shapes",
        "versions": {
            "0.1": {
                "python": PYVER,
                "install": [],
                "packages": ["pytest"],
                "env": {"PYTHONPATH": "/testbed"},
                "test_timeout": 120,
            }
        },
    }
    (d / "fixture__shapes.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SWEGYM_SPECS_PATH", f"{fixture_specs}:{d}")
        yield d


def _cfg(shapes: dict[str, str], **kw: object) -> SynthConfig:
    base = dict(
        source=shapes["path"], project="shapes", repo="fixture/shapes", version="0.1", n=3, tests=["tests"]
    )
    return SynthConfig.model_validate({**base, **kw})


def test_reverse_diff_undoes_the_bug(tmp_path: Path) -> None:
    new = GEOMETRY.replace("lo <= x and x <= hi", "lo <= x or x <= hi").replace("return width * height", "")
    bug = unified_diff("shapes/geometry.py", GEOMETRY, new)
    gold = reverse_diff(bug)
    (tmp_path / "shapes").mkdir()
    target = tmp_path / "shapes" / "geometry.py"
    target.write_text(GEOMETRY)
    git(tmp_path, "init", "-q")
    git(tmp_path, "apply", "-", input=bug)
    assert target.read_text() == new
    git(tmp_path, "apply", "-", input=gold)
    assert target.read_text() == GEOMETRY


def test_unified_diff_handles_missing_final_newline(tmp_path: Path) -> None:
    old, new = "a = 1\nb = 2", "a = 1\nb = 3"
    (tmp_path / "m.py").write_text(old)
    git(tmp_path, "init", "-q")
    git(tmp_path, "apply", "-", input=unified_diff("m.py", old, new))
    assert (tmp_path / "m.py").read_text() == new


def test_function_starts_cover_decorators() -> None:
    src = "import functools\n\n@functools.cache\n@staticmethod\ndef f():\n    return 1\n"
    assert function_starts(src) == {5: (5, 6), 3: (5, 6)}


def test_parse_records_maps_coverage_and_messages() -> None:
    lines = [
        {"cover_fn": 0, "path": "pkg/a.py", "line": 3},
        {"cover": "tests/test_a.py::test_x", "fns": [0]},
        {"nodeid": "tests/test_a.py::test_y", "when": "call", "outcome": "failed", "message": "boom"},
    ]
    messages, covers = parse_records("\n".join(json.dumps(r) for r in lines))
    assert covers == {("pkg/a.py", 3): {"tests/test_a.py::test_x"}}
    assert messages == {"tests/test_a.py::test_y": "boom"}


def test_test_paths_are_never_mutated() -> None:
    assert is_test_path("tests/test_a.py") and is_test_path("pkg/conftest.py") and is_test_path("a_test.py")
    assert not is_test_path("pkg/testing_utils.py") and not is_test_path("pkg/core.py")
    # The union of what synthesis, mining and the rerank signals called a test: any file under a
    # test directory (data and helpers too), test_* in any case, Windows separators.
    assert is_test_path("testing/helpers.py") and is_test_path("tests/data/x.json")
    assert is_test_path("pkg/Test_io.py") and is_test_path("pkg\\tests\\util.py")
    assert not is_test_path("pkg/contest.py") and not is_test_path("tests")


def test_statement_shows_symptom_not_fix(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_geometry.py").write_text(TESTS)
    nodeid = "tests/test_geometry.py::test_clamp_upper"
    assert (
        reproduction_source(tmp_path, nodeid) == "def test_clamp_upper():\n    assert clamp(50, 0, 10) == 10"
    )
    text = write_statement("shapes", "0.1", [nodeid], {nodeid: "assert 11 == 10"}, tmp_path)
    assert "assert clamp(50, 0, 10) == 10" in text and "assert 11 == 10" in text
    assert "geometry.py" not in text.replace("tests/test_geometry.py", "")
    # A rewrite that names the edited file, or quotes the original code, is thrown away.
    leaky = lambda s: s + " The bug is in shapes/geometry.py."  # noqa: E731
    assert rewrite(text, leaky, ["shapes/geometry.py"]) == (text, False)
    ok, rewritten = rewrite(text, lambda s: "Title\n\n" + s, ["shapes/geometry.py"])
    assert rewritten and ok.startswith("Title")


@pytest.mark.sandbox
def test_synth_makes_valid_leak_free_tasks(
    shapes: dict[str, str], shapes_specs: Path, tmp_path: Path
) -> None:
    from swegym.curate.leaks import check_leaks

    cfg = _cfg(shapes, max_tries=30)
    tasks, report = synthesize(cfg, tmp_path / "out", probe_task(cfg, shapes["commit"], None), progress=False)
    assert len(tasks) == 3 and report.kept == 3 and report.tried >= 3
    assert report.covered_functions >= 4  # clamp, area, is_inside, Counter.__init__, Counter.bump
    assert len({t.instance_id for t in tasks}) == 3
    for task in tasks:
        assert task.meta["made_by"] == "synthetic" and task.meta["edit_kind"] in cfg.kinds
        assert task.test_patch == "" and task.test_files == ["tests/test_geometry.py"]
        repo = materialize(task)
        # The base is a root commit holding only the buggy tree: the original file is nowhere in git.
        assert git(repo, "rev-list", "--count", "--all").strip() == "1"
        original_blob = git(Path(shapes["path"]), "rev-parse", "HEAD:shapes/geometry.py").strip()
        assert (
            subprocess.run(["git", "cat-file", "-e", original_blob], cwd=repo, env=git_env()).returncode != 0
        )
        assert check_leaks(task, repo) == []
        assert "shapes/geometry.py" not in task.problem_statement
        result = validate_task(task, runs=1)
        assert result.status == "valid", result.reason
        assert result.FAIL_TO_PASS and set(result.FAIL_TO_PASS) <= {
            f"tests/test_geometry.py::{n}"
            for n in (
                "test_clamp_inside",
                "test_clamp_upper",
                "test_clamp_bad_bounds",
                "test_area",
                "test_is_inside",
                "test_counter",
            )
        }


@pytest.mark.sandbox
def test_synth_resumes_without_trying_again(
    shapes: dict[str, str], shapes_specs: Path, tmp_path: Path
) -> None:
    cfg = _cfg(shapes, n=1, max_tries=10)
    probe = probe_task(cfg, shapes["commit"], None)
    first, rep1 = synthesize(cfg, tmp_path, probe, progress=False)
    lines = (tmp_path / "trials.jsonl").read_text().splitlines()
    baseline_run = (tmp_path / "baseline.log").stat().st_mtime_ns
    again, rep2 = synthesize(cfg, tmp_path, probe, progress=False)
    assert (tmp_path / "baseline.log").stat().st_mtime_ns == baseline_run  # the baseline is kept too
    assert [t.instance_id for t in again] == [t.instance_id for t in first]
    assert [t.base_commit for t in again] == [t.base_commit for t in first]  # deterministic bases
    assert (tmp_path / "trials.jsonl").read_text().splitlines() == lines
    assert rep2.tried == rep1.tried


@pytest.mark.sandbox
def test_threat_build_bytecode_leaks_the_original_code(
    shapes: dict[str, str], shapes_specs: Path, tmp_path: Path
) -> None:
    """The env is built (and compiled) on the clean tree; its .pyc of the edited file holds the fix."""
    from swegym.harness.runner import prepare
    from swegym.sandbox.local import LocalSandbox

    cfg = _cfg(shapes, n=1, max_tries=10)
    (task,), _ = synthesize(cfg, tmp_path, probe_task(cfg, shapes["commit"], None), progress=False)
    prep = prepare(task)
    stale = list((prep.env.repo_extra / "shapes" / "__pycache__").glob("geometry.*.pyc"))
    assert stale, "the build compiled the clean module (the leak this test is about)"
    probe = "cat /testbed/shapes/__pycache__/geometry.*.pyc | wc -c; python -c 'import shapes.geometry'"
    with LocalSandbox(prep.layout()) as sbx:
        out = sbx.run(probe)
    assert out.output.split()[0] == "0" and out.exit_code == 0, out.output  # masked; imports still work
    with LocalSandbox(prep.env.layout(prep.repo_dir)) as sbx:  # without the mask: the leak is real
        assert int(sbx.run(probe).output.split()[0]) > 0


def test_synth_cli_bad_source_is_one_line() -> None:
    for args, expect in (
        (["--source", "npm:left-pad"], "expected pypi:NAME==VERSION or git:URL@REV"),
        (["--source", "pypi:nosuchproject==1.0"], "pass --repo OWNER/NAME"),
        (["--source", "git:/tmp/x@main"], "--repo OWNER/NAME and --version"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "swegym", "curate", "synth", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and expect in proc.stderr, proc.stderr
