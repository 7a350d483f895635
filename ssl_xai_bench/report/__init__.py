"""Reports of a results folder: tables, figures, audio and one static HTML page.

Everything here reads the files of a results folder (``leaderboard.csv``, ``model_skill.csv``,
``curves.csv``, ``tdoa.csv``, ``spectra.csv``, ``paired_tests_all.csv`` / ``paired_tests.csv``,
``inspection/*.npz``, ``provenance.json``); nothing recomputes a stage.

- :mod:`~ssl_xai_bench.report.headline`: headline tables (one metric per family, tie groups
  with the best); :mod:`~ssl_xai_bench.report.headline_render`: their Markdown, LaTeX and HTML.
- :mod:`~ssl_xai_bench.report.sanity`: sanity checks of a run (random, model randomisation) and
  where a model does not localise.
- :mod:`~ssl_xai_bench.report.citable`: the citable artefacts (headline and per-family tables,
  sanity checks, ``cite.tex``, ``cite.bib``); :mod:`~ssl_xai_bench.report.cite`: BibTeX from
  ``CITATION.cff``.
- :mod:`~ssl_xai_bench.report.tables`: leaderboards as wide CSV, Markdown and booktabs LaTeX.
- :mod:`~ssl_xai_bench.report.figures`: the plots (PNG + PDF).
- :mod:`~ssl_xai_bench.report.build_figures`: figures drawn once per content of their inputs.
- :mod:`~ssl_xai_bench.report.audio`: WAV files of inspection windows and relevance.
- :mod:`~ssl_xai_bench.report.html`: the page ``report/index.html``, an ordered list of sections
  (:mod:`~ssl_xai_bench.report.summary`, :mod:`~ssl_xai_bench.report.sections`,
  :mod:`~ssl_xai_bench.report.page`).
"""
