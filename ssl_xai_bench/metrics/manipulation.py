"""The paper's input-manipulation experiment (experiment A of ``../shared/spec/PAPER.md``), with
the removal baseline, the removal order and the removal layout as explicit axes.

For each fraction ``P`` (default 0, 0.1, ..., 0.7), every test window has a share ``P`` of its
samples removed, ranked by the method's signed relevance (most relevant first, MoRF, and on
request least relevant first, LeRF, per ``(microphone, sample)`` or per time sample on all
microphones: :mod:`ssl_xai_bench.metrics.manipulation_curves`), by ``|x|`` (``energy``) or at
random (seeded), and replaced by each removal baseline of ``removal_baselines``
(:mod:`ssl_xai_bench.metrics.removal`). The localizer is re-run on the manipulated windows and
the localization error is the per-coordinate absolute error averaged over ``x, y, z`` (metres; its
mean over windows is the paper's MAE); the output change is the same average of
``|y_hat(x_P) - y_hat(x)|``.

Per window and baseline (metric names carry the baseline's suffix, none for ``zero``): the area
under each MAE-vs-fraction curve (trapezoid, fraction units: a flat curve at ``e`` m over
``[0, 0.7]`` has area ``0.7 e``); the relevance-minus-random and relevance-minus-energy error
gaps at 10 %; the symmetric relevance gain (Blücher et al. 2024): the area between the MoRF and
LeRF curves of the output change normalised by random removal's mean output change at the
largest fraction (a removal's own effect, the same for both orders, cancels); and the spatial
gap: the same area between the per-sample and the time-aligned MoRF curves (> 0: the model relies
on the per-microphone structure of the relevance, spatial cues, beyond its time profile).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from torch import nn

from ssl_xai_bench import validate as check
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.metrics.manipulation_curves import (
    PAPER_FRACTIONS,
    RANKINGS,
    RELEVANCE_CURVES,
    batched_predict,
    control_key,
    curve_area,
    curve_predictions,
    relevance_key,
    top_k_masks,
)
from ssl_xai_bench.metrics.removal import (
    REMOVAL_BASELINES,
    STUDY_BASELINE,
    Removal,
    make_removal,
    suffix,
)
from ssl_xai_bench.metrics.spec import (
    Family,
    Headline,
    MethodCell,
    MetricSpec,
    Scores,
    with_headlines,
)
from ssl_xai_bench.metrics.stats import summarize

CURVE_COLUMNS = ["ranking", "fraction", "mae", "ci_low", "ci_high", "n", "baseline", "change"]


@dataclass(frozen=True)
class ManipulationSettings:
    """``[metrics]`` keys of the manipulation family and of every perturbation metric's removal.

    ``manipulation_fractions``: fractions of samples removed (must contain 0.1, where the gaps
    are taken); ``manipulation_rankings``: subset of :data:`RANKINGS`; ``manipulation_curves``:
    the relevance curves (:data:`RELEVANCE_CURVES`: ``morf``, ``lerf``, ``time_morf``,
    ``time_lerf``); ``manipulation_batch_size``: windows per forward; ``removal_baselines``:
    what removed samples become, in the manipulation curves and in Quantus' perturbation metrics
    (:data:`REMOVAL_BASELINES`); ``removal_noise``: the noise of ``noisy_linear`` in units of the
    local standard deviation of the kept samples. The defaults are the study's (zero, MoRF).
    """

    manipulation_fractions: tuple[float, ...] = PAPER_FRACTIONS
    manipulation_rankings: tuple[str, ...] = RANKINGS
    manipulation_curves: tuple[str, ...] = ("morf",)
    manipulation_batch_size: int = 64
    removal_baselines: tuple[str, ...] = (STUDY_BASELINE,)
    removal_noise: float = 1.0

    def validate(self) -> None:
        f = "metrics.manipulation_fractions"
        fr = check.as_list(self.manipulation_fractions, f, min_length=1)
        for x in fr:
            check.as_float(x, f, minimum=0.0)
            if not x < 1:
                raise ConfigError(f, f"must be numbers in [0, 1), got {x}")
        if sorted(fr) != list(fr) or len(set(fr)) != len(fr):
            raise ConfigError(f, "must be strictly increasing")
        if not any(abs(x - 0.1) < 1e-9 for x in fr):
            raise ConfigError(f, "must contain 0.1 (the gap is taken there)")
        for name, choices, least in (("manipulation_rankings", RANKINGS, 0),
                                     ("manipulation_curves", RELEVANCE_CURVES, 0),
                                     ("removal_baselines", REMOVAL_BASELINES, 1)):
            f = f"metrics.{name}"
            for value in check.unique(check.as_list(getattr(self, name), f, min_length=least), f):
                check.as_str(value, f, choices=choices)
        check.as_int(self.manipulation_batch_size, "metrics.manipulation_batch_size", minimum=1)
        check.as_float(self.removal_noise, "metrics.removal_noise", minimum=0.0)

    def validate_for(self, n_mics: int, n_samples: int) -> None:
        """Nothing depends on the input shape."""

    @property
    def controls(self) -> list[str]:
        """The method-independent rankings (computed once per model by the controls stage)."""
        return [r for r in self.manipulation_rankings if r != "relevance"]

    def removal(self, baseline: str, windows: np.ndarray, source_ids: np.ndarray,
                seed: int) -> Removal:
        """The removal ``baseline`` of one cell's windows (noise and donors from ``seed``)."""
        try:
            return make_removal(baseline, windows, source_ids, seed, self.removal_noise)
        except ValueError as exc:
            raise ConfigError("metrics.removal_baselines", str(exc)) from None


