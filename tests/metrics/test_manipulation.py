"""The paper's manipulation experiment (ssl_xai_bench.metrics.manipulation)."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_xai_bench.metrics import manipulation

from .conftest import CountingModel, SpanModel, make_scene, span_attribution


def test_zero_top_zeroes_exactly_the_ranked_samples():
    x = np.arange(1, 25, dtype=np.float32).reshape(2, 3, 4)
    order = manipulation.ranking_order(x)  # largest first
    out = manipulation.zero_top(x, order, 5)
    assert (out == 0).sum() == 10
    np.testing.assert_array_equal(out[0].ravel()[:7], x[0].ravel()[:7])
    assert np.all(out[0].ravel()[7:] == 0) and np.all(x != 0)  # input untouched


@pytest.mark.parametrize("kind", ["continuous", "ties", "all_equal", "nan"])
def test_top_k_masks_equal_the_first_k_of_a_stable_sort(kind):
    rng = np.random.default_rng(3)
    key = rng.standard_normal((5, 400))
    if kind == "ties":  # few distinct values: every threshold is a long run of ties
        key = rng.integers(0, 4, key.shape).astype(float)
    elif kind == "all_equal":
        key = np.zeros_like(key)
    elif kind == "nan":
        key[:, ::7] = np.nan
    ks = [0, 1, 40, 120, 200, 399, 400]
    order = np.argsort(key, axis=1, kind="stable")
    for k, mask in zip(ks, manipulation.top_k_masks(key, ks), strict=True):
        expected = np.zeros(key.shape, bool)
        np.put_along_axis(expected, order[:, :k], True, axis=1)
        np.testing.assert_array_equal(mask, expected, err_msg=f"k={k}")


def test_curves_equal_the_sort_based_reference():
    scene = make_scene(n_sources=3, windows_per_source=2, n_samples=128, seed=1)
    model = SpanModel(channel=1, start=10, stop=60).eval()
    x = scene.windows
    rel = np.round(np.random.default_rng(0).standard_normal(x.shape), 1)  # many ties
    fractions = (0.0, 0.1, 0.35, 0.7)
    curves = manipulation.manipulation_errors(model, x, scene.positions, rel, fractions, seed=5)
    n_feat = x[0].size
    orders = {
        "relevance": manipulation.ranking_order(rel),
        "energy": manipulation.ranking_order(np.abs(x)),
        "random": manipulation.random_order(x.shape[0], n_feat, 5),
    }
    for name, order in orders.items():
        for f, frac in enumerate(fractions):
            pred = manipulation.batched_predict(
                model, manipulation.zero_top(x, order, round(frac * n_feat)), 4
            )
            expected = np.abs(pred - scene.positions).mean(axis=1)
            np.testing.assert_allclose(
                curves[name][:, f], expected, rtol=0, atol=0, err_msg=f"{name} at {frac}"
            )


def test_relevance_removal_hurts_more_than_random_for_the_true_attribution():
    scene = make_scene(n_sources=5, windows_per_source=2, n_samples=256, seed=0)
    model = SpanModel(channel=2, start=64, stop=96).eval()
    # The span carries the position: y_hat = 2.0 + sum(span) = p_y exactly.
    x = scene.windows.copy()
    x[:, 2, 64:96] = ((scene.positions[:, 1] - 2.0) / 32.0)[:, None]
    rel = span_attribution(model, x, scene.positions)
    counting = CountingModel(model)
    fractions = (0.0, 0.1, 0.3)
    curves = manipulation.manipulation_errors(
        counting, x, scene.positions, rel, fractions, seed=0, batch_size=4
    )
    n = x.shape[0]
    # 1 unmanipulated pass + (3 rankings x 2 non-zero fractions) passes over all windows.
    assert counting.windows == n * (1 + 3 * 2)
    # 10 % of 8 x 256 samples covers the whole 32-sample span: the prediction falls to the bias.
    pred_bias = np.abs(np.array([1.0, 2.0, 0.5]) - scene.positions).mean(axis=1)
    np.testing.assert_allclose(curves["relevance"][:, 1], pred_bias, rtol=1e-5)
    assert np.all(curves["relevance"][:, 0] == curves["random"][:, 0])
    gap = manipulation.gap_at(curves, fractions)
    # Random removal zeroes ~10 % of the span: about a tenth of the y error.
    expected = np.abs(scene.positions[:, 1] - 2.0) / 3 * 0.9
    np.testing.assert_allclose(gap.mean(), expected.mean(), rtol=0.35)
    same = manipulation.manipulation_errors(model, x, scene.positions, rel, fractions, seed=0)
    np.testing.assert_array_equal(same["random"], curves["random"])  # seeded


def test_curve_area_and_gap_definitions():
    curve = np.full((3, 8), 0.2)
    assert manipulation.curve_area(curve, manipulation.PAPER_FRACTIONS) == pytest.approx(
        np.full(3, 0.7 * 0.2)
    )
    curves = {"relevance": np.array([[0.1, 0.5]]), "random": np.array([[0.1, 0.15]])}
    assert manipulation.gap_at(curves, (0.0, 0.1))[0] == pytest.approx(0.35)
    with pytest.raises(ValueError, match="fractions"):
        manipulation.gap_at(curves, (0.0, 0.2))


def test_bad_inputs_are_refused():
    x = np.zeros((2, 2, 8), np.float32)
    model = SpanModel(0, 0, 4)
    with pytest.raises(ValueError, match="relevance"):
        manipulation.manipulation_errors(model, x, np.zeros((2, 3)), np.zeros((2, 2, 7)))
    with pytest.raises(ValueError, match="fractions"):
        manipulation.manipulation_errors(model, x, np.zeros((2, 3)), x, fractions=(0.0, 1.0))
