"""Speech source localizers under study (LocCNN, SampleCNN), their training and baselines.

Inputs are raw multichannel windows ``(B, M, T)`` float32 (M microphones, T samples at 16 kHz);
outputs are source positions ``(B, 3)`` in metres, room coordinates. Depends on torch, numpy and
scipy only.
"""

from ssl_models.baselines import TrivialPredictor, srp_phat_localize, xy_grid
from ssl_models.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_state_dict,
    save_checkpoint,
)
from ssl_models.evaluation import (
    compare_to_trivial,
    localization_errors,
    per_window_abs_error,
    predict,
    skill,
)
from ssl_models.loccnn import LocCNN
from ssl_models.registry import MODELS, build_model
from ssl_models.samplecnn import SampleCNN
from ssl_models.training import (
    PAPER_LR,
    TrainConfig,
    TrainingDiverged,
    TrainResult,
    train_model,
)

__all__ = [
    "MODELS",
    "PAPER_LR",
    "CheckpointError",
    "LocCNN",
    "SampleCNN",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "TrivialPredictor",
    "build_model",
    "compare_to_trivial",
    "load_checkpoint",
    "load_state_dict",
    "localization_errors",
    "per_window_abs_error",
    "predict",
    "save_checkpoint",
    "skill",
    "srp_phat_localize",
    "train_model",
    "xy_grid",
]
