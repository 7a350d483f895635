"""The scene stage of the default preset with RIR reuse against the same without it.

The scene stage simulates each source position's RIRs once (``rirs``, keyed without SNR, speech or
windowing, so every SNR and speech draw of a scene shares them) and renders every window of that
source's utterance from them (``windows``). Without reuse, a pipeline simulates the RIRs again for
every window it cuts (the per-example generation of many data loaders) and again for every SNR of a
T60. Both are run here for real on the default preset's two scenes: with reuse, ``compute_rirs``
of every position once and ``render_windows``; without, ``compute_rirs`` of every position once per
window it yields and per SNR of its T60 (the same rendering). Ratio of the medians, same run.
"""

from __future__ import annotations

import numpy as np
import pytest

from ssl_xai_bench.acoustics.rir import compute_rirs
from ssl_xai_bench.acoustics.scene import scene_positions
from ssl_xai_bench.acoustics.windows import render_windows
from ssl_xai_bench.harness.config import load_config

from .conftest import interleaved_medians, markdown_table

pytestmark = pytest.mark.benchmark_suite


def test_scene_stage_with_vs_without_rir_reuse(benchmark, perf_report):
    cfg = load_config("default")
    scenes = []
    for _geometry, scene in cfg.scenes():
        positions = np.concatenate(list(scene_positions(scene).values()))
        snrs = [s for t, s in cfg.matrix.t60_snr_pairs() if t == scene.t60]
        scenes.append((scene, positions, snrs))
    counts = {}

    def with_reuse() -> None:
        for scene, positions, snrs in scenes:
            rirs = compute_rirs(scene, positions)
            for snr in snrs:
                ws = render_windows(scene, rirs, positions, snr, seed=0, with_direct=False)
                counts[scene.t60] = np.bincount(ws.source_ids, minlength=len(positions))

    def without_reuse() -> None:
        for scene, positions, snrs in scenes:
            per_window = np.repeat(positions, counts[scene.t60], axis=0)
            for snr in snrs:
                compute_rirs(scene, per_window)  # one simulation per window, per SNR
                rirs = compute_rirs(scene, positions)  # the rendering itself is unchanged
                render_windows(scene, rirs, positions, snr, seed=0, with_direct=False)

    t = interleaved_medians({"with_reuse": with_reuse, "without_reuse": without_reuse})
    ratio = t["without_reuse"] / t["with_reuse"]
    n_pos = sum(len(p) for _, p, _ in scenes)
    n_win = int(sum(c.sum() for c in counts.values()))
    benchmark.extra_info.update(with_reuse_s=t["with_reuse"], without_reuse_s=t["without_reuse"],
                                ratio=ratio)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    perf_report.add("scene", [
        f"The default preset's scenes ({len(scenes)} conditions, {n_pos} source positions, "
        f"{n_win} windows, RIR mode `{scenes[0][0].rir_mode}`, no direct-path copies): RIRs once",
        "per position, shared by all its windows and SNRs, against RIRs simulated again for every",
        "window and SNR (`tests/benchmarks/test_scene_speed.py`).",
        "",
        *markdown_table(["variant", "seconds", "ratio"],
                        [["RIR reuse (ours)", f"{t['with_reuse']:.1f}", "1.0"],
                         ["no RIR reuse", f"{t['without_reuse']:.1f}", f"{ratio:.1f}"]]),
    ])
    assert ratio > 1.0
