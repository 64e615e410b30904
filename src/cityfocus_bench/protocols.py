"""Benchmark protocols, read from each dataset's card (``cityfocus.data.cards``): the split,
lookback, horizons, target and scored windows.

The built-in cards hold the published protocols: Los-loop as T-GCN (Zhao et al. 2019: L=12,
horizons 3/6/9/12, one model per horizon, first ``int(0.8 T)`` steps train, test windows
wholly inside the test part with the last one dropped as T-GCN's ``range(len - L - H)``),
NYC crime as ST-SHN (Xia et al. 2021: days 0-607 train, 608-637 validation, 638-729 test,
L=30, H=1, one run per crime category), Beijing PM2.5 (L=24, H=24, chronological 70/10/20)
and the synthetic city (L=24, H=3, 70/10/20; its planted rate is a second truth).

Outside the T-GCN rule, test inputs may reach back into earlier parts (never forward).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cityfocus.data.cards import (
    DatasetCard,
    ForecastCard,
    SplitRule,
    load_card,
    user_card_path,
)
from cityfocus.data.citydata import CityData
from cityfocus.data.split import Split
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError, DataError


@dataclass(frozen=True)
class Protocol:
    """How one dataset is benchmarked.

    Attributes:
        card: the dataset's card (where the data comes from, its quick slice).
        lookback: L.
        horizons: one model is trained per horizon H.
        rule: the split rule (``split`` applies it; ``split_rule`` says it in words).
        target: the target feature (None: the dataset's own).
        categories: count protocol: one run per category, each the target in turn.
        report_steps: 1-based horizon steps shown in the Markdown table besides "all".
        tgcn_windows: test windows inside the test part only, last one dropped.
        note: a remark printed under the table.
        models: ``{model: make_forecaster keyword arguments}`` for this protocol's fits.
    """

    card: DatasetCard
    lookback: int
    horizons: tuple[int, ...]
    rule: SplitRule = SplitRule()
    target: str | None = None
    categories: tuple[str, ...] = ()
    report_steps: tuple[int, ...] = ()
    tgcn_windows: bool = False
    note: str = ""
    models: dict[str, dict] = field(default_factory=dict)

    @property
    def dataset(self) -> str:
        return self.card.name

    @property
    def units(self) -> str:
        return self.card.units

    @property
    def split_rule(self) -> str:
        return self.rule.text

    def split(self, data: CityData) -> Split:
        """The train / validation / test split of ``data``."""
        return self.rule.apply(data)


def forecast_protocol(dataset: str | Path) -> Protocol:
    """The forecast benchmark protocol of a built-in dataset name or a data path with a card.

    Raises:
        CityfocusError: the dataset has no card with a ``[forecast]`` section.
    """
    card = load_card(dataset)
    if card.forecast is None:
        raise no_protocol_error(dataset, card, "forecast")
    f: ForecastCard = card.forecast
    return Protocol(card, f.lookback, f.horizons, f.split, f.target, f.categories,
                    f.report_steps, f.tgcn_windows, f.note, f.models)


def no_protocol_error(dataset: str | Path, card: DatasetCard, section: str) -> CityfocusError:
    """The error for a dataset whose card lacks the ``section`` protocol."""
    from cityfocus.data.cards import built_in_cards

    have = [n for n in built_in_cards() if getattr(load_card(n), section) is not None]
    where = card.path if card.path is not None else user_card_path(dataset)
    return CityfocusError(f"no {section} benchmark for dataset {str(dataset)!r}: write a "
                          f"[{section}] section in {where}, see docs/cards.md; built-in: "
                          f"{', '.join(have)}")


def with_target(data: CityData, target: str) -> CityData:
    """The same data with another target feature (a new CityData; the input is untouched)."""
    return data.replace(target=target)


def load_benchmark_data(protocol: Protocol, quick: bool) -> tuple[CityData, np.ndarray | None]:
    """The dataset (a small slice when ``quick``, as its card says) and, for a generated city,
    its planted rate."""
    card = protocol.card
    if card.generator == "synthetic":
        from cityfocus.data.synthetic import synthetic_city

        city = synthetic_city(**(card.quick_generate if quick else card.generate))
        data, rate = city.data, city.truth.rate
    else:
        from cityfocus.data.readers import load_dataset

        data, rate = load_dataset(card.source), None
        if quick and card.quick_zones:  # a slice that keeps the protocol's split valid
            data = data.select_zones(np.arange(min(card.quick_zones, data.shape[1])))
        if quick and card.quick_steps:
            data = data.slice_time(0, min(card.quick_steps, data.shape[0]))
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
