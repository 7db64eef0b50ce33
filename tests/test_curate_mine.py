"""`swegym curate mine` on a small git repository built here: classification, extraction,
stage counts, spec proposal, leak checks, and validation of mined tasks in the sandbox."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import httpx
import pytest

from conftest import run_git
from swegym.curate.leaks import check_leaks, history_leaks, statement_leaks
from swegym.curate.mine import history
from swegym.curate.mine.classify import classify_path, is_candidate
from swegym.curate.mine.extract import Extractor, StageCounts, mine_history
from swegym.curate.mine.issues import GitHubIssues, clean_message, parse_refs, problem_statement
from swegym.curate.mine.pipeline import MineConfig, run_mine
from swegym.curate.mine.spec_proposal import _specifier_allows, choose_python, propose_spec
from swegym.envs.spec import EnvSpec
from swegym.sources.gitsource import clone_at
from swegym.tasks.model import Task

PYVER = f"{sys.version_info.major}.{sys.version_info.minor}"
REPO = "mini-org/mini"

CORE = """def clamp(x, lo, hi):
    return max(lo, min(x, hi + 1))


def safe_div(a, b):
    return a / b


def label(n):
    return "n=" + str(abs(n)) if n < 0 else "n=" + str(n)


def scale(x, factor):
    return x * factor
"""
TESTS = """from mini.core import clamp, label, safe_div, scale


def test_clamp_inside():
    assert clamp(5, 0, 10) == 5


def test_div():
    assert safe_div(6, 3) == 2


def test_label():
    assert label(3) == "n=3"


def test_scale():
    assert scale(2, 3) == 6
"""
PYPROJECT = """[project]
name = "mini"
version = "0.1.0"
requires-python = ">=3.8"
classifiers = ["Programming Language :: Python :: 3.12"]

[project.optional-dependencies]
tests = ["pytest"]
"""


def _edit(root: Path, path: str, old: str, new: str) -> None:
    f = root / path
    text = f.read_text()
    assert old in text, (path, old)
    f.write_text(text.replace(old, new))


def _append(root: Path, path: str, text: str) -> None:
    f = root / path
    f.write_text(f.read_text() + text)


def _commit(root: Path, message: str) -> str:
    run_git(root, "add", "-A")
    run_git(root, "commit", "-qm", message)
    return run_git(root, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def mini(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """main: base (v0.1.0) <- plain fix <- docs <- comment <- merge #7 (v0.2.0) <- squash #12 <- leaky fix."""
    root = tmp_path_factory.mktemp("mini")
    run_git(root, "init", "-q", "--initial-branch=main")
    (root / "mini").mkdir()
    (root / "mini" / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (root / "mini" / "core.py").write_text(CORE)
    (root / "tests").mkdir()
    (root / "tests" / "test_core.py").write_text(TESTS)
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "README.rst").write_text("mini\n")
    c: dict[str, str] = {"path": str(root), "base": _commit(root, "Initial commit")}
    run_git(root, "tag", "v0.1.0")

    _edit(root, "mini/core.py", "hi + 1", "hi")
    _append(root, "tests/test_core.py", "\n\ndef test_clamp_upper():\n    assert clamp(50, 0, 10) == 10\n")
    (root / "CHANGES.rst").write_text("- fix clamp\n")
    c["plain"] = _commit(
        root,
        "Fix clamp upper bound\n\nclamp() returned one more than the upper bound for large values.\n\n"
        "Signed-off-by: Dev One <dev@example.org>",
    )
    _append(root, "README.rst", "More docs.\n")
    c["docs"] = _commit(root, "Improve the README wording")
    (root / "mini" / "notes.py").write_text('# Known bug: scale should be "return round(x * factor, 2)"\n')
    c["comment"] = _commit(root, "Add notes about known problems")

    run_git(root, "checkout", "-qb", "safe-div")
    _edit(root, "mini/core.py", "    return a / b", "    if b == 0:\n        return None\n    return a / b")
    _append(root, "tests/test_core.py", "\n\ndef test_div_zero():\n    assert safe_div(1, 0) is None\n")
    c["branch"] = _commit(root, "Return None when dividing by zero")
    run_git(root, "checkout", "-q", "main")
    run_git(
        root,
        "merge",
        "-q",
        "--no-ff",
        "safe-div",
        "-m",
        "Merge pull request #7 from dev/safe-div\n\nSafe division",
    )
    c["merge"] = run_git(root, "rev-parse", "HEAD").strip()
    run_git(root, "tag", "v0.2.0")

    _edit(root, "mini/core.py", '    return "n=" + str(abs(n))', '    return "n=-" + str(abs(n))')
    _append(root, "tests/test_core.py", '\n\ndef test_label_negative():\n    assert label(-2) == "n=-2"\n')
    c["squash"] = _commit(
        root,
        "Keep the sign of negative labels (#12)\n\nlabel(-2) printed n=2, dropping the sign.\n\n"
        "* wip\n\n---------\n\nCo-authored-by: Dev Two <two@example.org>",
    )
    _edit(root, "mini/core.py", "    return x * factor", "    return round(x * factor, 2)")
    _append(root, "tests/test_core.py", "\n\ndef test_scale_rounds():\n    assert scale(0.1, 3) == 0.3\n")
    c["leaky"] = _commit(root, "Round scaled values to two decimals so floats compare")
    return c


