"""Checkpoints read without torch: the service process checks an uploaded file's schema by
walking its pickle opcodes (``pickletools.genops`` executes nothing) and never unpickles it;
the full load happens in a worker or predictor process (``cityfocus.cli.serve_compute``).

Two kinds are accepted:

- a neural forecaster saved by ``NeuralForecaster.save`` (torch's zip format holding
  ``data.pkl``, a dict whose ``format`` is ``cityfocus-forecaster/1``);
- a historical-average config, JSON ``{"format": "cityfocus-historical-average/1",
  "params": {"weekly": true}}`` (the average is refitted on the stored observations at each
  forecast, as the default forecaster is).
"""

from __future__ import annotations

import io
import json
import pickletools
import zipfile
from dataclasses import dataclass, field
from typing import Any

# the same string as cityfocus.models.neural.CHECKPOINT_FORMAT (not imported: that module
# loads torch; tests/serve/test_models_jobs.py checks they agree)
NEURAL_FORMAT = "cityfocus-forecaster/1"
AVERAGE_FORMAT = "cityfocus-historical-average/1"
NEURAL_MODELS = ("seed_mlp", "lstm", "st_transformer")
FORECASTERS = ("historical_average", *NEURAL_MODELS)
MAX_BYTES = 64 * 1024 * 1024


class CheckpointError(ValueError):
    """An upload that is not a cityfocus forecaster checkpoint (one line: what is wrong)."""


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says about itself: its forecaster and the windows it was built for
    (``lookback``/``horizon``; None for the historical average, which forecasts any horizon)."""

    forecaster: str
    lookback: int | None = None
    horizon: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


def average_checkpoint(params: dict[str, Any]) -> bytes:
    """The checkpoint of a historical-average version with ``params`` (``weekly``)."""
    unknown = set(params) - {"weekly"}
    if unknown:
        raise CheckpointError(f"historical_average takes only 'weekly', not {sorted(unknown)}")
    body = {"format": AVERAGE_FORMAT, "params": {"weekly": bool(params.get("weekly", True))}}
    return json.dumps(body, sort_keys=True).encode("utf-8")


def inspect_checkpoint(blob: bytes) -> CheckpointInfo:
    """Read a checkpoint's kind and windows without loading it.

    Raises:
        CheckpointError: too large, not a zip or JSON checkpoint, or not cityfocus's.
    """
    if len(blob) > MAX_BYTES:
        raise CheckpointError(f"checkpoint of {len(blob)} bytes; at most {MAX_BYTES}")
    if blob[:1] == b"{":
        return _inspect_average(blob)
    if not zipfile.is_zipfile(io.BytesIO(blob)):
        raise CheckpointError("not a checkpoint: neither a torch zip file nor a "
                              "historical-average JSON config")
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        names = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not names:
            raise CheckpointError("a zip file without data.pkl: not a torch checkpoint")
        strings = _pickle_scalars(archive.read(names[0]))
    if NEURAL_FORMAT not in strings:
        raise CheckpointError(f"not a cityfocus forecaster checkpoint (expected {NEURAL_FORMAT})")
    model = _after(strings, "model")
    if model not in NEURAL_MODELS:
        raise CheckpointError(f"checkpoint of unknown model {model!r}")
    lookback, horizon = _after(strings, "lookback"), _after(strings, "horizon")
    if not isinstance(lookback, int) or not isinstance(horizon, int):
        raise CheckpointError("checkpoint without lookback/horizon parameters")
    return CheckpointInfo(str(model), lookback, horizon, {"lookback": lookback,
                                                          "horizon": horizon})


def _inspect_average(blob: bytes) -> CheckpointInfo:
    try:
        body = json.loads(blob.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError("not a checkpoint: malformed JSON") from None
    if not isinstance(body, dict) or body.get("format") != AVERAGE_FORMAT:
        raise CheckpointError(f"a JSON checkpoint must have format {AVERAGE_FORMAT!r}")
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise CheckpointError("a historical-average checkpoint's params must be an object")
    average_checkpoint(params)  # checks the parameters
    return CheckpointInfo("historical_average", None, None, params)


def _pickle_scalars(data: bytes) -> list[Any]:
    """The string and integer arguments of a pickle's opcodes, in order (nothing runs)."""
    out: list[Any] = []
    try:
        for opcode, arg, _pos in pickletools.genops(data):
            if isinstance(arg, str | int) and not isinstance(arg, bool) and \
                    opcode.name not in ("BINPUT", "LONG_BINPUT", "BINGET", "LONG_BINGET",
                                        "MEMOIZE", "PROTO", "FRAME", "PUT", "GET"):
                out.append(arg)
    except Exception as err:  # a truncated or foreign pickle: say so in one line
        raise CheckpointError(f"unreadable checkpoint pickle ({type(err).__name__})") from None
    return out


def _after(values: list[Any], key: str) -> Any:
    """The value that follows the first ``key`` (a dict's key and value are adjacent)."""
    for i, value in enumerate(values[:-1]):
        if value == key:
            return values[i + 1]
    return None
