"""The spec model: fields, build key, errors on malformed user specs, the generated build script."""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

import pytest

from swegym.envs.buildscript import BUILD_PINS_FILE, PINS_FILE, build_script, step_commands
from swegym.envs.prebuild import apply_edits, edit_text, fill_submodules, restore_edits
from swegym.envs.recipe import InstallStep, RepoEdit, Submodule
from swegym.envs.spec import EnvSpec, get_spec, load_spec_table
from swegym.errors import EnvBuildError, UnknownSpecError
from swegym.tasks.model import Task


def _write(d: Path, name: str, data: object) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text(json.dumps(data))
    return p


def _load(tmp_path: Path, versions: dict[str, object], **top: object) -> dict[str, EnvSpec]:
    d = tmp_path / "specs"
    _write(d, "acme__widget.json", {"repo": "acme/widget", "versions": versions, **top})
    return load_spec_table([d])["acme/widget"]


def test_legacy_specs_keep_their_build_key() -> None:
    # The bundled envs were built under these keys; a legacy spec must not force a rebuild.
    legacy = EnvSpec(python="3.11", install=["-e", "."], packages=["pytest<8"], exclude_newer="2024-01-15")
    old_fields = {
        "repo": "",
        "version": "",
        "install": ["-e", "."],
        "packages": ["pytest<8"],
        "pre_install": [],
        "exclude_newer": "2024-01-15",
        "uv_args": [],
        "python": "3.11.7",
        "format": 2,
    }
    import hashlib

    want = hashlib.sha256(json.dumps(old_fields, sort_keys=True).encode()).hexdigest()[:16]
    assert legacy.build_key("3.11.7") == want
    assert (
        EnvSpec(python="3.11", packages=["pytest<8"], exclude_newer="2024-01-15").build_key("3.11.7") == want
    )


@pytest.mark.parametrize(
    "change",
    [
        {"steps": [{"packages": ["x"]}]},
        {"pins": ["numpy<2"]},
        {"build_env": {"SETUPTOOLS_SCM_PRETEND_VERSION": "1.0"}},
        {"edits": [{"file": "setup.py", "append": "# x"}]},
        {"submodules": [{"path": "mypy/typeshed", "url": "https://example.invalid/t"}]},
        {"date_from": "commit"},
        {"per_commit": True},
        {"exclude_newer_packages": {"setuptools": "2024-01-01"}},
        {"compile_bytecode": False},
        {"build_pins": ["cython<3"]},
        {"compile_scope": "all"},
        {"venv_at_mount": True},
        {"warm_imports": ["numpy"]},
        {"key_files": ["setup.py"]},
        {"key_digest": "0123456789abcdef"},
    ],
)
def test_every_build_field_changes_the_key(change: dict[str, object]) -> None:
    base = EnvSpec(python="3.11")
    assert EnvSpec.model_validate({"python": "3.11", **change}).build_key("3.11.7") != base.build_key(
        "3.11.7"
    )


def test_test_only_fields_do_not_change_the_key() -> None:
    a = EnvSpec(python="3.11")
    b = EnvSpec(python="3.11", test_cmd="python -m pytest -n0", env={"A": "1"}, test_select="mypy_cases")
    assert a.build_key("3.11.7") == b.build_key("3.11.7")


def test_defaults_groups_and_versions_merge(tmp_path: Path) -> None:
    table = _load(
        tmp_path,
        {"1.0": {"group": "old"}, "2.0": {"python": "3.12"}},
        defaults={"python": "3.10", "test_cmd": "python -m pytest -n0 -rA"},
        groups={"old": {"pins": ["numpy<2"]}},
    )
    assert table["1.0"].python == "3.10" and table["1.0"].pins == ["numpy<2"]
    assert table["2.0"].python == "3.12" and table["2.0"].pins == [] and "-n0" in table["2.0"].test_cmd


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"python": "3.8", "steps": [{"kind": "run"}]}, "steps.0"),
        ({"python": "3.8", "steps": [{"packages": ["x"], "bogus": 1}]}, "steps.0.bogus"),
        ({"python": "3.8", "steps": [{"requirements": ["../etc/passwd"]}]}, "steps.0.requirements"),
        ({"python": "3.8", "edits": [{"file": "setup.py"}]}, "edits.0"),
        ({"python": "3.8", "edits": [{"file": "a", "match": "(", "replace": "x"}]}, "edits.0"),
        ({"python": "3.8", "exclude_newer": "last week"}, "exclude_newer"),
        ({"python": "3.8", "build_env": {"BAD NAME": "1"}}, "build_env"),
        ({"python": "3.8", "submodules": [{"path": "/abs", "url": "u"}]}, "submodules.0.path"),
        ({"python": "3.8", "date_from": "tomorrow"}, "date_from"),
        ({"python": "3.8", "group": "nope"}, "group"),
    ],
)
def test_malformed_user_spec_is_one_line_naming_file_version_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: dict[str, object], field: str
) -> None:
    d = tmp_path / "user"
    path = _write(d, "acme__widget.json", {"repo": "acme/widget", "versions": {"9.9": raw}})
    monkeypatch.setenv("SWEGYM_SPECS_PATH", str(d))
    with pytest.raises(UnknownSpecError) as info:
        get_spec("acme/widget", "9.9")
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and "version 9.9" in msg and f"field '{field}" in msg


