"""The leaderboard model: tidy ``leaderboard.csv`` rows -> methods x metrics, ranks, best cells.

See :mod:`ssl_xai_bench.report.tables` for the layout, the ranking rule and the rounding rule.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ssl_xai_bench.report.render import ARROWS

TIDY_COLUMNS: tuple[str, ...] = (
    "model", "condition", "t60", "snr_db", "geometry", "method", "metric", "category",
    "direction", "unit", "n_windows", "n_sources", "mean", "ci_low", "ci_high", "n_nonfinite",
    "status", "reason",
)
SKILL_COLUMNS: tuple[str, ...] = (
    "model", "condition", "t60", "snr_db", "geometry", "predictor", "mae", "mae_x", "mae_y",
    "mae_z", "euclid_mean", "euclid_median", "ci_low", "ci_high", "n_windows", "n_sources",
    "beats_trivial",
)
#: ``ok``: a score; ``failed``: the metric (or its cell) raised; ``undefined``: it ran but no
#: window has a finite value (the reason says why). Only ``ok`` rows are ranked or compared.
STATUSES = ("ok", "failed", "undefined")
SIG_DIGITS = 4


def format_number(x: float) -> str:
    """Format a number with ``SIG_DIGITS`` significant digits (``format(x, ".4g")``)."""
    x = float(x)
    if not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    s = format(x, f".{SIG_DIGITS}g")
    return "0" if s == "-0" else s


def round_sig(x: float) -> float:
    """The value a rendered table shows for ``x`` (``float(format_number(x))``)."""
    return float(format_number(x))



def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, ``.``, ``-``, ``_``)."""
    s = re.sub(r"[^A-Za-z0-9.\-]+", "_", str(text)).strip("_")
    return s or "x"


def validate_tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Check a tidy leaderboard; raise ``ValueError`` naming the offending column.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows as written to ``leaderboard.csv`` (columns ``TIDY_COLUMNS``).

    Returns
    -------
    pandas.DataFrame
        ``df`` with ``unit``/``reason`` NaN replaced by ``""``.
    """
    missing = [c for c in TIDY_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"leaderboard: missing columns {missing}; expected {list(TIDY_COLUMNS)}")
    bad_dir = set(df["direction"]) - set(ARROWS)
    if bad_dir:
        raise ValueError(f"leaderboard.direction: {sorted(bad_dir)} not in ['down', 'up']")
    bad_status = set(df["status"]) - set(STATUSES)
    if bad_status:
        raise ValueError(f"leaderboard.status: {sorted(bad_status)} not in {list(STATUSES)}")
    out = df.copy()
    out["unit"] = out["unit"].fillna("").astype(str)
    out["reason"] = out["reason"].fillna("").astype(str)
    dup = out.duplicated(["model", "condition", "method", "metric"])
    if dup.any():
        row = out.loc[dup].iloc[0]
        raise ValueError(
            "leaderboard: duplicate (model, condition, method, metric) row "
            f"{(row['model'], row['condition'], row['method'], row['metric'])}"
        )
    return out


@dataclass(frozen=True)
class Column:
    """One metric column: name, unit (``""`` = unitless) and direction (``up``/``down``)."""

    metric: str
    unit: str
    direction: str

    def text(self) -> str:
        """The header without its arrow, e.g. ``tdoa_mae [samples]``."""
        return f"{self.metric} [{self.unit}]" if self.unit else self.metric

    def label(self) -> str:
        """Plain header, e.g. ``tdoa_mae [samples] ↓``."""
        return f"{self.text()} {ARROWS[self.direction]}"


@dataclass
class Leaderboard:
    """A renderer-independent leaderboard (methods x metrics).

    ``mean``, ``ci_low``, ``ci_high`` are DataFrames indexed by method with one column per metric
    (NaN where failed or absent); ``failed`` maps (method, metric) to the reason; ``best`` marks
    the best value per column; ``mean_rank`` is indexed by method.
    """

    title: str
    columns: list[Column]
    mean: pd.DataFrame
    ci_low: pd.DataFrame
    ci_high: pd.DataFrame
    failed: dict[tuple[str, str], str]
    with_ci: bool = True
    keys: dict[str, Any] = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        """Row labels in display order."""
        return list(self.mean.index)

    @property
    def ranks(self) -> pd.DataFrame:
        """Rank of each method per metric column (1 = best, ties averaged, NaN unranked)."""
        out = {}
        for col in self.columns:
            out[col.metric] = self.mean[col.metric].rank(
                ascending=(col.direction == "down"), method="average"
            )
        return pd.DataFrame(out, index=self.mean.index)

    @property
    def mean_rank(self) -> pd.Series:
        """Mean over metric columns of the method's rank (columns without a value skipped)."""
        return self.ranks.mean(axis=1, skipna=True)

    @property
    def best(self) -> pd.DataFrame:
        """True where the method ranks first in the column (ties all True)."""
        return self.ranks.apply(
            lambda s: s == s.min() if s.notna().any() else s.notna()
        ).fillna(False).astype(bool)

    def footnotes(self) -> list[tuple[str, str, str, str]]:
        """``(letter, method, metric, reason)`` for each failed cell, in table order; cells that
        failed for the same reason share a letter (:meth:`footnote_lines` has one line each)."""
        groups = group_failures([(m, c.metric, self.failed[(m, c.metric)]) for m in self.methods
                                 for c in self.columns if (m, c.metric) in self.failed])
        return [(_letter(i), m, k, reason) for i, (where, reason) in enumerate(groups)
                for m, k in where]

    def footnote_lines(self) -> list[tuple[str, str]]:
        """``(letter, text)``: one line per distinct failure reason, its cells counted."""
        groups = group_failures([(m, k, r) for _, m, k, r in self.footnotes()])
        return [(_letter(i), failure_text(where, reason))
                for i, (where, reason) in enumerate(groups)]


