"""ssl-xai-bench harness: scenes and speech, configuration, metrics, store, runner, CLI, report.

The harness imports :mod:`ssl_models` (the localizers) and :mod:`attributions` (the explanation
methods); neither of those imports it.
"""

__version__ = "0.1.0"
