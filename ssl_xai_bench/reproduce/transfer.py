"""The transfer of the authors' released weights to our scenes, and the one-setting ablations.

A section of the reproduction document: the external-weights entries' test MAE beside the
study's, and, for each ablation results folder, the same MAE with every configuration field the
ablation changed (:func:`config_diff`). Units: MAE in metres (per coordinate).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ssl_xai_bench.reproduce import claims
from ssl_xai_bench.reproduce.paper_reference import PaperReference
from ssl_xai_bench.reproduce.results import (
    RunResults,
    arch_of,
    code,
    fmt,
    md_table,
    paper_cell,
    paper_condition,
)


def transfer(res: RunResults, ref: PaperReference, ablations: dict[str, RunResults]) -> list[str]:
    """The authors' released weights on our scenes vs their published MAE, and ablations."""
    lines = ["## The authors' released weights on our scenes", ""]
    external = [m for m in res.models() if "@" in m]
    if not external:
        return lines + ["This run has no external-weights entry (e.g. `samplecnn@authors`, with "
                        "`--weights samplecnn@authors:T60/SNR=PATH` per condition).", ""]
    lines += ["An entry transfers at a condition when its MAE CI reaches down to the study's "
              "published MAE of the same weights (`ci_low <= paper`).", ""]
    rows = []
    for model in external:
        for cond in res.conditions():
            own = res.skill_predictor(model, cond)
            pc = paper_condition(ref, cond)
            paper = ref.mae(arch_of(model), *pc) if pc else None
            if own is None:
                continue
            est, _ = res.mae(model, cond, own)
            diff = ratio = "–"
            ok = "–"
            if paper is not None and est is not None and est.has_ci:
                diff, ratio = fmt(est.mean - paper.value), fmt(est.mean / paper.value)
                ok = "yes" if est.ci_low <= paper.value else "no"
            rows.append([code(own), code(model), code(cond.label), paper_cell(paper), fmt(est),
                         diff, ratio, ok, res.skill_verdict(model, cond).verdict])
    lines += md_table(["predictor", "model", "condition", "paper: MAE (m)",
                       "ours: MAE (m) [95 % CI]", "ours - paper (m)", "ours / paper",
                       "transfers", "skill"], rows,
                      "`model_skill.csv`, row key (model, condition, predictor) from the first "
                      "three columns.")
    return lines + _ablation_table(res, ablations, external)


#: The scene settings an ablation changes one at a time (``provenance.json`` keys).
ABLATED = ("rir_mode", "rir_convention", "absorption", "speech")


def _ablation_rows(res: RunResults, name: str, abl: RunResults, external: list[str],
                   effects: dict[str, list[tuple[float, int | None]]]) -> list[list[str]]:
    """One row per (external entry, condition of both runs): the main and the ablation's MAE,
    the change and how the CIs order; the changes are also appended to ``effects[name]``."""
    changed = "; ".join(f"{k}: {res.provenance.get(k)} -> {abl.provenance.get(k)}"
                        for k in ABLATED if res.provenance.get(k) != abl.provenance.get(k))
    rows = []
    for model in external:
        for cond in res.conditions():
            match = [c for c in abl.conditions() if np.isclose(c.t60, cond.t60)
                     and np.isclose(c.snr_db, cond.snr_db) and c.geometry == cond.geometry]
            own = res.skill_predictor(model, cond)
            if not match or own is None:
                continue
            own_a = abl.skill_predictor(model, match[0])
            main = res.mae(model, cond, own)[0]
            alt = abl.mae(model, match[0], own_a)[0] if own_a else None
            if main is None:
                continue
            key = [code(name), code(model), code(cond.label), fmt(main)]
            if alt is None:
                rows.append(key + ["–", "–", "entry missing in the ablation",
                                   changed or "nothing recorded"])
                continue
            order = claims.ci_order(alt, main)
            effects.setdefault(name, []).append((alt.mean - main.mean, order))
            rows.append(key + [fmt(alt), fmt(alt.mean - main.mean),
                               {-1: "lower", 1: "higher", 0: "overlap", None: "–"}[order],
                               changed or "nothing recorded"])
    return rows


