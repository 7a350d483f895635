"""Windows of a scene: speech draw, convolution with the RIRs, noise at an SNR, framing.

:func:`render_windows` gives a :class:`WindowSet`: one utterance per source drawn with
replacement, scaled to peak 1, convolved with the source's RIRs, white Gaussian noise at the SNR
(power of mic 0's reverberant signal / 10^(SNR/10)), cut into windows ``(N, M, T)`` float32 (the
remainder dropped), with the direct-path-only component of every window ``(N, M, T)`` and the
dry utterance's correlation time (samples); with the direct path, the ground-truth masks of every
window ``(N, M, T)`` bool (:mod:`ssl_xai_bench.acoustics.masks`: direct-path dominant, onsets,
rest). With ``scene.input_scaling`` each window and its
direct path are divided by one factor per window (:func:`window_scale`). Never computes RIRs
(they come from :mod:`ssl_xai_bench.acoustics.rir`). Follows Comanducci, Antonacci, Sarti
(EUSIPCO 2024).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssl_xai_bench.acoustics import audio
from ssl_xai_bench.acoustics.masks import GroundTruthMasks, source_masks
from ssl_xai_bench.acoustics.rir import RIRSet
from ssl_xai_bench.acoustics.scene import INPUT_SCALINGS, SceneConfig, validate_snr
from ssl_xai_bench.acoustics.speech import load_corpus
from ssl_xai_bench.errors import ConfigError


def load_scene_corpus(scene: SceneConfig, field_name: str = "scene"):
    """The scene's speech corpus, refusing windows longer than its shortest utterance."""
    corpus = load_corpus(scene.speech, scene.fs, f"{field_name}.speech")
    shortest = int(corpus.lengths().min())
    if scene.window_length > shortest:
        raise ConfigError(f"{field_name}.window_length", f"{scene.window_length} samples is "
                          f"longer than the shortest utterance ({shortest} samples)")
    return corpus


@dataclass
class WindowSet:
    """Windows of a rendered scene (see ``docs/design.md``).

    ``windows (N, M, T)`` float32 (noisy), ``direct (N, M, T)`` float32 (direct path only, no
    noise), ``positions (N, 3)`` metres, ``source_ids (N,)`` int64 (index into the positions
    rendered), ``corr_time (N,)`` float64 samples, ``mic_positions (M, 3)``, ``fs``,
    ``speed_of_sound``; ``masks``: the ground-truth masks ``(N, M, T)`` bool (None without the
    simulated components: training splits, recorded or external windows).
    """

    windows: np.ndarray
    direct: np.ndarray
    positions: np.ndarray
    source_ids: np.ndarray
    corr_time: np.ndarray
    mic_positions: np.ndarray
    fs: int
    speed_of_sound: float
    masks: GroundTruthMasks | None = None

    @property
    def n_sources(self) -> int:
        """Number of distinct source positions among the windows."""
        return int(len(np.unique(self.source_ids)))

    def __len__(self) -> int:
        return len(self.windows)

    def subset(self, mask: np.ndarray) -> WindowSet:
        """The windows selected by a boolean mask or index array."""
        return WindowSet(self.windows[mask], self.direct[mask], self.positions[mask],
                         self.source_ids[mask], self.corr_time[mask], self.mic_positions,
                         self.fs, self.speed_of_sound,
                         None if self.masks is None else self.masks.subset(mask))

    def save(self, path: str | Path) -> None:
        """Write an uncompressed ``.npz`` (masks bit-packed along time)."""
        np.savez(path, windows=self.windows, direct=self.direct, positions=self.positions,
                 source_ids=self.source_ids, corr_time=self.corr_time,
                 mic_positions=self.mic_positions, fs=self.fs,
                 speed_of_sound=self.speed_of_sound,
                 **({} if self.masks is None else self.masks.packed()))

    @classmethod
    def load(cls, path: str | Path) -> WindowSet:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(z["windows"], z["direct"], z["positions"], z["source_ids"],
                       z["corr_time"], z["mic_positions"], int(z["fs"]),
                       float(z["speed_of_sound"]), GroundTruthMasks.unpacked(z))


@dataclass
class RenderedSource:
    """Full-length signals of one source: ``noisy``/``clean``/``direct`` ``(M, N)``, the dry
    utterance ``(L,)`` and, with the direct path, the ground-truth masks ``(M, N)``."""

    noisy: np.ndarray
    clean: np.ndarray
    direct: np.ndarray
    utterance_index: int
    corr_time: int
    dry: np.ndarray | None = None
    masks: GroundTruthMasks | None = None


