"""A small, seeded, well-formed results folder for the table / plot / report tests.

Writes the files the harness produces for one run (``leaderboard.csv``, ``model_skill.csv``,
``curves.csv``, ``tdoa.csv``, ``spectra.csv``, ``inspection/*.npz`` (LocCNN's with ground-truth
masks), ``provenance.json``) with 2 models x 2
conditions x 3 attribution methods, 10 metrics of every category, one failed cell, and
inspection windows of 4 microphones x 2048 samples at 16 kHz in which the microphone pair carries a
known integer delay. The values are synthetic; the format is the harness's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ssl_xai_bench.metrics.comparisons import outcome

MODELS = ("loccnn", "samplecnn")
CONDITIONS = (("t60_0.15_snr_25", 0.15, 25.0), ("t60_0.6_snr_10", 0.6, 10.0))
GEOMETRY = "line16_0.15m"
# one name with every LaTeX / Markdown special character (but no backslash: it is a file name
# inside the .npz archive); backslash escaping is tested on latex_escape directly
METHODS = ("lrp_paper", "gradient_x_input", "ig_50%_#1 & {a}~^$")
METRICS = (
    # metric, category, direction, unit, scale (names of the catalogue: the headline reads them)
    ("faithfulness_correlation", "faithfulness", "up", "", 0.3),
    ("max_sensitivity", "robustness", "down", "", 2.0),
    ("efficient_mprt", "randomisation", "up", "", 0.5),
    ("sparseness", "complexity", "up", "", 0.4),
    ("manipulation_gap_at_10", "manipulation", "up", "m", 0.05),
    ("tdoa_bounded_anomaly_rate", "tdoa", "down", "%", 30.0),
    ("tdoa_bounded_mae", "tdoa", "down", "samples", 1.2),
    ("localisation_auc_rest_gain_vs_energy", "localisation", "up", "AUC", 0.1),
    ("conservation_ratio", "conservation", "up", "", 2e-5),
    ("zero_relevance_windows", "diagnostic", "down", "%", 5.0),
)
FAILED = ("samplecnn", "t60_0.6_snr_10", "gradient_x_input", "max_sensitivity",
          "captum raised RuntimeError: out of memory")
PAIRS = (("7-8", 0.15), ("6-9", 0.45), ("0-15", 2.25))
FS = 16000
M, T = 4, 2048
TRUE_DELAY = 3  # samples, mic b lags mic a


def _leaderboard(rng: np.random.Generator, models=MODELS, conditions=CONDITIONS) -> pd.DataFrame:
    rows = []
    for model in models:
        for cond, t60, snr in conditions:
            for method in METHODS:
                for metric, cat, direction, unit, scale in METRICS:
                    mean = float(scale * rng.uniform(0.2, 1.0))
                    half = abs(mean) * rng.uniform(0.02, 0.2)
                    failed = (model, cond, method, metric) == FAILED[:4]
                    rows.append(dict(
                        model=model, condition=cond, t60=t60, snr_db=snr, geometry=GEOMETRY,
                        method=method, metric=metric, category=cat, direction=direction,
                        unit=unit, n_windows=120, n_sources=10,
                        mean=np.nan if failed else mean,
                        ci_low=np.nan if failed else mean - half,
                        ci_high=np.nan if failed else mean + half * 1.1,
                        n_nonfinite=0, status="failed" if failed else "ok",
                        reason=FAILED[4] if failed else "",
                    ))
    return pd.DataFrame(rows)


def _skill(rng: np.random.Generator, models=MODELS, conditions=CONDITIONS) -> pd.DataFrame:
    rows = []
    for model in models:
        for cond, t60, snr in conditions:
            preds = [model, "trivial", "srp_phat"] + (["authors_weights"] if
                                                      model == "samplecnn" else [])
            for pred in preds:
                mae = {"trivial": 0.12}.get(pred, float(rng.uniform(0.07, 0.11)))
                mx, my, mz = (mae * f for f in rng.uniform(0.8, 1.2, 3))
                rows.append(dict(
                    model=model, condition=cond, t60=t60, snr_db=snr, geometry=GEOMETRY,
                    predictor=pred, mae=mae, mae_x=mx, mae_y=my, mae_z=mz,
                    euclid_mean=mae * 1.9, euclid_median=mae * 1.7, ci_low=mae * 0.93,
                    ci_high=mae * 1.08, n_windows=120, n_sources=10,
                    beats_trivial=bool(mae < 0.12),
                ))
    return pd.DataFrame(rows)


def _curves(rng: np.random.Generator, models=MODELS, conditions=CONDITIONS) -> pd.DataFrame:
    rows = []
    fractions = np.round(np.arange(0, 0.71, 0.1), 2)
    for model in models:
        for cond, t60, snr in conditions:
            base = 0.09 + 0.02 * t60
            for method in METHODS:
                for ranking in ("relevance", "energy", "random"):
                    for f in fractions:
                        if ranking == "relevance":
                            mae = base + (0.05 if f > 0 else 0.0)
                        elif ranking == "energy":
                            mae = base + 0.09 * f
                        else:
                            mae = base + 0.005 * f ** 4
                        mae += rng.normal(0, 0.001) if f > 0 else 0.0
                        rows.append(dict(
                            model=model, condition=cond, t60=t60, snr_db=snr,
                            geometry=GEOMETRY, method=method, ranking=ranking, fraction=f,
                            mae=mae, ci_low=mae - 0.004, ci_high=mae + 0.004, n_windows=120,
                        ))
    return pd.DataFrame(rows)


def _tdoa(rng: np.random.Generator, models=MODELS, conditions=CONDITIONS) -> pd.DataFrame:
    rows = []
    for model in models:
        for cond, t60, snr in conditions:
            for method in ("microphones", "constant", *METHODS):
                for variant in ("paper", "bounded"):
                    for pair, spacing in PAIRS:
                        const = method == "constant"
                        rows.append(dict(
                            model=model, condition=cond, t60=t60, snr_db=snr,
                            geometry=GEOMETRY, method=method, variant=variant, pair=pair,
                            spacing_m=spacing,
                            anomaly_rate=float(min(1.0, spacing / 3 + rng.uniform(0, 0.2))),
                            mae_samples=float(rng.uniform(0.4, 1.5)),
                            pearson=np.nan if const else float(rng.uniform(0.2, 0.95)),
                            spearman=np.nan if const else float(rng.uniform(0.2, 0.95)),
                            frac_zero_lag=1.0 if const else float(rng.uniform(0, 0.3)),
                            n_windows=120, n_nonfinite=int(method == METHODS[0]),
                        ))
    return pd.DataFrame(rows)


def _inspection(root: Path, rng: np.random.Generator, models=MODELS,
                conditions=CONDITIONS) -> None:
    folder = root / "inspection"
    folder.mkdir(parents=True, exist_ok=True)
    for model in models:
        for cond, _, _ in conditions:
            for which in ("best", "worst"):
                dry = rng.standard_normal(T + 64).astype(np.float32)
                direct = np.stack([dry[16 - TRUE_DELAY * (m % 2): 16 - TRUE_DELAY * (m % 2) + T]
                                   for m in range(M)]).astype(np.float32)
                window = (direct + 0.3 * rng.standard_normal((M, T))).astype(np.float32)
                data = dict(window=window, direct=direct,
                            position=np.array([1.7, 5.5, 1.2]), fs=np.int64(FS),
                            prediction=np.array([1.72, 5.4, 1.25]),
                            pair=np.array([0, 1], dtype=np.int64),
                            true_tdoa=np.float64(TRUE_DELAY))
                for k, method in enumerate(METHODS):
                    rel = (direct * window * (k + 1)).astype(np.float32)
                    if k == 2 and which == "worst":
                        rel[:] = 0.0  # an all-zero relevance (bias-only output)
                    data[f"relevance_{method}"] = rel
                meta = dict(model=model, condition=cond, which=which, methods=list(METHODS),
                            source_id=int(rng.integers(0, 285)),
                            error_m=float(0.02 if which == "best" else 0.4))
                data["meta"] = np.array(json.dumps(meta))
                if model == models[0]:  # masks: direct path where it is loud, onsets every 512
                    data["mask_direct"] = np.abs(direct) > 1.0
                    data["mask_onset"] = (np.arange(T) % 512 < 64)[None, :].repeat(M, axis=0)
                np.savez(folder / f"{model}_{cond}_{which}.npz", **data)


#: band edges (Hz) of the synthetic spectra and the share of power per band of each row
SPECTRA_EDGES = (0.0, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)
SPECTRA_SHARES = {
    "microphones": (0.05, 0.15, 0.30, 0.30, 0.12, 0.06, 0.02),
    "direct_path": (0.05, 0.15, 0.30, 0.30, 0.12, 0.06, 0.02),
    "phat": (1 / 64, 1 / 64, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2),
    METHODS[0]: (0.02, 0.08, 0.50, 0.25, 0.10, 0.04, 0.01),
    METHODS[1]: (0.02, 0.08, 0.40, 0.35, 0.10, 0.04, 0.01),
    METHODS[2]: (0.01, 0.04, 0.15, 0.20, 0.20, 0.20, 0.20),
}


def _spectra(models=MODELS, conditions=CONDITIONS) -> pd.DataFrame:
    rows = []
    lows, highs = SPECTRA_EDGES[:-1], SPECTRA_EDGES[1:]
    for model in models:
        for cond, t60, snr in conditions:
            for method, shares in SPECTRA_SHARES.items():
                for lo, hi, share in zip(lows, highs, shares, strict=True):
                    rows.append(dict(model=model, condition=cond, t60=t60, snr_db=snr,
                                     geometry=GEOMETRY, method=method, band=f"{lo:g}-{hi:g} Hz",
                                     f_low_hz=lo, f_high_hz=hi, power_fraction=share,
                                     ci_low=share * 0.9, ci_high=share * 1.1, n_windows=120,
                                     n_sources=10))
    return pd.DataFrame(rows)


PROVENANCE = {
    "package_version": "0.1.0", "git_commit": "0123456789abcdef", "config_hash": "cafe1234",
    "seed": 1234, "date": "2025-01-01T00:00:00Z", "preset": "tiny",
    "command": "ssl-xai-bench run --preset tiny",
    "versions": {"torch": "2.14.1", "zennit": "0.5.1", "captum": "0.9.0", "quantus": "0.6.0",
                 "pyroomacoustics": "0.10.1", "numpy": "2.3.5", "python": "3.11.9"},
    "machine": {"platform": "Linux-x86_64", "cpu": "x86_64", "n_cores": 2},
    "rir_convention": "gpurir",
}


def write_results(root: Path, seed: int = 0, models: tuple[str, ...] = MODELS,
                  conditions: tuple[tuple[str, float, float], ...] = CONDITIONS) -> Path:
    """Write the synthetic results folder into ``root`` and return ``root``.

    ``models`` / ``conditions`` (``(name, t60 s, snr dB)``) restrict the matrix (smaller, faster
    reports).
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    kw = {"models": models, "conditions": conditions}
    _leaderboard(rng, **kw).to_csv(root / "leaderboard.csv", index=False)
    _skill(rng, **kw).to_csv(root / "model_skill.csv", index=False)
    _curves(rng, **kw).to_csv(root / "curves.csv", index=False)
    _tdoa(rng, **kw).to_csv(root / "tdoa.csv", index=False)
    _inspection(root, rng, **kw)
    _spectra(**kw).to_csv(root / "spectra.csv", index=False)
    (root / "provenance.json").write_text(json.dumps(PROVENANCE, indent=2), encoding="utf-8")
    return root


