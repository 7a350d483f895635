"""Ground-truth masks from the simulated components: where each microphone's signal carries the
direct path.

The windows stage knows, for every source, the dry utterance ``s (L,)``, each microphone's
direct-path component ``d_m = s * h_direct_m`` and its noisy signal ``x_m``; the residual
``r_m = x_m - d_m`` is reverberation plus noise. Three boolean masks per microphone and sample,
computed on the full-length signals of a source (so a window's masks never see the window's
edges) and framed exactly like the windows (:func:`ssl_xai_bench.acoustics.audio.frame`):

- ``direct`` (direct-path dominant): ``E_d(t) > E_r(t) * 10^(margin_db / 10)``, with ``E`` the
  mean of the squared signal over a centred rectangular frame of ``frame_ms`` (the ideal binary
  mask of speech enhancement with the direct path as target and local criterion ``margin_db``;
  where both are silent the mask is False);
- ``onset``: the first ``onset_ms`` after each speech onset of the dry utterance, shifted by the
  microphone's direct delay (:func:`direct_delays`: the peak of ``|h_direct_m|``, in samples, so
  the shift includes the RIR convention's origin). Onsets (:func:`speech_onsets`): the level of the
  dry utterance (mean square over the trailing ``frame_ms``, in dB re the utterance's loudest
  frame) rises above ``-onset_threshold_db`` after at least ``onset_gap_ms`` below it (the start
  of the utterance counts as silence before it); each such crossing is moved back to where its
  rise began, the sample after the nearest preceding local minimum of the level (the
  backtracking of ``librosa.onset.onset_backtrack``), so a gradual rise is not found late;
- ``rest``: neither (reverberation, noise or speech without an onset: the complement).

Shapes: full-length masks ``(M, n)`` per source; in a :class:`~ssl_xai_bench.acoustics.windows.
WindowSet` ``(N, M, T)`` bool, stored bit-packed along time (``np.packbits``). Times in ms, levels
in dB, delays in samples. Settings: :class:`MaskConfig` (``[scene.masks]``, ``docs/acoustics.md``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ssl_xai_bench.validate import as_float, check_mapping

MASK_NAMES: tuple[str, ...] = ("direct", "onset", "rest")


@dataclass(frozen=True)
class MaskConfig:
    """Settings of the ground-truth masks (``[scene.masks]``; reasons in ``docs/acoustics.md``).

    Attributes
    ----------
    margin_db : float
        Direct-path dominance margin (dB): 0 is the ideal binary mask's usual local criterion
        (direct path louder than everything else; Li & Wang 2009: it maximises the SNR gain).
    frame_ms : float
        Short-time energy frame (ms): a few periods of the speech formants, so the ratio does not
        follow zero crossings, and short enough to resolve a syllable onset.
    onset_threshold_db : float
        Onset level (dB below the utterance's loudest frame): 30 finds the start of speech after
        a pause where it is (20 fires on syllable nuclei, late after a soft consonant).
    onset_gap_ms : float
        Time below that level before an onset (ms).
    onset_ms : float
        Length of each onset region (ms).
    """

    margin_db: float = 0.0
    frame_ms: float = 10.0
    onset_threshold_db: float = 30.0
    onset_gap_ms: float = 10.0
    onset_ms: float = 20.0

    @classmethod
    def from_dict(cls, d: Mapping, field_name: str = "scene.masks") -> MaskConfig:
        """Parse and check a mapping; an unknown key or a bad value names its field."""
        d = check_mapping(d, tuple(cls.__dataclass_fields__), field_name)
        out = cls(**{k: as_float(v, f"{field_name}.{k}") for k, v in d.items()})
        out.validate(field_name)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Canonical JSON-serialisable form."""
        return asdict(self)

    def validate(self, field_name: str = "scene.masks") -> None:
        """Refuse non-positive lengths and a negative onset threshold."""
        as_float(self.margin_db, f"{field_name}.margin_db")
        for key in ("frame_ms", "onset_ms"):
            as_float(getattr(self, key), f"{field_name}.{key}", minimum=0.0,
                     exclusive_minimum=True)
        as_float(self.onset_gap_ms, f"{field_name}.onset_gap_ms", minimum=0.0)
        as_float(self.onset_threshold_db, f"{field_name}.onset_threshold_db", minimum=0.0,
                 exclusive_minimum=True)


def ms_to_samples(ms: float, fs: float) -> int:
    """``ms`` milliseconds as a whole number of samples at ``fs`` Hz (at least 1)."""
    return max(1, int(round(ms * fs / 1000.0)))


def moving_mean(x: np.ndarray, length: int, centred: bool) -> np.ndarray:
    """Mean of ``x`` (``(..., n)``) over a rectangular frame of ``length`` samples per sample.

    ``centred``: the frame ``[t - (length - 1) // 2, t + length // 2]``; otherwise the trailing
    frame ``[t - length + 1, t]``. Samples outside the signal count as 0.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    csum = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x, axis=-1)], axis=-1)
    t = np.arange(n)
    hi = np.minimum(t + (length // 2 if centred else 0) + 1, n)
    lo = np.maximum(hi - length, 0) if not centred else np.maximum(t - (length - 1) // 2, 0)
    return np.maximum(csum[..., hi] - csum[..., lo], 0.0) / length


def direct_dominant(direct: np.ndarray, residual: np.ndarray, frame: int,
                    margin_db: float) -> np.ndarray:
    """``(M, n)`` bool: the direct path's short-time energy exceeds the residual's by the margin."""
    e_direct = moving_mean(np.square(direct), frame, centred=True)
    e_rest = moving_mean(np.square(residual), frame, centred=True)
    return e_direct > e_rest * 10.0 ** (margin_db / 10.0)


def speech_onsets(dry: np.ndarray, fs: float, config: MaskConfig) -> np.ndarray:
    """Onset samples ``(K,)`` int of a dry utterance (see the module docstring)."""
    dry = np.asarray(dry, dtype=np.float64)
    level = moving_mean(np.square(dry), ms_to_samples(config.frame_ms, fs), centred=False)
    peak = float(level.max()) if level.size else 0.0
    if peak <= 0.0:
        return np.zeros(0, dtype=np.int64)
    active = level > peak * 10.0 ** (-config.onset_threshold_db / 10.0)
    gap = int(round(config.onset_gap_ms * fs / 1000.0))
    quiet = np.concatenate([np.ones(gap, dtype=bool), ~active])  # silence before the start
    csum = np.concatenate([[0], np.cumsum(quiet)])
    t = np.arange(len(active))
    rising = active & quiet[gap + t - 1] if gap else active & np.r_[True, ~active[:-1]]
    quiet_before = csum[gap + t] - csum[t] == gap
    crossings = np.flatnonzero(rising & quiet_before)
    # back to where the rise began: the sample after the nearest preceding local minimum of the
    # level (librosa's onset_backtrack; silence before the utterance counts as level 0)
    not_rising = level <= np.r_[0.0, level[:-1]]
    last_minimum = np.maximum.accumulate(np.where(not_rising, t, -1))
    return np.unique(last_minimum[crossings] + 1).astype(np.int64)


def direct_delays(direct_rirs: np.ndarray) -> np.ndarray:
    """Each microphone's direct-path delay ``(M,)`` samples: the peak of ``|h_direct_m|``."""
    return np.argmax(np.abs(np.asarray(direct_rirs)), axis=-1).astype(np.int64)


def onset_mask(onsets: np.ndarray, delays: np.ndarray, n_samples: int,
               length: int) -> np.ndarray:
    """``(M, n_samples)`` bool: ``[onset + delay_m, onset + delay_m + length)`` per onset."""
    change = np.zeros((len(delays), n_samples + 1), dtype=np.int64)
    for m, delay in enumerate(np.asarray(delays, dtype=np.int64)):
        starts = np.clip(np.asarray(onsets, dtype=np.int64) + delay, 0, n_samples)
        np.add.at(change[m], starts, 1)
        np.add.at(change[m], np.minimum(starts + length, n_samples), -1)
    return np.cumsum(change[:, :n_samples], axis=1) > 0


@dataclass
class GroundTruthMasks:
    """The ``direct`` and ``onset`` masks ``(..., M, T)`` bool; ``rest`` is their complement."""

    direct: np.ndarray
    onset: np.ndarray

    @property
    def rest(self) -> np.ndarray:
        """Neither direct-path dominant nor an onset."""
        return ~(self.direct | self.onset)

    def as_dict(self) -> dict[str, np.ndarray]:
        """Mask name (:data:`MASK_NAMES`) -> array."""
        return {"direct": self.direct, "onset": self.onset, "rest": self.rest}

    def scorable(self) -> np.ndarray:
        """``(N,)`` bool: every mask of the window has a microphone with samples inside and
        outside it (what a localisation metric needs to score the window)."""
        ok = np.ones(self.direct.shape[0], dtype=bool)
        for mask in self.as_dict().values():
            ok &= (mask.any(axis=-1) & ~mask.all(axis=-1)).any(axis=-1)
        return ok

    def subset(self, index: Any) -> GroundTruthMasks:
        """The masks of the windows selected by ``index`` (first axis)."""
        return GroundTruthMasks(self.direct[index], self.onset[index])

    def packed(self) -> dict[str, np.ndarray]:
        """Arrays for an ``.npz``: each mask bit-packed along time, and the time length."""
        return {"mask_direct": np.packbits(self.direct, axis=-1),
                "mask_onset": np.packbits(self.onset, axis=-1),
                "mask_samples": np.int64(self.direct.shape[-1])}

    @classmethod
    def unpacked(cls, z: Mapping[str, np.ndarray]) -> GroundTruthMasks | None:
        """Read what :meth:`packed` wrote (None when ``z`` has no masks)."""
        if "mask_direct" not in z:
            return None
        n = int(z["mask_samples"])
        return cls(np.unpackbits(z["mask_direct"], axis=-1, count=n).astype(bool),
                   np.unpackbits(z["mask_onset"], axis=-1, count=n).astype(bool))


def source_masks(dry: np.ndarray, direct_rirs: np.ndarray, noisy: np.ndarray,
                 direct: np.ndarray, fs: float, config: MaskConfig) -> GroundTruthMasks:
    """Full-length masks ``(M, n)`` of one source.

    Parameters
    ----------
    dry : array (L,)
        The dry utterance.
    direct_rirs : array (M, Ld)
        The direct-path RIRs (their peaks give the delays).
    noisy, direct : array (M, n)
        The microphone signals and their direct-path components (same length, same scale).
    fs : float
        Sample rate (Hz).
    config : MaskConfig
    """
    noisy = np.asarray(noisy, dtype=np.float64)
    direct = np.asarray(direct, dtype=np.float64)
    if noisy.shape != direct.shape:
        raise ValueError(f"direct: shape {direct.shape} differs from the signals {noisy.shape}")
    frame = ms_to_samples(config.frame_ms, fs)
    dominant = direct_dominant(direct, noisy - direct, frame, config.margin_db)
    onsets = speech_onsets(dry, fs, config)
    onset = onset_mask(onsets, direct_delays(direct_rirs), noisy.shape[-1],
                       ms_to_samples(config.onset_ms, fs))
    return GroundTruthMasks(dominant, onset)


__all__ = ["MASK_NAMES", "GroundTruthMasks", "MaskConfig", "direct_delays", "direct_dominant",
           "moving_mean", "ms_to_samples", "onset_mask", "source_masks", "speech_onsets"]
