"""Metrics: how well a relevance map explains a localizer, each number with n and a 95 % CI.

- :mod:`~ssl_xai_bench.metrics.catalogue`: the families, in evaluation order, and every metric's
  spec (category, direction, unit); :mod:`~ssl_xai_bench.metrics.spec` the shapes they share.
- Families, one module each: :mod:`~ssl_xai_bench.metrics.manipulation` (the study's experiment
  A), :mod:`~ssl_xai_bench.metrics.conservation`, :mod:`~ssl_xai_bench.metrics.tdoa` (experiment
  B, GCC-PHAT in :mod:`~ssl_xai_bench.metrics.gcc_phat`), :mod:`~ssl_xai_bench.metrics.dereverb`,
  :mod:`~ssl_xai_bench.metrics.srp`, :mod:`~ssl_xai_bench.metrics.channel_identity`,
  :mod:`~ssl_xai_bench.metrics.quantus_suite` (Quantus 0.6.0 adapted to a regressor; parameters
  in :mod:`~ssl_xai_bench.metrics.quantus_params`).
- :mod:`~ssl_xai_bench.metrics.config`: the ``[metrics]`` settings, one object per family.
- :mod:`~ssl_xai_bench.metrics.evaluate`: one cell (``evaluate_method``), the shared controls
  (``evaluate_controls``) and the method-independent signal rows (``evaluate_signals``).
- :mod:`~ssl_xai_bench.metrics.stats`: cluster-bootstrap CIs over sources, paired tests.

``docs/metrics.md`` defines every metric; ``docs/adding-a-metric.md`` shows how to add one.
"""
