"""Broken sensors: seeded fault injection (for tests and benchmarks, applied to test inputs
only) and the detector the service runs on incoming observations.

**Faults** (``inject``), each on the readings of one feature (the target by default), seeded:

- ``missing``: a share of the observed readings dropped at random;
- ``outage``: a share of the sensors dark in contiguous blocks of 2-12 hours, separated by
  12-48 hours of normal operation;
- ``stuck``: a share of the sensors repeat their last good value for blocks of 2-12 hours;
- ``spike``: a share of the readings multiplied by a factor (5).

``inject`` returns the faulted data and a ``Faults`` record: which readings were dropped and
which were corrupted (stuck or spiked: present but wrong), so a detector can be scored.

**Detection** (``SensorCheck``): fitted on clean history, per zone, of one feature:

- a *stuck* run is ``k`` or more consecutive equal readings where the zone's clean history
  makes such a run improbable: with ``p`` the zone's share of consecutive equal readings, a run
  of length ``k`` is flagged when ``p^(k-1) < alpha`` (so data that often repeats, such as
  counts of rare events that sit at 0, is not flagged for it);
- a *spike* is a reading that jumps away from its neighbours and back: its difference from
  the median of the zone's ``window`` readings before and ``window`` after it (only those
  before for the newest readings) exceeds ``z`` times the zone's 99.9th percentile of that
  difference's size in clean history (heavy-tailed data, such as speeds that drop at the
  onset of congestion, keeps its own normal jumps). For non-negative data
  (counts, speeds, concentrations) the difference is taken on ``log(1 + x)``, so a glitch that
  multiplies a reading stands out at any level; the median of that difference over all
  zones at the same step is taken off first, so what moves the whole city at once is not
  mistaken for one sensor's glitch. Whole-number data are counts of events (incidents,
  crimes), where a burst is demand, not a glitch: no spike is flagged there.

Flagged readings should be treated as unobserved (``SensorCheck.clean`` masks them).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError

KINDS = ("missing", "outage", "stuck", "spike")


@dataclass(frozen=True)
class Faults:
    """What ``inject`` did, as ``[T, N]`` boolean arrays over the faulted feature.

    Attributes:
        dropped: readings made unobserved (missing, outage).
        corrupted: readings present but wrong (stuck, spike).
        dark_zones: zones with an outage (for scoring those zones apart).
    """

    kind: str
    rate: float
    feature: str
    dropped: np.ndarray
    corrupted: np.ndarray
    dark_zones: np.ndarray


def _hours(freq: pd.Timedelta, hours: float) -> int:
    return max(int(round(pd.Timedelta(hours=hours) / freq)), 1)


def _blocks(rng: np.random.Generator, length: int, on: tuple[int, int],
            off: tuple[int, int]) -> np.ndarray:
    """``[length]`` booleans: blocks of ``on`` steps (inclusive range) every ``off`` steps."""
    out = np.zeros(length, dtype=bool)
    t = int(rng.integers(0, max(off[1], 1)))
    while t < length:
        run = int(rng.integers(on[0], on[1] + 1))
        out[t:t + run] = True
        t += run + int(rng.integers(off[0], off[1] + 1))
    return out


def inject(data: CityData, kind: str, rate: float, *, seed: int = 0, start: int = 0,
           feature: str | None = None, factor: float = 5.0) -> tuple[CityData, Faults]:
    """``data`` with ``kind`` faults at ``rate`` on ``feature`` (default: the target) from time
    index ``start`` on (earlier steps untouched: the training and validation parts).

    ``rate``: the share of readings (``missing``, ``spike``) or of sensors (``outage``,
    ``stuck``) affected.
    """
    if kind not in KINDS:
        raise DataError(f"unknown fault {kind!r}; use {', '.join(KINDS)}")
    if not 0 <= rate <= 1:
        raise DataError(f"fault rate {rate} must lie in [0, 1]")
    name = data.target if feature is None else feature
    f = data.features.index(name)
    rng = np.random.default_rng(seed)
    values, mask = data.values.copy(), data.mask.copy()
    t_count, n = values.shape[:2]
    dropped = np.zeros((t_count, n), dtype=bool)
    corrupted = np.zeros((t_count, n), dtype=bool)
    part = np.zeros((t_count, n), dtype=bool)
    part[start:] = True
    observed = mask[:, :, f] & part
    chosen = rng.permutation(n)[: int(round(rate * n))]
    short = (_hours(data.freq, 2), _hours(data.freq, 12))
    gaps = (_hours(data.freq, 12), _hours(data.freq, 48))
    if kind in ("missing", "spike"):
        hit = observed & (rng.random((t_count, n)) < rate)
        if kind == "missing":
            dropped = hit
        else:
            corrupted = hit
            values[:, :, f] = np.where(hit, values[:, :, f] * factor, values[:, :, f])
    else:
        for i in chosen:
            block = _blocks(rng, t_count - start, short, gaps)
            where = np.zeros(t_count, dtype=bool)
            where[start:] = block
            if kind == "outage":
                dropped[:, i] = where & observed[:, i]
            else:
                _stick(values[:, i, f], mask[:, i, f], where, corrupted[:, i])
    mask[:, :, f] &= ~dropped
    values[:, :, f] = np.where(dropped, 0.0, values[:, :, f])
    faults = Faults(kind, rate, name, dropped, corrupted,
                    np.sort(chosen) if kind == "outage" else np.zeros(0, dtype=int))
    return data.replace(values=values, mask=mask), faults


def _stick(series: np.ndarray, observed: np.ndarray, where: np.ndarray,
           corrupted: np.ndarray) -> None:
    """In place: inside each block of ``where``, observed readings repeat the last good one
    (readings equal to it anyway are not counted as corrupted)."""
    last: float | None = None
    for t in range(len(series)):
        if where[t] and last is not None and observed[t]:
            corrupted[t] = series[t] != last
            series[t] = last
        elif observed[t]:
            last = float(series[t])


@dataclass
class SensorCheck:
    """The detector (see the module docstring), fitted per zone on clean readings.

    Args:
        alpha: a stuck run is flagged when its probability under the zone's clean repeat rate
            is below this.
        min_run: never flag shorter runs.
        window: readings whose median a new reading is compared with.
        z: a spike's difference is more than ``z`` times the zone's clean 99.9th percentile.
    """

    alpha: float = 1e-8
    min_run: int = 3
    window: int = 3
    z: float = 1.5

    def fit(self, values: np.ndarray, mask: np.ndarray) -> SensorCheck:
        """Learn each zone's repeat rate and jump scale from clean ``[T, N]`` readings."""
        v, m = np.asarray(values, dtype=np.float64), np.asarray(mask, dtype=bool)
        both = m[1:] & m[:-1]
        same = both & (v[1:] == v[:-1])
        self.repeat_ = (same.sum(0) + 1) / (both.sum(0) + 2)  # smoothed, in (0, 1)
        self.log_ = bool(np.all(v[m] >= 0)) if m.any() else False
        # whole numbers are counts of events: a burst of incidents is demand, not a glitch
        self.counts_ = bool(np.all(v[m] == np.round(v[m]))) if m.any() else False
        jump = self._difference(v, m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a zone never observed
            scale = np.nanquantile(np.abs(jump), 0.999, axis=0)
        self.scale_ = np.where(np.isfinite(scale) & (scale > 0), scale, np.inf)
        return self

    def _difference(self, v: np.ndarray, m: np.ndarray) -> np.ndarray:
        """``[T, N]``: each observed reading minus the median of its zone's ``window``
        observed readings on each side (on ``log(1 + x)`` for non-negative data); NaN
        without neighbours."""
        x = np.log1p(np.clip(v, 0, None)) if self.log_ else v
        x = np.where(m, x, np.nan)
        t_count = x.shape[0]
        padded = np.full((t_count + 2 * self.window, x.shape[1]), np.nan)
        padded[self.window:self.window + t_count] = x
        offsets = [o for o in range(-self.window, self.window + 1) if o != 0]
        around = np.stack([padded[self.window + o:self.window + o + t_count] for o in offsets])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN neighbourhoods
            median = np.nanmedian(around, axis=0)
        difference = np.where(m, x - median, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a step with no reading
            common = np.nanmedian(difference, axis=1, keepdims=True)
        # what moves every zone at once (a city-wide pollution episode, a holiday) is not a
        # sensor's glitch
        return difference - np.nan_to_num(common)

    def flags(self, values: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """``{"stuck", "spike"}``: ``[T, N]`` booleans of flagged readings."""
        v, m = np.asarray(values, dtype=np.float64), np.asarray(mask, dtype=bool)
        stuck = np.zeros(v.shape, dtype=bool)
        longest = np.maximum(self.min_run, np.ceil(
            1 + np.log(self.alpha) / np.log(np.clip(self.repeat_, 1e-12, 1 - 1e-12))))
        for i in range(v.shape[1]):
            stuck[:, i] = _runs(v[:, i], m[:, i], int(longest[i]))
        jump = np.abs(self._difference(v, m))
        spike = m & np.isfinite(jump) & (np.nan_to_num(jump) > self.z * self.scale_)
        if self.counts_:
            spike[:] = False
        return {"stuck": stuck, "spike": spike}

    def clean(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The observed-mask with every flagged reading masked out."""
        found = self.flags(values, mask)
        return np.asarray(mask, dtype=bool) & ~(found["stuck"] | found["spike"])


def _runs(series: np.ndarray, observed: np.ndarray, longest: int) -> np.ndarray:
    """Readings after the first of each run of at least ``longest`` equal observed readings
    (the first reading of a run is the last good one)."""
    same = np.zeros(len(series), dtype=bool)
    same[1:] = observed[1:] & observed[:-1] & (series[1:] == series[:-1])
    run = np.cumsum(~same)  # a new run starts wherever a reading does not repeat the last
    length = np.bincount(run)[run]
    return same & (length >= longest)


def detection_scores(flagged: np.ndarray, truth: np.ndarray,
                     observed: np.ndarray) -> dict[str, float]:
    """Precision, recall and F1 of ``flagged`` readings against ``truth`` (corrupted), and
    the share of clean observed readings flagged."""
    flagged, truth, observed = (np.asarray(a, dtype=bool) for a in (flagged, truth, observed))
    tp = float((flagged & truth).sum())
    precision = tp / max(float(flagged.sum()), 1.0)
    recall = tp / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    clean = observed & ~truth
    return {"precision": precision, "recall": recall, "f1": f1,
            "clean_flagged": float((flagged & clean).sum()) / max(float(clean.sum()), 1.0),
            "faults": int(truth.sum())}
