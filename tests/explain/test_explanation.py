"""Explanation text and records from a hand-made forecast (attention chosen by hand)."""

import numpy as np
import pandas as pd

from cityfocus.allocate import AllocationProblem, solve
from cityfocus.data.synthetic import synthetic_city
from cityfocus.explain import explain_allocation
from cityfocus.explain.formatting import distinct, duration, number, ordinal, plural
from cityfocus.models.forecast import Forecast


def hand_made(n=4, lookback=6, horizon=2):
    """Zone 0 draws everything from zone 2; every zone's summary reads its last 2 steps."""
    data = synthetic_city(n_zones=n, days=3, seed=1).data
    at = 48
    temporal = np.zeros((n, 1, lookback, lookback))
    temporal[..., -2:] = 0.5
    spatial = np.broadcast_to(np.eye(n), (1, n, n)).copy()
    spatial[0, 0] = [0.0, 0.0, 1.0, 0.0]
    mean = np.tile([[3.0, 1.0, 0.5, 0.2]], (horizon, 1))
    times = pd.DatetimeIndex([data.timestamps[at + h] for h in range(horizon)])
    forecast = Forecast(mean, times, list(data.zones["id"]), data.timestamps[at - 1],
                        {"temporal": [temporal], "spatial": [spatial]})
    return data, at, forecast


def test_paragraph_names_units_forecast_drivers_price_and_sensitivity():
    data, at, forecast = hand_made()
    problem = AllocationProblem(forecast.mean.sum(0), 5, "coverage", alpha=0.5, units=True)
    allocation = solve(problem)
    expl = explain_allocation(data, at, forecast, problem, allocation)
    first = expl.zones[0]
    assert first.index == 0 and first.w == allocation.w[0] == allocation.w.max()
    text = first.text
    assert text.startswith(f"Zone 0 gets {int(allocation.w[0])} of 5 units: forecast 6.0 "
                           "incidents over the next 2 h")
    assert "rank 1 of 4 (top 25 %)" in text
    assert "driven by Zone 2 (50%)" in text and "its own history (50%)" in text
    assert "mostly over the last 1 h" in text
    assert "the city-wide price" in text
    assert (f"would gain a {ordinal(int(allocation.w[0]) + 1)} unit if its forecast rose "
            "above") in text
    assert number(expl.view.gain_at[0]) in text
    assert first.drivers[0] == ("z02", 0.5)
    # a zone without units says so, and what a first unit would do
    none = [z for z in expl.zones if z.w == 0]
    assert none and all("gets none of 5 units" in z.text and "A first unit" in z.text
                        for z in none)
    # actual: the data holds the realised target at these steps
    np.testing.assert_allclose(first.actual, data.target_values[at:at + 2, 0].sum())


def test_shares_say_percent_and_price_equality():
    data, at, forecast = hand_made()
    problem = AllocationProblem(forecast.mean.sum(0), 1.0, "log", alpha=4.0)
    expl = explain_allocation(data, at, forecast, problem, solve(problem))
    first = expl.zones[0]
    assert f"gets {first.share:.1%} of the budget" in first.text
    assert "equals the city-wide price" in first.text
    row = first.to_row()
    assert row["zone"] == "z00" and row["explanation"] == first.text


def test_no_attention_no_drivers():
    data, at, forecast = hand_made()
    plain = Forecast(forecast.mean, forecast.timestamps, forecast.zones, forecast.window_end)
    problem = AllocationProblem(plain.mean.sum(0), 3, "coverage", units=True)
    expl = explain_allocation(data, at, plain, problem, solve(problem))
    assert expl.attribution is None
    assert all("driven by" not in z.text and z.drivers == [] for z in expl.zones)


