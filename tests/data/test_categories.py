"""Stacking count categories into one problem and back."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.data.categories import stack_categories, unstack
from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError


def city() -> CityData:
    rng = np.random.default_rng(0)
    values = rng.poisson(1.0, size=(10, 3, 3)).astype(np.float32)
    mask = rng.random((10, 3, 3)) > 0.1
    adjacency = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)
    return CityData(values, np.arange(10) * np.timedelta64(1, "D") + np.datetime64("2024-01-01"),
                    mask=mask, zones=["a", "b", "c"], features=("burglary", "robbery", "other"),
                    target="burglary", adjacency=adjacency)


def test_each_stacked_zone_forecasts_its_own_category_from_its_zones_categories() -> None:
    data = city()
    stacked = stack_categories(data, ["burglary", "robbery"])
    assert stacked.shape == (10, 6, 3) and stacked.target == "count"
    assert list(stacked.zones["id"]) == ["a:burglary", "b:burglary", "c:burglary",
                                         "a:robbery", "b:robbery", "c:robbery"]
    for c, name in enumerate(["burglary", "robbery"]):
        f = data.features.index(name)
        for i in range(3):
            k = c * 3 + i
            np.testing.assert_array_equal(stacked.values[:, k, 0] * stacked.mask[:, k, 0],
                                          data.values[:, i, f] * data.mask[:, i, f])
            np.testing.assert_array_equal(stacked.mask[:, k, 0], data.mask[:, i, f])
            np.testing.assert_array_equal(stacked.values[:, k, 1:] * stacked.mask[:, k, 1:],
                                          (data.values[:, i, :2] * data.mask[:, i, :2]))
    a = stacked.adjacency
    assert a is not None
    assert a[0, 1] == 1 and a[3, 4] == 1 and a[0, 4] == 0  # the graph within a category
    assert a[0, 3] == 1 and a[1, 4] == 1  # a zone's categories linked


def test_unstack_inverts_the_order() -> None:
    forecasts = np.arange(2 * 6).reshape(2, 6)  # [S, C*N] with C=2, N=3
    back = unstack(forecasts, 2)
    assert back.shape == (2, 3, 2)
    assert back[0, 1, 0] == forecasts[0, 1] and back[0, 1, 1] == forecasts[0, 4]
    with pytest.raises(DataError):
        unstack(np.zeros((2, 5)), 2)


def test_unknown_categories_are_refused() -> None:
    with pytest.raises(DataError, match="larceny"):
        stack_categories(city(), ["burglary", "larceny"])
