"""Constructed scenes for the metric tests: a line array, noise bursts, exact delays."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

FS = 16000.0
C = 343.0


def line_array(n_mics: int = 8, spacing: float = 0.15) -> np.ndarray:
    """Microphones along x at y = 7.0, z = 1.2, centred at x = 1.7 (the paper's layout)."""
    x = 1.7 + spacing * (np.arange(n_mics) - (n_mics - 1) / 2)
    return np.stack([x, np.full(n_mics, 7.0), np.full(n_mics, 1.2)], axis=1)


def delay_signal(sig: np.ndarray, delays: np.ndarray, n_out: int) -> np.ndarray:
    """Each row: ``sig`` delayed by ``delays[m]`` samples (fractional, band-limited), cropped."""
    n = 1 << int(np.ceil(np.log2(sig.shape[-1] + n_out + int(np.max(delays)) + 64)))
    spec = np.fft.rfft(sig, n=n)
    freqs = np.arange(spec.shape[-1]) / n
    out = np.fft.irfft(spec[None, :] * np.exp(-2j * np.pi * freqs[None, :] * delays[:, None]), n=n)
    return out[:, :n_out]


def make_scene(
    n_sources: int = 6,
    windows_per_source: int = 2,
    n_mics: int = 8,
    n_samples: int = 1024,
    reverb: float = 0.6,
    noise: float = 0.05,
    seed: int = 0,
) -> SimpleNamespace:
    """WindowSet-like scene: direct path = delayed noise burst / distance; microphones add two
    strong late echoes (different per microphone) and white noise."""
    rng = np.random.default_rng(seed)
    mics = line_array(n_mics)
    windows, direct, positions, sources = [], [], [], []
    for s in range(n_sources):
        pos = np.array([rng.uniform(0.9, 2.5), rng.uniform(4.5, 6.5), rng.uniform(1.0, 1.5)])
        dist = np.linalg.norm(mics - pos, axis=1)
        for _ in range(windows_per_source):
            dry = rng.standard_normal(n_samples + 400)
            d = delay_signal(dry, dist / C * FS, n_samples + 200)[:, 100:] / dist[:, None]
            echoes = np.zeros_like(d)
            for _k in range(2):
                extra = rng.uniform(20, 90, size=n_mics)
                echoes += reverb * rng.choice([-1, 1]) * delay_signal(
                    dry, dist / C * FS + extra, n_samples + 200
                )[:, 100:] / dist[:, None]
            w = d + echoes + noise * rng.standard_normal(d.shape)
            windows.append(w[:, :n_samples])
            direct.append(d[:, :n_samples])
            positions.append(pos)
            sources.append(s)
    return SimpleNamespace(
        windows=np.asarray(windows, np.float32),
        direct=np.asarray(direct, np.float32),
        positions=np.asarray(positions, np.float64),
        source_ids=np.asarray(sources, np.int64),
        corr_time=np.full(len(sources), 6.0),
        mic_positions=mics,
        fs=FS,
        speed_of_sound=C,
    )


class SpanModel(nn.Module):
    """A localizer that reads one channel over one time span: y_hat = b + [0, sum(x[ch, span]), 0].

    Its explained scalar ``<y_hat, p>`` is linear in the input, so the exact attribution is
    ``p_y * x`` on the span and zero elsewhere.
    """

    def __init__(self, channel: int, start: int, stop: int) -> None:
        super().__init__()
        self.channel, self.start, self.stop = channel, start, stop
        self.bias = nn.Linear(1, 3)  # a layer with reset_parameters (for randomisation tests)
        with torch.no_grad():
            self.bias.weight.zero_()
            self.bias.bias.copy_(torch.tensor([1.0, 2.0, 0.5]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x[:, self.channel, self.start : self.stop].sum(dim=1)
        base = self.bias(torch.zeros(x.shape[0], 1, dtype=x.dtype, device=x.device))
        return base + torch.stack([torch.zeros_like(v), v, torch.zeros_like(v)], dim=1)


def span_attribution(model: SpanModel, x: np.ndarray, positions: np.ndarray) -> np.ndarray:
    a = np.zeros_like(x)
    sl = slice(model.start, model.stop)
    a[:, model.channel, sl] = x[:, model.channel, sl] * positions[:, 1:2].astype(x.dtype)
    return a


def span_case(n: int, n_mics: int, n_samples: int, channel: int, start: int, stop: int,
              seed: int = 0) -> tuple:
    """Seeded white-noise windows ``(n, M, T)``, positions, a :class:`SpanModel` reading
    ``channel`` over ``start:stop``, its exact attribution and a random one (same shape)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_mics, n_samples)).astype(np.float32)
    pos = rng.uniform(1.0, 3.0, (n, 3)).astype(np.float32)
    model = SpanModel(channel=channel, start=start, stop=stop).eval()
    true = span_attribution(model, x, pos)
    rand = rng.standard_normal(x.shape).astype(np.float32)
    return model, x, pos, true, rand


def gradient_x_input(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Gradient x input of <model(x), target> (a real explain_fn for the robustness metrics)."""
    x = torch.as_tensor(inputs, dtype=torch.float32).clone().requires_grad_(True)
    t = torch.as_tensor(targets, dtype=torch.float32)
    (grad,) = torch.autograd.grad((model(x) * t).sum(), x)
    return (grad * x).detach()


class CountingModel(nn.Module):
    """Wraps a model and counts the windows it is run on (forwards)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.windows = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.windows += int(x.shape[0])
        return self.inner(x)


@pytest.fixture(autouse=True)
def _single_thread():
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def scene() -> SimpleNamespace:
    return make_scene()
