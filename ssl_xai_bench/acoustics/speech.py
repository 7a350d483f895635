"""Speech sources behind one interface: ``espeak`` (default, offline), ``cmu_arctic``, ``wav_dir``.

Every corpus is a fixed, ordered list of utterances; ``corpus.utterance(i)`` returns float64 mono
samples at the scene's ``fs``, scaled to peak 1 as in the study (Comanducci et al., EUSIPCO 2024).

- ``espeak``: the built-in sentence list ``acoustics/data/sentences.txt`` spoken by eSpeak NG
  (library and data from the ``espeakng-loader`` wheel, loaded with ``ctypes``) in
  ``ESPEAK_VARIANTS`` deterministic voice/rate/pitch variants per sentence; 22050 Hz output
  resampled to ``fs`` with ``scipy.signal.resample_poly``. eSpeak keeps global state that carries
  over between utterances (its voice flutter tables), so the whole corpus is synthesised in one
  fresh child process, always in the same order, which makes it byte-identical across runs; the
  result is cached per process (guarded by a lock).
- ``cmu_arctic``: the study's corpus from a folder the user provides (never downloaded), layout
  ``<root>/cmu_us_<spk>_arctic/wav/arctic_a0001.wav``, all speakers.
- ``wav_dir``: every ``.wav`` below a folder (recursive, sorted).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from ssl_xai_bench.acoustics.audio import peak_normalise, read_wav, resample, wav_length
from ssl_xai_bench.acoustics.scene import SpeechConfig
from ssl_xai_bench.errors import ConfigError

SENTENCES_PATH = Path(__file__).resolve().parent / "data" / "sentences.txt"
ESPEAK_VARIANTS = 3
# Only variants whose output is bit-identical across processes: "f2", "f3" and "f5" add random
# breath noise and are not (checked by tests/acoustics/test_speech.py across fresh interpreters).
ESPEAK_VOICES = ("en-us+m3", "en-us+f1", "en+m1", "en+f4", "en-gb-x-rp+m5", "en-us+f4",
                 "en-029+m2", "en-gb-scotland+f1")
ESPEAK_FS = 22050
_LOCK = threading.Lock()
_ESPEAK_CACHE: dict[str, list[np.ndarray]] = {}


class FileCorpus:
    """Utterances read from wav files, resampled to ``fs`` and scaled to peak 1."""

    def __init__(self, name: str, files: list[Path], fs: int) -> None:
        self.name = name
        self.files = files
        self.fs = fs

    def __len__(self) -> int:
        return len(self.files)

    def utterance(self, i: int) -> np.ndarray:
        """Utterance ``i`` (float64, peak 1, ``fs`` Hz)."""
        return _load_file(str(self.files[i]), self.fs)

    def lengths(self) -> np.ndarray:
        """Length of every utterance in samples at ``fs`` (from the wav headers)."""
        return np.array([wav_length(f, self.fs) for f in self.files], dtype=np.int64)


@functools.lru_cache(maxsize=4096)
def _load_file(path: str, fs: int) -> np.ndarray:
    try:
        x, fs_in = read_wav(path)
        out = peak_normalise(resample(x, fs_in, fs))
    except ConfigError as exc:
        raise ConfigError(exc.field, f"{path}: {exc.message}") from None
    except (ValueError, OSError, EOFError) as exc:
        raise ConfigError("scene.speech.path", f"{path}: unreadable audio file ({exc})") from None
    out.flags.writeable = False
    return out


class EspeakCorpus:
    """The built-in sentences spoken by eSpeak NG in ``ESPEAK_VARIANTS`` variants each."""

    name = "espeak"

    def __init__(self, fs: int, sentences: list[str] | None = None) -> None:
        self.fs = fs
        self.sentences = sentences if sentences is not None else builtin_sentences()
        self.jobs = espeak_jobs(self.sentences)

    def __len__(self) -> int:
        return len(self.jobs)

    def _all(self) -> list[np.ndarray]:
        key = hashlib.sha256(json.dumps([self.jobs, self.fs]).encode()).hexdigest()
        with _LOCK:
            if key not in _ESPEAK_CACHE:
                raw = synthesize_in_child(self.jobs)
                utts = []
                for x in raw:
                    u = peak_normalise(resample(x.astype(np.float64), ESPEAK_FS, self.fs))
                    u.flags.writeable = False
                    utts.append(u)
                _ESPEAK_CACHE[key] = utts
            return _ESPEAK_CACHE[key]

    def utterance(self, i: int) -> np.ndarray:
        """Utterance ``i`` (float64, peak 1, ``fs`` Hz)."""
        return self._all()[i]

    def lengths(self) -> np.ndarray:
        """Length of every utterance in samples at ``fs``."""
        return np.array([len(u) for u in self._all()], dtype=np.int64)


def builtin_sentences() -> list[str]:
    """The sentence list shipped in ``acoustics/data/sentences.txt`` (comments skipped)."""
    lines = SENTENCES_PATH.read_text(encoding="utf-8").splitlines()
    return [s.strip() for s in lines if s.strip() and not s.startswith("#")]


def espeak_jobs(sentences: list[str]) -> list[dict]:
    """Deterministic (text, voice, rate wpm, pitch 0-100) of every utterance, sentence-major."""
    jobs = []
    for i, text in enumerate(sentences):
        for v in range(ESPEAK_VARIANTS):
            rng = np.random.default_rng([i, v, 5000])
            jobs.append({"text": text,
                         "voice": ESPEAK_VOICES[int(rng.integers(len(ESPEAK_VOICES)))],
                         "rate": int(rng.integers(140, 191)), "pitch": int(rng.integers(30, 71))})
    return jobs


def synthesize_in_child(jobs: list[dict]) -> list[np.ndarray]:
    """Run :func:`_espeak_synthesize_all` in a fresh interpreter; int16 arrays at 22050 Hz."""
    with tempfile.TemporaryDirectory() as tmp:
        jobs_path, out_path = Path(tmp) / "jobs.json", Path(tmp) / "out.npz"
        jobs_path.write_text(json.dumps(jobs), encoding="utf-8")
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])  # the folder holding ssl_xai_bench/
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        code = ("import sys; from ssl_xai_bench.acoustics.speech import _espeak_child_main; "
                "_espeak_child_main(sys.argv[1], sys.argv[2])")
        proc = subprocess.run([sys.executable, "-c", code, str(jobs_path), str(out_path)],
                              env=env, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise RuntimeError(f"speech: eSpeak NG synthesis failed: {proc.stderr[-2000:]}")
        with np.load(out_path) as z:
            return [z[f"u{i}"] for i in range(len(jobs))]


def _espeak_child_main(jobs_path: str, out_path: str) -> None:
    jobs = json.loads(Path(jobs_path).read_text(encoding="utf-8"))
    out = _espeak_synthesize_all(jobs)
    np.savez(out_path, **{f"u{i}": x for i, x in enumerate(out)})


def _espeak_synthesize_all(jobs: list[dict]) -> list[np.ndarray]:
    """Synthesise every job in order with libespeak-ng (ctypes; call once per fresh process)."""
    import espeakng_loader

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    audio_output_synchronous, pos_character, chars_utf8 = 2, 1, 1
    espeak_rate, espeak_pitch = 1, 3
    rate = lib.espeak_Initialize(audio_output_synchronous, 0,
                                 espeakng_loader.get_data_path().encode(), 0)
    if rate != ESPEAK_FS:
        raise RuntimeError(f"speech: eSpeak NG initialisation returned {rate}")
    chunks: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                     ctypes.c_void_p)

    def on_audio(wav, n, _events):
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0

    callback = callback_type(on_audio)
    lib.espeak_SetSynthCallback(callback)
    out = []
    for job in jobs:
        if lib.espeak_SetVoiceByName(job["voice"].encode()) != 0:
            raise RuntimeError(f"speech: eSpeak NG has no voice {job['voice']!r}")
        lib.espeak_SetParameter(espeak_rate, int(job["rate"]), 0)
        lib.espeak_SetParameter(espeak_pitch, int(job["pitch"]), 0)
        chunks.clear()
        text = job["text"].encode("utf-8") + b"\0"
        lib.espeak_Synth(text, len(text), 0, pos_character, 0, chars_utf8, None, None)
        lib.espeak_Synchronize()
        out.append(np.concatenate(chunks) if chunks else np.zeros(0, np.int16))
    return out


def load_corpus(config: SpeechConfig, fs: int, field_name: str = "scene.speech"):
    """The corpus named by ``config`` at ``fs`` Hz (``EspeakCorpus`` or ``FileCorpus``).

    Raises
    ------
    ConfigError
        Unknown source, missing folder, or a folder without audio files.
    """
    config.validate(field_name)
    if config.source == "espeak":
        return EspeakCorpus(fs)
    return FileCorpus(config.source, sorted(config.files()), fs)
