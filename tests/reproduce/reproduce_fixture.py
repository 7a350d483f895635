"""A small, seeded results folder for the reproduction-report tests, with constructed verdicts.

Writes what ``ssl-xai-bench run`` writes (``leaderboard.csv``, ``model_skill.csv``,
``curves.csv``, ``tdoa.csv``, ``provenance.json``; columns as in ``harness.collect``) for the
study's four conditions, the trained ``loccnn`` and ``samplecnn`` and the external
``samplecnn@authors``, with the methods of the ``paper-lite`` preset (``lrp``, ``random``,
``energy``). The numbers are synthetic and seeded; the *signs and overlaps* of the CIs are
constructed so that the expected verdicts are known:

- ``c1``: ``"clear"`` relevance beats microphones and the constant estimator (reproduced);
  ``"mics_only"`` it beats the microphones but the constant estimator clearly beats it (not
  reproduced); ``"overlap"`` the gain over the microphones has a CI containing 0 (inconclusive).
- ``c2``: ``"clear"`` relevance removal hurts far more than random and energy (reproduced),
  ``"below_random"`` less than random (not reproduced), ``"overlap"`` CIs overlap (inconclusive).
- ``unskilled``: (model, t60) cells whose MAE CI overlaps the trivial predictor's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

CONDITIONS = ((0.15, 25.0), (0.3, 20.0), (0.4, 15.0), (0.6, 10.0))
GEOMETRY = "paper_line"
MODELS = ("loccnn", "samplecnn", "samplecnn@authors")
METHODS = ("energy", "lrp", "random")
FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
TRIVIAL = (0.12, 0.11, 0.13)

# (gain vs microphones, gain vs constant): (mean, ci_low, ci_high) of the non-anomalous fraction
C1_GAINS = {
    "clear": ((0.30, 0.20, 0.40), (0.20, 0.10, 0.30)),
    "mics_only": ((0.30, 0.20, 0.40), (-0.10, -0.15, -0.05)),
    "overlap": ((0.03, -0.05, 0.12), (0.12, 0.05, 0.20)),
}
# (relevance at 10 %, energy at 10 %, random at 10 %) offsets from MAE(0), m; gap CI half-width
C2_OFFSETS = {
    "clear": (0.050, 0.012, 0.000),
    "below_random": (-0.010, 0.012, 0.010),
    "overlap": (0.004, 0.003, 0.000),
}


def label(t60: float, snr: float) -> str:
    """The harness's condition label."""
    return f"T60={t60:g}s SNR={snr:g}dB {GEOMETRY}"


def _est(mean: float, lo: float, hi: float) -> dict[str, float]:
    return {"mean": mean, "ci_low": lo, "ci_high": hi}


def _jitter(rng: np.random.Generator, est: tuple[float, float, float]) -> dict[str, float]:
    """Shift a (mean, lo, hi) by a small seeded amount that keeps its sign pattern."""
    d = float(rng.uniform(-0.004, 0.004))
    return _est(est[0] + d, est[1] + d, est[2] + d)


def _curve(mae0: float, ranking: str, c2: str) -> np.ndarray:
    rel10, en10, rnd10 = C2_OFFSETS[c2]
    f = np.asarray(FRACTIONS)
    if ranking == "relevance":
        return mae0 + np.where(f == 0, 0.0, rel10 + 0.004 * (f - 0.1))
    if ranking == "energy":
        return mae0 + en10 * f / 0.1
    return mae0 + np.where(f == 0, 0.0, rnd10) + np.where(f > 0.55, 0.004, 0.0)


