"""Speech corpora: espeak determinism, CMU ARCTIC and wav-folder loaders, config errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile

from ssl_xai_bench.acoustics import speech
from ssl_xai_bench.errors import ConfigError


def _tone(fs: int, seconds: float, freq: float, amp: float) -> np.ndarray:
    t = np.arange(int(fs * seconds)) / fs
    return (amp * 32767 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_espeak_corpus_is_deterministic_across_fresh_syntheses():
    corpus = speech.EspeakCorpus(16000, sentences=["A short test sentence.", "Another one."])
    assert len(corpus) == 2 * speech.ESPEAK_VARIANTS
    first = [corpus.utterance(i).copy() for i in range(len(corpus))]
    speech._ESPEAK_CACHE.clear()  # force a new synthesis in a new child process
    again = speech.EspeakCorpus(16000, sentences=["A short test sentence.", "Another one."])
    for a, b in zip(first, (again.utterance(i) for i in range(len(again))), strict=True):
        np.testing.assert_array_equal(a, b)
    for u in first:
        assert np.max(np.abs(u)) == pytest.approx(1.0)
        assert 0.5 * 16000 < len(u) < 4 * 16000  # a short sentence at 16 kHz
    # variants differ: voices/rates/pitches are not all the same
    assert len({len(u) for u in first}) > 1


def test_every_espeak_voice_is_bit_identical_across_processes():
    # Some eSpeak NG variants (f2, f3, f5) add random breath noise: a corpus using them changes
    # from run to run and so would every trained model. Each voice we use must not.
    jobs = [{"text": "The quick brown fox jumps over the lazy dog.", "voice": v, "rate": 170,
             "pitch": 50} for v in speech.ESPEAK_VOICES]
    first = speech.synthesize_in_child(jobs)
    second = speech.synthesize_in_child(jobs)
    for job, a, b in zip(jobs, first, second, strict=True):
        assert np.array_equal(a, b), job["voice"]


def test_espeak_jobs_cover_the_builtin_sentences():
    sentences = speech.builtin_sentences()
    assert len(sentences) >= 40
    jobs = speech.espeak_jobs(sentences)
    assert len(jobs) == len(sentences) * speech.ESPEAK_VARIANTS
    assert [j["text"] for j in jobs[:: speech.ESPEAK_VARIANTS]] == sentences
    assert all(v in speech.ESPEAK_VOICES for v in {j["voice"] for j in jobs})


def test_cmu_arctic_loader_reads_the_layout_and_resamples(tmp_path):
    for spk, freq in (("bdl", 200.0), ("slt", 300.0)):
        d = tmp_path / f"cmu_us_{spk}_arctic" / "wav"
        d.mkdir(parents=True)
        wavfile.write(d / "arctic_a0001.wav", 8000, _tone(8000, 0.5, freq, 0.25))
        wavfile.write(d / "arctic_a0002.wav", 16000, _tone(16000, 0.25, freq, 0.5))
    (tmp_path / "README.wav").write_bytes(b"not part of the layout")
    corpus = speech.load_corpus(speech.SpeechConfig("cmu_arctic", str(tmp_path)), 16000)
    assert len(corpus) == 4
    assert [p.parent.parent.name for p in corpus.files] == ["cmu_us_bdl_arctic"] * 2 + \
        ["cmu_us_slt_arctic"] * 2
    u = corpus.utterance(0)
    assert len(u) == 8000 and np.max(np.abs(u)) == pytest.approx(1.0)
    # the resampled 200 Hz tone is still a 200 Hz tone
    spec = np.abs(np.fft.rfft(u))
    assert np.argmax(spec) * 16000 / len(u) == pytest.approx(200.0, abs=2.0)
    np.testing.assert_array_equal(corpus.lengths(), [8000, 4000, 8000, 4000])


def test_wav_dir_loader_is_recursive_and_handles_stereo_float(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    wavfile.write(tmp_path / "x.wav", 16000, _tone(16000, 0.2, 440.0, 0.1))
    stereo = np.stack([_tone(16000, 0.3, 500.0, 0.2)] * 2, axis=1).astype(np.float32) / 32767
    wavfile.write(tmp_path / "a" / "b" / "y.WAV", 16000, stereo)
    (tmp_path / "a" / "notes.txt").write_text("ignored")
    corpus = speech.load_corpus(speech.SpeechConfig("wav_dir", str(tmp_path)), 16000)
    assert [p.name for p in corpus.files] == ["y.WAV", "x.wav"]
    np.testing.assert_array_equal(corpus.lengths(), [4800, 3200])
    y = corpus.utterance(0)
    assert y.shape == (4800,) and np.max(np.abs(y)) == pytest.approx(1.0)


@pytest.mark.parametrize("cfg,field", [
    ({"source": "festival"}, "scene.speech.source"),
    ({"source": "wav_dir"}, "scene.speech.path"),
    ({"source": "cmu_arctic", "path": "/nonexistent/cmu"}, "scene.speech.path"),
    ({"source": "espeak", "voice": "x"}, "scene.speech.voice"),
])
def test_speech_config_errors_name_the_field(cfg, field):
    with pytest.raises(ConfigError) as e:
        speech.SpeechConfig.from_dict(cfg)
    assert e.value.field == field


def test_empty_folder_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="no CMU ARCTIC") as e:
        speech.load_corpus(speech.SpeechConfig("cmu_arctic", str(tmp_path)), 16000)
    assert e.value.field == "scene.speech.path"
