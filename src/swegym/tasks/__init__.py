"""Tasks: the SWE-Gym / SWE-bench task model and its loaders."""

from swegym.tasks.loaders import LoadResult, load_tasks
from swegym.tasks.model import Task

__all__ = ["LoadResult", "Task", "load_tasks"]
