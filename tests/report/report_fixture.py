"""A small, seeded, well-formed results folder for the table / plot / report tests.

Writes the files the harness produces for one run (``leaderboard.csv``, ``model_skill.csv``,
``curves.csv``, ``tdoa.csv``, ``inspection/*.npz``, ``provenance.json``) with 2 models x 2
conditions x 3 attribution methods, 10 metrics of every category, one failed cell, and
inspection windows of 4 microphones x 2048 samples at 16 kHz in which the microphone pair carries a
known integer delay. The values are synthetic; the format is the harness's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

MODELS = ("loccnn", "samplecnn")
CONDITIONS = (("t60_0.15_snr_25", 0.15, 25.0), ("t60_0.6_snr_10", 0.6, 10.0))
GEOMETRY = "line16_0.15m"
# one name with every LaTeX / Markdown special character (but no backslash: it is a file name
# inside the .npz archive); backslash escaping is tested on latex_escape directly
METHODS = ("lrp_paper", "gradient_x_input", "ig_50%_#1 & {a}~^$")
METRICS = (
    # metric, category, direction, unit, scale
    ("faithfulness_correlation", "faithfulness", "up", "", 0.3),
    ("max_sensitivity", "robustness", "down", "", 2.0),
    ("model_parameter_randomisation", "randomisation", "down", "", 0.5),
    ("sparseness", "complexity", "up", "", 0.4),
    ("relevance_removal_auc", "manipulation", "up", "m", 0.05),
    ("tdoa_anomaly_rate", "tdoa", "down", "%", 30.0),
    ("tdoa_mae", "tdoa", "down", "samples", 1.2),
    ("direct_to_reverberant_gain", "dereverberation", "up", "dB", 3.0),
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
                np.savez(folder / f"{model}_{cond}_{which}.npz", **data)


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
    (root / "provenance.json").write_text(json.dumps(PROVENANCE, indent=2), encoding="utf-8")
    return root
