"""Where a run still departs from the reference study, each difference with its measured effect.

Used by the reproduction document's "Deviations from the study" section: one row per difference
that remains (topic, the study, this run, measured effect); a setting equal to the study's is not
listed. Facts come from the run's ``provenance.json`` and its configuration (recorded in
``provenance["config"]``, checked against ``config_hash``); effects are measured on the run's own
tables (``model_skill.csv``, ``tdoa.csv``, ``leaderboard.csv``) and on the ablation folders given
(one setting changed at a time). An effect that no table here can measure says so.

The study's settings are those of ``../shared/spec/PAPER.md`` (Comanducci, Antonacci, Sarti,
EUSIPCO 2024): CMU ARCTIC speech, gpuRIR image sources for the whole T60 with no diffuse model and
Sabine absorption, 3152 / 788 / 285 sources, up to 1000 epochs (patience 200, learning-rate
patience 100), every test window, the ground-truth position fed as LRP output relevance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ssl_xai_bench.harness.config import NOT_HASHED
from ssl_xai_bench.hashing import stable_hash
from ssl_xai_bench.reproduce import claims
from ssl_xai_bench.reproduce.paper_reference import PaperReference
from ssl_xai_bench.reproduce.results import RunResults, arch_of, code, fmt, paper_condition

PAPER_SOURCES = {"n_train": 3152, "n_val": 788, "n_test": 285}
PAPER_TRAINING = {"max_epochs": 1000, "patience": 200, "lr_patience": 100}
#: The scene settings an ablation folder may change, as provenance records them.
ABLATED = ("rir_mode", "rir_convention", "absorption", "speech")


def _hash_of(config: dict[str, Any]) -> str:
    return stable_hash({k: v for k, v in config.items() if k not in NOT_HASHED})


def run_config(provenance: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The run's resolved configuration and where it came from (verified by config hash).

    Returns
    -------
    (dict or None, str)
        The configuration (``BenchConfig.to_dict()`` form) and a sentence naming its origin;
        ``None`` when nothing matches the recorded hash.
    """
    recorded = provenance.get("config_hash")
    config = provenance.get("config")
    if isinstance(config, dict) and _hash_of(config) == recorded:
        return config, ("provenance.json `config` (its hash equals the recorded config hash "
                        f"{recorded})")
    return None, (f"not recoverable: provenance.json has no config matching the recorded hash "
                  f"{recorded}; the settings below marked 'unknown' could not be read")


def _get(d: dict[str, Any] | None, path: str, default: Any = None) -> Any:
    node: Any = d
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def ablation_effect(res: RunResults, ablations: dict[str, RunResults], setting: str) -> str:
    """The measured MAE change of the external-weights entries in the ablations that change
    ``setting`` (one of :data:`ABLATED`), or why there is none."""
    diffs, separated, names = [], 0, []
    for name, abl in ablations.items():
        if res.provenance.get(setting) == abl.provenance.get(setting):
            continue
        names.append(name)
        for model in (m for m in res.models() if "@" in m):
            for cond in res.conditions():
                match = [c for c in abl.conditions() if np.isclose(c.t60, cond.t60)
                         and np.isclose(c.snr_db, cond.snr_db) and c.geometry == cond.geometry]
                own, own_a = res.skill_predictor(model, cond), None
                if match:
                    own_a = abl.skill_predictor(model, match[0])
                main = res.mae(model, cond, own)[0] if own else None
                alt = abl.mae(model, match[0], own_a)[0] if own_a else None
                if main is not None and alt is not None:
                    diffs.append(main.mean - alt.mean)
                    separated += claims.ci_order(alt, main) in (-1, 1)
    if not diffs:
        return (f"not measured: no ablation folder changes `{setting}` for an external-weights "
                "entry (`--ablation NAME=RESULTS_DIR`)")
    return (f"the study's setting ({', '.join(code(n) for n in names)}) changes the authors' "
            f"weights' MAE by {fmt(min(diffs))} to {fmt(max(diffs))} m (this run minus ablation; "
            f"CIs separate at {separated} of {len(diffs)} conditions)")


def _training_effect(res: RunResults, ref: PaperReference) -> str:
    """Our trained models' MAE minus the study's published MAE, per model."""
    parts = []
    for model in (m for m in res.models() if "@" not in m):
        gaps = []
        for cond in res.conditions():
            pc = paper_condition(ref, cond)
            paper = ref.mae(arch_of(model), *pc) if pc else None
            est = res.mae(model, cond, model)[0]
            if paper is not None and est is not None:
                gaps.append(est.mean - paper.value)
        if gaps:
            parts.append(f"{code(model)} {fmt(min(gaps))} to {fmt(max(gaps))} m")
    if not parts:
        return "not measured: no trained model at a condition of the study"
    return "test MAE minus the study's: " + "; ".join(parts)