@pytest.fixture(scope="module")
def mined(mini: dict[str, str]) -> tuple[list[Task], list[dict[str, str]], StageCounts]:
    repo = Path(mini["path"])
    counts = StageCounts()
    raw, rejected = mine_history(Extractor(repo, REPO, str(repo)), history.walk(repo), counts)
    return raw, rejected, counts


def _by_commit(raw: list[Task], sha: str) -> Task:
    return next(t for t in raw if t.meta["commit"] == sha)


def test_classify_paths() -> None:
    assert classify_path("tests/test_x.py") == "test"
    assert classify_path("pkg/tests/data/x.json") == "test"
    assert classify_path("src/pkg/conftest.py") == "test"
    assert classify_path("src/pkg/mod.py") == "code"
    assert classify_path("docs/conf.py") == "docs"
    assert classify_path("CHANGES.rst") == "docs"
    assert classify_path(".github/workflows/ci.yml") == "ci"
    assert classify_path("setup.py") == "build"
    assert classify_path("requirements-dev.txt") == "build"
    assert classify_path("pkg/data.json") == "other"


def test_history_walk_and_candidates(mini: dict[str, str]) -> None:
    commits = history.walk(Path(mini["path"]))
    shas = [c.sha for c in commits]
    assert shas[0] == mini["leaky"] and shas[-1] == mini["base"]
    assert mini["branch"] not in shas  # first-parent: the PR is seen once, as its merge
    merge = next(c for c in commits if c.sha == mini["merge"])
    assert merge.is_merge and ("M", "mini/core.py") in merge.files
    cands = {c.sha for c in commits if is_candidate(c)}
    assert cands == {mini["plain"], mini["merge"], mini["squash"], mini["leaky"]}


def test_stage_counts(mined: tuple[list[Task], list[dict[str, str]], StageCounts]) -> None:
    _raw, rejected, counts = mined
    assert (counts.scanned, counts.candidates, counts.raw, counts.leak_free) == (7, 4, 4, 3)
    assert [r["stage"] for r in rejected] == ["leak_free"]


def test_extraction_of_plain_merge_and_squash(mini: dict[str, str], mined: tuple) -> None:
    raw = mined[0]
    plain = _by_commit(raw, mini["plain"])
    assert plain.base_commit == mini["base"] and plain.version == "0.1"
    assert "mini/core.py" in plain.patch and "tests/" not in plain.patch and "CHANGES" not in plain.patch
    assert "test_clamp_upper" in plain.test_patch and "mini/core.py" not in plain.test_patch
    assert plain.meta["left_out_files"] == ["CHANGES.rst"] and plain.meta["kind"] == "plain"
    assert "Signed-off-by" not in plain.problem_statement
    assert plain.problem_statement.startswith("Fix clamp upper bound")
    assert plain.meta["problem_statement_source"] == "commit_message"
    assert plain.source == mini["path"] and plain.created_at

    merge = _by_commit(raw, mini["merge"])
    assert merge.instance_id == "mini-org__mini-7" and merge.meta["kind"] == "merge"
    assert merge.base_commit == mini["comment"] and merge.version == "0.1"
    assert "if b == 0" in merge.patch and "Merge pull request" not in merge.problem_statement
    assert "Safe division" in merge.problem_statement
    assert "Return None when dividing by zero" in merge.problem_statement

    squash = _by_commit(raw, mini["squash"])
    assert squash.instance_id == "mini-org__mini-12" and squash.meta["pr"] == 12
    assert squash.version == "0.2" and squash.meta["kind"] == "squash"
    assert squash.problem_statement.startswith("Keep the sign of negative labels\n")
    assert "Co-authored-by" not in squash.problem_statement and "wip" not in squash.problem_statement


