"""The paper's manipulation experiment (ssl_xai_bench.metrics.manipulation)."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_xai_bench.metrics import manipulation, manipulation_curves
from ssl_xai_bench.metrics.removal import make_removal

from . import reference
from .conftest import CountingModel, SpanModel, make_scene, span_attribution


def test_zero_top_zeroes_exactly_the_ranked_samples():
    x = np.arange(1, 25, dtype=np.float32).reshape(2, 3, 4)
    order = reference.ranking_order(x)  # largest first
    out = reference.zero_top(x, order, 5)
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
    curves = reference.manipulation_errors(model, x, scene.positions, rel, fractions, seed=5)
    n_feat = x[0].size
    orders = {
        "relevance": reference.ranking_order(rel),
        "energy": reference.ranking_order(np.abs(x)),
        "random": reference.random_order(x.shape[0], n_feat, 5),
    }
    for name, order in orders.items():
        for f, frac in enumerate(fractions):
            pred = manipulation.batched_predict(
                model, reference.zero_top(x, order, round(frac * n_feat)), 4
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
    curves = reference.manipulation_errors(
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
    same = reference.manipulation_errors(model, x, scene.positions, rel, fractions, seed=0)
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
        reference.manipulation_errors(model, x, np.zeros((2, 3)), np.zeros((2, 2, 7)))
    with pytest.raises(ValueError, match="fractions"):
        reference.manipulation_errors(model, x, np.zeros((2, 3)), x, fractions=(0.0, 1.0))


def test_morf_lerf_and_symmetric_relevance_gain_on_constructed_curves():
    fractions = (0.0, 0.1, 0.5)
    positions = np.zeros((2, 3))
    base = np.full((2, 3), 0.2)  # every curve starts from the unmodified output

    def curve(change):  # outputs whose mean |change| over x, y, z is `change`
        c = np.asarray(change, float)
        return base[:, None, :] + np.stack([3 * c, 0 * c, 0 * c], axis=-1)

    preds = {"relevance": curve([[0, 0.4, 0.8], [0, 0.2, 0.6]]),
             "relevance_lerf": curve([[0, 0.1, 0.2], [0, 0.0, 0.2]]),
             "relevance_time": curve([[0, 0.2, 0.4], [0, 0.2, 0.6]]),
             "random": curve([[0, 0.2, 0.5], [0, 0.1, 0.3]])}
    values, mae, change = manipulation.derived_scores(preds, positions, base, fractions)
    np.testing.assert_allclose(change["relevance"], [[0, 0.4, 0.8], [0, 0.2, 0.6]], atol=1e-12)
    scale = (0.5 + 0.3) / 2  # random removal's mean output change at the largest fraction
    area = np.array([0.1 * 0.3 / 2 + 0.4 * (0.3 + 0.6) / 2, 0.1 * 0.2 / 2 + 0.4 * 0.6 / 2])
    np.testing.assert_allclose(values["manipulation_srg"], area / scale)
    spatial = np.array([0.1 * 0.2 / 2 + 0.4 * 0.6 / 2, 0.0])
    np.testing.assert_allclose(values["manipulation_spatial_gap"], spatial / scale, atol=1e-12)
    # MAE curves: |0.2 + 3c| + 0.2 + 0.2 over three coordinates, areas by the trapezoid rule.
    np.testing.assert_allclose(mae["relevance_lerf"][0], (np.array([0.2, 0.5, 0.8]) + 0.4) / 3)
    np.testing.assert_allclose(values["manipulation_auc_relevance_lerf"],
                               manipulation.curve_area(mae["relevance_lerf"], fractions))
    gap = values["manipulation_gap_at_10"]
    np.testing.assert_allclose(gap, mae["relevance"][:, 1] - mae["random"][:, 1])
    assert "manipulation_gap_vs_energy_at_10" not in values  # no energy curve
    flat = manipulation.derived_scores({**preds, "random": curve(np.zeros((2, 3)))}, positions,
                                       base, fractions)[0]
    assert np.isnan(flat["manipulation_srg"]).all()  # random removal changes nothing: no scale


def test_lerf_keeps_the_span_until_everything_else_is_gone():
    scene = make_scene(n_sources=3, windows_per_source=2, n_samples=256, seed=2)
    model = SpanModel(channel=2, start=64, stop=96).eval()
    x = scene.windows
    support = np.zeros_like(x)
    support[:, 2, 64:96] = 1.0
    removal = make_removal("zero", x, scene.source_ids, seed=0)
    keys = {kind.name: (manipulation_curves.relevance_key(support, kind), kind.layout)
            for kind in manipulation_curves.RELEVANCE_CURVES.values()}
    fractions = (0.0, 0.1, 0.5, 0.9)
    base = manipulation.batched_predict(model, x, 4)
    preds = manipulation_curves.curve_predictions(model, removal, keys, fractions, 4, base)
    bias = np.array([1.0, 2.0, 0.5])
    # MoRF takes the 32-sample span first (10 % of 8 x 256 covers it): the output is the bias.
    np.testing.assert_allclose(preds["relevance"][:, 1], np.broadcast_to(bias, (6, 3)), rtol=1e-6)
    # LeRF removes the other 2016 samples first: 90 % of 2048 leaves the span intact.
    np.testing.assert_allclose(preds["relevance_lerf"][:, 1:],
                               np.repeat(base[:, None], 3, axis=1), rtol=1e-6)
    # Time-aligned: 10 % of 256 time samples = 26 of the 32 span times, on every microphone.
    masks = manipulation_curves.removal_masks(keys["relevance_time"][0], "time", fractions,
                                              x.shape)
    assert masks[1].sum() == 6 * 8 * 26 and np.all(masks[1] == masks[1][:, :1])
    assert np.all(masks[1][:, :, 64:90]) and not masks[1][:, :, 90:].any()


def test_time_and_sample_layouts_agree_for_a_relevance_copied_across_microphones():
    rel = np.repeat(np.random.default_rng(4).standard_normal((3, 1, 50)), 4, axis=1)
    kinds = manipulation_curves.RELEVANCE_CURVES
    for order in ("morf", "lerf"):
        sample = kinds[order]
        time = kinds[f"time_{order}"]
        fractions = (0.0, 0.1, 0.34, 0.7)  # whole numbers of time samples
        a = manipulation_curves.removal_masks(
            manipulation_curves.relevance_key(rel, sample), "sample", fractions, rel.shape)
        b = manipulation_curves.removal_masks(
            manipulation_curves.relevance_key(rel, time), "time", fractions, rel.shape)
        for ma, mb in zip(a, b, strict=True):
            np.testing.assert_array_equal(ma, mb)
