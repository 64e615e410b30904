import numpy as np
import pytest

from cityfocus.allocate.task import DecisionTask
from cityfocus.evaluate.decisions import auc, decision_metrics


def test_oracle_allocation_has_zero_regret_and_others_positive():
    task = DecisionTask("coverage", 2, True, params={"alpha": 1.0})
    realized = np.array([[5.0, 0.0, 1.0, 0.0], [0.0, 3.0, 0.0, 3.0]])
    best = task.decide(realized)
    metrics = decision_metrics(task, best, realized)
    assert metrics["regret"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["normalized_regret"] == pytest.approx(0.0, abs=1e-12)
    worst = np.array([[0, 2, 0, 0], [2, 0, 0, 0]], dtype=float)
    bad = decision_metrics(task, worst, realized)
    assert bad["regret"] > 0 and bad["hit_rate"] == 0.0 and bad["recall"] == 0.0
    # hand check: row 0 oracle puts units on zones 0 and 2 (gains 5(1-e^-1) + 1(1-e^-1))
    # or both on zone 0 (5(1-e^-2)); the latter is larger
    assert best[0].tolist() == [2, 0, 0, 0]
    assert metrics["hit_rate"] == pytest.approx((5 + 3 + 3) / 12)


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=200).round(1)  # with ties
    labels = rng.random(200) < 0.3
    pos, neg = scores[labels], scores[~labels]
    pairwise = ((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean()
    assert auc(scores, labels) == pytest.approx(pairwise)
    assert np.isnan(auc(scores, np.zeros(200, dtype=bool)))


def test_pai_and_pei_by_hand():
    task = DecisionTask("coverage", 2, True, params={"alpha": 1.0})
    realized = np.array([[5.0, 0.0, 1.0, 0.0], [0.0, 3.0, 0.0, 3.0]])
    w = np.array([[1, 0, 1, 0], [0, 2, 0, 0]], dtype=float)
    m = decision_metrics(task, w, realized)
    # attended: 2 of 4 zones, then 1 of 4 -> area share 3/8; hits 6 + 3 of 12
    assert m["pai"] == pytest.approx((9 / 12) / (3 / 8))
    # the best 2 zones of row 0 hold 6, the best 1 of row 1 holds 3: PEI = 9 / 9
    assert m["pei"] == pytest.approx(1.0)
    other = decision_metrics(task, np.array([[0, 1, 0, 1], [0, 0, 1, 0]], float), realized)
    assert other["pai"] == 0.0 and other["pei"] == 0.0
    none = decision_metrics(task, np.zeros((2, 4)), realized)
    assert np.isnan(none["pai"]) and np.isnan(none["pei"])