def _largest_effect(effects: dict[str, list[tuple[float, int | None]]]) -> str:
    """The sentence on the ablation with the largest mean MAE change."""
    best = max(effects, key=lambda n: abs(float(np.mean([d for d, _ in effects[n]]))))
    mean = float(np.mean([d for d, _ in effects[best]]))
    n_sep = sum(o in (-1, 1) for _, o in effects[best])
    text = (f"Largest measured effect: {code(best)}: the ablation's MAE is "
            f"{'lower' if mean < 0 else 'higher'} by {fmt(abs(mean))} m on average over "
            f"{len(effects[best])} condition(s), CIs separate in {n_sep}. ")
    if n_sep == 0:
        return text + "No ablation moves the MAE beyond its CI: no cause of a gap is measured."
    if mean < 0:
        return text + ("Changing this setting lowers the MAE beyond the CIs: it is the most "
                       "likely measured cause of the main run's transfer gap.")
    return text + ("The main run's setting is the better one for these weights: the ablation "
                   "measures how much it matters.")


def _ablation_table(res: RunResults, ablations: dict[str, RunResults],
                    external: list[str]) -> list[str]:
    if not ablations:
        return ["No ablation folders given (`--ablation NAME=RESULTS_DIR`): the causes of a "
                "transfer gap are not measured here.", ""]
    effects: dict[str, list[tuple[float, int | None]]] = {}
    rows = [r for name, abl in ablations.items()
            for r in _ablation_rows(res, name, abl, external, effects)]
    if not rows:
        return ["### Ablations: one setting changed at a time", "",
                "The ablation folders hold no condition of the main run's external entries.", ""]
    lines = ["### Ablations: one setting changed at a time", ""] + md_table(
        ["ablation", "model", "condition", "main: MAE (m)", "ablation: MAE (m)", "change (m)",
         "ablation CI vs main", "differs from main in"], rows,
        "main: `model_skill.csv` of the main folder; ablation: `model_skill.csv` of the "
        "ablation's folder; row key (model, condition, the model's own predictor); 'differs' "
        "compares the scene settings of the two `provenance.json` files.")
    lines += ["Other configuration fields each ablation changes (from the two `provenance.json` "
              "`config`s). Test sources, their speech and their windows are seeded per split, so "
              "fewer training sources leave them as they are; an ablation that changes nothing "
              "else (a control) measures that directly:", ""]
    for name, abl in ablations.items():
        diffs = [d for d in config_diff(res.provenance.get("config"), abl.provenance.get("config"))
                 if not d.startswith(tuple(f"scene.{k}:" for k in ABLATED))]
        lines.append(f"- {code(name)}: " + ("; ".join(code(d) for d in diffs) or "none"))
    return lines + [""] + ([_largest_effect(effects), ""] if effects else [])


def config_diff(a: dict[str, Any] | None, b: dict[str, Any] | None,
                skip: tuple[str, ...] = ("runner", "output", "name", "description", "preset",
                                         "geometries")) -> list[str]:
    """``field: a -> b`` for every dotted config field that differs (``skip``: top-level keys
    that do not change results or are not settings)."""
    def flat(d: Any, prefix: str = "") -> dict[str, Any]:
        if not isinstance(d, dict):
            return {prefix: d}
        out: dict[str, Any] = {}
        for k, v in d.items():
            if not prefix and k in skip:
                continue
            out.update(flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out

    fa, fb = flat(a or {}), flat(b or {})
    return [f"{k}: {fa.get(k, '(unset)')} -> {fb.get(k, '(unset)')}"
            for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


__all__ = ["config_diff", "transfer"]