def group_failures(failed: list[tuple[str, str, str]]
                   ) -> list[tuple[list[tuple[str, str]], str]]:
    """``(method, metric, reason)`` triples grouped by reason, in order of first appearance:
    ``[([(method, metric), ...], reason), ...]``."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for method, metric, reason in failed:
        groups.setdefault(reason, []).append((method, metric))
    return [(where, reason) for reason, where in groups.items()]


def failure_text(where: list[tuple[str, str]], reason: str, word: str = "failed") -> str:
    """A footnote for the entries ``where`` that failed (or are ``word``, e.g. ``undefined``)
    for ``reason``: ``lrp / x: failed: R`` for one, ``failed in 21 entries (methods a, b, c;
    7 metrics): R`` for several."""
    if len(where) == 1:
        return f"{where[0][0]} / {where[0][1]}: {word}: {reason}"
    methods = list(dict.fromkeys(m for m, _ in where))
    metrics = list(dict.fromkeys(k for _, k in where))
    what = (f"method{'s' if len(methods) > 1 else ''} {', '.join(methods)}; "
            f"{len(metrics)} metric{'s' if len(metrics) > 1 else ''}")
    return f"{word} in {len(where)} entries ({what}): {reason}"


def _letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return s


def _columns(rows: pd.DataFrame) -> list[Column]:
    cols = []
    for metric, g in rows.groupby("metric", sort=False):
        units, dirs = set(g["unit"]), set(g["direction"])
        if len(units) != 1 or len(dirs) != 1:
            raise ValueError(
                f"leaderboard: metric {metric!r} has inconsistent unit {sorted(units)} "
                f"or direction {sorted(dirs)}"
            )
        cols.append(Column(str(metric), units.pop(), dirs.pop()))
    return cols


def _pivot(rows: pd.DataFrame, value: str, methods: list[str], metrics: list[str]) -> pd.DataFrame:
    ok = rows[rows["status"] == "ok"]
    wide = ok.pivot(index="method", columns="metric", values=value)
    return wide.reindex(index=methods, columns=metrics).astype(float)


def cell_leaderboard(tidy: pd.DataFrame, model: str, condition: str) -> Leaderboard:
    """The leaderboard of one (model, condition) cell.

    Parameters
    ----------
    tidy : pandas.DataFrame
        The tidy leaderboard (``TIDY_COLUMNS``).
    model, condition : str
        The cell.

    Returns
    -------
    Leaderboard
    """
    tidy = validate_tidy(tidy)
    rows = tidy[(tidy["model"] == model) & (tidy["condition"] == condition)]
    if rows.empty:
        raise ValueError(f"leaderboard: no rows for model={model!r}, condition={condition!r}")
    cols = _columns(rows)
    methods = list(dict.fromkeys(rows["method"]))
    metrics = [c.metric for c in cols]
    failed = {
        (r.method, r.metric): (r.reason or "no reason given") if r.status == "failed"
        else f"undefined: {r.reason or 'no finite value'}"
        for r in rows[rows["status"] != "ok"].itertuples()
    }
    first = rows.iloc[0]
    return Leaderboard(
        title=f"{model}, {condition}",
        columns=cols,
        mean=_pivot(rows, "mean", methods, metrics),
        ci_low=_pivot(rows, "ci_low", methods, metrics),
        ci_high=_pivot(rows, "ci_high", methods, metrics),
        failed=failed,
        keys={k: first[k] for k in ("model", "condition", "t60", "snr_db", "geometry")},
    )


def overall_leaderboard(tidy: pd.DataFrame) -> Leaderboard:
    """Equal-weight mean over (model, condition) cells; failed anywhere -> failed overall."""
    tidy = validate_tidy(tidy)
    cols = _columns(tidy)
    methods = list(dict.fromkeys(tidy["method"]))
    metrics = [c.metric for c in cols]
    ncells = tidy.groupby(["model", "condition"]).ngroups
    failed: dict[tuple[str, str], str] = {}
    for (method, metric), g in tidy.groupby(["method", "metric"], sort=False):
        bad = g[g["status"] != "ok"]
        if len(bad):
            failed[(method, metric)] = "; ".join(
                f"{r.model}/{r.condition}: {r.status}: {r.reason or 'no reason given'}"
                for r in bad.itertuples()
            )
        elif len(g) < ncells:
            failed[(method, metric)] = f"missing in {ncells - len(g)} of {ncells} cells"
    ok = tidy[tidy["status"] == "ok"]
    mean = ok.groupby(["method", "metric"])["mean"].mean().unstack("metric")
    mean = mean.reindex(index=methods, columns=metrics).astype(float)
    for method, metric in failed:
        mean.loc[method, metric] = np.nan
    nan = pd.DataFrame(np.nan, index=methods, columns=metrics)
    return Leaderboard(
        title=f"overall (equal-weight mean over {ncells} model x condition cells)",
        columns=cols, mean=mean, ci_low=nan, ci_high=nan.copy(), failed=failed, with_ci=False,
    )


def to_wide(lb: Leaderboard, mean_rank: bool = True) -> pd.DataFrame:
    """Wide table: one row per method; ``<label> mean|ci_low|ci_high`` per metric, full precision.

    Also ``mean_rank`` (unless ``mean_rank=False``) and ``failed`` (``metric: reason`` entries
    joined by ``" | "``).
    """
    out: dict[str, Any] = {"method": lb.methods}  # one frame at the end: no fragmentation
    for col in lb.columns:
        out[f"{col.label()} mean"] = lb.mean[col.metric].to_numpy()
        if lb.with_ci:
            out[f"{col.label()} ci_low"] = lb.ci_low[col.metric].to_numpy()
            out[f"{col.label()} ci_high"] = lb.ci_high[col.metric].to_numpy()
    if mean_rank:
        out["mean_rank"] = lb.mean_rank.to_numpy()
    out["failed"] = [
        " | ".join(f"{c.metric}: {lb.failed[(m, c.metric)]}" for c in lb.columns
                   if (m, c.metric) in lb.failed)
        for m in lb.methods
    ]
    return pd.DataFrame(out)



#: The model-skill table's column heads: (text, direction arrow or "").
SKILL_HEADS = (("predictor", ""), ("MAE [m]", "down"), ("euclid_mean [m]", "down"),
               ("euclid_median [m]", "down"), ("beats trivial", ""))


def skill_table(skill: pd.DataFrame, model: str | None = None,
                condition: str | None = None) -> pd.DataFrame:
    """The model-skill rows of one cell (or all), for the leaderboard's side table.

    Returns the raw ``model_skill.csv`` rows (full precision); the renderers format them.
    """
    missing = [c for c in SKILL_COLUMNS if c not in skill.columns]
    if missing:
        raise ValueError(f"model_skill: missing columns {missing}")
    rows = skill
    if model is not None:
        rows = rows[rows["model"] == model]
    if condition is not None:
        rows = rows[rows["condition"] == condition]
    return rows.reset_index(drop=True)


