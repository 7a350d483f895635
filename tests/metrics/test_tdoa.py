"""Relevance TDoA: batched GCC-PHAT, both variants, baselines, spacing groups, identity."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_xai_bench.metrics import gcc_phat, tdoa
from ssl_xai_bench.metrics.channel_identity import channel_identity

from . import reference
from .conftest import FS, C, delay_signal, line_array, make_scene


def _integer_delayed(n_win: int, delays: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((n_win, delays.size, n_samples), np.float32)
    for w in range(n_win):
        dry = rng.standard_normal(n_samples + 200)
        for m, d in enumerate(delays):
            out[w, m] = dry[100 - d : 100 - d + n_samples]
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_known_integer_delays_are_recovered_exactly_by_both_variants(dtype):
    delays = np.array([0, 3, -2, 7, 11])
    x = _integer_delayed(4, delays, 1024, seed=0)
    pairs = gcc_phat.mic_pairs(5)
    truth = np.broadcast_to(delays[pairs[:, 1]] - delays[pairs[:, 0]], (4, len(pairs)))
    paper = gcc_phat.gcc_phat_lags(x, pairs, dtype=dtype)
    bounded = gcc_phat.gcc_phat_lags(x, pairs, max_lag=np.full(len(pairs), 15), dtype=dtype)
    np.testing.assert_array_equal(paper, truth)
    np.testing.assert_array_equal(bounded, truth)
    scores = tdoa.score_estimates(paper, truth, np.full(4, 6.0))
    assert scores["anomaly_rate"] == 0 and scores["mae_samples"] == 0
    assert scores["pearson"] == pytest.approx(1.0)


def test_paper_variant_uses_signed_argmax_like_the_authors_code():
    rng = np.random.default_rng(1)
    ref = rng.standard_normal(512)
    # Strong negative copy at lag 5, weaker positive copy at lag 2: |cc| peaks at 5, cc at 2.
    sig = -1.0 * np.roll(ref, 5) + 0.6 * np.roll(ref, 2)
    x = np.stack([ref, sig])[None].astype(np.float64)
    est = gcc_phat.gcc_phat_lags(x, np.array([[0, 1]]), dtype=np.float64)[0, 0]
    assert est == reference.gcc_phat_reference(sig, ref) == 2
    # The absolute-value argmax (what utils.gcc_phat's own tau uses) would answer 5.
    n = gcc_phat.nextpow2(2 * 512 + 1)
    r = np.fft.rfft(sig, n=n) * np.conj(np.fft.rfft(ref, n=n))
    cc = np.fft.irfft(r / np.abs(r), n=n)
    assert int(np.argmax(np.abs(np.concatenate((cc[-n // 2 :], cc[: n // 2 + 1]))))) - n // 2 == 5


def test_batched_equals_the_per_window_reference_on_noise():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 6, 700))
    pairs = gcc_phat.mic_pairs(6)
    batched = gcc_phat.gcc_phat_lags(x, pairs, dtype=np.float64)
    loop = [[reference.gcc_phat_reference(x[w, j], x[w, i]) for i, j in pairs] for w in range(3)]
    np.testing.assert_array_equal(batched, np.array(loop, dtype=float))


def _relevance_like(windows: np.ndarray, seed: int) -> np.ndarray:
    """Relevance-like maps: input x a smooth positive envelope, sparsified (many exact zeros)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, windows.shape[-1])
    env = 1.0 + np.sin(2 * np.pi * rng.uniform(1, 4, windows.shape[:2] + (1,)) * t) ** 2
    rel = windows * env
    rel[np.abs(rel) < 0.3 * np.abs(rel).std(axis=-1, keepdims=True)] = 0.0
    return rel.astype(np.float32)


def _reference_loop(x: np.ndarray, pairs: np.ndarray, bound: np.ndarray | None) -> np.ndarray:
    return np.array(
        [
            [
                reference.gcc_phat_reference(
                    w[j].astype(np.float64), w[i].astype(np.float64),
                    None if bound is None else int(bound[p]),
                )
                for p, (i, j) in enumerate(pairs)
            ]
            for w in x
        ],
        dtype=float,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batched_equals_reference_loop_on_realistic_scenes_both_variants(dtype):
    scene = make_scene(n_sources=4, windows_per_source=1, seed=7)
    pairs = gcc_phat.mic_pairs(8)
    bound = tdoa.max_lags(scene.mic_positions, pairs, FS, C)
    for x in (scene.windows, scene.direct, _relevance_like(scene.windows, seed=8)):
        for b in (None, bound):
            est = gcc_phat.gcc_phat_lags(x, pairs, max_lag=b, dtype=dtype, workers=1)
            np.testing.assert_array_equal(est, _reference_loop(x, pairs, b))


def test_batching_pair_order_and_threads_do_not_change_estimates(monkeypatch):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 6, 300)).astype(np.float32)
    pairs = np.array([[4, 1], [0, 2], [0, 1], [3, 5], [0, 3], [2, 3], [0, 1], [5, 0]])
    bound = np.array([3, 40, 7, 0, 150, 12, 299, 5])
    for b in (None, bound):
        ref = _reference_loop(x, pairs, b)
        np.testing.assert_array_equal(gcc_phat.gcc_phat_lags(x, pairs, max_lag=b), ref)
        # one pair-window per inverse FFT, one window per forward FFT, two FFT threads
        monkeypatch.setattr(gcc_phat, "_SPECTRUM_ELEMENTS", 1)
        threads = torch.get_num_threads()
        small = gcc_phat.gcc_phat_lags(x, pairs, max_lag=b, chunk_elements=1, workers=2)
        assert torch.get_num_threads() == threads
        monkeypatch.undo()
        np.testing.assert_array_equal(small, ref)


