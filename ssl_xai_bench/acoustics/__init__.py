"""Acoustics: from a scene description to the windows a localizer sees.

Modules, in the order data flows through them (lengths in metres, times in seconds, signals at
the scene's ``fs``):

- :mod:`~ssl_xai_bench.acoustics.geometry`: microphone arrays (``line``, ``circle`` or any
  ``explicit`` positions), the source grid and its train/val/test split.
- :mod:`~ssl_xai_bench.acoustics.scene`: :class:`SceneConfig` (room, T60, array, sources, RIR
  settings, windowing, speech corpus) and the source positions per split.
- :mod:`~ssl_xai_bench.acoustics.fractional_delay`, :mod:`~ssl_xai_bench.acoustics.image_sources`,
  :mod:`~ssl_xai_bench.acoustics.absorption`: image sources, their rendering in the
  ``pyroomacoustics`` or ``gpurir`` convention, and the walls' absorption.
- :mod:`~ssl_xai_bench.acoustics.rir`: the RIRs of every source position of a scene
  (``RIRSet (S, M, L)``), the expensive, cached stage.
- :mod:`~ssl_xai_bench.acoustics.audio`, :mod:`~ssl_xai_bench.acoustics.speech`: signal helpers
  and the speech corpora (built-in eSpeak NG sentences, CMU ARCTIC or any folder of wav files).
- :mod:`~ssl_xai_bench.acoustics.windows`: speech x RIRs + noise at an SNR -> ``WindowSet``
  ``(N, M, T)`` float32 with positions, direct path and correlation times.

``docs/acoustics.md`` describes the simulator's conventions and what was measured about them.
"""