def test_formatting_helpers():
    assert [number(v) for v in (4.123, 0.314, 1250.0, 0.0042)] == ["4.1", "0.31", "1,250",
                                                                   "0.0042"]
    assert duration(pd.Timedelta(hours=3)) == "3 h"
    assert duration(pd.Timedelta(days=2)) == "2 days"
    assert duration(pd.Timedelta(minutes=15)) == "15 min"
    assert [ordinal(k) for k in (1, 2, 3, 4, 11, 12, 21)] == ["1st", "2nd", "3rd", "4th",
                                                              "11th", "12th", "21st"]
    assert duration(pd.Timedelta(days=1)) == "1 day"


def test_plurals():
    assert [plural(k, "unit") for k in (0, 1, 2, 1.0, 2.0)] == [
        "0 units", "1 unit", "2 units", "1 unit", "2 units"]
    assert plural(1, "zone") == "1 zone" and plural(3, "zone") == "3 zones"
    assert plural(1250, "unit") == "1,250 units"


def test_distinct_prints_deciding_pairs_apart():
    # number() prints both as 1.0; the pair needs one more digit
    assert number(1.041) == number(1.044) == "1.0"
    assert distinct(1.041, 1.044) == ["1.041", "1.044"]
    assert distinct(1.04, 1.03) == ["1.04", "1.03"]
    assert distinct(4.1, 9.7) == ["4.1", "9.7"]  # already apart: no extra digits
    assert distinct(2.5, 2.5) == ["2.5", "2.5"]  # equal values stay equal
    assert distinct(1250.0, 1250.4) == ["1,250.0", "1,250.4"]
    assert distinct(0.0421, 0.0423) == ["0.0421", "0.0423"]
    # across a rounding boundary "0.10" and "0.1" would read as the same number
    low, high = distinct(0.0999, 0.1001)
    assert float(low) != float(high)
    assert distinct(1.0, float("nan"), 1.0 + 1e-3) == ["1.000", "n/a", "1.001"]
    rng = np.random.default_rng(0)
    for a, b in rng.uniform(0, 50, size=(200, 2)).round(6):
        ta, tb = distinct(a, b)
        assert (float(ta.replace(",", "")) == float(tb.replace(",", ""))) == (a == b)


def test_paragraph_tells_a_close_next_unit_from_the_price():
    from cityfocus.explain.narrative import ZoneFacts, paragraph

    facts = ZoneFacts(name="Zone 3", demand=2.62, rank=5, n_zones=6, horizon="over 2 h",
                      target="incidents", w=0.0, budget=1.0, units=True, family="coverage",
                      next_gain=1.0412, last_gain=float("inf"), price=1.0449,
                      gain_at=2.64, lose_at=float("nan"), step=1.0, drivers=[],
                      own_weight=None, recent=None, recent_share=None)
    text = paragraph(facts)
    assert "gets none of 1 unit:" in text
    assert "would intercept 1.041 expected incidents" in text
    assert "would intercept 1.045 expected incidents (the city-wide price)" in text
    # the forecast and the demand at which the zone would gain a unit read apart too
    assert "forecast 2.62 incidents" in text and "rose above 2.64 (+1%)" in text


def test_figures_without_coordinates_or_attention():
    from cityfocus.data.citydata import CityData
    from cityfocus.explain.allocation_map import zone_positions
    from cityfocus.explain.figures import all_figures

    data, at, forecast = hand_made()
    bare = CityData(data.values, data.timestamps, mask=data.mask, features=data.features,
                    target=data.target, adjacency=data.adjacency, name="bare")
    xy, geographic = zone_positions(bare)
    assert not geographic and np.allclose(np.hypot(xy[:, 0], xy[:, 1]), 1.0)
    assert zone_positions(data)[1]
    plain = Forecast(forecast.mean, forecast.timestamps, forecast.zones, forecast.window_end)
    problem = AllocationProblem(plain.mean.sum(0), 3, "coverage", units=True)
    expl = explain_allocation(bare, at, plain, problem, solve(problem))
    figures = all_figures(bare, at, expl)
    assert sorted(figures) == ["allocation.png", "forecast.png"]
    assert all(png.startswith(b"\x89PNG") and len(png) > 5000 for png in figures.values())
