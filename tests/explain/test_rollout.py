"""Rollout maths on hand-made attention maps."""

import numpy as np
import pytest

from cityfocus.explain.rollout import (
    attribute,
    recent_span,
    residual_attention,
    rollout,
    top_sources,
)


def random_maps(rng, *shape):
    """Row-stochastic attention maps of ``shape`` (last two dims square)."""
    w = rng.random(shape)
    return w / w.sum(-1, keepdims=True)


def test_identity_attention_rolls_out_to_identity():
    eye = np.broadcast_to(np.eye(5), (3, 5, 5))  # 3 heads
    np.testing.assert_allclose(rollout([eye, eye, eye]), np.eye(5))


def test_rows_sum_to_one_and_stay_non_negative():
    rng = np.random.default_rng(0)
    out = rollout([random_maps(rng, 2, 4, 6, 6) for _ in range(3)])  # batch 2, 4 heads
    assert out.shape == (2, 6, 6)
    np.testing.assert_allclose(out.sum(-1), 1.0)
    assert (out >= 0).all()


def test_one_layer_is_half_mean_attention_plus_half_identity():
    a = np.array([[[0.0, 1.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])  # 2 heads
    mean = a.mean(0)  # [[0, 1], [0.5, 0.5]]
    np.testing.assert_allclose(residual_attention(a), 0.5 * mean + 0.5 * np.eye(2))
    np.testing.assert_allclose(residual_attention(a), [[0.5, 0.5], [0.25, 0.75]])


def test_later_layers_multiply_on_the_left():
    rng = np.random.default_rng(1)
    a1, a2 = random_maps(rng, 1, 3, 3), random_maps(rng, 1, 3, 3)
    r1 = 0.5 * a1[0] + 0.5 * np.eye(3)
    r2 = 0.5 * a2[0] + 0.5 * np.eye(3)
    np.testing.assert_allclose(rollout([a1, a2]), r2 @ r1)
    assert not np.allclose(r2 @ r1, r1 @ r2)  # the order matters for this example


def test_rows_are_renormalised_when_maps_are_not_stochastic():
    a = np.ones((1, 3, 3))  # rows sum to 3, e.g. masked or rounded maps
    np.testing.assert_allclose(residual_attention(a).sum(-1), 1.0)


def test_attribute_composes_temporal_then_spatial():
    n, lookback = 3, 4
    # every zone's summary attends only to its first step, in every layer and head
    temporal = np.zeros((n, 2, lookback, lookback))
    temporal[..., 0] = 1.0
    # zone 0 attends fully to zone 2; the others to themselves
    spatial = np.broadcast_to(np.eye(n), (2, n, n)).copy()
    spatial[:, 0] = [0.0, 0.0, 1.0]
    attr = attribute({"temporal": [temporal], "spatial": [spatial]})
    # temporal rollout of the last token: 0.5 on step 0, 0.5 on itself (step L-1)
    np.testing.assert_allclose(attr.temporal, np.tile([0.5, 0, 0, 0.5], (n, 1)))
    np.testing.assert_allclose(attr.zones[0], [0.5, 0.0, 0.5])
    np.testing.assert_allclose(attr.zones[1], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(attr.joint[0, 2], [0.25, 0, 0, 0.25])
    np.testing.assert_allclose(attr.joint.sum(axis=(-1, -2)), 1.0)
    np.testing.assert_allclose(attr.steps, attr.joint.sum(axis=-2))


def test_attribute_batched_matches_one_by_one():
    rng = np.random.default_rng(2)
    maps = {"temporal": [random_maps(rng, 4, 5, 2, 6, 6) for _ in range(2)],
            "spatial": [random_maps(rng, 4, 2, 5, 5)]}
    batched = attribute(maps)
    for b in range(4):
        one = attribute({k: [m[b] for m in v] for k, v in maps.items()})
        np.testing.assert_allclose(batched.joint[b], one.joint)


def test_without_spatial_layers_each_zone_draws_on_itself():
    rng = np.random.default_rng(3)
    attr = attribute({"temporal": [random_maps(rng, 4, 1, 3, 3)], "spatial": []})
    np.testing.assert_allclose(attr.zones, np.eye(4))


def test_bad_maps_are_refused():
    with pytest.raises(ValueError):
        rollout([])
    with pytest.raises(ValueError):
        residual_attention(np.ones((2, 3, 4)))
    with pytest.raises(ValueError):
        attribute({"temporal": [], "spatial": []})


def test_top_sources_and_recent_span():
    zones = np.array([[0.5, 0.1, 0.3, 0.1], [0.2, 0.2, 0.2, 0.4]])
    assert top_sources(zones, 0, 2).tolist() == [2, 1]  # self left out, tie -> lower index
    assert top_sources(zones, 0, 2, include_self=True).tolist() == [0, 2]
    assert recent_span(np.array([0.1, 0.1, 0.3, 0.5])) == 1
    assert recent_span(np.array([0.4, 0.2, 0.2, 0.2])) == 3
    assert recent_span(np.array([0.4, 0.2, 0.2, 0.2]), share=1.0) == 4
