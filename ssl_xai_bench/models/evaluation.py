"""Evaluation of localizers: batched prediction, the paper's error measures and skill.

Positions are ``(N, 3)`` in metres (room coordinates). The paper's figure of merit is the MAE "per
coordinate": the mean absolute error over windows *and* over x, y, z (metres). Beside it we report
the per-coordinate MAEs, the Euclidean error's mean and median, and the skill relative to the
trivial predictor (training-set mean position), ``1 - MAE_model / MAE_trivial``: 0 = no better than
always answering the mean, 1 = perfect. The study's test square is small (~0.5 m), so a trivial
predictor already scores about 0.12 m; any figure must be read against it
(``../shared/spec/PAPER.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn


def _as_positions(a: Any, field: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{field}: expected shape (N, 3) in metres, got {arr.shape}")
    return arr


def _check_pair(pred: Any, true: Any) -> tuple[np.ndarray, np.ndarray]:
    p = _as_positions(pred, "pred")
    t = _as_positions(true, "true")
    if p.shape != t.shape:
        raise ValueError(f"pred: shape {p.shape} differs from true's {t.shape}")
    if p.shape[0] == 0:
        raise ValueError("pred: no windows to evaluate (N = 0)")
    return p, t


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    for tensor in model.buffers():
        return tensor.device
    return torch.device("cpu")


def predict(
    model: nn.Module,
    windows: np.ndarray | torch.Tensor,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Positions predicted by ``model`` for every window, in eval mode and without gradients.

    Parameters
    ----------
    model : nn.Module
        A localizer ``(B, M, T) -> (B, 3)``. Its train/eval mode is restored afterwards.
    windows : array or Tensor, shape (N, M, T)
        Raw samples (converted to float32).
    batch_size : int
        Windows per forward pass.
    device : str, torch.device or None
        Where to run; None = where the model's parameters are. The model is moved there.

    Returns
    -------
    np.ndarray, shape (N, 3), float64
        Predicted positions in metres.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    x = torch.as_tensor(windows)
    if x.ndim != 3:
        raise ValueError(f"windows: expected shape (N, M, T), got {tuple(x.shape)}")
    x = x.to(torch.float32)
    dev = _model_device(model) if device is None else torch.device(device)
    model.to(dev)
    was_training = model.training
    model.eval()
    out = []
    try:
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                batch = x[start : start + batch_size].to(dev, non_blocking=True)
                out.append(model(batch).detach().to("cpu", torch.float64))
    finally:
        model.train(was_training)
    if not out:
        return np.zeros((0, 3), dtype=np.float64)
    return torch.cat(out).numpy()


def per_window_abs_error(pred: Any, true: Any) -> np.ndarray:
    """Absolute error of each window averaged over x, y, z (m); its mean is the paper's MAE.

    Returns
    -------
    np.ndarray, shape (N,)
        For bootstrap confidence intervals over sources.
    """
    p, t = _check_pair(pred, true)
    return np.abs(p - t).mean(axis=1)


def localization_errors(pred: Any, true: Any) -> dict[str, float]:
    """The paper's MAE and the other error summaries, all in metres.

    Returns
    -------
    dict
        ``mae`` (mean over windows and coordinates: the paper's figure), ``mae_x``, ``mae_y``,
        ``mae_z``, ``euclid_mean``, ``euclid_median`` (Euclidean 3-D error), ``n_windows``.
    """
    p, t = _check_pair(pred, true)
    abs_err = np.abs(p - t)
    euclid = np.linalg.norm(p - t, axis=1)
    per_coord = abs_err.mean(axis=0)
    return {
        "mae": float(abs_err.mean()),
        "mae_x": float(per_coord[0]),
        "mae_y": float(per_coord[1]),
        "mae_z": float(per_coord[2]),
        "euclid_mean": float(euclid.mean()),
        "euclid_median": float(np.median(euclid)),
        "n_windows": int(p.shape[0]),
    }


def skill(mae_model: float, mae_trivial: float) -> float:
    """Skill relative to the trivial predictor: ``1 - mae_model / mae_trivial``.

    Positive when the model beats the trivial predictor, 0 when equal, negative when worse.
    """
    if not np.isfinite(mae_trivial) or mae_trivial <= 0:
        raise ValueError(f"mae_trivial: must be a positive finite number, got {mae_trivial}")
    return float(1.0 - mae_model / mae_trivial)


def compare_to_trivial(
    pred: Any, true: Any, trivial_pred: Any, min_skill: float = 0.0
) -> dict[str, Any]:
    """Errors of a model beside those of the trivial predictor, with a flag when it does not win.

    Parameters
    ----------
    pred, true, trivial_pred : array, shape (N, 3)
        Model predictions, ground truth and the trivial predictor's answers (metres).
    min_skill : float
        The model "beats" the trivial predictor when its skill is strictly above this.

    Returns
    -------
    dict
        ``mae``, ``mae_trivial``, ``skill``, ``beats_trivial`` (bool) and ``warning`` (None, or a
        sentence saying the model is no better than the trivial predictor).
    """
    mae = localization_errors(pred, true)["mae"]
    mae_trivial = localization_errors(trivial_pred, true)["mae"]
    sk = skill(mae, mae_trivial) if np.isfinite(mae) else float("nan")
    beats = bool(np.isfinite(sk) and sk > min_skill)
    warning = None
    if not beats:
        warning = (
            f"model does not beat the trivial predictor: MAE {mae:.4f} m vs trivial "
            f"{mae_trivial:.4f} m (skill {sk:.3f} <= {min_skill})"
        )
    return {
        "mae": mae,
        "mae_trivial": mae_trivial,
        "skill": sk,
        "beats_trivial": beats,
        "warning": warning,
    }


__all__ = [
    "compare_to_trivial",
    "localization_errors",
    "per_window_abs_error",
    "predict",
    "skill",
]