def test_other_top_level_keys_are_ignored_as_before(tmp_path: Path) -> None:
    # Mining's proposals carry 'proposal_notes'; files of the older format keep loading.
    table = _load(tmp_path, {"1.0": {"python": "3.10"}}, proposal_notes={"1.0": "x"})
    assert table["1.0"].python == "3.10"


def test_dates_reach_uv_as_utc_timestamps() -> None:
    spec = EnvSpec(
        python="3.11",
        exclude_newer="2021-03-04",
        exclude_newer_packages={"setuptools": "2023-06-01T12:00:00+02:00"},
        steps=[InstallStep(packages=["a"]), InstallStep(packages=["b"], date=False)],
    )
    first, second = step_commands(spec)
    assert first.argv[first.argv.index("--exclude-newer") + 1] == "2021-03-04T00:00:00Z"
    assert "setuptools=2023-06-01T10:00:00Z" in first.argv
    assert "--exclude-newer" not in second.argv and "--exclude-newer-package" not in second.argv
    # A per-package date is an exemption: it never makes the package older than the spec's date.
    later = spec.model_copy(update={"exclude_newer": "2024-01-01"})
    assert "setuptools=2024-01-01T00:00:00Z" in step_commands(later)[0].argv


def test_each_step_field_reaches_its_command() -> None:
    spec = EnvSpec(
        python="3.8",
        pins=["cython<3"],
        build_pins=["cython<3.1"],
        build_env={"SETUPTOOLS_SCM_PRETEND_VERSION": "1.2.3"},
        steps=[
            InstallStep(packages=["setuptools<66"], pins=False),
            InstallStep(
                editable=".",
                requirements=["requirements/dev.txt"],
                no_build_isolation=True,
                config_settings={"editable_mode": "compat"},
                env={"FOO": "bar"},
            ),
            InstallStep(
                requirements=["tests/requirements.txt"], optional=True, if_exists="tests/requirements.txt"
            ),
            InstallStep(kind="uninstall", packages=["pytest-qt"]),
            InstallStep(kind="run", argv=["npm", "ci"], cwd="bokehjs"),
        ],
    )
    pin, main, opt, uninstall, npm = step_commands(spec)
    assert "--constraint" not in pin.argv and pin.argv[-1] == "setuptools<66"
    assert main.argv[main.argv.index("--constraint") + 1] == PINS_FILE
    assert main.argv[main.argv.index("--build-constraint") + 1] == BUILD_PINS_FILE
    assert "--no-build-isolation" in main.argv and main.argv[-2:] == ["-e", "."]
    assert "editable_mode=compat" in main.argv and main.argv[-4:-2] == ["-r", "requirements/dev.txt"]
    assert main.env == {"FOO": "bar"}
    assert opt.optional and opt.if_exists == "/testbed/tests/requirements.txt"
    assert uninstall.argv == ["uv", "pip", "uninstall", "pytest-qt"]
    assert npm.argv == ["npm", "ci"] and npm.cwd == "/testbed/bokehjs"
    script = build_script(spec, "/usr/bin/python3.8")
    assert "export SETUPTOOLS_SCM_PRETEND_VERSION=1.2.3" in script and "cython<3.1" in script
    assert script.index("setuptools<66") < script.index("editable_mode=compat") < script.index("npm ci")
    assert "if [ -e /testbed/tests/requirements.txt ]" in script and "|| echo" in script


def test_build_script_runs_as_bash_and_optional_steps_do_not_stop_it(tmp_path: Path) -> None:
    # The rendered lines are real bash: run a step list with stand-in argv through bash -n and run.
    spec = EnvSpec(
        python="3.8",
        steps=[
            InstallStep(kind="run", argv=["false"], optional=True),
            InstallStep(kind="run", argv=["sh", "-c", 'echo ran > "$OUT"'], env={"OUT": str(tmp_path / "o")}),
        ],
        compile_bytecode=False,
    )
    body = "\n".join(
        line.replace("/testbed", str(tmp_path))
        for line in build_script(spec, "python3").splitlines()
        if not line.startswith(("uv ", "export VIRTUAL_ENV"))
    )
    subprocess.run(["bash", "-c", body], check=True, capture_output=True)
    assert (tmp_path / "o").read_text() == "ran\n"


