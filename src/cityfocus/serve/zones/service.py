"""One zone in detail for the operator: its recent target beside its usual range, the
forecast the allocation uses with an interval, its neighbours in the graph, and what the
forecaster drew on (attention rollout for attention models, the averaged past steps for the
historical average). Everything comes from the city's cached forecast (``ForecastCache``):
no second read of the observations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from cityfocus.data.citydata import CityData
from cityfocus.data.timestep import format_freq
from cityfocus.data.windows import steps_per_day, time_features
from cityfocus.serve.cities.service import city_state
from cityfocus.serve.decisions.forecast import CityForecast, ForecastCache
from cityfocus.serve.decisions.service import default_horizon
from cityfocus.serve.errors import NotFound
from cityfocus.serve.store.tables import Decision, Outcome

LOW, HIGH = 5.0, 95.0
SOURCES = 5  # source zones listed
STEPS = 24  # past steps listed
PAST = 20  # past decisions listed


def zone_detail(session: Session, cache: ForecastCache, city_name: str, zone: str,
                horizon: int | None, history: int) -> dict[str, Any]:
    """The zone's detail over the last ``history`` stored steps and the ``horizon`` steps
    forecast (default: the city card's decision horizon).

    Raises:
        NotFound: no such city or zone, or the city has no observations.
        Unprocessable: the active model version cannot forecast ``horizon`` steps.
    """
    city = city_state(session, city_name)
    cached = cache.get_for(session, city, horizon or default_horizon(city))
    data = cached.data
    ids = [str(z) for z in data.zones["id"]]
    if zone not in ids:
        raise NotFound(f"no zone {zone!r} in city {city.name!r}")
    i = ids.index(zone)
    names = [str(n) for n in data.zones["name"]]
    row = data.zones.iloc[i]
    usual = UsualRange(data, i)
    past = data.timestamps[max(0, len(data.timestamps) - history):]
    y, m = data.target_values[:, i], data.target_mask[:, i]
    start = len(data.timestamps) - len(past)
    times = cached.forecast.timestamps
    low, mean_usual, high = usual.at(past)
    f_low, _, f_high = usual.at(times)
    card = city.card if isinstance(city.card, dict) else {}
    return {
        "city": city.name,
        "zone": {"id": zone, "name": names[i], "lat": _number(row["lat"]),
                 "lon": _number(row["lon"])},
        "target": data.target, "units": str(card.get("units") or data.target),
        "frequency": format_freq(data.freq),
        "neighbours": _neighbours(data, i, ids, names),
        "history": {"times": [t.to_pydatetime() for t in past],
                    "values": [float(v) if ok else None
                               for v, ok in zip(y[start:], m[start:], strict=True)],
                    "usual": mean_usual, "usual_low": low, "usual_high": high},
        "forecast": {"forecaster": cached.forecaster, "model_version": cached.model_version,
                     "times": [t.to_pydatetime() for t in times],
                     "mean": [float(v) for v in cached.forecast.mean[:, i]],
                     "low": f_low, "high": f_high, "interval": usual.words(),
                     "demand": float(cached.demand[i])},
        "drivers": _drivers(cached, i, ids, names, usual),
        "past": past_decisions(session, city.id, zone),
    }


def past_decisions(session: Session, city_id: int, zone: str,
                   limit: int = PAST) -> list[dict[str, Any]]:
    """The city's last ``limit`` decisions with an outcome, oldest first: this zone's forecast
    demand and share then, and the demand the outcome reported."""
    rows = session.execute(
        select(Decision.id, Decision.result, Outcome.realized)
        .join(Outcome, Outcome.decision_id == Decision.id)
        .where(Decision.city_id == city_id)
        .order_by(Decision.id.desc()).limit(limit)).all()
    past = []
    for decision_id, result, realized in reversed(rows):
        mine = next((z for z in result.get("zones", []) if z.get("zone") == zone), None)
        if mine is None or zone not in realized:
            continue
        past.append({"decision": decision_id, "start": result["forecast"]["start"],
                     "end": result["forecast"]["end"], "forecast": float(mine["demand"]),
                     "given": float(mine["w"]), "realized": float(realized[zone])})
    return past


def _number(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _neighbours(data: CityData, i: int, ids: list[str], names: list[str]) -> list[dict[str, Any]]:
    if data.adjacency is None:
        return []
    weights = np.maximum(np.abs(data.adjacency[i]), np.abs(data.adjacency[:, i]))
    weights[i] = 0
    order = [j for j in np.argsort(-weights, kind="stable") if weights[j] > 0]
    return [{"zone": ids[j], "name": names[j], "weight": float(weights[j])} for j in order]


class UsualRange:
    """A zone's stored target values grouped by the hour and weekday of their step (the
    slots the historical average averages): their mean and 5-95 % range at any time."""

    def __init__(self, data: CityData, zone: int) -> None:
        self.freq = data.freq
        self.slots = steps_per_day(data.freq)
        observed = data.target_mask[:, zone]
        self.values = data.target_values[observed, zone].astype(np.float64)
        self.keys = self._keys(data.timestamps[observed])
        self.times = data.timestamps[observed]

    def _keys(self, times: pd.DatetimeIndex) -> np.ndarray:
        tf = time_features(times, self.freq)
        return np.asarray(tf[:, 0] + self.slots * tf[:, 1], dtype=np.int64)

    def samples(self, time: pd.Timestamp) -> np.ndarray:
        """Indices of the stored values at ``time``'s hour and weekday."""
        key = self._keys(pd.DatetimeIndex([time]))[0]
        return np.flatnonzero(self.keys == key)

    def at(self, times: pd.DatetimeIndex) -> tuple[list[float | None], list[float | None],
                                                   list[float | None]]:
        """(5th percentile, mean, 95th percentile) at each time; None without values."""
        low: list[float | None] = []
        mean: list[float | None] = []
        high: list[float | None] = []
        keys = self._keys(times)
        for key in keys:
            values = self.values[self.keys == key]
            if len(values) == 0:
                low.append(None)
                mean.append(None)
                high.append(None)
                continue
            a, b = np.percentile(values, [LOW, HIGH])
            low.append(float(a))
            mean.append(float(values.mean()))
            high.append(float(b))
        return low, mean, high

    def words(self) -> str:
        weeks = len(np.unique(self.times.normalize())) // 7 if len(self.times) else 0
        same = "weekday" if self.slots == 1 else "hour and weekday"
        return (f"5-95 % of this zone's stored values at the same {same} "
                f"(about {weeks} weeks stored)")


