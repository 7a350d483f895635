"""The benchmark's stages, one module each: pure functions of (typed config, upstream artifacts).

Each stage module defines ``STAGE`` (its name), a frozen dataclass ``Config`` (everything that
changes its output, and nothing else: ``Config.key_dict()`` is what its cache key hashes),
``compute(config, upstream, runtime) -> writer`` and the loaders of its artifact for the stages
downstream. :mod:`ssl_xai_bench.harness.execute` runs one node; :mod:`ssl_xai_bench.harness.graph`
builds the nodes and their keys.

Stages (artifact files in brackets), in data-flow order:

- ``rirs``: scene -> RIRs of every train/val/test position [rirs.npz, positions.npz]
- ``windows``: rirs + SNR + speech draw -> WindowSets [train.npz, val.npz, test.npz]
- ``baselines``: windows -> trivial and SRP-PHAT predictions on the test set [predictions.npz]
- ``model``: windows + model + training budget (or external weights) -> checkpoint [model.pt,
  history.json, predictions.npz]
- ``attribution``: model + test windows + method -> relevance [relevance.npy, index.npy]
- ``controls``: model + test windows -> the method-independent manipulation curves [curves.npz]
- ``metrics``: relevance + model + windows + controls -> metric rows, curves, TDoA [rows.json,
  curves.csv, tdoa.csv, spectra.csv, per_window.npz]
- ``signals``: windows -> method-independent rows (microphones, constant lag, direct path)
  [tdoa.csv, spectra.csv, rows.json]
"""

#: Stage name -> module, in data-flow order.
STAGE_MODULES = {
    name: f"ssl_xai_bench.harness.stages.{name}"
    for name in ("rirs", "windows", "baselines", "model", "attribution", "controls", "metrics",
                 "signals")
}
