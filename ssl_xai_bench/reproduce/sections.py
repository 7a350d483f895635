"""The sections of the reproduction document (Markdown lines), for
:mod:`ssl_xai_bench.reproduce.document`.

Every table is followed by a ``Source:`` line naming the results file and the row key of each of
its numbers; the study's numbers carry their tag from
:mod:`~ssl_xai_bench.reproduce.paper_reference`. Units: MAE in metres (per coordinate), TDoA
MAE in samples, rates as fractions, P in %.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ssl_xai_bench.reproduce import claims
from ssl_xai_bench.reproduce.deviations import deviations, run_config
from ssl_xai_bench.reproduce.paper_reference import PaperReference
from ssl_xai_bench.reproduce.results import (
    BASELINE_PREDICTORS,
    CONTROLS,
    VARIANTS,
    Condition,
    RunResults,
    arch_of,
    code,
    fmt,
    md_table,
    paper_cell,
    paper_condition,
)

RANKINGS = ("relevance", "energy", "random")
TDOA_METRICS = [f"tdoa_{v}_{m}" for v in VARIANTS for m in ("anomaly_rate", "mae")]
_UNITS = {"anomaly_rate": "fraction, down", "mae": "samples, down"}
PROVENANCE_FIELDS = ("command", "git_commit", "config_hash", "preset", "seed", "package_version",
                     "date", "rir_mode", "rir_convention", "speech")


def _cond_name(cond: Condition) -> str:
    return f"T60 = {cond.t60:g} s, SNR = {cond.snr_db:g} dB, {cond.geometry}"


def header(res: RunResults, command: str, method: str) -> list[str]:
    """Title, how the document was made, and the run's provenance."""
    prov = res.provenance
    lines = [
        "# Reproduction of Comanducci, Antonacci, Sarti (EUSIPCO 2024)", "",
        "Generated from stored results; do not edit by hand. Regenerate with:", "",
        f"    {command or 'ssl-xai-bench reproduce ' + str(res.folder)}", "",
        f"Results folder: {code(res.folder)}. The study's numbers are those of "
        "`../shared/spec/PAPER.md` (packaged as "
        "`ssl_xai_bench/reproduce/data/paper_reference.toml`), tagged "
        "[nb] (printed by the authors' notebooks), [fig] (digitised from their figures, about "
        "±0.0005 m), [fig*] (untagged in PAPER.md, taken as digitised) or [note] (approximate). "
        f"Our numbers are means with 95 % cluster-bootstrap CIs over test sources. The claims "
        f"are judged on the relevance of the attribution method {code(method)}.", "",
        "## Provenance", "",
    ]
    rows = []
    for key in PROVENANCE_FIELDS:
        val = prov.get(key, "not recorded")
        rows.append([code(key), code(val if not isinstance(val, dict) else
                                     ", ".join(f"{k}={v}" for k, v in sorted(val.items())))])
    return lines + md_table(["field", "value"], rows, "`provenance.json`, key = column 'field'.")


#: How the verdicts are reached, for the reader (under the verdict tables).
RULES: list[str] = [
    "Rules (code: `ssl_xai_bench/reproduce/claims.py`; thresholds are constants there):", "",
    "- A cell is one (model, condition) [x TDoA variant]. A model *localises* when its "
    "paired gain over the trivial predictor (trivial error minus the model's, per test "
    "window) has a CI above 0 (results without it: when its MAE CI lies entirely below the "
    "trivial predictor's); where it does not, every claim is "
    "**inconclusive** in that cell: a model that cannot localise cannot support claims "
    "about its explanations.",
    "- C1: against the microphones and against the constant lag-0 estimator, the paired "
    "difference of the non-anomalous fraction (relevance minus comparator) decides (CI above "
    "0: better, below 0: worse); when that CI is exactly [0, 0] the TDoA MAE decides by "
    "non-overlapping CIs. Reproduced = better than both; not reproduced = worse than either; "
    "otherwise inconclusive.",
    "- C2: the paired gaps MAE(relevance) - MAE(random) and MAE(relevance) - MAE(energy) at "
    "10 % (same windows) decide: reproduced = both CIs above 0; not reproduced = either CI "
    "below 0; otherwise inconclusive (results without the paired energy gap: the relevance "
    "and energy curves' CIs must separate instead).",
    f"- Shape (point estimates): F1 relevance rise 0->10 % >= {claims.JUMP_SHARE} of its rise "
    f"to the maximum; F2 energy rises, its 0->10 % share < {claims.JUMP_SHARE}; F3 random "
    f"within {claims.FLAT_TOLERANCE} x MAE(0) of MAE(0) up to 50 %. Reproduced = all hold.",
    "- A claim is judged over the cells where the model localises only (the others are "
    "inconclusive by the skill gate and are not counted, so they neither dilute nor "
    "support it; with no such cell the claim is inconclusive). It is reproduced when no "
    "counted cell is 'not reproduced' and at least half are 'reproduced'; not reproduced "
    "when no counted cell is 'reproduced' and at least half are 'not reproduced'; "
    "inconclusive otherwise (mixed, or mostly inconclusive counted cells).", "",
]


