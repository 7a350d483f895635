"""The spectral view's sentence per model (ssl_xai_bench.report.spectra)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ssl_xai_bench.report.spectra import band_profiles, band_sentences
from tests.report.report_fixture import METHODS, SPECTRA_SHARES, write_results


def test_one_sentence_per_model_names_each_methods_band(tmp_path):
    spectra = pd.read_csv(write_results(tmp_path, seed=3) / "spectra.csv")
    sentences = band_sentences(spectra, methods=METHODS[:2])
    assert [s.split(":")[0] for s in sentences] == ["loccnn", "samplecnn"]
    # both methods peak in 250-500 Hz (50 % and 40 %), the microphones in 250-500 Hz (first of
    # two 30 % bands), PHAT in its widest band
    assert (f"lies in 250 Hz-500 Hz for {METHODS[0]} (50 %) and {METHODS[1]} (40 %);"
            in sentences[0])
    assert "microphones peak in 250 Hz-500 Hz (30 %)" in sentences[0]
    assert "PHAT's flat weighting in 4 kHz-8 kHz (50 %)" in sentences[0]
    assert "closer to the microphones' than to PHAT's" in sentences[0]
    # a method spreading its relevance upwards: closer to PHAT; the methods grouped by band
    mixed = band_sentences(spectra, methods=METHODS)[0]
    assert f"in 500 Hz-1 kHz for {METHODS[2]} (20 %)" in mixed  # the first of its 20 % bands
    flat = band_sentences(spectra, methods=METHODS[2:])[0]
    assert "closer to PHAT's than to the microphones'" in flat
    profile = band_profiles(spectra, methods=METHODS)[0]
    np.testing.assert_allclose(profile.relevance, np.mean([SPECTRA_SHARES[m] for m in METHODS],
                                                          axis=0))
    assert band_sentences(None) == [] and band_sentences(spectra.iloc[:0]) == []
