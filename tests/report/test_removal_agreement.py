"""Method ranks across removal baselines (ssl_xai_bench.report.removal_agreement)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pandas as pd
import pytest

from ssl_xai_bench.report import removal_agreement as ra

METHODS = ("lrp", "gradient_x_input", "occlusion")


def _rows(cell, metric, direction, means, category="faithfulness"):
    return [dict(model="loccnn", condition=cell, method=m, metric=metric, category=category,
                 direction=direction, unit="", mean=v, status="ok", family="gradient")
            for m, v in zip(METHODS + ("energy",), means, strict=True)]


def _tidy():
    rows = []
    # Cell A: the same order under both baselines; the energy control is best but never ranked.
    rows += _rows("A", "faithfulness_correlation", "up", (0.9, 0.5, 0.1, 2.0))
    rows += _rows("A", "faithfulness_correlation_noisy_linear", "up", (0.8, 0.4, 0.2, 2.0))
    # Cell B: reversed.
    rows += _rows("B", "faithfulness_correlation", "up", (0.9, 0.5, 0.1, 0.0))
    rows += _rows("B", "faithfulness_correlation_noisy_linear", "up", (0.1, 0.5, 0.9, 0.0))
    # A "down" metric: the smallest is best; a failed row is not ranked.
    rows += _rows("A", "manipulation_auc_relevance_lerf", "down", (0.3, 0.2, 0.1, 0.0),
                  "manipulation")
    rows += _rows("A", "manipulation_auc_relevance_lerf_other_source", "down",
                  (0.1, 0.2, float("nan"), 0.0), "manipulation")
    rows += _rows("A", "sparseness", "up", (0.1, 0.2, 0.3, 0.4))  # not a perturbation metric
    tidy = pd.DataFrame(rows)
    tidy.loc[tidy["method"] == "energy", "family"] = "control"
    return tidy


def test_rank_agreement_per_cell_and_pair_of_baselines():
    table = ra.removal_agreement(_tidy()).set_index(["condition", "metric"])
    same = table.loc[("A", "faithfulness_correlation")]
    assert same["kendall_tau"] == pytest.approx(1.0) and bool(same["same_best"])
    assert same["best_a"] == "lrp" and same["n_methods"] == 3  # energy is a control
    reversed_ = table.loc[("B", "faithfulness_correlation")]
    assert reversed_["kendall_tau"] == pytest.approx(-1.0)
    assert (reversed_["best_a"], reversed_["best_b"]) == ("lrp", "occlusion")
    down = table.loc[("A", "manipulation_auc_relevance_lerf")]
    assert (down["baseline_a"], down["baseline_b"]) == ("zero", "other_source")
    assert down["n_methods"] == 2 and down["best_a"] == "gradient_x_input"
    assert down["best_b"] == "lrp" and down["kendall_tau"] == pytest.approx(-1.0)
    assert "sparseness" not in set(table.index.get_level_values("metric"))
    summary = ra.per_metric(ra.removal_agreement(_tidy())).set_index("metric")
    assert summary.loc["faithfulness_correlation", "cells"] == 2
    assert summary.loc["faithfulness_correlation", "best_differs"] == 1
    assert summary.loc["faithfulness_correlation", "mean_kendall_tau"] == pytest.approx(0.0)


def test_the_summary_sentence_says_when_the_winner_depends_on_the_baseline():
    sentence = ra.removal_sentence(_tidy())
    assert sentence.startswith("The faithfulness winner depends on the removal baseline")
    assert "faithfulness_correlation (zero vs noisy_linear): another best method in 1 of 2" in (
        sentence)
    tidy = _tidy()
    agree = tidy[tidy["condition"] == "A"]
    assert ra.removal_sentence(agree).startswith("The faithfulness winners do not depend")
    only_zero = tidy[~tidy["metric"].str.endswith(("_noisy_linear", "_other_source"))]
    assert ra.removal_sentence(only_zero) is None


def test_the_report_knows_the_metrics_removal_baselines():
    from ssl_xai_bench.metrics import catalogue, removal

    assert ra.REMOVAL_BASELINES == removal.REMOVAL_BASELINES
    assert ra.STUDY_BASELINE == removal.STUDY_BASELINE
    assert ra.removal_variants(catalogue.METRICS) == catalogue.REMOVAL_VARIANTS


def test_the_section_writes_its_table(tmp_path):
    ctx = SimpleNamespace(tidy=_tidy(), out=tmp_path, prov={"seed": 0},
                          link=lambda path, text: f'<a href="{path.name}">{text}</a>')
    html = ra.removal_section(ctx)
    assert "removal-agreement" in html and "another best method in 1 of 2" in html
    table = pd.read_csv(tmp_path / "tables" / "removal_agreement.csv")
    assert list(table.columns) == ra.COLUMNS and len(table) == 3
    side = json.loads((tmp_path / "tables" / "removal_agreement.csv.provenance.json").read_text())
    assert side["provenance"] == {"seed": 0}
    assert "| model |" in (tmp_path / "tables" / "removal_agreement.md").read_text()
    ctx.tidy = ctx.tidy[~ctx.tidy["metric"].str.endswith(("_noisy_linear", "_other_source"))]
    assert ra.removal_section(ctx) == ""
