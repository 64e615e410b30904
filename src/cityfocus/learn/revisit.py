"""Revisits: which zones get a unit now so that none goes unseen longer than a limit D.

A zone's **age** at a decision is how many decisions it will have gone unobserved if it is
not observed at this one (1 if it was observed in the previous decision's block). A zone
with age ``a`` must be attended within ``D + 1 - a`` decisions (its *slack*; 0: now).
Zones the policy attends anyway are left out, and the rest are revisited as late as
possible, earliest deadline first: with at most ``c = ceil(N / (D + 1))`` revisits per
decision (the rate that cycles through every zone in D + 1 decisions), the number that must
start now for all deadlines to stay reachable is

    ``r = max_{h >= 0} (#{zones with slack <= h} - c h)``   (at least 0).

Late is cheap: a zone the policy attends of its own accord before its deadline costs no
revisit. As long as ``r`` units fit in the budget and an attended zone is observed, no zone
stays unseen longer than ``D`` decisions. Under the attention law one unit observes a zone
during a decision of ``H`` steps with probability ``1 - exp(-alpha H)`` (synthetic city:
``1 - exp(-12)``; one-step NYC decisions: ``1 - exp(-1) = 0.63``, so there the limit holds
for attention, not for observation).
"""

from __future__ import annotations

import numpy as np


def unseen_age(target_mask: np.ndarray, at: int, horizon: int) -> np.ndarray:
    """``[N]`` age of each zone at the decision at data step ``at``, from the store's
    ``[T, N]`` target mask (a zone never observed counts from step 0)."""
    seen = target_mask[:at]
    observed = seen.any(0)
    last = np.where(observed, at - 1 - np.argmax(seen[::-1], axis=0), -1)
    return (at - 1 - last) // horizon + 1


def revisit_zones(age: np.ndarray, limit: int, candidates: np.ndarray,
                  capacity: int) -> np.ndarray:
    """``[N]`` bool: the candidate zones to attend now (as late as possible, earliest
    deadline first).

    Args:
        age: ``[N]`` unseen age per zone (``unseen_age``).
        limit: D, the longest a zone may go unseen, in decisions.
        candidates: ``[N]`` bool, zones that may be revisited (not attended anyway).
        capacity: at most this many revisits now (the units the budget allows).
    """
    pick = np.zeros(age.shape, dtype=bool)
    slack = np.where(candidates, limit + 1 - age, np.iinfo(np.int64).max)
    due = np.sort(slack[candidates])
    if due.size == 0 or capacity <= 0:
        return pick
    rate = -(-len(age) // (limit + 1))  # c = ceil(N / (D + 1))
    horizons = np.arange(max(int(due.max()), 0) + 1)
    pending = np.searchsorted(due, horizons, side="right")  # zones due within h decisions
    now = int(max(np.max(pending - rate * horizons), 0))
    pick[np.argsort(slack, kind="stable")[: min(now, capacity)]] = True
    return pick
