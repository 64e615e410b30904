"""A decide-mode checkpoint loads through decision learning and refits in its mode."""

import numpy as np
import torch

from cityfocus.allocate.task import DecisionTask
from cityfocus.data.split import chronological_split
from cityfocus.data.synthetic import synthetic_city
from cityfocus.data.windows import split_windows
from cityfocus.learn.policies import decide_windows
from cityfocus.learn.registry import load_forecaster, make_forecaster

TASK = DecisionTask("coverage", 3.0, True, params={"alpha": 0.5})


def test_decide_checkpoint_refits_in_decide_mode(tmp_path):
    split = chronological_split(synthetic_city(n_zones=6, days=8, seed=2).data, 0.7, 0.1)
    model = make_forecaster("seed_mlp", 6, 2, epochs=1, progress=False, seed=0, device="cpu",
                            mode="decide", task=TASK.to_config())
    path = model.fit(split.train, split.val).save(tmp_path / "d.pt")
    assert torch.load(path, weights_only=False)["params"]["mode"] == "decide"
    loaded = load_forecaster(path, device="cpu")
    windows = split_windows(split, "test", 6, 2)
    np.testing.assert_array_equal(decide_windows(loaded, windows, TASK),
                                  decide_windows(model, windows, TASK))
    loaded.fit(split.train, split.val, warm_start=True)  # decide phase only: weights kept
    assert loaded.pretrain_result_ is None
    assert np.isfinite(loaded.train_result_.best_val)
