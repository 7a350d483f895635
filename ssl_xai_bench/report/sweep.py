"""How method rankings change across a sweep of reverberation, noise and array geometry.

Reads the tidy ``leaderboard.csv`` of a run whose matrix varies T60, SNR or the array geometry
(the ``sweep`` preset). For each metric (direction from its rows) and model:

- :func:`ranks`: the rank of every attribution method in every condition (1 = best by the
  metric's direction; ties share the average rank; controls and TDoA baselines are left out;
  failed, undefined or missing cells get no rank), **only in the cells where the model
  localises** when ``localising`` is given (:func:`localising_cells`): the ranking of
  explanations of a model that has not learnt the task says nothing about the task;
- :func:`rank_agreement`: for each factor (``t60``, ``snr_db``, ``geometry``), how much the
  ranking agrees between the factor's levels with the other two factors held fixed: the mean over
  those pairs of conditions of Kendall's tau between the two rankings (1 = the same order, 0 = no
  relation, -1 = reversed), and the share of them whose best method is the same; beside each,
  the independent units behind it (:func:`independent_units`): the pairs, the cells, the
  trained models (cells that share a trained start, e.g. one mixture model per array, are one
  unit) and the sources per cell (:func:`metric_sources`: the test sources of the explained
  windows behind one cell's value, not the run's test set, which only model skill uses);
- :func:`best_per_condition`: the best method of every condition.

The report's "Sweep" section (:mod:`ssl_xai_bench.report.sweep_section`) shows these beside the
figures of :mod:`ssl_xai_bench.report.figures.sweep`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ssl_xai_bench.report.headline import HEADLINE, HeadlineSpec, headline_columns

FACTORS = ("t60", "snr_db", "geometry")


def sweep_metrics(board: pd.DataFrame,
                  specs: Sequence[HeadlineSpec] = HEADLINE) -> list[str]:
    """The metrics the sweep section ranks: the run's headline metric of every family
    (:func:`ssl_xai_bench.report.headline.headline_columns` of ``specs``, fallbacks resolved)."""
    return [col.metric for col in headline_columns(board, specs)]


NOT_RANKED = ("random", "energy", "microphones", "constant", "direct_path")


def is_sweep(board: pd.DataFrame) -> bool:
    """True when the run varies at least one factor (two or more values of it)."""
    return any(board[f].nunique() > 1 for f in FACTORS if f in board)


def localising_cells(skill: pd.DataFrame | None) -> set[tuple[str, str]] | None:
    """(model, condition) cells where the model localises: its paired gain over the trivial
    predictor has a 95 % CI above 0 (``model_skill.csv``); None without skill numbers."""
    if skill is None or skill.empty or "gain_ci_low" not in skill.columns:
        return None
    own = skill[(skill["predictor"] == skill["model"])
                | (skill["predictor"] == skill["model"] + " (external)")]
    return {(r.model, r.condition) for r in own.itertuples() if r.gain_ci_low > 0}


def independent_units(cells: pd.DataFrame, scope: str | None = None,
                      n_sources: int | None = None) -> dict[str, int]:
    """The independent units behind a statistic over ``cells`` (rows with model, t60, snr_db,
    geometry): cells, trained models (``scope`` ``condition``: one per cell; ``geometry`` and
    ``curriculum``: one start per (model, array), fine-tuned or chained per condition, so its
    cells are not independent; unknown: the cells) and sources per cell (``n_sources``:
    :func:`metric_sources`)."""
    keys = cells.drop_duplicates(["model", *FACTORS])
    chains = (len(keys.drop_duplicates(["model", "geometry"]))
              if scope in ("geometry", "curriculum") else len(keys))
    return {"cells": len(keys), "trained_models": chains,
            "sources_per_cell": int(n_sources or 0)}


def metric_sources(board: pd.DataFrame, metric: str) -> int:
    """The most test sources behind one cell's value of ``metric`` (``n_sources`` of its
    leaderboard rows): the sources of the explained windows, which a ranking rests on."""
    rows = board[(board["metric"] == metric) & (board["status"] == "ok")]
    return int(rows["n_sources"].max()) if len(rows) else 0


def ranks(board: pd.DataFrame, metric: str,
          localising: set[tuple[str, str]] | None = None) -> pd.DataFrame:
    """Rank of each method per (model, condition): columns model, t60, snr_db, geometry,
    method, mean, rank; only the ``localising`` (model, condition) cells when given."""
    rows = board[(board["metric"] == metric) & (board["status"] == "ok")
                 & ~board["method"].isin(NOT_RANKED) & np.isfinite(board["mean"])]
    if localising is not None:
        keep = [(m, c) in localising for m, c in zip(rows["model"], rows["condition"],
                                                      strict=True)]
        rows = rows[np.asarray(keep, dtype=bool)]
    if rows.empty:
        return pd.DataFrame(columns=["model", *FACTORS, "method", "mean", "rank"])
    up = rows["direction"].iloc[0] == "up"
    out = rows[["model", *FACTORS, "method", "mean"]].copy()
    out["rank"] = out.groupby(["model", *FACTORS])["mean"].rank(ascending=not up,
                                                               method="average")
    return out.sort_values(["model", *FACTORS, "rank"], kind="stable").reset_index(drop=True)


def training_scope(provenance: dict[str, Any] | None) -> str | dict[str, str] | None:
    """The training scope of a run (``training.scope`` of the config in its provenance), which
    :func:`independent_units` needs to count trained models; None when it is not recorded.
    When a ``[training.per_model.ARCH]`` table sets its own scope: a dict from architecture to
    scope, ``"*"`` for the others (the section's)."""
    training = (provenance or {}).get("config", {}).get("training", {})
    section = training.get("scope")
    own = {arch: t["scope"] for arch, t in (training.get("per_model") or {}).items()
           if t.get("scope", section) != section}
    return {**own, "*": section} if own and section is not None else section


def scope_text(scope: str | Mapping[str, str] | None) -> str:
    """:func:`training_scope`'s result in words (``samplecnn: condition, others: curriculum``)."""
    if isinstance(scope, Mapping):
        return ", ".join(f"{'others' if k == '*' else k}: {v}"
                         for k, v in sorted(scope.items(), key=lambda kv: kv[0] == "*"))
    return str(scope)


def _scope_of(scope: str | Mapping[str, str] | None, model: str) -> str | None:
    """A model entry's scope in :func:`training_scope`'s result."""
    if isinstance(scope, Mapping):
        return scope.get(model.partition("@")[0], scope.get("*"))
    return scope


AGREEMENT_COLUMNS = ["model", "factor", "pairs", "kendall_tau", "same_best", "cells",
                     "trained_models", "sources_per_cell"]


def rank_agreement(ranked: pd.DataFrame, scope: str | Mapping[str, str] | None = None,
                   n_sources: int | None = None) -> pd.DataFrame:
    """Per (model, factor): mean Kendall tau between rankings at two levels of the factor (the
    other factors fixed), the number of such pairs, the share with the same best method, and
    the independent units behind them (:func:`independent_units`, over the cells in pairs)."""
    rows = []
    for model, part in ranked.groupby("model"):
        for factor in FACTORS:
            others = [f for f in FACTORS if f != factor]
            taus, same_best, used = [], [], []
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
                    used.append(group[group[factor].isin([a, b])])
            if taus:
                units = independent_units(pd.concat(used), _scope_of(scope, model), n_sources)
                rows.append({"model": model, "factor": factor, "pairs": len(taus),
                             "kendall_tau": float(np.nanmean(taus)),
                             "same_best": float(np.mean(same_best)), **units})
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def best_per_condition(ranked: pd.DataFrame) -> pd.DataFrame:
    """The best method (rank 1; ties joined with ``=``) of every (model, condition)."""
    rows = []
    for key, group in ranked.groupby(["model", *FACTORS]):
        best = group[group["rank"] == group["rank"].min()]["method"]
        rows.append({**dict(zip(["model", *FACTORS], key, strict=True)),
                     "best": " = ".join(sorted(best))})
    return pd.DataFrame(rows, columns=["model", *FACTORS, "best"])


__all__ = ["AGREEMENT_COLUMNS", "FACTORS", "best_per_condition", "sweep_metrics",
           "independent_units", "is_sweep", "localising_cells", "rank_agreement", "ranks",
           "scope_text", "training_scope"]
