"""Attribution methods behind one call: ``attribute(method, model, inputs, target) -> relevance``.

Relevance has the input's shape ``(B, M, T)``, float32, signed, on the CPU. The explained quantity
is one scalar per window, by default the paper's ``<y_hat(x), p_gt>``
(:mod:`ssl_xai_bench.attributions.target`). Methods come from a registry
(:mod:`ssl_xai_bench.attributions.registry`) filled by ``@register_method``, by the entry-point
group ``ssl_xai_bench.attributions`` and by user files (``load_methods_from``). The built-ins
(:mod:`ssl_xai_bench.attributions.methods`) load on the first lookup.
"""

from ssl_xai_bench.attributions.api import attribute, resolve_params
from ssl_xai_bench.attributions.errors import AttributionError, MethodLoadError
from ssl_xai_bench.attributions.registry import (
    ENTRY_POINT_GROUP,
    FAMILIES,
    MethodSpec,
    get_method,
    list_methods,
    load_methods_from,
    register_method,
    unregister_method,
)
from ssl_xai_bench.attributions.target import (
    TARGET_MODES,
    ScalarModel,
    conservation_ratio,
    explained_scalar,
    output_weights,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "FAMILIES",
    "TARGET_MODES",
    "AttributionError",
    "MethodLoadError",
    "MethodSpec",
    "ScalarModel",
    "attribute",
    "conservation_ratio",
    "explained_scalar",
    "get_method",
    "list_methods",
    "load_methods_from",
    "output_weights",
    "register_method",
    "resolve_params",
    "unregister_method",
]