# ---------------------------------------------------------------------------------------------
# A constructed result set with known headline answers: tie groups and sanity flags.

H_MODEL = "loccnn"
H_CONDS = (("cond_a", 0.15, 25.0), ("cond_b", 0.6, 10.0))
H_METHODS = {  # name -> family, in the order collect writes them (sorted by name)
    "constant": "baseline", "energy": "control", "gradient": "gradient",
    "integrated_gradients": "gradient", "lrp": "lrp", "lrp_epsilon_first": "lrp",
    "microphones": "baseline", "occlusion": "perturbation", "random": "control",
}
H_ATTRIBUTION = ("lrp", "lrp_epsilon_first", "gradient", "integrated_gradients", "occlusion")
#: metric -> (category, direction, unit); "complexity" is a second complexity metric
H_METRICS = {
    "faithfulness_correlation": ("faithfulness", "up", "score"),
    "manipulation_gap_at_10": ("manipulation", "up", "m"),
    "max_sensitivity": ("robustness", "down", "score"),
    "efficient_mprt": ("randomisation", "up", "score"),
    "sparseness": ("complexity", "up", "score"),
    "complexity": ("complexity", "down", "score"),
    "tdoa_bounded_gain_vs_constant": ("tdoa", "up", "fraction"),
    "localisation_auc_rest_gain_vs_energy": ("localisation", "up", "AUC"),
}
_BASE = {"lrp": 0.5, "lrp_epsilon_first": 0.45, "gradient": 0.3, "integrated_gradients": 0.4,
         "occlusion": 0.2, "energy": 0.25, "random": 0.1}
