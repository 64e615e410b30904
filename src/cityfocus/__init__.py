"""cityfocus: decide where a city spends its limited attention."""

from cityfocus.data.citydata import CityData
from cityfocus.errors import CityfocusError, DataError

__all__ = ["CityData", "CityfocusError", "DataError"]
__version__ = "0.1.0"
