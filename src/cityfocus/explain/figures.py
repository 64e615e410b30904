"""PNG figures of an explained allocation (matplotlib ``Figure`` objects, no pyplot state).

Each function returns the PNG as bytes (or None when the figure has nothing to show), so the
same bytes go to a file and inline into the HTML report. The map lives in ``allocation_map``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from cityfocus.data.citydata import CityData
from cityfocus.explain.allocation_map import allocation_map
from cityfocus.explain.explanation import CityExplanation
from cityfocus.explain.formatting import plural
from cityfocus.explain.png import png_bytes


def forecast_vs_actual(data: CityData, at: int, expl: CityExplanation, zones: int = 6) -> bytes:
    """History, forecast and realised target for the zones given most attention."""
    shown = expl.zones[:zones]
    history = 2 * len(expl.forecast.timestamps) + 12
    start = max(at - history, 0)
    times = data.timestamps[start:at]
    cols = 3
    rows = int(np.ceil(len(shown) / cols))
    fig = Figure(figsize=(4 * cols, 2.6 * rows))
    for k, z in enumerate(shown):
        ax = fig.add_subplot(rows, cols, k + 1)
        past = np.where(data.target_mask[start:at, z.index],
                        data.target_values[start:at, z.index], np.nan)
        ax.plot(times, past, color="0.4", lw=1, label="observed")
        ax.plot(expl.forecast.timestamps, expl.forecast.mean[:, z.index], "o-", color="C0",
                label="forecast")
        if np.isfinite(expl.actual[:, z.index]).any():
            ax.plot(expl.forecast.timestamps, expl.actual[:, z.index], "s--", color="C3",
                    label="actual")
        ax.set_title(f"{z.zone}: {plural(z.w, 'unit')}" if expl.view.units
                     else f"{z.zone}: {z.share:.0%}", fontsize=9)
        ax.tick_params(labelsize=7, axis="both")
        ax.tick_params(axis="x", rotation=30)
        if k == 0:
            ax.legend(fontsize=7)
    fig.suptitle(f"{expl.target}: forecast vs actual")
    fig.tight_layout()
    return png_bytes(fig)


def attention_heatmap(expl: CityExplanation) -> bytes | None:
    """Rollout attributions: zone x source zone, and zone x input step."""
    attr = expl.attribution
    if attr is None:
        return None
    ids = [z.zone for z in sorted(expl.zones, key=lambda z: z.index)]
    n, lookback = attr.steps.shape
    fig = Figure(figsize=(12, 5.2))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    im = ax1.imshow(attr.zones, cmap="magma_r", vmin=0)
    ax1.set_title("zone (row) draws on zone (column)")
    fig.colorbar(im, ax=ax1, fraction=0.046)
    im2 = ax2.imshow(attr.steps, cmap="magma_r", vmin=0, aspect="auto")
    ax2.set_title("zone (row) draws on input step (column)")
    ax2.set_xticks(range(lookback), [str(t - lookback) for t in range(lookback)], fontsize=7)
    ax2.set_xlabel("steps before the forecast")
    fig.colorbar(im2, ax=ax2, fraction=0.046)
    for ax in (ax1, ax2):
        ax.set_yticks(range(n), ids, fontsize=6)
    ax1.set_xticks(range(n), ids, fontsize=6, rotation=90)
    fig.suptitle("Attention rollout (mean over heads, residual 0.5 A + 0.5 I)")
    fig.tight_layout()
    return png_bytes(fig)


def top_drivers(expl: CityExplanation, zones: int = 6, sources: int = 5) -> bytes | None:
    """Bar charts: the zones each top-allocated zone's forecast draws on most."""
    attr = expl.attribution
    if attr is None:
        return None
    ids = [z.zone for z in sorted(expl.zones, key=lambda z: z.index)]
    shown = expl.zones[:zones]
    cols = 3
    rows = int(np.ceil(len(shown) / cols))
    fig = Figure(figsize=(4 * cols, 2.4 * rows))
    for k, z in enumerate(shown):
        ax = fig.add_subplot(rows, cols, k + 1)
        row = attr.zones[z.index]
        order = np.argsort(-row, kind="stable")[:sources][::-1]
        colors = ["C1" if j == z.index else "C0" for j in order]
        ax.barh([ids[j] + (" (self)" if j == z.index else "") for j in order], row[order],
                color=colors)
        ax.set_title(f"{z.zone} draws on", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlim(0, 1)
    fig.suptitle("Top drivers per zone (share of the rollout attribution)")
    fig.tight_layout()
    return png_bytes(fig)


def all_figures(data: CityData, at: int, expl: CityExplanation) -> dict[str, bytes]:
    """``{file name: PNG bytes}`` of every figure that has something to show."""
    figures = {
        "allocation.png": allocation_map(data, expl),
        "forecast.png": forecast_vs_actual(data, at, expl),
        "attention.png": attention_heatmap(expl),
        "drivers.png": top_drivers(expl),
    }
    return {name: png for name, png in figures.items() if png is not None}
