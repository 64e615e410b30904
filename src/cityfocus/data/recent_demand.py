"""A dataset's recent demand per zone, for allocating without a forecast: the mean observed
target over the last day of steps."""

from __future__ import annotations

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.data.windows import steps_per_day


def last_day_demand(data: CityData) -> tuple[list[str], np.ndarray, str]:
    """Zone ids, demand ``[N]`` float64 and a note saying how it was made.

    Demand is each zone's mean observed target over the last day of steps (all steps when
    the data is shorter); a zone unobserved there gets 0, and the note counts such zones.
    """
    steps = min(steps_per_day(data.freq), data.shape[0])
    values, mask = data.target_values[-steps:], data.target_mask[-steps:]
    seen = mask.sum(axis=0)
    demand = np.where(seen > 0, (values * mask).sum(axis=0) / np.maximum(seen, 1), 0.0)
    note = f"demand: mean {data.target!r} over the last {steps} steps of {data.name}"
    if (seen == 0).any():
        note += f"; {int((seen == 0).sum())} zones unobserved there get demand 0"
    return data.zones["id"].tolist(), demand.astype(np.float64), note
