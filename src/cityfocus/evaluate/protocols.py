"""Benchmark protocols: per dataset, the split, lookback, horizons, target and scored windows.

- ``los_loop`` (T-GCN, Zhao et al. 2019): L=12, horizons 3/6/9/12 (one model per horizon);
  first ``int(0.8 T)`` steps train (its last 10 % validation, for early stopping only), rest
  test; test windows lie wholly inside the test part and, as T-GCN's ``range(len - L - H)``,
  the last possible window is dropped.
- ``nyc_crime`` (ST-SHN, Xia et al. 2021): days 0-607 train, 608-637 validation, 638-729
  test; L=30, H=1; one run per crime category, each the target in turn.
- ``beijing_air_prsa``: target PM2.5, L=24, H=24, chronological 70/10/20.
- ``synthetic``: target incidents, L=24, H=3, 70/10/20; the planted rate is the second truth.

Outside the T-GCN rule, test inputs may reach back into earlier parts (never forward).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.data.split import Split, chronological_split, split_at
from cityfocus.data.windows import Windows
from cityfocus.errors import DataError


def tgcn_split(data: CityData) -> Split:
    """T-GCN: train = first ``int(0.8 T)`` steps, its last 10 % for validation; test = rest."""
    train_end = int(data.shape[0] * 0.8)
    return split_at(data, train_end - int(train_end * 0.1), train_end)


def stshn_split(data: CityData) -> Split:
    """ST-SHN / ST-HSL: days 0-607 train, 608-637 validation, 638-729 test."""
    return split_at(data, 608, 638)


def split_70_10_20(data: CityData) -> Split:
    return chronological_split(data, train=0.7, val=0.1)


@dataclass(frozen=True)
class Protocol:
    """How one dataset is benchmarked.

    Attributes:
        dataset: the dataset name (``load_dataset``).
        lookback: L.
        horizons: one model is trained per horizon H.
        split: the data -> Split rule; ``split_rule`` says it in words.
        target: the target feature (None: the dataset's own).
        categories: count protocol: one run per category, each the target in turn.
        report_steps: 1-based horizon steps shown in the Markdown table besides "all".
        tgcn_windows: test windows inside the test part only, last one dropped.
        units: units of the target, for the table.
        note: a remark printed under the table.
    """

    dataset: str
    lookback: int
    horizons: tuple[int, ...]
    split: Callable[[CityData], Split]
    split_rule: str
    target: str | None = None
    categories: tuple[str, ...] = ()
    report_steps: tuple[int, ...] = ()
    tgcn_windows: bool = False
    units: str = ""
    note: str = ""


PROTOCOLS: dict[str, Protocol] = {
    "los_loop": Protocol(
        "los_loop", 12, (3, 6, 9, 12), tgcn_split,
        "T-GCN: first int(0.8*T) steps train (its last 10% validation), last 20% test",
        tgcn_windows=True, units="mph",
        note="`historical_average` is cityfocus's mean by (slot of day, weekday) over the train "
        "part; T-GCN's HA is a different model, the iterated mean of the 12-step input window "
        "(row `window_mean_ha`). With 7 days of data, the test part's weekdays never occur in "
        "the train part, so our HA falls back to the slot-of-day mean.",
    ),
    "nyc_crime": Protocol(
        "nyc_crime", 30, (1,), stshn_split,
        "ST-SHN: days 0-607 train, 608-637 validation, 638-729 test",
        categories=("burglary", "larceny", "robbery", "assault"), units="crimes/cell/day",
    ),
    "beijing_air_prsa": Protocol(
        "beijing_air_prsa", 24, (24,), split_70_10_20, "chronological 70/10/20",
        target="PM2.5", report_steps=(1, 6, 12, 24), units="µg/m³",
    ),
    "synthetic": Protocol(
        "synthetic", 24, (3,), split_70_10_20, "chronological 70/10/20",
        target="incidents", report_steps=(1, 2, 3), units="incidents/zone/hour",
    ),
}


def with_target(data: CityData, target: str) -> CityData:
    """The same data with another target feature (a new CityData; the input is untouched)."""
    return data.replace(target=target)


def load_benchmark_data(protocol: Protocol, quick: bool) -> tuple[CityData, np.ndarray | None]:
    """The dataset (a small slice when ``quick``) and, for the synthetic city, its true rate."""
    if protocol.dataset == "synthetic":
        from cityfocus.data.synthetic import synthetic_city

        city = synthetic_city(n_zones=8, days=21) if quick else synthetic_city()
        data, rate = city.data, city.truth.rate
    else:
        from cityfocus.data.readers import load_dataset

        data, rate = load_dataset(protocol.dataset), None
        if quick:  # a slice that keeps the protocol's split valid
            data = data.select_zones(np.arange(min(12, data.shape[1])))
            if protocol.dataset == "beijing_air_prsa":
                data = data.slice_time(0, 24 * 60)
    if protocol.target is not None and data.target != protocol.target:
        data = with_target(data, protocol.target)
    missing = [c for c in protocol.categories if c not in data.features]
    if missing:
        raise DataError(f"category {missing[0]!r} is not a feature of {data.name}; "
                        f"features are {list(data.features)}")
    return data, rate


def scored_windows(protocol: Protocol, split: Split, horizon: int) -> Windows:
    """The scored windows: targets in the test part (T-GCN rule where the protocol says so)."""
    start, stop = split.bounds("test")
    if protocol.tgcn_windows:
        # T-GCN: range(len(test) - L - H) inside the test part drops the last window
        return Windows(split.data, protocol.lookback, horizon, target_start=start,
                       target_stop=stop - 1, context=False)
    return Windows(split.data, protocol.lookback, horizon, target_start=start,
                   target_stop=stop, context=True)


def iterated_window_mean(windows: Windows) -> np.ndarray:
    """T-GCN's HA baseline (``Baselines/baselines.py``), re-implemented as a protocol check:
    each step forecasts the mean of the last L values, the forecast then joins the window.

    Returns ``[S, H, N]``; inputs are taken as given (the Los-loop file has no gaps).
    """
    batch = windows.batch()
    history = list(np.moveaxis(batch.x[..., windows.data.target_index], 1, 0))  # L x [S, N]
    L = windows.lookback
    steps = []
    for _ in range(windows.horizon):
        steps.append(np.mean(history[-L:], axis=0))
        history.append(steps[-1])
    return np.stack(steps, axis=1)
