"""Count distributions around a mean: probabilities that add up, the stated means and
variances, parameters recovered by the validation fit, and calibration figures that are
right when the forecast is the truth."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.evaluate.calibration import calibration, pit, poisson_deviance
from cityfocus.models.counts import CountDistribution, choose_distribution, fit_distribution


@pytest.mark.parametrize("dist", [CountDistribution("poisson", np.array([0.3, 4.0])),
                                  CountDistribution("negbin", np.array([0.3, 4.0]), size=0.8),
                                  CountDistribution("zip", np.array([0.3, 4.0]), zero=0.4)])
def test_probabilities_add_up_to_the_stated_moments(dist: CountDistribution) -> None:
    k = np.arange(200)[:, None]
    p = dist.pmf(k)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, atol=1e-9)
    np.testing.assert_allclose((k * p).sum(axis=0), dist.mean, rtol=1e-9)
    var = (k ** 2 * p).sum(axis=0) - dist.mean ** 2
    np.testing.assert_allclose(var, dist.variance(), rtol=1e-7)
    np.testing.assert_allclose(dist.cdf(k), np.cumsum(p, axis=0), atol=1e-9)
    s = dist.survival(50)
    np.testing.assert_allclose(s, 1 - np.cumsum(p, axis=0)[:50].T, atol=1e-9)
    np.testing.assert_allclose(dist.prob_positive(), 1 - p[0], atol=1e-12)
    for q in (0.05, 0.5, 0.95):
        x = dist.quantile(q)
        assert np.all(dist.cdf(x) >= q - 1e-12) and np.all(dist.cdf(x - 1) < q)


def test_the_fit_recovers_what_generated_the_counts() -> None:
    rng = np.random.default_rng(0)
    mu = rng.gamma(0.7, 1.5, size=(400, 60))
    y = rng.negative_binomial(1.5, 1.5 / (1.5 + mu))
    assert fit_distribution("negbin", mu, y).size == pytest.approx(1.5, rel=0.1)
    pi, lam = 0.3, rng.gamma(2.0, 1.0, size=(400, 60))
    z = np.where(rng.random(lam.shape) < pi, 0, rng.poisson(lam))
    assert fit_distribution("zip", (1 - pi) * lam, z).zero == pytest.approx(pi, abs=0.02)
    best, scores = choose_distribution(mu, y)
    assert best.family == "negbin" and scores["negbin"] > scores["poisson"]


def test_calibration_of_the_true_distribution() -> None:
    rng = np.random.default_rng(3)
    mu = rng.gamma(0.5, 1.0, size=(500, 40))
    y = rng.poisson(mu)
    truth = calibration(CountDistribution("poisson", mu), y)
    assert truth["pit_coverage_90"] == pytest.approx(0.9, abs=0.01)
    assert truth["pit_coverage_50"] == pytest.approx(0.5, abs=0.01)
    assert truth["coverage_90"] >= 0.9  # closed intervals of counts cover at least the level
    hist = np.array(truth["pit_histogram"])
    assert hist.min() > 0.9 * hist.mean()  # flat
    # a forecast that is too sure (a quarter of the spread) is caught by the PIT
    narrow = calibration(CountDistribution("poisson", 4 * mu), y)
    assert narrow["pit_coverage_90"] < 0.8
    u = pit(CountDistribution("poisson", mu), y, seed=1)
    assert 0 <= u.min() and u.max() <= 1


def test_poisson_deviance_by_hand() -> None:
    y = np.array([0.0, 1.0, 3.0])
    mu = np.array([0.5, 1.0, 2.0])
    by_hand = 2 * np.mean([0 - (0 - 0.5), 0.0, 3 * np.log(1.5) - 1.0])
    assert poisson_deviance(y, mu) == pytest.approx(by_hand)
    assert poisson_deviance(y, y) == pytest.approx(0.0, abs=1e-8)  # mu floored at 1e-9


def test_the_median_if_positive_minimises_the_error_on_positive_counts() -> None:
    rng = np.random.default_rng(4)
    for dist in (CountDistribution("poisson", np.array([0.2, 1.5, 6.0])),
                 CountDistribution("negbin", np.array([0.2, 1.5, 6.0]), size=0.7)):
        point = dist.median_if_positive()
        draws = rng.poisson(dist.mean, size=(100_000, 3)) if dist.family == "poisson" else \
            rng.negative_binomial(0.7, 0.7 / (0.7 + dist.mean), size=(100_000, 3))
        for i in range(3):
            positive = draws[:, i][draws[:, i] > 0]
            errors = {k: np.abs(positive - k).mean() for k in range(1, 25)}
            assert errors[int(point[i])] <= min(errors.values()) + 1e-9
