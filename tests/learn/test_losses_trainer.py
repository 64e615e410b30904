import numpy as np
import pytest
import torch

from cityfocus.errors import CityfocusError
from cityfocus.learn import TrainConfig, masked_mae, masked_mse, train_network


def test_masked_losses_ignore_missing_targets():
    pred = torch.tensor([1.0, 2.0, 3.0])
    target = torch.tensor([1.0, 0.0, 1000.0])
    mask = torch.tensor([True, True, False])
    assert masked_mse(pred, target, mask).item() == pytest.approx(2.0)
    assert masked_mae(pred, target, mask).item() == pytest.approx(1.0)
    assert masked_mse(pred, target, torch.zeros(3, dtype=torch.bool)).item() == 0.0


def test_loop_fits_a_line_and_keeps_the_best_epoch(tmp_path):
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 64)[:, None]
    y = 3 * x + 1
    net = torch.nn.Linear(1, 1)

    def step_loss(model, index):
        return ((model(x[index]) - y[index]) ** 2).mean()

    def val_metric(model):
        with torch.no_grad():
            return float(((model(x) - y) ** 2).mean())

    config = TrainConfig(epochs=60, batch_size=16, lr=0.05, progress=False,
                         log_dir=str(tmp_path / "tb"), checkpoint=str(tmp_path / "best.pt"))
    result = train_network(net, 64, step_loss, val_metric, config)
    assert result.best_val < 1e-3
    assert result.best_val == min(h["val"] for h in result.history)
    assert val_metric(net) == pytest.approx(result.best_val, rel=1e-6)
    assert list((tmp_path / "tb").iterdir()), "TensorBoard events written"
    assert (tmp_path / "best.pt").exists()


def test_early_stopping_and_divergence():
    net = torch.nn.Linear(1, 1)
    calls = []

    def flat_val(model):
        calls.append(1)
        return 1.0  # never improves after the first epoch

    result = train_network(net, 4, lambda m, i: m(torch.ones(len(i), 1)).sum() * 0,
                           flat_val, TrainConfig(epochs=50, patience=3, progress=False))
    assert result.stopped == "early stopping" and len(calls) == 4
    with pytest.raises(CityfocusError, match="diverged"):
        train_network(net, 4, lambda m, i: m(torch.ones(1, 1)).sum() * float("nan"),
                      lambda m: 1.0, TrainConfig(epochs=2, progress=False))
    with pytest.raises(CityfocusError, match="no training samples"):
        train_network(net, 0, lambda m, i: None, lambda m: 0.0, TrainConfig(progress=False))
    assert np.isfinite(result.best_val)
