"""ssl-xai-bench: which attribution method best explains a deep speech source localizer, and why.

One import root; its sub-packages are layers, lowest first. A module imports only from its own
sub-package or from a layer below it, never from one above (``tests/test_architecture.py``
checks this and that there is no import cycle):

0. ``errors``, ``validate``, ``hashing``: the shared error type, the one set of config
   validators, and content hashes.
1. :mod:`ssl_xai_bench.models`: the localizers (LocCNN, SampleCNN; one folder each, with their
   LRP rules), training, checkpoints, evaluation, non-neural baselines.
   :mod:`ssl_xai_bench.acoustics`: geometry, room impulse responses, speech, scenes and windows.
2. :mod:`ssl_xai_bench.attributions`: every attribution method behind one call.
3. :mod:`ssl_xai_bench.metrics`: the metric catalogue and the evaluation of one cell.
4. :mod:`ssl_xai_bench.harness`: the typed configuration, presets, the stage graph and its
   content-addressed store, one module per stage, the runner and the results collector.
5. :mod:`ssl_xai_bench.report`: tables, figures, audio and the HTML report of a results folder.
6. :mod:`ssl_xai_bench.reproduce`: the reference study's claims checked against a run.
7. :mod:`ssl_xai_bench.cli`: the ``ssl-xai-bench`` command.

Data flows one way: configuration -> scenes -> windows -> trained models -> relevance ->
metric rows -> tables and report (``docs/design.md``).
"""

__version__ = "0.2.0"