def test_comment_quoting_the_fix_is_a_leak(mini: dict[str, str], mined: tuple) -> None:
    leaky = _by_commit(mined[0], mini["leaky"])
    assert leaky.meta["leaks"] and "mini/notes.py:1" in leaky.meta["leaks"][0]
    assert all(not t.meta["leaks"] for t in mined[0] if t is not leaky)


def test_problem_statement_quoting_the_fix_is_a_leak(mini: dict[str, str], mined: tuple) -> None:
    task = _by_commit(mined[0], mini["merge"])
    assert statement_leaks(task) == []
    quoted = task.model_copy(update={"problem_statement": "Please add:\n    if b == 0:  return  None\n"})
    assert statement_leaks(quoted) == []  # too short to be distinctive
    quoted = task.model_copy(update={"problem_statement": "Use `return round(x * factor, 2)` there"})
    assert statement_leaks(quoted.model_copy(update={"patch": _by_commit(mined[0], mini["leaky"]).patch}))


def test_problem_statement_with_the_diff_is_a_leak(mined: tuple) -> None:
    task = mined[0][0]
    leaked = task.model_copy(update={"problem_statement": "Like this:\n" + task.patch})
    assert any("diff" in r for r in statement_leaks(leaked))


def test_fix_commit_in_history_is_a_leak(mini: dict[str, str], mined: tuple, tmp_path: Path) -> None:
    task = _by_commit(mined[0], mini["plain"])
    naive = tmp_path / "naive"
    run_git(tmp_path, "clone", "-q", mini["path"], str(naive))
    run_git(naive, "checkout", "-q", "--detach", task.base_commit)
    reasons = history_leaks(task, naive)
    assert any("fix commit" in r for r in reasons)
    assert any("after the base commit" in r for r in reasons)
    assert any("fixed version of mini/core.py" in r for r in reasons)


def test_materialized_repo_has_no_history_leak(mini: dict[str, str], mined: tuple, tmp_path: Path) -> None:
    task = _by_commit(mined[0], mini["plain"])
    dest = tmp_path / "clean"
    clone_at(mini["path"], task.base_commit, dest)
    assert check_leaks(task, dest) == []


def test_fixed_blob_in_object_store_is_a_leak(mini: dict[str, str], mined: tuple, tmp_path: Path) -> None:
    task = _by_commit(mined[0], mini["plain"])
    dest = tmp_path / "clean"
    clone_at(mini["path"], task.base_commit, dest)
    fixed = tmp_path / "core.py"
    fixed.write_text(CORE.replace("hi + 1", "hi"))
    run_git(dest, "hash-object", "-w", str(fixed))  # e.g. left behind by an unpruned object
    assert any("fixed version of mini/core.py" in r for r in history_leaks(task, dest))


def test_refs_and_message_cleaning() -> None:
    assert parse_refs("Fix a thing (#45)\n\nFixes #3, closes org/x#4") == parse_refs(
        "Fix a thing (#45)\n\nfixes #3 and Closes org/x#4"
    )
    refs = parse_refs("Fix a thing (#45)\n\nFixes #3, closes org/x#4")
    assert refs.pr == 45 and refs.issues == (3, 4)
    assert parse_refs("Merge pull request #9 from a/b\n\nTitle").pr == 9
    text = clean_message("Title (#5)\n\nBody line.\n\n* lint\n* Update core.py\n\nSigned-off-by: A <a@b>")
    assert text == "Title\n\nBody line."


