"""End to end: evaluate_method / evaluate_signals on a constructed scene and a tiny model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.presets import preset_dict
from ssl_xai_bench.metrics import cost, quantus_suite
from ssl_xai_bench.metrics.catalogue import METRICS
from ssl_xai_bench.metrics.config import MetricsConfig
from ssl_xai_bench.metrics.evaluate import evaluate_controls, evaluate_method, evaluate_signals
from ssl_xai_bench.metrics.manipulation import CURVE_COLUMNS
from ssl_xai_bench.metrics.stats import SUMMARY_FIELDS
from ssl_xai_bench.metrics.tdoa import TDOA_COLUMNS

from .conftest import gradient_x_input, make_scene


class TinyLocalizer(nn.Module):
    def __init__(self, n_mics: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(n_mics, 4, 9, stride=4)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)).mean(dim=-1)) + torch.tensor([1.7, 5.5, 1.2])


def _config() -> MetricsConfig:
    d = MetricsConfig.from_dict(preset_dict("smoke").get("metrics", {})).to_dict()
    d.update(tdoa_paper_pair=[3, 4], srp_grid_step=0.25, n_bootstrap=100)
    return MetricsConfig.from_dict(d)


def _case(model_cls: type = TinyLocalizer, n_sources: int = 4, seed: int = 3):
    """A seeded scene (2 windows per source, 8 mics, 512 samples), a model, its grad x input."""
    torch.manual_seed(0)
    scene = make_scene(n_sources=n_sources, windows_per_source=2, n_samples=512, seed=seed)
    model = model_cls(8).eval()
    relevance = gradient_x_input(model, torch.from_numpy(scene.windows),
                                 torch.from_numpy(scene.positions)).numpy()
    return scene, model, relevance


def test_evaluate_method_and_signals_produce_the_contract():
    scene, model, relevance = _case()
    cfg = _config()
    res = evaluate_method(model, scene, relevance, method="gxi", explain_fn=gradient_x_input,
                          config=cfg, seed=0)
    rows = pd.DataFrame(res.rows)
    for col in ("metric", "category", "direction", "unit", *SUMMARY_FIELDS):
        assert col in rows.columns
    assert set(rows["metric"]) <= set(METRICS)
    assert set(cfg.quantus.quantus_metrics) <= set(rows["metric"])
    for name in ("tdoa_paper_gain_vs_constant", "tdoa_bounded_gain_vs_constant",
                 "manipulation_gap_at_10", "dereverb_gain_vs_microphones",
                 "srp_gain_vs_microphones", "channel_identity", "conservation_ratio"):
        assert name in set(rows["metric"]), name
    ok = rows[rows["n_nonfinite"] == 0]
    assert len(ok) > 20 and (ok["n_sources"] == 4).all()
    assert ((ok["ci_low"] <= ok["mean"]) & (ok["mean"] <= ok["ci_high"])).all()
    assert (rows["n_windows"] + rows["n_nonfinite"] == 8).all()
    assert list(res.curves.columns) == CURVE_COLUMNS
    m = cfg.manipulation
    n_curves = len(m.controls) + len(m.manipulation_curves)
    assert len(res.curves) == (n_curves * len(m.manipulation_fractions)
                               * len(m.removal_baselines))
    assert set(res.curves["baseline"]) == set(m.removal_baselines) == {"zero", "noisy_linear"}
    for name in ("manipulation_srg", "manipulation_srg_noisy_linear",
                 "faithfulness_correlation_noisy_linear", "manipulation_spatial_gap"):
        assert name in set(rows["metric"]), name
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


class _CountingLocalizer(TinyLocalizer):
    def __init__(self, n_mics: int) -> None:
        super().__init__(n_mics)
        self.windows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.windows += int(x.shape[0])
        return super().forward(x)


def test_shared_controls_equal_the_in_cell_curves_and_are_not_recomputed():
    scene, model, relevance = _case(_CountingLocalizer, n_sources=3, seed=4)
    d = _config().to_dict()
    d["quantus_metrics"] = []
    cfg = MetricsConfig.from_dict(d)
    m = cfg.manipulation
    model.windows = 0  # the relevance's forward
    controls = evaluate_controls(model, scene, m, seed=5, removal_seed=9)
    assert sorted(controls) == ["energy", "energy_noisy_linear", "random", "random_noisy_linear"]
    n_fractions = sum(f > 0 for f in m.manipulation_fractions)
    assert model.windows == 6 * (1 + 2 * 2 * n_fractions)
    alone = evaluate_method(model, scene, relevance, method="gxi", explain_fn=None, config=cfg,
                            seed=5, removal_seed=9)
    model.windows = 0
    shared = evaluate_method(model, scene, relevance, method="gxi", explain_fn=None, config=cfg,
                             seed=5, controls=controls, removal_seed=9)
    pd.testing.assert_frame_equal(shared.curves, alone.curves)
    assert pd.DataFrame(shared.rows).equals(pd.DataFrame(alone.rows))
    # Only the relevance curves (P > 0) and the P = 0 forward ran: no control forwards.
    assert model.windows == 6 * (1 + cost.manipulation_forwards(m))
    assert cost.manipulation_forwards(m) == len(m.manipulation_curves) * 2 * n_fractions
    with pytest.raises(ValueError, match="controls: need the 'random' curve"):
        evaluate_method(model, scene, relevance, method="gxi", explain_fn=None, config=cfg,
                        seed=5, controls={"energy": controls["energy"]})


def test_explain_windows_limits_the_recomputing_metrics_to_one_window_per_source():
    scene, model, relevance = _case()
    calls = []

    def explain(m, inputs, targets):
        calls.append(int(inputs.shape[0]))
        return gradient_x_input(m, inputs, targets)

    d = _config().to_dict()
    d.update(quantus_metrics=["max_sensitivity", "sparseness"], explain_windows=3)
    res = evaluate_method(model, scene, relevance, method="gxi", explain_fn=explain,
                          config=MetricsConfig.from_dict(d), seed=0)
    rows = pd.DataFrame(res.rows).set_index("metric")
    assert sum(calls) == 3  # nr_samples explanations of 3 windows only
    # two windows per source: the 3 windows are the first of sources 0, 1 and 2
    assert rows.loc["max_sensitivity", "n_windows"] == 3
    assert rows.loc["max_sensitivity", "n_sources"] == 3
    assert rows.loc["max_sensitivity", "n_nonfinite"] == 0
    assert rows.loc["sparseness", "n_windows"] == 8
    per_window = res.per_window["max_sensitivity"]
    scored = np.isfinite(per_window)
    assert per_window.shape == (8,) and np.flatnonzero(scored).tolist() == [0, 2, 4]
    with pytest.raises(ConfigError, match="metrics.explain_windows"):
        MetricsConfig.from_dict({**d, "explain_windows": -1})


def test_a_failing_quantus_metric_fails_only_its_own_row(monkeypatch):
    scene, model, relevance = _case()
    cfg = _config()
    whole = evaluate_method(model, scene, relevance, method="gxi", explain_fn=gradient_x_input,
                            config=cfg, seed=0)
    victim = cfg.quantus.quantus_metrics[0]
    real = quantus_suite.run_quantus_metric

    def failing(name, *args, **kwargs):
        if name == victim:
            raise AssertionError("Attributions should not all be less than zero.")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(quantus_suite, "run_quantus_metric", failing)
    part = evaluate_method(model, scene, relevance, method="gxi", explain_fn=gradient_x_input,
                           config=cfg, seed=0)
    rows = {r["metric"]: r for r in part.rows}
    victims = {victim, f"{victim}_noisy_linear"}  # the metric fails under every baseline
    for name in victims:
        assert rows[name]["status"] == "failed"
        assert rows[name]["reason"] == ("AssertionError: Attributions should not all be less "
                                        "than zero.")
        assert rows[name]["n_windows"] == 0 and rows[name]["n_nonfinite"] == 8
        assert np.isnan(rows[name]["mean"]) and f"gxi.{name}" not in part.per_window
    # Every other row, computed before or after the failing metric, is the unfailed run's.
    others = pd.DataFrame([r for r in part.rows if r["metric"] not in victims])
    pd.testing.assert_frame_equal(others, pd.DataFrame([r for r in whole.rows
                                                        if r["metric"] not in victims]))
    pd.testing.assert_frame_equal(part.curves, whole.curves)
    pd.testing.assert_frame_equal(part.tdoa, whole.tdoa)


def test_quantus_removal_metrics_run_the_others_under_the_first_baseline_only():
    """``quantus_removal_metrics`` keeps a removing metric's second-baseline row only for the
    metrics named; the cell makes fewer forwards, at most the ones the declared cost drops (an
    upper bound: the cell's store finds repeats such as "every sample removed")."""
    scene, model, relevance = _case(_CountingLocalizer, n_sources=3, seed=4)
    d = _config().to_dict()
    d.update(quantus_metrics=["faithfulness_correlation", "pixel_flipping"],
             manipulation_curves=["morf"])
    counts, names, declared = {}, {}, {}
    for every in (True, False):
        kept = None if every else ["faithfulness_correlation"]
        cfg = MetricsConfig.from_dict({**d, "quantus_removal_metrics": kept})
        model.windows = 0
        res = evaluate_method(model, scene, relevance, method="gxi",
                              explain_fn=gradient_x_input, config=cfg, seed=0)
        counts[every], declared[every] = model.windows, cost.quantus_forwards(cfg, 8, 512)
        names[every] = {r["metric"] for r in res.rows}
    assert {"faithfulness_correlation_noisy_linear", "pixel_flipping_noisy_linear"} <= names[True]
    assert {"faithfulness_correlation_noisy_linear", "pixel_flipping"} <= names[False]
    assert "pixel_flipping_noisy_linear" not in names[False]
    dropped = declared[True] - declared[False]
    assert dropped > 0
    assert 0 < counts[True] - counts[False] <= len(scene.windows) * dropped
