"""The planted-cue check: a localizer built by hand whose correct attribution is known.

:class:`PlantedLocalizer` maps ``(B, M, T)`` windows to a position ``(B, 3)`` m through one cue:
the steered power of a difference beamformer on known samples of known channels,
``P = mean_j s_j^2 / p_ref`` with ``s_j = sum_m w_m x_m[t_j + d_m]``, and
``y = origin + direction * log(1 + P)``. The weights are +1, except every fourth microphone at
-1/2 (a difference beamformer): removing one of those samples *raises* ``P``, so gradient x input
is negative on them while they matter as much as the rest. Nothing outside the support
``{(m, t_j + d_m)}`` changes the output, so the correct attribution is the support.

Inputs (:func:`planted_windows`) are speech-like: a low-pass (Butterworth, order 4, 2 kHz) noise
source, a seeded gain per window (the cue varies across windows), arriving with the steered delays
``d_m`` on every microphone, plus sensor noise at 30 dB SNR. Two supports
(:data:`SUPPORTS`): ``contiguous`` (``support_times`` consecutive time samples) and ``scattered``
(as many isolated time samples, at least 3 apart, so each has kept neighbours): speech is low-pass,
so interpolation can rebuild an isolated removed sample and turn its removal into a no-op.

:func:`planted_check` runs every perturbation metric (the manipulation family's relevance metrics,
Quantus' five) under every removal baseline, at the sparsity the ``default`` preset uses
(fractions 0..0.7, Quantus steps of two window lengths, subsets of 0.625 % of the samples, regions
of 256 samples over 30 % of the window), on four methods: ``planted`` (exactly the support),
``gradient_x_input``, ``random`` and ``energy``; a metric/baseline pair passes when the planted
method is better than each other one by the metric's direction (:data:`RELIABLE`: the pairs that
pass on both supports). :func:`cue_removal` measures what a baseline removes: the share of the
cue's variance across windows (R^2) that survives removing exactly the support, and how much the
cue moves. ``docs/metrics.md`` lists the numbers and the pairs that fail; ``python -m
ssl_xai_bench.metrics.planted`` prints them (about a minute on one core).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from scipy import signal
from torch import nn

from ssl_xai_bench.attributions import attribute
from ssl_xai_bench.metrics.manipulation import derived_scores
from ssl_xai_bench.metrics.manipulation_curves import (
    PAPER_FRACTIONS,
    RELEVANCE_CURVES,
    batched_predict,
    control_key,
    curve_predictions,
    relevance_key,
)
from ssl_xai_bench.metrics.quantus_params import QUANTUS_METRICS
from ssl_xai_bench.metrics.quantus_suite import run_quantus_metric
from ssl_xai_bench.metrics.removal import REMOVAL_BASELINES, Removal, make_removal

FS = 16000
METHODS = ("planted", "gradient_x_input", "random", "energy")
SUPPORTS = ("contiguous", "scattered")
#: The manipulation metrics that rank methods (the spatial gap describes, it does not rank).
MANIPULATION_METRICS: dict[str, str] = {
    "manipulation_auc_relevance": "up", "manipulation_auc_relevance_lerf": "down",
    "manipulation_auc_relevance_time": "up", "manipulation_gap_at_10": "up",
    "manipulation_gap_vs_energy_at_10": "up", "manipulation_srg": "up",
}

#: Removal baseline -> the metrics that rank the planted support first on both supports with
#: the default settings (``docs/metrics.md``, "Planted-cue check"); every other metric/baseline
#: pair fails on at least one support and is unreliable for this task.
RELIABLE: dict[str, tuple[str, ...]] = {
    "zero": (*MANIPULATION_METRICS, "faithfulness_estimate", "pixel_flipping"),
    "noisy_linear": ("manipulation_auc_relevance_lerf", "manipulation_srg"),
    "other_source": tuple(MANIPULATION_METRICS),
}


class PlantedLocalizer(nn.Module):
    """``(B, M, T) -> (B, 3)``: ``origin + direction * log(1 + P)`` (see the module docstring).

    Parameters
    ----------
    times : array (K,) int
        Support time samples ``t_j`` (before the delays).
    delays : array (M,) int
        Steered delay of each microphone, samples.
    weights : array (M,)
        Beamformer weight of each microphone.
    power_ref : float
        ``P``'s reference power.
    """

    def __init__(self, times: np.ndarray, delays: np.ndarray, weights: np.ndarray,
                 power_ref: float, origin: tuple[float, float, float] = (1.7, 5.5, 1.2),
                 direction: tuple[float, float, float] = (0.3, 0.4, 0.0)) -> None:
        super().__init__()
        index = np.asarray(times)[None, :] + np.asarray(delays)[:, None]
        self.register_buffer("index", torch.as_tensor(index, dtype=torch.long))
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        self.register_buffer("origin", torch.tensor(origin, dtype=torch.float32))
        self.register_buffer("direction", torch.tensor(direction, dtype=torch.float32))
        self.power_ref = float(power_ref)

    def support(self, n_samples: int) -> np.ndarray:
        """The samples the output depends on, ``(M, T)`` bool."""
        mask = np.zeros((self.index.shape[0], n_samples), dtype=bool)
        np.put_along_axis(mask, self.index.numpy(), True, axis=1)
        return mask

    def power(self, x: torch.Tensor) -> torch.Tensor:
        """The cue ``P`` of each window, ``(B,)``."""
        mics = torch.arange(self.index.shape[0], device=x.device)[:, None]
        beam = (x[:, mics, self.index] * self.weights[None, :, None]).sum(dim=1)
        return (beam**2).mean(dim=1) / self.power_ref

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.origin + self.direction * torch.log1p(self.power(x))[:, None]


def planted_windows(n_windows: int, delays: np.ndarray, n_samples: int, seed: int,
                    cutoff_hz: float = 2000.0, snr_db: float = 30.0) -> np.ndarray:
    """Speech-like windows ``(N, M, T)`` float32 whose source arrives with ``delays``."""
    rng = np.random.default_rng(seed)
    delays = np.asarray(delays)
    sos = signal.butter(4, cutoff_hz, fs=FS, output="sos")
    lead = 256 + int(delays.max())
    out = np.empty((n_windows, delays.size, n_samples), dtype=np.float32)
    for i in range(n_windows):
        src = signal.sosfilt(sos, rng.standard_normal(n_samples + lead))
        src *= np.exp(rng.uniform(np.log(0.3), np.log(3.0))) / src.std()
        for m, d in enumerate(delays):
            out[i, m] = src[lead - d : lead - d + n_samples]
        noise_std = np.sqrt(np.mean(out[i] ** 2) / 10 ** (snr_db / 10))
        out[i] += rng.normal(0.0, noise_std, out[i].shape).astype(np.float32)
    return out


def support_times(kind: str, n_samples: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` support time samples: consecutive (``contiguous``, in the window's middle) or
    isolated, at least 3 apart (``scattered``)."""
    if kind == "contiguous":
        start = (n_samples - count) // 2
        return np.arange(start, start + count)
    if kind == "scattered":
        grid = np.arange(16, n_samples - 32, 3)
        return np.sort(rng.choice(grid, count, replace=False))
    raise ValueError(f"support: must be one of {list(SUPPORTS)}, got {kind!r}")


