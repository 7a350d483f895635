"""Evaluation: the paper's MAE, per-window errors, skill and the trivial-predictor flag."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ssl_xai_bench.models.baselines import TrivialPredictor
from ssl_xai_bench.models.evaluation import (
    compare_to_trivial,
    localization_errors,
    per_window_abs_error,
    predict,
    skill,
)


def test_errors_match_hand_computed_values():
    true = np.array([[1.0, 5.0, 1.2], [2.0, 6.0, 1.4]])
    pred = true + np.array([[0.3, -0.4, 0.0], [0.0, 0.0, -0.12]])
    err = localization_errors(pred, true)
    assert err["mae_x"] == pytest.approx(0.15)
    assert err["mae_y"] == pytest.approx(0.2)
    assert err["mae_z"] == pytest.approx(0.06)
    assert err["mae"] == pytest.approx((0.3 + 0.4 + 0.12) / 6)
    assert err["euclid_mean"] == pytest.approx((0.5 + 0.12) / 2)
    assert err["euclid_median"] == pytest.approx(0.31)
    assert err["n_windows"] == 2
    per = per_window_abs_error(pred, true)
    np.testing.assert_allclose(per, [0.7 / 3, 0.04])
    assert per.mean() == pytest.approx(err["mae"])


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="pred"):
        localization_errors(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="differs"):
        localization_errors(np.zeros((3, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="mae_trivial"):
        skill(0.1, 0.0)


def test_skill_and_trivial_flag():
    rng = np.random.default_rng(0)
    true = rng.uniform([1.45, 5.25, 1.0], [1.95, 5.75, 1.5], (50, 3))
    trivial = TrivialPredictor().fit(true).predict(50)
    np.testing.assert_allclose(trivial, np.tile(true.mean(0), (50, 1)))
    assert skill(0.05, 0.1) == pytest.approx(0.5)
    good = compare_to_trivial(true + 0.01, true, trivial)
    assert good["beats_trivial"] and good["warning"] is None
    assert good["skill"] == pytest.approx(1 - 0.01 / good["mae_trivial"])
    same = compare_to_trivial(trivial, true, trivial)
    assert same["skill"] == 0.0 and not same["beats_trivial"]
    assert "does not beat the trivial predictor" in same["warning"]
    worse = compare_to_trivial(trivial + 0.2, true, trivial)
    assert worse["skill"] < 0 and not worse["beats_trivial"]


class Scaler(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([1.0, 2.0, 3.0]))
        self.drop = nn.Dropout(0.9)

    def forward(self, x):
        return self.drop(x.sum(dim=(1, 2))[:, None] * self.w)


def test_predict_is_batched_eval_mode_and_restores_mode():
    model = Scaler().train()
    x = np.random.default_rng(0).standard_normal((7, 2, 5)).astype(np.float32)
    expected = x.sum(axis=(1, 2)).astype(np.float64)[:, None] * np.array([1.0, 2.0, 3.0])
    for bs in (1, 3, 256):
        out = predict(model, x, batch_size=bs)
        assert out.dtype == np.float64 and out.shape == (7, 3)
        np.testing.assert_allclose(out, expected, rtol=1e-5)  # no dropout: eval mode
    assert model.training  # mode restored
    assert predict(model, torch.from_numpy(x)).shape == (7, 3)
    with pytest.raises(ValueError, match="windows"):
        predict(model, x[0])
