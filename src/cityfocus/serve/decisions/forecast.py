"""The forecast seam: ``forecast_for(session, city, horizon)`` is the one place the service
turns stored observations into a forecast. It uses the city's active model version
(``cityfocus.serve.models``) when there is one, else the default: the historical average
(``cityfocus.models``) fitted on everything stored. A historical-average version is refitted
here (numpy); a neural version predicts in a child process (``models.predict``), so this
process never loads torch.

``ForecastCache`` keeps the last forecast per city in process memory, keyed by the city's
``data_version`` (bumped by every ingest), the horizon and the active version, so a what-if
re-solves on it without reading the observations again.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from sqlalchemy.orm import Session

from cityfocus.data.citydata import CityData
from cityfocus.data.faults import SensorCheck
from cityfocus.models.baselines import HistoricalAverage
from cityfocus.models.forecast import Forecast
from cityfocus.serve.cities.service import CityState, city_data, city_state, get_city
from cityfocus.serve.errors import Unprocessable
from cityfocus.serve.models.predict import predict_in_child
from cityfocus.serve.models.service import active_version
from cityfocus.serve.store.tables import ModelVersion

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
        model_version: the active model version used (None: the default forecaster);
            ``model_version_id`` its row id, ``checkpoint_sha256`` its checkpoint's hash.
        masked_readings: stored target readings the sensor check flagged (stuck runs,
            spikes) and the forecast therefore treated as missing.
    """

    city: str
    forecaster: str
    horizon: int
    data: CityData
    forecast: Forecast
    demand: np.ndarray
    data_sha256: str
    data_version: int
    model_version: int | None = None
    model_version_id: int | None = None
    checkpoint_sha256: str | None = None
    masked_readings: int = 0

    # what every answer on this forecast repeats, worked out once (each request used to
    # read them from the zones table and rank the demand again)
    @cached_property
    def zone_ids(self) -> list[str]:
        return [str(z) for z in self.data.zones["id"]]

    @cached_property
    def zone_names(self) -> list[str]:
        return [str(z) for z in self.data.zones["name"]]

    @cached_property
    def zone_position(self) -> dict[str, int]:
        return {z: i for i, z in enumerate(self.zone_ids)}

    @cached_property
    def ranks(self) -> list[int]:
        """Each zone's rank by demand, 1 the highest (ties in zone order)."""
        order = np.argsort(-self.demand, kind="stable")
        rank = np.empty(len(self.demand), dtype=int)
        rank[order] = np.arange(1, len(self.demand) + 1)
        return [int(r) for r in rank]


def data_digest(data: CityData) -> str:
    """SHA-256 of everything a forecast of ``data`` depends on."""
    digest = hashlib.sha256()
    digest.update(np.asarray(data.timestamps.asi8, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(data.values).tobytes())
    digest.update(np.packbits(data.mask).tobytes())
    for part in (list(data.zones["id"]), list(data.features), [data.target]):
        digest.update(("\x1f".join(str(p) for p in part) + "\x1e").encode("utf-8"))
    return digest.hexdigest()


def forecast_for(session: Session, city_name: str, horizon: int) -> CityForecast:
    """Forecast the ``horizon`` steps after the city's last stored step with its active model
    version (else the historical average fitted on everything stored).

    Raises:
        NotFound: no such city, or it has no observations yet.
        Unprocessable: the active version forecasts fewer steps than ``horizon``, or it
            cannot forecast this data (its one-line reason).
    """
    city = get_city(session, city_name)
    version = active_version(session, city)
    data_version = city.data_version
    data, masked = checked_readings(city_data(session, city))
    if version is None or version.forecaster == FORECASTER:
        weekly = True if version is None else bool(version.params.get("weekly", True))
        model = HistoricalAverage(horizon=horizon, weekly=weekly).fit(data)
        forecast = model.predict(data)
    else:
        forecast = _neural_forecast(version, data, horizon)
    demand = np.clip(forecast.mean.astype(np.float64), 0, None).sum(axis=0)
    return CityForecast(
        city=city.name, forecaster=FORECASTER if version is None else version.forecaster,
        horizon=horizon, data=data, forecast=forecast, demand=demand,
        data_sha256=data_digest(data), data_version=data_version,
        model_version=None if version is None else version.version,
        model_version_id=None if version is None else version.id,
        checkpoint_sha256=None if version is None else version.checkpoint_sha256,
        masked_readings=masked)


def checked_readings(data: CityData) -> tuple[CityData, int]:
    """``data`` with the target readings ``SensorCheck`` flags — stuck runs and spikes, judged
    against the city's own stored history — masked out (treated as missing), and how many
    there were. Every forecast the service makes goes through this check, so a broken sensor
    that keeps sending readings does not steer decisions."""
    k = data.target_index
    values, mask = data.values[:, :, k], data.mask[:, :, k]
    keep = SensorCheck().fit(values, mask).clean(values, mask)
    flagged = int((mask & ~keep).sum())
    if flagged == 0:
        return data, 0
    new_values, new_mask = data.values.copy(), data.mask.copy()
    new_mask[:, :, k] = keep
    new_values[:, :, k] = np.where(keep, values, 0.0)
    return data.replace(values=new_values, mask=new_mask), flagged


def _neural_forecast(version: ModelVersion, data: CityData, horizon: int) -> Forecast:
    """The first ``horizon`` steps of a neural version's forecast (made in a child process)."""
    trained = int(version.params.get("horizon", 0))
    if horizon > trained:
        raise Unprocessable(f"the active model version {version.version} ({version.forecaster}) "
                            f"forecasts {trained} steps; ask for a horizon of at most {trained}",
                            ["body", "horizon"])
    forecast = predict_in_child(version.checkpoint, data)
    return Forecast(forecast.mean[:horizon], forecast.timestamps[:horizon], forecast.zones,
                    forecast.window_end, forecast.attention)


class ForecastCache:
    """The last forecast per city (thread-safe), reused while the city's data is unchanged."""

    def __init__(self) -> None:
        self._last: dict[str, CityForecast] = {}
        self._making: dict[str, threading.Lock] = {}  # per city: held while forecasting
        self._lock = threading.Lock()

    def get(self, session: Session, city_name: str, horizon: int) -> CityForecast:
        return self.get_for(session, city_state(session, city_name), horizon)

    def get_for(self, session: Session, city: CityState, horizon: int) -> CityForecast:
        """The forecast for ``city`` as just read (``city_state``): the cached one while its
        data version, horizon and active model version are unchanged, else a fresh one.
        Requests that miss together wait for one forecast (made once, not once each)."""
        cached = self._fresh(city, horizon)
        if cached is not None:
            return cached
        with self._lock:
            making = self._making.setdefault(city.name, threading.Lock())
        with making:
            cached = self._fresh(city, horizon)  # made while this request waited
            if cached is not None:
                return cached
            fresh = forecast_for(session, city.name, horizon)
            with self._lock:
                self._last[city.name] = fresh
        return fresh

    def _fresh(self, city: CityState, horizon: int) -> CityForecast | None:
        with self._lock:
            cached = self._last.get(city.name)
        if (cached is not None and cached.data_version >= city.data_version
                and cached.horizon == horizon
                and cached.model_version_id == city.active_version_id):
            return cached
        return None

    def clear(self) -> None:
        with self._lock:
            self._last.clear()
