"""Candidate bugs: every checked mutation of the covered functions, sampled into the order to try.

``sample_mutations`` spreads the tries over functions and edit kinds, so that a few large
functions or one common kind do not crowd the others out; the same seed gives the same order.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from swegym.curate.synth.config import SynthConfig
from swegym.curate.synth.mutations import KINDS, Mutation, enumerate_mutations
from swegym.harness.runner import Prepared


def candidates(prep: Prepared, cfg: SynthConfig, covered: dict[tuple[str, str], set[str]]) -> list[Mutation]:
    """Candidate bugs in covered functions, spread over functions and kinds."""
    by_path: dict[str, list[str]] = {}
    for path, name in covered:
        by_path.setdefault(path, []).append(name)
    pool: list[Mutation] = []
    for path, names in sorted(by_path.items()):
        source = (prep.repo_dir / path).read_text()
        pool += enumerate_mutations(path, source, kinds=cfg.kinds, functions=names)
    limit = cfg.max_tries or 8 * cfg.n
    return sample_mutations(pool, limit, cfg.seed)


def sample_mutations(mutations: Sequence[Mutation], n: int, seed: int = 0) -> list[Mutation]:
    """Up to ``n`` distinct mutations spread over functions and kinds, in the order to try them.

    Functions take turns (round robin, in a shuffled order); at each turn a function gives the
    kind picked least so far among those it has, so no kind crowds the others out. The same
    ``mutations`` and ``seed`` always give the same list.
    """
    rng = random.Random(seed)
    per_function: dict[tuple[str, str], dict[str, list[Mutation]]] = {}
    seen: set[str] = set()
    for m in mutations:
        if m.key() in seen:
            continue
        seen.add(m.key())
        per_function.setdefault((m.path, m.qualname), {}).setdefault(m.kind, []).append(m)
    order = list(per_function)
    rng.shuffle(order)
    for kinds in per_function.values():
        for queue in kinds.values():
            rng.shuffle(queue)
    kind_order = list(KINDS)
    rng.shuffle(kind_order)  # breaks ties between kinds picked equally often
    picked_per_kind: dict[str, int] = defaultdict(int)
    result: list[Mutation] = []
    while len(result) < n and order:
        still_open = []
        for fn in order:
            if len(result) >= n:
                break
            kinds = per_function[fn]
            kind = min(kinds, key=lambda k: (picked_per_kind[k], kind_order.index(k)))
            result.append(kinds[kind].pop())
            picked_per_kind[kind] += 1
            if not kinds[kind]:
                del kinds[kind]
            if kinds:
                still_open.append(fn)
        order = still_open
    return result
