"""Published (or curator-computed) reference figures, quoted with their source, never computed.

Each row: ``label``, ``source``, ``horizon`` (steps), ``metrics`` (the same names and units as
``cityfocus.evaluate.metrics``). Only figures verified in the dataset READMEs are quoted.
"""

from __future__ import annotations

from typing import Any

_LOS_README = "../shared/data/los_loop/README.md"
_TGCN_LOG = (
    "T-GCN authors' run log out/tgcn_los_lr0.001_batch64_unit64_seq12_pre3_epoch5000 "
    "(github lehaifeng/T-GCN; best epoch chosen on test RMSE), as quoted in " + _LOS_README
)
_HA_README = (
    "HA with T-GCN's own definition (Baselines/baselines.py, iterated window mean), computed "
    "by the dataset curator, not published; table in " + _LOS_README
)

# (horizon, rmse, mae, accuracy, r2, explained_variance) from the README's HA table
_LOS_HA = (
    (3, 7.3067, 3.8782, 0.8756, 0.7225, 0.7225),
    (6, 7.9575, 4.1699, 0.8645, 0.6721, 0.6721),
    (9, 8.5986, 4.4824, 0.8535, 0.6184, 0.6184),
    (12, 9.2619, 4.8280, 0.8422, 0.5587, 0.5588),
)

REFERENCES: dict[str, list[dict[str, Any]]] = {
    "los_loop": [
        {"label": "T-GCN (quoted)", "source": _TGCN_LOG, "horizon": 3,
         "metrics": {"rmse": 5.1264, "accuracy": 0.9127}},
        *(
            {"label": "HA, T-GCN window mean (quoted)", "source": _HA_README, "horizon": h,
             "metrics": {"rmse": rmse, "mae": mae, "accuracy": acc, "r2": r2,
                         "explained_variance": var}}
            for h, rmse, mae, acc, r2, var in _LOS_HA
        ),
    ],
}