def test_github_issue_text_when_token_and_network() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer tok"
        if request.url.path == "/repos/o/r/pulls/45":
            return httpx.Response(200, json={"title": "PR title", "body": "This fixes #3."})
        if request.url.path == "/repos/o/r/issues/3":
            return httpx.Response(200, json={"title": "Crash on empty", "body": "Steps:\r\n1. run"})
        return httpx.Response(404)

    client = httpx.Client(base_url="https://api.github.com", transport=httpx.MockTransport(handler))
    gh = GitHubIssues("tok", client=client)
    text, origin = problem_statement("o/r", "Fix a crash (#45)", github=gh)
    assert (text, origin) == ("Crash on empty\n\nSteps:\n1. run", "github_issue")


def test_github_unreachable_falls_back_to_commit_message() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no network", request=request)

    client = httpx.Client(base_url="https://api.github.com", transport=httpx.MockTransport(handler))
    gh = GitHubIssues("tok", client=client)
    text, origin = problem_statement("o/r", "Fix a crash on empty input (#45)", github=gh)
    assert origin == "commit_message" and text == "Fix a crash on empty input"
    assert not gh.enabled and "unreachable" in str(gh.disabled_reason)
    assert not GitHubIssues(None).enabled or GitHubIssues(None).token  # GITHUB_TOKEN may be set


def test_requires_python_specifiers() -> None:
    assert _specifier_allows(">=3.8,<3.12", "3.11") and not _specifier_allows(">=3.8,<3.12", "3.12")
    assert not _specifier_allows(">=2.7, !=3.0.*, !=3.9.*", "3.9")
    assert _specifier_allows(">=2.7, !=3.0.*, !=3.1.*", "3.11")
    assert _specifier_allows("~=3.7", "3.13") and not _specifier_allows(">3.10", "3.7")


def test_spec_proposal_from_project_files() -> None:
    files = {"pyproject.toml": PYPROJECT.replace(', "Programming Language :: Python :: 3.12"', "")}
    avail = ["3.7", "3.8", "3.11", "3.12", "3.13"]
    spec, notes = propose_spec(REPO, "0.1", files, dt.date(2024, 6, 1), avail)
    assert spec.python == "3.12"  # 3.13 did not exist yet
    assert spec.install == ["-e", ".[tests]"] and "pytest" in spec.packages
    assert spec.exclude_newer == "2024-06-02" and spec.uv_args == []
    assert choose_python({"pyproject.toml": PYPROJECT}, dt.date(2026, 1, 1), avail) == "3.12"  # classifiers
    old = {
        "setup.py": "setup(python_requires='>=3.5', classifiers=['Programming Language :: Python :: 3.7'])",
        "requirements-test.txt": "pytest\nmock\n",
    }
    spec, _ = propose_spec(REPO, "0.9", old, dt.date(2019, 5, 1), avail)
    assert spec.python == "3.7" and spec.install == ["-e", ".", "-r", "requirements-test.txt"]
    assert spec.uv_args[0] == "--exclude-newer-package"  # setuptools needs PEP 660 for -e
    groups = {"pyproject.toml": '[dependency-groups]\ntest = ["pytest-mock", {include-group = "lint"}]\n'}
    groups["pyproject.toml"] += 'lint = ["ruff"]\n[build-system]\nbuild-backend = "hatchling.build"\n'
    spec, notes = propose_spec(REPO, "1.0", groups, dt.date(2025, 6, 1), avail)
    assert spec.packages == ["pytest-mock", "ruff", "pytest"] and notes["install"] == "dependency group test"


def _offline_spec(repo: str, version: str, *_: object) -> tuple[EnvSpec, dict[str, str]]:
    # Like conftest's fixture spec: pytest only, the repo on PYTHONPATH (no build backend needed).
    spec = EnvSpec(
        repo=repo, version=version, python=PYVER, install=[], packages=["pytest"],
        env={"PYTHONPATH": "/testbed"}, test_timeout=120,
    )  # fmt: skip
    return spec, {"install": "test double"}