def control_curves(model: nn.Module, x: np.ndarray, source_ids: np.ndarray,
                   settings: ManipulationSettings, seed: int,
                   removal_seed: int) -> dict[str, np.ndarray]:
    """The ``energy`` and ``random`` curves of one model under every removal baseline: curve
    name (with the baseline's suffix) -> outputs ``(N, F, 3)`` m."""
    if not settings.controls:
        return {}
    keys = {r: (control_key(r, x, seed), "sample") for r in settings.controls}
    base = batched_predict(model, x, settings.manipulation_batch_size)
    out = {}
    for baseline in settings.removal_baselines:
        removal = settings.removal(baseline, x, source_ids, removal_seed)
        preds = curve_predictions(model, removal, keys, settings.manipulation_fractions,
                                  settings.manipulation_batch_size, base)
        out.update({f"{r}{suffix(baseline)}": p for r, p in preds.items()})
    return out


def gap_at(
    curves: dict[str, np.ndarray], fractions: Sequence[float], at: float = 0.1,
    control: str = "random",
) -> np.ndarray:
    """Per-window ``relevance - control`` error at fraction ``at`` (m); larger = more faithful.

    Both curves are of the same windows, so the gap is a paired difference (its CI is that of a
    paired comparison, narrower than two overlapping curve CIs would suggest).
    """
    fr = np.asarray(fractions, dtype=np.float64)
    hit = np.flatnonzero(np.isclose(fr, at))
    if hit.size == 0:
        raise ValueError(f"fractions: {at} is needed for the gap, got {fr.tolist()}")
    if control not in curves:
        raise ValueError(f"control: no {control!r} curve, have {sorted(curves)}")
    return curves["relevance"][:, hit[0]] - curves[control][:, hit[0]]


def normalised_area_between(change: Mapping[str, np.ndarray], first: str, second: str,
                            fractions: Sequence[float]) -> np.ndarray | None:
    """Per-window area between two output-change curves ``(N, F)``, ``first - second``, in
    units of random removal's mean output change at the largest fraction; None when a curve is
    missing, NaN when random removal changes nothing."""
    if first not in change or second not in change or "random" not in change:
        return None
    scale = float(np.nanmean(change["random"][:, -1]))
    area = curve_area(change[first] - change[second], fractions)
    return area / scale if scale > 0 else np.full(area.shape, np.nan)


