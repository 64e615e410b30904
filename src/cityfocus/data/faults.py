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

**Detection** (``SensorCheck``): fitted per zone on history of one feature (clean history,
or the very readings it checks, as the service does):

- a *stuck* run is ``k`` or more equal observed readings in a row (across unobserved steps)
  that the zone's history makes improbable: with ``p`` the zone's chance that a reading of
  that value is followed by the same value, a run is flagged when ``p^(k-1) < alpha``. The
  chance is per value, because repeats gather at a few values — a speed at its 70 mph cap, a
  concentration at the instrument's floor, a count at 0 — and are rare in between; it is
  shrunk towards the value's chance over all zones and that towards the overall chance. A
  run counts at most as long as the overall chance would flag, so a sensor stuck in the
  history the check is fitted on does not teach it that the value sticks.
- a *spike* is a reading that rises above the median of the zone's ``window`` readings
  before it *and* above that of the ``window`` after it (a step up or down that lasts, such
  as congestion setting in, rises above one side only): the smaller rise exceeds ``z`` times
  the zone's 99th percentile of that rise in its history (each zone keeps its own normal
  jumps; the 99th percentile, not a higher one, so faults on under 1 % of the readings the
  check is fitted on barely move it). The newest readings, with none after them, are judged
  on the rise above the readings before, against that rise's own percentile. For
  non-negative data (counts, speeds, concentrations) rises are taken on ``log(c + x)``, ``c``
  the 5th percentile of the positive readings, so a glitch that multiplies a reading stands
  out at any level but the lowest, where a reading's own noise (rounding, an instrument's
  floor) is as large as the reading; each side's median rise over
  all zones at the same step is taken off first, so what moves the whole city at once is
  not mistaken for one sensor's glitch. Only rises are spikes: readings dropping for one step
  are common for real (an incident slows one loop). Whole-number data are counts of events
  (incidents, crimes), where a burst is demand, not a glitch: no spike is flagged there.

