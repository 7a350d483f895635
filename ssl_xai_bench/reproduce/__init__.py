"""The reference study's claims checked against a stored run, with controls and CIs.

- :mod:`~ssl_xai_bench.reproduce.paper_reference`: the study's published numbers.
- :mod:`~ssl_xai_bench.reproduce.results`: a results folder as estimates with CIs.
- :mod:`~ssl_xai_bench.reproduce.claims`: the verdict rules.
- :mod:`~ssl_xai_bench.reproduce.deviations`: where a run departs from the study.
- :mod:`~ssl_xai_bench.reproduce.sections`, :mod:`~ssl_xai_bench.reproduce.document`: the
  Markdown document (``ssl-xai-bench reproduce``, ``docs/reproduction.md``).
"""