#: (cell, metric) -> {method: (mean, ci_low, ci_high)}; everything else is _BASE +- 0.05
H_VALUES = {
    ("cond_a", "faithfulness_correlation"): {
        "integrated_gradients": (0.70, 0.6, 0.8), "lrp": (0.65, 0.5, 0.8),
        "lrp_epsilon_first": (0.30, 0.2, 0.4), "gradient": (0.20, 0.1, 0.3),
        "occlusion": (0.10, 0.0, 0.2), "energy": (0.05, -0.05, 0.15),
        "random": (0.0, -0.1, 0.1)},
    ("cond_b", "faithfulness_correlation"): {
        "lrp": (0.50, 0.4, 0.6), "integrated_gradients": (0.45, 0.4, 0.5),
        "lrp_epsilon_first": (0.30, 0.2, 0.4), "gradient": (0.25, 0.2, 0.3),
        "occlusion": (0.10, 0.05, 0.15), "energy": (0.15, 0.1, 0.2),
        "random": (0.20, 0.15, 0.25)},
    ("cond_a", "efficient_mprt"): {
        "lrp": (1.0, 0.6, 1.4), "lrp_epsilon_first": (0.9, 0.5, 1.3),
        "integrated_gradients": (0.8, 0.4, 1.2), "gradient": (0.05, -0.02, 0.12),
        "occlusion": (0.1, 0.05, 0.15), "energy": (0.0, 0.0, 0.0), "random": (0.0, 0.0, 0.0)},
    ("cond_b", "efficient_mprt"): {
        "lrp": (1.0, 0.6, 1.4), "lrp_epsilon_first": (0.9, 0.5, 1.3),
        "integrated_gradients": (0.8, 0.4, 1.2), "gradient": (0.5, 0.3, 0.7),
        "occlusion": (0.1, 0.05, 0.15), "energy": (0.0, 0.0, 0.0), "random": (0.2, 0.1, 0.3)},
    ("cond_a", "sparseness"): {"lrp": (0.8, 0.75, 0.85),
                               "integrated_gradients": (0.8, 0.75, 0.85)},
    ("cond_b", "localisation_auc_rest_gain_vs_energy"): {  # no CI above the energy control
        **{m: (-0.01 - 0.01 * i, -0.05 - 0.01 * i, 0.03 - 0.01 * i) for i, m in enumerate(
            ("lrp", "lrp_epsilon_first", "gradient", "integrated_gradients", "occlusion",
             "random"))}, "energy": (0.0, 0.0, 0.0)},
    ("cond_a", "tdoa_bounded_gain_vs_constant"): {
        "lrp_epsilon_first": (0.4, 0.35, 0.45), "lrp": (0.0, -0.01, 0.01),
        "energy": (0.8, 0.75, 0.85), "microphones": (0.9, 0.85, 0.95),
        "constant": (0.0, 0.0, 0.0)},
}
#: (cell, metric, method, reference) -> p_holm (absent: 0.001; a pair of equal means: NaN)
H_P = {
    ("cond_a", "faithfulness_correlation", "lrp", "integrated_gradients"): 0.40,
    ("cond_b", "faithfulness_correlation", "integrated_gradients", "lrp"): 0.03,
    ("cond_b", "faithfulness_correlation", "random", "occlusion"): 0.01,
    ("cond_a", "efficient_mprt", "lrp_epsilon_first", "lrp"): 0.5,
    ("cond_a", "efficient_mprt", "integrated_gradients", "lrp"): 0.2,
    ("cond_b", "localisation_auc_rest_gain_vs_energy", "energy", "lrp"): 0.5,
}
#: (cell, metric, method, reference) -> Holm p of the equivalence test (absent: 1, not shown)
H_PEQ = {
    ("cond_a", "faithfulness_correlation", "lrp", "integrated_gradients"): 0.01,
    ("cond_a", "efficient_mprt", "lrp_epsilon_first", "lrp"): 0.02,
}
#: (cell, metric, method, reference) -> smallest attainable Holm p (absent: 0.003, 12 sources)
H_ATTAINABLE = {("cond_a", "efficient_mprt", "integrated_gradients", "lrp"): 0.07}
#: an entry that ran but has no finite value (status "undefined")
H_UNDEFINED = ("cond_a", "occlusion", "sparseness",
               "Quantus refuses 24 of 24 windows (constant relevance)")
