"""The forecast seam: ``forecast_for(session, city, horizon)`` is the one place the service
turns stored observations into a forecast. Today it fits the historical average
(``cityfocus.models``) on everything stored; model versions slot in here later.

``ForecastCache`` keeps the last forecast per city in process memory, keyed by the city's
``data_version`` (bumped by every ingest), the horizon and the forecaster, so a what-if
re-solves on it without reading the observations again.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from cityfocus.data.citydata import CityData
from cityfocus.models.baselines import HistoricalAverage
from cityfocus.models.forecast import Forecast
from cityfocus.serve.cities.service import city_data, get_city

FORECASTER = "historical_average"


@dataclass(frozen=True)
class CityForecast:
    """A forecast of a city's target over ``horizon`` steps after its last stored step.

    Attributes:
        data: the stored observations it was fitted on.
        forecast: ``mean [H, N]`` and its timestamps.
        demand: ``[N]`` the forecast summed over the horizon (clipped at 0): the allocation's
            demand.
        data_sha256: SHA-256 of the data (times, values, mask, zones, features, target).
        data_version: the city's ``data_version`` it was read at.
    """

    city: str
    forecaster: str
    horizon: int
    data: CityData
    forecast: Forecast
    demand: np.ndarray
    data_sha256: str
    data_version: int


def data_digest(data: CityData) -> str:
    """SHA-256 of everything a forecast of ``data`` depends on."""
    digest = hashlib.sha256()
    digest.update(np.asarray(data.timestamps.asi8, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(data.values).tobytes())
    digest.update(np.packbits(data.mask).tobytes())
    for part in (list(data.zones["id"]), list(data.features), [data.target]):
        digest.update(("\x1f".join(str(p) for p in part) + "\x1e").encode("utf-8"))
    return digest.hexdigest()


def forecast_for(session: Session, city_name: str, horizon: int,
                 forecaster: str = FORECASTER) -> CityForecast:
    """Fit ``forecaster`` on the city's stored observations and forecast the ``horizon``
    steps after the last stored step.

    Raises:
        NotFound: no such city, or it has no observations yet.
    """
    if forecaster != FORECASTER:  # the model registry comes later
        raise ValueError(f"unknown forecaster {forecaster!r}")
    city = get_city(session, city_name)
    version = city.data_version
    data = city_data(session, city)
    model = HistoricalAverage(horizon=horizon).fit(data)
    forecast = model.predict(data)
    demand = np.clip(forecast.mean.astype(np.float64), 0, None).sum(axis=0)
    return CityForecast(city=city.name, forecaster=forecaster, horizon=horizon, data=data,
                        forecast=forecast, demand=demand, data_sha256=data_digest(data),
                        data_version=version)


class ForecastCache:
    """The last forecast per city (thread-safe), reused while the city's data is unchanged."""

    def __init__(self) -> None:
        self._last: dict[str, CityForecast] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, city_name: str, horizon: int,
            forecaster: str = FORECASTER) -> CityForecast:
        version = get_city(session, city_name).data_version
        with self._lock:
            cached = self._last.get(city_name)
        if (cached is not None and cached.data_version == version
                and cached.horizon == horizon and cached.forecaster == forecaster):
            return cached
        fresh = forecast_for(session, city_name, horizon, forecaster)
        with self._lock:
            self._last[city_name] = fresh
        return fresh

    def clear(self) -> None:
        with self._lock:
            self._last.clear()
