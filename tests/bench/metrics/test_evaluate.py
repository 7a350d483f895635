"""End to end: evaluate_method / evaluate_signals on a constructed scene and a tiny model."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from torch import nn

from bench.metrics import METRICS, MetricsConfig, evaluate_method, evaluate_signals
from bench.metrics.stats import SUMMARY_FIELDS
from bench.metrics.tdoa import TDOA_COLUMNS

from .conftest import gradient_x_input, make_scene


class TinyLocalizer(nn.Module):
    def __init__(self, n_mics: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(n_mics, 4, 9, stride=4)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(dim=-1)) + torch.tensor([1.7, 5.5, 1.2])


def _config() -> MetricsConfig:
    d = MetricsConfig.preset("smoke").to_dict()
    d.update(tdoa_paper_pair=[3, 4], srp_grid_step=0.25, n_bootstrap=100)
    return MetricsConfig.from_dict(d)


def test_evaluate_method_and_signals_produce_the_contract():
    torch.manual_seed(0)
    scene = make_scene(n_sources=4, windows_per_source=2, n_samples=512, seed=3)
    model = TinyLocalizer(8).eval()
    relevance = gradient_x_input(model, torch.from_numpy(scene.windows),
                                 torch.from_numpy(scene.positions)).numpy()
    cfg = _config()
    res = evaluate_method(model, scene, relevance, method="gxi", explain_fn=gradient_x_input,
                          config=cfg, seed=0)
    rows = pd.DataFrame(res.rows)
    for col in ("metric", "category", "direction", "unit", *SUMMARY_FIELDS):
        assert col in rows.columns
    assert set(rows["metric"]) <= set(METRICS)
    assert set(cfg.quantus_metrics) <= set(rows["metric"])
    for name in ("tdoa_paper_gain_vs_constant", "tdoa_bounded_gain_vs_constant",
                 "manipulation_gap_at_10", "dereverb_gain_vs_microphones",
                 "srp_gain_vs_microphones", "channel_identity", "conservation_ratio"):
        assert name in set(rows["metric"]), name
    ok = rows[rows["n_nonfinite"] == 0]
    assert len(ok) > 20 and (ok["n_sources"] == 4).all()
    assert ((ok["ci_low"] <= ok["mean"]) & (ok["mean"] <= ok["ci_high"])).all()
    assert (rows["n_windows"] + rows["n_nonfinite"] == 8).all()
    assert list(res.curves.columns) == ["ranking", "fraction", "mae", "ci_low", "ci_high", "n"]
    assert len(res.curves) == 3 * len(cfg.manipulation_fractions)
    assert list(res.tdoa.columns) == list(TDOA_COLUMNS)
    assert set(res.tdoa["estimator"]) == {"gxi"}
    assert all(v.shape == (8,) for v in res.per_window.values())

    sig = evaluate_signals(scene, cfg)
    srows = pd.DataFrame(sig.rows)
    assert {"microphones", "constant", "direct_path"} <= set(srows["method"])
    assert set(sig.tdoa["estimator"]) == {"microphones", "constant", "direct_path"}
    const = sig.tdoa[(sig.tdoa["estimator"] == "constant")]
    assert (const["frac_zero_lag"] == 1.0).all() and (const["pearson"].fillna(0) == 0).all()
    # The gain vs the constant estimator is (method ok-rate) - (constant ok-rate).
    rel_ok = 1 - rows.set_index("metric").loc["tdoa_bounded_anomaly_rate", "mean"]
    const_ok = 1 - srows[(srows["metric"] == "tdoa_bounded_anomaly_rate")
                         & (srows["method"] == "constant")]["mean"].item()
    gain = rows.set_index("metric").loc["tdoa_bounded_gain_vs_constant", "mean"]
    assert gain == pytest.approx(rel_ok - const_ok)
