"""The faster Quantus internals (ssl_xai_bench.metrics.quantus_speed) equal Quantus' own."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import quantus

from ssl_xai_bench.metrics import quantus_params, quantus_speed, quantus_suite

from .conftest import SpanModel, span_attribution

N, M, T = 6, 4, 256
PARAMS = {"nr_runs": 9, "subset_size": 48}


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, M, T)).astype(np.float32)
    pos = rng.uniform(1.0, 3.0, (N, 3)).astype(np.float32)
    model = SpanModel(channel=2, start=32, stop=160).eval()
    rand = rng.standard_normal(x.shape).astype(np.float32)
    return model, x, pos, rand


def test_faithfulness_correlation_equals_quantus_given_the_same_subsets(case, monkeypatch):
    model, x, pos, rand = case
    # Mix the true attribution with noise so the scores are neither 1 nor ~0.
    mixed = span_attribution(model, x, pos) + 0.5 * rand
    seed = 3
    ours = quantus_suite.run_quantus_metric("faithfulness_correlation", model, x, pos, mixed,
                                 params=PARAMS, batch_size=N, seed=seed)
    # Stock Quantus, its legacy draws replaced by the generator ours seeds from the same state.
    generator = np.random.default_rng(np.random.RandomState(seed).randint(0, 2**31 - 1))
    draws = []

    def choice(n, size, replace=True):
        assert not replace
        draws.append(generator.choice(n, size, replace=False))
        return draws[-1]

    spec = quantus_params.QUANTUS_METRICS["faithfulness_correlation"]
    monkeypatch.setitem(quantus_params.QUANTUS_METRICS, "faithfulness_correlation",
                        dataclasses.replace(spec, implementation=None))  # Quantus' own class
    monkeypatch.setattr(np.random, "choice", choice)
    stock = quantus_suite.run_quantus_metric("faithfulness_correlation", model, x, pos, mixed,
                                  params=PARAMS, batch_size=N, seed=seed)
    assert len(draws) == N * PARAMS["nr_runs"]
    assert all(np.unique(d).size == PARAMS["subset_size"] for d in draws)  # no replacement
    assert np.all(np.abs(ours) < 0.999) and np.ptp(ours) > 0.05
    np.testing.assert_allclose(ours, stock, rtol=1e-12, atol=0)


def test_faithfulness_correlation_is_seeded_and_seeds_matter(case):
    model, x, pos, rand = case
    run = lambda seed: quantus_suite.run_quantus_metric(  # noqa: E731
        "faithfulness_correlation", model, x, pos, rand, params=PARAMS, batch_size=3, seed=seed)
    np.testing.assert_array_equal(run(0), run(0))
    assert not np.array_equal(run(0), run(1))


def test_fast_asserts_refuse_what_quantus_refuses_but_all_negative_relevance():
    x = np.ones((2, 3, 8), np.float32)
    for bad in (np.zeros_like(x), np.ones_like(x), np.full_like(x, 0.5), -np.ones_like(x)):
        with pytest.raises(AssertionError):
            quantus_speed._assert_attributions_fast(x, bad)
        with pytest.raises(AssertionError):
            quantus.helpers.asserts.assert_attributions(x, bad)
    good = np.arange(48, dtype=np.float32).reshape(x.shape)
    quantus_speed._assert_attributions_fast(x, good)
    quantus.helpers.asserts.assert_attributions(x, good)
    # all below zero: Quantus' class-score check refuses it, a regression scalar's relevance may be
    negative = -1.0 - good
    with pytest.raises(AssertionError, match="less than zero"):
        quantus.helpers.asserts.assert_attributions(x, negative)
    quantus_speed._assert_attributions_fast(x, negative)


def test_localisation_auc_equals_quantus_with_ties_and_degenerate_masks():
    rng = np.random.default_rng(4)
    a = np.maximum(rng.standard_normal((8, 1, 300)), 0.0)  # half the samples tie at 0
    a[1] = np.round(a[1] * 2)  # a few distinct values: many ties
    s = rng.random((8, 1, 300)) < 0.3
    s[2, 0, :40] = True  # a contiguous block
    s[6], s[7] = False, True  # empty and full masks: no area
    x = rng.standard_normal(a.shape).astype(np.float32)
    kwargs = dict(x_batch=x, y_batch=np.zeros(8, dtype=np.int64), a_batch=a, s_batch=s,
                  channel_first=True, softmax=False)
    common = dict(abs=False, normalise=False, disable_warnings=True)
    with pytest.warns(Warning):  # scikit-learn: the full mask has no negative sample
        theirs = np.asarray(quantus.AUC(**common)(model=None, **kwargs), dtype=float)
    ours = np.asarray(quantus_speed.AUC(**common)(model=None, **kwargs), dtype=float)
    np.testing.assert_allclose(ours[:6], theirs[:6], rtol=1e-12)
    assert np.isnan(ours[6:]).all() and np.isnan(theirs[6:]).all()