def _degenerate_effect(res: RunResults, method: str) -> str:
    """Windows whose relevance TDoA is undefined, and the anomaly rate counting them."""
    tdoa = res.tdoa
    if tdoa.empty or "variant" not in tdoa:
        return "not measured: no `tdoa.csv`"
    rows = tdoa[(tdoa["variant"] == "paper") & (tdoa["method"] == method)
                & tdoa["pair"].astype(str).str.contains("-")]
    if rows.empty:
        return f"not measured: no paper-variant TDoA rows of `{method}`"
    nan = rows["n_nonfinite"].to_numpy(float)
    n = rows["n_windows"].to_numpy(float)
    rate = rows["anomaly_rate"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        as_reference = (rate * n + nan) / (n + nan)
    shift = np.nan_to_num(as_reference - rate)
    return (f"{int(nan.sum())} of {int((n + nan).sum())} windows of `{method}` are undefined "
            f"(all-zero relevance on the pair); counting them as anomalies would raise a cell's "
            f"anomaly rate by at most {fmt(float(shift.max()))}")


def _subsampling_effect(res: RunResults, method: str) -> str:
    board = res.leaderboard
    rows = board[(board["method"] == method) & (board["metric"] == "manipulation_gap_at_10")
                 & (board["status"] == "ok")]
    if rows.empty:
        return "not measured"
    half = (rows["ci_high"] - rows["ci_low"]).to_numpy(float) / 2
    return (f"{int(rows['n_windows'].min())}-{int(rows['n_windows'].max())} windows from "
            f"{int(rows['n_sources'].min())}-{int(rows['n_sources'].max())} sources per cell: "
            f"the 95 % CI half-width of `{method}`'s gap at 10 % is {fmt(float(np.min(half)))} to "
            f"{fmt(float(np.max(half)))} m")


def deviations(res: RunResults, config: dict[str, Any] | None, ref: PaperReference,
               ablations: dict[str, RunResults] | None = None,
               method: str = "lrp") -> list[tuple[str, str, str, str]]:
    """One row per remaining difference: (topic, the study, this run, measured effect)."""
    prov, abl = res.provenance, ablations or {}
    rows = []
    speech = prov.get("speech") or _get(config, "scene.speech") or {}
    src = speech.get("source", "unknown") if isinstance(speech, dict) else str(speech)
    if src != "cmu_arctic":
        rows.append(("speech corpus", "CMU ARCTIC, all speakers, one utterance per source",
                     f"`{src}`", "not measured: CMU ARCTIC is not available here"
                     if not any(a.provenance.get("speech") != prov.get("speech")
                                for a in abl.values()) else ablation_effect(res, abl, "speech")))
    mode = prov.get("rir_mode") or _get(config, "scene.rir_mode", "unknown")
    rows.append(("RIR simulator and mode", "gpuRIR image sources for the whole T60, no diffuse "
                 "model", f"pyroomacoustics images, mode `{mode}` (`fast`: images to T60/4, then "
                 "a seeded Gaussian tail; docs/acoustics.md)", ablation_effect(res, abl,
                                                                              "rir_mode")))
    absorption = prov.get("absorption") or _get(config, "scene.absorption", "unknown")
    if absorption != "sabine":
        rows.append(("wall absorption", "Sabine's formula", f"`{absorption}`",
                     ablation_effect(res, abl, "absorption")))
    conv = prov.get("rir_convention") or _get(config, "scene.rir_convention", "unknown")
    if conv != "gpurir":
        rows.append(("RIR convention", "gpuRIR: images signed (-1)^order, 1/(4 pi d), no "
                     "high-pass, origin 0, length T60", f"`{conv}`",
                     ablation_effect(res, abl, "rir_convention")))
    n = {k: _get(config, f"scene.sources.{k}") for k in PAPER_SOURCES}
    train = {k: _get(config, f"training.{k}", "unknown") for k in PAPER_TRAINING}
    if n != PAPER_SOURCES or train != PAPER_TRAINING:
        ours = ", ".join(f"{k} = {'unknown' if v is None and not config else v or 'all'}"
                         for k, v in n.items())
        rows.append(("training budget", "up to 1000 epochs on 3152 sources (788 val, 285 test), "
                     "patience 200, LR patience 100",
                     f"{ours}; " + ", ".join(f"{k} = {v}" for k, v in train.items()),
                     _training_effect(res, ref)))
    per_utt = _get(config, "scene.max_windows_per_utterance") if config else "unknown"
    n_expl = _get(config, "attribution.n_test_windows") if config else "unknown"
    if per_utt is not None or n_expl is not None:
        rows.append(("window subsampling", "every 320 ms window of every utterance; every test "
                     "window explained and evaluated",
                     f"max_windows_per_utterance = {'all' if per_utt is None else per_utt}; "
                     f"explained test windows = {'all' if n_expl is None else n_expl}",
                     _subsampling_effect(res, method)))
    out_rel = _get(config, "attribution.params.lrp.output_relevance",
                   "explained" if config else "unknown")
    if out_rel != "target":
        rows.append(("LRP output relevance", "the ground-truth position p_gt (explains "
                     "`<y_hat, p_gt>`)", f"`{out_rel}`", "not measured: rerun with "
                     "`--set attribution.params.lrp.output_relevance=\"target\"`"))
    rows.append(("undefined TDoA windows", "GCC-PHAT of an all-zero channel is NaN; the "
                 "reference's argmax takes lag -nfft/2 and counts an anomaly",
                 "NaN, counted in `n_nonfinite`, left out of anomaly rate and MAE",
                 _degenerate_effect(res, method)))
    return rows


__all__ = ["ABLATED", "ablation_effect", "deviations", "run_config"]
