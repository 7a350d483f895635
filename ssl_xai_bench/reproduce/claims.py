"""Mechanical verdict rules for the reference study's claims (used by
:mod:`ssl_xai_bench.reproduce.document`).

The study (Comanducci, Antonacci, Sarti, EUSIPCO 2024; ``../shared/spec/PAPER.md``, "Claim to
reproduce") makes two claims, judged here per (model, condition) cell from numbers with 95 %
confidence intervals (cluster bootstrap over sources,
:func:`~ssl_xai_bench.metrics.stats.summarize`):

- **Skill gate.** A model that cannot localise cannot support claims about its explanations: a
  cell is judged only when the paired gain (the trivial predictor's error minus the model's, per
  test window, ``model_skill.csv`` ``gain_vs_trivial``) has a CI above 0 (results without it:
  when the model's MAE interval lies entirely below the trivial predictor's); otherwise every
  claim is *inconclusive* there.
- **C1** (TDoA): GCC-PHAT on the LRP relevance beats *both* the microphone signals and the
  constant lag-0 estimator. Against each comparator X, the paired difference of the
  non-anomalous fraction (relevance minus X, ``tdoa_*_gain_vs_X``) decides first: CI above 0 ->
  relevance better, below 0 -> worse. When that CI is exactly [0, 0] (the same windows are
  anomalous for both: e.g. no anomaly at all) the MAE over non-anomalous windows decides, by
  non-overlapping CIs. A better anomaly rate with a clearly worse MAE is undecided. Verdict:
  *reproduced* if relevance beats both; *not reproduced* if it is clearly worse than either;
  *inconclusive* otherwise (a CI overlapping 0, missing numbers, no skill).
- **C2** (manipulation at P = 10 %): *reproduced* if the paired gaps MAE(relevance) -
  MAE(random) and MAE(relevance) - MAE(energy) (same windows) both have a CI above 0; *not
  reproduced* if either gap's CI is below 0; else *inconclusive*. For results without the paired
  energy gap, the relevance curve's CI must lie above (below) the energy curve's instead.
- **Curve shape** ("relevance removal jumps at 10 %; energy grows gradually; random is flat until
  about 50 %"), on point estimates, for the paper's curves and ours alike: F1 the relevance rise
  from 0 to 10 % is positive and at least :data:`JUMP_SHARE` of its rise to the curve's maximum;
  F2 the energy curve rises and its 0 -> 10 % rise is below :data:`JUMP_SHARE` of its rise to the
  maximum; F3 the random curve stays within :data:`FLAT_TOLERANCE` x MAE(0) of MAE(0) up to 50 %.

Claims aggregate over the cells **where the model localises** (:func:`aggregate_cells`; a cell
where it does not is inconclusive by the skill gate and is not counted, so it can neither
dilute nor support a verdict; with no such cell the claim is inconclusive): *reproduced* if no
counted cell is not reproduced and at least half are reproduced; *not reproduced* if no counted
cell is reproduced and at least half are not reproduced; *inconclusive* otherwise (mixed
results, or mostly inconclusive cells) (:func:`aggregate`).

Units: MAE in metres; TDoA MAE in samples; anomaly and non-anomalous rates as fractions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
INCONCLUSIVE = "inconclusive"
VERDICTS = (REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE)
LOCALISES = "localises"
NO_SKILL = "does not localise"
UNKNOWN = "unknown"

#: F1/F2: share of a curve's total rise (0 -> maximum) that its 0 -> 10 % step must reach to count
#: as a "jump" (the paper's four relevance curves reach 0.48 to 0.96).
JUMP_SHARE = 0.4
#: F3: largest |MAE(P) - MAE(0)| for P <= 50 %, as a fraction of MAE(0), for a "flat" curve.
FLAT_TOLERANCE = 0.05


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95 % confidence interval (``ci_low <= mean <= ci_high`` when finite)."""

    mean: float
    ci_low: float
    ci_high: float

    @property
    def has_ci(self) -> bool:
        """True when mean and both bounds are finite numbers."""
        return all(math.isfinite(float(v)) for v in (self.mean, self.ci_low, self.ci_high))

    def text(self) -> str:
        """``mean [low, high]``, numbers as the leaderboards print them (4 significant digits)."""
        from ssl_xai_bench.report.tables.leaderboard import format_number

        return (f"{format_number(self.mean)} [{format_number(self.ci_low)}, "
                f"{format_number(self.ci_high)}]")


