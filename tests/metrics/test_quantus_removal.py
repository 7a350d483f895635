"""Quantus' perturbation metrics with our removal baselines, and the forwards a cell shares."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from quantus.functions.perturb_func import batch_baseline_replacement_by_indices

from ssl_xai_bench.metrics import quantus_suite
from ssl_xai_bench.metrics.forward_cache import SharedForwards
from ssl_xai_bench.metrics.manipulation_curves import batched_predict
from ssl_xai_bench.metrics.quantus_removal import QuantusRemoval
from ssl_xai_bench.metrics.removal import make_removal

from .conftest import CountingModel, span_case

N, M, T = 6, 4, 256
REMOVING = {
    "faithfulness_correlation": {"nr_runs": 6, "subset_size": 48},
    "faithfulness_estimate": {"features_in_step": 128},
    "pixel_flipping": {"features_in_step": 128},
    "monotonicity_correlation": {"features_in_step": 128, "nr_samples": 2},
    "region_perturbation": {"patch_size": 4, "regions_evaluation": 5},
}


@pytest.fixture(scope="module")
def case():
    model, x, pos, true, rand = span_case(N, M, T, channel=1, start=64, stop=128)
    return model, x, pos, true + 0.3 * rand  # a relevance that is neither exact nor random


def _run(name, case, removal=None, model=None):
    base, x, pos, rel = case
    return quantus_suite.run_quantus_metric(name, model or base, x, pos, rel,
                                            params=REMOVING[name], removal=removal,
                                            batch_size=3, seed=2)


@pytest.mark.parametrize("name", list(REMOVING))
def test_zero_removal_equals_quantus_own_replacement_by_zero(case, monkeypatch, name):
    ours = _run(name, case)

    def stock(removal, rows, cumulative):
        return lambda arr, indices, **_: batch_baseline_replacement_by_indices(
            arr, indices, perturb_baseline=0.0)

    monkeypatch.setattr(quantus_suite, "QuantusRemoval", stock)
    np.testing.assert_allclose(ours, _run(name, case), rtol=1e-6, atol=1e-7)
    assert np.all(np.isfinite(ours))


def test_cumulative_removal_imputes_from_the_original_windows(case):
    model, x, pos, rel = case
    nl = make_removal("noisy_linear", x, np.arange(N), seed=4)
    scores = _run("pixel_flipping", case, removal=nl)
    # By hand: step k removes the top k x 128 samples of the relevance, imputed from the
    # original windows (never from an earlier step's imputation).
    order = np.argsort(-rel.reshape(N, -1), axis=1)
    scalars = []
    for k in range(1, M * T // 128 + 1):
        gone = np.zeros((N, M * T), bool)
        np.put_along_axis(gone, order[:, :k * 128], True, axis=1)
        out = batched_predict(model, nl.apply(gone.reshape(x.shape)), N)
        scalars.append((out * pos).sum(axis=1))
    np.testing.assert_allclose(scores, np.trapezoid(np.stack(scalars, 1), axis=1), rtol=1e-5)


def test_removal_perturb_func_refuses_foreign_inputs(case):
    _, x, _, _ = case
    zero = make_removal("zero", x, np.arange(N), seed=0)
    once = QuantusRemoval(zero, np.arange(2), cumulative=False)
    with pytest.raises(RuntimeError, match="cell's windows"):
        once(x[2:4].reshape(2, -1), np.zeros((2, 3), int))
    steps = QuantusRemoval(zero, np.arange(2), cumulative=True)
    first = steps(x[:2].reshape(2, -1).copy(), np.zeros((2, 3), int))
    steps(first, np.ones((2, 3), int))
    with pytest.raises(RuntimeError, match="previous output"):
        steps(first.copy(), np.ones((2, 3), int))


def test_perturbation_metrics_share_their_forwards(case):
    model, x, pos, rel = case
    counting = CountingModel(model)
    shared = SharedForwards(counting).eval()
    shared.remember(x, batched_predict(model, x, N))
    nl = make_removal("noisy_linear", x, np.arange(N), seed=1)
    groups = M * T // 128
    estimate = _run("faithfulness_estimate", case, removal=nl, model=shared)
    assert counting.windows == N * groups  # the unperturbed prediction was already known
    flipping = _run("pixel_flipping", case, removal=nl, model=shared)
    # Its first step is estimate's first group; its last removes every sample, which leaves
    # the same all-zero window for every window (one forward).
    assert counting.windows == N * groups + N * (groups - 2) + 1
    counting.windows = 0
    mono = _run("monotonicity_correlation", case, removal=nl, model=shared)
    assert counting.windows == N * groups  # its groups (of |relevance|) twice each: once
    for name, scores in (("faithfulness_estimate", estimate), ("pixel_flipping", flipping),
                         ("monotonicity_correlation", mono)):
        np.testing.assert_array_equal(scores, _run(name, case, removal=nl))
    alone = CountingModel(model)
    _run("monotonicity_correlation", case, removal=nl, model=alone)
    assert alone.windows == N * (1 + 2 * groups)  # without the store: Quantus' own count


def test_shared_forwards_returns_the_models_outputs(case):
    model, x, _, _ = case
    counting = CountingModel(model)
    shared = SharedForwards(counting)
    batch = torch.from_numpy(np.concatenate([x[:3], x[1:2], x[:3]]))
    out = shared(batch)
    np.testing.assert_array_equal(out.numpy(), model(batch).detach().numpy())
    assert counting.windows == 3 and shared.computed == 3 and shared.reused == 4