@dataclass(frozen=True)
class PlantedSettings:
    """The check's sizes; the metric parameters keep the ``default`` preset's sparsity."""

    n_windows: int = 8
    n_mics: int = 16
    n_samples: int = 2560
    support_times: int = 64
    baselines: tuple[str, ...] = REMOVAL_BASELINES
    supports: tuple[str, ...] = SUPPORTS
    fractions: tuple[float, ...] = PAPER_FRACTIONS
    removal_noise: float = 1.0
    seed: int = 0
    quantus_params: dict[str, dict] = field(default_factory=lambda: {
        "faithfulness_correlation": {"nr_runs": 10, "subset_size": 256},
        "faithfulness_estimate": {"features_in_step": "2T"},
        "pixel_flipping": {"features_in_step": "2T"},
        "monotonicity_correlation": {"features_in_step": "2T", "nr_samples": 1},
        "region_perturbation": {"patch_size": 16, "regions_evaluation": 3},
    })


@dataclass
class PlantedCase:
    """One support: the model, its windows, targets (its own clean outputs) and the methods'
    relevance ``name -> (N, M, T)``."""

    support: str
    model: PlantedLocalizer
    windows: np.ndarray
    targets: np.ndarray
    relevance: dict[str, np.ndarray]
    source_ids: np.ndarray


def planted_case(settings: PlantedSettings, support: str) -> PlantedCase:
    """Build the model, windows and the four methods' relevance for ``support``."""
    rng = np.random.default_rng([settings.seed, SUPPORTS.index(support)])
    m = settings.n_mics
    delays = np.round(np.arange(m) * 0.65).astype(int)
    weights = np.where(np.arange(m) % 4 == 3, -0.5, 1.0)
    x = planted_windows(settings.n_windows, delays, settings.n_samples, settings.seed)
    times = support_times(support, settings.n_samples, settings.support_times, rng)
    model = PlantedLocalizer(times, delays, weights, power_ref=1.0).eval()
    with torch.no_grad():
        ref = float(model.power(torch.from_numpy(x)).median())
    model.power_ref = ref
    targets = batched_predict(model, x, len(x))
    xt, tt = torch.from_numpy(x), torch.from_numpy(targets).float()
    relevance = {"planted": np.broadcast_to(model.support(settings.n_samples), x.shape)
                 .astype(np.float32)}
    for name in METHODS[1:]:
        relevance[name] = attribute(name, model, xt, tt).numpy()
    return PlantedCase(support, model, x, targets, relevance, np.arange(len(x)))