def test_legacy_fields_become_steps() -> None:
    spec = EnvSpec(
        python="3.11", pre_install=["setuptools<70"], uv_args=["--prerelease=allow"], packages=["p"]
    )
    pre, main = spec.install_steps()
    assert pre.packages == ["setuptools<70"] and main.args == ["--prerelease=allow", "-e", ".", "p"]


@pytest.mark.parametrize(
    ("edit", "before", "after"),
    [
        (
            RepoEdit(file="f", insert_line=1, text="types-typing-extensions==3.7.3"),
            "a\nb\n",
            "types-typing-extensions==3.7.3\na\nb\n",
        ),
        (
            RepoEdit(file="f", match=r"moto==(\d+\.\d+\.\d+)\.dev\d+", replace=r"moto==\1"),
            "x\nmoto==1.3.15.dev12\n",
            "x\nmoto==1.3.15\n",
        ),
        (
            RepoEdit(file="f", match=r"^git\+https://github.com/Project-MONAI/", delete=True),
            "a\ngit+https://github.com/Project-MONAI/x\nb",
            "a\nb",
        ),
        (RepoEdit(file="f", append="pip==24.0"), "a", "a\npip==24.0\n"),
    ],
)
def test_edit_text_is_sed_like(edit: RepoEdit, before: str, after: str) -> None:
    assert edit_text(edit, before) == after


def test_build_only_edits_go_to_the_upper_layer_and_come_out_again(tmp_path: Path) -> None:
    repo, upper = tmp_path / "repo", tmp_path / "upper"
    (repo / "req").mkdir(parents=True)
    (repo / "req" / "dev.txt").write_text("isort@git+git://github.com/x/isort\n")
    (repo / "setup.py").write_text("v=1\n")
    upper.mkdir()
    spec = EnvSpec(
        python="3.8",
        edits=[
            RepoEdit(file="req/dev.txt", match="git\\+git://", replace="git+https://"),
            RepoEdit(file="setup.py", append="# kept", keep=True),
            RepoEdit(file="missing.txt", append="x"),
        ],
    )
    notes: list[str] = []
    restore = apply_edits(spec, repo, upper, notes)
    assert (upper / "req" / "dev.txt").read_text() == "isort@git+https://github.com/x/isort\n"
    assert (repo / "req" / "dev.txt").read_text().startswith("isort@git+git://")  # shared repo untouched
    assert any("missing.txt skipped" in n for n in notes)
    restore_edits(restore, upper)
    assert not (upper / "req" / "dev.txt").exists() and (upper / "setup.py").read_text() == "v=1\n# kept\n"
    strict = EnvSpec(python="3.8", edits=[RepoEdit(file="missing.txt", append="x", missing_ok=False)])
    with pytest.raises(EnvBuildError, match=r"missing\.txt"):
        apply_edits(strict, repo, upper, [])


def _git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    import os

    out = subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True, env={**os.environ, **env}
    )
    return out.stdout.strip()


def test_empty_submodule_is_filled_from_a_mirror(tmp_path: Path) -> None:
    sub = tmp_path / "typeshed"
    sub.mkdir()
    _git(sub, "init", "-q")
    (sub / "stdlib.pyi").write_text("x: int\n")
    _git(sub, "add", ".")
    _git(sub, "commit", "-qm", "t")
    sha = _git(sub, "rev-parse", "HEAD")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.py").write_text("")
    _git(repo, "add", "a.py")
    _git(repo, "update-index", "--add", "--cacheinfo", f"160000,{sha},mypy/typeshed")
    _git(repo, "commit", "-qm", "base")
    (repo / "mypy" / "typeshed").mkdir(parents=True)  # what a clone has: an empty directory
    upper = tmp_path / "upper"
    upper.mkdir()
    spec = EnvSpec(
        python="3.9",
        submodules=[
            Submodule(
                path="mypy/typeshed",
                url="https://example.invalid/typeshed",
                mirror_key="python/typeshed",
                required=True,
            )
        ],
    )
    notes: list[str] = []
    fill_submodules(spec, repo, upper, {"python/typeshed": str(sub)}, notes)
    assert (upper / "mypy" / "typeshed" / "stdlib.pyi").read_text() == "x: int\n"
    assert not (upper / "mypy" / "typeshed" / ".git").exists()
    with pytest.raises(EnvBuildError, match="--mirror python/typeshed=PATH"):
        fill_submodules(spec, repo, tmp_path / "u2", {}, [])
    lenient = spec.model_copy(
        update={"submodules": [spec.submodules[0].model_copy(update={"required": False})]}
    )
    fill_submodules(lenient, repo, tmp_path / "u3", {}, notes)
    assert "left empty" in notes[-1]