def claims_summary(cells: list[dict[str, Any]], verdicts: dict[str, claims.Verdict],
                   statements: dict[str, str]) -> list[str]:
    """One line per claim with its verdict and the rules that produced it."""
    rows = []
    for claim, v in verdicts.items():
        evidence = v.reason
        mine = [c for c in cells if c["claim"] == claim]
        variants = [var for var in VARIANTS if any(c.get("variant") == var for c in mine)]
        if variants:  # a claim judged per TDoA variant: each variant's verdict
            evidence += " (" + "; ".join(f"{var}: " + claims.aggregate_cells(
                [c for c in mine if c.get("variant") == var]).reason for var in variants) + ")"
        rows.append([claim, statements[claim], f"**{v.verdict}**", evidence])
    lines = ["## Verdicts", ""] + md_table(
        ["claim", "statement", "verdict", "evidence"], rows,
        "the cell tables of section 'Claims, cell by cell' (each cell's CIs printed there).")
    models = list(dict.fromkeys(c["model"] for c in cells))
    if len(models) > 1:  # the same rule per model: weights that localise are not mixed with others
        rows = []
        for claim in verdicts:
            for model in models:
                mine = [c for c in cells if c["claim"] == claim and c["model"] == model]
                if mine:
                    v = claims.aggregate_cells(mine)
                    rows.append([claim, code(model), f"**{v.verdict}**", v.reason])
        lines += ["Per model (the same aggregation rule over that model's cells only):", ""]
        lines += md_table(["claim", "model", "verdict", "evidence"], rows,
                          "the cell tables of section 'Claims, cell by cell'.")
    unskilled = sorted({(c["model"], c["condition"].label) for c in cells
                        if c["skill"].verdict != claims.LOCALISES})
    if unskilled:
        lines += ["Models not shown to localise (no paired gain over the trivial predictor), so "
                  "their explanations cannot support the claims there: "
                  + "; ".join(f"{code(m)} at {code(c)}" for m, c in unskilled) + ".", ""]
    return lines + RULES


def _skill_table(res: RunResults, ref: PaperReference, cond: Condition) -> list[str]:
    rows = []
    trivial_est = None
    for model in res.models():
        own = res.skill_predictor(model, cond)
        if own is None:
            continue
        est, n = res.mae(model, cond, own)
        triv, _ = res.mae(model, cond, "trivial")
        trivial_est = trivial_est or (model, triv)
        pc = paper_condition(ref, cond)
        paper = ref.mae(arch_of(model), *pc) if pc else None
        rows.append([code(own), code(model), paper_cell(paper), fmt(est), str(n),
                     fmt(res.gain(model, cond, own)), res.skill_verdict(model, cond).verdict])
    owner = trivial_est[0] if trivial_est else None
    for pred in BASELINE_PREDICTORS:
        if owner is None:
            break
        est, n = res.mae(owner, cond, pred)
        if est is None:
            continue
        paper = (f"≈{fmt(ref.trivial.value)} [{ref.trivial.label}]" if pred == "trivial" and
                 paper_condition(ref, cond) else "–")
        gain = fmt(res.gain(owner, cond, pred)) if pred != "trivial" else "–"
        rows.append([code(pred), code(owner), paper, fmt(est), str(n), gain, "–"])
    if not rows:
        return ["No `model_skill.csv` rows for this condition.", ""]
    return md_table(
        ["predictor", "model", "paper: MAE (m)", "ours: MAE (m) [95 % CI]", "sources",
         "gain vs trivial (m, paired) [95 % CI]", "skill"], rows,
        f"`model_skill.csv`, row key (model, condition = {code(cond.label)}, predictor) with "
        "model and predictor from the first two columns; value `mae`, CI `ci_low`/`ci_high`; "
        "gain `gain_vs_trivial`, CI `gain_ci_low`/`gain_ci_high` (the trivial predictor's error "
        "minus this predictor's on the same windows: skill = its CI above 0).")


