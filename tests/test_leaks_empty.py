"""history_leaks and the empty blob: every repository holding an empty file has its blob, so a gold
patch that adds an empty file must not count as leaked; a non-empty fixed file found in the object
store still does."""

from __future__ import annotations

import subprocess
from pathlib import Path

from swegym.curate.leaks import EMPTY_BLOBS, history_leaks
from swegym.sources.gitutil import git_env
from swegym.tasks.model import Task

FIX = """diff --git a/pkg/core.py b/pkg/core.py
--- a/pkg/core.py
+++ b/pkg/core.py
@@ -1,2 +1,2 @@
 def clamp(x, lo, hi):
-    return x
+    return max(lo, min(x, hi))
diff --git a/pkg/sub/__init__.py b/pkg/sub/__init__.py
new file mode 100644
index 0000000..e69de29
"""
FIXED = "def clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n"


def _git(root: Path, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        ["git", *args], cwd=root, env=git_env(), input=stdin, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _repo(tmp_path: Path) -> tuple[Path, Task]:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")  # puts the empty blob in the object store
    (root / "pkg" / "core.py").write_text("def clamp(x, lo, hi):\n    return x\n")
    _git(root, "init", "-q")
    _git(root, "add", ".")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    base = _git(root, "rev-parse", "HEAD")
    task = Task(
        instance_id="t__empty-1",
        repo="t/empty",
        base_commit=base,
        patch=FIX,
        test_patch="",
        problem_statement="clamp does not clamp",
        version="0",
    )
    return root, task


def test_the_empty_blob_is_exempt(tmp_path: Path) -> None:
    root, task = _repo(tmp_path)
    assert _git(root, "hash-object", "--stdin", stdin="") in EMPTY_BLOBS
    assert _git(root, "cat-file", "-t", "e69de29") == "blob"  # the false positive's cause is there
    assert history_leaks(task, root) == []


def test_a_fixed_blob_in_the_store_still_leaks(tmp_path: Path) -> None:
    root, task = _repo(tmp_path)
    blob = _git(root, "hash-object", "-w", "--stdin", stdin=FIXED)  # a dangling copy of the fix
    reasons = history_leaks(task, root)
    assert reasons == [f"the fixed version of pkg/core.py is in the object store ({blob[:12]})"]