def derived_scores(preds: Mapping[str, np.ndarray], positions: np.ndarray, base: np.ndarray,
                   fractions: Sequence[float]) -> tuple[dict[str, np.ndarray], dict, dict]:
    """Per-window scores of one baseline from its curves' outputs ``name -> (N, F, 3)``
    (names without the baseline suffix), and the MAE and output-change curves ``(N, F)``."""
    mae = {n: np.abs(p - positions[:, None, :]).mean(axis=-1) for n, p in preds.items()}
    change = {n: np.abs(p - base[:, None, :]).mean(axis=-1) for n, p in preds.items()}
    values = {f"manipulation_auc_{n}": curve_area(c, fractions) for n, c in mae.items()}
    if "relevance" in mae:
        for control, name in (("random", "manipulation_gap_at_10"),
                              ("energy", "manipulation_gap_vs_energy_at_10")):
            if control in mae:
                values[name] = gap_at(mae, fractions, 0.1, control=control)
    for name, first, second in (("manipulation_srg", "relevance", "relevance_lerf"),
                                ("manipulation_spatial_gap", "relevance", "relevance_time")):
        area = normalised_area_between(change, first, second, fractions)
        if area is not None:
            values[name] = area
    return values, mae, change


def _curve_rows(cell: MethodCell, baseline: str, mae: dict, change: dict) -> list[dict]:
    fractions = cell.config.manipulation.manipulation_fractions
    rows = []
    for ranking, curve in mae.items():
        for i, frac in enumerate(fractions):
            stat = summarize(curve[:, i], cell.data.source_ids, seed=cell.seed,
                             n_resamples=cell.config.n_bootstrap, level=cell.config.ci_level)
            rows.append({"ranking": ranking, "fraction": frac, "mae": stat["mean"],
                         "ci_low": stat["ci_low"], "ci_high": stat["ci_high"],
                         "n": stat["n_windows"], "baseline": baseline,
                         "change": float(np.nanmean(change[ranking][:, i]))})
    return rows


def _baseline_predictions(cell: MethodCell, baseline: str) -> dict[str, np.ndarray]:
    """Every curve's outputs ``(N, F, 3)`` under ``baseline``: the relevance curves computed
    here, the controls read from the shared ``controls`` stage when given."""
    s = cell.config.manipulation
    x, sfx = cell.x, suffix(baseline)
    shape = (x.shape[0], len(s.manipulation_fractions), 3)
    shared = s.controls if cell.controls is not None else []
    for name in shared:
        curve = cell.controls.get(f"{name}{sfx}")
        if curve is None or np.shape(curve) != shape:
            got = None if curve is None else np.shape(curve)
            raise ValueError(f"controls: need the {name + sfx!r} curve of shape {shape}, "
                             f"got {got}")
    keys = {r: (control_key(r, x, cell.seed), "sample") for r in s.controls if r not in shared}
    if "relevance" in s.manipulation_rankings:
        for curve in s.manipulation_curves:
            kind = RELEVANCE_CURVES[curve]
            keys[kind.name] = (relevance_key(cell.relevance, kind), kind.layout)
    removal = s.removal(baseline, x, cell.data.source_ids, cell.removal_seed)
    model = cell.model if cell.shared_model is None else cell.shared_model
    preds = curve_predictions(model, removal, keys, s.manipulation_fractions,
                              s.manipulation_batch_size, cell.prediction)
    preds.update({r: np.asarray(cell.controls[f"{r}{sfx}"], np.float64) for r in shared})
    order = [RELEVANCE_CURVES[c].name for c in s.manipulation_curves] + s.controls
    return {name: preds[name] for name in order if name in preds}


def _score(cell: MethodCell) -> Scores:
    s = cell.config.manipulation
    out = Scores()
    rows = []
    for baseline in s.removal_baselines:
        preds = _baseline_predictions(cell, baseline)
        values, mae, change = derived_scores(preds, cell.positions, cell.prediction,
                                             s.manipulation_fractions)
        out.values.update({f"{k}{suffix(baseline)}": v for k, v in values.items()})
        rows += _curve_rows(cell, baseline, mae, change)
    out.tables["curves"] = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return out


