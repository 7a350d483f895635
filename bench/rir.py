"""Room impulse responses from pyroomacoustics' image sources, in two conventions and two modes.

Shapes: ``RIRSet.rirs (S, M, L)`` float32 (S source positions, M mics, L samples),
``RIRSet.direct (S, M, Ld)`` float32 (the direct path alone, same convention and alignment).

Image sources come from pyroomacoustics (Scheibler et al., ICASSP 2018): ``ShoeBox`` with equal
wall energy absorption from Sabine's formula (``pyroomacoustics.inverse_sabine``), then
``room.image_source_model()`` gives ``sources[0].images`` (3, K), ``.orders`` (K,) and
``.damping`` (1, K). The RIR is built here from those images, vectorised in numpy, as a sum of
windowed-sinc fractional delays; the convention changes only sign, gain, window, time origin,
length and high-pass:

- ``pyroomacoustics``: what ``room.compute_rir()`` produces: amplitude ``damping / d``, an
  81-tap Hann-windowed sinc, every arrival delayed by ``frac_delay_length // 2 = 40`` samples,
  high-passed with pyroomacoustics' ``rir_hpf`` filter (``sosfiltfilt``), length
  ``ceil(T60 fs) + 81``.
- ``gpurir``: what gpuRIR (Diaz-Guerra et al., 2021) produces and the study trained on: amplitude
  ``(-1)^order damping / (4 pi d)`` (gpuRIR reflects with ``-beta``), a sinc under a Hann window of
  8 ms centred on the arrival time, time origin 0, no filtering, length ``ceil(T60 fs)`` rounded up
  to even (gpuRIR's ``Tmax = T60``).

Modes: ``exact`` sums every image arriving within the RIR length (like the study). ``fast`` sums
the images arriving before the time where the Sabine decay reaches ``FAST_ISM_ATTENUATION_DB``
(gpuRIR's ``att_diff = 15 dB``, i.e. ``T60 / 4``), then appends gpuRIR's diffuse tail: Gaussian
noise under the exponential power envelope ``A exp(-13.8155 (t - tau_dp) / (T60 fs))`` with ``A``
fitted to the power of the last 10 ms of the image-source part. The tail is seeded from the
source and microphone coordinates, so a position always gets the same RIR.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyroomacoustics as pra
from scipy import fft as sp_fft
from scipy.signal import sosfiltfilt

RIR_COMPUTATIONS = 0
"""Number of source positions simulated in this process (tests use it to prove cache reuse)."""

CONVENTIONS = ("pyroomacoustics", "gpurir")
MODES = ("exact", "fast")
FAST_ISM_ATTENUATION_DB = 15.0
PRA_FRAC_DELAY_LENGTH = 81
GPURIR_WINDOW_S = 8e-3
_POLY_DEGREE = 8  # fractional-delay polynomial order (see render_images)


@dataclass(frozen=True)
class Convention:
    """How one image source becomes samples: ``sign * damping * gain / d`` under a kernel.

    Kernel taps are at integer offsets ``lo..hi`` from ``floor(tau)`` with
    ``tau = d / c fs + offset``; the Hann window of width ``window`` samples is evaluated at the
    offset from ``tau`` (``window_on_tau``) or at the integer tap offset (pyroomacoustics' LUT).
    """

    name: str
    alternate_sign: bool
    gain: float
    offset: int
    lo: int
    hi: int
    window: float
    window_on_tau: bool
    highpass: bool


def convention(name: str, fs: float) -> Convention:
    """Constants of convention ``name`` (``pyroomacoustics`` or ``gpurir``) at ``fs`` Hz."""
    if name == "pyroomacoustics":
        h = PRA_FRAC_DELAY_LENGTH // 2
        return Convention(name, False, 1.0, h, -h, h, 2.0 * h, False, True)
    if name == "gpurir":
        tw = GPURIR_WINDOW_S * fs
        h = int(math.ceil(tw / 2))
        return Convention(name, True, 1.0 / (4.0 * np.pi), 0, -h + 1, h, tw, True, False)
    raise ValueError(f"rir_convention: unknown {name!r}; allowed: {list(CONVENTIONS)}")


def rir_length(t60: float, fs: float, conv: Convention) -> int:
    """Samples per RIR: gpuRIR's even ``ceil(T60 fs)``; pyroomacoustics adds the filter length."""
    n = int(math.ceil(t60 * fs))
    if conv.name == "gpurir":
        return n + n % 2
    return n + PRA_FRAC_DELAY_LENGTH


def direct_length(room: tuple[float, float, float], fs: float, c: float, conv: Convention) -> int:
    """Samples that hold the direct path from anywhere in the room (diagonal + kernel)."""
    diag = float(np.linalg.norm(room))
    return int(math.ceil(diag / c * fs)) + conv.offset + conv.hi + 2


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


def _max_order(room: np.ndarray, distance: float) -> int:
    """Smallest reflection order such that every image closer than ``distance`` is included."""
    return int(math.ceil(distance * math.sqrt(float(np.sum(1.0 / room**2))))) + 3


def image_sources(room: tuple[float, float, float], t60: float, source: np.ndarray,
                  mics: np.ndarray, fs: float, max_distance: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image sources of a shoebox with Sabine absorption, from pyroomacoustics.

    Returns ``images (3, K)``, ``orders (K,)`` and ``damping (K,)`` (product of the wall
    amplitude reflection coefficients, ``sqrt(1 - absorption)`` per reflection) for all images
    up to the order that covers ``max_distance`` metres.
    """
    room_a = np.asarray(room, dtype=np.float64)
    e_abs, _ = pra.inverse_sabine(t60, room)
    shoebox = pra.ShoeBox(room_a, fs=fs, materials=pra.Material(e_abs),
                          max_order=_max_order(room_a, max_distance), air_absorption=False)
    shoebox.add_source(np.asarray(source, dtype=np.float64))
    shoebox.add_microphone_array(np.asarray(mics, dtype=np.float64).T)
    shoebox.image_source_model()
    src = shoebox.sources[0]
    return src.images, src.orders, src.damping[0]


def kernel_taps(conv: Convention, frac: np.ndarray) -> np.ndarray:
    """Kernel values ``(len(frac), hi - lo + 1)`` at taps ``lo..hi`` for fractional delays ``frac``.

    ``hann(w) * sinc(j - frac)`` with ``w = j - frac`` (``window_on_tau``) or ``w = j``.
    """
    taps = np.arange(conv.lo, conv.hi + 1, dtype=np.float64)
    t = taps[None, :] - np.asarray(frac, dtype=np.float64)[:, None]
    w = t if conv.window_on_tau else np.broadcast_to(taps[None, :], t.shape)
    win = np.where(np.abs(w) < conv.window / 2, 0.5 * (1.0 + np.cos(2.0 * np.pi * w / conv.window)),
                   0.0)
    return win * np.sinc(t)


@functools.lru_cache(maxsize=8)
def _kernel_polynomial(conv: Convention) -> np.ndarray:
    """Least-squares polynomial in ``(frac - 1/2)`` of every tap: ``(_POLY_DEGREE + 1, taps)``."""
    f = np.linspace(0.0, 1.0, 1025)
    vander = np.vander(f - 0.5, _POLY_DEGREE + 1, increasing=True)
    coef, *_ = np.linalg.lstsq(vander, kernel_taps(conv, f), rcond=None)
    return coef


def render_images(images: np.ndarray, orders: np.ndarray, damping: np.ndarray, mic: np.ndarray,
                  n_samples: int, conv: Convention, fs: float, c: float) -> np.ndarray:
    """Sum the windowed-sinc arrivals of image sources at one microphone.

    Every arrival ``amp * kernel(j, frac)`` is expanded as a polynomial in its fractional delay
    (``kernel ~ sum_p coef_p(j) (frac - 1/2)^p``, max error ~2e-7 of the peak), so the sum over
    K images becomes ``_POLY_DEGREE + 1`` impulse trains (``numpy.bincount``, O(K)) convolved
    with fixed kernels by FFT, instead of K x taps operations.

    Parameters
    ----------
    images : (3, K) metres; orders : (K,); damping : (K,)
    mic : (3,) metres
    n_samples : int
        Output length; arrivals whose kernel lies entirely beyond it are skipped.

    Returns
    -------
    ndarray (n_samples,) float64
    """
    dist = np.sqrt(np.sum((images - mic[:, None]) ** 2, axis=0))
    tau = dist * (fs / c) + conv.offset
    keep = tau + conv.lo < n_samples
    tau = tau[keep]
    amp = damping[keep] * conv.gain / dist[keep]
    if conv.alternate_sign:
        amp = np.where(orders[keep] % 2 == 1, -amp, amp)
    base = np.floor(tau)
    x = tau - base - 0.5
    base = base.astype(np.int64)
    coef = _kernel_polynomial(conv)
    n_train = n_samples - conv.lo
    nfft = sp_fft.next_fast_len(n_train + coef.shape[1] - 1, real=True)
    trains = np.empty((coef.shape[0], n_train))
    weight = amp.copy()
    for p in range(coef.shape[0]):
        trains[p] = np.bincount(base, weights=weight, minlength=n_train)[:n_train]
        weight *= x
    spec = sp_fft.rfft(trains, nfft, axis=-1) * sp_fft.rfft(coef, nfft, axis=-1)
    full = sp_fft.irfft(spec.sum(axis=0), nfft)
    return full[-conv.lo:n_samples - conv.lo]


def _tail_rng(source: np.ndarray, mic: np.ndarray) -> np.random.Generator:
    key = hashlib.sha256(np.round(np.concatenate([source, mic]), 9).tobytes()).digest()
    return np.random.default_rng(np.frombuffer(key[:16], dtype=np.uint32))


def diffuse_tail(n_ism: int, n_total: int, power: float, window: tuple[int, int],
                 tau_dp: float, t60: float, fs: float, rng: np.random.Generator) -> np.ndarray:
    """gpuRIR's diffuse reverberation model for samples ``n_ism..n_total - 1``.

    Power envelope ``A exp(alpha (t - tau_dp))`` with ``alpha = ln(1e-6) / (T60 fs)`` (60 dB per
    T60), ``A`` set so the envelope equals ``power`` at the centre of ``window`` (the last 10 ms
    of the image-source part); Gaussian noise under its square root.
    """
    alpha = math.log(1e-6) / (t60 * fs)
    w_center = (window[0] + window[1]) / 2.0
    amp = power / math.exp(alpha * (w_center - tau_dp))
    t = np.arange(n_ism, n_total, dtype=np.float64)
    return np.sqrt(amp * np.exp(alpha * (t - tau_dp))) * rng.standard_normal(len(t))


def incoherent_power(images: np.ndarray, damping: np.ndarray, mic: np.ndarray,
                     window: tuple[int, int], conv: Convention, fs: float, c: float) -> float:
    """Mean power per sample of the arrivals inside ``window`` summed incoherently.

    ``sum a_k^2 / (t1 - t0)`` over images arriving in ``[t0, t1)`` samples: the expected power of
    a diffuse field, independent of the reflection-sign convention (the coherent power of the
    all-positive ``pyroomacoustics`` images carries a low-frequency build-up that gpuRIR's
    ``-beta`` images cancel).
    """
    dist = np.sqrt(np.sum((images - mic[:, None]) ** 2, axis=0))
    tau = dist * (fs / c) + conv.offset
    inside = (tau >= window[0]) & (tau < window[1])
    amp = damping[inside] * conv.gain / dist[inside]
    return float(np.sum(amp**2)) / max(window[1] - window[0], 1)


def pra_highpass(rir: np.ndarray, fs: float) -> np.ndarray:
    """pyroomacoustics' default RIR high-pass (``rir_hpf_fc``, zero-phase ``sosfiltfilt``)."""
    from pyroomacoustics.utilities import design_highpass_filter_sos

    sos = design_highpass_filter_sos(fs, pra.constants.get("rir_hpf_fc"),
                                     **pra.constants.get("rir_hpf_kwargs"))
    return sosfiltfilt(sos, rir, axis=-1)


def simulate_position(room: tuple[float, float, float], t60: float, source: np.ndarray,
                      mics: np.ndarray, fs: float, c: float, mode: str, conv: Convention
                      ) -> tuple[np.ndarray, np.ndarray]:
    """RIRs ``(M, L)`` and direct paths ``(M, Ld)`` of one source position (float64)."""
    n_total = rir_length(t60, fs, conv)
    n_direct = direct_length(room, fs, c, conv)
    if mode == "exact":
        n_ism = n_total
    else:
        n_ism = int(math.ceil(FAST_ISM_ATTENUATION_DB / 60.0 * t60 * fs)) + conv.offset
        n_ism = min(n_ism + n_ism % 2, n_total)
    reach = (n_ism - conv.lo) * c / fs
    images, orders, damping = image_sources(room, t60, source, mics, fs, reach)
    centre = mics.mean(axis=0)
    near = np.linalg.norm(images - centre[:, None], axis=0) < (
        reach + np.linalg.norm(mics - centre, axis=1).max())
    images, orders, damping = images[:, near], orders[near], damping[near]
    direct_img = np.flatnonzero(orders == 0)
    rirs = np.empty((len(mics), n_total))
    direct = np.empty((len(mics), n_total if conv.highpass else n_direct))
    for m, mic in enumerate(mics):
        rirs[m, :n_ism] = render_images(images, orders, damping, mic, n_ism, conv, fs, c)
        if n_ism < n_total:
            tau_dp = float(np.linalg.norm(source - mic)) * fs / c + conv.offset
            window = (int(math.ceil(max(n_ism - 10e-3 * fs, tau_dp))), n_ism)
            power = incoherent_power(images, damping, mic, window, conv, fs, c)
            rirs[m, n_ism:] = diffuse_tail(n_ism, n_total, power, window, tau_dp, t60, fs,
                                           _tail_rng(source, mic))
        direct[m] = render_images(images[:, direct_img], orders[direct_img],
                                  damping[direct_img], mic, direct.shape[1], conv, fs, c)
    if conv.highpass:
        rirs = pra_highpass(rirs, fs)
        direct = pra_highpass(direct, fs)
    return rirs, direct[:, :n_direct]


def compute_rirs(scene, positions: np.ndarray) -> RIRSet:
    """Simulate the RIRs of every source position of ``scene`` (the expensive stage).

    Parameters
    ----------
    scene : bench.scenes.SceneConfig
        Room, T60, array, fs, speed of sound, ``rir_mode``, ``rir_convention``.
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
    rirs, direct = [], []
    for pos in positions:
        r, d = simulate_position(tuple(scene.room), scene.t60, pos, mics, scene.fs,
                                 scene.speed_of_sound, scene.rir_mode, conv)
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
