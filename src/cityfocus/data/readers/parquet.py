"""CityData <-> one Parquet file that round-trips exactly.

Layout: one row per (time step, zone), time-major, with columns ``timestamp``, ``zone``,
``value:<feature>`` (float32) and ``observed:<feature>`` (bool). Everything that is not a
column (zone table, feature order, target, step, name, adjacency, meta) is JSON under the
schema metadata key ``cityfocus``; the adjacency is zlib-compressed float32 bytes in base64.
Other tools read the file as an ordinary long table.
"""

from __future__ import annotations

import base64
import json
import math
import os
import tempfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError

METADATA_KEY = b"cityfocus"
FORMAT_VERSION = 1


def write_parquet(data: CityData, path: str | Path) -> Path:
    """Write ``data`` to ``path`` atomically (temp file + rename; nothing left on failure).

    Returns:
        The path written.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise DataError("directory does not exist", source=path.parent)
    table = _to_arrow(data)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp_name)
        os.chmod(tmp_name, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual mode
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def read_parquet(path: str | Path) -> CityData:
    """Read a file written by ``write_parquet``; DataError when it is not one."""
    path = Path(path)
    header = cityfocus_metadata(path)
    if header is None:
        raise DataError(
            "not a cityfocus Parquet file (no 'cityfocus' metadata)",
            source=path,
            hint="read it as a long table instead",
        )
    try:
        table = pq.read_table(path)
        return _from_arrow(table, header, path)
    except (OSError, pa.ArrowException, KeyError, ValueError, TypeError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(f"damaged cityfocus Parquet file ({err})", source=path) from None


def cityfocus_metadata(path: str | Path) -> dict[str, Any] | None:
    """The ``cityfocus`` metadata of a Parquet file, or None when it has none."""
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", source=path, hint="check the path")
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException) as err:
        raise DataError(f"not a readable Parquet file ({err})", source=path) from None
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        return None
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"damaged cityfocus metadata ({err})", source=path) from None
    if header.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"cityfocus Parquet format {header.get('format_version')!r} is not "
            f"supported (this version reads {FORMAT_VERSION})",
            source=path,
        )
    return header


def _to_arrow(data: CityData) -> pa.Table:
    T, N, _ = data.shape
    stamps = data.timestamps.as_unit("ns")
    tz = None if stamps.tz is None else str(stamps.tz)
    zone_codes = np.tile(np.arange(N, dtype=np.int32), T)
    columns: dict[str, pa.Array] = {
        "timestamp": pa.array(np.repeat(stamps.asi8, N), type=pa.timestamp("ns", tz=tz)),
        "zone": pa.DictionaryArray.from_arrays(
            pa.array(zone_codes), pa.array(data.zones["id"].astype(str).tolist(), pa.string())
        ),
    }
    for k, feature in enumerate(data.features):
        columns[f"value:{feature}"] = pa.array(data.values[:, :, k].reshape(-1), pa.float32())
    for k, feature in enumerate(data.features):
        columns[f"observed:{feature}"] = pa.array(data.mask[:, :, k].reshape(-1), pa.bool_())
    header = {
        "format_version": FORMAT_VERSION,
        "name": data.name,
        "features": list(data.features),
        "target": data.target,
        "freq_ns": int(data.freq.value),
        "steps": T,
        "zones": {
            "id": data.zones["id"].astype(str).tolist(),
            "name": data.zones["name"].astype(str).tolist(),
            "lat": [_float_or_none(v) for v in data.zones["lat"]],
            "lon": [_float_or_none(v) for v in data.zones["lon"]],
        },
        "adjacency": None if data.adjacency is None else _pack(data.adjacency),
        "meta": _jsonable(data.meta),
    }
    table = pa.table(columns)
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(header).encode()})


def _from_arrow(table: pa.Table, header: dict[str, Any], path: Path) -> CityData:
    features = header["features"]
    zones = header["zones"]
    T, N = int(header["steps"]), len(zones["id"])
    if table.num_rows != T * N:
        raise DataError(f"{table.num_rows} rows, expected {T} steps x {N} zones", source=path)
    zone_column = table.column("zone").combine_chunks()
    if pa.types.is_dictionary(zone_column.type):
        zone_column = zone_column.dictionary_decode()
    if zone_column.to_pylist()[:N] != zones["id"] or not np.array_equal(
        np.asarray(zone_column.to_pylist(), dtype=object).reshape(T, N),
        np.broadcast_to(np.asarray(zones["id"], dtype=object), (T, N)),
    ):
        raise DataError(
            "rows are not in (timestamp, zone) order",
            source=path,
            hint="rewrite the file with write_parquet",
        )
    stamp_column = table.column("timestamp").combine_chunks()
    ns = stamp_column.cast(pa.int64()).to_numpy().reshape(T, N)
    if (ns != ns[:, :1]).any():
        raise DataError("rows are not in (timestamp, zone) order", source=path)
    timestamps = pd.DatetimeIndex(ns[:, 0].astype("datetime64[ns]"))
    tz = stamp_column.type.tz
    if tz is not None:
        timestamps = timestamps.tz_localize("UTC").tz_convert(tz)
    values = np.stack(
        [table.column(f"value:{f}").to_numpy().astype(np.float32).reshape(T, N) for f in features],
        axis=2,
    )
    mask = np.stack(
        [
            table.column(f"observed:{f}").to_numpy(zero_copy_only=False).reshape(T, N)
            for f in features
        ],
        axis=2,
    ).astype(bool)
    zone_table = pd.DataFrame(
        {
            "id": zones["id"],
            "name": zones["name"],
            "lat": np.array([np.nan if v is None else v for v in zones["lat"]], dtype=np.float64),
            "lon": np.array([np.nan if v is None else v for v in zones["lon"]], dtype=np.float64),
        }
    )
    adjacency = None if header["adjacency"] is None else _unpack(header["adjacency"], N)
    return CityData(
        values,
        timestamps,
        mask=mask,
        zones=zone_table,
        features=features,
        target=header["target"],
        adjacency=adjacency,
        freq=pd.Timedelta(int(header["freq_ns"]), unit="ns"),
        name=header["name"],
        meta=header.get("meta") or {},
    )


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _pack(matrix: np.ndarray) -> dict[str, Any]:
    raw = np.ascontiguousarray(matrix, dtype="<f4").tobytes()
    return {
        "dtype": "<f4",
        "shape": list(matrix.shape),
        "zlib_base64": base64.b64encode(zlib.compress(raw)).decode("ascii"),
    }


def _unpack(packed: dict[str, Any], n: int) -> np.ndarray:
    raw = zlib.decompress(base64.b64decode(packed["zlib_base64"]))
    return np.frombuffer(raw, dtype=packed["dtype"]).astype(np.float32).reshape(n, n)


def _float_or_none(value: Any) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def _jsonable(obj: Any) -> Any:
    """``meta`` as plain JSON (arrays to lists, NaN to null, unknown objects to strings)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    return str(obj)
