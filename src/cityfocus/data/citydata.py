"""CityData: the one in-memory form of city data, validated on construction.

Values are ``[T, N, F]`` float32 (time steps x zones x features) with an observed-mask of
the same shape. An unobserved entry holds 0.0 in ``values`` (never NaN), so arrays can go
straight into numpy or torch; the mask is the only truth about what was observed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from cityfocus.data.timestep import format_freq, most_common_gap, parse_freq
from cityfocus.errors import DataError

__all__ = ["ZONE_COLUMNS", "CityData", "format_freq"]

ZONE_COLUMNS = ("id", "name", "lat", "lon")

# ``[T]`` time stamps in any form pandas reads as dates
Timestamps: TypeAlias = pd.Index | pd.Series | np.ndarray | list[Any] | tuple[Any, ...]


def _zone_table(zones: pd.DataFrame | Sequence[str] | None, n: int, source: str) -> pd.DataFrame:
    """Normalise a zone table to columns ``id, name, lat, lon`` (ids unique strings)."""
    if zones is None:
        zones = [str(i) for i in range(n)]
    if not isinstance(zones, pd.DataFrame):
        zones = pd.DataFrame({"id": [str(z) for z in zones]})
    if "id" not in zones.columns:
        raise DataError("zone table has no 'id' column", source=source)
    table = pd.DataFrame({"id": zones["id"].astype(str).to_numpy()})
    if len(table) != n:
        raise DataError(f"zone table has {len(table)} rows, values have {n} zones", source=source)
    duplicated = table["id"][table["id"].duplicated()].unique()
    if len(duplicated):
        ids = ", ".join(repr(z) for z in duplicated)
        raise DataError(f"zone ids appear more than once: {ids}", source=source)
    names = zones["name"] if "name" in zones.columns else table["id"]
    table["name"] = pd.Series(names).astype(str).to_numpy()
    for col in ("lat", "lon"):
        raw = zones[col] if col in zones.columns else np.full(n, np.nan)
        table[col] = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
    return table


class CityData:
    """Spatio-temporal city data with its observed-mask, zones, graph and target.

    Args:
        values: ``[T, N, F]`` measurements; cast to float32. NaN marks a missing reading
            when ``mask`` is not given.
        timestamps: ``[T]`` time stamps at one fixed frequency, strictly increasing.
        mask: ``[T, N, F]`` bool, True where observed. Default: ``isfinite(values)``.
        zones: zone table (columns ``id`` and optionally ``name``, ``lat``, ``lon``) or a
            list of zone ids. Default: ``"0" .. "N-1"``.
        features: ``F`` feature names. Default: ``"f0" ..``.
        target: the feature that measures need (what allocations are driven by).
            Default: the first feature.
        adjacency: optional ``[N, N]`` non-negative weights (row i, column j: link i -> j).
        freq: the step between timestamps; required when ``T == 1``, else inferred.
        name: a short name for messages and reports.
        meta: free-form provenance (source files, dropped zones, units).

    Raises:
        DataError: on any shape, dtype, timestamp, value or adjacency problem.
    """

    def __init__(
        self,
        values: np.ndarray,
        timestamps: Timestamps,
        *,
        mask: np.ndarray | None = None,
        zones: pd.DataFrame | Sequence[str] | None = None,
        features: Sequence[str] | None = None,
        target: str | None = None,
        adjacency: np.ndarray | None = None,
        freq: str | pd.Timedelta | None = None,
        name: str = "city",
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.meta = dict(meta or {})
        values = np.asarray(values)
        if values.ndim != 3:
            raise DataError(f"values must be [T, N, F], got shape {values.shape}", source=name)
        if values.size == 0 or 0 in values.shape:
            raise DataError(f"dataset is empty (shape {values.shape})", source=name)
        if not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
            raise DataError(f"values must be numeric, got dtype {values.dtype}", source=name)
        values = values.astype(np.float32, copy=True)
        if mask is None:
            mask = np.isfinite(values)
        mask = np.asarray(mask)
        if mask.shape != values.shape:
            raise DataError(f"mask shape {mask.shape} != values shape {values.shape}", source=name)
        if mask.dtype != bool:
            raise DataError(f"mask must be bool, got dtype {mask.dtype}", source=name)
        T, N, F = values.shape
        self.timestamps, self.freq = _check_timestamps(timestamps, T, freq, name)
        self.zones = _zone_table(zones, N, name)
        self.features = _check_features(features, F, name)
        bad = mask & ~np.isfinite(values)
        if bad.any():
            t, n, f = (int(i[0]) for i in np.nonzero(bad))
            raise DataError(
                f"non-finite value {values[t, n, f]} marked observed at {self.timestamps[t]}, "
                f"zone {self.zones['id'].iloc[n]!r}, feature {self.features[f]!r}",
                source=name,
                hint="set its mask to False or give NaN without a mask",
            )
        values[~mask] = 0.0
        self.values: np.ndarray = values
        self.mask: np.ndarray = mask.copy()
        self.target = self.features[0] if target is None else target
        if self.target not in self.features:
            raise DataError(
                f"target {self.target!r} is not a feature; features are {list(self.features)}",
                source=name,
            )
        self.adjacency = _check_adjacency(adjacency, self.zones["id"].tolist(), name)

    # -- shape ---------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, N, F)``."""
        T, N, F = self.values.shape
        return T, N, F

    @property
    def target_index(self) -> int:
        return self.features.index(self.target)

    @property
    def target_values(self) -> np.ndarray:
        """``[T, N]`` values of the target feature (0 where unobserved)."""
        return self.values[:, :, self.target_index]

    @property
    def target_mask(self) -> np.ndarray:
        """``[T, N]`` observed-mask of the target feature."""
        return self.mask[:, :, self.target_index]

    def missing_share(self) -> float:
        """Share of ``[T, N, F]`` entries that were not observed."""
        return float(1.0 - self.mask.mean())

    # -- derived datasets ----------------------------------------------------------------
    def slice_time(self, start: int, stop: int) -> CityData:
        """Time steps ``start:stop`` (a chronological piece, same zones and graph)."""
        T = self.shape[0]
        start, stop, _ = slice(start, stop).indices(T)
        if stop <= start:
            raise DataError(f"empty time slice {start}:{stop} of {T} steps", source=self.name)
        return self.replace(
            values=self.values[start:stop],
            mask=self.mask[start:stop],
            timestamps=self.timestamps[start:stop],
        )

    def select_zones(self, index: Sequence[int] | np.ndarray) -> CityData:
        """Keep the zones at ``index`` (in that order), with the matching adjacency block."""
        index = np.asarray(index, dtype=np.int64)
        adjacency = None if self.adjacency is None else self.adjacency[np.ix_(index, index)]
        return self.replace(
            values=self.values[:, index],
            mask=self.mask[:, index],
            zones=self.zones.iloc[index].reset_index(drop=True),
            adjacency=adjacency,
        )

    def replace(self, **changes: Any) -> CityData:
        """A new, validated CityData with some fields changed (e.g. ``target=``,
        ``adjacency=None``, or new ``values``/``mask``/``timestamps``); the rest is shared."""
        fields: dict[str, Any] = {
            "values": self.values,
            "timestamps": self.timestamps,
            "mask": self.mask,
            "zones": self.zones,
            "features": self.features,
            "target": self.target,
            "adjacency": self.adjacency,
            "freq": self.freq,
            "name": self.name,
            "meta": self.meta,
        }
        fields.update(changes)
        values = fields.pop("values")
        timestamps = fields.pop("timestamps")
        return CityData(values, timestamps, **fields)

    # -- comparison ----------------------------------------------------------------------
    def append_time(self, later: CityData) -> CityData:
        """This data followed by ``later`` (same zones and features, starting one step after
        this data ends)."""
        if later.timestamps[0] != self.timestamps[-1] + self.freq:
            raise DataError(
                f"{later.name} must start one step after {self.name} ends "
                f"({self.timestamps[-1] + self.freq})",
                source=later.name,
            )
        if later.shape[1:] != self.shape[1:] or later.features != self.features:
            raise DataError(
                f"{later.name} has other zones or features than {self.name}", source=later.name
            )
        return self.replace(
            values=np.concatenate([self.values, later.values]),
            mask=np.concatenate([self.mask, later.mask]),
            timestamps=self.timestamps.append(later.timestamps),
        )

    def equals(self, other: CityData) -> bool:
        """Exact equality of every array, label and the graph (``meta`` aside)."""
        if not isinstance(other, CityData) or self.shape != other.shape:
            return False
        same_adj = (self.adjacency is None and other.adjacency is None) or (
            self.adjacency is not None
            and other.adjacency is not None
            and np.array_equal(self.adjacency, other.adjacency)
        )
        return (
            np.array_equal(self.values, other.values)
            and np.array_equal(self.mask, other.mask)
            and self.timestamps.equals(other.timestamps)
            and self.freq == other.freq
            and self.zones.equals(other.zones)
            and self.features == other.features
            and self.target == other.target
            and same_adj
            and self.name == other.name
        )

    def __repr__(self) -> str:
        T, N, F = self.shape
        return (
            f"CityData({self.name!r}, T={T}, N={N}, F={F}, freq={format_freq(self.freq)}, "
            f"{self.timestamps[0]} .. {self.timestamps[-1]}, target={self.target!r}, "
            f"missing={self.missing_share():.1%}, graph={self.adjacency is not None})"
        )


