"""Dataset cards: one declarative description per dataset of how it is used.

A card says what a dataset's target measures and in which units, how it is split and
windowed for the forecast benchmark, which decision is made from it (utility family, budget,
the targets scored in turn), the replay defaults, the hyperparameters its benchmark runs use,
the aims a benchmark result is judged against, and the published figures it is compared
with. Benchmarks, the decision benchmark and the replay read the card; nothing branches on a
dataset's name.

Built-in datasets ship their cards in ``cityfocus/data/cards/NAME.toml``. For your own city
write a TOML card beside the data: ``city.csv`` → ``city.card.toml``, a dataset folder →
``FOLDER/card.toml`` (see docs/cards.md). A path without a card gets the default card: no
benchmark protocols, replay defaults of one step, a budget of 10 whole units, alpha 0.5.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cityfocus.data.citydata import CityData
from cityfocus.data.split import Split, chronological_split, split_at
from cityfocus.errors import DataError

BUILT_IN = Path(__file__).with_name("cards")
SPLIT_RULES = ("chronological", "fixed", "tgcn")


@dataclass(frozen=True)
class SplitRule:
    """How a dataset is cut into train, validation and test, in time order.

    Attributes:
        rule: ``chronological`` (shares ``train`` and ``val`` of the steps, the rest test),
            ``fixed`` (train = steps before ``train_end``, validation before ``val_end``, test
            the rest) or ``tgcn`` (T-GCN: the first ``int(0.8 T)`` steps train, their last
            10 % validation, the rest test).
        text: the rule in words, as printed beside results.
    """

    rule: str = "chronological"
    train: float = 0.7
    val: float = 0.1
    train_end: int = 0
    val_end: int = 0
    text: str = "chronological 70/10/20"

    def apply(self, data: CityData) -> Split:
        """The split of ``data``."""
        if self.rule == "fixed":
            return split_at(data, self.train_end, self.val_end)
        if self.rule == "tgcn":
            train_end = int(data.shape[0] * 0.8)
            return split_at(data, train_end - int(train_end * 0.1), train_end)
        return chronological_split(data, train=self.train, val=self.val)


@dataclass(frozen=True)
class ForecastCard:
    """The forecast benchmark's protocol.

    Attributes:
        lookback: L input steps.
        horizons: one model is trained per horizon H.
        split: the split rule.
        target: the target feature (None: the dataset's own).
        categories: a count protocol: one run per category, each the target in turn.
        report_steps: 1-based horizon steps shown in tables besides "all".
        tgcn_windows: test windows inside the test part only, the last one dropped (T-GCN).
        note: a remark printed under the table.
        models: ``{model: make_forecaster keyword arguments}`` for benchmark runs.
    """

    lookback: int
    horizons: tuple[int, ...]
    split: SplitRule = SplitRule()
    target: str | None = None
    categories: tuple[str, ...] = ()
    report_steps: tuple[int, ...] = ()
    tgcn_windows: bool = False
    note: str = ""
    models: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class DecisionCard:
    """The decision made from each forecast, and how the decision benchmark scores it.

    Attributes:
        lookback, horizon, split, target, categories: the data protocol of the decision
            benchmark (demand = the target summed over the horizon).
        task: the allocation: ``family``, ``budget``, ``units``, ``params`` (e.g. alpha).
        targets: the targets scored in turn, each with its own fits (empty: the data's own).
        truth_rate: also score on the planted expected demand (generated cities).
        incidents: demand counts incidents, so the hit rate means something.
        block: decisions per block of the paired moving-block bootstrap.
        decision: one sentence on what a decision is.
        note: remarks printed under the tables.
        models: ``{model: make_forecaster keyword arguments}`` for benchmark runs.
        aims: what a result is judged against, e.g. ``decide_vs_forecast_ratio``,
            ``hit_rate_gain``, ``epoch_cost``.
    """

    lookback: int
    horizon: int
    task: dict[str, Any]
    split: SplitRule = SplitRule()
    target: str | None = None
    categories: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    truth_rate: bool = False
    incidents: bool = True
    block: int = 24
    decision: str = ""
    note: str = ""
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    aims: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplayCard:
    """Replay defaults: data steps per decision, the budget in whole units, coverage alpha."""

    horizon: int = 1
    budget: float = 10.0
    alpha: float = 0.5


@dataclass(frozen=True)
class DatasetCard:
    """Everything cityfocus needs to know about how a dataset is used.

    Attributes:
        name: the dataset's name (a built-in name, or the card's own).
        source: what ``load_dataset`` is given (a name, or a path); for a generated city
            (``generator = "synthetic"``) the generator's keyword arguments are ``generate``.
        description: one line on what the data is.
        units: units of the target.
        generator: ``"synthetic"`` when the data is the built-in generated city (it has a
            planted truth), else None.
        generate, quick_generate: the generator's arguments for full and ``--quick`` runs.
        quick_zones, quick_steps: the slice a ``--quick`` smoke run keeps (0: all).
        forecast, decision: the benchmark protocols (None: not benchmarked).
        replay: replay defaults.
        references: published figures: ``label``, ``source``, ``horizon``, ``metrics``.
        path: the card file it was read from.
    """

    name: str
    source: str
    description: str = ""
    units: str = ""
    generator: str | None = None
    generate: dict[str, Any] = field(default_factory=dict)
    quick_generate: dict[str, Any] = field(default_factory=dict)
    quick_zones: int = 0
    quick_steps: int = 0
    forecast: ForecastCard | None = None
    decision: DecisionCard | None = None
    replay: ReplayCard = ReplayCard()
    references: tuple[dict[str, Any], ...] = ()
    path: Path | None = None


def built_in_cards() -> list[str]:
    """Names of the datasets with a card shipped in cityfocus."""
    return sorted(p.stem for p in BUILT_IN.glob("*.toml"))


def card_path(name_or_path: str | Path) -> Path | None:
    """Where the card of ``name_or_path`` is (None: it has none)."""
    text = str(name_or_path)
    if isinstance(name_or_path, str) and (BUILT_IN / f"{text}.toml").is_file():
        return BUILT_IN / f"{text}.toml"
    candidate = user_card_path(name_or_path)
    return candidate if candidate.is_file() else None


def user_card_path(path: str | Path) -> Path:
    """Where the card of the data at ``path`` belongs: ``FOLDER/card.toml`` for a folder,
    ``NAME.card.toml`` beside a file ``NAME.csv`` (or ``NAME.csv.gz``, ``NAME.parquet``)."""
    path = Path(path)
    if path.is_dir():
        return path / "card.toml"
    return path.with_name(f"{path.name.split('.')[0]}.card.toml")


def load_card(name_or_path: str | Path) -> DatasetCard:
    """The card of a built-in dataset name or a data path (the default card when a path has
    none).

    Raises:
        DataError: an unreadable card or one with an unknown or ill-typed field (naming the
            file and the field).
    """
    path = card_path(name_or_path)
    if path is None:
        return DatasetCard(name=Path(str(name_or_path)).name.split(".")[0] or str(name_or_path),
                           source=str(name_or_path))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise DataError(f"not a readable TOML dataset card ({err})", source=path) from None
    return _card(raw, path, str(name_or_path))


def _card(raw: dict[str, Any], path: Path, source: str) -> DatasetCard:
    reader = _Fields(raw, path, "")
    quick = reader.table("quick")
    forecast, decision = reader.table("forecast"), reader.table("decision")
    replay = reader.table("replay")
    card = DatasetCard(
        name=reader.get("name", str, path.parent.name if path.name == "card.toml"
                        else path.name[: -len(".card.toml")]),
        source=source,
        description=reader.get("description", str, ""),
        units=reader.get("units", str, ""),
        generator=reader.get("generator", str, None),
        generate=reader.get("generate", dict, {}),
        quick_generate=quick.get("generate", dict, {}),
        quick_zones=quick.get("zones", int, 0),
        quick_steps=quick.get("steps", int, 0),
        forecast=None if forecast.empty else ForecastCard(
            lookback=forecast.get("lookback", int),
            horizons=tuple(forecast.get("horizons", list)),
            split=_split(forecast.table("split")),
            target=forecast.get("target", str, None),
            categories=tuple(forecast.get("categories", list, [])),
            report_steps=tuple(forecast.get("report_steps", list, [])),
            tgcn_windows=forecast.get("tgcn_windows", bool, False),
            note=forecast.get("note", str, ""),
            models=forecast.get("models", dict, {}),
        ),
        decision=None if decision.empty else DecisionCard(
            lookback=decision.get("lookback", int),
            horizon=decision.get("horizon", int),
            task=decision.get("task", dict),
            split=_split(decision.table("split")),
            target=decision.get("target", str, None),
            categories=tuple(decision.get("categories", list, [])),
            targets=tuple(decision.get("targets", list, [])),
            truth_rate=decision.get("truth_rate", bool, False),
            incidents=decision.get("incidents", bool, True),
            block=decision.get("block", int, 24),
            decision=decision.get("decision", str, ""),
            note=decision.get("note", str, ""),
            models=decision.get("models", dict, {}),
            aims=decision.get("aims", dict, {}),
        ),
        replay=ReplayCard(horizon=replay.get("horizon", int, 1),
                          budget=float(replay.get("budget", (int, float), 10.0)),
                          alpha=float(replay.get("alpha", (int, float), 0.5))),
        references=tuple(reader.get("references", list, [])),
        path=path,
    )
    for part in (reader, quick, forecast, decision, replay):
        part.check_all_read()
    return card


def _split(fields: _Fields) -> SplitRule:
    if fields.empty:
        return SplitRule()
    rule = fields.get("rule", str)
    if rule not in SPLIT_RULES:
        raise DataError(f"split rule {rule!r} is not one of {', '.join(SPLIT_RULES)}",
                        source=fields.path, column=f"{fields.prefix}rule")
    split = SplitRule(rule=rule, train=float(fields.get("train", (int, float), 0.7)),
                      val=float(fields.get("val", (int, float), 0.1)),
                      train_end=fields.get("train_end", int, 0),
                      val_end=fields.get("val_end", int, 0),
                      text=fields.get("text", str, rule))
    fields.check_all_read()
    return split


_MISSING = object()


class _Fields:
    """Typed reads of one TOML table; unknown keys are an error naming the field."""

    def __init__(self, raw: dict[str, Any], path: Path, prefix: str) -> None:
        self.raw, self.path, self.prefix = raw, path, prefix
        self.read: set[str] = set()
        self.empty = not raw

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        self.read.add(key)
        if key not in self.raw:
            if default is _MISSING:
                raise DataError(f"missing field {self.prefix}{key}", source=self.path)
            return default
        value = self.raw[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else
                                                    (kind,)))
            raise DataError(f"field {self.prefix}{key} must be {names}, got {value!r}",
                            source=self.path)
        return value

    def table(self, key: str) -> _Fields:
        return _Fields(self.get(key, dict, {}), self.path, f"{self.prefix}{key}.")

    def check_all_read(self) -> None:
        unknown = sorted(set(self.raw) - self.read)
        if unknown:
            raise DataError(f"unknown field {self.prefix}{unknown[0]}", source=self.path,
                            hint="see docs/cards.md for the fields a card has")
