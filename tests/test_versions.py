"""Version detection: SWE-Gym's rules and normalisation, on real version strings and a real
fixture git repository; the empty-version path through `tasks version` and `validate`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import run_git
from swegym.cli.app import app
from swegym.sources.versions import (
    VersionDetectionError,
    VersionRule,
    detect_version,
    load_rules,
    normalize_version,
    raw_version,
    with_version,
)
from swegym.tasks.export import export_tasks
from swegym.tasks.model import Task

PYVER = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("4.1.4.dev", "4.1"),  # moto/__init__.py
        ("0.920+dev.abc", "0.920"),  # mypy/version.py
        ("1.40.0-dev", "1.40"),  # conans/__init__.py
        ("1.1.0.dev5", "1.1"),  # hydra/__init__.py
        ("2.0b1", "2.01"),  # pydantic version.VERSION (a pre-release collapses)
        ("0.15a1", "0.151"),
        ("0+untagged.105.g1a2b3c4", "0.105"),  # MONAI's versioneer without a tag
        ("0.11-813-g16818ab", "0.1181316818"),  # bokeh's `git describe`
        ("2022.05.2+9.gcdc7d2d", "2022.05"),  # dask's versioneer
        ("1.0.0a6.dev15+gd1e08b6", "1.0"),  # dvc's setuptools_scm
        ("1, 2, 3", "1.2"),  # a VERSION = (1, 2, 3) tuple
    ],
)
def test_normalisation_gives_swegym_keys(raw: str, key: str) -> None:
    assert normalize_version(raw) == key


def test_shipped_rules_cover_the_eleven_repositories() -> None:
    rules = load_rules()
    for repo in ("getmoto/moto", "python/mypy", "conan-io/conan", "facebookresearch/hydra"):
        assert rules[repo].method == "file"
    assert rules["pydantic/pydantic"].path == "pydantic/version.py"
    assert {rules[r].method for r in ("dask/dask", "project-monai/monai", "modin-project/modin")} == {
        "versioneer"
    }
    assert rules["pandas-dev/pandas"].tag_prefix == "v"
    assert rules["iterative/dvc"].method == "setuptools-scm"
    assert rules["bokeh/bokeh"].method == "describe"
    assert len(rules) == 11


def test_pydantic_version_file_forms(tmp_path: Path) -> None:
    rule = load_rules()["pydantic/pydantic"]
    for text, raw in [
        ("VERSION = '2.0b1'\n", "2.0b1"),
        ("from distutils.version import StrictVersion\nVERSION = StrictVersion('0.27')\n", "0.27"),
    ]:
        repo = _repo(tmp_path / raw, {"pydantic/version.py": text})
        assert raw_version(rule, repo, "HEAD") == raw


def _repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    run_git(root, "init", "-q", "--initial-branch=main")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", "init")
    return root


def _commit(root: Path, n: int) -> None:
    for i in range(n):
        log = root / "log.txt"
        log.write_text((log.read_text() if log.exists() else "") + f"{i}\n")
        run_git(root, "add", "-A")
        run_git(root, "commit", "-qm", f"change {i}")


def test_git_describe_rules_on_a_tagged_repo(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", {"a.py": "x = 1\n"})
    run_git(repo, "tag", "-a", "0.11", "-m", "0.11")
    _commit(repo, 1)
    run_git(repo, "tag", "v2.8.3")  # lightweight: versioneer and setuptools_scm read it, describe not
    _commit(repo, 3)
    head = run_git(repo, "rev-parse", "HEAD").strip()
    versioneer = raw_version(VersionRule(method="versioneer", tag_prefix="v"), repo, "HEAD")
    assert versioneer == f"2.8.3+3.g{head[:7]}" and normalize_version(versioneer) == "2.8"
    scm = raw_version(VersionRule(method="setuptools-scm"), repo, "HEAD")
    assert scm == f"2.8.4.dev3+g{head[:7]}"
    described = raw_version(VersionRule(method="describe"), repo, "HEAD")  # annotated tags only
    assert described.startswith("0.11-4-g") and normalize_version(described).startswith("0.114")
    run_git(repo, "tag", "1.0.0")
    assert raw_version(VersionRule(method="versioneer"), repo, "HEAD") == "1.0.0"


def test_tag_rules_need_tags(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", {"a.py": "x = 1\n"})
    with pytest.raises(VersionDetectionError, match=r"no tags.*--mirror"):
        raw_version(VersionRule(method="versioneer"), repo, "HEAD")


def test_bad_rules_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({"me/pkg": {"method": "guess"}}))
    monkeypatch.setenv("SWEGYM_VERSION_RULES", str(bad))
    with pytest.raises(VersionDetectionError, match=r"rules.json: me/pkg: field 'method'"):
        load_rules()
    bad.write_text(json.dumps({"me/pkg": {"method": "file"}}))
    with pytest.raises(VersionDetectionError, match="needs 'path'"):
        load_rules()


# -- the empty-version path: a fixture repository with a version file and its own rule ----------

CODE = "__version__ = '0.1.3.dev0'\n\n\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi + 1))\n"
TESTS = "from vcalc import clamp\n\n\ndef test_inside():\n    assert clamp(5, 0, 10) == 5\n"
TESTS_NEW = TESTS + "\n\ndef test_upper():\n    assert clamp(50, 0, 10) == 10\n"


@pytest.fixture(scope="module")
def vcalc(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A repo with vcalc/__init__.py's __version__, a fix commit, its rule and its spec."""
    root = _repo(
        tmp_path_factory.mktemp("vcalc") / "origin",
        {"vcalc/__init__.py": CODE, "tests/test_vcalc.py": TESTS},
    )
    base = run_git(root, "rev-parse", "HEAD").strip()
    (root / "vcalc/__init__.py").write_text(CODE.replace("hi + 1", "hi"))
    (root / "tests/test_vcalc.py").write_text(TESTS_NEW)
    gold, tests = run_git(root, "diff", "--", "vcalc"), run_git(root, "diff", "--", "tests")
    run_git(root, "commit", "-qam", "fix (#2)")
    extra = tmp_path_factory.mktemp("vcalc-conf")
    (extra / "rules.json").write_text(
        json.dumps({"fixture/vcalc": {"method": "file", "path": "vcalc/__init__.py"}})
    )
    spec = {"python": PYVER, "install": [], "packages": ["pytest"], "env": {"PYTHONPATH": "/testbed"}}
    spec["test_cmd"] = "python -m pytest -rA -p no:cacheprovider"
    specs = extra / "specs"
    specs.mkdir()
    (specs / "fixture__vcalc.json").write_text(
        json.dumps({"repo": "fixture/vcalc", "versions": {"0.1": spec}})
    )
    task = Task(
        instance_id="fixture__vcalc-2",
        repo="fixture/vcalc",
        base_commit=base,
        patch=gold,
        test_patch=tests,
        problem_statement="clamp's upper bound is off by one",
        created_at="2024-01-01T00:00:00Z",
    )
    return {"task": task, "mirror": str(root), "rules": extra / "rules.json", "specs": specs}


