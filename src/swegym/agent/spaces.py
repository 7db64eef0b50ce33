"""`SWEEnv`'s Gymnasium spaces: free text in, tool calls out.

Both spaces sample valid elements (``gymnasium.utils.env_checker.check_env`` steps the env with
``action_space.sample()``): a sampled tool call names a real tool with well-formed arguments and
is harmless in the sandbox (an ``echo``, a ``view`` of /testbed, or ``finish``).
"""

from __future__ import annotations

import string
from typing import Any

import gymnasium as gym

from swegym.agent.models.base import ToolCall

_WORD = string.ascii_lowercase + string.digits


class TextSpace(gym.spaces.Space[str]):
    """Any string (observations are free text); samples are short printable strings."""

    def contains(self, x: Any) -> bool:
        return isinstance(x, str)

    def sample(self, mask: Any | None = None, probability: Any | None = None) -> str:
        return _word(self, 32)


class ToolCallSpace(gym.spaces.Space[Any]):
    """A tool call: a `ToolCall`, a dict {"name", "arguments"}, or its JSON text.

    ``sample()`` returns a dict {"name", "arguments"}: ``execute_bash`` with an ``echo``,
    ``str_replace_editor`` viewing /testbed, or ``finish`` (rarer, since it ends the episode).
    """

    def contains(self, x: Any) -> bool:
        return isinstance(x, ToolCall | dict | str)

    def sample(self, mask: Any | None = None, probability: Any | None = None) -> dict[str, Any]:
        pick = float(self.np_random.random())
        if pick < 0.45:
            return {"name": "execute_bash", "arguments": {"command": f"echo {_word(self, 12)}"}}
        if pick < 0.9:
            return {"name": "str_replace_editor", "arguments": {"command": "view", "path": "/testbed"}}
        return {"name": "finish", "arguments": {"message": _word(self, 12)}}


def _word(space: gym.spaces.Space[Any], most: int) -> str:
    n = int(space.np_random.integers(1, most + 1))
    return "".join(_WORD[int(i)] for i in space.np_random.integers(0, len(_WORD), size=n))
