"""The reproduction document: the reference study's numbers beside ours, claim by claim.

Reads a results folder (:class:`ssl_xai_bench.reproduce.results.RunResults`) and writes one
Markdown document (``docs/reproduction.md``): provenance, one verdict line per claim, then per
condition the study's test MAE, manipulation curves and (qualitative) TDoA claim beside ours with
95 % CIs, the verdict of every (model, condition) cell (rules in
:mod:`ssl_xai_bench.reproduce.claims`), the transfer of the authors' released weights (optionally
against ablation folders), and the deviations from the study
(:mod:`ssl_xai_bench.reproduce.deviations`). Every table is followed by a ``Source:`` line naming
the file and the row key of each number. The study: Comanducci, Antonacci, Sarti, EUSIPCO 2024
(``../shared/spec/PAPER.md``); its numbers come from
:mod:`ssl_xai_bench.reproduce.paper_reference`. Units: MAE in metres (per coordinate), TDoA MAE
in samples, rates as fractions, P in % of the input samples zeroed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.reproduce import claims, sections, transfer
from ssl_xai_bench.reproduce.paper_reference import PaperReference, load_paper_reference
from ssl_xai_bench.reproduce.results import (
    VARIANTS,
    RunResults,
)


@dataclass
class Reproduction:
    """The generated document and every verdict behind it (for tests and callers)."""

    markdown: str
    claims: dict[str, claims.Verdict]
    cells: list[dict[str, Any]] = field(default_factory=list)


def judge_run(res: RunResults, method: str = "lrp") -> list[dict[str, Any]]:
    """Every cell verdict of a run: skill gate, C1 per TDoA variant, C2, curve shape."""
    cells = []
    for cond in res.conditions():
        for model in res.models():
            if method not in res.methods(model, cond):
                continue  # no relevance of `method`: nothing to judge (MAE still tabulated)
            skill = res.skill_verdict(model, cond)
            base = {"model": model, "condition": cond, "skill": skill}
            for variant in VARIANTS:
                est = {k: res.board(model, cond, m, f"tdoa_{variant}_{metric}") for k, m, metric
                       in (("gain_mic", method, "gain_vs_microphones"),
                           ("gain_const", method, "gain_vs_constant"),
                           ("mae_rel", method, "mae"), ("mae_mic", "microphones", "mae"),
                           ("mae_const", "constant", "mae"))}
                if all(v is None for v in est.values()):
                    continue
                cells.append({**base, "claim": "C1", "variant": variant, **est,
                              "verdict": claims.judge_c1(skill, **est)})
            at10 = {r: res.curve(model, cond, method, r, 0.1) for r in ("relevance", "energy",
                                                                        "random")}
            gap = res.board(model, cond, method, "manipulation_gap_at_10")
            gap_e = res.board(model, cond, method, "manipulation_gap_vs_energy_at_10")
            cells.append({**base, "claim": "C2", "gap": gap, "gap_energy": gap_e, **at10,
                          "verdict": claims.judge_c2(skill, gap, at10["relevance"], at10["energy"],
                                                gap_e)})
            fr = res.fractions(model, cond, method)
            shape = None
            try:
                curves = [[res.curve(model, cond, method, r, f) for f in fr]
                          for r in ("relevance", "energy", "random")]
                if fr and all(e is not None for c in curves for e in c):
                    shape = claims.curve_shape(fr, *[[e.mean for e in c] for c in curves])
            except ValueError:
                shape = None
            cells.append({**base, "claim": "C2 shape", "shape": shape,
                          "verdict": claims.judge_shape(skill, shape)})
    return cells


CLAIMS = {
    "C1": "GCC-PHAT TDoA on LRP relevance is more accurate (fewer anomalies, lower error) than on "
          "the microphone signals, and than the constant lag-0 estimator",
    "C2": "removing the most relevant 10 % of samples hurts localization more than removing random "
          "or high-energy samples (paired gaps, CIs > 0)",
    "C2 shape": "relevance removal jumps at 10 %; energy grows gradually; random is flat until "
                "about 50 %",
}


def build_reproduction(results_dir: str | Path, ablations: dict[str, str | Path] | None = None,
                       *, method: str = "lrp", reference: PaperReference | None = None,
                       command: str = "") -> Reproduction:
    """Build the reproduction document from a results folder (nothing is recomputed).

    Parameters
    ----------
    results_dir : path
        A results folder written by ``ssl-xai-bench run`` (e.g. of the ``paper-lite`` preset).
    ablations : dict, optional
        Name -> results folder of an ablation run (e.g. ``{"rir_mode=exact": path}``); their
        ``model_skill.csv`` rows of the external-weights entries are tabulated against the main run.
    method : str
        The attribution method whose relevance the claims are about (the study's ``lrp``).
    reference : PaperReference, optional
        Published numbers (default: the packaged ``paper_reference.toml``).
    command : str
        The command that generated the document (printed in it).

    Returns
    -------
    Reproduction
    """
    ref = reference or load_paper_reference()
    res = RunResults.load(results_dir)
    abl = {name: RunResults.load(path, f"--ablation {name}")
           for name, path in (ablations or {}).items()}
    known = sorted({m for c in res.conditions() for mod in res.models()
                    for m in res.methods(mod, c)})
    if method not in known:
        raise ConfigError("--method", f"{method!r} has no rows in {res.folder}/leaderboard.csv; "
                          f"available: {', '.join(known) or 'none'}")
    cells = judge_run(res, method)
    verdicts = {claim: claims.aggregate_cells([c for c in cells if c["claim"] == claim])
                for claim in CLAIMS}
    lines = sections.header(res, command, method)
    lines += sections.claims_summary(cells, verdicts, CLAIMS)
    lines += sections.per_condition(res, ref, method)
    lines += sections.cell_tables(cells, ref, res, method)
    lines += transfer.transfer(res, ref, abl)
    lines += sections.deviation_section(res, ref, abl, method)
    return Reproduction("\n".join(lines).rstrip() + "\n", verdicts, cells)


def parse_ablation(text: str) -> tuple[str, Path]:
    """``NAME=DIR`` (split at the last ``=``, so NAME may itself hold ``=``) -> (NAME, DIR)."""
    name, sep, path = text.rpartition("=")
    if not sep or not name or not path:
        raise ConfigError("--ablation", f"expected NAME=RESULTS_DIR, got {text!r}")
    return name, Path(path)


__all__ = ["CLAIMS", "Reproduction", "build_reproduction", "judge_run", "parse_ablation"]
