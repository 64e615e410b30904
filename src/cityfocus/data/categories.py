"""Several count categories (burglary, robbery, …) of one city as one forecasting problem.

``stack_categories`` turns a city with ``C`` category features into a city of ``C x N``
zones, one per (category, zone): each sees every category of its own zone as input features
(so a model learns how categories move together) and forecasts its own category's count
(target ``count``). The road/zone graph links (c, i) to (c, j) as the original graph links i
to j, and the C categories of one zone to each other (weight 1). A single spatio-temporal
model fitted on it is one joint model for all categories — the same spatial and temporal
attention, with category interactions through the zone's features and the cross-category
links — and ``unstack`` brings its ``[..., C x N]`` forecasts back to ``[..., N, C]``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError

TARGET = "count"


def stack_categories(data: CityData, categories: Sequence[str]) -> CityData:
    """One zone per (category, zone), category-major (zone ``c * N + i`` is category c of
    zone i), features ``count`` then the categories; see the module docstring."""
    missing = [c for c in categories if c not in data.features]
    if not categories or missing:
        raise DataError(f"categories {list(categories)}: {missing or 'none'} not among the "
                        f"features {list(data.features)}", source=data.name)
    index = [data.features.index(c) for c in categories]
    t_count, n = data.shape[0], data.shape[1]
    k = len(categories)
    per_zone = data.values[:, :, index]  # [T, N, C]
    per_mask = data.mask[:, :, index]
    inputs = np.tile(per_zone, (1, k, 1))  # [T, C*N, C]: every category of the zone
    input_mask = np.tile(per_mask, (1, k, 1))
    own = per_zone.transpose(0, 2, 1).reshape(t_count, k * n, 1)  # [T, C*N, 1]
    own_mask = per_mask.transpose(0, 2, 1).reshape(t_count, k * n, 1)
    values = np.concatenate([own, inputs], axis=-1)
    mask = np.concatenate([own_mask, input_mask], axis=-1)
    zones = data.zones
    table = pd.DataFrame({
        "id": [f"{z}:{c}" for c in categories for z in zones["id"]],
        "name": [f"{z} ({c})" for c in categories for z in zones["name"]],
        "lat": np.tile(zones["lat"].to_numpy(dtype=float), k),
        "lon": np.tile(zones["lon"].to_numpy(dtype=float), k)})
    adjacency = None
    if data.adjacency is not None:
        same_zone = np.ones((k, k)) - np.eye(k)
        adjacency = np.kron(np.eye(k), data.adjacency) + np.kron(same_zone, np.eye(n))
    return CityData(values, data.timestamps, mask=mask, zones=table,
                    features=(TARGET, *categories), target=TARGET, adjacency=adjacency,
                    freq=data.freq, name=f"{data.name}[{'+'.join(categories)}]")


def unstack(values: np.ndarray, categories: int) -> np.ndarray:
    """``[..., C x N]`` (category-major) → ``[..., N, C]``."""
    values = np.asarray(values)
    n = values.shape[-1] // categories
    if n * categories != values.shape[-1]:
        raise DataError(f"{values.shape[-1]} stacked zones are not {categories} categories "
                        "of whole zones")
    return np.moveaxis(values.reshape(*values.shape[:-1], categories, n), -2, -1)
