"""Which unit a node runs next: units of one environment stay on the node that took it first.

A node that builds a (repo, version) environment keeps taking that environment's units, so each
environment is built once per node that needs it rather than on every node. A node with nothing
of its own left takes the largest untouched environment, then helps with the environment that has
the most units left (work stealing): a big environment is spread only when nodes would idle.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupQueue(Generic[T]):
    """Pending units by group, pulled lazily from ``items`` (a bounded look-ahead)."""

    def __init__(self, items: Iterable[T], group: Callable[[T], str], lookahead: int) -> None:
        self._items: Iterator[T] = iter(items)
        self._group = group
        self._lookahead = max(1, lookahead)
        self._pending: OrderedDict[str, deque[T]] = OrderedDict()
        self._size = 0
        self._exhausted = False
        self.owners: dict[str, set[str]] = {}
        """group -> the nodes that have run (so built) it."""

    def _fill(self) -> None:
        while not self._exhausted and self._size < self._lookahead:
            item = next(self._items, None)
            if item is None:
                self._exhausted = True
                return
            self._pending.setdefault(self._group(item), deque()).append(item)
            self._size += 1

    def push_front(self, item: T) -> None:
        """Put a unit back (its node was lost); it runs before the others of its group."""
        self._pending.setdefault(self._group(item), deque()).appendleft(item)
        self._size += 1

    def empty(self) -> bool:
        """No unit is left to start."""
        self._fill()
        return self._size == 0

    def take(self, node: str) -> T | None:
        """The next unit for ``node``: its own groups first, then an untouched group (the
        largest), then the group with the most units left."""
        self._fill()
        live = [g for g, q in self._pending.items() if q]
        if not live:
            return None
        own = [g for g in live if node in self.owners.get(g, ())]
        fresh = [g for g in live if not self.owners.get(g)]
        if own:
            pick = own[0]
        elif fresh:
            pick = max(fresh, key=lambda g: len(self._pending[g]))
        else:
            pick = max(live, key=lambda g: len(self._pending[g]))
        self.owners.setdefault(pick, set()).add(node)
        self._size -= 1
        return self._pending[pick].popleft()
