"""The authors' four released SampleCNN state_dicts load strictly and answer plausibly.

What is checked, honestly: the files load with ``weights_only=True`` and ``strict=True`` (all 106
keys, shapes included); the loaded output bias is the stored one; and on a simulated speech-like
16-channel input (free-field propagation with gpuRIR's 1/(4 pi d) amplitude, 25 dB white noise,
no reverberation) every prediction lies inside the room and within 0.3 m of the training sources'
region. That is a plausibility check of the loaded network (corrupting the BatchNorm running
statistics breaks it), not an accuracy check: the free-field input is not the reverberant data the
weights were trained on.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import scipy.signal
import torch

from ssl_xai_bench.models.checkpoint import load_checkpoint, load_state_dict
from ssl_xai_bench.models.evaluation import predict
from ssl_xai_bench.models.registry import build_model

FS, C = 16000, 343.0
ROOM = np.array([3.6, 8.2, 2.4])
SOURCE_REGION = np.array([[0.825, 4.5, 1.0], [2.575, 6.5, 1.5]])
MICS = np.stack(
    [1.7 + 0.15 * (np.arange(16) - 7.5), np.full(16, 7.0), np.full(16, 1.2)], axis=1
)


def reference_dir() -> Path:
    env = os.environ.get("SSL_XAI_BENCH_REFERENCE")  # the reference folder or its samplecnn/
    if env:
        return Path(env) / "samplecnn" if (Path(env) / "samplecnn").is_dir() else Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "samplecnn"


REF_FILES = sorted(reference_dir().glob("*.pth")) if reference_dir().is_dir() else []
needs_reference = pytest.mark.skipif(
    len(REF_FILES) == 0, reason=f"authors' weights not found in {reference_dir()}"
)


def speech_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Voiced-speech-like signal: jittered 120 Hz pulse train through three formant resonators,
    a 4 Hz syllabic envelope, a little aspiration noise; peak 1 (as the study scales speech)."""
    t = np.arange(n) / FS
    f0 = 120.0 * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 2 * np.pi)))
    phase = np.cumsum(f0) / FS
    sig = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(float)
    for fc, bw in ((700.0, 130.0), (1200.0, 70.0), (2600.0, 160.0)):
        r, th = np.exp(-np.pi * bw / FS), 2 * np.pi * fc / FS
        sig = scipy.signal.lfilter([1 - r], [1, -2 * r * np.cos(th), r * r], sig)
    sig = sig + 0.05 * np.std(sig) * rng.standard_normal(n)
    sig = sig * 0.5 * (1 + np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 2 * np.pi)))
    return sig / np.abs(sig).max()


def free_field_window(rng: np.random.Generator, pos: np.ndarray, snr_db: float = 25.0):
    n = 2 * 5120
    spec = np.fft.rfft(speech_like(rng, n), 2 * n)
    f = np.arange(spec.size)
    dist = np.linalg.norm(MICS - pos, axis=1)
    x = np.stack(
        [np.fft.irfft(spec * np.exp(-2j * np.pi * f * (d / C * FS) / (2 * n)), 2 * n)[:n]
         / (4 * np.pi * d) for d in dist]
    )
    x += rng.standard_normal(x.shape) * np.sqrt(np.mean(x[0] ** 2) / 10 ** (snr_db / 10))
    return x[:, n // 2 : n // 2 + 5120].astype(np.float32)


@pytest.fixture(scope="module")
def speech_windows():
    rng = np.random.default_rng(1)
    pos = np.stack(
        [rng.uniform(1.45, 1.95, 6), rng.uniform(5.25, 5.75, 6), rng.uniform(1.0, 1.5, 6)], 1
    )
    return np.stack([free_field_window(rng, p) for p in pos])


@needs_reference
def test_four_reference_files_present():
    assert len(REF_FILES) == 4


@needs_reference
@pytest.mark.parametrize("path", REF_FILES, ids=lambda p: p.stem)
def test_reference_weights_load_strict_and_answer_inside_the_room(path, speech_windows):
    torch.set_num_threads(1)
    state = load_state_dict(path)
    assert len(state) == 106
    model = build_model("samplecnn")
    model.load_state_dict(state, strict=True)
    torch.testing.assert_close(model.output_dense.bias, state["output_dense.bias"], rtol=0, atol=0)
    torch.testing.assert_close(model.bn1.running_var, state["bn1.running_var"], rtol=0, atol=0)
    # load_checkpoint gives the same weights (no metadata beside the authors' files).
    other = build_model("samplecnn")
    assert load_checkpoint(path, other) == {}
    for name, tensor in other.state_dict().items():
        assert torch.equal(tensor, state[name]), name

    pred = predict(model, speech_windows)
    assert pred.shape == (len(speech_windows), 3)
    assert np.all(pred > 0) and np.all(pred < ROOM), pred
    assert np.all(pred > SOURCE_REGION[0] - 0.3) and np.all(pred < SOURCE_REGION[1] + 0.3), pred