#: Equivalence margin of the manipulation errors (m): 5 mm, a twentieth of the models' MAE and
#: a tenth of the study's relevance-vs-random jump at 10 % (docs/metrics.md).
MANIPULATION_MARGIN_M = 0.005
#: ... of the areas (m x fraction): that margin over the paper's fractions [0, 0.7]; and of the
#: areas of output change in units of random removal's change at the largest fraction (SRG,
#: spatial gap): 0.05, a twentieth of that unit.
AUC_MARGIN = 0.7 * MANIPULATION_MARGIN_M
NORMALISED_MARGIN = 0.05
#: (name, direction, unit, description, equivalence margin) of every metric, before the
#: baseline's suffix.
_METRICS: tuple[tuple[str, str, str, str, float], ...] = (
    ("manipulation_auc_relevance", "up", "m",
     "area under MAE vs fraction removed, most relevant first", AUC_MARGIN),
    ("manipulation_auc_relevance_lerf", "down", "m",
     "area under MAE vs fraction removed, least relevant first", AUC_MARGIN),
    ("manipulation_auc_relevance_time", "up", "m",
     "area under MAE vs fraction removed, most relevant time samples on all microphones",
     AUC_MARGIN),
    ("manipulation_auc_relevance_time_lerf", "down", "m",
     "area under MAE vs fraction removed, least relevant time samples on all microphones",
     AUC_MARGIN),
    ("manipulation_auc_energy", "up", "m",
     "area under MAE vs fraction removed, largest |x| first (control)", AUC_MARGIN),
    ("manipulation_auc_random", "up", "m",
     "area under MAE vs fraction removed at random (control)", AUC_MARGIN),
    ("manipulation_gap_at_10", "up", "m",
     "MAE(relevance) - MAE(random) with 10 % of samples removed", MANIPULATION_MARGIN_M),
    ("manipulation_gap_vs_energy_at_10", "up", "m",
     "MAE(relevance) - MAE(energy) with 10 % of samples removed (paired)", MANIPULATION_MARGIN_M),
    ("manipulation_srg", "up", "norm.",
     "symmetric relevance gain: area between the MoRF and LeRF output-change curves",
     NORMALISED_MARGIN),
    ("manipulation_spatial_gap", "up", "norm.",
     "area between per-sample and time-aligned MoRF output-change curves (spatial cues)",
     NORMALISED_MARGIN),
)
METRIC_NAMES: tuple[str, ...] = tuple(m[0] for m in _METRICS)


def _specs() -> tuple[MetricSpec, ...]:
    return tuple(
        MetricSpec(f"{name}{suffix(b)}", "manipulation", direction, unit,
                   description + ("" if b == STUDY_BASELINE else f" ({b} removal)"),
                   margin=margin)
        for b in REMOVAL_BASELINES for name, direction, unit, description, margin in _METRICS)


#: The headline column of the family: the symmetric relevance gain under the noisy removal,
#: else (a run without it) under zero removal, else the gap over random removal.
HEADLINES = {"manipulation_srg_noisy_linear": Headline(
    "Manipulation", "Manip.", ("manipulation_srg_noisy_linear",),
    "no gain (MoRF no steeper than LeRF) and the controls",
    fallbacks=(("manipulation_srg", "no gain (MoRF no steeper than LeRF) and the controls"),
               ("manipulation_gap_at_10", "random removal (gap > 0) and the controls")),
    order=2)}

FAMILY = Family(name="manipulation", metrics=with_headlines(_specs(), HEADLINES),
                settings=ManipulationSettings, score=_score)
"""Experiment A of the study: relevance-ranked removal against the energy and random controls,
under every removal baseline."""


__all__ = [
    "CURVE_COLUMNS",
    "FAMILY",
    "METRIC_NAMES",
    "ManipulationSettings",
    "PAPER_FRACTIONS",
    "RANKINGS",
    "batched_predict",
    "control_curves",
    "curve_area",
    "derived_scores",
    "gap_at",
    "normalised_area_between",
    "top_k_masks",
]
