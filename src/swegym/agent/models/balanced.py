"""One model served at several endpoints: each request goes where the fewest are outstanding.

``swegym rollout --base-url URL1 --base-url URL2 ...`` spreads a run's requests over replicas of
one model (vLLM or SGLang servers on a cluster's GPU nodes). A request goes to the endpoint with
the fewest requests in flight from this process, ties broken in turn; a copy unpickled in another
process (a Ray worker) starts its turn at a random endpoint, so many workers with one episode
each spread their requests instead of all starting at the first endpoint.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Any

from swegym.agent.models.base import Model, ModelResponse


class BalancedModel:
    """A :class:`~swegym.agent.models.base.Model` over ``models`` (one per endpoint)."""

    def __init__(self, models: Sequence[Model], *, start: int = 0) -> None:
        if not models:
            raise ValueError("BalancedModel needs at least one endpoint")
        self.models = list(models)
        self.name = self.models[0].name
        self.outstanding = [0] * len(self.models)
        """Requests in flight per endpoint (from this process)."""
        self.sent = [0] * len(self.models)
        """Requests sent per endpoint (from this process)."""
        self._next = start % len(self.models)
        self._lock = threading.Lock()

    def _acquire(self) -> int:
        with self._lock:
            n = len(self.models)
            order = [(self._next + j) % n for j in range(n)]
            pick = min(order, key=lambda i: self.outstanding[i])
            self.outstanding[pick] += 1
            self.sent[pick] += 1
            self._next = (pick + 1) % n
            return pick

    def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelResponse:
        """The reply of the least busy endpoint."""
        pick = self._acquire()
        try:
            return self.models[pick].complete(messages, tools)
        finally:
            with self._lock:
                self.outstanding[pick] -= 1

    def __reduce__(self) -> tuple[Any, ...]:
        # Counters are per process; a fresh copy elsewhere starts its turn at random.
        return (_rebuilt, (self.models,))


def _rebuilt(models: list[Model]) -> BalancedModel:
    return BalancedModel(models, start=random.randrange(len(models)))
