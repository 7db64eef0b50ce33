"""The sandbox's writable-repo modes, persistent shell semantics and one-shot runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from swegym.sandbox.base import ExecRequest
from swegym.sandbox.bwrap import Layout
from swegym.sandbox.config import SandboxConfig
from swegym.sandbox.local import LocalSandbox
from swegym.sandbox.session import ansi_c_quote

pytestmark = pytest.mark.sandbox


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    d = tmp_path / "repo"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "a.txt").write_text("a\n")
    return d


@pytest.mark.parametrize("mode", ["overlay", "tmp-overlay", "copy"])
def test_repo_modes_write_privately(repo: Path, mode: str) -> None:
    with LocalSandbox(Layout(repo_layers=[repo]), SandboxConfig(repo_mode=mode)) as sb:
        assert sb.run("cat sub/a.txt && echo b > sub/a.txt && rm -f gone && cat sub/a.txt").output == "a\nb\n"
        # A fresh one-shot sandbox sees the original repo, not this episode's writes.
        once = sb.exec_once(ExecRequest(script="cat /testbed/sub/a.txt", timeout=30))
        assert once.output == "a\n" and once.exit_code == 0
    assert (repo / "sub" / "a.txt").read_text() == "a\n"


def test_shell_state_and_exit_codes(repo: Path) -> None:
    with LocalSandbox(Layout(repo_layers=[repo])) as sb:
        assert sb.run("cd sub; export X=1; f() { echo fn; }").exit_code == 0
        assert sb.run("pwd; echo $X; f").output == "/testbed/sub\n1\nfn\n"
        assert sb.run("false").exit_code == 1
        assert sb.run("(exit 7)").exit_code == 7
        assert sb.run("echo 'unclosed").exit_code == 2  # a syntax error, not a hung protocol
        text = "héllo\n\t$HOME `x` \\ 'q' \"d\" \x01"
        assert sb.run(f"printf %s {ansi_c_quote(text)}").output == text
        assert sb.run("cat <<'EOF'\nline1\nline2\nEOF").output == "line1\nline2\n"


def test_exit_restarts_shell_keeping_files(repo: Path) -> None:
    with LocalSandbox(Layout(repo_layers=[repo])) as sb:
        sb.run("echo kept > new.txt; cd /tmp")
        r = sb.run("exit 3")
        assert "a new shell was started" in r.output
        assert sb.run("pwd; cat new.txt").output == "/testbed\nkept\n"


def test_exec_once_timeout_and_results_channel(repo: Path) -> None:
    sb = LocalSandbox(Layout(repo_layers=[repo]))
    r = sb.exec_once(
        ExecRequest(script="echo out; echo side >&$SWEGYM_RESULTS_FD", timeout=30, results_channel=True)
    )
    assert r.output == "out\n" and r.results == "side\n"
    r = sb.exec_once(ExecRequest(script="sleep 100 & sleep 100", timeout=1))
    assert r.timed_out and r.exit_code is None and r.duration_s < 10


def test_var_tmp_is_the_sandbox_tmp(repo: Path) -> None:
    """Suites that write under /var/tmp (dvc's /var/tmp/dvc) get the sandbox's own sized /tmp;
    the rest of /var stays read-only and nothing reaches the host."""
    with LocalSandbox(Layout(repo_layers=[repo])) as sb:
        assert sb.run("mkdir -p /var/tmp/dvc && echo x > /var/tmp/dvc/f && cat /tmp/dvc/f").output == "x\n"
        assert sb.run("touch /var/other").exit_code != 0
    assert not Path("/var/tmp/dvc/f").exists() or Path("/var/tmp/dvc/f").read_text() != "x\n"