def test_for_task_takes_the_date_and_commit_only_when_asked() -> None:
    task = Task(
        instance_id="acme__widget-1",
        repo="acme/widget",
        base_commit="a" * 40,
        patch="",
        test_patch="",
        problem_statement="p",
        created_at="2022-05-06T07:08:09Z",
        version="1.0",
    )
    shared = EnvSpec(python="3.8", exclude_newer="2022-01-01")
    assert shared.for_task(task) is shared
    own = EnvSpec(python="3.8", date_from="task", per_commit=True).for_task(task)
    assert own.exclude_newer == "2022-05-06T07:08:09Z" and own.commit == "a" * 40


def test_shell_quoting_of_hostile_values() -> None:
    spec = EnvSpec(
        python="3.8", build_env={"X": "$(touch /tmp/pwned)"}, steps=[InstallStep(packages=["a; rm -rf /"])]
    )
    script = build_script(spec, "/usr/bin/python3")
    assert f"export X={shlex.quote('$(touch /tmp/pwned)')}" in script and "'a; rm -rf /'" in script


def test_bytecode_scope_reaches_the_script() -> None:
    import re

    from swegym.envs.buildscript import TEST_FILES_RE

    imports = build_script(EnvSpec(python="3.11", warm_imports=["boto3", "moto.core"]), "/py")
    assert "compileall -q -j 0 -x" in imports and '"$VIRTUAL_ENV/lib"' not in imports
    assert "importlib.import_module" in imports
    assert imports.rstrip().endswith("boto3 moto.core ) || true")
    everything = build_script(EnvSpec(python="3.11", compile_scope="all"), "/py")
    assert 'compileall -q -j 0 "$VIRTUAL_ENV/lib"' in everything and "compileall -q -j 0 -x" in everything
    assert "compileall" not in build_script(EnvSpec(python="3.11", compile_bytecode=False), "/py")
    pattern = re.compile(TEST_FILES_RE)
    tests = [
        "/testbed/tests/test_a.py",
        "/testbed/moto/conftest.py",
        "/testbed/pkg/x_test.py",
        "/testbed/test_b.py",
    ]
    assert all(pattern.search(p) for p in tests)
    assert not any(pattern.search(p) for p in ["/testbed/moto/core/models.py", "/testbed/pkg/contest.py"])


def test_build_requires_come_from_the_repos_pyproject(tmp_path: Path) -> None:
    from swegym.envs.prebuild import with_build_requires

    (tmp_path / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["meson-python==0.13.1", "Cython>=0.29.33,<3", '
        '"oldest-supported-numpy>=2022.8.16"]\n'
    )
    spec = EnvSpec(
        python="3.10",
        steps=[
            InstallStep(build_requires=True, packages=["versioneer[toml]"]),
            InstallStep(editable=".", no_build_isolation=True),
        ],
    )
    first = with_build_requires(spec, tmp_path).install_steps()[0]
    assert first.packages == ["meson-python==0.13.1", "Cython>=0.29.33,<3", "numpy", "versioneer[toml]"]
    assert with_build_requires(spec, tmp_path / "nowhere").install_steps()[0].packages == ["versioneer[toml]"]
    plain = EnvSpec(python="3.10")
    assert with_build_requires(plain, tmp_path) is plain


def test_key_files_share_an_env_only_between_equal_declarations(tmp_path: Path) -> None:
    from swegym.envs.builder import resolve_for_repo

    spec = EnvSpec(repo="acme/widget", version="1.0", python="3.11", key_files=["setup.py", "reqs.txt"])
    trees = {name: tmp_path / name for name in ("a", "b", "c")}
    for name, tree in trees.items():
        tree.mkdir()
        deps = "['funcy']" if name == "c" else "[]"
        (tree / "setup.py").write_text(f"setup(install_requires={deps})\n")
    keys = {name: resolve_for_repo(spec, tree).build_key("3.11.7") for name, tree in trees.items()}
    assert keys["a"] == keys["b"] != keys["c"]  # a dependency added at one commit: an env of its own
    (trees["b"] / "reqs.txt").write_text("pytest\n")
    assert resolve_for_repo(spec, trees["b"]).build_key("3.11.7") != keys["a"]  # a file appearing
    assert resolve_for_repo(EnvSpec(python="3.11"), trees["a"]).key_digest is None


def test_key_files_must_be_inside_the_repo() -> None:
    with pytest.raises(ValueError, match="inside the repo"):
        EnvSpec(python="3.11", key_files=["../setup.py"])