def test_task_version_is_optional() -> None:
    row = {"instance_id": "a__b-1", "repo": "a/b", "base_commit": "abc1234", "patch": "", "test_patch": ""}
    assert Task.model_validate({**row, "problem_statement": ""}).version == ""


def test_detect_from_mirror_and_from_the_materialized_repo(
    vcalc: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEGYM_VERSION_RULES", str(vcalc["rules"]))
    task = vcalc["task"]
    assert isinstance(task, Task)
    mirrors = {"fixture/vcalc": str(vcalc["mirror"])}
    found = detect_version(task, mirrors)
    assert (found.version, found.raw, found.method) == ("0.1", "0.1.3.dev0", "file")
    # No mirror: the task's own source is materialized at the base commit and its file read.
    filled = with_version(task.model_copy(update={"source": str(vcalc["mirror"])}))
    assert filled.version == "0.1" and filled.meta["version_detected"]["raw"] == "0.1.3.dev0"
    assert with_version(task.model_copy(update={"version": "9.9"})).version == "9.9"  # given wins
    with pytest.raises(VersionDetectionError, match="no version rule for other/repo"):
        detect_version(task.model_copy(update={"repo": "other/repo"}), mirrors)


def test_tasks_version_command_fills_versions(
    vcalc: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEGYM_VERSION_RULES", str(vcalc["rules"]))
    task = vcalc["task"]
    assert isinstance(task, Task)
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    export_tasks([task, task.model_copy(update={"instance_id": "x__y-1", "repo": "x/y"})], src)
    res = CliRunner().invoke(
        app,
        [
            "tasks",
            "version",
            "--tasks",
            str(src),
            "--mirror",
            f"fixture/vcalc={vcalc['mirror']}",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 1, res.output  # x/y has no rule: reported, exit 1
    assert "fixture__vcalc-2\t0.1\tfile: 0.1.3.dev0" in res.output
    assert "x__y-1: no version and no version rule for x/y" in res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["version"] for r in rows] == ["0.1", ""]


@pytest.mark.sandbox
def test_empty_version_validates_with_the_detected_version(
    vcalc: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swegym.harness.validate import validate_task

    monkeypatch.setenv("SWEGYM_VERSION_RULES", str(vcalc["rules"]))
    task = vcalc["task"]
    assert isinstance(task, Task) and task.version == ""
    res = validate_task(
        task,
        mirrors={"fixture/vcalc": str(vcalc["mirror"])},
        spec_dirs=[str(vcalc["specs"])],
        date_check=False,
        log_dir=tmp_path,
    )
    assert res.status == "valid", res.reason
    assert res.FAIL_TO_PASS == ["tests/test_vcalc.py::test_upper"]
    assert res.task is not None and res.task.version == "0.1"
    assert res.task.meta["version_detected"] == {"version": "0.1", "raw": "0.1.3.dev0", "method": "file"}


# -- a command rule: the repository's own code, run in the sandbox ------------------------------


def _command_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], timeout: float = 60
) -> None:
    rules = tmp_path / "cmd-rules.json"
    rules.write_text(
        json.dumps({"fixture/vcalc": {"method": "command", "command": argv, "timeout": timeout}})
    )
    monkeypatch.setenv("SWEGYM_VERSION_RULES", str(rules))


@pytest.mark.sandbox
def test_command_rule_runs_in_the_sandbox(
    vcalc: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swegym.harness.versioncmd import sandbox_runner

    task = vcalc["task"]
    assert isinstance(task, Task)
    mirrors = {"fixture/vcalc": str(vcalc["mirror"])}
    _command_rule(
        tmp_path, monkeypatch, ["python3", "-c", "import vcalc; print('noise'); print(vcalc.__version__)"]
    )
    with pytest.raises(VersionDetectionError, match="runs only in a sandbox"):
        detect_version(task, mirrors)
    found = detect_version(task, mirrors, run_command=sandbox_runner())
    assert (found.version, found.raw, found.method) == ("0.1", "0.1.3.dev0", "command")


@pytest.mark.sandbox
def test_hostile_version_command_is_contained(
    vcalc: dict[str, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repository's version command cannot reach the network, change the cached repo, run
    past its timeout, or hand back an unbounded key."""
    from swegym.harness.versioncmd import sandbox_runner
    from swegym.sandbox.config import SandboxConfig
    from swegym.sources.materialize import materialize

    task = vcalc["task"]
    assert isinstance(task, Task)
    mirrors = {"fixture/vcalc": str(vcalc["mirror"])}
    cached = materialize(task, mirrors) / "vcalc" / "__init__.py"
    before = cached.read_text()
    run = sandbox_runner(SandboxConfig(network=True))  # the runner turns the network off anyway
    net = "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3); print('1.0')"
    _command_rule(
        tmp_path, monkeypatch, ["sh", "-c", f"echo 'X = 1' > vcalc/__init__.py; python3 -c \"{net}\""]
    )
    with pytest.raises(VersionDetectionError, match="Network is unreachable"):
        detect_version(task, mirrors, run_command=run)
    assert cached.read_text() == before
    _command_rule(tmp_path, monkeypatch, ["sleep", "30"], timeout=1)
    with pytest.raises(VersionDetectionError, match="timed out"):
        detect_version(task, mirrors, run_command=run)
    _command_rule(tmp_path, monkeypatch, ["python3", "-c", "print('9' * 5000)"])
    with pytest.raises(VersionDetectionError, match="no usable key"):
        detect_version(task, mirrors, run_command=run)
