"""Sanity checks of a run, computed from its tables and flagged in the headline tables.

Each check is evaluated per (model, condition) cell and gives ``pass``, ``fail`` or ``n/a``
(what it needs is absent or failed), with a sentence saying why. A failing method is flagged in
the headline tables, never dropped.

- ``random_worst_faithfulness``: the ``random`` control scores worst on the headline faithfulness
  metric (by its direction) among every method but the TDoA baselines, or is not shown better
  than the worst (its paired test against the worst is not ``better``). Without a paired test:
  its 95 % CI overlaps the worst's.
- ``random_no_change``: under model randomisation ``random`` does not change: its
  ``efficient_mprt`` 95 % CI contains the no-change value. EfficientMPRT (Hedström et al. 2023)
  scores the relative rise of the relevance's entropy from the trained to the fully randomised
  model, ``(H_rand - H_orig) / H_orig``, so 0 means "no change". ``random`` is seeded noise that
  does not look at the model: its score is 0 by construction, and a run where it is not has a
  broken control or metric. (A "best on randomisation" rule would hold for MPRT with redrawn
  noise, not here: EfficientMPRT was designed so that noise, already of maximal entropy, cannot
  score a rise.)
- ``changes_under_randomisation``: every ``lrp`` and ``gradient`` family method changes under
  model randomisation: the lower end of its ``efficient_mprt`` 95 % CI is above the no-change
  value (a rise of entropy that the cluster bootstrap over sources tells from 0).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ssl_xai_bench.report.headline import (
    ALPHA,
    BASELINE,
    HEADLINE,
    HeadlineTable,
    extreme,
    fmt,
    method_families,
)
from ssl_xai_bench.report.tables.leaderboard import validate_tidy
from ssl_xai_bench.report.verdict import outcome_of, pair_test

FAITHFULNESS = next(spec.metric for spec in HEADLINE if spec.family == "faithfulness")
RANDOMISATION = "efficient_mprt"
#: The value of a randomisation metric for an explanation that does not change.
NO_CHANGE = {"efficient_mprt": 0.0}
MUST_CHANGE = ("lrp", "gradient")
#: What each check expects of its method.
CHECKS = {
    "random_worst_faithfulness": "should score worst on faithfulness",
    "random_no_change": "should not change under model randomisation",
    "changes_under_randomisation": "should change under model randomisation",
}
SANITY_COLUMNS = ("check", "model", "condition", "method", "metric", "status", "detail")


@dataclass(frozen=True)
class Check:
    """One check's outcome in one cell (``status``: ``pass``, ``fail`` or ``n/a``)."""

    check: str
    model: str
    condition: str
    method: str
    metric: str
    status: str
    detail: str


def _ci(r: pd.Series) -> str:
    return f"{fmt(r['mean'])} [{fmt(r['ci_low'])}, {fmt(r['ci_high'])}]"


