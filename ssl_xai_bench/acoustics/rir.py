"""Room impulse responses of every source position of a scene (the expensive, cached stage).

Shapes: ``RIRSet.rirs (S, M, L)`` float32 (S source positions, M mics, L samples),
``RIRSet.direct (S, M, Ld)`` float32 (the direct path alone, same convention and alignment).

Image sources of the shoebox (:mod:`~ssl_xai_bench.acoustics.image_sources`) with equal walls of
absorption ``a`` (:mod:`~ssl_xai_bench.acoustics.absorption`), rendered as windowed-sinc
fractional delays (:mod:`~ssl_xai_bench.acoustics.fractional_delay`) in one of two conventions:
``pyroomacoustics`` (what ``room.compute_rir()`` produces: ``1/d``, 81-tap kernel delayed by 40
samples, high-passed) or ``gpurir`` (what the study trained on: signed ``(-1)^order``,
``1/(4 pi d)``, origin 0, no filter, length ``T60``). Modes: ``exact`` sums every image within the
RIR length (pyroomacoustics' image model, the reference); ``fast`` sums the images up to 15 dB of
decay (``T60 / 4``), enumerated in numpy, then appends gpuRIR's seeded Gaussian diffuse tail. The
direct path is the same in both modes. Conventions, costs and measurements: ``docs/acoustics.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ssl_xai_bench.acoustics.absorption import scene_decay
from ssl_xai_bench.acoustics.fractional_delay import convention
from ssl_xai_bench.acoustics.image_sources import direct_length, rir_length, simulate_position

RIR_COMPUTATIONS = 0
"""Number of source positions simulated in this process (tests use it to prove cache reuse)."""


@dataclass
class RIRSet:
    """RIRs of S source positions to M microphones.

    Attributes
    ----------
    rirs : ndarray (S, M, L) float32
    direct : ndarray (S, M, Ld) float32
        Direct path only (order-0 image), same convention, origin and filtering as ``rirs``.
    positions : ndarray (S, 3) float64, metres
    mic_positions : ndarray (M, 3) float64, metres
    fs : int
    convention, mode : str
    """

    rirs: np.ndarray
    direct: np.ndarray
    positions: np.ndarray
    mic_positions: np.ndarray
    fs: int
    convention: str
    mode: str

    def save(self, path: str | Path) -> None:
        """Write an uncompressed ``.npz``."""
        np.savez(path, rirs=self.rirs, direct=self.direct, positions=self.positions,
                 mic_positions=self.mic_positions, fs=self.fs, convention=self.convention,
                 mode=self.mode)

    @classmethod
    def load(cls, path: str | Path) -> RIRSet:
        """Read a file written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as z:
            return cls(z["rirs"], z["direct"], z["positions"], z["mic_positions"],
                       int(z["fs"]), str(z["convention"]), str(z["mode"]))


def compute_rirs(scene, positions: np.ndarray) -> RIRSet:
    """Simulate the RIRs of every source position of ``scene`` (the expensive stage).

    Parameters
    ----------
    scene : ssl_xai_bench.acoustics.scene.SceneConfig
        Room, T60, array, fs, speed of sound, ``rir_mode``, ``rir_convention``, ``absorption``
        (``"calibrated"`` runs the calibration of :mod:`ssl_xai_bench.acoustics.absorption` once
        per scene and process).
    positions : ndarray (S, 3), metres

    Returns
    -------
    RIRSet
        Increments :data:`RIR_COMPUTATIONS` by S.
    """
    global RIR_COMPUTATIONS
    scene.validate()
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    scene.validate_positions(positions, "positions")
    mics = scene.mic_positions()
    conv = convention(scene.rir_convention, scene.fs)
    absorption, tail_t60 = scene_decay(scene) if len(positions) else (None, None)
    rirs, direct = [], []
    for pos in positions:
        r, d = simulate_position(tuple(scene.room), scene.t60, pos, mics, scene.fs,
                                 scene.speed_of_sound, scene.rir_mode, conv, absorption,
                                 tail_t60)
        rirs.append(r.astype(np.float32))
        direct.append(d.astype(np.float32))
        RIR_COMPUTATIONS += 1
    n_total = rir_length(scene.t60, scene.fs, conv)
    n_direct = direct_length(tuple(scene.room), scene.fs, scene.speed_of_sound, conv)
    shape = (0, len(mics))
    return RIRSet(
        rirs=np.stack(rirs) if rirs else np.zeros((*shape, n_total), np.float32),
        direct=np.stack(direct) if direct else np.zeros((*shape, n_direct), np.float32),
        positions=positions, mic_positions=mics, fs=int(scene.fs),
        convention=scene.rir_convention, mode=scene.rir_mode)