def _check_timestamps(
    timestamps: Timestamps, T: int, freq: Any, name: str
) -> tuple[pd.DatetimeIndex, pd.Timedelta]:
    try:
        index = pd.DatetimeIndex(timestamps)
    except (TypeError, ValueError) as err:
        raise DataError(f"timestamps are not dates: {err}", source=name) from None
    if len(index) != T:
        raise DataError(f"{len(index)} timestamps for {T} time steps", source=name)
    if index.hasnans:
        raise DataError(f"missing timestamp at step {int(np.argmax(index.isna()))}", source=name)
    index = index.as_unit("ns")
    steps = np.diff(index.asi8)
    if len(steps) and (steps <= 0).any():
        i = int(np.argmax(steps <= 0)) + 1
        problem = "duplicated" if steps[i - 1] == 0 else "out of order"
        raise DataError(f"timestamp {index[i]} at step {i} is {problem}", source=name)
    if freq is not None:
        step = parse_freq(freq, name)
    elif len(steps):
        step = pd.Timedelta(most_common_gap(steps)[0], unit="ns")
    else:
        raise DataError("a single time step needs an explicit freq", source=name)
    irregular = np.nonzero(steps != step.value)[0]
    if len(irregular):
        i = int(irregular[0]) + 1
        raise DataError(
            f"irregular timestamps: {index[i]} (step {i}) is "
            f"{format_freq(pd.Timedelta(int(steps[i - 1])))} after the previous one, "
            f"expected {format_freq(step)}",
            source=name,
            hint="resample to a fixed frequency; missing steps become missing readings",
        )
    index.freq = None  # type: ignore[misc]  # pandas-stubs declare freq read-only; it is not
    return index, step


def _check_features(features: Sequence[str] | None, F: int, name: str) -> tuple[str, ...]:
    feats = tuple(f"f{i}" for i in range(F)) if features is None else tuple(map(str, features))
    if len(feats) != F:
        raise DataError(f"{len(feats)} feature names for {F} features", source=name)
    if len(set(feats)) != F:
        raise DataError(f"duplicated feature names in {list(feats)}", source=name)
    return feats


def _check_adjacency(
    adjacency: np.ndarray | None, zone_ids: list[str], name: str
) -> np.ndarray | None:
    if adjacency is None:
        return None
    N = len(zone_ids)
    adj = np.asarray(adjacency, dtype=np.float32)
    if adj.shape != (N, N):
        raise DataError(f"adjacency must be [{N}, {N}] for {N} zones, got {adj.shape}", source=name)
    for problem, bad in (("non-finite", ~np.isfinite(adj)), ("negative", adj < 0)):
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            raise DataError(
                f"{problem} adjacency weight {adj[i, j]} from zone {zone_ids[i]!r} to zone "
                f"{zone_ids[j]!r}",
                source=name,
                hint="weights are >= 0; 0 means no link",
            )
    return adj
