"""Bad numerics are contained to their own cells (issue 7 point 5, issue 10 "Bad numerics").

- attribution methods added with ``--methods-from`` that raise, return NaN, return inf or return
  the wrong shape each fail their own cell (leaderboard status "failed" with the reason, a
  summary naming them on stderr, exit status 1) and leave every other table row byte-identical to
  a run without them — computed in the same process, before the good methods;
- a model that diverges in training (a huge learning rate) is recorded as failed with a reason
  naming the divergence; the method-independent rows are still there and unchanged;
- audio files that are empty, silent, clipped or at another sample rate are resampled or refused
  with a message by the wav loaders (``acoustics.audio``, ``acoustics.speech``).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from scipy.io import wavfile

from ssl_xai_bench.acoustics.speech import SpeechConfig, load_corpus
from ssl_xai_bench.acoustics.windows import load_scene_corpus
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.harness.config import load_config
from ssl_xai_bench.report.html import build_report
from tests.reliability.conftest import (
    RUN_NAME,
    TABLES,
    csv_lines_without,
    run_args,
    run_cli,
    summary,
    tables,
)

pytestmark = pytest.mark.slow

BAD_METHODS = '''
"""Attribution methods that misbehave on purpose (reliability tests)."""
import torch

from ssl_xai_bench.attributions import register_method


@register_method("bad_raises", description="raises")
def bad_raises(model, inputs, target):
    raise RuntimeError("deliberate failure of bad_raises")


@register_method("bad_nan", description="returns NaN")
def bad_nan(model, inputs, target):
    return torch.full_like(inputs, float("nan"))


@register_method("bad_inf", description="returns +inf")
def bad_inf(model, inputs, target):
    return torch.full_like(inputs, float("inf"))


@register_method("bad_shape", description="returns one channel too few")
def bad_shape(model, inputs, target):
    return torch.ones_like(inputs[:, 1:, :])
'''
#: method -> a phrase its failure reason must contain
BAD = {
    "bad_raises": "deliberate failure of bad_raises",
    "bad_nan": "NaN",
    "bad_inf": "non-finite",
    "bad_shape": "shape",
}


def _rows(text: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.decode("utf-8"))))


@pytest.mark.slow
def test_failing_methods_leave_other_cells_identical(reference, tmp_path):
    methods_file = tmp_path / "bad_methods.py"
    methods_file.write_text(BAD_METHODS)
    # the bad methods come first so they run, and fail, before the good ones in the same process
    methods = ",".join([*BAD, "lrp", "gradient"])
    done = run_cli(
        run_args(tmp_path, "--methods-from", str(methods_file), "--methods", methods), tmp_path
    )
    assert done.returncode == 1, done.output
    failed = summary(tmp_path / "results")["failed"]
    assert {f["stage"] for f in failed} == {"attribution", "metrics"}
    for method, phrase in BAD.items():
        assert f"attribution [loccnn {method} " in done.stderr, method
        reasons = [
            f["reason"]
            for f in failed
            if f["stage"] == "attribution" and f" {method} " in f" {f['label']} "
        ]
        assert len(reasons) == 1 and phrase in reasons[0], (method, reasons)

    got = tables(tmp_path / "results")
    board = _rows(got["leaderboard.csv"])
    metrics = {r["metric"] for r in board if r["method"] == "lrp"}
    rows = [r for r in board if r["method"] in BAD]
    # one "failed" row per metric of a good cell, carrying the metric's direction
    assert sorted((r["method"], r["metric"]) for r in rows) == sorted(
        (m, metric) for m in BAD for metric in metrics
    )
    for row in rows:
        assert row["status"] == "failed" and row["direction"] in ("up", "down")
        assert BAD[row["method"]] in row["reason"], row
    # the report renders the failed cells (it refused rows without a direction)
    index = build_report(tmp_path / "results" / RUN_NAME)
    assert "failed" in index.read_text("utf-8")
    assert csv_lines_without(got["leaderboard.csv"], "method", set(BAD)) == csv_lines_without(
        reference.tables["leaderboard.csv"], "method", set()
    )
    for name in TABLES[1:]:
        assert got[name] == reference.tables[name], name


def test_diverging_training_is_recorded_and_other_rows_remain(reference, store_copy, tmp_path):
    # 10 is the largest learning rate the configuration accepts; LocCNN's MSE blows up at once
    done = run_cli(run_args(tmp_path, "--set", "training.per_model.loccnn.lr=10.0"), tmp_path)
    assert done.returncode == 1, done.output
    assert "model [loccnn" in done.stderr and "diverged" in done.stderr
    failed = summary(tmp_path / "results")["failed"]
    (model,) = [f for f in failed if f["stage"] == "model"]
    assert model["reason"].startswith("TrainingDiverged: training diverged at epoch")
    got = tables(tmp_path / "results")
    matrix = {"lrp", "gradient"}
    failed_rows = [r for r in _rows(got["leaderboard.csv"]) if r["method"] in matrix]
    from ssl_xai_bench.metrics.catalogue import METRICS  # no cell succeeded: every metric

    assert len(failed_rows) == 2 * len(METRICS)
    assert all(r["status"] == "failed" and "diverged" in r["reason"] for r in failed_rows)
    # microphone-signal and constant-estimator rows: present and unchanged
    others = csv_lines_without(got["leaderboard.csv"], "method", matrix)
    assert len(others) > 1
    assert others == csv_lines_without(reference.tables["leaderboard.csv"], "method", matrix)
    # the baselines are still scored; the diverged model is not
    predictors = {r["predictor"] for r in _rows(got["model_skill.csv"])}
    assert predictors == {"trivial", "srp_phat"}


# ---------------------------------------------------------------------------------------------
# Audio files: the wav_dir speech source and its loaders.

FS = 16000


def _tone(fs: int, seconds: float, freq: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(round(fs * seconds))) / fs
    return (amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _corpus(folder):
    return load_corpus(SpeechConfig("wav_dir", str(folder)), FS)


@pytest.mark.parametrize("fs_in", [8000, 22050, 44100])
def test_other_sample_rates_are_resampled(tmp_path, fs_in):
    tone = _tone(fs_in, 0.5, 440.0, 0.3)
    wavfile.write(tmp_path / "tone.wav", fs_in, tone)
    corpus = _corpus(tmp_path)
    x = corpus.utterance(0)
    assert len(x) == corpus.lengths()[0] == int(np.ceil(len(tone) * FS / fs_in))
    assert np.max(np.abs(x)) == pytest.approx(1.0)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    peak_hz = np.argmax(spectrum) * FS / len(x)
    assert abs(peak_hz - 440.0) <= FS / len(x)  # same pitch: resampled, not relabelled


def test_clipped_audio_is_kept_as_recorded(tmp_path):
    loud = np.clip(3.0 * _tone(FS, 0.25, 300.0, 1.0).astype(np.float64), -32768, 32767)
    wavfile.write(tmp_path / "clipped.wav", FS, loud.astype(np.int16))
    x = _corpus(tmp_path).utterance(0)
    assert np.max(np.abs(x)) == 1.0
    clipped_in = np.mean(np.abs(loud) >= 32767)
    assert clipped_in > 0.5
    assert np.mean(np.abs(x) >= 32767 / 32768) == pytest.approx(clipped_in)


def test_silent_audio_is_refused(tmp_path):
    wavfile.write(tmp_path / "silent.wav", FS, np.zeros(FS, np.int16))
    with pytest.raises(ValueError, match="silent"):
        _corpus(tmp_path).utterance(0)


def test_empty_audio_is_refused_before_compute(tmp_path):
    wavfile.write(tmp_path / "empty.wav", FS, np.zeros(0, np.int16))
    wavfile.write(tmp_path / "speech.wav", FS, _tone(FS, 1.0, 200.0, 0.5))
    cfg = load_config(
        "smoke", overrides=[{"scene": {"speech": {"source": "wav_dir", "path": str(tmp_path)}}}]
    )
    ((_, scene),) = cfg.scenes()
    with pytest.raises(ConfigError) as err:
        load_scene_corpus(scene)
    assert err.value.field == "scene.window_length"
    assert "shortest utterance (0 samples)" in err.value.message
