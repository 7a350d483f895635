"""Training hyper-parameters: the study's recipe as defaults, and the knobs to scale it.

The recipe (``../shared/spec/PAPER.md``, read from the authors' scripts): MSE on positions in
metres; Adam with lr 1e-3 (LocCNN) or 1e-2 (SampleCNN); batch 100; every epoch draws one random
window per training source (validation the same); ``ReduceLROnPlateau(factor=0.2, patience=100)``
on the validation loss; the weights of the best validation epoch are kept; training stops after
200 epochs without improvement or at 1000 epochs. :class:`TrainConfig` holds those numbers as
defaults; :func:`ssl_xai_bench.models.training.train_model` runs it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from torch import nn

from ssl_xai_bench import validate as check
from ssl_xai_bench.errors import ConfigError

PAPER_LR: dict[str, float] = {"loccnn": 1e-3, "samplecnn": 1e-2}
"""Adam learning rates of the study, per architecture name (``model.arch_name``)."""

DATA_PLACEMENTS = ("auto", "device", "host")


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters; the defaults are the study's recipe.

    Parameters
    ----------
    lr : float or None
        Adam learning rate; None = the study's rate for the architecture (:data:`PAPER_LR`).
    batch_size : int
        Training windows per step (paper: 100). A trailing batch of one window is merged into the
        previous batch (BatchNorm cannot train on a single example).
    max_epochs : int
        Upper bound on epochs (paper: 1000).
    patience : int
        Early stopping: epochs without a new best validation loss (paper: 200).
    lr_patience : int
        ``ReduceLROnPlateau`` patience in epochs (paper: 100).
    lr_factor : float
        ``ReduceLROnPlateau`` factor (paper: 0.2).
    windows_per_source : int
        Distinct random windows drawn per training source per epoch (paper: 1).
    val_windows_per_source : int
        The same for validation (paper: 1); 0 = every validation window every epoch.
    eval_batch_size : int
        Windows per forward pass during validation.
    device : str
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    data_placement : str
        ``"auto"`` (whole data set on the device when it takes under half its free memory),
        ``"device"`` or ``"host"`` (batches are copied per step).
    init_output_bias : bool
        Start the output layer's bias at the training-set mean position (the network then
        starts as the trivial predictor and learns the residual). Not in the study's recipe
        (default False); with small CPU budgets of a few hundred Adam steps it decides whether
        the output ever reaches the room: Adam moves a bias by about ``lr`` per step, and the
        mean position is metres away from zero.
    """

    lr: float | None = None
    batch_size: int = 100
    max_epochs: int = 1000
    patience: int = 200
    lr_patience: int = 100
    lr_factor: float = 0.2
    windows_per_source: int = 1
    val_windows_per_source: int = 1
    eval_batch_size: int = 256
    device: str = "auto"
    data_placement: str = "auto"
    init_output_bias: bool = False

    def __post_init__(self) -> None:
        self.validate()
        for name in ("lr", "lr_factor"):  # 1 and 1.0 are the same setting (and hash)
            if getattr(self, name) is not None:
                object.__setattr__(self, name, float(getattr(self, name)))

    def validate(self, field: str = "") -> None:
        """Raise :class:`ssl_xai_bench.errors.ConfigError` (a ``ValueError``) naming the first
        invalid field (prefixed by ``field``) and what is allowed."""
        f = f"{field}." if field else ""
        if self.lr is not None:
            check.as_float(self.lr, f"{f}lr", minimum=0.0, exclusive_minimum=True)
        for name in ("batch_size", "max_epochs", "patience", "lr_patience", "eval_batch_size",
                     "windows_per_source"):
            check.as_int(getattr(self, name), f"{f}{name}", minimum=1)
        check.as_int(self.val_windows_per_source, f"{f}val_windows_per_source", minimum=0)
        factor = check.as_float(self.lr_factor, f"{f}lr_factor", minimum=0.0,
                                exclusive_minimum=True, maximum=1.0)
        if factor == 1.0:
            raise ConfigError(f"{f}lr_factor", "must be < 1 (a factor of 1 never lowers the rate)")
        device = check.as_str(self.device, f"{f}device")
        if not (device in ("auto", "cpu", "cuda") or device.startswith("cuda:")):
            raise ConfigError(f"{f}device", f"must be 'auto', 'cpu', 'cuda' or 'cuda:N', "
                              f"got {device!r}")
        check.as_bool(self.init_output_bias, f"{f}init_output_bias")
        check.as_str(self.data_placement, f"{f}data_placement", choices=DATA_PLACEMENTS)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The configurable fields (the keys ``from_dict`` accepts)."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (JSON-serialisable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any], field: str = "") -> TrainConfig:
        """Build and validate from a mapping; errors name ``<field>.<key>``."""
        check.check_keys(d, cls.field_names(), field)
        try:
            return cls(**dict(d))
        except ConfigError as exc:
            raise ConfigError(f"{field}.{exc.field}" if field else exc.field,
                              exc.message) from None

    def resolved_lr(self, model: nn.Module) -> float:
        """The learning rate for ``model``: ``lr`` or the study's rate for its architecture."""
        if self.lr is not None:
            return float(self.lr)
        arch = getattr(model, "arch_name", None)
        if arch not in PAPER_LR:
            raise ValueError(
                f"lr: no default learning rate for {type(model).__name__} "
                f"(arch_name={arch!r}); set lr explicitly (defaults exist for {sorted(PAPER_LR)})"
            )
        return PAPER_LR[arch]

    def config_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["DATA_PLACEMENTS", "PAPER_LR", "TrainConfig"]