def _drivers(cached: CityForecast, i: int, ids: list[str], names: list[str],
             usual: UsualRange) -> dict[str, Any]:
    if cached.forecast.attention:
        return _attention_drivers(cached, i, ids, names)
    if cached.forecaster == "historical_average":
        first = cached.forecast.timestamps[0]
        picked = usual.samples(first)[-STEPS:]
        share = 1.0 / len(picked) if len(picked) else 0.0
        when = first.strftime("%A %H:%M") if usual.slots > 1 else first.strftime("%A")
        return {"method": "historical average",
                "text": (f"The historical average: the mean of this zone's {len(picked)} "
                         f"stored values on {when}s (the same "
                         f"{'hour and ' if usual.slots > 1 else ''}weekday as the first step "
                         "forecast); no other zone is used."),
                "zones": [{"zone": ids[i], "name": names[i], "share": 1.0}],
                "steps": [{"time": usual.times[k].to_pydatetime(), "share": share}
                          for k in picked]}
    return {"method": "none", "zones": [], "steps": [],
            "text": f"The model {cached.forecaster} has no attention maps to trace its "
                    "forecast to zones and past steps."}


def _attention_drivers(cached: CityForecast, i: int, ids: list[str],
                       names: list[str]) -> dict[str, Any]:
    """Rollout of the forecast's attention (``cityfocus.explain.rollout``) for zone ``i``."""
    from cityfocus.explain.rollout import attribute, recent_span, top_sources

    assert cached.forecast.attention is not None
    attribution = attribute(cached.forecast.attention)
    zones = attribution.zones[i]
    steps = attribution.steps[i]
    lookback = len(steps)
    end = cached.forecast.window_end
    if end is None:
        end = cached.data.timestamps[-1]
    times = pd.date_range(end=end, periods=lookback, freq=cached.data.freq)
    top = top_sources(attribution.zones, i, SOURCES, include_self=True)
    own = float(zones[i])
    others = [j for j in top if j != i][:3]
    listed = ", ".join(f"{names[j]} {100 * zones[j]:.0f} %" for j in others)
    span = recent_span(steps)
    text = (f"Attention rollout: {100 * own:.0f} % of this forecast traces to the zone's own "
            f"inputs" + (f", the most to other zones: {listed}" if listed else "") +
            f"; half of it comes from the last {span} of {lookback} input steps.")
    shown = range(max(0, lookback - STEPS), lookback)
    return {"method": "attention rollout", "text": text,
            "zones": [{"zone": ids[j], "name": names[j], "share": float(zones[j])} for j in top],
            "steps": [{"time": times[t].to_pydatetime(), "share": float(steps[t])}
                      for t in shown]}