def iter_sources(scene: SceneConfig, rirs: RIRSet, positions: np.ndarray, snr_db: float,
                 seed: int, with_direct: bool = True) -> Iterator[RenderedSource]:
    """Speech draw, convolution and noise for every source (full signals, before windowing),
    one source at a time so memory stays bounded by one source's signals.

    Utterance indices: ``default_rng(seed).integers(len(corpus), size=S)`` (with replacement);
    the noise of source ``s`` comes from ``default_rng([seed, s])``, so the SNR only rescales it.
    ``with_direct=False`` skips the direct-path convolution (half the convolution cost) and
    the masks, and yields an empty ``(M, 0)`` ``direct``; every other signal is unchanged.
    """
    snr = validate_snr(snr_db)
    scene.validate()
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    if positions.shape != rirs.positions.shape or not np.allclose(positions, rirs.positions):
        raise ConfigError("positions", f"{len(positions)} positions do not match the "
                          f"{len(rirs.positions)} positions of the RIR set")
    if rirs.fs != scene.fs or rirs.rirs.shape[1] != len(scene.mic_positions()):
        raise ConfigError("rirs", "the RIR set was computed for another fs or array")
    corpus = load_scene_corpus(scene)
    draws = np.random.default_rng(seed).integers(len(corpus), size=len(positions))
    for s, u in enumerate(draws):
        dry = corpus.utterance(int(u))
        clean = audio.convolve_rirs(dry, rirs.rirs[s].astype(np.float64))
        if with_direct:
            direct = audio.convolve_rirs(dry, rirs.direct[s].astype(np.float64))
            direct_full = np.zeros_like(clean)
            n = min(direct.shape[1], clean.shape[1])
            direct_full[:, :n] = direct[:, :n]
        else:
            direct_full = np.zeros((clean.shape[0], 0))
        noisy, _ = audio.add_noise(clean, snr, np.random.default_rng([seed, s]))
        masks = source_masks(dry, rirs.direct[s], noisy, direct_full, scene.fs,
                             scene.masks) if with_direct else None
        yield RenderedSource(noisy, clean, direct_full, int(u), audio.correlation_time(dry), dry,
                             masks)


def window_scale(windows: np.ndarray, mode: str) -> np.ndarray:
    """The per-window divisor ``(W,)`` of ``windows (W, M, T)`` for ``scene.input_scaling``
    ``mode`` (see :data:`ssl_xai_bench.acoustics.scene.INPUT_SCALINGS`; 1 for a silent window)."""
    flat = np.asarray(windows, dtype=np.float64).reshape(len(windows), -1)
    if mode == "none" or flat.shape[1] == 0:
        return np.ones(len(windows))
    if mode == "rms":
        level = np.sqrt(np.mean(flat**2, axis=1))
    elif mode == "maxabs":
        level = np.max(np.abs(flat), axis=1)
    else:
        raise ConfigError("scene.input_scaling", f"unknown {mode!r}; allowed: "
                          f"{list(INPUT_SCALINGS)}")
    return np.where(level > 0, level, 1.0)


def render_windows(scene: SceneConfig, rirs: RIRSet, positions: np.ndarray, snr_db: float,
                   seed: int, with_direct: bool = True) -> WindowSet:
    """Render the windows of every source (see :func:`iter_sources`); never computes RIRs.

    Parameters
    ----------
    with_direct : bool
        Keep the direct-path windows and the ground-truth masks; ``False`` stores an empty
        ``(N, M, 0)`` direct path and no masks instead (training splits do not need them, and
        they double the memory).

    Returns
    -------
    WindowSet
        Windows of ``scene.window_length`` samples every ``scene.hop_length`` samples, at most
        ``scene.max_windows_per_utterance`` per source, each divided by its
        :func:`window_scale` (its direct path by the same factor); deterministic given ``seed``.
    """
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    t, hop, cap = scene.window_length, scene.hop_length, scene.max_windows_per_utterance
    wins, dirs, ids, corr = [], [], [], []
    masks: dict[str, list[np.ndarray]] = {"direct": [], "onset": []}
    for s, src in enumerate(iter_sources(scene, rirs, positions, snr_db, seed, with_direct)):
        w = audio.frame(src.noisy, t, hop, cap)
        scale = window_scale(w, scene.input_scaling)[:, None, None]
        wins.append((w / scale).astype(np.float32))
        if with_direct:
            dirs.append((audio.frame(src.direct, t, hop, cap) / scale).astype(np.float32))
            for name, full in (("direct", src.masks.direct), ("onset", src.masks.onset)):
                masks[name].append(audio.frame(full, t, hop, cap))
        else:
            dirs.append(np.zeros((len(w), w.shape[1], 0), np.float32))
        ids.append(np.full(len(w), s, dtype=np.int64))
        corr.append(np.full(len(w), float(src.corr_time)))
    m = len(scene.mic_positions())

    def cat(xs: list[np.ndarray], shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
        return np.concatenate(xs) if xs else np.zeros(shape, dtype)

    source_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    truth = GroundTruthMasks(cat(masks["direct"], (0, m, t), bool),
                             cat(masks["onset"], (0, m, t), bool)) if with_direct else None
    return WindowSet(
        windows=cat(wins, (0, m, t)), direct=cat(dirs, (0, m, t if with_direct else 0)),
        positions=positions[source_ids], source_ids=source_ids,
        corr_time=np.concatenate(corr) if corr else np.zeros(0),
        mic_positions=scene.mic_positions(), fs=scene.fs, speed_of_sound=scene.speed_of_sound,
        masks=truth)


__all__ = ["RenderedSource", "WindowSet", "iter_sources", "load_scene_corpus",
           "render_windows", "window_scale"]
