"""The few array operations the solvers need, for numpy arrays and torch tensors alike.

The allocation maths is written once; ``namespace(x)`` picks numpy or torch from the
argument's type without this package importing torch (only ``torch_layer`` does).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import numpy as np

Array = Any  # numpy.ndarray or torch.Tensor


def namespace(x: Array) -> Any:
    """The array module of ``x``: torch for tensors, else numpy."""
    if type(x).__module__.startswith("torch"):
        return sys.modules["torch"]
    return np


def quiet(xp: Any) -> contextlib.AbstractContextManager:
    """Silence numpy's floating-point warnings (inf/NaN branches masked out afterwards)."""
    return np.errstate(all="ignore") if xp is np else contextlib.nullcontext()


def take(x: Array, index: Array, flat: Array | None = None) -> Array:
    """``x`` gathered along the last axis by ``index`` (``take_along_axis``); ``flat``, from
    ``flat_index(index)``, saves recomputing the flat positions for several gathers."""
    if namespace(x) is not np:
        return namespace(x).take_along_dim(x, index, dim=-1)
    if x.ndim != 2:
        return np.take_along_axis(x, index, axis=-1)
    # flat gather: much faster than take_along_axis's broadcast fancy indexing
    flat = flat_index(index, x.shape[-1]) if flat is None else flat
    return np.take(np.ascontiguousarray(x).reshape(-1), flat)


def flat_index(index: Array, n: int | None = None) -> Array:
    """Positions in a flattened ``[R, n]`` array of a numpy ``[R, K]`` per-row ``index``
    (``n`` defaults to ``K``; torch: ``index`` itself)."""
    if namespace(index) is not np:
        return index
    rows = index.shape[0]
    n = index.shape[-1] if n is None else n
    return index + np.arange(0, rows * n, n, dtype=index.dtype)[:, None] if rows > 1 else index


def like(value: Any, ref: Array) -> Array:
    """``value`` as an array of the same kind, dtype and device as ``ref``."""
    xp = namespace(ref)
    if xp is np:
        return np.asarray(value, dtype=np.result_type(ref, np.float64))
    return xp.as_tensor(value, dtype=ref.dtype, device=ref.device)


def put(values: Array, index: Array, flat: Array | None = None) -> Array:
    """The inverse of ``take``: ``out[..., index[..., j]] = values[..., j]`` (``index`` a
    permutation of the last axis; ``flat`` as in ``take``)."""
    if namespace(values) is not np:
        return namespace(values).empty_like(values).scatter(-1, index, values)
    rows, n = values.shape
    out = np.empty(rows * n, dtype=values.dtype)
    out[flat_index(index) if flat is None else flat] = values
    return out.reshape(rows, n)


def common_value(x: Array) -> Array | float:
    """``x`` as a float if it is one value broadcast to every entry (all strides 0, as
    ``np.broadcast_to`` or ``Tensor.expand`` of a number gives), else ``x`` itself."""
    strides = x.strides if namespace(x) is np else x.stride()
    return float(x.reshape(-1)[0]) if x.ndim and not any(strides) else x
