"""Quantus adapted to a localizer: known answers on a model that reads one channel and span."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics import quantus_params, quantus_suite
from ssl_xai_bench.metrics.quantus_speed import refused_windows

from .conftest import CountingModel, gradient_x_input, span_case

N, M, T = 8, 4, 256
PARAMS = {
    "faithfulness_correlation": {"nr_runs": 12, "subset_size": 64},
    "faithfulness_estimate": {"features_in_step": 32},
    "pixel_flipping": {"features_in_step": 32},
    "monotonicity_correlation": {"features_in_step": 32},
    "region_perturbation": {"patch_size": 4, "regions_evaluation": 8},
    "max_sensitivity": {"nr_samples": 2, "lower_bound": 0.01},
}


@pytest.fixture(scope="module")
def case():
    return span_case(N, M, T, channel=1, start=64, stop=128)


def _run(name, case, attribution, **kw):
    model, x, pos, _, _ = case
    return quantus_suite.run_quantus_metric(
        name,
        model,
        x,
        pos,
        attribution,
        explain_fn=gradient_x_input,
        params=PARAMS.get(name),
        batch_size=kw.pop("batch_size", 4),
        **kw,
    )


def test_faithfulness_correlations_true_vs_random(case):
    _, _, _, true, rand = case
    for name in ("faithfulness_correlation", "faithfulness_estimate"):
        # The scalar is linear: its drop equals the removed relevance exactly.
        np.testing.assert_allclose(_run(name, case, true), 1.0, atol=1e-6)
        assert abs(np.nanmean(_run(name, case, rand))) < 0.3
    assert np.all(_run("monotonicity_correlation", case, true) > 0.9)
    assert abs(np.nanmean(_run("monotonicity_correlation", case, rand))) < 0.3


def test_ordering_metrics_prefer_the_true_attribution(case):
    _, _, _, true, rand = case
    # Pixel flipping (down): zeroing the true relevance first lowers the scalar fastest.
    assert np.all(_run("pixel_flipping", case, true) < _run("pixel_flipping", case, rand))
    # Region perturbation (up): the true regions give the largest mean drop.
    assert np.all(_run("region_perturbation", case, true) > _run("region_perturbation", case, rand))


def test_complexity_and_sparseness_known_order(case):
    _, _, _, true, rand = case
    assert np.all(_run("sparseness", case, true) > _run("sparseness", case, rand))
    assert np.all(_run("complexity", case, true) < _run("complexity", case, rand))


def test_robustness_and_randomisation_recompute_with_our_explain_fn(case):
    model, x, pos, _, _ = case
    a = gradient_x_input(model, x, pos).numpy()
    sens = _run("max_sensitivity", case, a)
    # grad x input of a linear scalar is p_y * x: noise of +-0.01 changes it by ~1 %.
    assert np.all((sens > 0) & (sens < 0.05))
    # Randomising the model's only layer (the bias) leaves grad x input unchanged: score 0.
    np.testing.assert_allclose(_run("efficient_mprt", case, a), 0.0, atol=1e-12)
    with pytest.raises(ValueError, match="explain_fn"):
        quantus_suite.run_quantus_metric("max_sensitivity", model, x, pos, a)


def test_mprt_explains_only_the_randomised_model(case):
    model, x, pos, _, _ = case
    calls = []

    def counting_explain(m, inputs, targets):
        calls.append(m)
        return gradient_x_input(m, inputs, targets)

    a = gradient_x_input(model, x, pos).numpy()
    scores = quantus_suite.run_quantus_metric(
        "efficient_mprt", model, x, pos, a, explain_fn=counting_explain, batch_size=4
    )
    # One explanation per batch (of the randomised copy); the original's is the given relevance.
    assert len(calls) == N // 4
    assert all(m is not model for m in calls)
    assert quantus_params.explain_calls_per_window("efficient_mprt", {}) == 1
    np.testing.assert_allclose(scores, 0.0, atol=1e-12)
    # The score compares the *given* relevance with the randomised model's: a different given
    # relevance (a sparser map, lower entropy) changes it, so it was not recomputed.
    sparse = a.copy()
    sparse[..., 64:120] = 0.0  # the model's span is 64..128: keep 8 of its 64 samples
    other = quantus_suite.run_quantus_metric(
        "efficient_mprt", model, x, pos, sparse, explain_fn=counting_explain, batch_size=4
    )
    assert np.all(np.abs(other) > 1e-3)


def test_scores_do_not_depend_on_batching_and_targets_stay_aligned(case):
    _, _, _, true, rand = case
    for name in ("faithfulness_estimate", "pixel_flipping", "sparseness"):
        one = _run(name, case, rand, batch_size=1)
        three = _run(name, case, rand, batch_size=3)
        np.testing.assert_allclose(one, three, rtol=1e-6)
    # Permuting windows (with their targets) permutes the scores.
    model, x, pos, _, _ = case
    perm = np.random.default_rng(1).permutation(N)
    a = quantus_suite.run_quantus_metric(
        "pixel_flipping", model, x, pos, true, params=PARAMS["pixel_flipping"]
    )
    b = quantus_suite.run_quantus_metric(
        "pixel_flipping", model, x[perm], pos[perm], true[perm], params=PARAMS["pixel_flipping"]
    )
    np.testing.assert_allclose(a[perm], b, rtol=1e-6)


def test_forward_counts_match_the_declared_cost(case):
    model, x, pos, true, _ = case
    for name in (
        "faithfulness_correlation",
        "faithfulness_estimate",
        "pixel_flipping",
        "monotonicity_correlation",
        "region_perturbation",
    ):
        counting = CountingModel(model)
        quantus_suite.run_quantus_metric(
            name, counting, x, pos, true, params=PARAMS[name], batch_size=4
        )
        params = quantus_params.metric_params(name, PARAMS[name])
        assert counting.windows == N * quantus_params.forwards_per_window(name, params, M, T), name


def test_all_zero_relevance_window_is_nan(case):
    model, x, pos, true, _ = case
    a = true.copy()
    a[3] = 0.0
    scores = quantus_suite.run_quantus_metric(
        "faithfulness_estimate", model, x, pos, a, params=PARAMS["faithfulness_estimate"]
    )
    assert np.isnan(scores[3]) and np.isfinite(np.delete(scores, 3)).all()


def test_windows_quantus_refuses_are_nan_and_leave_the_others_unchanged(case):
    model, x, pos, true, _ = case
    a = true.copy()
    a[5] = 0.25  # one value: no ranking
    refused = refused_windows(a)
    assert refused.tolist() == [i == 5 for i in range(N)]
    name, params = "faithfulness_estimate", PARAMS["faithfulness_estimate"]
    scores = quantus_suite.run_quantus_metric(name, model, x, pos, a, params=params, batch_size=4)
    assert np.isnan(scores[5]) and np.isfinite(np.delete(scores, 5)).all()
    keep = np.flatnonzero(~refused)
    alone = quantus_suite.run_quantus_metric(
        name, model, x[keep], pos[keep], a[keep], params=params, batch_size=4
    )
    np.testing.assert_allclose(scores[keep], alone, rtol=1e-6)


@pytest.mark.parametrize("name", ["faithfulness_estimate", "faithfulness_correlation"])
def test_all_negative_relevance_is_scored_as_the_negated_correlation(case, name):
    # Stock Quantus refuses relevance below zero everywhere (a class-score assumption); for a
    # regression scalar it is a signed explanation. Both correlations remove the same samples
    # for a and -a (the same groups, the same seeded subsets), so the score must flip sign.
    model, x, pos, true, _ = case
    positive = np.abs(true) + 1e-3
    assert not refused_windows(-positive).any()
    up = quantus_suite.run_quantus_metric(name, model, x, pos, positive, params=PARAMS[name])
    down = quantus_suite.run_quantus_metric(name, model, x, pos, -positive, params=PARAMS[name])
    assert np.isfinite(down).all()
    np.testing.assert_allclose(down, -up, rtol=1e-5, atol=1e-6)


def test_parameters_are_validated_against_the_input_shape(case):
    model, x, pos, true, _ = case
    with pytest.raises(ConfigError, match="faithfulness_estimate.features_in_step"):
        quantus_suite.run_quantus_metric(
            "faithfulness_estimate", model, x, pos, true, params={"features_in_step": 100}
        )
    with pytest.raises(ConfigError, match="region_perturbation.patch_size"):
        quantus_suite.run_quantus_metric(
            "region_perturbation", model, x, pos, true, params={"patch_size": 5}
        )
    with pytest.raises(ConfigError, match="subset_size"):
        quantus_suite.run_quantus_metric(
            "faithfulness_correlation", model, x, pos, true, params={"subset_size": T}
        )
    with pytest.raises(ConfigError, match="pixel_flipping.nr_runs"):
        quantus_params.metric_params("pixel_flipping", {"nr_runs": 3})
    assert quantus_params.resolve_params({"features_in_step": "T"}, 256)["features_in_step"] == 256


def test_registry_directions_and_categories():
    cats = {m.category for m in quantus_params.QUANTUS_METRICS.values()}
    assert cats == {"faithfulness", "robustness", "randomisation", "complexity"}
    assert all(m.direction in ("up", "down") for m in quantus_params.QUANTUS_METRICS.values())
    assert quantus_params.QUANTUS_METRICS["pixel_flipping"].direction == "down"


def test_steps_of_several_window_lengths_equal_the_same_flattened_steps(case):
    """features_in_step = 2T (steps over the flattened M x T input) runs through Quantus, which
    wants the step to divide the last axis, and scores exactly like step T on the same windows
    seen as (M/2, 2T), i.e. the same flattened order."""
    model, x, pos, true, rand = case

    class Folded(torch.nn.Module):
        def forward(self, z):
            return model(z.reshape(z.shape[0], M, T))

    folded = Folded().eval()
    x2, r2 = x.reshape(N, M // 2, 2 * T), rand.reshape(N, M // 2, 2 * T)
    for name in ("faithfulness_estimate", "pixel_flipping", "monotonicity_correlation"):
        two = quantus_suite.run_quantus_metric(
            name, model, x, pos, rand, params={"features_in_step": "2T"}, batch_size=4
        )
        same = quantus_suite.run_quantus_metric(
            name, folded, x2, pos, r2, params={"features_in_step": "T"}, batch_size=4
        )
        np.testing.assert_array_equal(two, same)
        counting = CountingModel(model)
        quantus_suite.run_quantus_metric(
            name, counting, x, pos, rand, params={"features_in_step": "2T"}, batch_size=4
        )
        params = quantus_params.metric_params(name, {"features_in_step": "2T"})
        assert counting.windows == N * quantus_params.forwards_per_window(name, params, M, T)
