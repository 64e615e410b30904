"""cityfocus: decide where a city spends its limited attention."""

import os

# OpenMP threads that spin while waiting make torch many times slower on a shared machine
# (measured here: a 2-epoch LSTM fit took 188 s spinning, 14 s passive, with other jobs
# running). Must be set before torch loads OpenMP; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from cityfocus.data.citydata import CityData
from cityfocus.errors import CityfocusError, DataError

__all__ = ["CityData", "CityfocusError", "DataError"]
__version__ = "0.1.0"