@dataclass(frozen=True)
class Verdict:
    """A verdict (one of :data:`VERDICTS`) and the reason, with the numbers that decided it."""

    verdict: str
    reason: str


def ci_order(a: Estimate | None, b: Estimate | None) -> int | None:
    """+1 if ``a``'s CI lies entirely above ``b``'s, -1 if entirely below, 0 if they overlap.

    None when either is missing or has no finite CI.
    """
    if a is None or b is None or not (a.has_ci and b.has_ci):
        return None
    if a.ci_low > b.ci_high:
        return 1
    if a.ci_high < b.ci_low:
        return -1
    return 0


def ci_sign(d: Estimate | None) -> int | None:
    """+1 if the CI of a difference lies above 0, -1 if below, 0 if it contains 0; None if none."""
    if d is None or not d.has_ci:
        return None
    if d.ci_low > 0:
        return 1
    if d.ci_high < 0:
        return -1
    return 0


def skill_gate(model: Estimate | None, trivial: Estimate | None,
               gain: Estimate | None = None) -> Verdict:
    """Does the model localise? Verdict :data:`LOCALISES`, :data:`NO_SKILL` or :data:`UNKNOWN`.

    Rule: the paired gain (trivial predictor's error minus the model's, per window on the same
    windows) has a CI above 0. Without it (results written before the paired gain existed): the
    model's MAE CI lies entirely below the trivial predictor's (``ci_order == -1``), stricter.
    """
    if gain is not None and gain.has_ci and model is not None and trivial is not None:
        txt = (f"MAE {model.text()} m vs trivial {trivial.text()} m, paired gain "
               f"{gain.text()} m")
        if ci_sign(gain) == 1:
            return Verdict(LOCALISES, f"beats the trivial predictor: {txt}")
        return Verdict(NO_SKILL, f"does not beat the trivial predictor (paired gain CI "
                       f"{'reaches 0' if ci_sign(gain) == 0 else 'below 0'}): {txt}")
    order = ci_order(model, trivial)
    if order is None:
        return Verdict(UNKNOWN, "no test MAE with a CI for the model or the trivial predictor")
    assert model is not None and trivial is not None
    txt = f"MAE {model.text()} m vs trivial {trivial.text()} m"
    if order == -1:
        return Verdict(LOCALISES, f"beats the trivial predictor: {txt}")
    return Verdict(NO_SKILL, f"does not beat the trivial predictor (CIs "
                   f"{'overlap' if order == 0 else 'lie above'}): {txt}")


def beats(gain: Estimate | None, mae_relevance: Estimate | None,
          mae_other: Estimate | None) -> int | None:
    """C1 comparison of relevance against one estimator (see the module docstring).

    Parameters
    ----------
    gain : Estimate
        Paired non-anomalous fraction, relevance minus the other estimator.
    mae_relevance, mae_other : Estimate
        TDoA MAE (samples) over non-anomalous windows.

    Returns
    -------
    int or None
        +1 relevance better, -1 worse, 0 undecided, None when ``gain`` is missing.
    """
    anomaly = ci_sign(gain)
    if anomaly is None:
        return None
    assert gain is not None
    error = ci_order(mae_other, mae_relevance)  # +1: the other's error lies above relevance's
    if anomaly == -1:
        return -1
    if anomaly == 1:
        return 0 if error == -1 else 1
    if gain.ci_low == 0 and gain.ci_high == 0:
        return error if error is not None else 0
    return 0


