"""A tiny trained ST-Transformer and its data file, shared by the explain tests."""

from __future__ import annotations

import pytest

from cityfocus.data.readers import write_parquet
from cityfocus.data.split import chronological_split
from cityfocus.data.synthetic import synthetic_city
from cityfocus.models.st_transformer import STTransformer

TINY = {"lookback": 6, "horizon": 2, "dim": 16, "heads": 2, "temporal_layers": 1,
        "spatial_layers": 1, "epochs": 2, "batch_size": 64, "progress": False}


@pytest.fixture(scope="package")
def tiny(tmp_path_factory):
    """``(city, model, checkpoint path, data path)``: 6 zones, 14 days, incidents target."""
    root = tmp_path_factory.mktemp("tiny")
    city = synthetic_city(n_zones=6, days=14, seed=3)
    split = chronological_split(city.data, train=0.7, val=0.1)
    model = STTransformer(**TINY).fit(split.train, split.val)
    checkpoint = model.save(root / "tiny.pt")
    data_path = write_parquet(city.data, root / "tiny.parquet")
    return city, model, checkpoint, data_path
