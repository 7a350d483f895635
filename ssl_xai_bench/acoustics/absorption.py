"""Wall absorption of a scene: Sabine's formula (the study's) or calibrated on the measured T60.

Every wall gets the same energy absorption coefficient ``a`` (image amplitude
``sqrt(1 - a) ** order``, :func:`~ssl_xai_bench.acoustics.image_sources.reflection_damping`); the
``fast`` mode's diffuse tail decays with its own time constant ``tail_t60``. Times in seconds,
lengths in metres.

- ``"sabine"`` (default; the study's, what the authors' weights were trained on): ``a`` from
  Sabine's formula (``pyroomacoustics.inverse_sabine``), ``tail_t60 = T60``.
- ``"calibrated"``: ``exact`` mode: ``a`` such that the T60 measured on the scene's ``exact``
  RIRs (Schroeder T30, T20 when the decay is too short, :func:`measured_t60`) equals the target;
  ``fast`` mode: the image-source part uses the ``exact`` calibration and ``tail_t60`` is chosen
  so that the ``fast`` RIRs measure the target.

A calibration is measured on one configuration (a source at the centre of the source grid, up to
:data:`CALIBRATION_MICS` microphones) by a secant on ``ln T_measured`` against ``ln u``
(``u = -ln(1 - a)``) or ``ln tail_t60``, cached per (room, T60, fs, c, convention, source,
microphones) in the process. A T60 below what fully absorbing walls give is refused by
:meth:`~ssl_xai_bench.acoustics.scene.SceneConfig.validate`; a calibration that misses by more
than :data:`CALIBRATION_ACCEPT` raises ``ConfigError("scene.t60")``. Why Sabine's rooms measure
longer than asked, and the measured values: ``docs/acoustics.md``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

from ssl_xai_bench.acoustics import image_sources
from ssl_xai_bench.acoustics.fractional_delay import convention as make_convention
from ssl_xai_bench.errors import ConfigError

ABSORPTIONS = ("sabine", "calibrated")
"""Wall absorption models, see the module docstring."""
CALIBRATION_MICS = 4
CALIBRATION_TOLERANCE = 0.005
"""Relative T60 error at which a root find stops."""
CALIBRATION_ACCEPT = 0.05
"""Largest relative T60 error accepted after :data:`CALIBRATION_MAX_STEPS` renderings."""
CALIBRATION_MAX_STEPS = 10
_LOG_U_RANGE = (math.log(1e-3), math.log(10.0))  # a from 0.001 to 0.99995
_LOG_TAIL_RANGE = (math.log(0.25), math.log(4.0))  # tail_t60 / T60


def scene_decay(scene) -> tuple[float, float]:
    """``(absorption, tail_t60)`` of ``scene`` (``ssl_xai_bench.acoustics.scene.SceneConfig``), see
    the module doc.

    Raises ``ConfigError("scene.t60")`` when a calibration cannot reach the scene's T60.
    """
    if scene.absorption == "sabine":
        return image_sources.sabine_absorption(tuple(scene.room), scene.t60), float(scene.t60)
    source, mics = calibration_geometry(scene)
    key = (tuple(scene.room), float(scene.t60), float(scene.fs), float(scene.speed_of_sound),
           scene.rir_convention, tuple(source.tolist()), tuple(map(tuple, mics.tolist())))
    try:
        absorption = calibrated_absorption(*key)
        if scene.rir_mode == "exact":
            return absorption, float(scene.t60)
        return absorption, calibrated_tail_t60(*key)
    except ValueError as e:
        raise ConfigError("scene.t60", f"absorption = 'calibrated': {e}") from None


def calibration_geometry(scene) -> tuple[np.ndarray, np.ndarray]:
    """Source ``(3,)`` at the centre of the source grid and up to 4 of the mics ``(k, 3)``."""
    grid = scene.sources
    source = np.array([(grid.x[0] + grid.x[1]) / 2, (grid.y[0] + grid.y[1]) / 2,
                       (grid.height_range[0] + grid.height_range[1]) / 2])
    mics = scene.mic_positions()
    pick = np.unique(np.round(np.linspace(0, len(mics) - 1, min(len(mics), CALIBRATION_MICS))))
    return source, mics[pick.astype(int)]


def measured_t60(rirs: np.ndarray, fs: float) -> float:
    """Schroeder T30 of ``rirs (..., L)`` (one averaged decay), T20 if it cannot reach -35 dB."""
    try:
        return image_sources.measure_t60(rirs, fs, 30.0)
    except ValueError:
        return image_sources.measure_t60(rirs, fs, 20.0)


def _secant(log_error: Callable[[float], float], v0: float, slope0: float,
            bounds: tuple[float, float], what: str) -> float:
    """Root of ``log_error(v)`` (``ln(T_measured / T60)``) by a clamped secant from ``v0``.

    Returns the best ``v`` tried; ``ValueError`` if its error exceeds ``CALIBRATION_ACCEPT``.
    """
    lo, hi = bounds
    v_prev = min(max(v0, lo), hi)
    g_prev = log_error(v_prev)
    tried = [(abs(g_prev), v_prev, g_prev)]
    v = min(max(v_prev - g_prev / slope0, lo), hi)
    for _ in range(CALIBRATION_MAX_STEPS - 1):
        if v == v_prev:
            break
        g = log_error(v)
        tried.append((abs(g), v, g))
        if abs(g) < math.log1p(CALIBRATION_TOLERANCE):
            break
        slope = (g - g_prev) / (v - v_prev)
        if not 0.1 < slope / slope0 < 10.0:  # flat or noisy measurement: keep the model slope
            slope = slope0
        v_prev, g_prev = v, g
        v = min(max(v - g / slope, lo), hi)
    err, best, g_best = min(tried)
    if err > math.log1p(CALIBRATION_ACCEPT):
        raise ValueError(f"no {what} makes the RIRs measure the target (closest: "
                         f"{math.expm1(g_best):+.1%} off)")
    return best


def _renderer(room: tuple[float, float, float], t60: float, fs: float, c: float,
              convention: str, source: tuple[float, ...], mics: tuple[tuple[float, ...], ...],
              mode: str) -> Callable[..., np.ndarray]:
    """``render(absorption, tail_t60=None) -> RIRs (k, L)`` from ``source`` to ``mics`` in
    ``mode`` (``exact``, ``fast``), the image sources found once."""
    conv = make_convention(convention, fs)
    src, rec = np.asarray(source, dtype=np.float64), np.asarray(mics, dtype=np.float64)
    n = image_sources.ism_length(t60, fs, mode, conv)
    images, orders = image_sources.nearby_images(room, src, rec, fs, (n - conv.lo) * c / fs,
                                                 image_sources.image_generator(mode))

    def render(absorption: float, *tail: float) -> np.ndarray:
        return image_sources.render_position(images, orders, absorption, room, t60, src, rec,
                                             fs, c, mode, conv, *tail)[0]

    return render


@functools.lru_cache(maxsize=64)
def calibrated_absorption(room: tuple[float, float, float], t60: float, fs: float, c: float,
                          convention: str, source: tuple[float, ...],
                          mics: tuple[tuple[float, ...], ...]) -> float:
    """Wall absorption whose ``exact`` RIRs from ``source`` to ``mics`` measure ``t60`` seconds.

    Parameters
    ----------
    room : (3,) metres; t60 : seconds; fs : Hz; c : m/s
    convention : str
        ``pyroomacoustics`` or ``gpurir``
        (:func:`~ssl_xai_bench.acoustics.fractional_delay.convention`).
    source : (3,) metres; mics : (k, 3) metres

    Returns
    -------
    float
        Energy absorption coefficient in (0, 1).

    Raises
    ------
    ValueError
        When no coefficient brings the measured T60 within :data:`CALIBRATION_ACCEPT`.
    """
    render = _renderer(room, t60, fs, c, convention, source, mics, "exact")

    def log_error(v: float) -> float:
        absorption = -math.expm1(-math.exp(v))  # a = 1 - e^-u
        return math.log(measured_t60(render(absorption), fs) / t60)

    v0 = math.log(-math.log1p(-image_sources.sabine_absorption(room, t60)))
    best = _secant(log_error, v0, -1.0, _LOG_U_RANGE, "wall absorption")
    return -math.expm1(-math.exp(best))


@functools.lru_cache(maxsize=64)
def calibrated_tail_t60(room: tuple[float, float, float], t60: float, fs: float, c: float,
                        convention: str, source: tuple[float, ...],
                        mics: tuple[tuple[float, ...], ...]) -> float:
    """Decay time (s) of the ``fast`` tail that makes the ``fast`` RIRs measure ``t60``.

    The image-source part uses :func:`calibrated_absorption` (same arguments).
    """
    absorption = calibrated_absorption(room, t60, fs, c, convention, source, mics)
    render = _renderer(room, t60, fs, c, convention, source, mics, "fast")

    def log_error(v: float) -> float:
        return math.log(measured_t60(render(absorption, t60 * math.exp(v)), fs) / t60)

    return t60 * math.exp(_secant(log_error, 0.0, 1.0, _LOG_TAIL_RANGE, "tail decay time"))