def _ok(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    sel = rows[(rows["metric"] == metric) & (rows["status"] == "ok")]
    return sel[np.isfinite(sel["mean"].astype(float))].set_index("method")


def _random_worst(rows: pd.DataFrame, cell: tuple[str, str], tests: pd.DataFrame | None,
                  fam: dict[str, str]) -> Check:
    ok = _ok(rows, FAITHFULNESS)
    ok = ok[[fam.get(m) != BASELINE for m in ok.index]]
    base = dict(check="random_worst_faithfulness", model=cell[0], condition=cell[1],
                method="random", metric=FAITHFULNESS)
    if "random" not in ok.index or len(ok) < 2:
        return Check(**base, status="n/a", detail=f"no {FAITHFULNESS} of random and another "
                     "method in this cell")
    direction = ok["direction"].iloc[0]
    worst = extreme(ok["mean"].astype(float).to_dict(), direction, worst=True)
    if worst == "random":
        return Check(**base, status="pass", detail=f"random is the worst ({_ci(ok.loc[worst])})")
    outcome = outcome_of(pair_test(tests, cell, FAITHFULNESS, "random", worst), direction)
    if outcome is None:
        r, w = ok.loc["random"], ok.loc[worst]
        better = not (r["ci_low"] <= w["ci_high"] and w["ci_low"] <= r["ci_high"])
        how = ("95 % CIs apart" if better else "95 % CIs overlap") + "; no paired test"
    else:
        better = outcome == "better"
        how = f"paired test vs {worst}: {outcome}, Holm, alpha {ALPHA}"
    verdict = "better than" if better else "not shown better than"
    return Check(**base, status="fail" if better else "pass",
                 detail=f"random {_ci(ok.loc['random'])} is {verdict} the worst, {worst} "
                 f"{_ci(ok.loc[worst])} ({how})")


def _randomisation(rows: pd.DataFrame, cell: tuple[str, str], fam: dict[str, str]) -> list[Check]:
    ok = _ok(rows, RANDOMISATION)
    zero = NO_CHANGE[RANDOMISATION]
    out = []
    for method in dict.fromkeys(rows["method"]):
        if method != "random" and fam.get(method) not in MUST_CHANGE:
            continue
        name = "random_no_change" if method == "random" else "changes_under_randomisation"
        base = dict(check=name, model=cell[0], condition=cell[1], method=method,
                    metric=RANDOMISATION)
        if method not in ok.index:
            out.append(Check(**base, status="n/a", detail=_missing(rows, method)))
            continue
        r = ok.loc[method]
        lo, hi = float(r["ci_low"]), float(r["ci_high"])
        if not (np.isfinite(lo) and np.isfinite(hi)):
            status = "n/a"
            detail = f"{RANDOMISATION} {fmt(r['mean'])} has no CI (fewer than 2 sources)"
        elif method == "random":
            status = "pass" if lo <= zero <= hi else "fail"
            detail = (f"{RANDOMISATION} {_ci(r)} {'contains' if status == 'pass' else 'excludes'}"
                      f" the no-change value {fmt(zero)}")
        else:
            status = "pass" if lo > zero else "fail"
            detail = (f"{RANDOMISATION} {_ci(r)} "
                      f"{'is above' if status == 'pass' else 'does not exclude'} the no-change "
                      f"value {fmt(zero)}")
        out.append(Check(**base, status=status, detail=detail))
    return out


def _missing(rows: pd.DataFrame, method: str) -> str:
    """Why ``method`` has no usable :data:`RANDOMISATION` score in a cell."""
    r = rows[(rows["method"] == method) & (rows["metric"] == RANDOMISATION)]
    if r.empty:
        return f"no {RANDOMISATION} row for {method} in this cell"
    status, reason = r["status"].iloc[0], r["reason"].iloc[0]
    return f"{RANDOMISATION} {status}" + (f": {reason}" if reason else "")


def sanity_checks(tidy: pd.DataFrame, tests: pd.DataFrame | None = None) -> list[Check]:
    """Every check in every (model, condition) cell (see the module docstring).

    Parameters
    ----------
    tidy : pandas.DataFrame
        ``leaderboard.csv`` rows.
    tests : pandas.DataFrame, optional
        Paired tests (:func:`ssl_xai_bench.report.headline.load_pair_tests`).

    Returns
    -------
    list of Check
    """
    tidy = validate_tidy(tidy)
    fam = method_families(tidy)
    out: list[Check] = []
    for cell in dict.fromkeys(zip(tidy["model"], tidy["condition"], strict=True)):
        rows = tidy[(tidy["model"] == cell[0]) & (tidy["condition"] == cell[1])]
        if "random" in set(rows["method"]):
            out.append(_random_worst(rows, cell, tests, fam))
        if RANDOMISATION in set(rows["metric"]):
            out.extend(_randomisation(rows, cell, fam))
    return out


def sanity_table(checks: list[Check]) -> pd.DataFrame:
    """The checks as a table (``SANITY_COLUMNS``), for ``sanity_checks.csv``."""
    return pd.DataFrame([asdict(c) for c in checks], columns=list(SANITY_COLUMNS))


def failures(checks: list[Check], cells: list[tuple[str, str]] | None = None
             ) -> dict[str, list[Check]]:
    """Method -> its failed checks (in ``cells`` only, when given)."""
    out: dict[str, list[Check]] = {}
    for c in checks:
        if c.status == "fail" and (cells is None or (c.model, c.condition) in cells):
            out.setdefault(c.method, []).append(c)
    return out


def flag_text(failed: list[Check], n_cells: int) -> list[str]:
    """One line per failed check of a method: ``<check> fails in k of n cells: <detail>``."""
    by: dict[str, list[Check]] = {}
    for c in failed:
        by.setdefault(c.check, []).append(c)
    lines = []
    for check, cs in by.items():
        where = (f"{cs[0].model}, {cs[0].condition}" if n_cells == 1
                 else f"{len(cs)} of {n_cells} cells, e.g. {cs[0].model}, {cs[0].condition}")
        lines.append(f"sanity check failed ({CHECKS[check]}), {where}: {cs[0].detail}")
    return lines


def localisation(skill: pd.DataFrame | None) -> dict[tuple[str, str], tuple[bool, str]]:
    """(model, condition) -> (localises, sentence), from ``model_skill.csv``.

    A model localises in a cell when the 95 % CI of its paired gain over the trivial predictor
    (``gain_ci_low``, m) is above 0; without the gain columns (older results), when it
    ``beats_trivial`` on point estimates. Cells without the model's row are absent.
    """
    out: dict[tuple[str, str], tuple[bool, str]] = {}
    if skill is None or skill.empty:
        return out
    for r in skill.to_dict("records"):
        if r["predictor"] not in (r["model"], f"{r['model']} (external)"):
            continue
        lo = r.get("gain_ci_low", float("nan"))
        if lo is not None and np.isfinite(lo):
            ok = bool(lo > 0)
            text = (f"gain over the trivial predictor {fmt(r['gain_vs_trivial'])} m, 95 % CI "
                    f"[{fmt(lo)}, {fmt(r['gain_ci_high'])}]")
        else:
            ok = str(r.get("beats_trivial")).strip().lower() in ("true", "1", "yes")
            text = f"MAE {fmt(r['mae'])} m {'below' if ok else 'not below'} the trivial one"
        out[(r["model"], r["condition"])] = (ok, text)
    return out


def annotate(table: HeadlineTable, checks: list[Check],
             skill: dict[tuple[str, str], tuple[bool, str]]) -> HeadlineTable:
    """Fill ``table.flags`` (each method's failed checks over its cells) and ``table.notes``
    (the cells where the model does not localise); returns ``table``."""
    table.flags = {m: flag_text(cs, len(table.cells))
                   for m, cs in failures(checks, table.cells).items()}
    for cell in table.cells:
        ok, text = skill.get(cell, (True, ""))
        if not ok:
            uncounted = (" (not counted in k/n)" if table.kind == "aggregate"
                         and cell not in table.counted else "")
            table.notes.append(f"{cell[0]} does not localise at {cell[1]} ({text}): its "
                               "attributions explain a model that has not learnt the task"
                               f"{uncounted}.")
    return table


__all__ = ["CHECKS", "Check", "NO_CHANGE", "SANITY_COLUMNS", "failures", "flag_text",
           "annotate", "localisation", "sanity_checks", "sanity_table"]
