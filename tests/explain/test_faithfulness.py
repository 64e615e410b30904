"""The faithfulness checks on hand-made attributions and on a tiny trained model."""

import numpy as np
import pytest

from cityfocus.explain.faithfulness import (
    WindowRunner,
    _masked,
    deletion_test,
    lead_lag_recovery,
    window_starts,
    with_target,
)


def test_recovery_counts_leaders_in_the_top_k():
    lead = np.zeros((4, 4), bool)
    lead[1, 0] = lead[3, 2] = True  # 0 leads 1, 2 leads 3
    zones = np.array([[0.7, 0.1, 0.1, 0.1],
                      [0.2, 0.6, 0.1, 0.1],  # follower 1: leader 0 is the top other zone
                      [0.1, 0.1, 0.7, 0.1],
                      [0.3, 0.2, 0.0, 0.5]])  # follower 3: leader 2 is last
    out = lead_lag_recovery(zones, lead, k=1)
    assert out["share"] == 0.5 and out["ranks"] == {1: 1, 3: 3}
    assert lead_lag_recovery(zones, lead, k=3)["share"] == 1.0
    assert lead_lag_recovery(zones, lead, k=1)["share_with_self"] == 0.0
    assert out["direction"] == 0.5  # 1 draws 0.2 on 0 > 0.1 back; 3 draws 0.0 on 2 < 0.1
    graph = np.array([[0, 1, 0, 0], [1, 0, 0, 5], [0, 0, 0, 1], [0, 5, 1, 0]], float)
    assert lead_lag_recovery(zones, lead, k=1, adjacency=graph)["share_graph_only"] == 0.0
    per_window = np.stack([zones, zones[:, [0, 1, 2, 3]]])
    assert lead_lag_recovery(per_window, lead, k=1)["windows"] == 2
    with pytest.raises(ValueError):
        lead_lag_recovery(zones, np.zeros((4, 4), bool))


def test_masking_hits_exactly_the_chosen_inputs(tiny):
    city, model, _, _ = tiny
    runner = WindowRunner(model, city.data)
    base = runner.inputs(np.array([100, 100]))
    lookback = model.lookback
    masked = _masked(base, [np.array([2 * lookback + 5]), np.array([0, lookback + 1])],
                     lookback)
    changed = (masked["x_mask"] != base["x_mask"]).any(-1) | (masked["x"] != base["x"]).any(-1)
    expected = np.zeros(changed.shape, bool)
    expected[0, 5, 2] = expected[1, 0, 0] = expected[1, 1, 1] = True
    assert (changed.numpy() <= expected).all()  # nothing else touched
    assert (masked["x_mask"][expected] == 0).all() and (masked["x"][expected] == 0).all()


def test_runner_attributions_and_deletion_on_a_trained_model(tiny):
    city, model, _, _ = tiny
    runner = WindowRunner(model, city.data)
    starts = window_starts(city.data, model, 250)
    pred, attr = runner.attributions(starts[:40], batch=16)
    n = city.data.shape[1]
    assert pred.shape == (40, model.horizon, n)
    assert attr.joint.shape == (40, n, n, model.lookback)
    np.testing.assert_allclose(attr.joint.sum(axis=(-1, -2)), 1.0, rtol=1e-6)
    # the runner's forecast is the model's own predict()
    one = model.predict(city.data, at=int(starts[7]) + model.lookback)
    np.testing.assert_allclose(pred[7], one.mean, rtol=1e-5, atol=1e-6)
    result = deletion_test(runner, starts[::10], k=3, scope="all")
    assert result["top"] > result["random"] > 0 and result["ratio"] > 1
    other = deletion_test(runner, starts[::10], k=3, scope="other")
    assert np.isfinite(other["ratio"]) and other["windows"] == len(starts[::10])
    with pytest.raises(ValueError):
        deletion_test(runner, starts[:2], scope="nearby")


def test_with_target_swaps_only_the_target(tiny):
    city = tiny[0]
    traffic = with_target(city.data, "traffic")
    assert traffic.target == "traffic" and traffic.target_index == 0
    np.testing.assert_array_equal(traffic.values, city.data.values)
