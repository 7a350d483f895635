"""How method rankings change across a sweep of reverberation, noise and array geometry.

Reads the tidy ``leaderboard.csv`` of a run whose matrix varies T60, SNR or the array geometry
(the ``sweep`` preset). For each metric (direction from its rows) and model:

- :func:`ranks`: the rank of every attribution method in every condition (1 = best by the
  metric's direction; ties share the average rank; controls and TDoA baselines are left out;
  failed or missing cells get no rank);
- :func:`rank_agreement`: for each factor (``t60``, ``snr_db``, ``geometry``), how much the
  ranking agrees between the factor's levels with the other two factors held fixed: the mean over
  those pairs of conditions of Kendall's tau between the two rankings (1 = the same order, 0 = no
  relation, -1 = reversed), and the share of them whose best method is the same;
- :func:`best_per_condition`: the best method of every condition.

The report's "Sweep" section (:mod:`ssl_xai_bench.report.sweep_section`) shows these beside the
figures of :mod:`ssl_xai_bench.report.figures.sweep`.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats

FACTORS = ("t60", "snr_db", "geometry")
#: Metrics of the sweep figures, one per family that needs no re-explanation.
SWEEP_METRICS = ("faithfulness_correlation", "manipulation_gap_at_10", "sparseness",
                 "tdoa_bounded_gain_vs_constant", "dereverb_gain_vs_microphones")
NOT_RANKED = ("random", "energy", "microphones", "constant", "direct_path")


def is_sweep(board: pd.DataFrame) -> bool:
    """True when the run varies at least one factor (two or more values of it)."""
    return any(board[f].nunique() > 1 for f in FACTORS if f in board)


def ranks(board: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Rank of each method per (model, condition): columns model, t60, snr_db, geometry,
    method, mean, rank."""
    rows = board[(board["metric"] == metric) & (board["status"] == "ok")
                 & ~board["method"].isin(NOT_RANKED) & np.isfinite(board["mean"])]
    if rows.empty:
        return pd.DataFrame(columns=["model", *FACTORS, "method", "mean", "rank"])
    up = rows["direction"].iloc[0] == "up"
    out = rows[["model", *FACTORS, "method", "mean"]].copy()
    out["rank"] = out.groupby(["model", *FACTORS])["mean"].rank(ascending=not up,
                                                               method="average")
    return out.sort_values(["model", *FACTORS, "rank"], kind="stable").reset_index(drop=True)


def rank_agreement(ranked: pd.DataFrame) -> pd.DataFrame:
    """Per (model, factor): mean Kendall tau between rankings at two levels of the factor (the
    other factors fixed), the number of such pairs, and the share with the same best method."""
    rows = []
    for model, part in ranked.groupby("model"):
        for factor in FACTORS:
            others = [f for f in FACTORS if f != factor]
            taus, same_best = [], []
            for _, group in part.groupby(others):
                levels = sorted(group[factor].unique(), key=str)
                for a, b in itertools.combinations(levels, 2):
                    ra = group[group[factor] == a].set_index("method")["rank"]
                    rb = group[group[factor] == b].set_index("method")["rank"]
                    common = ra.index.intersection(rb.index)
                    if len(common) < 3:
                        continue
                    tau = stats.kendalltau(ra[common], rb[common]).statistic
                    taus.append(tau)
                    same_best.append(ra[common].idxmin() == rb[common].idxmin())
            if taus:
                rows.append({"model": model, "factor": factor, "pairs": len(taus),
                             "kendall_tau": float(np.nanmean(taus)),
                             "same_best": float(np.mean(same_best))})
    return pd.DataFrame(rows, columns=["model", "factor", "pairs", "kendall_tau", "same_best"])


def best_per_condition(ranked: pd.DataFrame) -> pd.DataFrame:
    """The best method (rank 1; ties joined with ``=``) of every (model, condition)."""
    rows = []
    for key, group in ranked.groupby(["model", *FACTORS]):
        best = group[group["rank"] == group["rank"].min()]["method"]
        rows.append({**dict(zip(["model", *FACTORS], key, strict=True)),
                     "best": " = ".join(sorted(best))})
    return pd.DataFrame(rows, columns=["model", *FACTORS, "best"])


__all__ = ["FACTORS", "SWEEP_METRICS", "best_per_condition", "is_sweep", "rank_agreement",
           "ranks"]