@pytest.fixture
def fixed_pythons(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip probing every interpreter on the machine (slow) in pipeline tests."""
    monkeypatch.setattr("swegym.curate.mine.envs.available_pythons", lambda: ["3.11", "3.12", PYVER])


@pytest.mark.usefixtures("fixed_pythons")
def test_no_validate_writes_raw_and_proposed_specs(mini: dict[str, str], tmp_path: Path) -> None:
    summary = run_mine(MineConfig(repo=mini["path"], out=tmp_path, name=REPO, validate=False, quiet=True))
    assert summary["stages"] == {
        "commits_scanned": 7, "candidates": 4, "raw": 4, "leak_free": 3, "spec_proposed": 3
    }  # fmt: skip
    assert summary["specs_proposed"] == 2
    rows = [json.loads(line) for line in (tmp_path / "raw.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["meta"]["made_by"] == "mined" for r in rows)
    specs = json.loads((tmp_path / "specs-proposed" / "mini-org__mini.json").read_text())
    assert set(specs["versions"]) == {"0.1", "0.2"}
    assert json.loads((tmp_path / "summary.json").read_text())["stages"]["raw"] == 4


@pytest.mark.sandbox
@pytest.mark.usefixtures("fixed_pythons")
def test_mined_tasks_validate_end_to_end(
    mini: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("swegym.curate.mine.envs.propose_spec", _offline_spec)
    cfg = MineConfig(repo=mini["path"], out=tmp_path, name=REPO, max_tasks=2, workers=2, quiet=True)
    summary = run_mine(cfg)
    assert summary["stages"]["selected"] == 2 and summary["stages"]["env_built"] == 2
    assert summary["stages"]["validated"] == 2, summary.get("validation_dropped")
    tasks = [Task.model_validate_json(line) for line in (tmp_path / "tasks.jsonl").read_text().splitlines()]
    by_pr = {t.meta["pr"]: t for t in tasks}
    assert by_pr[12].FAIL_TO_PASS == ["tests/test_core.py::test_label_negative"]
    assert by_pr[7].FAIL_TO_PASS == ["tests/test_core.py::test_div_zero"]
    kept = json.loads((tmp_path / "specs" / "mini-org__mini.json").read_text())
    assert set(kept["versions"]) == {"0.1", "0.2"}
    again = run_mine(cfg)  # resumes from the journals
    assert again["stages"] == summary["stages"]


def test_promisor_pack_source_does_not_leak_history(
    mini: dict[str, str], mined: tuple, tmp_path: Path
) -> None:
    # Mirrors made by a partial clone keep their objects in promisor packs, which gc never prunes.
    source = tmp_path / "mirror.git"
    run_git(tmp_path, "clone", "-q", "--bare", mini["path"], str(source))
    run_git(source, "repack", "-a", "-d", "-q")
    for pack in (source / "objects" / "pack").glob("*.pack"):
        pack.with_suffix(".promisor").write_text("")
    task = _by_commit(mined[0], mini["plain"])
    dest = tmp_path / "clean"
    clone_at(str(source), task.base_commit, dest)
    assert history_leaks(task, dest) == []


def test_date_stamped_test_ids_are_dropped_from_labels() -> None:
    from swegym.curate.mine.validation import drop_unstable_ids
    from swegym.harness.validate import ValidationResult

    today = dt.date.today().isoformat()
    stamped = f"tests/t.py::test_dt[02:48:46 {today}]"
    task = Task(
        instance_id="o__r-1", repo="o/r", base_commit="a" * 40, patch="", test_patch="",
        problem_statement="x", version="1",
    )  # fmt: skip
    res = ValidationResult(
        instance_id="o__r-1", status="valid", FAIL_TO_PASS=[stamped, "tests/t.py::test_ok"],
        PASS_TO_PASS=[stamped + "x"], task=task,
    )  # fmt: skip
    kept = drop_unstable_ids(res)
    assert kept.status == "valid" and kept.task is not None
    assert kept.task.FAIL_TO_PASS == ["tests/t.py::test_ok"] and kept.task.PASS_TO_PASS == []
    only = res.model_copy(update={"FAIL_TO_PASS": [stamped]})
    assert drop_unstable_ids(only).status == "invalid"