def build(
    folder: Path,
    *,
    c1: str = "clear",
    c2: str = "clear",
    unskilled: tuple[tuple[str, float], ...] = (),
    seed: int = 0,
    config_hash: str | None = None,
    external_mae_shift: float = 0.0,
    rir_mode: str = "fast",
) -> Path:
    """Write the fixture results folder into ``folder`` and return it."""
    from ssl_xai_bench.harness.config import load_config

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    board, skill, curves, tdoa = [], [], [], []
    for t60, snr in CONDITIONS:
        cond = label(t60, snr)
        ident = {"condition": cond, "t60": t60, "snr_db": snr, "geometry": GEOMETRY}
        for model in MODELS:
            # --- model_skill.csv
            if (model, t60) in unskilled:
                mae = (0.125, 0.116, 0.134)
            else:
                m = float(rng.uniform(0.08, 0.10)) + (external_mae_shift if "@" in model else 0)
                mae = (m, m - 0.004, m + 0.005)
            own = f"{model} (external)" if "@" in model else model
            for pred, est in ((own, mae), ("trivial", TRIVIAL), ("srp_phat", (0.3, 0.25, 0.35))):
                skill.append(
                    {
                        **ident,
                        "model": model,
                        "predictor": pred,
                        "mae": est[0],
                        "mae_x": est[0],
                        "mae_y": est[0],
                        "mae_z": est[0],
                        "euclid_mean": 2 * est[0],
                        "euclid_median": 1.8 * est[0],
                        "n_windows": 120,
                        "ci_low": est[1],
                        "ci_high": est[2],
                        "n_sources": 60,
                        "beats_trivial": est[0] < TRIVIAL[0],
                    }
                )
            # --- leaderboard.csv: controls and methods
            key = {**ident, "model": model}
            for variant in ("bounded", "paper"):
                base = {
                    "microphones": (0.5, 0.8),
                    "constant": (0.0 if c1 == "mics_only" else 0.4, 0.6),
                    "direct_path": (0.05, 0.2),
                }
                for method, (anom, err) in base.items():
                    for metric, val in (("anomaly_rate", anom), ("mae", err)):
                        board.append(
                            _row(
                                key,
                                method,
                                f"tdoa_{variant}_{metric}",
                                _jitter(rng, (val, max(val - 0.05, 0), val + 0.05)),
                            )
                        )
                for method in METHODS:
                    gm, gc = C1_GAINS[c1] if method == "lrp" else ((-0.1, -0.2, -0.05),) * 2
                    for metric, est in (
                        ("gain_vs_microphones", gm),
                        ("gain_vs_constant", gc),
                        ("anomaly_rate", (0.2, 0.1, 0.3)),
                        ("mae", (0.5, 0.4, 0.6)),
                    ):
                        board.append(
                            _row(key, method, f"tdoa_{variant}_{metric}", _jitter(rng, est))
                        )
                    if variant == "paper":
                        tdoa.append(
                            {
                                **key,
                                "method": method,
                                "variant": "paper",
                                "pair": "7-8",
                                "spacing_m": 0.15,
                                "anomaly_rate": 0.2,
                                "mae_samples": 0.5,
                                "pearson": float(rng.uniform(-1, 1)),
                                "spearman": 0.0,
                                "frac_zero_lag": float(rng.uniform(0, 1)),
                                "n_windows": 120,
                                "n_nonfinite": 0,
                            }
                        )
            # --- curves.csv and the gap row
            for method in METHODS:
                for ranking in ("energy", "random", "relevance"):
                    for f, v in zip(FRACTIONS, _curve(mae[0], ranking, c2), strict=True):
                        half = 0.002 if c2 == "overlap" else 0.004
                        curves.append(
                            {
                                **key,
                                "method": method,
                                "ranking": ranking,
                                "fraction": f,
                                "mae": v,
                                "ci_low": v - half,
                                "ci_high": v + half,
                                "n": 120,
                            }
                        )
            rel10, _, rnd10 = C2_OFFSETS[c2]
            gap = rel10 - rnd10
            half = abs(gap) * 0.5 if c2 != "overlap" else 0.01
            board.append(
                _row(key, "lrp", "manipulation_gap_at_10", _est(gap, gap - half, gap + half))
            )
            gap_e = rel10 - C2_OFFSETS[c2][1]
            half_e = abs(gap_e) * 0.5 if c2 != "overlap" else abs(gap_e) + 0.01
            board.append(
                _row(
                    key,
                    "lrp",
                    "manipulation_gap_vs_energy_at_10",
                    _est(gap_e, gap_e - half_e, gap_e + half_e),
                )
            )
    _frame(board, ["model", "condition", "method", "metric"]).to_csv(
        folder / "leaderboard.csv", index=False
    )
    pd.DataFrame(skill).sort_values(["model", "condition", "predictor"], kind="stable").to_csv(
        folder / "model_skill.csv", index=False
    )
    pd.DataFrame(curves).to_csv(folder / "curves.csv", index=False)
    pd.DataFrame(tdoa).to_csv(folder / "tdoa.csv", index=False)
    command = "ssl-xai-bench run --preset paper-lite --results-dir results --store store"
    cfg = load_config("paper-lite")
    prov = {
        "package_version": "0.2.0",
        "git_commit": "0123456789abcdef-fixture",
        "config_hash": config_hash or cfg.config_hash(),
        "config": cfg.to_dict(),
        "seed": 0,
        "preset": "paper-lite",
        "name": "paper-lite",
        "command": command,
        "date": "2026-01-01 00:00:00 +0000",
        "rir_convention": "gpurir",
        "rir_mode": rir_mode,
        "speech": {"source": "espeak"},
        "versions": {},
        "machine": {},
    }
    (folder / "provenance.json").write_text(json.dumps(prov, indent=2, sort_keys=True))
    return folder


def _row(key: dict, method: str, metric: str, est: dict[str, float]) -> dict:
    direction = "up" if "gain" in metric or "manipulation" in metric else "down"
    return {
        **key,
        "method": method,
        "metric": metric,
        "category": metric.split("_")[0],
        "direction": direction,
        "unit": "",
        "n_windows": 120,
        "n_sources": 60,
        **est,
        "n_nonfinite": 0,
        "status": "ok",
        "reason": "",
    }


def _frame(rows: list[dict], sort: list[str]) -> pd.DataFrame:
    from ssl_xai_bench.harness.collect import LEADERBOARD_COLUMNS

    return pd.DataFrame(rows)[LEADERBOARD_COLUMNS].sort_values(sort, kind="stable")
