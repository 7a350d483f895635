"""SmoothGrad (Smilkov et al., 2017): the gradient averaged over noisy copies of the input."""

import torch

from ssl_xai_bench.attributions import register_method


@register_method(
    "smoothgrad",
    family="gradient",
    description="gradient averaged over noisy inputs (noise std = noise * max|x| per window)",
)
def smoothgrad(model, inputs, target, *, n_samples=8, noise=0.1, seed=0):
    generator = torch.Generator(device=inputs.device).manual_seed(seed)
    sigma = noise * inputs.abs().amax(dim=(1, 2), keepdim=True)
    total = torch.zeros_like(inputs)
    for _ in range(n_samples):
        eps = torch.randn(inputs.shape, generator=generator, device=inputs.device)
        x = (inputs + sigma * eps).requires_grad_(True)
        scalar = (model(x) * target).sum()  # explained scalar <y_hat, w>, summed over windows
        total += torch.autograd.grad(scalar, x)[0]
    return total / n_samples
