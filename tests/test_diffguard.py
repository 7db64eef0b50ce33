"""The host-side screen of candidate diffs: what is rejected, what is kept out, what stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from swegym.harness.diffguard import kept_out_reason, screen_diff, split_files, unsafe_reason


def _new_file(path: str, body: str = "x = 1\n") -> str:
    lines = body.splitlines()
    hunk = "".join(f"+{ln}\n" for ln in lines)
    return (
        f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n{hunk}"
    )


def _edit(path: str) -> str:
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "mod.py").write_text("a\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_mod.py").write_text("a\n")
    return tmp_path


@pytest.mark.parametrize(
    "path",
    [
        ".git/hooks/post-checkout",
        "sub/.git/config",
        ".GIT/index.lock",
        "/etc/passwd",
        "../outside.py",
        "a/../../b",
    ],
)
def test_paths_outside_the_work_tree_reject_the_whole_diff(path: str, base: Path) -> None:
    diff = _edit("pkg/mod.py") + _new_file(path)
    screened = screen_diff(diff, base)
    assert screened.rejected and screened.diff == ""
    assert unsafe_reason(path)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("tests/pytest.ini", "configuration"),
        (".pytest.ini", "configuration"),
        ("tests/pyproject.toml", "configuration"),
        ("pkg/sub/conftest.py", "configuration"),
        ("setup.cfg", "configuration"),
        (".gitattributes", "configuration"),
        ("tests/__pycache__/test_mod.cpython-311-pytest-8.0.0.pyc", "compiled code"),
        ("sitecustomize.pyc", "compiled code"),
        ("pkg/_speedups.so", "compiled code"),
        ("sitecustomize/__init__.py", "start-up code"),
        ("pkg/usercustomize.py", "start-up code"),
        ("evil.pth", "start-up code"),
        ("evil-1.0.dist-info/entry_points.txt", "configuration"),
        ("evil-1.0.dist-info/METADATA", "packaging metadata"),
        ("pkg.egg-info/top_level.txt", "packaging metadata"),
        ("pytest.py", "a new module outside the project's packages"),
        ("json.py", "a new module outside the project's packages"),
        ("tests/json.py", "a new module outside the project's packages"),
        ("decimal/__init__.py", "a new module outside the project's packages"),
    ],
)
def test_non_source_files_are_kept_out(path: str, why: str, base: Path) -> None:
    assert kept_out_reason(path, base) == why
    screened = screen_diff(_edit("pkg/mod.py") + _new_file(path), base)
    assert screened.rejected is None
    assert screened.kept_out == [f"{path} ({why})"]
    assert screened.diff == _edit("pkg/mod.py")


@pytest.mark.parametrize(
    "path", ["pkg/new_module.py", "pkg/sub/__init__.py", "docs/notes.txt", "pkg/data.json"]
)
def test_source_changes_are_kept(path: str, base: Path) -> None:
    diff = _edit("pkg/mod.py") + _new_file(path)
    assert screen_diff(diff, base).diff == diff


def test_a_change_to_a_missing_file_is_left_for_git_apply_to_refuse(base: Path) -> None:
    diff = _edit("nope.py")
    assert screen_diff(diff, base).diff == diff


def test_symlinks_are_kept_out(base: Path) -> None:
    link = (
        "diff --git a/pkg/link.py b/pkg/link.py\nnew file mode 120000\n--- /dev/null\n+++ b/pkg/link.py\n"
        "@@ -0,0 +1 @@\n+../tests/test_mod.py\n\\ No newline at end of file\n"
    )
    screened = screen_diff(link, base)
    assert screened.diff == "" and screened.kept_out == ["pkg/link.py (a symbolic link)"]


def test_hunk_lines_that_look_like_headers_do_not_hide_a_file(base: Path) -> None:
    # The hunk removes "-- x" and adds "++ b/conftest.py": read by count, they are body lines.
    tricky = (
        "diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n"
        "@@ -1,2 +1,2 @@\n--- x\n+++ b/conftest.py\n a\n"
    )
    _, parts = split_files(tricky)
    assert len(parts) == 1 and parts[0].paths == ["pkg/mod.py", "pkg/mod.py", "pkg/mod.py", "pkg/mod.py"]
    # A real second part after the hunk is still seen.
    parts2 = split_files(tricky + _new_file("conftest.py"))[1]
    assert len(parts2) == 2
    assert screen_diff(tricky + _new_file("conftest.py"), base).kept_out == ["conftest.py (configuration)"]


def test_plain_unified_diffs_and_quoted_paths_are_read(base: Path) -> None:
    plain = "--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n"
    assert screen_diff(plain, base).rejected
    quoted = 'diff --git "a/.git/h\\303\\251" "b/.git/h\\303\\251"\n--- /dev/null\n+++ "b/.git/h\\303\\251"\n'
    assert screen_diff(quoted, base).rejected
    assert screen_diff("just some text\n", base).rejected


def test_lines_git_would_not_read_never_reach_patch(base: Path) -> None:
    # A context-format part (only GNU patch reads it) after a unified part, and a commit message
    # before it: both are left out of what is applied.
    context = "*** a/conftest.py\n--- a/deep/notes.txt\n***************\n*** 0 ****\n--- 1,1 ----\n+ x = 1\n"
    diff = "Subject: fix\n\n" + _edit("pkg/mod.py") + context + "-- \n2.39.0\n"
    screened = screen_diff(diff, base)
    assert screened.diff == _edit("pkg/mod.py")


def test_a_part_that_creates_a_file_without_saying_so_is_still_a_new_module(base: Path) -> None:
    implicit = "--- a/contextlib.py\n+++ b/contextlib.py\n@@ -0,0 +1,1 @@\n+x = 1\n"
    assert screen_diff(implicit, base).kept_out == [
        "contextlib.py (a new module outside the project's packages)"
    ]


@pytest.mark.parametrize("name", ["pytest.toml", ".pytest.toml", ".coveragerc"])
def test_newer_pytest_and_plugin_config_names_are_kept_out(name: str, base: Path) -> None:
    assert kept_out_reason(f"tests/{name}", base) == "configuration"
