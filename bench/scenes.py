"""Acoustic scenes: configuration, source positions per split, and rendering of windows.

A scene is room x T60 x array geometry x source grid x RIR mode/convention x speech corpus x
windowing; the SNR is not part of it (it is its own axis). Stages:

- :func:`scene_positions` -> ``{"train", "val", "test"}: (S, 3)`` metres;
- :func:`bench.rir.compute_rirs` -> ``RIRSet`` (the expensive, cached stage);
- :func:`render_windows` -> :class:`WindowSet`: one utterance per source drawn with replacement,
  scaled to peak 1, convolved with the source's RIRs, white Gaussian noise at the SNR (power of
  mic 0's reverberant signal / 10^(SNR/10)), cut into windows ``(N, M, T)`` float32 (the
  remainder dropped), with the direct-path-only component of every window ``(N, M, T)`` and the
  dry utterance's correlation time (samples). Never computes RIRs.

Follows Comanducci, Antonacci, Sarti (EUSIPCO 2024); ``SceneConfig.paper()`` is their scene.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from bench import audio
from bench.errors import ConfigError
from bench.geometry import (
    SPLITS,
    ArrayConfig,
    SourceGridConfig,
    as_float,
    as_int,
    as_vector,
    check_mapping,
)
from bench.rir import ABSORPTIONS, CONVENTIONS, MODES, RIRSet
from bench.speech import SpeechConfig, load_corpus


@dataclass(frozen=True)
class SceneConfig:
    """One acoustic scene (see the module docstring); lengths in metres, times in seconds."""

    name: str = "custom"
    room: tuple[float, float, float] = (3.6, 8.2, 2.4)
    t60: float = 0.3
    fs: int = 16000
    speed_of_sound: float = 343.0
    array: ArrayConfig = field(default_factory=ArrayConfig)
    sources: SourceGridConfig = field(default_factory=SourceGridConfig)
    rir_mode: str = "fast"
    rir_convention: str = "pyroomacoustics"
    absorption: str = "sabine"
    window_length: int = 5120
    hop: int | None = None
    max_windows_per_utterance: int | None = None
    speech: SpeechConfig = field(default_factory=SpeechConfig)

    @classmethod
    def paper(cls, t60: float = 0.15, **overrides: Any) -> SceneConfig:
        """The study's scene at ``t60``: exact image sources, gpuRIR convention, espeak speech."""
        return replace(cls(name="paper", t60=t60, rir_mode="exact", rir_convention="gpurir"),
                       **overrides)

    @classmethod
    def from_dict(cls, d: Mapping, field_name: str = "scene") -> SceneConfig:
        """Parse, type-check and validate a mapping; unknown keys are an error naming the key.

        A ``preset = "paper"`` key starts from :meth:`paper` instead of the defaults.
        """
        d = check_mapping(d, (*cls.__dataclass_fields__, "preset"), field_name)
        preset = d.pop("preset", None)
        if preset not in (None, "paper", "custom"):
            raise ConfigError(f"{field_name}.preset", f"unknown {preset!r}; allowed: ['paper']")
        base = cls.paper() if preset == "paper" else cls()
        kw: dict[str, Any] = {}
        f = field_name
        if "name" in d:
            kw["name"] = str(d["name"])
        if "room" in d:
            kw["room"] = as_vector(d["room"], 3, f"{f}.room")
        if "t60" in d:
            kw["t60"] = as_float(d["t60"], f"{f}.t60")
        if "fs" in d:
            kw["fs"] = as_int(d["fs"], f"{f}.fs", minimum=1)
        if "speed_of_sound" in d:
            kw["speed_of_sound"] = as_float(d["speed_of_sound"], f"{f}.speed_of_sound")
        if "array" in d:
            kw["array"] = ArrayConfig.from_dict(d["array"], f"{f}.array")
        if "sources" in d:
            kw["sources"] = SourceGridConfig.from_dict(d["sources"], f"{f}.sources")
        for key, allowed in (("rir_mode", MODES), ("rir_convention", CONVENTIONS),
                             ("absorption", ABSORPTIONS)):
            if key in d:
                if d[key] not in allowed:
                    raise ConfigError(f"{f}.{key}", f"unknown {d[key]!r}; allowed: {list(allowed)}")
                kw[key] = str(d[key])
        if "window_length" in d:
            kw["window_length"] = as_int(d["window_length"], f"{f}.window_length", minimum=1)
        for key in ("hop", "max_windows_per_utterance"):
            if key in d:
                kw[key] = as_int(d[key], f"{f}.{key}", minimum=1, allow_none=True)
        if "speech" in d:
            kw["speech"] = SpeechConfig.from_dict(d["speech"], f"{f}.speech")
        out = replace(base, **kw)
        out.validate(field_name)
        return out

    def to_dict(self) -> dict:
        """Canonical JSON-serialisable form (used for hashing); ``hop`` None when = window."""
        return {
            "name": self.name, "room": list(self.room), "t60": self.t60, "fs": self.fs,
            "speed_of_sound": self.speed_of_sound, "array": self.array.to_dict(),
            "sources": self.sources.to_dict(), "rir_mode": self.rir_mode,
            "rir_convention": self.rir_convention, "absorption": self.absorption,
            "window_length": self.window_length,
            "hop": None if self.hop_length == self.window_length else self.hop,
            "max_windows_per_utterance": self.max_windows_per_utterance,
            "speech": self.speech.to_dict(),
        }

    @property
    def hop_length(self) -> int:
        """Hop between windows in samples (``window_length`` when ``hop`` is None)."""
        return self.window_length if self.hop is None else self.hop

    def label(self) -> str:
        """Short label, e.g. ``T60=0.30s paper-line16``."""
        return f"T60={self.t60:.2f}s {self.name}-{self.array.label()}"

    def mic_positions(self) -> np.ndarray:
        """Microphone coordinates ``(M, 3)`` metres."""
        return self.array.mic_positions()

    def validate(self, field_name: str = "scene") -> None:
        """Refuse an invalid scene before any compute; the message names the field."""
        f = field_name
        for size in self.room:
            if not (math.isfinite(size) and size > 0):
                raise ConfigError(f"{f}.room", f"sizes must be > 0 m, got {list(self.room)}")
        for key in ("speed_of_sound", "t60"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{f}.{key}", f"must be > 0, got {value!r}")
        for key in ("fs", "window_length"):
            if getattr(self, key) < 1:
                raise ConfigError(f"{f}.{key}", f"must be >= 1, got {getattr(self, key)!r}")
        for key in ("hop", "max_windows_per_utterance"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ConfigError(f"{f}.{key}", f"must be >= 1 or None, got {getattr(self, key)}")
        lx, ly, lz = self.room
        volume, surface = lx * ly * lz, 2 * (lx * ly + lx * lz + ly * lz)
        t60_min = 24 * math.log(10) * volume / (self.speed_of_sound * surface)
        if self.t60 < t60_min:
            raise ConfigError(f"{f}.t60", f"{self.t60} s is below what this room can reach with "
                              f"Sabine's formula (fully absorbing walls give {t60_min:.3f} s)")
        if self.rir_mode not in MODES:
            raise ConfigError(f"{f}.rir_mode", f"unknown {self.rir_mode!r}; allowed: {list(MODES)}")
        if self.rir_convention not in CONVENTIONS:
            raise ConfigError(f"{f}.rir_convention", f"unknown {self.rir_convention!r}; "
                              f"allowed: {list(CONVENTIONS)}")
        if self.absorption not in ABSORPTIONS:
            raise ConfigError(f"{f}.absorption", f"unknown {self.absorption!r}; allowed: "
                              f"{list(ABSORPTIONS)}")
        self.array.validate(self.room, f"{f}.array")
        self.sources.validate(self.room, f"{f}.sources")
        self.speech.validate(f"{f}.speech")

    def validate_positions(self, positions: np.ndarray, field_name: str = "positions") -> None:
        """Refuse source positions outside the room or within 1 cm of a microphone."""
        pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        inside = np.all((pos > 0) & (pos < np.asarray(self.room)), axis=1)
        if not inside.all():
            k = int(np.flatnonzero(~inside)[0])
            raise ConfigError(field_name, f"source {k} at {pos[k].tolist()} is outside the room "
                              f"{list(self.room)}")
        if len(pos):
            d = np.linalg.norm(pos[:, None] - self.mic_positions()[None], axis=-1)
            if d.min() < 0.01:
                raise ConfigError(field_name, "a source is within 1 cm of a microphone")


def scene_positions(scene: SceneConfig) -> dict[str, np.ndarray]:
    """Source positions ``(S, 3)`` metres per split (``train``, ``val``, ``test``), subsampled."""
    scene.validate()
    grid = scene.sources.grid_positions()
    return {k: grid[idx] for k, idx in scene.sources.subsampled_indices().items()}


def validate_snr(value: Any, field_name: str = "snr_db") -> float:
    """A finite SNR in dB, or ``ConfigError`` naming ``field_name``."""
    try:
        snr = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field_name, f"expected a number of dB, got {value!r}") from None
    if not math.isfinite(snr):
        raise ConfigError(field_name, f"must be finite, got {value!r}")
    return snr


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
    ``speed_of_sound``.
    """

    windows: np.ndarray
    direct: np.ndarray
    positions: np.ndarray
    source_ids: np.ndarray
    corr_time: np.ndarray
    mic_positions: np.ndarray
    fs: int
    speed_of_sound: float

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
                         self.fs, self.speed_of_sound)

    def save(self, path: str | Path) -> None:
        """Write an uncompressed ``.npz``."""
        np.savez(path, windows=self.windows, direct=self.direct, positions=self.positions,
                 source_ids=self.source_ids, corr_time=self.corr_time,
                 mic_positions=self.mic_positions, fs=self.fs,
                 speed_of_sound=self.speed_of_sound)

    @classmethod
    def load(cls, path: str | Path) -> WindowSet:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(z["windows"], z["direct"], z["positions"], z["source_ids"],
                       z["corr_time"], z["mic_positions"], int(z["fs"]),
                       float(z["speed_of_sound"]))


@dataclass
class RenderedSource:
    """Full-length signals of one source: ``noisy``/``clean``/``direct`` ``(M, N)``."""

    noisy: np.ndarray
    clean: np.ndarray
    direct: np.ndarray
    utterance_index: int
    corr_time: int


def iter_sources(scene: SceneConfig, rirs: RIRSet, positions: np.ndarray, snr_db: float,
                 seed: int, with_direct: bool = True) -> Iterator[RenderedSource]:
    """Speech draw, convolution and noise for every source (full signals, before windowing),
    one source at a time so memory stays bounded by one source's signals.

    Utterance indices: ``default_rng(seed).integers(len(corpus), size=S)`` (with replacement);
    the noise of source ``s`` comes from ``default_rng([seed, s])``, so the SNR only rescales it.
    ``with_direct=False`` skips the direct-path convolution (half the convolution cost) and
    yields an empty ``(M, 0)`` ``direct``; every other signal is unchanged.
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
        yield RenderedSource(noisy, clean, direct_full, int(u), audio.correlation_time(dry))


def render_sources(scene: SceneConfig, rirs: RIRSet, positions: np.ndarray, snr_db: float,
                   seed: int) -> list[RenderedSource]:
    """All sources of :func:`iter_sources` as a list (small sets and tests only)."""
    return list(iter_sources(scene, rirs, positions, snr_db, seed))


def render_windows(scene: SceneConfig, rirs: RIRSet, positions: np.ndarray, snr_db: float,
                   seed: int, with_direct: bool = True) -> WindowSet:
    """Render the windows of every source (see :func:`iter_sources`); never computes RIRs.

    Parameters
    ----------
    with_direct : bool
        Keep the direct-path windows; ``False`` stores an empty ``(N, M, 0)`` array instead
        (training splits do not need them, and they double the memory).

    Returns
    -------
    WindowSet
        Windows of ``scene.window_length`` samples every ``scene.hop_length`` samples, at most
        ``scene.max_windows_per_utterance`` per source; deterministic given ``seed``.
    """
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    t, hop, cap = scene.window_length, scene.hop_length, scene.max_windows_per_utterance
    wins, dirs, ids, corr = [], [], [], []
    for s, src in enumerate(iter_sources(scene, rirs, positions, snr_db, seed, with_direct)):
        w = audio.frame(src.noisy, t, hop, cap)
        wins.append(w.astype(np.float32))
        if with_direct:
            dirs.append(audio.frame(src.direct, t, hop, cap).astype(np.float32))
        else:
            dirs.append(np.zeros((len(w), w.shape[1], 0), np.float32))
        ids.append(np.full(len(w), s, dtype=np.int64))
        corr.append(np.full(len(w), float(src.corr_time)))
    m = len(scene.mic_positions())

    def cat(xs: list[np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        return np.concatenate(xs) if xs else np.zeros(shape, np.float32)

    source_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    return WindowSet(
        windows=cat(wins, (0, m, t)), direct=cat(dirs, (0, m, t if with_direct else 0)),
        positions=positions[source_ids], source_ids=source_ids,
        corr_time=np.concatenate(corr) if corr else np.zeros(0),
        mic_positions=scene.mic_positions(), fs=scene.fs, speed_of_sound=scene.speed_of_sound)


__all__ = ["SPLITS", "RenderedSource", "SceneConfig", "WindowSet", "load_scene_corpus",
           "render_sources", "render_windows", "scene_positions", "validate_snr"]
