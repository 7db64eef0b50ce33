"""Best@k and Random@k of a reranker, with task-level bootstrap confidence intervals.

For a task with ``n`` scored episodes, Best@k is the expected success of the episode the scores
rank first among ``k`` drawn at random without replacement. With episodes sorted by score
(highest first), the one at rank ``i`` (0-based) heads a random ``k``-subset with probability
``C(n-1-i, k-1) / C(n, k)``, so Best@k is exact, not sampled. Tied scores are broken at random,
which in expectation gives each tied episode the mean success of its tie group. Random@k (picking
any one of the ``k``) is the task's success rate, the same for every ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import comb

import numpy as np

__all__ = ["best_at_k", "bootstrap_mean_ci", "random_at_k"]


def _tie_averaged(scores: Sequence[float], resolved: Sequence[bool]) -> list[float]:
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    out: list[float] = []
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            j += 1
        group = [float(resolved[order[t]]) for t in range(i, j)]
        out.extend([sum(group) / len(group)] * len(group))
        i = j
    return out


def best_at_k(scores: Sequence[float], resolved: Sequence[bool], k: int) -> float:
    """Expected success of the top-scored episode among ``k`` drawn from one task's episodes."""
    n = len(scores)
    if n != len(resolved) or not 1 <= k <= n:
        raise ValueError(f"best@k needs 1 <= k <= n and one label per score (n={n}, k={k})")
    ranked = _tie_averaged(scores, resolved)
    total = comb(n, k)
    return float(sum(r * comb(n - 1 - i, k - 1) for i, r in enumerate(ranked)) / total)


def random_at_k(resolved: Sequence[bool], k: int) -> float:
    """Expected success of a uniformly random pick among ``k`` episodes: the success rate."""
    if not 1 <= k <= len(resolved):
        raise ValueError(f"random@k needs 1 <= k <= n (n={len(resolved)}, k={k})")
    return float(sum(map(bool, resolved)) / len(resolved))


def bootstrap_mean_ci(
    values: Sequence[float], n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-task ``values`` (tasks resampled)."""
    if not values:
        raise ValueError("bootstrap_mean_ci needs at least one value")
    arr = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(arr), size=(n_boot, len(arr)))
    low, high = np.quantile(arr[idx].mean(axis=1), [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(low), float(high))
