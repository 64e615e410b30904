"""The replay figure: cumulative regret against the oracle over the replay, one line per run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cityfocus.outputs import atomic_file


def plot_regret(results: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Write a PNG of cumulative regret per decision for each replay result."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for result in results:
        config = result["config"]
        label = f"{config['policy']} ({config['observe']}, K={config['retrain_every']})"
        steps = [p["step"] + 1 for p in result["curve"]]
        ax.plot(steps, [p["cumulative_regret"] for p in result["curve"]], label=label)
    ax.set_xlabel("decision")
    ax.set_ylabel("cumulative regret vs oracle")
    ax.set_title(title or "replay")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        return atomic_file(path).write(lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    finally:
        plt.close(fig)
