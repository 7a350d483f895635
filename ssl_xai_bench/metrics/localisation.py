"""Localisation against the simulator's ground truth: does relevance sit where the direct path is?

The windows stage stores three masks per window, microphone and sample
(:mod:`ssl_xai_bench.acoustics.masks`): ``direct`` (the direct path's short-time energy exceeds
reverberation plus noise by ``scene.masks.margin_db``), ``onset`` (the first ``onset_ms`` after
each speech onset of the dry utterance, at each microphone's direct delay) and ``rest`` (neither).
Quantus 0.6.0's localisation metrics (Hedström et al., JMLR 2023) score a relevance against them:

- ``mass``: RelevanceMassAccuracy (Arras et al. 2022), the share of relevance inside the mask;
- ``rank``: RelevanceRankAccuracy (Arras et al. 2022), the share of the ``|mask|`` most relevant
  samples inside it;
- ``auc``: AUC, the ROC area of relevance as a detector of the mask's samples (rank-based: any
  increasing function of the relevance scores the same, so ``|x|`` and ``x**2`` tie);
- ``pointing``: PointingGame (Zhang et al. 2018), whether the most relevant sample is in the mask.

Adaptation: each (window, microphone) is one Quantus sample ``(1, T)`` (the masks differ per
microphone by the direct delays), scored on the **positive part** of the relevance, without
Quantus' normalisation (the four are scale-free); AUC's per-row ROC is computed vectorised
(:class:`ssl_xai_bench.metrics.quantus_speed.AUC`, Quantus' values) and Quantus' attribution
checks by :func:`~ssl_xai_bench.metrics.quantus_speed.fast_quantus_asserts`. The model Quantus
receives is the explained scalar (``ScalarModel``, one output, ``softmax=False``) of the row's
window; these metrics never call it. A (window, microphone) row is scored only when its mask
has samples both inside and outside and its positive relevance is not constant (else NaN); a
window's score is the mean over its scored microphones (NaN when none: counted in
``n_nonfinite``). Random relevance scores the mask fraction on ``mass``, ``rank`` and
``pointing`` and 0.5 on ``auc`` (the chance floors).

The energy control ``|x|`` is scored in the same cell, and ``mass`` and ``auc`` have a paired
twin ``<metric>_gain_vs_energy`` (:data:`WITH_GAIN`): per (window, microphone) the method's
score minus the energy control's (energy minus the method's for ``rest``, where lower is
better), averaged over the microphones scored for both; up = relevance more on the direct path
than the signal's magnitude.
Windows without simulated components (``data.masks`` absent: recorded or external windows) have
no value: every metric of the family gets a row with status ``undefined`` and the reason
:data:`NOT_APPLICABLE` (never a score; not a failure either). A metric with no scorable window
in a cell (e.g. the direct mask where the direct path dominates nowhere) is ``undefined`` with
the reason :data:`UNSCORABLE`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import quantus
import torch
from torch import nn

from ssl_xai_bench.attributions.target import ScalarModel
from ssl_xai_bench.metrics import quantus_speed
from ssl_xai_bench.metrics.quantus_speed import fast_quantus_asserts
from ssl_xai_bench.metrics.spec import (
    Family,
    Headline,
    MethodCell,
    MetricSpec,
    NoSettings,
    Scores,
    SignalCell,
    with_headlines,
)

NOT_APPLICABLE = ("not applicable: these windows carry no simulated components (recorded or "
                  "external data), so there is no ground-truth mask")
#: Equivalence margin of every metric of the family (all in [0, 1]; docs/metrics.md)
MARGIN = 0.02
UNSCORABLE = ("no window has a microphone whose mask holds samples both inside and outside "
              "and whose positive relevance is not constant (e.g. the direct path dominates "
              "nowhere)")
CHUNK_WINDOWS = 32  # windows per Quantus call (every score is per row: no effect on the values)


@dataclass(frozen=True)
class LocalisationMetric:
    """One Quantus localisation metric: its class, unit and what it measures."""

    quantus_class: str
    unit: str
    description: str


QUANTUS_LOCALISATION: dict[str, LocalisationMetric] = {
    "mass": LocalisationMetric("RelevanceMassAccuracy", "fraction",
                               "share of positive relevance inside the mask"),
    "rank": LocalisationMetric("RelevanceRankAccuracy", "fraction",
                               "share of the |mask| most relevant samples inside the mask"),
    "auc": LocalisationMetric("AUC", "AUC", "ROC area of relevance detecting the mask's samples"),
    "pointing": LocalisationMetric("PointingGame", "fraction",
                                   "share of microphones whose top sample is inside the mask"),
}
#: Quantus classes with faster bookkeeping, same values (``metrics/quantus_speed.py``)
FAST: dict[str, type] = {"auc": quantus_speed.AUC}
#: mask -> (direction, the metrics scored against it)
MASKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "direct": ("up", ("mass", "rank", "auc", "pointing")),
    "onset": ("up", ("mass", "rank", "auc", "pointing")),
    "rest": ("down", ("mass", "auc")),
}
#: the metrics with a paired gain over the energy control (the two threshold-free ones: the
#: share of relevance and the ranking; rank accuracy and pointing add a cut-off and no new
#: comparison, and every metric costs a paired test per method pair in collect)
WITH_GAIN = ("mass", "auc")
MASK_WORDS = {"direct": "direct-path-dominant samples", "onset": "onset samples",
              "rest": "reverberation- and noise-dominated samples (neither)"}


def metric_name(metric: str, mask: str) -> str:
    """``localisation_<metric>_<mask>``."""
    return f"localisation_{metric}_{mask}"


class _PerMicrophone(nn.Module):
    """The explained scalar of each row's window, for rows ``(B * M, 1, T)`` (window-major)."""

    def __init__(self, scalar: nn.Module, n_mics: int) -> None:
        super().__init__()
        self.scalar = scalar
        self.n_mics = n_mics

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        windows = x.reshape(x.shape[0] // self.n_mics, self.n_mics, x.shape[-1])
        return self.scalar(windows).repeat_interleave(self.n_mics, dim=0)


def scorable_rows(positive: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``(N, M)`` bool: the mask has samples in and out, and the relevance is not constant."""
    mixed = mask.any(axis=-1) & ~mask.all(axis=-1)
    varied = np.any(positive != positive[..., :1], axis=-1)
    return mixed & varied


def run_localisation_metric(name: str, model: nn.Module | None, windows: np.ndarray,
                            targets: np.ndarray, relevance: np.ndarray, mask: np.ndarray,
                            target_mode: str = "position") -> np.ndarray:
    """Per (window, microphone) scores ``(N, M)`` of one Quantus localisation metric.

    Parameters
    ----------
    name : str
        A key of :data:`QUANTUS_LOCALISATION`.
    model : nn.Module or None
        The localizer ``(B, M, T) -> (B, 3)``, given to Quantus as the explained scalar of each
        row's window (these metrics never call it); None for signals without a model.
    windows, relevance : array (N, M, T)
        Inputs and the relevance scored (its positive part).
    targets : array (N, 3)
        Ground-truth positions (the explained scalar's weights).
    mask : array (N, M, T) bool
    target_mode : str

    Returns
    -------
    array (N, M) float64
        NaN where the row is not scorable (:func:`scorable_rows`).
    """
    x = np.asarray(windows, dtype=np.float32)
    positive = np.maximum(np.asarray(relevance, dtype=np.float32), 0.0)
    mask = np.asarray(mask, dtype=bool)
    if positive.shape != x.shape or mask.shape != x.shape:
        raise ValueError(f"relevance {positive.shape} and mask {mask.shape} must have the "
                         f"windows' shape {x.shape}")
    n, m, t = x.shape
    ok = scorable_rows(positive, mask)
    scores = np.full((n, m), np.nan)
    rows = np.flatnonzero(ok.any(axis=1))
    cls = FAST.get(name) or getattr(quantus, QUANTUS_LOCALISATION[name].quantus_class)
    for start in range(0, rows.size, CHUNK_WINDOWS):
        sel = rows[start:start + CHUNK_WINDOWS]
        qmodel = None
        if model is not None:
            scalar = ScalarModel(model, torch.as_tensor(targets[sel]), mode=target_mode).eval()
            qmodel = _PerMicrophone(scalar, m).eval()
        metric = cls(abs=False, normalise=False, disable_warnings=True,
                     display_progressbar=False)
        flat = (len(sel) * m, 1, t)
        with warnings.catch_warnings(), fast_quantus_asserts():
            warnings.simplefilter("ignore")  # empty or full masks: NaN, replaced below
            result = metric(model=qmodel, x_batch=x[sel].reshape(flat),
                            y_batch=np.zeros(flat[0], dtype=np.int64),
                            a_batch=positive[sel].reshape(flat), s_batch=mask[sel].reshape(flat),
                            channel_first=True, softmax=False, batch_size=flat[0])
        scores[sel] = np.asarray(result, dtype=np.float64).reshape(len(sel), m)
    scores[~ok] = np.nan
    return scores


def _window_mean(per_mic: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # windows with no scored microphone
        return np.nanmean(per_mic, axis=1)


def score_relevance(cell: SignalCell, model: nn.Module | None, relevance: np.ndarray,
                    masks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Metric name -> per (window, microphone) scores ``(N, M)`` of one relevance."""
    out = {}
    for mask_name, (_, metrics) in MASKS.items():
        for metric in metrics:
            out[metric_name(metric, mask_name)] = run_localisation_metric(
                metric, model, cell.x, cell.positions, relevance, masks[mask_name],
                cell.config.target_mode)
    return out


def _gains(method: Mapping[str, np.ndarray],
           energy: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for mask_name, (direction, metrics) in MASKS.items():
        sign = 1.0 if direction == "up" else -1.0
        for metric in (m for m in metrics if m in WITH_GAIN):
            name = metric_name(metric, mask_name)
            out[f"{name}_gain_vs_energy"] = _window_mean(sign * (method[name] - energy[name]))
    return out


def _score(cell: MethodCell) -> Scores:
    masks = cell.masks
    names = [spec.name for spec in FAMILY.metrics]
    if masks is None:  # no value at all: every row "undefined" with this reason
        nan = np.full(cell.x.shape[0], np.nan)
        return Scores(values={name: nan for name in names},
                      undefined=dict.fromkeys(names, NOT_APPLICABLE))
    method = score_relevance(cell, cell.model, np.asarray(cell.relevance, np.float32), masks)
    energy = score_relevance(cell, cell.model, np.abs(cell.x), masks)
    values = {name: _window_mean(per_mic) for name, per_mic in method.items()}
    return Scores(values={**values, **_gains(method, energy)},
                  undefined=dict.fromkeys(names, UNSCORABLE))


def _score_signals(cell: SignalCell) -> dict[str, Scores]:
    """The microphones' magnitude ``|x|`` (the energy control) and the direct path's ``|d|``."""
    masks = cell.masks
    if masks is None:
        return {}
    out = {"microphones": np.abs(cell.x)}
    if cell.direct is not None and cell.direct.shape == cell.x.shape:
        out["direct_path"] = np.abs(cell.direct)
    scores = {}
    for name, rel in out.items():
        values = {k: _window_mean(v) for k, v in score_relevance(cell, None, rel, masks).items()}
        scores[name] = Scores(values=values, undefined=dict.fromkeys(values, UNSCORABLE))
    return scores


def _specs() -> tuple[MetricSpec, ...]:
    specs, gains = [], []
    for mask_name, (direction, metrics) in MASKS.items():
        for metric in metrics:
            info, name = QUANTUS_LOCALISATION[metric], metric_name(metric, mask_name)
            what = f"Quantus {info.quantus_class}, {MASK_WORDS[mask_name]}: {info.description}"
            specs.append(MetricSpec(name, "localisation", direction, info.unit, what,
                                    margin=MARGIN))
            if metric not in WITH_GAIN:
                continue
            gains.append(MetricSpec(f"{name}_gain_vs_energy", "localisation", "up", info.unit,
                                    f"{name}: improvement over the energy control |x| (paired)",
                                    margin=MARGIN))
    return tuple(specs + gains)


HEADLINES = {"localisation_auc_rest_gain_vs_energy": Headline(
    "Localisation", "Loc.", ("localisation_auc_rest_gain_vs_energy",),
    "the energy control (gain > 0) and the controls", order=7)}

FAMILY = Family(name="localisation", metrics=with_headlines(_specs(), HEADLINES),
                settings=NoSettings, score=_score, score_signals=_score_signals)
"""Quantus' localisation metrics against the simulator's direct-path, onset and rest masks."""


__all__ = ["FAMILY", "MASKS", "NOT_APPLICABLE", "QUANTUS_LOCALISATION", "UNSCORABLE", "WITH_GAIN",
           "metric_name", "run_localisation_metric", "score_relevance", "scorable_rows"]
