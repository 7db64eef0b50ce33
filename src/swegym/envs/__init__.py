"""Environments: one per (repo, version), built once with uv and mounted read-only."""

from swegym.envs.spec import EnvSpec, get_spec, load_spec_table

__all__ = ["EnvSpec", "get_spec", "load_spec_table"]
