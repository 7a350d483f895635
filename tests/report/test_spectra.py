"""The spectral view's sentence per model (ssl_xai_bench.report.spectra)."""

from __future__ import annotations

import pandas as pd

from ssl_xai_bench.report.spectra import band_profiles, band_sentences
from tests.report.report_fixture import METHODS, SPECTRA_SHARES, write_results


def test_one_sentence_per_model_names_the_bands_holding_half_the_power(tmp_path):
    spectra = pd.read_csv(write_results(tmp_path, seed=3) / "spectra.csv")
    sentences = band_sentences(spectra, methods=METHODS[:2])
    assert [s.split(":")[0] for s in sentences] == ["loccnn", "samplecnn"]
    # 250-500 Hz holds 45 % of the two methods' power (mean of 0.50 and 0.40): with 500-1000 Hz
    # (30 %) the fewest bands above half; the microphones hold 60 % there, PHAT 3/32
    assert "75 % of its power in 250 Hz-1 kHz" in sentences[0]
    assert "(microphones 60 %, PHAT's flat weighting 9 %" in sentences[0]
    assert "closer to the microphone spectrum than to the PHAT weighting" in sentences[0]
    # the third method spreads its relevance upwards: closer to PHAT
    flat = band_sentences(spectra, methods=METHODS[2:])[0]
    assert "closer to the PHAT weighting than to the microphone spectrum" in flat
    profile = band_profiles(spectra, methods=METHODS[2:])[0]
    assert list(profile.relevance) == list(SPECTRA_SHARES[METHODS[2]])
    assert band_sentences(None) == [] and band_sentences(spectra.iloc[:0]) == []
