"""City data: the CityData type, readers and writers, the synthetic city, windows, scaling."""

from cityfocus.data.citydata import CityData

__all__ = ["CityData"]
