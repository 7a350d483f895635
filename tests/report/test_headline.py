"""Headline tables on a constructed result set with known answers: tie groups, aggregation,
sanity flags, renderings (<= 9 columns, booktabs, compiles with pdflatex without an overfull box),
the citable artefacts and ``report --tables-only``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from ssl_xai_bench import cli
from ssl_xai_bench.report.citable import write_citable
from ssl_xai_bench.report.cite import bibtex, find_citation, load_citation
from ssl_xai_bench.report.headline import (
    BUILTIN_FAMILIES,
    aggregate_headline,
    cell_headline,
    load_pair_tests,
    method_families,
)
from ssl_xai_bench.report.headline_render import to_html, to_latex, to_markdown
from ssl_xai_bench.report.sanity import localisation, sanity_checks
from tests.report.report_fixture import (
    H_ATTRIBUTION,
    H_FAILED,
    H_MODEL,
    write_headline_results,
)

MAX_COLUMNS = 9


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = write_headline_results(tmp_path_factory.mktemp("headline"))
    return root, pd.read_csv(root / "leaderboard.csv"), load_pair_tests(root)


def _bold(table, metric):
    return {m for m in table.methods if table.marked(m, metric)}


def test_rows_are_methods_then_controls_and_never_baselines(results):
    _, tidy, tests = results
    table = cell_headline(tidy, H_MODEL, "cond_a", tests)
    assert table.methods == list(H_ATTRIBUTION)  # by family: lrp, gradient, perturbation
    assert table.controls == ["energy", "random"]
    assert [c.metric for c in table.columns] == [
        "faithfulness_correlation", "manipulation_gap_at_10", "max_sensitivity",
        "efficient_mprt", "sparseness", "tdoa_bounded_gain_vs_constant",
        "localisation_auc_rest_gain_vs_energy"]  # one per family; "complexity" stays in its family
    assert 1 + len(table.columns) <= MAX_COLUMNS
    md = to_markdown(table)
    assert "| microphones |" not in md and "| constant |" not in md
    assert "<td>microphones" not in to_html(table, "t")


def test_bold_is_the_best_and_what_is_shown_equivalent_to_it(results):
    _, tidy, tests = results
    a = cell_headline(tidy, H_MODEL, "cond_a", tests)
    # lrp: p 0.40 against the best and equivalence shown (TOST p 0.01): bold
    assert _bold(a, "faithfulness_correlation") == {"integrated_gradients", "lrp"}
    assert a.entry("integrated_gradients", "faithfulness_correlation").best
    assert a.entry("lrp", "faithfulness_correlation").outcome == "equivalent"
    assert a.entry("lrp_epsilon_first", "faithfulness_correlation").outcome == "worse"
    # integrated_gradients: p 0.2, no equivalence, attainable p 0.07: underpowered, not a tie
    assert _bold(a, "efficient_mprt") == {"lrp", "lrp_epsilon_first"}
    ig = a.entry("integrated_gradients", "efficient_mprt")
    assert ig.outcome == "underpowered" and ig.p_attainable == pytest.approx(0.07)
    # equal per-source means (every difference 0) are equivalent
    assert _bold(a, "sparseness") == {"lrp", "integrated_gradients"}
    # a metric without paired tests: the best only, the others unknown, no winner named
    assert _bold(a, "manipulation_gap_at_10") == {"lrp"}
    assert a.entry("gradient", "manipulation_gap_at_10").outcome is None
    assert a.answers["manipulation_gap_at_10"].winners == []
    b = cell_headline(tidy, H_MODEL, "cond_b", tests)
    assert _bold(b, "faithfulness_correlation") == {"lrp"}  # integrated_gradients: p 0.03
    assert b.entry("integrated_gradients", "faithfulness_correlation").outcome == "worse"
    assert b.entry("occlusion", "max_sensitivity").failed == H_FAILED[3]


def test_winners_must_beat_the_reference_and_a_better_control_comes_first(results):
    _, tidy, tests = results
    a = cell_headline(tidy, H_MODEL, "cond_a", tests)
    # best and equivalent, CI above 0, better than both controls: both win
    assert a.answers["faithfulness_correlation"].winners == ["lrp", "integrated_gradients"]
    assert a.entry("lrp", "faithfulness_correlation").passes is True
    # a control better than the best method beats every method: no winner, said first
    tdoa = a.answers["tdoa_bounded_gain_vs_constant"]
    assert a.entry("energy", "tdoa_bounded_gain_vs_constant").beats_best
    assert "energy" not in _bold(a, "tdoa_bounded_gain_vs_constant")
    assert tdoa.winners == [] and tdoa.beaten_by == ["energy"]
    assert tdoa.text().startswith("energy beats every method")
    # no method's CI above the energy control, which is not better than the best either: no
    # method beats the reference, no winner named
    b = cell_headline(tidy, H_MODEL, "cond_b", tests)
    loc = b.answers["localisation_auc_rest_gain_vs_energy"]
    assert loc.winners == [] and b.entry("lrp", "localisation_auc_rest_gain_vs_energy").best
    assert loc.text() == "no method beats the energy control (gain > 0) and the controls"
    md = to_markdown(b)
    assert r"Loc.: no method beats the energy control (gain \> 0) and the controls" in md


def test_undefined_entries_take_no_part_in_ranks_and_are_footnoted(results):
    _, tidy, tests = results
    a = cell_headline(tidy, H_MODEL, "cond_a", tests)
    e = a.entry("occlusion", "sparseness")
    assert e.undefined.startswith("Quantus refuses") and not e.usable and e.outcome is None
    assert not e.best and "occlusion" not in _bold(a, "sparseness")
    md = to_markdown(a)
    assert "undef. (" in md and "occlusion / sparseness: undefined: Quantus refuses" in md
    overall = aggregate_headline(tidy, tests)
    assert overall.entry("occlusion", "sparseness").undefined


def test_aggregate_counts_winning_cells_and_pools_no_ci(results):
    _, tidy, tests = results
    overall = aggregate_headline(tidy, tests)
    assert overall.kind == "aggregate" and len(overall.cells) == 2
    lrp = overall.entry("lrp", "faithfulness_correlation")
    ig = overall.entry("integrated_gradients", "faithfulness_correlation")
    assert (lrp.n_win, lrp.n_cells, ig.n_win, ig.n_cells) == (2, 2, 1, 2)
    assert lrp.mean == pytest.approx((0.65 + 0.50) / 2) and np.isnan(lrp.ci_low)
    assert _bold(overall, "faithfulness_correlation") == {"lrp"}
    assert overall.answers["faithfulness_correlation"].text() == "lrp (2/2 cells)"
    # no winner anywhere: nothing bold, and the answer says so
    man = overall.answers["manipulation_gap_at_10"]
    assert man.winners == [] and not _bold(overall, "manipulation_gap_at_10")
    assert man.text().startswith("no method beats random removal")
    # failed in one cell: failed overall
    assert "captum raised" in overall.entry("occlusion", "max_sensitivity").failed
    # counting only the cell where the model localises
    one = aggregate_headline(tidy, tests, counted={(H_MODEL, "cond_a")})
    assert one.entry("integrated_gradients", "faithfulness_correlation").n_win == 1
    assert one.entry("lrp", "faithfulness_correlation").n_cells == 1
    assert "1 of 2 cells where the model localises" in one.title
    # one model = the same cells here
    assert aggregate_headline(tidy, tests, model=H_MODEL).entries.keys() == \
        overall.entries.keys()


def test_sanity_checks_flag_what_fails_and_pass_the_rest(results):
    _, tidy, tests = results
    got = {(c.check, c.condition, c.method): c.status for c in sanity_checks(tidy, tests)}
    assert got[("random_worst_faithfulness", "cond_a", "random")] == "pass"
    # random 0.20 vs the worst, occlusion 0.10: p_holm 0.01 -> better than the worst
    assert got[("random_worst_faithfulness", "cond_b", "random")] == "fail"
    assert got[("random_no_change", "cond_a", "random")] == "pass"  # CI [0, 0]
    assert got[("random_no_change", "cond_b", "random")] == "fail"  # CI [0.1, 0.3]
    assert got[("changes_under_randomisation", "cond_a", "gradient")] == "fail"  # [-0.02, ..]
    assert got[("changes_under_randomisation", "cond_b", "gradient")] == "pass"
    for method in ("lrp", "lrp_epsilon_first", "integrated_gradients"):
        for cond in ("cond_a", "cond_b"):
            assert got[("changes_under_randomisation", cond, method)] == "pass"
    # occlusion (perturbation) and the controls are not required to change
    assert not any(k[0] == "changes_under_randomisation" and k[2] in ("occlusion", "energy")
                   for k in got)


def test_flags_and_non_localising_cells_are_shown_not_hidden(results):
    root, _, _ = results
    done = write_citable(root)
    overall = next(w.table for w in done.headline if w.scope == "overall")
    assert set(overall.flags) == {"gradient", "random"}
    assert "gradient" in overall.methods and "random" in overall.controls  # still there
    md = to_markdown(overall)
    assert "| gradient (a) |" in md and "| *random* (b) |" not in md
    assert re.search(r"\| \*random\* \(\w\) \|", md)
    assert "sanity check failed (should score worst on faithfulness), 1 of 2 cells" in md
    assert "loccnn does not localise at cond\\_b" in md
    cell_a = next(w.table for w in done.headline if w.condition == "cond_a")
    assert set(cell_a.flags) == {"gradient"}  # random fails only in cond_b
    assert localisation(pd.read_csv(root / "model_skill.csv"))[(H_MODEL, "cond_b")][0] is False
    assert "textsuperscript" in to_latex(overall) and 'class="flag"' in to_html(overall, "x")


def test_families_without_a_family_column_come_from_the_builtin_names(tmp_path):
    from ssl_xai_bench.attributions import list_methods

    registry = {m.name: m.family for m in list_methods() if m.source == "builtin"}
    assert {k: v for k, v in BUILTIN_FAMILIES.items() if k in registry} == registry
    root = write_headline_results(tmp_path / "old", family_column=False)
    tidy = pd.read_csv(root / "leaderboard.csv")
    assert "family" not in tidy.columns
    assert method_families(tidy)["occlusion"] == "perturbation"
    table = cell_headline(tidy, H_MODEL, "cond_a", load_pair_tests(root))
    assert table.methods == list(H_ATTRIBUTION) and table.controls == ["energy", "random"]


def _latex_structure(tex: str) -> int:
    """Check booktabs order, balanced braces and the cells of every row; return the columns."""
    spec = re.search(r"\\begin\{tabular\}\{@\{\}(l(?:r)*)@\{\}\}", tex)
    assert spec, tex[:400]
    ncol = len(spec.group(1))
    block = tex[spec.end():tex.index(r"\end{tabular}")]
    rules = re.findall(r"\\(toprule|midrule|bottomrule)", block)
    assert rules[0] == "toprule" and rules[-1] == "bottomrule" and "midrule" in rules
    unescaped = re.sub(r"\\[{}]", "", tex)
    assert unescaped.count("{") == unescaped.count("}")
    for line in block.strip().split("\n"):
        if line.endswith(r"\\") and "multicolumn" not in line:
            assert len(re.split(r"(?<!\\)&", line)) == ncol, line
    return ncol


def test_latex_is_booktabs_with_at_most_9_columns(results):
    root, _, _ = results
    done = write_citable(root, root / "structural")
    for w in done.headline:
        assert _latex_structure(w.files["tex"].read_text()) <= MAX_COLUMNS
    md = done.headline[0].files["md"].read_text().split("\n")
    header = next(ln for ln in md if ln.startswith("| Method"))
    assert header.count("|") - 1 <= MAX_COLUMNS


def test_headline_latex_compiles_in_a_minimal_article_without_overfull_boxes(results, tmp_path):
    exe = shutil.which("pdflatex")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("pdflatex not found but CI is set: .ci/run must install it (apt-get "
                        "install texlive-latex-base texlive-latex-recommended)")
        pytest.skip("pdflatex not found (apt-get install texlive-latex-base "
                    "texlive-latex-recommended); CI is unset")
    root, _, _ = results
    done = write_citable(root, tmp_path / "tables")
    inputs = [w.files["tex"].name for w in done.headline] + ["cite.tex"]
    doc = tmp_path / "tables" / "paper.tex"
    doc.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                   + "".join(f"\\input{{{name}}}\n\\clearpage\n" for name in inputs)
                   + "\\end{document}\n")
    proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", doc.name],
                          cwd=doc.parent, capture_output=True, text=True, timeout=300,
                          check=False)
    log = doc.with_suffix(".log").read_text(errors="replace")
    assert proc.returncode == 0, log[-3000:]
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox.*", log)
    assert doc.with_suffix(".pdf").stat().st_size > 1000


def test_tables_only_writes_the_citable_artefacts_and_no_page(tmp_path, capsys):
    root = write_headline_results(tmp_path / "run")
    assert cli.main(["report", str(root), "--tables-only"]) == cli.EXIT_OK
    out = root / "report"
    assert not (out / "index.html").exists() and not (out / "figures").exists()
    tables = out / "tables"
    for name in ("headline_overall", "headline_loccnn_cond_a", "family_tdoa_overall",
                 "family_tdoa_loccnn_cond_a"):
        for ext in ("csv", "md", "tex"):
            assert (tables / f"{name}.{ext}").is_file(), name
            assert (tables / f"{name}.{ext}.provenance.json").is_file()
    family = pd.read_csv(tables / "family_tdoa_loccnn_cond_a.csv")
    assert {"microphones", "constant"} <= set(family["method"])  # baselines: TDoA table only
    assert "mean_rank" not in family.columns
    sanity = pd.read_csv(tables / "sanity_checks.csv")
    assert (sanity["status"] == "fail").sum() == 3
    long = pd.read_csv(tables / "headline_overall.csv")
    assert set(long["role"]) == {"method", "control"}
    cite_tex = (tables / "cite.tex").read_text()
    assert "\\usepackage{booktabs}" in cite_tex and "\\cite{sslxaibench}" in cite_tex
    assert (tables / "headline_overall.tex").read_text().strip() in cite_tex
    bib = (tables / "cite.bib").read_text()
    assert "@software{sslxaibench," in bib and "@inproceedings{" in bib
    assert "Comanducci, Luca and Antonacci, Fabio and Sarti, Augusto" in bib
    assert "commit 0123456789abcdef" in bib
    assert "cite:" in capsys.readouterr().out


def test_bibtex_from_citation_cff_escapes_and_keys():
    cff = load_citation(find_citation())
    bib = bibtex(cff, {"git_commit": "abc", "config_hash": "h_1", "date": "2026-01-02"})
    assert bib.count("@") == 1 + len(cff.get("references", []))
    assert "year = {2026}" in bib and "config hash h\\_1" in bib
    assert "version = {" + str(cff["version"]) + "}" in bib
    assert re.search(r"@inproceedings\{comanducci2024\w+,", bib)


def test_the_report_reads_outcomes_at_the_level_the_harness_tested_them():
    from ssl_xai_bench.metrics.comparisons import ALPHA as HARNESS_ALPHA
    from ssl_xai_bench.report.verdict import ALPHA as REPORT_ALPHA

    assert REPORT_ALPHA == HARNESS_ALPHA


def test_the_columns_come_from_the_metrics_declarations(tmp_path):
    """``metrics.json`` of a run (every metric's spec) gives exactly the built-in columns, in
    order; a folder without one (older results) falls back to the same table; a declared
    plug-in metric adds a column."""
    import json

    from ssl_xai_bench.harness.collect import metrics_table
    from ssl_xai_bench.report.headline import HEADLINE, headline_specs

    table = metrics_table()
    (tmp_path / "metrics.json").write_text(json.dumps(table))
    assert headline_specs(tmp_path) == HEADLINE
    assert headline_specs(tmp_path / "older") == HEADLINE
    plugin = {**table[0], "name": "mic_entropy", "category": "spread", "headline": {
        "label": "Spread", "short": "Spr.", "floors": [], "reference": "the controls",
        "fallbacks": [], "order": 100.0}}
    (tmp_path / "metrics.json").write_text(json.dumps([plugin, *table]))
    specs = headline_specs(tmp_path)
    assert specs[:-1] == HEADLINE and (specs[-1].metric, specs[-1].short) == ("mic_entropy",
                                                                              "Spr.")
