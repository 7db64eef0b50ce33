"""The shipped spec table for SWE-Gym's 11 repositories: every version key, loadable from a user's
own directory, every recipe expressed without a shell string."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from swegym.envs.buildscript import build_script, step_commands
from swegym.envs.spec import _table, get_spec, load_spec_table

SWEGYM_KEYS = {
    "getmoto/moto": 14,
    "python/mypy": 23,
    "conan-io/conan": 34,
    "iterative/dvc": 147,
    "dask/dask": 60,
    "pydantic/pydantic": 40,
    "pandas-dev/pandas": 21,
    "facebookresearch/hydra": 10,
    "bokeh/bokeh": 24,
    "Project-MONAI/MONAI": 15,
    "modin-project/modin": 28,
}
RESEARCH = Path("/work/shared/data/swegym-env-specs.json")
SHELL = ("&&", "||", "$(", "`", "; ", " | ")


def _shipped() -> Path:
    return Path(str(resources.files("swegym.envs").joinpath("specs")))


def _swegym_versions(repo: str) -> dict[str, object]:
    data = json.loads((_shipped() / f"{repo.replace('/', '__')}.json").read_text())
    return {k: v for k, v in data["versions"].items() if isinstance(v, dict) and "group" in v}


@pytest.mark.parametrize("repo", sorted(SWEGYM_KEYS))
def test_every_swegym_version_key_is_in_the_table(repo: str) -> None:
    keys = _swegym_versions(repo)
    assert len(keys) == SWEGYM_KEYS[repo]
    if RESEARCH.exists():  # the research notes' keys, exactly as the dataset spells them
        research = json.loads(RESEARCH.read_text())["repos"][repo]["spec_groups"]
        assert set(keys) == {v for g in research for v in g["versions"]}
    table = load_spec_table()[repo]
    assert all(get_spec(repo, k) is table[k] for k in keys)


def test_odd_dataset_keys_resolve() -> None:
    assert get_spec("bokeh/bokeh", "0.1181316818").python == "3.8"
    assert get_spec("pydantic/pydantic", "2.01").python == "3.8"
    assert get_spec("Project-MONAI/MONAI", "0.105").python == "3.8"
    # SWE-Gym runs 1.7+ under pytest-xdist (no -n0); swegym's results plugin reads outcomes in
    # the process that ran each test, so every version runs with -n0 (same outcomes).
    assert (
        get_spec("python/mypy", "1.7").python == "3.12" and "-n0" in get_spec("python/mypy", "1.7").test_cmd
    )
    assert (
        get_spec("python/mypy", "1.6").python == "3.11" and "-n0" in get_spec("python/mypy", "1.6").test_cmd
    )


def test_bundled_versions_are_unchanged_beside_the_new_keys() -> None:
    moto = get_spec("getmoto/moto", "4.2.12")
    assert moto.date_from == "spec" and moto.exclude_newer == "2024-01-15" and not moto.steps
    assert get_spec("getmoto/moto", "4.2").exclude_newer == "2024-12-01"


def test_each_recipe_loads_from_a_user_directory_without_shell_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A user's own directory expresses every shipped recipe: the same files, loaded from there,
    # give the same specs (the user's files win over the package's).
    user = tmp_path / "user-specs"
    user.mkdir()
    for repo in SWEGYM_KEYS:
        name = f"{repo.replace('/', '__')}.json"
        shutil.copy(_shipped() / name, user / name)
    monkeypatch.setenv("SWEGYM_SPECS_PATH", str(user))
    _table.cache_clear()
    shipped = _table(())
    from_user = load_spec_table()
    for repo in SWEGYM_KEYS:
        for version in _swegym_versions(repo):
            spec = from_user[repo][version]
            assert spec == shipped[repo][version]
            for cmd in step_commands(spec):
                assert not any(tok in arg for arg in cmd.argv for tok in SHELL), (repo, version, cmd.argv)
            build_script(spec, "/usr/bin/python3")


def test_recipes_use_the_new_fields_where_swegym_does() -> None:
    hydra = get_spec("facebookresearch/hydra", "1.1")
    last = hydra.install_steps()[-1]
    assert last.no_build_isolation and last.config_settings == {"editable_mode": "compat"}
    assert hydra.edits and hydra.requires[0].command == "java"
    mypy = get_spec("python/mypy", "0.800")
    assert mypy.submodules[0].path == "mypy/typeshed" and mypy.edits[0].insert_line == 1
    assert mypy.test_select == "mypy_cases"
    assert get_spec("conan-io/conan", "1.40").build_pins == ["cython<3"]
    assert get_spec("conan-io/conan", "2.1").env == {"PYTHONPATH": "/testbed"}
    assert (
        get_spec("pandas-dev/pandas", "2.0").per_commit and get_spec("pandas-dev/pandas", "2.0").venv_at_mount
    )
    assert get_spec("pydantic/pydantic", "1.10").build_env == {"SKIP_CYTHON": "1"}
    dvc = get_spec("iterative/dvc", "0.93")
    assert dvc.pins == ["numpy<=1.20", "pytest<8"] and len(dvc.edits) == 3
    assert any(s.kind == "run" and s.argv[0] == "npm" for s in get_spec("bokeh/bokeh", "3.4").install_steps())
