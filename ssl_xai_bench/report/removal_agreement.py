"""Does the faithfulness verdict depend on the removal baseline? Method ranks across baselines.

Every perturbation metric can run under several removal baselines (``[metrics]
removal_baselines``; the names of the non-``zero`` runs carry the baseline's suffix,
``faithfulness_correlation_noisy_linear``: :func:`removal_variants`). From the tidy
``leaderboard.csv``:

- :func:`removal_agreement`: per (model, condition) cell, perturbation metric and pair of
  baselines it ran under, the attribution methods ranked by their mean under each baseline (by
  the metric's direction; controls and signal baselines are not ranked; failed or non-finite rows
  get no rank), Kendall's tau between the two rankings (1 = the same order, -1 = reversed), the
  best method under each and whether it is the same. The best is the best mean, ties with the best
  by a paired test are not considered;
- :func:`removal_sentence`: one sentence for the summary, on the headline faithfulness and
  manipulation metrics: in how many cells their best method changes with the baseline;
- :func:`removal_section`: the report's section (a :class:`ssl_xai_bench.report.page.Section`
  builder): the sentence, the per-metric summary and the table, also written to
  ``tables/removal_agreement.{csv,md}`` with a provenance sidecar; ``""`` for a run with one
  baseline.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ssl_xai_bench.report.headline import BASELINE, CONTROL, HEADLINE, method_families
from ssl_xai_bench.report.page import e
from ssl_xai_bench.report.render import html_table

COLUMNS = ["model", "condition", "metric", "baseline_a", "baseline_b", "n_methods",
           "kendall_tau", "best_a", "best_b", "same_best"]
#: The headline families whose winner the summary sentence follows.
FAITHFULNESS_FAMILIES = ("faithfulness", "manipulation")
#: The removal baselines (``ssl_xai_bench.metrics.removal.REMOVAL_BASELINES``: the report does not
#: import the metrics layer; a test keeps the two equal) and the study's, whose names carry no
#: suffix.
REMOVAL_BASELINES = ("zero", "noisy_linear", "other_source")
STUDY_BASELINE = "zero"


def removal_variants(metrics: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The perturbation metrics among ``metrics`` run under several baselines: name ->
    (metric, baseline). A name ending in ``_<baseline>`` is that baseline's run; the name
    without the suffix, when present, is the study's."""
    names = set(metrics)
    out = {}
    for name in names:
        for baseline in REMOVAL_BASELINES:
            if baseline != STUDY_BASELINE and name.endswith(f"_{baseline}"):
                out[name] = (name[: -len(baseline) - 1], baseline)
    out.update({base: (base, STUDY_BASELINE) for base, _ in list(out.values()) if base in names})
    return out


def _ranked(tidy: pd.DataFrame) -> pd.DataFrame:
    """Rows of perturbation metrics of attribution methods with a finite mean, with their base
    metric, baseline and rank (1 = best) within (model, condition, metric name)."""
    families = method_families(tidy)
    variants = removal_variants(tidy["metric"])
    keep = tidy["metric"].isin(list(variants)) & np.isfinite(tidy["mean"])
    keep &= ~tidy["method"].map(families).isin([CONTROL, BASELINE])
    if "status" in tidy.columns:
        keep &= tidy["status"].fillna("ok") == "ok"
    rows = tidy[keep].copy()
    rows["base"] = rows["metric"].map(lambda m: variants[m][0])
    rows["baseline"] = rows["metric"].map(lambda m: variants[m][1])
    score = np.where(rows["direction"] == "up", -rows["mean"], rows["mean"])
    rows["rank"] = pd.Series(score, index=rows.index).groupby(
        [rows["model"], rows["condition"], rows["metric"]]).rank(method="average")
    return rows


def removal_agreement(tidy: pd.DataFrame) -> pd.DataFrame:
    """Rank agreement between removal baselines per cell and metric (see the module docstring)."""
    ranked = _ranked(tidy)
    out = []
    for (model, cond, base), part in ranked.groupby(["model", "condition", "base"], sort=False):
        by_baseline = {b: g.set_index("method")["rank"] for b, g in part.groupby("baseline")}
        order = [b for b in dict.fromkeys(part["baseline"])]
        for a, b in itertools.combinations(order, 2):
            common = by_baseline[a].index.intersection(by_baseline[b].index)
            if len(common) < 2:
                continue
            ra, rb = by_baseline[a][common], by_baseline[b][common]
            tau = stats.kendalltau(ra, rb).statistic
            out.append({"model": model, "condition": cond, "metric": base, "baseline_a": a,
                        "baseline_b": b, "n_methods": len(common), "kendall_tau": float(tau),
                        "best_a": ra.idxmin(), "best_b": rb.idxmin(),
                        "same_best": bool(ra.idxmin() == rb.idxmin())})
    return pd.DataFrame(out, columns=COLUMNS)