def judge_c1(skill: Verdict, gain_mic: Estimate | None, gain_const: Estimate | None,
             mae_rel: Estimate | None, mae_mic: Estimate | None,
             mae_const: Estimate | None) -> Verdict:
    """C1 verdict of one (model, condition, TDoA variant) cell.

    ``gain_*``: paired non-anomalous fraction, relevance minus microphones / constant;
    ``mae_*``: TDoA MAE (samples) of relevance, microphones and the constant estimator.
    """
    if skill.verdict != LOCALISES:
        return Verdict(INCONCLUSIVE, f"model not shown to localise: {skill.reason}")
    vm = beats(gain_mic, mae_rel, mae_mic)
    vc = beats(gain_const, mae_rel, mae_const)
    if vm is None or vc is None:
        return Verdict(INCONCLUSIVE, "missing TDoA gain rows")
    assert gain_mic is not None and gain_const is not None
    words = {1: "beats", -1: "loses to", 0: "undecided against"}
    txt = (f"relevance {words[vm]} microphones (gain {gain_mic.text()}), {words[vc]} the constant "
           f"lag-0 estimator (gain {gain_const.text()})")
    if vm == -1 or vc == -1:
        return Verdict(NOT_REPRODUCED, txt)
    if vm == 1 and vc == 1:
        return Verdict(REPRODUCED, txt)
    return Verdict(INCONCLUSIVE, txt)


def judge_c2(skill: Verdict, gap10: Estimate | None, relevance10: Estimate | None,
             energy10: Estimate | None, energy_gap10: Estimate | None = None) -> Verdict:
    """C2 verdict of one (model, condition) cell at P = 10 %.

    ``energy_gap10`` is the paired gap MAE(relevance) - MAE(energy) on the same windows; when
    given, its CI decides relevance vs energy (as ``gap10`` does vs random). Without it (results
    written before the paired gap existed) the two curves' CIs must separate, which is stricter.
    """
    if skill.verdict != LOCALISES:
        return Verdict(INCONCLUSIVE, f"model not shown to localise: {skill.reason}")
    gap = ci_sign(gap10)
    paired = energy_gap10 is not None and energy_gap10.has_ci
    order = ci_sign(energy_gap10) if paired else ci_order(relevance10, energy10)
    if gap is None or order is None:
        return Verdict(INCONCLUSIVE, "missing the 10 % manipulation numbers")
    assert gap10 is not None and relevance10 is not None and energy10 is not None
    txt = f"gap relevance-random {gap10.text()} m; "
    if paired:
        txt += f"gap relevance-energy {energy_gap10.text()} m (paired)"
    else:
        txt += f"relevance {relevance10.text()} m vs energy {energy10.text()} m"
    if gap == -1 or order == -1:
        return Verdict(NOT_REPRODUCED, txt)
    if gap == 1 and order == 1:
        return Verdict(REPRODUCED, txt)
    return Verdict(INCONCLUSIVE, txt)


@dataclass(frozen=True)
class Shape:
    """Curve-shape features F1-F3 (see the module docstring) and the numbers behind them."""

    relevance_jump_share: float
    energy_jump_share: float
    random_max_dev: float
    f1_relevance_jumps: bool
    f2_energy_gradual: bool
    f3_random_flat: bool

    @property
    def matches(self) -> bool:
        """All three features hold."""
        return self.f1_relevance_jumps and self.f2_energy_gradual and self.f3_random_flat


def _jump_share(fractions: np.ndarray, mae: np.ndarray) -> tuple[float, float]:
    base = mae[0]
    rise10 = float(mae[np.isclose(fractions, 0.1)][0] - base)
    total = float(np.max(mae) - base)
    return rise10, (rise10 / total if total > 0 else math.nan)