#: metrics without any paired test (their tie group is unknown)
H_UNTESTED = ("manipulation_gap_at_10",)
H_FAILED = ("cond_b", "occlusion", "max_sensitivity", "captum raised RuntimeError: oom")
#: cond_b: the model does not localise (gain CI reaches 0)
H_GAIN = {"cond_a": (0.03, 0.01, 0.05), "cond_b": (0.01, -0.001, 0.02)}


def _h_test(cond: str, metric: str, direction: str, method: str, ref: str) -> dict:
    """One row of ``paired_tests_all.csv`` as the harness writes it, outcome included."""
    diff = _h_value(cond, metric, method)[0] - _h_value(cond, metric, ref)[0]
    key, back = (cond, metric, method, ref), (cond, metric, ref, method)
    p = H_P.get(key, H_P.get(back, np.nan if diff == 0 else 0.001))
    p_eq = H_PEQ.get(key, H_PEQ.get(back, 1.0))
    attainable = H_ATTAINABLE.get(key, H_ATTAINABLE.get(back, 0.003))
    return dict(model=H_MODEL, condition=cond, metric=metric, method=method, reference=ref,
                role="controls" if H_METHODS[method] == "control" else "methods",
                n_sources=12, mean_diff=diff, statistic=0.0, p_value=p, p_holm=p,
                family_size=6, p_attainable=attainable, margin=0.05, p_equivalence=p_eq,
                p_equivalence_holm=p_eq,
                outcome=outcome(diff, p, p_eq, attainable, direction, identical=diff == 0))


