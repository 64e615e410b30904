"""A synthetic city with planted ground truth: the embedded default dataset.

Zones sit on a jittered grid (km) with a k-nearest-neighbour road graph. A latent activity
per zone follows daily and weekly cycles with morning and evening rush hours; random bursts
at "leader" zones spill over to a neighbouring "follower" zone a few steps later. Three
features are measured:

- ``traffic``: vehicle flow per step, proportional to activity (sensor gaps -> missing);
- ``pm25``: a city-wide background with multi-day pollution episodes, raised locally by
  traffic (sensor gaps and outages -> missing);
- ``incidents``: Poisson counts with rate ``risk_i * activity_i`` where the latent risk
  comes from a few spatial hotspots (the target; always observed).

``synthetic_city`` returns the data and the truth it planted (exact incident rates, risk,
which zones lead which and by how many steps, episodes, an optional hotspot move), so
tests can check that models, allocations and explanations recover it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError

_CENTRE_LAT, _CENTRE_LON = 52.0, 5.0  # an arbitrary place to hang the km grid on
_KM_PER_DEG_LAT = 111.2


@dataclass(frozen=True)
class SyntheticTruth:
    """What the generator planted.

    Attributes:
        rate: ``[T, N]`` expected incidents per step (the Poisson mean).
        risk: ``[T, N]`` latent risk per zone (changes at ``drift_step`` if any).
        activity: ``[T, N]`` latent activity driving traffic and incidents.
        leads: ``(leader, follower, lag)`` triples: the follower's activity repeats the
            leader's bursts ``lag`` steps later.
        lead_matrix: ``[N, N]`` bool, ``[i, j]`` True when zone j leads zone i.
        episodes: ``(start, stop)`` step ranges of city-wide pollution episodes.
        hotspots: ``[K, 2]`` hotspot centres in km before any drift.
        drift_step: step at which hotspot 0 moves (None: no drift).
        rising: ``[N]`` bool, zones whose risk at the end is at least 1.5x the start.
    """

    rate: np.ndarray
    risk: np.ndarray
    activity: np.ndarray
    leads: list[tuple[int, int, int]]
    lead_matrix: np.ndarray
    episodes: list[tuple[int, int]]
    hotspots: np.ndarray
    drift_step: int | None
    rising: np.ndarray


@dataclass(frozen=True)
class SyntheticCity:
    data: CityData
    truth: SyntheticTruth


def synthetic_city(
    n_zones: int = 24,
    days: int = 56,
    steps_per_day: int = 24,
    seed: int = 0,
    missing: float = 0.03,
    drift_day: int | None = None,
) -> SyntheticCity:
    """Generate the synthetic city (deterministic for a given seed and arguments).

    Args:
        n_zones: N, number of zones (>= 4).
        days: length of the period in days (>= 2).
        steps_per_day: time steps per day (24 = hourly).
        seed: random seed.
        missing: share of traffic/pm25 readings dropped at random (outages come on top).
        drift_day: if given, hotspot 0 moves to the other side of the city on this day.
    """
    if n_zones < 4 or days < 2 or steps_per_day < 1 or not 0 <= missing < 1:
        raise DataError(
            "synthetic city needs n_zones >= 4, days >= 2, steps_per_day >= 1, 0 <= missing < 1"
        )
    if drift_day is not None and not 0 < drift_day < days:
        raise DataError(f"drift_day must lie in 1..{days - 1}, got {drift_day}")
    rng = np.random.default_rng(seed)
    T, N = days * steps_per_day, n_zones
    xy = _zone_positions(N, rng)
    adjacency = _knn_graph(xy, k=3)
    timestamps = pd.date_range("2024-01-01", periods=T, freq=pd.Timedelta(days=1) / steps_per_day)

    profile = _daily_weekly_profile(timestamps, N, rng)
    bursts = _bursts(T, N, rng)
    leads = _plant_leads(adjacency, N, steps_per_day, rng)
    activity = profile * (1.0 + 0.08 * _ar1(T, N, 0.9, rng)) + 0.8 * bursts
    for leader, follower, lag in leads:
        activity[lag:, follower] += 0.9 * bursts[:-lag, leader]
    activity = np.clip(activity, 0.05, None)

    hotspots = xy.min(0) + rng.uniform(0.2, 0.8, size=(3, 2)) * np.ptp(xy, axis=0)
    drift_step = None if drift_day is None else drift_day * steps_per_day
    risk = _risk(xy, hotspots, T, drift_step)
    rate = 0.35 * risk * activity
    incidents = rng.poisson(rate).astype(np.float32)

    capacity = rng.uniform(0.7, 1.3, size=N)
    traffic = 120.0 * capacity * activity * (1 + 0.05 * rng.standard_normal((T, N)))
    episodes = _episodes(T, steps_per_day, rng)
    pm25 = _pollution(traffic, episodes, steps_per_day, rng)

    values = np.stack([traffic, pm25, incidents], axis=-1).astype(np.float32)
    mask = np.ones_like(values, dtype=bool)
    mask[:, :, :2] = _sensor_mask(T, N, 2, missing, steps_per_day, rng)

    lead_matrix = np.zeros((N, N), dtype=bool)
    for leader, follower, _ in leads:
        lead_matrix[follower, leader] = True
    zones = pd.DataFrame({
        "id": [f"z{i:02d}" for i in range(N)],
        "name": [f"Zone {i}" for i in range(N)],
        "lat": _CENTRE_LAT + xy[:, 1] / _KM_PER_DEG_LAT,
        "lon": _CENTRE_LON + xy[:, 0] / (_KM_PER_DEG_LAT * np.cos(np.radians(_CENTRE_LAT))),
    })
    data = CityData(
        values, timestamps, mask=mask, zones=zones, features=("traffic", "pm25", "incidents"),
        target="incidents", adjacency=adjacency, name="synthetic",
        meta={"source": "cityfocus.data.synthetic", "seed": seed,
              "units": {"traffic": "vehicles/step", "pm25": "ug/m3", "incidents": "count/step"}},
    )
    truth = SyntheticTruth(
        rate=rate.astype(np.float32), risk=risk.astype(np.float32),
        activity=activity.astype(np.float32), leads=leads, lead_matrix=lead_matrix,
        episodes=episodes, hotspots=hotspots, drift_step=drift_step,
        rising=risk[-1] >= 1.5 * risk[0],
    )
    return SyntheticCity(data, truth)


def _zone_positions(N: int, rng: np.random.Generator) -> np.ndarray:
    """Jittered grid with 2 km spacing; ``[N, 2]`` (x, y) in km."""
    side = int(np.ceil(np.sqrt(N)))
    grid = np.array([(i % side, i // side) for i in range(N)], dtype=np.float64) * 2.0
    return grid + rng.uniform(-0.5, 0.5, size=grid.shape)


def _knn_graph(xy: np.ndarray, k: int) -> np.ndarray:
    """Symmetric k-nearest-neighbour graph, Gaussian distance weights, no self-loops."""
    dist = np.linalg.norm(xy[:, None] - xy[None, :], axis=-1)
    np.fill_diagonal(dist, np.inf)
    nearest = np.argsort(dist, axis=1)[:, :k]
    adj = np.zeros_like(dist)
    rows = np.repeat(np.arange(len(xy)), k)
    adj[rows, nearest.ravel()] = np.exp(-(dist[rows, nearest.ravel()] / 2.0) ** 2)
    return np.maximum(adj, adj.T)


def _daily_weekly_profile(ts: pd.DatetimeIndex, N: int, rng: np.random.Generator) -> np.ndarray:
    """``[T, N]`` activity: night low, morning and evening rush, quieter weekends."""
    hour = np.asarray(ts.hour + ts.minute / 60.0)[:, None]
    weekend = np.asarray(ts.day_of_week >= 5)[:, None]
    morning = rng.uniform(0.3, 1.0, size=N)  # residential zones peak in the morning
    evening = rng.uniform(0.3, 1.0, size=N)  # commercial zones in the evening
    day = 1.0 / (1.0 + np.exp(-(hour - 6.5) * 1.5)) / (1.0 + np.exp((hour - 22.5) * 1.5))
    rush = (morning * np.exp(-((hour - 8.0) ** 2) / 2.0)
            + evening * np.exp(-((hour - 17.5) ** 2) / 3.0))
    weekday_profile = 0.25 + 0.6 * day + 0.9 * rush
    weekend_profile = 0.25 + 0.5 * day + 0.4 * np.exp(-((hour - 14.0) ** 2) / 8.0)
    return np.where(weekend, weekend_profile, weekday_profile)


def _ar1(T: int, N: int, phi: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-variance AR(1) noise ``[T, N]``."""
    eps = rng.standard_normal((T, N)) * np.sqrt(1 - phi**2)
    out = np.empty((T, N))
    out[0] = rng.standard_normal(N)
    for t in range(1, T):
        out[t] = phi * out[t - 1] + eps[t]
    return out