def curve_shape(fractions: Sequence[float], relevance: Sequence[float], energy: Sequence[float],
                random: Sequence[float]) -> Shape:
    """F1-F3 of one set of manipulation curves (MAE in metres at ``fractions``).

    Raises
    ------
    ValueError
        When the fractions lack 0, 0.1 or any value >= 0.5, or lengths differ.
    """
    fr = np.asarray(fractions, dtype=np.float64)
    curves = [np.asarray(c, dtype=np.float64) for c in (relevance, energy, random)]
    if any(c.shape != fr.shape for c in curves):
        raise ValueError("fractions: every curve needs one MAE per fraction")
    if not (np.isclose(fr[0], 0.0) and np.isclose(fr, 0.1).any() and fr.max() >= 0.5 - 1e-9):
        raise ValueError("fractions: need P = 0 first, P = 0.1 and P >= 0.5 for the shape rules")
    rel, en, rnd = curves
    rel_rise, rel_share = _jump_share(fr, rel)
    _, en_share = _jump_share(fr, en)
    upto = fr <= 0.5 + 1e-9
    dev = float(np.max(np.abs(rnd[upto] - rnd[0])))
    return Shape(
        relevance_jump_share=rel_share, energy_jump_share=en_share, random_max_dev=dev,
        f1_relevance_jumps=bool(rel_rise > 0 and rel_share >= JUMP_SHARE),
        f2_energy_gradual=bool(np.max(en) > en[0] and en_share < JUMP_SHARE),
        f3_random_flat=bool(dev <= FLAT_TOLERANCE * rnd[0]),
    )


def judge_shape(skill: Verdict, shape: Shape | None) -> Verdict:
    """Shape verdict of one cell: reproduced when F1-F3 all hold, not reproduced otherwise."""
    if skill.verdict != LOCALISES:
        return Verdict(INCONCLUSIVE, f"model not shown to localise: {skill.reason}")
    if shape is None:
        return Verdict(INCONCLUSIVE, "curves missing or without P = 0, 0.1 and >= 0.5")
    fails = [name for name, ok in (("F1", shape.f1_relevance_jumps),
                                   ("F2", shape.f2_energy_gradual),
                                   ("F3", shape.f3_random_flat)) if not ok]
    if not fails:
        return Verdict(REPRODUCED, "F1, F2 and F3 hold")
    return Verdict(NOT_REPRODUCED, f"{', '.join(fails)} fail")


def aggregate(verdicts: Sequence[str]) -> Verdict:
    """One claim's verdict from its cells' verdicts (rule in the module docstring)."""
    for v in verdicts:
        if v not in VERDICTS:
            raise ValueError(f"verdicts: unknown verdict {v!r}; allowed: {', '.join(VERDICTS)}")
    n = len(verdicts)
    r = sum(v == REPRODUCED for v in verdicts)
    nr = sum(v == NOT_REPRODUCED for v in verdicts)
    counts = f"{r} reproduced, {nr} not reproduced, {n - r - nr} inconclusive of {n} cells"
    if n and nr == 0 and 2 * r >= n:
        return Verdict(REPRODUCED, counts)
    if n and r == 0 and 2 * nr >= n:
        return Verdict(NOT_REPRODUCED, counts)
    return Verdict(INCONCLUSIVE, counts + (" (mixed)" if r and nr else ""))


def aggregate_cells(cells: Sequence[Mapping[str, Any]]) -> Verdict:
    """One claim's verdict from its judged cells (dicts with ``skill`` and ``verdict``
    :class:`Verdict`), counting only those where the model localises."""
    counted = [c["verdict"].verdict for c in cells if c["skill"].verdict == LOCALISES]
    skipped = len(cells) - len(counted)
    if not counted:
        return Verdict(INCONCLUSIVE, f"no cell where the model localises ({_not_counted(skipped)})")
    v = aggregate(counted)
    reason = v.reason.replace("of ", "of the ", 1).replace(
        " cells", " cells where the model localises", 1)
    if skipped:
        reason += f"; {_not_counted(skipped)}"
    return Verdict(v.verdict, reason)


def _not_counted(n: int) -> str:
    return (f"{n} cell where it does not is not counted" if n == 1
            else f"{n} cells where it does not are not counted")


__all__ = ["FLAT_TOLERANCE", "INCONCLUSIVE", "JUMP_SHARE", "LOCALISES", "NOT_REPRODUCED",
           "NO_SKILL", "REPRODUCED", "UNKNOWN",
           "VERDICTS", "Estimate", "Shape", "Verdict", "aggregate", "aggregate_cells", "beats",
           "ci_order", "ci_sign", "curve_shape", "judge_c1", "judge_c2", "judge_shape",
           "skill_gate"]
