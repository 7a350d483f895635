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
from dataclasses import dataclass
from typing import Any

from torch import nn

from ssl_xai_bench import validate as check
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.hashing import stable_hash

PAPER_LR: dict[str, float] = {"loccnn": 1e-3, "samplecnn": 1e-2}
"""Adam learning rates of the study, per architecture name (``model.arch_name``)."""

DATA_PLACEMENTS = ("auto", "device", "host")
LR_SCHEDULES = ("plateau", "onecycle")
PRECISIONS = ("fp32", "bf16", "auto")
KEEPS = ("best", "last")


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters; the defaults are the study's recipe (``docs/training.md``
    gives each knob's measured effect and why a preset sets it).

    Parameters
    ----------
    lr : float or None
        Adam learning rate; None = the study's rate for the architecture (:data:`PAPER_LR`).
    batch_size, max_epochs, patience : int
        Training windows per step (a trailing batch of one joins the previous one: BatchNorm
        cannot train on one example); the epoch bound; epochs without a new best validation
        loss before stopping (paper: 100, 1000, 200).
    lr_patience, lr_factor
        ``ReduceLROnPlateau``'s patience (epochs) and factor (paper: 100, 0.2).
    windows_per_source, val_windows_per_source : int
        Random windows per training (validation) source per epoch (paper: 1, 1; validation 0 =
        every window every epoch).
    eval_batch_size : int
        Windows per forward pass during validation.
    device, data_placement : str
        ``auto`` (CUDA when available), ``cpu``, ``cuda``, ``cuda:N``; the data set on the device
        (``device``), copied per batch (``host``) or ``auto`` (on the device when it takes under
        half its free memory).
    init_output_bias, zero_output_weights : bool
        Start the output bias at the mean training position, the output weights at zero (both
        together: the network starts as the trivial predictor). Not the study's.
    lr_schedule, warmup_fraction
        ``plateau`` (the study's) or ``onecycle`` (``OneCycleLR`` per batch: a warm-up over
        ``warmup_fraction`` of the steps from ``lr / 25``, then a cosine decay to
        ``lr / 2.5e5``; early stopping still applies).
    grad_clip_norm : float or None
        Clip the global gradient norm (None: no clipping, the study's).
    precision : str
        ``fp32`` (the study's), ``bf16`` (forward passes under bfloat16 autocast; loss,
        gradients, weights and validation in float32) or ``auto`` (bf16 where the device computes
        it natively, resolved when the configuration is read so that keys and provenance record
        it).
    ema_decay : float or None
        Validate and keep an exponential moving average of the weights and BatchNorm statistics
        (None: the trained weights, the study's).
    keep : str
<<<<<<< HEAD
        The weights returned: of the ``best`` validation epoch (the study's) or the ``last``.
=======
        The weights returned: ``"best"`` (of the best validation epoch, the study's) or ``"last"``
        (of the last epoch, meant for an annealed ``"onecycle"`` schedule: the validation sources
        lie outside the study's test square, so in the high-rate phase the best validation epoch
        is one whose predictions inside the square are offset at random).
    mean_escape_epochs : int
        Restart a run that has not left the mean position
        (:mod:`ssl_xai_bench.models.mean_escape`): after this many epochs, if no validation loss
        so far is below ``mean_escape_ratio`` x the validation loss of the mean training
        position, the weights are re-initialised with a seed derived from the run's and the
        training starts again with the full schedule. 0 (the default, the study's): never. The
        check never runs when ``max_epochs`` is not above it. For runs from fresh weights only
        (the benchmark turns it off for warm-started fine-tuning).
    mean_escape_ratio : float
        The validation loss, as a fraction of the mean predictor's, that a run must have gone
        below to count as having left the mean.
    mean_escape_restarts : int
        At most this many restarts; the last attempt is kept whatever it reaches.
    input_gain : bool
        Train as on inputs multiplied by ``g = 1 / RMS`` of the training windows while the
        network keeps taking the raw samples (:mod:`ssl_xai_bench.models.input_gain`): the first
        layer the input meets learns at ``lr * g``. Not in the study's recipe (default False).
    init_input_gain : bool
        The first layer's weights start multiplied by ``g``: with ``input_gain`` a run from fresh
        weights is then the run on inputs ``g x`` from the default initialisation (whose output
        on raw windows of RMS ~0.01 hardly depends on them). Needs ``input_gain``; for fresh
        weights only (the benchmark turns it off for warm-started fine-tuning, which keeps
        ``input_gain``).
>>>>>>> issue-34
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
    zero_output_weights: bool = False
    lr_schedule: str = "plateau"
    warmup_fraction: float = 0.3
    grad_clip_norm: float | None = None
    precision: str = "fp32"
    ema_decay: float | None = None
    keep: str = "best"
    mean_escape_epochs: int = 0
    mean_escape_ratio: float = 0.9
    mean_escape_restarts: int = 2
    input_gain: bool = False
    init_input_gain: bool = False

    def __post_init__(self) -> None:
        self.validate()
        # 1 and 1.0 are the same setting (and hash)
        for name in ("lr", "lr_factor", "warmup_fraction", "grad_clip_norm", "ema_decay",
                     "mean_escape_ratio"):
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
        check.as_bool(self.zero_output_weights, f"{f}zero_output_weights")
        check.as_str(self.lr_schedule, f"{f}lr_schedule", choices=LR_SCHEDULES)
        check.as_float(self.warmup_fraction, f"{f}warmup_fraction", minimum=0.0,
                       exclusive_minimum=True, maximum=0.99)
        if self.grad_clip_norm is not None:
            check.as_float(self.grad_clip_norm, f"{f}grad_clip_norm", minimum=0.0,
                           exclusive_minimum=True, maximum=1e6)
        check.as_str(self.precision, f"{f}precision", choices=PRECISIONS)
        if self.ema_decay is not None:
            check.as_float(self.ema_decay, f"{f}ema_decay", minimum=0.0, exclusive_minimum=True,
                           maximum=0.9999)
        check.as_str(self.keep, f"{f}keep", choices=KEEPS)
        check.as_int(self.mean_escape_epochs, f"{f}mean_escape_epochs", minimum=0)
        check.as_float(self.mean_escape_ratio, f"{f}mean_escape_ratio", minimum=0.0,
                       exclusive_minimum=True, maximum=1.0)
        check.as_int(self.mean_escape_restarts, f"{f}mean_escape_restarts", minimum=1,
                     maximum=10)
        check.as_bool(self.input_gain, f"{f}input_gain")
        if check.as_bool(self.init_input_gain, f"{f}init_input_gain") and not self.input_gain:
            raise ConfigError(f"{f}init_input_gain", "needs input_gain = true (weights multiplied "
                              "by the gain must also learn at lr x gain)")
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
        """SHA-256 (hex, in full) of the canonical JSON of :meth:`to_dict`
        (:func:`ssl_xai_bench.hashing.stable_hash`)."""
        return stable_hash(self.to_dict(), length=64)


__all__ = ["DATA_PLACEMENTS", "KEEPS", "LR_SCHEDULES", "PAPER_LR", "PRECISIONS", "TrainConfig"]