def _curve_table(res: RunResults, ref: PaperReference, cond: Condition, model: str,
                 method: str) -> list[str]:
    fractions = res.fractions(model, cond, method)
    if not fractions:
        return []
    pc = paper_condition(ref, cond)
    paper = {r: (ref.curve(arch_of(model), *pc, r) if pc else None) for r in RANKINGS}
    rows = []
    for f in fractions:
        row = [f"{round(100 * f):d}"]
        for r in RANKINGS:
            pv = paper[r]
            hit = np.isclose(ref.fractions, f)
            row.append(f"{fmt(pv.value[int(np.argmax(hit))])} [{pv.label}]"
                       if pv is not None and hit.any() else "–")
            row.append(fmt(res.curve(model, cond, method, r, f)))
        rows.append(row)
    headers = ["P (%)"] + [h for r in RANKINGS for h in (f"{r}: paper", f"{r}: ours [95 % CI]")]
    return [f"Manipulation curves of {code(model)} (MAE, m, up = removal hurts more):", ""] + \
        md_table(headers, rows,
                 f"`curves.csv`, row key (model = {code(model)}, condition = {code(cond.label)}, "
                 f"method = {code(method)}, ranking = column group, fraction = P / 100); value "
                 "`mae`, CI `ci_low`/`ci_high`.")


def _tdoa_table(res: RunResults, cond: Condition) -> list[str]:
    rows = []
    for model in res.models():
        methods = res.methods(model, cond)
        if not methods:
            continue
        for est in CONTROLS + tuple(methods):
            vals = [res.board(model, cond, est, m) for m in TDOA_METRICS]
            if all(v is None for v in vals):
                continue
            pair = res.paper_pair(model, cond, est) or {}
            rows.append([code(model), code(est)] + [fmt(v) for v in vals]
                        + [code(pair.get("pair", "–")), fmt(pair.get("pearson")),
                           fmt(pair.get("frac_zero_lag"))])
    if not rows:
        return []
    headers = ["model", "estimator"] + [f"{code(m)} ({_UNITS[m.split('_', 2)[2]]})"
                                        for m in TDOA_METRICS]
    headers += ["paper pair", "r(estimated, true) on it", "fraction at lag 0 on it"]
    return ["TDoA by GCC-PHAT. The study's own TDoA table is unknown; it claims only that "
            "relevance beats the microphones. Variant `paper`: its mic pair, truncated true "
            "delay, no lag limit; `bounded`: rounded true delay, lags within the physical "
            "maximum, mean over the pairs of `metrics.tdoa_pairs`. `constant` always answers "
            "lag 0 (never an anomaly on an adjacent pair); `direct_path` is an oracle (the "
            "direct-path signals, no reverberation or noise):", ""] + md_table(
        headers, rows, f"`leaderboard.csv`, row key (model, condition = {code(cond.label)}, "
        "method = column 'estimator', metric = column header), value `mean`, CI "
        "`ci_low`/`ci_high`; last three columns: `tdoa.csv` row (model, condition, method = "
        "estimator, variant = `paper`, pair), columns `pearson` and `frac_zero_lag`.")


def per_condition(res: RunResults, ref: PaperReference, method: str) -> list[str]:
    """For each of the study's conditions (then any other of ours): MAE, curves, TDoA."""
    conds = res.conditions()
    lines: list[str] = []
    seen: set[str] = set()
    groups = [((t60, snr), [c for c in conds if paper_condition(ref, c) == (t60, snr)])
              for t60, snr in ref.conditions()]
    groups.append((None, [c for c in conds if paper_condition(ref, c) is None]))
    for key, members in groups:
        if key is None and not members:
            continue
        title = (f"T60 = {key[0]:g} s, SNR = {key[1]:g} dB (study condition)" if key
                 else "Conditions not in the study")
        lines += [f"## {title}", ""]
        if not members:
            lines += ["This run has no such condition: no numbers of ours to compare.", ""]
        for cond in members:
            seen.add(cond.label)
            lines += [f"### {_cond_name(cond)}", "", "Test-set MAE per coordinate "
                      "(m, down = better):", ""]
            lines += _skill_table(res, ref, cond)
            for model in res.models():
                lines += _curve_table(res, ref, cond, model, method)
            lines += _tdoa_table(res, cond)
    return lines


def _versus(c: dict[str, Any]) -> str:
    words = {1: "better", -1: "worse", 0: "undecided", None: "–"}
    vm = claims.beats(c["gain_mic"], c["mae_rel"], c["mae_mic"])
    vc = claims.beats(c["gain_const"], c["mae_rel"], c["mae_const"])
    return f"{words[vm]} / {words[vc]}"


def _cell_key(c: dict[str, Any]) -> list[str]:
    return [code(c["model"]), code(c["condition"].label)]


