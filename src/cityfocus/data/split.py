"""Chronological train/validation/test splits: later parts never feed earlier ones."""

from __future__ import annotations

from dataclasses import dataclass

from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError


@dataclass(frozen=True)
class Split:
    """Three consecutive pieces of one dataset.

    Attributes:
        data: the whole dataset.
        val_start: first time index of the validation part.
        test_start: first time index of the test part.
    """

    data: CityData
    val_start: int
    test_start: int

    @property
    def train(self) -> CityData:
        return self.data.slice_time(0, self.val_start)

    @property
    def val(self) -> CityData:
        return self.data.slice_time(self.val_start, self.test_start)

    @property
    def test(self) -> CityData:
        return self.data.slice_time(self.test_start, self.data.shape[0])

    def bounds(self, part: str) -> tuple[int, int]:
        """``(start, stop)`` time indices of ``part`` (``train``, ``val`` or ``test``)."""
        T = self.data.shape[0]
        table = {"train": (0, self.val_start), "val": (self.val_start, self.test_start),
                 "test": (self.test_start, T)}
        if part not in table:
            raise DataError(f"unknown split part {part!r}; use train, val or test")
        return table[part]


def split_at(data: CityData, val_start: int, test_start: int) -> Split:
    """Split at explicit time indices (e.g. a dataset's published split).

    Raises:
        DataError: when a part would be empty or the indices are out of order.
    """
    T = data.shape[0]
    if not 0 < val_start <= test_start < T:
        raise DataError(
            f"split indices must satisfy 0 < val_start <= test_start < T={T}, "
            f"got val_start={val_start}, test_start={test_start}",
            source=data.name,
        )
    return Split(data, val_start, test_start)


def chronological_split(data: CityData, train: float = 0.7, val: float = 0.1) -> Split:
    """First ``train`` share of time steps for training, next ``val`` for validation, rest test.

    ``val`` may be 0 (no validation part; ``Split.val`` then raises). Shares are rounded
    down to whole steps, as ``int(T * share)``.
    """
    if not (0 < train < 1 and 0 <= val < 1 and train + val < 1):
        raise DataError(f"split shares must be 0 < train, 0 <= val, train + val < 1; "
                        f"got train={train}, val={val}")
    T = data.shape[0]
    val_start = int(T * train)
    test_start = int(T * (train + val))
    if val_start == 0 or test_start >= T:
        raise DataError(f"{T} time steps are too few for a {train}/{val} split",
                        source=data.name)
    return Split(data, val_start, test_start)
