"""The built-in attribution methods, one module per family.

Each module registers its methods with :func:`ssl_xai_bench.attributions.register_method` when it
is imported; the package's entry points (``pyproject.toml``, group ``ssl_xai_bench.attributions``)
name the modules, so the built-ins load exactly like a plug-in and this package imports nothing.

- :mod:`~ssl_xai_bench.attributions.methods.lrp`: ``lrp`` (the study's composite) and its variants.
- :mod:`~ssl_xai_bench.attributions.methods.gradients`: ``gradient``, ``gradient_x_input``,
  ``integrated_gradients``, ``occlusion`` (Captum).
- :mod:`~ssl_xai_bench.attributions.methods.controls`: ``random`` and ``energy``.
"""