def cue_removal(case: PlantedCase, removal: Removal) -> dict[str, float]:
    """What removing exactly the support does to the cue ``P``: ``cue_r2``, the R^2 across
    windows between the cue before and after (1: the removed input still tells every window's
    cue, 0: nothing of it is left or it became constant), and ``cue_change``, the median over
    windows of ``|P_after - P_before| / P_before`` (0: the removal was a no-op)."""
    gone = np.broadcast_to(case.model.support(case.windows.shape[-1]), case.windows.shape)
    with torch.no_grad():
        before = case.model.power(torch.from_numpy(case.windows)).numpy().astype(float)
        after = case.model.power(torch.from_numpy(removal.apply(gone))).numpy().astype(float)
    r2 = 0.0 if np.std(after) == 0 else float(np.corrcoef(before, after)[0, 1] ** 2)
    return {"cue_r2": r2, "cue_change": float(np.median(np.abs(after - before) / before))}


def _manipulation(case: PlantedCase, removal: Removal,
                  settings: PlantedSettings) -> dict[tuple[str, str], float]:
    x, fractions = case.windows, settings.fractions
    base = case.targets
    controls = {r: (control_key(r, x, settings.seed), "sample") for r in ("energy", "random")}
    preds = curve_predictions(case.model, removal, controls, fractions, len(x), base)
    out = {}
    for method, rel in case.relevance.items():
        keys = {k.name: (relevance_key(rel, k), k.layout) for k in (
            RELEVANCE_CURVES["morf"], RELEVANCE_CURVES["lerf"], RELEVANCE_CURVES["time_morf"])}
        curves = {**preds, **curve_predictions(case.model, removal, keys, fractions, len(x),
                                               base)}
        values = derived_scores(curves, case.targets, base, fractions)[0]
        out.update({(name, method): float(np.nanmean(values[name]))
                    for name in MANIPULATION_METRICS})
    return out


def _quantus(case: PlantedCase, removal: Removal,
             settings: PlantedSettings) -> dict[tuple[str, str], float]:
    out = {}
    for name, params in settings.quantus_params.items():
        for method, rel in case.relevance.items():
            scores = run_quantus_metric(name, case.model, case.windows, case.targets, rel,
                                        params=params, removal=removal,
                                        batch_size=len(case.windows), seed=settings.seed)
            out[(name, method)] = float(np.nanmean(scores))
    return out


def planted_check(settings: PlantedSettings | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every perturbation metric under every removal baseline on the planted localizer.

    Returns
    -------
    (scores, retained) : pandas.DataFrame, pandas.DataFrame
        ``scores``: one row per (support, baseline, metric): ``direction``, the mean score of
        each method of :data:`METHODS`, and ``passed`` (planted better than every other
        method). ``retained``: per (support, baseline), :func:`cue_removal`.
    """
    settings = settings or PlantedSettings()
    rows, kept = [], []
    for support in settings.supports:
        case = planted_case(settings, support)
        for baseline in settings.baselines:
            removal = make_removal(baseline, case.windows, case.source_ids,
                                   settings.seed, settings.removal_noise)
            kept.append({"support": support, "baseline": baseline,
                         **cue_removal(case, removal)})
            scores = {**_manipulation(case, removal, settings),
                      **_quantus(case, removal, settings)}
            rows += _rows(support, baseline, scores)
    return pd.DataFrame(rows), pd.DataFrame(kept)


def _rows(support: str, baseline: str, scores: dict[tuple[str, str], float]) -> list[dict]:
    directions = {**MANIPULATION_METRICS,
                  **{name: QUANTUS_METRICS[name].direction for name, _ in scores
                     if name in QUANTUS_METRICS}}
    rows = []
    for metric, direction in directions.items():
        means = {m: scores[(metric, m)] for m in METHODS if (metric, m) in scores}
        if len(means) < len(METHODS):
            continue
        sign = 1.0 if direction == "up" else -1.0
        passed = all(sign * (means["planted"] - v) > 0 for k, v in means.items()
                     if k != "planted")
        rows.append({"support": support, "baseline": baseline, "metric": metric,
                     "direction": direction, **means, "passed": bool(passed)})
    return rows


def to_markdown(scores: pd.DataFrame, removed: pd.DataFrame) -> str:
    """The check's two tables as Markdown (the numbers ``docs/metrics.md`` quotes)."""
    lines = ["| support | baseline | cue R^2 kept | cue change |", "|---|---|---|---|"]
    lines += [f"| {r.support} | {r.baseline} | {r.cue_r2:.3f} | {r.cue_change:.3f} |"
              for r in removed.itertuples()]
    lines += ["", "| support | baseline | metric | dir. | " + " | ".join(METHODS) + " | pass |",
              "|---|---|---|---|" + "---|" * len(METHODS) + "---|"]
    for r in scores.to_dict("records"):
        values = " | ".join(f"{r[m]:.4g}" for m in METHODS)
        lines.append(f"| {r['support']} | {r['baseline']} | {r['metric']} | {r['direction']} | "
                     f"{values} | {'yes' if r['passed'] else '**no**'} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m ssl_xai_bench.metrics.planted
    print(to_markdown(*planted_check()))


__all__ = [
    "METHODS",
    "PlantedCase",
    "PlantedLocalizer",
    "PlantedSettings",
    "SUPPORTS",
    "RELIABLE",
    "cue_removal",
    "planted_case",
    "planted_check",
    "planted_windows",
    "support_times",
    "to_markdown",
]
