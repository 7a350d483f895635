"""Registers the built-in methods by importing their modules.

LRP (:mod:`attributions.lrp`): ``lrp``, ``lrp_epsilon_first``, ``lrp_zbox_first``,
``lrp_epsilon_plus_flat``; gradients and perturbation (:mod:`attributions.gradients`): ``gradient``,
``gradient_x_input``, ``integrated_gradients``, ``occlusion``; controls
(:mod:`attributions.controls`): ``random``, ``energy``. Imported lazily by the registry on first
lookup, so ``import attributions`` stays light.
"""

from __future__ import annotations

from attributions import controls, gradients, lrp

BUILTIN_MODULES = (lrp, gradients, controls)

__all__ = ["BUILTIN_MODULES"]