The defaults were chosen on the validation parts of Los-loop and Beijing PM2.5 (faults
injected there; see ``docs/robustness.md``).

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
    """The detector (see the module docstring), fitted per zone.

    Args:
        alpha: a stuck run is flagged when its probability under the zone's chance of
            repeating that value is below this.
        min_run: never flag shorter runs (readings, the last good one included).
        window: readings on each side whose median a reading is compared with.
        z: a spike rises more than ``z`` times the zone's 99th percentile of that rise.
        prior: pseudo-readings by which a zone's chance of repeating a value is shrunk
            towards the value's chance over all zones, and that towards the overall chance.
    """

    alpha: float = 1e-6
    min_run: int = 3
    window: int = 2
    z: float = 2.75
    prior: float = 10.0

    def fit(self, values: np.ndarray, mask: np.ndarray) -> SensorCheck:
        """Learn each zone's chance of repeating each value and its scale of rises from
        ``[T, N]`` readings."""
        v, m = np.asarray(values, dtype=np.float64), np.asarray(mask, dtype=bool)
        self._fit_repeats(v, m)
        self.log_ = bool(np.all(v[m] >= 0)) if m.any() else False
        # rises are taken on log(offset + x): relative above the low readings, where a
        # reading's own noise (rounding, an instrument's floor) is as large as the reading
        positive = v[m & (v > 0)]
        self.offset_ = float(np.quantile(positive, 0.05)) if len(positive) else 1.0
        # whole numbers are counts of events: a burst of incidents is demand, not a glitch
        self.counts_ = bool(np.all(v[m] == np.round(v[m]))) if m.any() else False
        before, after = self._rises(v, m)
        # a reading with readings on both sides is judged by the smaller of its two rises; the
        # newest readings (or one before a gap) by the rise over one side, whose clean scale
        # is larger: a rise that lasts is then not yet told from a spike
        self.scale_ = _scale(np.minimum(before, after))
        self.scale_one_side_ = _scale(before)
        return self

    def _fit_repeats(self, v: np.ndarray, m: np.ndarray) -> None:
        """Per zone and value, the share of observed readings of that value followed by the
        same value at the next observed reading, shrunk towards the value's share over all
        zones (``prior`` pseudo-readings), and that towards the share over all values."""
        x_all = [v[m[:, i], i] for i in range(v.shape[1])]
        pairs = sum(max(len(x) - 1, 0) for x in x_all)
        repeats = sum(int((x[1:] == x[:-1]).sum()) for x in x_all)
        overall = (repeats + 1) / (pairs + 2)
        # a run counts at most as long as the overall chance would flag: a sensor stuck in
        # the history this check is fitted on does not teach it that its value sticks
        cap = int(np.ceil(np.log(self.alpha) / np.log(overall)))
        zone, value, repeated = [], [], []
        for i, x in enumerate(x_all):
            same = x[1:] == x[:-1]
            run = np.cumsum(~np.r_[False, same])  # run id of each reading
            position = np.arange(len(x)) - np.searchsorted(run, run)  # place in its run
            keep = ~same | (position[1:] <= cap)
            value.append(x[:-1][keep])
            repeated.append(same[keep].astype(np.float64))
            zone.append(np.full(int(keep.sum()), i))
        flat = np.concatenate(repeated)
        self.values_, which = np.unique(np.concatenate(value), return_inverse=True)
        self.repeat_unseen_ = float(overall)
        self.cap_ = cap
        self.value_counts_ = np.stack([np.bincount(which, minlength=len(self.values_)),
                                       np.bincount(which, weights=flat,
                                                   minlength=len(self.values_))])
        self.zone_counts_ = np.zeros((2, len(self.values_), v.shape[1]))
        where = (which, np.concatenate(zone).astype(int))
        np.add.at(self.zone_counts_[0], where, 1.0)
        np.add.at(self.zone_counts_[1], where, flat)

    def _repeat_chance(self, value: np.ndarray, length: np.ndarray, zone: int) -> np.ndarray:
        """The zone's chance of repeating each of ``value``, judged without the run of
        ``length`` readings being checked (it may be in the history the check was fitted
        on; a run cannot vouch for itself)."""
        prior, overall = self.prior, self.repeat_unseen_
        if not len(self.values_):
            return np.full(len(value), overall)
        at = np.clip(np.searchsorted(self.values_, value), 0, len(self.values_) - 1)
        seen = self.values_[at] == value
        own = np.minimum(length - 1, self.cap_).astype(np.float64)  # its repeats, as counted
        pairs, repeats = (np.clip(c[at] - d, 0, None) for c, d in
                          zip(self.value_counts_, (own + 1, own), strict=True))
        by_value = (repeats + prior * overall) / (pairs + prior)
        pairs, repeats = (np.clip(c[at, zone] - d, 0, None) for c, d in
                          zip(self.zone_counts_, (own + 1, own), strict=True))
        return np.where(seen, (repeats + prior * by_value) / (pairs + prior), overall)

    def _rises(self, v: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``[T, N]`` twice: how far each observed reading rises above the median of its
        zone's ``window`` observed readings before it, and above that of the ``window`` after
        it, on ``log(offset + x)`` for non-negative data, each net of its median over all zones at
        the same step; NaN unobserved or without readings on that side. A step up or down
        that lasts rises above one side only."""
        x = np.log(self.offset_ + np.clip(v, 0, None)) if self.log_ else v
        x = np.where(m, x, np.nan)
        t_count, w = x.shape[0], self.window
        padded = np.full((t_count + 2 * w, x.shape[1]), np.nan)
        padded[w:w + t_count] = x
        sides = []
        for offsets in (range(-w, 0), range(1, w + 1)):
            near = np.stack([padded[w + o:w + o + t_count] for o in offsets])
            rise = x - _median(near)
            # what moves every zone at once (a city-wide pollution episode, a holiday) is not
            # a sensor's glitch
            common = _median(rise.T)[:, None]
            sides.append(rise - np.nan_to_num(common))
        return sides[0], sides[1]

    def flags(self, values: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
        """``{"stuck", "spike"}``: ``[T, N]`` booleans of flagged readings."""
        v, m = np.asarray(values, dtype=np.float64), np.asarray(mask, dtype=bool)
        stuck = np.zeros(v.shape, dtype=bool)
        for i in range(v.shape[1]):
            stuck[:, i] = self._stuck(v[:, i], m[:, i], i)
        before, after = self._rises(v, m)
        both = np.isfinite(before) & np.isfinite(after)
        rise = np.where(both, np.minimum(before, after), np.where(np.isfinite(before),
                                                                  before, after))
        scale = np.where(both, self.scale_, self.scale_one_side_)
        spike = m & (np.nan_to_num(rise, nan=-np.inf) > self.z * scale)
        if self.counts_:
            spike[:] = False
        return {"stuck": stuck, "spike": spike}

    def _stuck(self, series: np.ndarray, observed: np.ndarray, zone: int) -> np.ndarray:
        """``[T]``: the readings after the first of each run of ``k >= min_run`` equal
        observed readings (across unobserved steps) with ``p^(k-1) < alpha``, ``p`` the
        zone's chance of repeating that value (the first reading is the last good one)."""
        out = np.zeros(len(series), dtype=bool)
        at = np.flatnonzero(observed)
        x = series[at]
        later = np.zeros(len(at), dtype=bool)
        later[1:] = x[1:] == x[:-1]
        run = np.cumsum(~later) - 1
        length = np.bincount(run) if len(run) else np.zeros(0, dtype=int)
        first = np.flatnonzero(~later)
        p = np.clip(self._repeat_chance(x[first], length, zone), 1e-12, 1 - 1e-12)
        bad = (length >= self.min_run) & ((length - 1) * np.log(p) < np.log(self.alpha))
        out[at[later & bad[run]]] = True
        return out

    def clean(self, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """The observed-mask with every flagged reading masked out."""
        found = self.flags(values, mask)
        return np.asarray(mask, dtype=bool) & ~(found["stuck"] | found["spike"])


def _median(x: np.ndarray) -> np.ndarray:
    """The median over the first axis, ignoring NaN (NaN where all are); as
    ``np.nanmedian(x, axis=0)``, several times faster on small first axes."""
    ordered = np.sort(x, axis=0)  # NaN last
    count = np.isfinite(x).sum(0)
    low = np.take_along_axis(ordered, np.maximum((count - 1) // 2, 0)[None], 0)[0]
    high = np.take_along_axis(ordered, np.minimum(count // 2, len(x) - 1)[None], 0)[0]
    return np.where(count > 0, (low + high) / 2, np.nan)


def _scale(rise: np.ndarray) -> np.ndarray:
    """``[N]``: each zone's 99th percentile of ``[T, N]`` rises (inf where none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a zone never observed
        scale = np.nanquantile(rise, 0.99, axis=0)
    return np.where(np.isfinite(scale) & (scale > 0), scale, np.inf)


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