def cell_tables(cells: list[dict[str, Any]], ref: PaperReference, res: RunResults,
                method: str) -> list[str]:
    """The verdict of every cell, with the CIs that decided it."""
    lines = ["## Claims, cell by cell", "", "### C1: TDoA on relevance vs microphones and the "
             "constant estimator", ""]
    rows = [_cell_key(c) + [c["variant"], c["skill"].verdict, fmt(c["gain_mic"]),
                            fmt(c["gain_const"]), fmt(c["mae_rel"]), fmt(c["mae_mic"]),
                            fmt(c["mae_const"]), _versus(c), f"**{c['verdict'].verdict}**"]
            for c in cells if c["claim"] == "C1"]
    lines += md_table(
        ["model", "condition", "variant", "skill", "gain vs microphones [95 % CI]",
         "gain vs constant [95 % CI]", "MAE relevance (samples)", "MAE microphones",
         "MAE constant", "relevance vs microphones / constant", "verdict"], rows,
        f"`leaderboard.csv`, row key (model, condition, method, metric = "
        f"tdoa_VARIANT_gain_vs_microphones / _gain_vs_constant / _mae) with method = "
        f"{code(method)} for relevance, `microphones`, `constant`; skill from `model_skill.csv` "
        "(see the condition sections). Gains are paired differences of the non-anomalous "
        "fraction.")
    lines += ["### C2: manipulation at P = 10 %", ""]
    rows = [_cell_key(c) + [c["skill"].verdict, fmt(c["gap"]), fmt(c.get("gap_energy")),
                            fmt(c["relevance"]), fmt(c["energy"]), fmt(c["random"]),
                            f"**{c['verdict'].verdict}**"]
            for c in cells if c["claim"] == "C2"]
    lines += md_table(
        ["model", "condition", "skill", "gap relevance - random (m) [95 % CI]",
         "gap relevance - energy (m) [95 % CI]", "relevance (m)", "energy (m)", "random (m)",
         "verdict"], rows,
        f"gaps: `leaderboard.csv` (model, condition, method = {code(method)}, metric = "
        f"`manipulation_gap_at_10` / `manipulation_gap_vs_energy_at_10`, paired over the same "
        f"windows); curves: `curves.csv` (model, condition, method = {code(method)}, ranking = "
        f"column, fraction = 0.1).")
    lines += ["### Shape of the curves", "", f"The study: \"{ref.pattern}\".", ""]
    rows = []
    for (arch, t60, snr, ranking), _ in sorted(ref.curves.items()):
        if ranking != "relevance":
            continue
        cv = [ref.curve(arch, t60, snr, r) for r in RANKINGS]
        if any(c is None for c in cv):
            continue
        sh = claims.curve_shape(ref.fractions, *[c.value for c in cv])
        rows.append([f"paper [{cv[0].label}]", code(arch), f"T60 = {t60:g} s, SNR = {snr:g} dB"]
                    + _shape_cells(sh) + ["pattern holds" if sh.matches else "pattern fails"])
    for c in cells:
        if c["claim"] == "C2 shape":
            rows.append(["ours"] + _cell_key(c) + _shape_cells(c["shape"])
                        + [f"**{c['verdict'].verdict}**"])
    lines += md_table(
        ["curves", "model", "condition", "F1 relevance jump share", "F2 energy jump share",
         "F3 random max dev (m)", "F1", "F2", "F3", "verdict"], rows,
        f"paper rows: `ssl_xai_bench/reproduce/data/paper_reference.toml` [[curve]]; ours: "
        f"`curves.csv` (model, condition, method = {code(method)}, ranking, every fraction), "
        "means only.")
    return lines


def _shape_cells(sh: claims.Shape | None) -> list[str]:
    if sh is None:
        return ["–"] * 6
    yes = {True: "yes", False: "no"}
    return [fmt(sh.relevance_jump_share), fmt(sh.energy_jump_share), fmt(sh.random_max_dev),
            yes[sh.f1_relevance_jumps], yes[sh.f2_energy_gradual], yes[sh.f3_random_flat]]


def deviation_section(res: RunResults, ref: PaperReference,
                      ablations: dict[str, RunResults], method: str) -> list[str]:
    """Every remaining difference from the study, with its measured effect."""
    config, origin = run_config(res.provenance)
    rows = [list(row) for row in deviations(res, config, ref, ablations, method)]
    return ["## Deviations from the study", "",
            f"Run configuration: {origin}. Only the differences that remain are listed; a "
            "setting equal to the study's is not.", ""] + md_table(
        ["topic", "the study", "this run", "measured effect"], rows,
        "`provenance.json` and the run configuration recovered above; effects: "
        "`model_skill.csv` (MAE), `tdoa.csv` (undefined windows), `leaderboard.csv` (CIs) of "
        "this folder, and the ablation folders' `model_skill.csv`.")
