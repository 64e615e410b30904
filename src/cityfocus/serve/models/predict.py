"""Forecasts from a neural checkpoint, made in a child process so the service process never
loads torch: ``python -m cityfocus.cli.serve_compute predict`` reads the checkpoint and the
data (pickled) on stdin and writes the forecast (pickled) on stdout. The parent only trusts
its own child's output; a failure is one line (the child's last stderr line)."""

from __future__ import annotations

import pickle
import subprocess
import sys

from cityfocus.data.citydata import CityData
from cityfocus.models.forecast import Forecast
from cityfocus.serve.errors import Unprocessable

# named, not imported: importing it would load torch into this process
COMPUTE_MODULE = "cityfocus.cli.serve_compute"
TIMEOUT_SECONDS = 300


def predict_in_child(checkpoint: bytes, data: CityData) -> Forecast:
    """The checkpoint's forecast of the steps after ``data``.

    Raises:
        Unprocessable: the child could not load the checkpoint or forecast this data.
    """
    payload = pickle.dumps({"checkpoint": checkpoint, "data": data})
    done = subprocess.run([sys.executable, "-m", COMPUTE_MODULE, "predict"], input=payload,
                          capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {done.returncode}"
        raise Unprocessable(f"the active model version cannot forecast: {reason}", ["model"])
    forecast = pickle.loads(done.stdout)  # noqa: S301 - our own child's answer
    if not isinstance(forecast, Forecast):
        raise Unprocessable("the forecasting process answered no forecast", ["model"])
    return forecast