def per_metric(agreement: pd.DataFrame) -> pd.DataFrame:
    """Per metric and pair of baselines: cells, cells with another best, mean Kendall tau."""
    if agreement.empty:
        return pd.DataFrame(columns=["metric", "baselines", "cells", "best_differs",
                                     "mean_kendall_tau"])
    keys = agreement["baseline_a"] + " vs " + agreement["baseline_b"]
    grouped = agreement.assign(baselines=keys).groupby(["metric", "baselines"], sort=False)
    return grouped.agg(cells=("same_best", "size"),
                       best_differs=("same_best", lambda s: int((~s).sum())),
                       mean_kendall_tau=("kendall_tau", "mean")).reset_index()


def removal_sentence(tidy: pd.DataFrame) -> str | None:
    """The summary's sentence: in how many cells the best method of the headline faithfulness
    and manipulation metrics changes with the removal baseline; None with a single baseline."""
    summary = per_metric(removal_agreement(tidy))
    variants = removal_variants(tidy["metric"])
    heads = list(dict.fromkeys(
        variants.get(metric, (metric, ""))[0] for spec in HEADLINE
        if spec.family in FAITHFULNESS_FAMILIES for metric in spec.candidates()))
    rows = summary[summary["metric"].isin(heads)]
    if rows.empty:
        return None
    parts = [f"{r.metric} ({r.baselines}): another best method in {r.best_differs} of "
             f"{r.cells} cells, mean Kendall tau {r.mean_kendall_tau:.2f}"
             for r in rows.itertuples()]
    if rows["best_differs"].sum() == 0:
        return ("The faithfulness winners do not depend on the removal baseline: "
                + "; ".join(parts) + ".")
    return ("The faithfulness winner depends on the removal baseline: " + "; ".join(parts)
            + " (section Removal baselines).")


def write_removal_agreement(agreement: pd.DataFrame, out_dir: Path,
                            provenance: dict[str, Any] | None = None) -> dict[str, Path]:
    """``removal_agreement.csv`` and ``.md`` (with a provenance sidecar) into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"csv": out_dir / "removal_agreement.csv", "md": out_dir / "removal_agreement.md"}
    agreement.to_csv(files["csv"], index=False)
    md = agreement.assign(kendall_tau=agreement["kendall_tau"].map("{:.2f}".format))
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in md[COLUMNS].values]
    files["md"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    side = files["csv"].with_name(files["csv"].name + ".provenance.json")
    side.write_text(json.dumps({"provenance": provenance or {},
                                "table": "method ranks across removal baselines"},
                               indent=2, sort_keys=True, default=str), encoding="utf-8")
    return files


def removal_section(ctx: Any) -> str:
    """The report's "Removal baselines" section (``""`` when the run has one baseline)."""
    agreement = removal_agreement(ctx.tidy)
    if agreement.empty:
        return ""
    files = write_removal_agreement(agreement, ctx.out / "tables", ctx.prov)
    summary = per_metric(agreement)
    sentence = removal_sentence(ctx.tidy)
    head = ["metric", "baselines", "cells", "another best", "mean Kendall tau"]
    rows = [[e(r.metric), e(r.baselines), str(r.cells), str(r.best_differs),
             f"{r.mean_kendall_tau:.2f}"] for r in summary.itertuples()]
    detail = [[e(v) if not isinstance(v, float) else f"{v:.2f}" for v in row]
              for row in agreement[COLUMNS].itertuples(index=False)]
    return ("<p>Every perturbation metric ran under each removal baseline (docs/metrics.md, "
            "\"Removal baselines\"). Per cell, the attribution methods are ranked by their mean "
            "under each baseline; Kendall's tau compares two rankings (1 = same order, -1 = "
            "reversed) and \"another best\" counts the cells whose best method (by mean) "
            "changes. Controls are not ranked.</p>"
            + (f"<p>{e(sentence)}</p>" if sentence else "")
            + html_table(head, rows, table_id="removal-summary")
            + "<details><summary>per cell</summary>"
            + html_table([e(c) for c in COLUMNS], detail, table_id="removal-agreement")
            + "</details>" + f'<p class="note">Files: {ctx.link(files["csv"], "csv")} '
            f'{ctx.link(files["md"], "md")}</p>')


__all__ = ["COLUMNS", "REMOVAL_BASELINES", "per_metric", "removal_agreement", "removal_section",
           "removal_sentence", "removal_variants", "write_removal_agreement"]