def test_bounded_variant_takes_the_largest_correlation_inside_the_bound():
    rng = np.random.default_rng(10)
    ref = rng.standard_normal(512)
    sig = np.roll(ref, 10) + 0.5 * np.roll(ref, -3)  # global peak at lag 10, next at -3
    x = np.stack([ref, sig])[None].astype(np.float32)
    pair = np.array([[0, 1]])
    assert gcc_phat.gcc_phat_lags(x, pair)[0, 0] == 10
    assert gcc_phat.gcc_phat_lags(x, pair, max_lag=np.array([5]))[0, 0] == -3
    assert reference.gcc_phat_reference(sig, ref, max_lag=5) == -3
    assert gcc_phat.gcc_phat_lags(x, pair, max_lag=np.array([0]))[0, 0] == 0


def test_fft_length_defaults_to_the_authors_and_matters_for_phat():
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 6, 512)).astype(np.float32)
    pairs = gcc_phat.mic_pairs(6)
    default = gcc_phat.gcc_phat_lags(x, pairs)
    np.testing.assert_array_equal(default, gcc_phat.gcc_phat_lags(x, pairs, nfft=2048))
    # 1024 >= 2T - 1 holds every linear lag, but the PHAT weights change with the length:
    # the estimates are not those of the authors' 2048 (so no "fast" length is substituted).
    assert np.any(gcc_phat.gcc_phat_lags(x, pairs, nfft=1024) != default)


def test_bad_gcc_phat_arguments_are_refused():
    x = np.ones((1, 2, 64), np.float32)
    pair = np.array([[0, 1]])
    with pytest.raises(ValueError, match="nfft"):
        gcc_phat.gcc_phat_lags(x, pair, nfft=63)
    with pytest.raises(ValueError, match="dtype"):
        gcc_phat.gcc_phat_lags(x, pair, dtype=np.int32)
    with pytest.raises(ValueError, match="workers"):
        gcc_phat.gcc_phat_lags(x, pair, workers=0)
    with pytest.raises(ValueError, match="max_lag"):
        gcc_phat.gcc_phat_lags(x, pair, max_lag=np.array([-1]))
    with pytest.raises(ValueError, match="signals"):
        gcc_phat.gcc_phat_lags(x[0], pair)


def test_ground_truth_paper_truncates_bounded_rounds():
    # Source on the array axis: delays 46.9 and 66.2 samples at the two microphones.
    mics = np.array([[0.0, 0.0, 0.0], [-19.3 * C / FS, 0.0, 0.0]])
    pos = np.array([[46.9 * C / FS, 0.0, 0.0]])
    pairs = np.array([[0, 1]])
    assert tdoa.true_tdoa(pos, mics, pairs, FS, C, "paper")[0, 0] == 66 - 46
    assert tdoa.true_tdoa(pos, mics, pairs, FS, C, "bounded")[0, 0] == 19
    assert tdoa.max_lags(mics, pairs, FS, C)[0] == 19


def test_silent_channel_gives_nan_counted_never_a_number():
    x = _integer_delayed(2, np.array([0, 2, 4]), 256, seed=3)
    x[1, 2] = 0.0
    est = gcc_phat.gcc_phat_lags(x, gcc_phat.mic_pairs(3))
    assert np.isnan(est[1, 1]) and np.isnan(est[1, 2]) and np.isfinite(est[0]).all()
    s = tdoa.score_estimates(est, np.zeros_like(est), np.full(2, 6.0))
    assert s["n_nonfinite"] == 2 and s["n_windows"] == 4
    per = tdoa.per_window_scores(est, np.zeros_like(est), np.full(2, 6.0))
    assert np.isfinite(per["anomaly_rate"]).all()


