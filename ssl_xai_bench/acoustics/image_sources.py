"""Image sources of a shoebox and their rendering into RIRs, one source position at a time.

The primitives behind :mod:`ssl_xai_bench.acoustics.rir` (the RIRs of a whole scene) and
:mod:`ssl_xai_bench.acoustics.absorption` (the calibration of the walls): image positions and
reflection orders (pyroomacoustics' model or the same images enumerated in numpy), their
amplitudes for equal walls, the ``fast`` mode's diffuse tail, the pyroomacoustics high-pass, and a
Schroeder T60 measurement. Lengths in metres, times in seconds, RIR lengths in samples; RIRs of
one position are ``(M, L)`` float64. ``docs/acoustics.md`` describes the two modes and
conventions.
"""

from __future__ import annotations

import functools
import hashlib
import math

import numpy as np
import pyroomacoustics as pra
from scipy.signal import sosfiltfilt

from ssl_xai_bench.acoustics.fractional_delay import (
    Convention,
    image_distances,
    render_images,
)

MODES = ("exact", "fast")
"""``exact``: every image within the RIR length; ``fast``: images up to ``T60 / 4``, then a
diffuse tail."""
FAST_ISM_ATTENUATION_DB = 15.0


def rir_length(t60: float, fs: float, conv: Convention) -> int:
    """Samples per RIR: gpuRIR's even ``ceil(T60 fs)``; pyroomacoustics adds the filter length."""
    n = int(math.ceil(t60 * fs))
    return n + (n % 2 if conv.tail is None else conv.tail)


def direct_length(room: tuple[float, float, float], fs: float, c: float, conv: Convention) -> int:
    """Samples that hold the direct path from anywhere in the room (diagonal + kernel)."""
    diag = float(np.linalg.norm(room))
    return int(math.ceil(diag / c * fs)) + conv.offset + conv.hi + 2


def sabine_absorption(room: tuple[float, float, float], t60: float) -> float:
    """Equal wall energy absorption from Sabine's formula (``pyroomacoustics.inverse_sabine``)."""
    return float(pra.inverse_sabine(t60, room)[0])


def reflection_damping(orders: np.ndarray, absorption: float) -> np.ndarray:
    """Amplitude of images of reflection ``orders``: ``sqrt(1 - absorption) ** order``.

    Equal walls make pyroomacoustics' product of wall reflection coefficients a power of one
    (computed here in float64; pyroomacoustics' own ``damping`` is the same in float32).
    """
    if not 0.0 <= absorption < 1.0:
        raise ValueError(f"absorption: must be in [0, 1), got {absorption!r}")
    return np.exp(0.5 * math.log1p(-absorption) * np.asarray(orders, dtype=np.float64))


def _max_order(room: np.ndarray, distance: float) -> int:
    """Smallest reflection order such that every image closer than ``distance`` is included."""
    return int(math.ceil(distance * math.sqrt(float(np.sum(1.0 / room**2))))) + 3


def image_sources(room: tuple[float, float, float], source: np.ndarray, receiver: np.ndarray,
                  fs: float, max_distance: float) -> tuple[np.ndarray, np.ndarray]:
    """Image sources of a shoebox from pyroomacoustics: ``images (3, K)`` float32, ``orders (K,)``.

    Every image up to the reflection order that covers ``max_distance`` metres from any point
    of the room. A single ``receiver`` (a point inside the room, e.g. the array centre) is given
    to pyroomacoustics: in a shoebox every image is visible from everywhere inside, and the
    per-microphone directions it would compute are not used (with 16 microphones they cost
    two thirds of its time). Positions and orders do not depend on the wall absorption; the
    amplitudes are :func:`reflection_damping`.
    """
    room_a = np.asarray(room, dtype=np.float64)
    shoebox = pra.ShoeBox(room_a, fs=fs, max_order=_max_order(room_a, max_distance),
                          air_absorption=False)
    shoebox.add_source(np.asarray(source, dtype=np.float64))
    shoebox.add_microphone_array(np.asarray(receiver, dtype=np.float64).reshape(3, 1))
    shoebox.image_source_model()
    src = shoebox.sources[0]
    return src.images, src.orders


def lattice_images(room: tuple[float, float, float], source: np.ndarray, centre: np.ndarray,
                   radius: float) -> tuple[np.ndarray, np.ndarray]:
    """The shoebox images within ``radius`` metres of ``centre``, enumerated in numpy.

    Along an axis of length ``L`` the images of ``s`` are ``2 n L + s`` (``|2n|`` reflections)
    and ``2 n L - s`` (``|2n - 1|``); an image combines one per axis and its order is the sum.
    Same images and orders as pyroomacoustics' (:func:`image_sources`), float32 like its
    ``images``, but only those inside the sphere (pyroomacoustics enumerates the whole
    ``|i| + |j| + |k| <= max_order`` diamond around it, four times as many, at ~0.2 us each).
    """
    axes = []
    for length, s, c in zip(room, np.asarray(source, dtype=np.float64),
                            np.asarray(centre, dtype=np.float64), strict=True):
        n = np.arange(math.floor((c - radius - s) / (2 * length)) - 1,
                      math.ceil((c + radius + s) / (2 * length)) + 2)
        coord = np.concatenate([2 * n * length + s, 2 * n * length - s])
        refl = np.concatenate([np.abs(2 * n), np.abs(2 * n - 1)])
        inside = np.abs(coord - c) <= radius
        axes.append((coord[inside], refl[inside], (coord[inside] - c) ** 2))
    (x, ox, dx), (y, oy, dy), (z, oz, dz) = axes
    ix, iy, iz = np.nonzero(dx[:, None, None] + dy[None, :, None] + dz[None, None, :]
                            <= radius * radius)
    images = np.stack([x[ix], y[iy], z[iz]]).astype(np.float32)
    return images, (ox[ix] + oy[iy] + oz[iz]).astype(np.int32)


