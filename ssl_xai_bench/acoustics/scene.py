"""Acoustic scenes: what one scene is, and where its sources are.

A scene is room x T60 x array geometry x source grid x RIR mode/convention/absorption x speech
corpus x windowing; the SNR is not part of it (it is its own matrix axis). :class:`SceneConfig`
holds it (lengths in metres, times in seconds, fs in Hz), :func:`scene_positions` gives the source
positions per split ``{"train", "val", "test"}: (S, 3)`` metres. Rendering is in
:mod:`ssl_xai_bench.acoustics.rir` (RIRs) and :mod:`ssl_xai_bench.acoustics.windows` (speech,
noise, windows). ``SceneConfig.paper()`` is the scene of Comanducci et al. (EUSIPCO 2024).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ssl_xai_bench.acoustics.absorption import ABSORPTIONS
from ssl_xai_bench.acoustics.fractional_delay import CONVENTIONS
from ssl_xai_bench.acoustics.geometry import SPLITS, ArrayConfig, SourceGridConfig
from ssl_xai_bench.acoustics.image_sources import MODES
from ssl_xai_bench.acoustics.masks import MaskConfig
from ssl_xai_bench.errors import ConfigError
from ssl_xai_bench.validate import as_float, as_int, as_vector, check_mapping

SPEECH_SOURCES = ("espeak", "cmu_arctic", "wav_dir")
#: What a file corpus' folder must hold.
SPEECH_FILES = {"cmu_arctic": "CMU ARCTIC files (<root>/cmu_us_<spk>_arctic/wav/*.wav)",
                "wav_dir": ".wav files"}
INPUT_SCALINGS = ("none", "rms", "maxabs")
"""Per-window scaling of the stored windows (``scene.input_scaling``): ``none`` (raw samples, the
study's), ``rms`` (each window divided by its RMS over all microphones and samples) or ``maxabs``
(by its peak). One factor per window, so level differences between microphones are kept; a test
window's direct path is divided by the same factor as its noisy window."""


@dataclass(frozen=True)
class SpeechConfig:
    """Which corpus: ``source`` in ``SPEECH_SOURCES``; ``path`` for ``cmu_arctic``/``wav_dir``."""

    source: str = "espeak"
    path: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping, field_name: str = "scene.speech") -> SpeechConfig:
        """Parse a mapping (unknown keys are an error naming the key) and validate it."""
        d = check_mapping(d, ("source", "path"), field_name)
        out = cls(source=str(d.get("source", "espeak")),
                  path=None if d.get("path") is None else str(d["path"]))
        out.validate(field_name)
        return out

    def to_dict(self) -> dict:
        """Canonical JSON-serialisable form."""
        return {"source": self.source, "path": self.path}

    def validate(self, field_name: str = "scene.speech") -> None:
        """Refuse an unknown source, a missing folder or a folder without its audio files."""
        if self.source not in SPEECH_SOURCES:
            raise ConfigError(f"{field_name}.source", f"unknown speech source {self.source!r}; "
                              f"allowed: {list(SPEECH_SOURCES)}")
        if self.source != "espeak":
            if not self.path:
                raise ConfigError(f"{field_name}.path", f"required for source {self.source!r}")
            if not Path(self.path).expanduser().is_dir():
                raise ConfigError(f"{field_name}.path", f"folder {self.path!r} does not exist")
            if next(self.files(), None) is None:
                raise ConfigError(f"{field_name}.path", f"no {SPEECH_FILES[self.source]} under "
                                  f"{self.path!r}")

    def files(self):
        """The corpus' audio files, unsorted (``cmu_arctic``: ``<root>/cmu_us_<spk>_arctic/
        wav/*.wav``; ``wav_dir``: every ``.wav`` below the folder, any case); none for espeak."""
        if self.source == "espeak" or not self.path:
            return iter(())
        root = Path(self.path).expanduser()
        if self.source == "cmu_arctic":
            return root.glob("cmu_us_*_arctic/wav/*.wav")
        return (p for p in root.rglob("*") if p.suffix.lower() == ".wav" and p.is_file())


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
    input_scaling: str = "none"
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    masks: MaskConfig = field(default_factory=MaskConfig)

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
                             ("absorption", ABSORPTIONS), ("input_scaling", INPUT_SCALINGS)):
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
        if "masks" in d:
            kw["masks"] = MaskConfig.from_dict(d["masks"], f"{f}.masks")
        out = replace(base, **kw)
        out.validate(field_name)
        return out

    def to_dict(self) -> dict:
        """Canonical JSON-serialisable form (used for hashing); ``hop`` None when = window,
        ``input_scaling`` only when not ``"none"`` and ``masks`` only when not the defaults (the
        study's raw windows keep their hash)."""
        return {
            "name": self.name, "room": list(self.room), "t60": self.t60, "fs": self.fs,
            "speed_of_sound": self.speed_of_sound, "array": self.array.to_dict(),
            "sources": self.sources.to_dict(), "rir_mode": self.rir_mode,
            "rir_convention": self.rir_convention, "absorption": self.absorption,
            "window_length": self.window_length,
            "hop": None if self.hop_length == self.window_length else self.hop,
            "max_windows_per_utterance": self.max_windows_per_utterance,
            **({} if self.input_scaling == "none" else {"input_scaling": self.input_scaling}),
            "speech": self.speech.to_dict(),
            **({} if self.masks == MaskConfig() else {"masks": self.masks.to_dict()}),
        }

    @property
    def hop_length(self) -> int:
        """Hop between windows in samples (``window_length`` when ``hop`` is None)."""
        return self.window_length if self.hop is None else self.hop

    def room_part(self) -> SceneConfig:
        """This scene with the fields that do not change its RIRs (name, speech, windowing, input
        scaling, masks) at their defaults: what the RIR stage receives and keys on, so that
        changing them reuses the RIRs."""
        base = SceneConfig()
        return replace(self, name=base.name, speech=base.speech,
                       window_length=base.window_length, hop=base.hop,
                       max_windows_per_utterance=base.max_windows_per_utterance,
                       input_scaling=base.input_scaling, masks=base.masks)

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
        if self.input_scaling not in INPUT_SCALINGS:
            raise ConfigError(f"{f}.input_scaling", f"unknown {self.input_scaling!r}; allowed: "
                              f"{list(INPUT_SCALINGS)}")
        self.array.validate(self.room, f"{f}.array")
        self.sources.validate(self.room, f"{f}.sources")
        self.speech.validate(f"{f}.speech")
        self.masks.validate(f"{f}.masks")

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



__all__ = ["INPUT_SCALINGS", "SPEECH_SOURCES", "SPLITS", "SceneConfig", "SpeechConfig",
           "scene_positions", "validate_snr"]