def _bursts(T: int, N: int, rng: np.random.Generator) -> np.ndarray:
    """Sparse activity bursts (events) that fade over a few steps, ``[T, N]``."""
    onsets = (rng.random((T, N)) < 0.03) * rng.uniform(0.8, 1.5, size=(T, N))
    kernel = np.array([1.0, 0.75, 0.5, 0.25])
    out = np.zeros((T, N))
    for lag, weight in enumerate(kernel):
        out[lag:] += weight * onsets[: T - lag]
    return out


def _plant_leads(
    adjacency: np.ndarray, N: int, steps_per_day: int, rng: np.random.Generator
) -> list[tuple[int, int, int]]:
    """Pick about N/4 disjoint (leader, follower) graph neighbours with a lag of 2-3 steps
    (scaled for coarser data so the lag stays under a day)."""
    used: set[int] = set()
    leads: list[tuple[int, int, int]] = []
    max_lag = 3 if steps_per_day >= 12 else 1
    for leader in rng.permutation(N):
        if leader in used or len(leads) >= max(N // 4, 1):
            continue
        neighbours = [j for j in np.nonzero(adjacency[leader])[0] if j not in used and j != leader]
        if not neighbours:
            continue
        follower = int(rng.choice(neighbours))
        lag = int(rng.integers(max(max_lag - 1, 1), max_lag + 1))
        leads.append((int(leader), follower, lag))
        used.update({int(leader), follower})
    return leads


def _risk(xy: np.ndarray, hotspots: np.ndarray, T: int, drift_step: int | None) -> np.ndarray:
    """``[T, N]`` latent risk: a floor plus Gaussian bumps around the hotspots."""
    strength = np.array([3.0, 2.0, 1.5])

    def field(centres: np.ndarray) -> np.ndarray:
        d2 = ((xy[:, None, :] - centres[None, :, :]) ** 2).sum(-1)
        return 0.2 + (strength * np.exp(-d2 / (2 * 2.0**2))).sum(-1)

    risk = np.tile(field(hotspots), (T, 1))
    if drift_step is not None:
        moved = hotspots.copy()
        moved[0] = xy.min(0) + xy.max(0) - hotspots[0]  # mirror through the city centre
        risk[drift_step:] = field(moved)
    return risk


def _episodes(T: int, steps_per_day: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """About one pollution episode of 1-3 days per two weeks, not overlapping."""
    episodes: list[tuple[int, int]] = []
    t = int(rng.integers(2, 7) * steps_per_day)
    while t < T:
        length = int(rng.integers(1, 4) * steps_per_day)
        episodes.append((t, min(t + length, T)))
        t += length + int(rng.integers(8, 16) * steps_per_day)
    return episodes


def _pollution(
    traffic: np.ndarray, episodes: list[tuple[int, int]], steps_per_day: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """PM2.5: slow background + episodes (ramped) + local traffic contribution + noise."""
    T, N = traffic.shape
    background = 25.0 + 8.0 * _ar1(T, 1, 0.98, rng)[:, 0]
    boost = np.zeros(T)
    for start, stop in episodes:
        length = stop - start
        boost[start:stop] += 70.0 * np.sin(np.linspace(0, np.pi, length))
    local = 0.08 * traffic
    noise = 3.0 * rng.standard_normal((T, N))
    return np.clip((background + boost)[:, None] + local + noise, 1.0, None)


def _sensor_mask(
    T: int, N: int, F: int, missing: float, steps_per_day: int, rng: np.random.Generator
) -> np.ndarray:
    """Observed-mask ``[T, N, F]``: random drop-outs plus some sensor outages of 6 h to 2 days."""
    mask = rng.random((T, N, F)) >= missing
    for n in range(N):
        for f in range(F):
            if rng.random() < 0.3:
                length = int(rng.integers(max(steps_per_day // 4, 1), 2 * steps_per_day + 1))
                start = int(rng.integers(0, max(T - length, 1)))
                mask[start : start + length, n, f] = False
    return mask