def test_identical_relevance_scores_like_the_constant_and_is_flagged():
    scene = make_scene(n_sources=8, windows_per_source=1, seed=4)
    one_map = np.repeat(scene.windows[:, :1], scene.windows.shape[1], axis=1)
    pairs = gcc_phat.mic_pairs(8)
    bound = tdoa.max_lags(scene.mic_positions, pairs, FS, C)
    truth = tdoa.true_tdoa(scene.positions, scene.mic_positions, pairs, FS, C, "bounded")
    est = gcc_phat.gcc_phat_lags(one_map, pairs, max_lag=bound)
    const = np.zeros_like(truth)
    s_copy = tdoa.score_estimates(est, truth, scene.corr_time)
    s_const = tdoa.score_estimates(const, truth, scene.corr_time)
    assert s_copy == s_const
    assert s_copy["pearson"] == 0.0 and s_copy["frac_zero_lag"] == 1.0
    ident = channel_identity(one_map, pairs, max_lag=int(bound.max()))
    np.testing.assert_allclose(ident["identity"], 1.0, atol=1e-9)
    np.testing.assert_array_equal(ident["identity_zero_lag_frac"], 1.0)
    mic_ident = channel_identity(scene.windows, pairs, max_lag=int(bound.max()))
    assert np.all(mic_ident["identity"] < 0.9) and np.all(mic_ident["identity_zero_lag_frac"] < 1)


def test_direct_path_relevance_recovers_true_delays_on_wide_pairs():
    scene = make_scene(n_sources=12, windows_per_source=1, seed=5)
    pairs = gcc_phat.mic_pairs(8)
    spacing = tdoa.pair_spacing(scene.mic_positions, pairs)
    bound = tdoa.max_lags(scene.mic_positions, pairs, FS, C)
    truth = tdoa.true_tdoa(scene.positions, scene.mic_positions, pairs, FS, C, "bounded")
    est = gcc_phat.gcc_phat_lags(scene.direct, pairs, max_lag=bound)
    table = tdoa.tdoa_table({"direct": est}, truth, scene.corr_time, pairs, spacing, "bounded")
    wide = table[(table["pair"].str.contains("-")) & (table["spacing_m"] > 0.5)]
    assert len(wide) > 0 and (wide["pearson"] > 0.9).all()
    assert np.abs(est - truth).max() <= 1  # fractional delays: off by at most the rounding
    groups = table[table["pair"] == "spacing"]
    np.testing.assert_allclose(sorted(groups["spacing_m"]), np.round(0.15 * np.arange(1, 8), 3))
    assert table[table["pair"] == "all"]["n_windows"].item() == 12 * len(pairs)


def test_bad_pairs_are_refused():
    with pytest.raises(ValueError, match="pairs"):
        gcc_phat.mic_pairs(4, [[0, 4]])
    with pytest.raises(ValueError, match="pairs"):
        gcc_phat.mic_pairs(4, [[1, 1]])


def test_line_array_helper_has_paper_spacing():
    mics = line_array(16)
    assert tdoa.pair_spacing(mics, np.array([[0, 15]]))[0] == pytest.approx(2.25)
    assert delay_signal(np.ones(4), np.array([0.0]), 4).shape == (1, 4)


def test_mae_rules_on_the_minimal_case():
    """errors [0, 1, 3], corr_time 2 (threshold 1): one anomaly in three under both rules; the
    reference's MAE (paper variant) averages the errors strictly below the threshold (0.0), the
    bounded variant every non-anomalous error (0.5)."""
    truth = np.zeros((3, 1))
    estimate = np.array([[0.0], [1.0], [3.0]])
    corr = np.full(3, 2.0)
    assert tdoa.MAE_RULES == {"paper": "below", "bounded": "within"}
    paper = tdoa.score_estimates(estimate, truth, corr, tdoa.MAE_RULES["paper"])
    bounded = tdoa.score_estimates(estimate, truth, corr, tdoa.MAE_RULES["bounded"])
    assert paper["anomaly_rate"] == bounded["anomaly_rate"] == pytest.approx(1 / 3)
    assert paper["mae_samples"] == 0.0 and bounded["mae_samples"] == 0.5
    # per window: the window exactly at the threshold is not an anomaly, but it has no MAE under
    # the reference's rule
    below = tdoa.per_window_scores(estimate, truth, corr, "below")
    within = tdoa.per_window_scores(estimate, truth, corr, "within")
    np.testing.assert_array_equal(below["anomaly_rate"], [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(below["mae_samples"], [0.0, np.nan, np.nan])
    np.testing.assert_array_equal(within["mae_samples"], [0.0, 1.0, np.nan])
    table = tdoa.tdoa_table({"x": estimate}, truth, corr, np.array([[0, 1]]), np.array([0.15]),
                            "paper")
    assert table["mae_samples"].tolist() == [0.0]
