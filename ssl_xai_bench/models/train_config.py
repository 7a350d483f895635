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
LR_SCHEDULES = ("plateau", "onecycle")
PRECISIONS = ("fp32", "bf16", "auto")
KEEPS = ("best", "last")


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
    zero_output_weights : bool
        Start the output layer's weights at zero, so that with ``init_output_bias`` the network
        really starts as the trivial predictor (with random weights its first outputs scatter by
        tens of centimetres, and SampleCNN spends its first epochs undoing that). Not in the
        study's recipe (default False).
    lr_schedule : str
        ``"plateau"`` (the study's ``ReduceLROnPlateau`` on the validation loss, with
        ``lr_patience`` and ``lr_factor``) or ``"onecycle"`` (``OneCycleLR`` over ``max_epochs``
        epochs, stepped per batch: a warm-up from ``lr / 25`` to ``lr`` over the first
        ``warmup_fraction`` of the steps, then a cosine decay to ``lr / 2.5e5``; early stopping
        still applies when ``patience`` is reached).
    warmup_fraction : float
        Fraction of the steps spent warming up under ``"onecycle"`` (unused by ``"plateau"``).
    grad_clip_norm : float or None
        Clip the global gradient norm to this value before each step (None: no clipping, the
        study's).
    precision : str
        ``"fp32"`` (the study's) or ``"bf16"``: the forward pass of each training step under
        ``torch.autocast`` with bfloat16; the loss, gradients, weights and validation stay
        float32. On CPUs with bfloat16 instructions a step costs about 0.6x; on a CPU without
        them (AVX2 only) autocast emulates bfloat16 and a step costs about 7x. ``"auto"``: bf16
        where the training device computes it natively
        (:func:`ssl_xai_bench.models.training.resolve_precision`), else fp32; the benchmark
        resolves it when it reads the configuration, so that the cache key and the provenance
        record the precision used. Runs stay repeatable on one machine.
    ema_decay : float or None
        Validate and keep an exponential moving average of the weights and BatchNorm statistics,
        updated after every step with this decay (0.98: about the last 50 steps); None: the
        trained weights themselves (the study's).
    keep : str
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
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


__all__ = ["DATA_PLACEMENTS", "KEEPS", "LR_SCHEDULES", "PAPER_LR", "PRECISIONS", "TrainConfig"]
