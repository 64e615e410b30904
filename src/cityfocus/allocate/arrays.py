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


def take(x: Array, index: Array) -> Array:
    """``x`` gathered along the last axis by ``index`` (``take_along_axis``)."""
    if namespace(x) is not np:
        return namespace(x).take_along_dim(x, index, dim=-1)
    if x.ndim != 2:
        return np.take_along_axis(x, index, axis=-1)
    # flat gather: much faster than take_along_axis's broadcast fancy indexing
    rows, n = x.shape
    offsets = np.arange(0, rows * n, n, dtype=index.dtype)[:, None] if rows > 1 else 0
    return np.take(np.ascontiguousarray(x).reshape(-1), index + offsets)


def like(value: Any, ref: Array) -> Array:
    """``value`` as an array of the same kind, dtype and device as ``ref``."""
    xp = namespace(ref)
    if xp is np:
        return np.asarray(value, dtype=np.result_type(ref, np.float64))
    return xp.as_tensor(value, dtype=ref.dtype, device=ref.device)


def put(values: Array, index: Array) -> Array:
    """The inverse of ``take``: ``out[..., index[..., j]] = values[..., j]`` (``index`` a
    permutation of the last axis)."""
    if namespace(values) is not np:
        return namespace(values).empty_like(values).scatter(-1, index, values)
    rows, n = values.shape
    out = np.empty(rows * n, dtype=values.dtype)
    offsets = np.arange(0, rows * n, n, dtype=index.dtype)[:, None] if rows > 1 else 0
    out[index + offsets] = values
    return out.reshape(rows, n)
