"""Are the attributions true? Two checks on a trained ST-Transformer.

* Planted links: on the synthetic city, each follower zone repeats its leader's bursts a
  few steps later. A faithful attribution ranks the leader among the follower's top-k
  source zones (``lead_lag_recovery``), measured against what the road graph alone and
  chance would give.
* Deletion: masking the inputs a zone's attribution ranks highest (setting the value to 0
  and the observed-mask to False, as a missing reading) should change that zone's
  forecast more than masking as many random inputs (``deletion_test``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from cityfocus.data.citydata import CityData
from cityfocus.explain.rollout import Attribution, attribute, top_sources
from cityfocus.models.neural import NeuralForecaster
from cityfocus.training.tensors import WindowTensors


def with_target(data: CityData, target: str) -> CityData:
    """The same city with another feature as the target (e.g. ``traffic``)."""
    return data.replace(target=target, name=f"{data.name}[{target}]")


def without_graph(data: CityData) -> CityData:
    """The same city without its road graph (a model then has no graph prior to lean on)."""
    return data.replace(adjacency=None, name=f"{data.name}[no graph]")


def window_starts(data: CityData, model: NeuralForecaster, first_target: int) -> np.ndarray:
    """Starts of every window whose first forecast step is ``first_target`` or later."""
    L, H = model.lookback, model.horizon
    return np.arange(max(first_target - L, 0), data.shape[0] - L - H + 1)


class WindowRunner:
    """Runs a fitted torch forecaster on windows of ``data``, optionally with inputs masked.

    Forecasts come back in the target's original units, ``[B, H, N]``.
    """

    def __init__(self, model: NeuralForecaster, data: CityData) -> None:
        model.check_schema(data)
        self.model = model
        self.device = next(model.network_.parameters()).device
        self.tensors = WindowTensors(data, model.scaler_, model.lookback, model.horizon,
                                     self.device)
        mean, std = model.scaler_.target_params(model.schema_["target_index"])
        self.mean = torch.as_tensor(mean, dtype=torch.float32, device=self.device)
        self.std = torch.as_tensor(std, dtype=torch.float32, device=self.device)

    def inputs(self, starts: np.ndarray) -> dict[str, torch.Tensor]:
        return self.tensors.inputs(np.asarray(starts))

    def run(self, inputs: dict[str, torch.Tensor], attention: bool = False) -> Any:
        with torch.no_grad():
            out = self.model.network_(inputs, return_attention=attention)
        pred, maps = out if attention else (out, None)
        pred = (pred * self.std + self.mean).cpu().numpy()
        if not attention:
            return pred
        if maps is None:
            raise ValueError(f"{self.model.name} returns no attention maps to attribute")
        return pred, {k: [m.cpu().numpy() for m in v] for k, v in maps.items()}

    def attributions(self, starts: np.ndarray, batch: int = 128) -> tuple[np.ndarray,
                                                                             Attribution]:
        """Forecasts ``[S, H, N]`` and their rollout attributions (batched over S)."""
        preds, parts = [], []
        for chunk in np.array_split(starts, max(int(np.ceil(len(starts) / batch)), 1)):
            pred, maps = self.run(self.inputs(chunk), attention=True)
            preds.append(pred)
            parts.append(attribute(maps))
        joined = Attribution(*(np.concatenate([getattr(p, f) for p in parts])
                               for f in ("joint", "zones", "steps", "temporal")))
        return np.concatenate(preds), joined


def lead_lag_recovery(zones: np.ndarray, lead_matrix: np.ndarray, k: int = 3,
                      adjacency: np.ndarray | None = None) -> dict[str, Any]:
    """How often a follower's planted leader is among its top-``k`` attributed zones.

    Args:
        zones: ``[N, N]`` zone attributions (row i = forecast zone i), e.g. averaged over
            windows; or ``[S, N, N]`` for one verdict per window (averaged).
        lead_matrix: ``[N, N]`` bool, ``[i, j]`` True when zone j leads zone i.
        k: how many top source zones count.
        adjacency: when given, the same check for a ranking by graph weight alone.

    Returns:
        ``share`` (leaders among the other zones' top-k), ``share_with_self`` (top-k of all
        zones, the zone itself included), ``chance`` (``k / (N - 1)``), per-follower
        ``ranks`` (1 = top among the other zones), ``direction`` (the share of links
        whose follower draws more on its leader than the leader on its follower, from the
        mean attributions; the road graph is symmetric, so it alone gives no direction) and,
        with ``adjacency``, ``share_graph_only``.
    """
    zones = np.asarray(zones, dtype=np.float64)
    per_window = zones if zones.ndim == 3 else zones[None]
    followers = [int(i) for i in np.flatnonzero(lead_matrix.any(axis=1))]
    if not followers:
        raise ValueError("no planted lead-lag links to recover")
    n = zones.shape[-1]
    hits, hits_self, ranks = [], [], {}
    for i in followers:
        leaders = np.flatnonzero(lead_matrix[i])
        for s in range(len(per_window)):
            top = top_sources(per_window[s], i, k)
            top_self = top_sources(per_window[s], i, k, include_self=True)
            hits.append(np.isin(leaders, top).any())
            hits_self.append(np.isin(leaders, top_self).any())
        mean_row = per_window.mean(axis=0)[i].copy()
        mean_row[i] = -np.inf
        order = list(np.argsort(-mean_row, kind="stable"))
        ranks[i] = min(order.index(j) + 1 for j in leaders)
    mean = per_window.mean(axis=0)
    links = np.argwhere(lead_matrix)  # (follower, leader)
    out: dict[str, Any] = {
        "k": k, "followers": len(followers), "windows": len(per_window),
        "share": float(np.mean(hits)), "share_with_self": float(np.mean(hits_self)),
        "chance": min(k / (n - 1), 1.0), "ranks": ranks,
        "direction": float(np.mean([mean[f, j] > mean[j, f] for f, j in links])),
    }
    if adjacency is not None:
        graph = np.asarray(adjacency, dtype=np.float64)
        out["share_graph_only"] = float(np.mean([
            np.isin(np.flatnonzero(lead_matrix[i]), top_sources(graph, i, k)).any()
            for i in followers]))
    return out


def deletion_test(runner: WindowRunner, starts: np.ndarray, k: int = 5,
                  scope: str = "all", seed: int = 0) -> dict[str, Any]:
    """Mask each zone's ``k`` top-attributed inputs vs ``k`` random ones; compare the change.

    An input is one (zone, lookback step) token: all its features are set to 0 and marked
    unobserved. For every window and forecast zone i, the top set holds the ``k`` largest
    ``joint[i, j, t]``; the random set holds ``k`` distinct (j, t) drawn uniformly from the
    same pool: every (zone, step) with ``scope="all"``, or only other zones' (j != i)
    with ``scope="other"`` (which leaves zone i's own history, and so the model's linear
    skip over it, untouched). The change is ``mean_h |forecast_i(masked) - forecast_i|`` in
    the target's units.

    Returns:
        ``top`` and ``random`` mean changes over (window, zone), their ``ratio``, and
        ``top_wins``: the share of (window, zone) pairs where the top set changed more.
    """
    if scope not in ("all", "other"):
        raise ValueError(f"scope must be 'all' or 'other', got {scope!r}")
    rng = np.random.default_rng(seed)
    pred, attr = runner.attributions(starts)
    n, lookback = attr.joint.shape[-2], attr.joint.shape[-1]
    top_change: list[np.ndarray] = []
    random_change: list[np.ndarray] = []
    for s, start in enumerate(starts):
        base = runner.inputs(np.full(n, start))
        top_sets, random_sets = [], []
        for i in range(n):
            scores = attr.joint[s, i].reshape(-1).copy()  # flat index j * L + t
            pool = np.arange(n * lookback)
            if scope == "other":
                pool = pool[pool // lookback != i]
            top_sets.append(pool[np.argsort(-scores[pool], kind="stable")[:k]])
            random_sets.append(rng.choice(pool, size=min(k, len(pool)), replace=False))
        for sets, sink in ((top_sets, top_change), (random_sets, random_change)):
            masked = _masked(base, sets, lookback)
            out = runner.run(masked)  # [N, H, N]: row b masks zone b's set
            rows = np.arange(n)
            sink.append(np.abs(out[rows, :, rows] - pred[s][:, rows].T).mean(axis=1))
    top, rand = np.concatenate(top_change), np.concatenate(random_change)
    return {"k": k, "scope": scope, "windows": len(starts), "top": float(top.mean()),
            "random": float(rand.mean()),
            "ratio": float(top.mean() / rand.mean()) if rand.mean() > 0 else float("inf"),
            "top_wins": float((top > rand).mean())}


def _masked(base: dict[str, torch.Tensor], sets: list[np.ndarray],
            lookback: int) -> dict[str, torch.Tensor]:
    """Copy of a batch where row b has the (zone, step) inputs in ``sets[b]`` masked."""
    x, m = base["x"].clone(), base["x_mask"].clone()  # [B, L, N, F]
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    flat = np.concatenate(sets)
    zone, step = flat // lookback, flat % lookback
    x[rows, step, zone] = 0.0
    m[rows, step, zone] = 0.0
    return {**base, "x": x, "x_mask": m}
