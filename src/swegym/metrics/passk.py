"""pass@k estimation.

Implements the unbiased pass@k estimator of Chen et al. 2021 ("Evaluating Large Language
Models Trained on Code", https://arxiv.org/abs/2107.03374) together with a task-level
bootstrap confidence interval.

For a task with ``n`` sampled episodes of which ``c`` resolved it, the probability that at
least one of ``k`` episodes drawn without replacement from those ``n`` resolves it is::

    pass@k = 1 - C(n - c, k) / C(n, k)

Binomial coefficients overflow floats quickly, so the ratio is computed as the product
``prod_{i = n-c+1}^{n} (1 - k / i)``, which is numerically stable.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bootstrap_ci", "mean_pass_at_k", "pass_at_k", "per_task_pass_at_k"]


def _check(n: int, c: int, k: int) -> None:
    if n < 1:
        raise ValueError(f"pass@k needs at least one sample per task, got n={n}")
    if not 0 <= c <= n:
        raise ValueError(f"number of correct samples must be in [0, n={n}], got c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, n={n}], got k={k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass@k for one task.

    Args:
        n: number of sampled episodes for the task (``n >= 1``).
        c: number of those episodes that resolved the task (``0 <= c <= n``).
        k: budget of attempts (``1 <= k <= n``).

    Returns:
        ``1 - C(n - c, k) / C(n, k)``; exactly ``1.0`` when ``n - c < k`` (every ``k``-subset
        contains a success) and exactly ``0.0`` when ``c == 0``.

    Raises:
        ValueError: if the arguments are out of range (in particular ``k > n``: the estimator
            is undefined with fewer samples than attempts).
    """
    _check(n, c, k)
    if n - c < k:
        return 1.0
    if c == 0:
        return 0.0
    # C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k / i)
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def per_task_pass_at_k(per_task: Sequence[tuple[int, int]], k: int) -> list[float]:
    """pass@k of every task in ``per_task`` (a sequence of ``(n, c)`` pairs), in order."""
    return [pass_at_k(n, c, k) for n, c in per_task]


def mean_pass_at_k(per_task: Sequence[tuple[int, int]], k: int) -> float:
    """Mean pass@k over tasks.

    Args:
        per_task: one ``(n, c)`` pair per task: samples drawn, samples that resolved it.
            Every task must have ``n >= k``; filter the others out beforehand.
        k: budget of attempts.

    Raises:
        ValueError: if ``per_task`` is empty or a task has ``n < k``.
    """
    if not per_task:
        raise ValueError("mean_pass_at_k needs at least one task")
    values = per_task_pass_at_k(per_task, k)
    return float(sum(values) / len(values))


def bootstrap_ci(
    per_task: Sequence[tuple[int, int]],
    k: int,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of :func:`mean_pass_at_k`.

    Tasks (not episodes) are resampled with replacement: each bootstrap replicate draws
    ``len(per_task)`` tasks and averages their per-task pass@k. The samples within a task are
    kept as they are, so the interval reflects uncertainty due to *which tasks* were
    evaluated. With a single task the interval degenerates to the point estimate.

    Args:
        per_task: one ``(n, c)`` pair per task, each with ``n >= k``.
        k: budget of attempts.
        n_boot: number of bootstrap replicates.
        alpha: ``1 - confidence level`` (0.05 gives a 95% interval).
        seed: seed of the random generator; the result is deterministic for a given seed.

    Returns:
        ``(low, high)``: the ``alpha/2`` and ``1 - alpha/2`` percentiles of the replicate means.

    Raises:
        ValueError: on empty input, ``n_boot < 1``, ``alpha`` outside ``(0, 1)`` or a task with
            ``n < k``.
    """
    if not per_task:
        raise ValueError("bootstrap_ci needs at least one task")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    values = np.asarray(per_task_pass_at_k(per_task, k), dtype=float)
    n_tasks = len(values)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot, dtype=float)
    # Chunk so that memory stays bounded (n_boot x n_tasks indices) for large task sets.
    chunk = max(1, min(n_boot, 2_000_000 // n_tasks))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, n_tasks, size=(stop - start, n_tasks))
        means[start:stop] = values[idx].mean(axis=1)
    low, high = np.quantile(means, [alpha / 2.0, 1.0 - alpha / 2.0])
    return (float(low), float(high))
