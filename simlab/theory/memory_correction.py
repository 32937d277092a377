r"""A numerical check of C1..C5 from the exact memory-correction term of Adam (paper 000, App. A.1).

Cattaneo & Shigida 2026 remove Adam's memory (Thm. 2.3, eq. 5); with ε = 0 the correction is (eq. 9)

    Corr_{n,j} = L_{n,j}/R_{n,j} − M_{n,j} P_{n,j}/R_{n,j}³,
    M_{s,i} = Σ_{k≤s} μ_{s,k} ∇_i L_k,          R_{s,i} = (Σ_{k≤s} ν_{s,k} (∇_i L_k)²)^{1/2},
    S_{k,i} = Σ_{s=k}^{n−1} M_{s,i}/R_{s,i},
    L_{n,j} = Σ_{k<n} μ_{n,k} Σ_i ∇_{ij}L_k S_{k,i},  P_{n,j} = Σ_{k<n} ν_{n,k} ∇_j L_k Σ_i ∇_{ij}L_k S_{k,i},
    μ_{t,k} = β1^{t−k}(1−β1)/(1−β1^{t+1}),     ν_{t,k} = β2^{t−k}(1−β2)/(1−β2^{t+1})  (bias-corrected),

all at one point θ, where L_k is the loss of the mini-batch used at step k: ∇L_k = g + d_k and
∇²L_k = H + d_k^{(2)}. Everything here is evaluated exactly at finite n (n chosen so that
β^n < ``tail``, i.e. the n → ∞ limit to that accuracy).

Synthetic problem: two coordinates, j = 0 (the output coordinate) and i = 1, full-batch gradient
g = (g0, g1) > 0, Hessian with H_10 = h and H_00 = H_11 = 0 — so the inner index i of App. A.1 is
distinct from j, as in the paper's classification of the noise pairings. Noise channels per step:
gradient noise d_0, d_1 and Hessian noise d_10.

Second-order coefficients. Write Corr as f(x) with x_{k,A} the noise of channel A at step k. The
second-order part of E_π f is Σ_{k,l} ∂²f/∂x_{k,A}∂x_{l,B} E_π[x_{k,A} x_{l,B}]. Under the uniform
law on permutations of N = mb samples, one epoch visits disjoint batches, so
E_π[x_{k,A} x_{l,B}] = c Σ_AB for k = l and −c Σ_AB/(m − 1) for k ≠ l, c = (m−1)/(mb−1). The paper's
Prop. 3.3 keeps the same-batch (k = l) products, i.e. the limit m → ∞; its coefficient of the
monomial E[d_A d_B] is therefore K_AB = Σ_k ∂²f/∂x_{k,A}∂x_{k,B} (times ½ when A = B). We compute
every diagonal second derivative exactly up to O(a⁴) by central differences of f in one step's
noise (step a, Richardson-extrapolated from a and a/2), vectorized over steps — an exact
permutation average of the second-order term, no Monte Carlo. The cross-batch part (finite m) is
``cross_sum``: Σ_{k≠l} ∂²f/∂x_{k,A}∂x_{l,B}, from the second derivative along the all-steps direction.

Normalized as in Prop. 3.3 (|g_j| E_π Corr_{n,j}), with s = sign g:
C1 = |g0| K_00 g0²/(s1 h), C2 = |g0| K_11 g1²/(s1 h), C3 = |g0| K_{10,0} g0/s1,
C4 = |g0| K_{10,1} |g1| (coefficient of Σ_i E[d_ij d_i]/|g_i|), C5 = |g0| K_{01} g0 |g1|/h,
FB = |g0| f(0)/(s1 h).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from simlab import _checks
from simlab.theory import implicit_bias

CHANNELS = ("d0", "d1", "d10")
# the (channel, channel) pairing that isolates each constant in the two-coordinate problem
PAIRINGS = {"C1": ("d0", "d0"), "C2": ("d1", "d1"), "C3": ("d10", "d0"),
            "C4": ("d10", "d1"), "C5": ("d0", "d1")}


def _ema(x, beta):
    """Bias-corrected EMA along the last axis: Σ_{k≤s} β^{s−k}(1−β) x_k / (1 − β^{s+1})."""
    s = np.arange(x.shape[-1])
    return lfilter([1 - beta], [1, -beta], x, axis=-1) / -np.expm1((s + 1) * math.log(beta))


def correction(grad0, grad1, hess10, beta1, beta2):
    """Corr_{n,0} of App. A.1 (eq. 9, ε = 0) for the two-coordinate problem, vectorized over rows.

    ``grad0``, ``grad1``, ``hess10``: arrays (..., n+1) of ∇_0L_k, ∇_1L_k, ∇_10L_k for k = 0..n.
    """
    b1 = _checks.beta("beta1", beta1)
    b2 = _checks.beta("beta2", beta2)
    if b1 == 0 or b2 == 0:
        raise ValueError("beta1 and beta2 must be in (0, 1) for the memory correction")
    g0 = np.asarray(grad0, dtype=float)
    g1 = np.asarray(grad1, dtype=float)
    h10 = np.asarray(hess10, dtype=float)
    n = g0.shape[-1] - 1
    m1 = _ema(g1, b1)
    r1 = np.sqrt(_ema(g1 * g1, b2))
    ratio = (m1 / r1)[..., :n]                                  # s = 0..n−1
    s_k = np.flip(np.cumsum(np.flip(ratio, -1), -1), -1)        # S_{k,1} = Σ_{s=k}^{n−1}
    k = np.arange(n)
    mu = (1 - b1) * np.exp((n - k) * math.log(b1)) / -math.expm1((n + 1) * math.log(b1))
    nu = (1 - b2) * np.exp((n - k) * math.log(b2)) / -math.expm1((n + 1) * math.log(b2))
    hs = h10[..., :n] * s_k
    big_l = np.sum(mu * hs, -1)
    big_p = np.sum(nu * g0[..., :n] * hs, -1)
    w1 = (1 - b1) * np.exp((n - np.arange(n + 1)) * math.log(b1)) / -math.expm1((n + 1) * math.log(b1))
    w2 = (1 - b2) * np.exp((n - np.arange(n + 1)) * math.log(b2)) / -math.expm1((n + 1) * math.log(b2))
    m0 = np.sum(w1 * g0, -1)
    r0 = np.sqrt(np.sum(w2 * g0 * g0, -1))
    return big_l / r0 - m0 * big_p / r0 ** 3


def horizon(beta1, beta2, tail=1e-12) -> int:
    """The number of steps n with max(β1, β2)^n < tail (finite-n stand-in for n → ∞)."""
    return int(math.ceil(math.log(tail) / math.log(max(beta1, beta2))))


class _Problem:
    def __init__(self, g, h, beta1, beta2, n):
        self.g, self.h, self.b1, self.b2, self.n = g, h, beta1, beta2, n

    def f(self, pert: dict) -> np.ndarray:
        """Corr for rows of per-step perturbations {channel: array (rows, n+1)}."""
        rows = next(iter(pert.values())).shape[0]
        base = {"d0": self.g[0], "d1": self.g[1], "d10": self.h}
        x = {c: base[c] + pert.get(c, np.zeros((rows, self.n + 1))) for c in CHANNELS}
        return correction(x["d0"], x["d1"], x["d10"], self.b1, self.b2)


def _second_sum(prob: _Problem, a_ch: str, b_ch: str, step: float, chunk: int = 256):
    """(Σ_k ∂²f/∂x_{k,A}∂x_{k,B}, Σ_{k,l} ∂²f/∂x_{k,A}∂x_{l,B}) by central differences of size ``step``."""
    n1 = prob.n + 1
    signs = [(1, 1), (1, -1), (-1, 1), (-1, -1)]
    weights = [1, -1, -1, 1]
    diag = 0.0
    for start in range(0, n1, chunk):
        idx = np.arange(start, min(start + chunk, n1))
        e = np.zeros((idx.size, n1))
        e[np.arange(idx.size), idx] = step
        diag += _mixed(prob, a_ch, b_ch, e, signs, weights)
    ones = np.full((1, n1), step)
    total = _mixed(prob, a_ch, b_ch, ones, signs, weights)
    return diag / step ** 2, total / step ** 2


def _mixed(prob, a_ch, b_ch, e, signs, weights):
    acc = 0.0
    for (sa, sb), w in zip(signs, weights):
        if a_ch == b_ch:
            pert = {a_ch: (sa + sb) * e}    # the same stencil along one direction gives ∂²f/∂x²
        else:
            pert = {a_ch: sa * e, b_ch: sb * e}
        acc += w * np.sum(prob.f(pert))
    return acc / 4


def noise_coefficients(beta1, beta2, g=(0.8, 1.3), h=0.5, step=0.02, tail=1e-12) -> dict:
    """FB and C1..C5 measured from the exact Corr_{n,0} (see module docstring), n → ∞ limit (m → ∞).

    Also returns ``"<C>_cross"``: the cross-batch sum Σ_{k≠l} in the same normalization, so that the
    exact second-order permutation average at m batches per epoch is C − C_cross/(m − 1).
    """
    b1 = _checks.in_range("beta1", beta1, 0.0, 1.0, lo_closed=False, hi_closed=False)
    b2 = _checks.in_range("beta2", beta2, 0.0, 1.0, lo_closed=False, hi_closed=False)
    gv = _checks.finite_array("g", g, shape=(2,))
    if np.any(gv <= 0):
        raise ValueError(f"g={tuple(gv)} must have both components > 0")
    h = _checks.positive("h", h)
    step = _checks.positive("step", step)
    tail = _checks.in_range("tail", tail, 0.0, 1e-3, lo_closed=False)
    n = horizon(b1, b2, tail)
    prob = _Problem(gv, h, b1, b2, n)
    g0, g1 = gv
    f0 = float(prob.f({"d0": np.zeros((1, n + 1))})[0])
    scale = {"C1": g0 * g0 * g0 / h, "C2": g0 * g1 * g1 / h, "C3": g0 * g0,
             "C4": g0 * g1, "C5": g0 * g0 * g1 / h}
    out = {"FB": g0 * f0 / h, "n": n}
    for name, (a, b) in PAIRINGS.items():
        # Richardson: the central differences have error O(step²)
        d_a, t_a = _second_sum(prob, a, b, step)
        d_b, t_b = _second_sum(prob, a, b, step / 2)
        diag = (4 * d_b - d_a) / 3
        total = (4 * t_b - t_a) / 3
        half = 0.5 if a == b else 1.0
        out[name] = scale[name] * half * diag
        out[name + "_cross"] = scale[name] * half * (total - diag)
    return out


def closed_forms(beta1, beta2) -> dict:
    """FB and C1..C5 from ``implicit_bias`` (derived C1 reading, C4 without the ½)."""
    ib = implicit_bias
    return {"FB": ib.full_batch(beta1, beta2), "C1": ib.c1(beta1, beta2), "C2": ib.c2(beta1, beta2),
            "C3": ib.c3(beta1, beta2), "C4": ib.c4(beta1, beta2), "C5": ib.c5(beta1, beta2)}
