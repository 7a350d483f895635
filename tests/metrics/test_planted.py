"""The planted-cue check (ssl_xai_bench.metrics.planted): a localizer whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_xai_bench.metrics import planted
from ssl_xai_bench.metrics.quantus_params import QUANTUS_METRICS
from ssl_xai_bench.metrics.removal import make_removal

SMALL = planted.PlantedSettings(n_windows=4, n_samples=1024, support_times=32)


@pytest.fixture(scope="module", params=planted.SUPPORTS)
def case(request):
    return planted.planted_case(SMALL, request.param)


def test_the_output_depends_on_the_support_only(case):
    model, x = case.model, torch.from_numpy(case.windows)
    support = torch.from_numpy(np.broadcast_to(model.support(x.shape[-1]), x.shape).copy())
    assert int(support[0].sum()) == SMALL.n_mics * SMALL.support_times
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        same = model(torch.where(support, x, x + noise))
        moved = model(torch.where(support, x + 0.1 * noise, x))
    torch.testing.assert_close(same, model(x), rtol=0, atol=0)
    assert (moved - model(x)).abs().max() > 1e-3
    gxi = case.relevance["gradient_x_input"]
    assert np.all(gxi[~support.numpy()] == 0) and np.all(gxi[support.numpy()] != 0)
    # Every fourth microphone is subtracted: gradient x input is mostly negative there.
    sign = np.sign(gxi[:, 3::4][support.numpy()[:, 3::4]])
    assert (sign < 0).mean() > 0.9
    np.testing.assert_array_equal(case.relevance["planted"], support.numpy().astype(np.float32))


def test_what_each_baseline_removes_of_the_cue(case):
    ids = np.arange(len(case.windows))
    zero = planted.cue_removal(case, make_removal("zero", case.windows, ids, 0))
    assert zero == {"cue_r2": 0.0, "cue_change": 1.0}
    donors = make_removal("other_source", case.windows, ids, 0)
    support = np.broadcast_to(case.model.support(case.windows.shape[-1]), case.windows.shape)
    with torch.no_grad():  # the cue reads the support only: it becomes the donor's cue
        cue = case.model.power(torch.from_numpy(case.windows)).numpy()
        after = case.model.power(torch.from_numpy(donors.apply(support))).numpy()
    np.testing.assert_allclose(after, cue[donors.donor_index], rtol=1e-6)
    line = planted.cue_removal(case, make_removal("noisy_linear", case.windows, ids, 0, 0.0))
    if case.support == "scattered":  # speech is low-pass: isolated samples come back
        assert line["cue_r2"] > 0.95 and line["cue_change"] < 0.2
    else:
        assert line["cue_change"] > 0.4


@pytest.mark.slow
@pytest.mark.parametrize("baseline", planted.RELIABLE)
def test_the_reliable_pairs_rank_the_planted_support_first(baseline):
    scores, removed = planted.planted_check(planted.PlantedSettings(baselines=(baseline,)))
    assert set(removed["support"]) == set(planted.SUPPORTS)
    metrics = set(planted.MANIPULATION_METRICS) | {
        name for name, q in QUANTUS_METRICS.items() if q.removes}
    assert set(scores["metric"]) == metrics
    passed = scores.groupby("metric")["passed"].all()
    reliable = {m for m in metrics if passed[m]}
    # docs/metrics.md calls exactly these reliable; every other metric fails on a support.
    assert reliable == set(planted.RELIABLE[baseline])
