"""Speech source localizers under study, their training, evaluation and baselines.

Inputs are raw multichannel windows ``(B, M, T)`` float32 (M microphones, T samples at 16 kHz);
outputs are source positions ``(B, 3)`` in metres, room coordinates. Depends on torch, numpy,
scipy and zennit (for the LRP rules) only.

- :mod:`~ssl_xai_bench.models.registry`: the models by name (:func:`build_model`), the built-ins
  and the plug-ins (:func:`register_model`, entry points, :func:`load_models_from`).
- ``loccnn/``, ``samplecnn/``: one folder per model: ``network.py`` and ``lrp.py`` (its LRP
  composite and canonizers).
- :mod:`~ssl_xai_bench.models.training`: the study's recipe and its CPU-scale knobs.
- :mod:`~ssl_xai_bench.models.checkpoint`: state_dicts loaded with ``weights_only=True``.
- :mod:`~ssl_xai_bench.models.evaluation`: prediction and the error measures.
- :mod:`~ssl_xai_bench.models.baselines`: the trivial centre predictor and SRP-PHAT.
"""

from ssl_xai_bench.models.registry import (
    MODELS,
    ModelSpec,
    build_model,
    get_model_spec,
    load_models_from,
    register_model,
    unregister_model,
)

__all__ = ["MODELS", "ModelSpec", "build_model", "get_model_spec", "load_models_from",
           "register_model", "unregister_model"]
