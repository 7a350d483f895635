"""Attribution methods behind one call: ``attribute(method, model, inputs, target) -> relevance``.

Relevance has the input's shape ``(B, M, T)``, float32, signed. The explained quantity is one scalar
per window, by default the paper's ``<y_hat(x), p_gt>``.
"""