def nearby_images(room: tuple[float, float, float], source: np.ndarray, mics: np.ndarray,
                  fs: float, reach: float, generator: str = "pyroomacoustics"
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Images (and orders) that can arrive at one of ``mics (M, 3)`` within ``reach`` metres.

    ``generator``: ``"pyroomacoustics"`` (:func:`image_sources`, the ``exact`` mode's reference)
    or ``"lattice"`` (:func:`lattice_images`, the ``fast`` mode's); both give the images
    closer than ``reach`` plus the array's radius to the array centre.
    """
    centre = mics.mean(axis=0)
    radius = reach + float(np.linalg.norm(mics - centre, axis=1).max())
    if generator == "lattice":
        return lattice_images(room, source, centre, radius)
    images, orders = image_sources(room, source, centre, fs, reach)
    near = np.linalg.norm(images - centre[:, None], axis=0) < radius
    return images[:, near], orders[near]


def image_generator(mode: str) -> str:
    """The image generator of ``mode``: pyroomacoustics for ``exact``, numpy for ``fast``."""
    return "pyroomacoustics" if mode == "exact" else "lattice"


def _tail_rng(source: np.ndarray, mic: np.ndarray) -> np.random.Generator:
    key = hashlib.sha256(np.round(np.concatenate([source, mic]), 9).tobytes()).digest()
    return np.random.default_rng(np.frombuffer(key[:16], dtype=np.uint32))


def diffuse_tail(n_ism: int, n_total: int, power: np.ndarray, window_centre: np.ndarray,
                 t60: float, fs: float, noise: np.ndarray) -> np.ndarray:
    """gpuRIR's diffuse reverberation model for samples ``n_ism..n_total - 1`` of M RIRs.

    Power envelope ``P exp(alpha (t - t_w))`` with ``alpha = ln(1e-6) / (T60 fs)`` (60 dB per
    T60), equal to ``power (M,)`` at ``window_centre (M,)`` samples ``t_w`` (the centre of the
    last 10 ms of the image-source part); ``noise (M, n_total - n_ism)`` standard Gaussian under
    its square root. Returns ``(M, n_total - n_ism)``.
    """
    alpha = math.log(1e-6) / (t60 * fs)
    envelope = np.exp(0.5 * alpha * np.arange(n_total - n_ism, dtype=np.float64))
    gain = np.sqrt(np.asarray(power, dtype=np.float64)) * np.exp(
        0.5 * alpha * (n_ism - np.asarray(window_centre, dtype=np.float64)))
    return gain[:, None] * envelope[None, :] * noise


def incoherent_power(images: np.ndarray, damping: np.ndarray, mics: np.ndarray,
                     start: np.ndarray, stop: int, conv: Convention, fs: float, c: float
                     ) -> np.ndarray:
    """Mean power per sample ``(M,)`` of the arrivals in ``[start_m, stop)`` summed incoherently.

    ``sum a_k^2 / (stop - start_m)`` over images arriving in that window (samples) at each of
    ``mics (M, 3)``: the expected power of a diffuse field, independent of the reflection-sign
    convention (the coherent power of the all-positive ``pyroomacoustics`` images carries a
    low-frequency build-up that gpuRIR's ``-beta`` images cancel).
    """
    centre = mics.mean(axis=0)
    spread = float(np.linalg.norm(mics - centre, axis=1).max()) + 1e-6
    d_centre = image_distances(images, centre[None])[0]  # |d_mic - d_centre| <= spread
    shell = ((d_centre >= (start.min() - conv.offset) * c / fs - spread)
             & (d_centre < (stop - conv.offset) * c / fs + spread))
    images, damping = images[:, shell], damping[shell]
    dist = image_distances(images, mics)
    tau = dist * (fs / c) + conv.offset
    inside = (tau >= start[:, None]) & (tau < stop)
    energy = np.where(inside, ((damping * conv.gain) ** 2)[None, :] / (dist * dist), 0.0)
    return energy.sum(axis=1) / np.maximum(stop - start, 1)


@functools.lru_cache(maxsize=4)
def _pra_highpass_sos(fs: float) -> np.ndarray:
    from pyroomacoustics.utilities import design_highpass_filter_sos

    return design_highpass_filter_sos(fs, pra.constants.get("rir_hpf_fc"),
                                      **pra.constants.get("rir_hpf_kwargs"))


def pra_highpass(rir: np.ndarray, fs: float) -> np.ndarray:
    """pyroomacoustics' default RIR high-pass (``rir_hpf_fc``, zero-phase ``sosfiltfilt``)."""
    return sosfiltfilt(_pra_highpass_sos(float(fs)), rir, axis=-1)


def ism_length(t60: float, fs: float, mode: str, conv: Convention) -> int:
    """Samples rendered from image sources: all of them (``exact``) or up to ``T60 / 4``."""
    n_total = rir_length(t60, fs, conv)
    if mode == "exact":
        return n_total
    n_ism = int(math.ceil(FAST_ISM_ATTENUATION_DB / 60.0 * t60 * fs)) + conv.offset
    return min(n_ism + n_ism % 2, n_total)


def simulate_position(room: tuple[float, float, float], t60: float, source: np.ndarray,
                      mics: np.ndarray, fs: float, c: float, mode: str, conv: Convention,
                      absorption: float | None = None, tail_t60: float | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """RIRs ``(M, L)`` and direct paths ``(M, Ld)`` of one source position (float64).

    ``t60`` sets the RIR length (and the ``fast`` mode's split point); ``absorption`` is the
    walls' energy absorption coefficient (``None``: Sabine's for ``t60``); ``tail_t60`` the
    decay time of the ``fast`` mode's diffuse tail (``None``: ``t60``).
    """
    if absorption is None:
        absorption = sabine_absorption(room, t60)
    source = np.asarray(source, dtype=np.float64)
    mics = np.asarray(mics, dtype=np.float64).reshape(-1, 3)
    n_ism = ism_length(t60, fs, mode, conv)
    images, orders = nearby_images(room, source, mics, fs, (n_ism - conv.lo) * c / fs,
                                   image_generator(mode))
    return render_position(images, orders, absorption, room, t60, source, mics, fs, c, mode,
                           conv, tail_t60)


def render_position(images: np.ndarray, orders: np.ndarray, absorption: float,
                    room: tuple[float, float, float], t60: float, source: np.ndarray,
                    mics: np.ndarray, fs: float, c: float, mode: str, conv: Convention,
                    tail_t60: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`simulate_position` from its image sources (``images (3, K)``, ``orders (K,)``)."""
    n_total = rir_length(t60, fs, conv)
    n_direct = direct_length(room, fs, c, conv)
    n_ism = ism_length(t60, fs, mode, conv)
    damping = reflection_damping(orders, absorption)
    rirs = np.empty((len(mics), n_total))
    rirs[:, :n_ism] = render_images(images, orders, damping, mics, n_ism, conv, fs, c)
    if n_ism < n_total:
        tau_dp = np.linalg.norm(mics - source, axis=1) * (fs / c) + conv.offset
        start = np.ceil(np.maximum(n_ism - 10e-3 * fs, tau_dp)).astype(np.int64)
        power = incoherent_power(images, damping, mics, start, n_ism, conv, fs, c)
        noise = np.stack([_tail_rng(source, mic).standard_normal(n_total - n_ism, np.float32)
                          for mic in mics])
        rirs[:, n_ism:] = diffuse_tail(n_ism, n_total, power, (start + n_ism) / 2.0,
                                       t60 if tail_t60 is None else tail_t60, fs, noise)
    dp = orders == 0
    direct = render_images(images[:, dp], orders[dp], damping[dp], mics,
                           n_total if conv.highpass else n_direct, conv, fs, c)
    if conv.highpass:  # one call for both: the filter runs row by row
        both = pra_highpass(np.concatenate([rirs, direct]), fs)
        rirs, direct = both[:len(mics)], both[len(mics):]
    return rirs, direct[:, :n_direct]


def measure_t60(rir: np.ndarray, fs: float, decay_db: float = 30.0) -> float:
    """T60 (s) from Schroeder's backward-integrated energy decay, T20 / T30 style (ISO 3382).

    ``rir`` is one RIR ``(L,)`` or several ``(..., L)``: each decay curve starts at its RIR's
    strongest sample and is normalised; several curves are averaged (energy) before fitting. A
    line is fitted between -5 dB and ``-(5 + decay_db)`` dB and extrapolated to -60 dB.
    """
    h = np.asarray(rir, dtype=np.float64).reshape(-1, np.shape(rir)[-1])
    curves = []
    for row in h:
        row = row[int(np.argmax(np.abs(row))):]
        edc = np.cumsum((row**2)[::-1])[::-1]
        curves.append(edc / edc[0])
    n = min(len(e) for e in curves)
    edc_db = 10.0 * np.log10(np.mean([e[:n] for e in curves], axis=0) + 1e-300)
    i0 = int(np.argmax(edc_db <= -5.0))
    i1 = int(np.argmax(edc_db <= -5.0 - decay_db))
    if i1 <= i0:
        raise ValueError(f"rir: the decay does not reach -{5 + decay_db:.0f} dB")
    t = np.arange(i0, i1) / fs
    slope = np.polyfit(t, edc_db[i0:i1], 1)[0]
    return -60.0 / slope
