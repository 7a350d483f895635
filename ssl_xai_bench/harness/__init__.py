"""The harness: from a configuration to a results folder, through a cached stage graph.

- :mod:`~ssl_xai_bench.harness.presets`, :mod:`~ssl_xai_bench.harness.config`: presets and
  files merged, then parsed and validated once into a typed :class:`BenchConfig`.
- :mod:`~ssl_xai_bench.harness.stages`: one module per stage (rirs, windows, baselines, model,
  attribution, controls, metrics, signals), each a pure function of its typed config and its
  upstream artifacts.
- :mod:`~ssl_xai_bench.harness.graph`: the stage graph and each node's cache key (config,
  upstream keys, the import closure of its code, library versions).
- :mod:`~ssl_xai_bench.harness.store`: the content-addressed, verified artifact store.
- :mod:`~ssl_xai_bench.harness.execute`, :mod:`~ssl_xai_bench.harness.runner`: one node on a
  worker; the graph in process, on a local Dask cluster or on a remote scheduler.
- :mod:`~ssl_xai_bench.harness.collect`, :mod:`~ssl_xai_bench.harness.provenance`,
  :mod:`~ssl_xai_bench.harness.inspection`: the results folder (tidy tables, provenance,
  inspection windows).
"""
