"""Tiers: runs of units, best first, that the bootstrap cannot tell apart.

Units are taken in the run's rank order. A tier opens with its best unit (the leader) and takes
every following unit whose rank interval reaches the leader's (rank_low ≤ the leader's
rank_high); the first unit whose best plausible rank is worse than the leader's worst opens the
next tier. So units of different tiers are distinguishable at the run's level, units within a
tier are not distinguishable from their leader. Loops over tiers, never over units.
"""

from __future__ import annotations

import numpy as np


def tiers(rank_low: np.ndarray, rank_high: np.ndarray) -> np.ndarray:
    """Tier number (1 = best) for units given in rank order with their rank intervals."""
    n = len(rank_low)
    out = np.zeros(n, dtype=np.int64)
    start, tier = 0, 1
    while start < n:
        beyond = np.nonzero(rank_low[start + 1:] > rank_high[start])[0]
        end = start + 1 + int(beyond[0]) if beyond.size else n
        out[start:end] = tier
        start, tier = end, tier + 1
    return out
