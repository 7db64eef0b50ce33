"""Sources: getting a task's repository at its base commit (git, local mirror, PyPI sdist)."""

from swegym.sources.materialize import Mirrors, materialize

__all__ = ["Mirrors", "materialize"]
