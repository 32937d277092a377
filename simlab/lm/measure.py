"""What the toy models predict from, measured on the network: gradient noise scales and sharpness.

* **B_simple = tr Σ/|G|²** (McCandlish et al. 2018 Eq 2.9) by the two-batch estimator of
  ``simlab.theory.noise_scale.two_batch_estimate`` (App. A.1). A probe draws κ independent batches
  of b windows, takes their gradients G_b,1..G_b,κ and their mean G_B (B = κb); then
  E mean_j |G_b,j|² = |G|² + trΣ/b and E |G_B|² = |G|² + trΣ/B, and the estimator is linear in the
  two, so the estimates of |G|² and trΣ are unbiased. B_simple is the ratio of their means over
  probes (McCandlish average numerator and denominator separately). A sample is one window.
* **B_noise = tr(HΣ)/(GᵀHG)** (McCandlish Eq 2.8, Li et al. Eq 1), the same estimator applied to the
  H-weighted norms gᵀHg, with H the Hessian of the loss on an *independent* batch P (so
  E[gᵀH_P g] = gᵀHg given g). Hessian-vector products by double back-propagation (Pearlmutter 1994).
* **Sharpness** λ_max(H) on a fixed batch by power iteration on Hessian-vector products.

All in float32 without autocast (bf16 would swamp the differences the estimator takes).
"""
from __future__ import annotations

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from simlab import _checks
from simlab.theory.noise_scale import two_batch_estimate


def _params(model):
    return [p for p in model.parameters() if p.requires_grad]


def flat_grad(model, x, y, create_graph: bool = False):
    """The gradient of the mean loss on (x, y) as one flat vector (and the loss)."""
    _, loss = model(x, y)
    grads = torch.autograd.grad(loss, _params(model), create_graph=create_graph)
    return torch.cat([g.reshape(-1) for g in grads]), loss


def hvp_operator(model, x, y):
    """v ↦ H v for the Hessian H of the mean loss on (x, y) (flat vectors).

    The forward pass uses the MATH kernel of scaled_dot_product_attention: the fused (flash) kernels
    have no double backward."""
    with sdpa_kernel(SDPBackend.MATH):
        g, _ = flat_grad(model, x, y, create_graph=True)
    params = _params(model)

    def hvp(v):
        hv = torch.autograd.grad(g, params, grad_outputs=v, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv]).detach()
    return hvp


def _power(hvp, v, iters, shift=0.0):
    lam = 0.0
    for _ in range(iters):
        hv = hvp(v) - shift * v
        lam = float(v @ hv)
        v = hv / hv.norm().clamp_min(1e-30)
    return lam + shift


def sharpness(model, x, y, iters: int = 20, seed: int = 0) -> float:
    """The top (most positive) Hessian eigenvalue on (x, y).

    Power iteration on v ↦ Hv for ``iters`` steps finds the eigenvalue of largest magnitude λ₁; if
    λ₁ < 0 (early in training), a second run on H − λ₁I finds λ_max − λ₁ > 0, hence λ_max."""
    iters = _checks.integer("iters", iters, lo=1)
    hvp = hvp_operator(model, x, y)
    gen = torch.Generator(device="cpu").manual_seed(_checks.integer("seed", seed, lo=0))
    n = sum(p.numel() for p in _params(model))
    p0 = _params(model)[0]
    v = torch.randn(n, generator=gen, dtype=torch.float64).to(device=p0.device, dtype=p0.dtype)
    v /= v.norm()
    lam = _power(hvp, v, iters)
    return lam if lam >= 0 else _power(hvp, v, iters, shift=lam)


def gradient_probe(model, batches, hessian_batch=None) -> dict:
    """Squared norms of κ micro-batch gradients and of their mean (one two-batch probe).

    ``batches``: κ ≥ 2 pairs (x, y) of b windows each. Returns {"small": mean_j |G_b,j|², "big":
    |G_B|²} and, if ``hessian_batch`` (x, y) is given, the H-weighted "small_h", "big_h"."""
    batches = list(batches)
    if len(batches) < 2:
        raise ValueError(f"batches has {len(batches)} micro-batches; the two-batch probe needs >= 2")
    was_training = model.training
    model.eval()
    grads = [flat_grad(model, x, y)[0].detach() for x, y in batches]
    g_big = torch.stack(grads).mean(0)
    out = {"small": float(np.mean([float(g @ g) for g in grads])), "big": float(g_big @ g_big)}
    if hessian_batch is not None:
        hvp = hvp_operator(model, *hessian_batch)
        out["small_h"] = float(np.mean([float(g @ hvp(g)) for g in grads]))
        out["big_h"] = float(g_big @ hvp(g_big))
    model.train(was_training)
    return out


def noise_scale_estimate(probes, batch_small: int, kappa: int, n_samples: int | None = None,
                         weighted: bool = False) -> dict:
    """Two-batch estimates from a list of ``gradient_probe`` results (b = batch_small, B = κ·b).

    Returns ``two_batch_estimate``'s dict; its "simple_noise_scale" is B_simple (or B_noise when
    ``weighted``: the H-weighted norms, so it is tr(HΣ)/(GᵀHG)). When the estimate of the
    denominator (|G|², or GᵀHG) is ≤ 0 — it is unbiased, so this happens when its noise exceeds
    its value (few probes, early in training, or negative curvature along G) — the ratio is no
    noise scale: "simple_noise_scale" is NaN ("undefined"), not +inf, and the dict's
    "grad_sq" ± "grad_sq_se" say why."""
    small_key, big_key = ("small_h", "big_h") if weighted else ("small", "big")
    small = np.array([p[small_key] for p in probes])
    big = np.array([p[big_key] for p in probes])
    if not weighted or (small.min() >= 0 and big.min() >= 0):
        est = two_batch_estimate(small, big, batch_small, batch_small * kappa, n_samples)
    else:
        # gᵀH_P g < 0 can happen away from a minimum; ``two_batch_estimate`` accepts only norms, so
        # apply its (linear) formulas, with its finite-population factors, to the raw values here.
        lo, hi = min(small.min(), big.min()), max(small.max(), big.max())
        shift = -lo + abs(hi) + 1.0     # makes every value > 0; |G|² gets it back below, trΣ is shift-free
        est = two_batch_estimate(small + shift, big + shift, batch_small, batch_small * kappa, n_samples)
        est["grad_sq"] -= shift
    est["simple_noise_scale"] = est["trace_cov"] / est["grad_sq"] if est["grad_sq"] > 0 else np.nan
    return est