def _h_value(cond: str, metric: str, method: str) -> tuple[float, float, float]:
    given = H_VALUES.get((cond, metric), {})
    if method in given:
        return given[method]
    mean = _BASE[method] + (0.05 if cond == "cond_b" else 0.0)
    return mean, mean - 0.05, mean + 0.05


def write_headline_results(root: Path, family_column: bool = True) -> Path:
    """The constructed result set (``H_*`` above) as a results folder, with inspection windows,
    curves and TDoA rows of the synthetic generators for a complete report."""
    root = Path(root)
    write_results(root, seed=5, models=(H_MODEL,), conditions=H_CONDS)
    rows, tests = [], []
    for cond, t60, snr in H_CONDS:
        for metric, (cat, direction, unit) in H_METRICS.items():
            for method, fam in H_METHODS.items():
                if fam == "baseline" and cat != "tdoa":
                    continue
                if fam == "baseline" and (cond, metric) not in H_VALUES:
                    continue
                failed = (cond, method, metric) == H_FAILED[:3]
                undefined = (cond, method, metric) == H_UNDEFINED[:3]
                mean, lo, hi = ((np.nan,) * 3 if failed or undefined
                                else _h_value(cond, metric, method))
                status = "failed" if failed else "undefined" if undefined else "ok"
                rows.append(dict(
                    model=H_MODEL, condition=cond, t60=t60, snr_db=snr, geometry=GEOMETRY,
                    method=method, metric=metric, category=cat, direction=direction, unit=unit,
                    n_windows=24, n_sources=12, mean=mean, ci_low=lo, ci_high=hi,
                    n_nonfinite=24 if undefined else 0, status=status,
                    reason={"failed": H_FAILED[3], "undefined": H_UNDEFINED[3]}.get(status, ""),
                    family=fam))
            if metric in H_UNTESTED:
                continue
            scored = [m for m, f in H_METHODS.items() if f != "baseline"]
            for ref in scored:
                for method in scored:
                    if method == ref:
                        continue
                    tests.append(_h_test(cond, metric, direction, method, ref))
    board = pd.DataFrame(rows)
    if not family_column:
        board = board.drop(columns="family")
    board.to_csv(root / "leaderboard.csv", index=False)
    pd.DataFrame(tests).to_csv(root / "paired_tests_all.csv", index=False)
    skill = pd.read_csv(root / "model_skill.csv")
    for cond, (gain, lo, hi) in H_GAIN.items():
        sel = skill["condition"] == cond
        skill.loc[sel, "gain_vs_trivial"] = np.where(skill.loc[sel, "predictor"] == "trivial",
                                                     0.0, gain)
        skill.loc[sel, "gain_ci_low"] = np.where(skill.loc[sel, "predictor"] == "trivial", 0.0, lo)
        skill.loc[sel, "gain_ci_high"] = np.where(skill.loc[sel, "predictor"] == "trivial", 0.0,
                                                  hi)
    skill.to_csv(root / "model_skill.csv", index=False)
    return root
