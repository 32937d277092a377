"""The closed forms of Li et al. 2024, *Surge Phenomenon in Optimal Learning Rate and Batch Size
Scaling* (arXiv 2405.14578), and the McCandlish et al. 2018 SGD laws they are contrasted with.

Each function is one equation (numbers as in the paper; maths recovered in docs/reference/
surge.md). Shorthand: r_i = μ_i/σ_i, M = Σ_i μ_i²/σ_i, D = Σ_i H_ii, O = Σ_{i≠j} r_i r_j H_ij.
The exact erf model they approximate is ``simlab.problems.sign_model``.

Regimes of validity: Theorem 3, Theorem 5 and Eq 39 need B ≪ π σ_i²/(2 μ_i²) for *every* i
(``validity_bound`` returns the minimum); Theorem 4 needs B ≫ that bound for every i and μ_i ≠ 0.
The surge (finite B_noise) needs O > 0: with a diagonal H, O = 0 and B_noise = ∞.

Where the peak of Theorem 3 is inside its own range (``equal_snr_peak_ratio``): for equal
|r_i| = r, B_noise / (π/(2r²)) = D/O_s with O_s = Σ_{i≠j} s_i s_j H_ij (s = sign μ), the exact
erf model has an interior peak iff D < O_s (i.e. iff B_noise < the validity bound), and then

    B_peak,exact / B_noise = (4/π) erfinv(x)²/x²,   x = √(D/O_s)  →  1 + (π/6) x² + O(x⁴),

so Eq 15 (B_peak = B_noise) is the leading term of the exact peak in the ratio B_noise/bound.
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from ..problems.sign_model import SignModel, _batch, _model, optimal_improvement


def _parts(model: SignModel):
    model = _model(model)
    r = model.snr
    h = model.hessian
    d_sum = float(np.trace(h))
    o_sum = float(r @ h @ r - np.sum(r * r * np.diag(h)))
    m_sum = float(np.sum(model.mu ** 2 / model.sigma))
    return r, d_sum, o_sum, m_sum


# ---------------------------------------------------------------- sign descent (Adam-like) ----

def expected_sign_eq10(model: SignModel, batch_size) -> np.ndarray:
    """Eq 10: 𝓔_i(B) ≈ r_i / √(π/(2B) + r_i²), i.e. erf(x) ≈ x/√(π/4 + x²), x = √(B/2) r_i.

    Correct slope at B → 0 and limit sign(μ_i) at B → ∞; under-estimates |erf| by up to 0.108.
    """
    b = _batch(batch_size)[..., None]
    r = _model(model).snr
    return r / np.sqrt(np.pi / (2.0 * b) + r * r)


def optimal_lr_eq10(model: SignModel, batch_size) -> np.ndarray:
    """Eq 9 with 𝓔 from the Eq 10 approximation instead of erf."""
    e = expected_sign_eq10(model, batch_size)
    h = model.hessian
    curv = (1.0 - e * e) @ np.diag(h) + np.einsum("...i,ij,...j->...", e, h, e)
    return (e @ model.mu) / curv


def noise_batch_eq14(model: SignModel) -> float:
    """Eq 14: B_noise = π Σ_i H_ii / (2 Σ_{i≠j} r_i r_j H_ij) = π D/(2 O); ∞ when O ≤ 0."""
    _, d_sum, o_sum, _ = _parts(model)
    return np.inf if o_sum <= 0 else np.pi * d_sum / (2.0 * o_sum)


def peak_batch_eq15(model: SignModel) -> float:
    """Eq 15: B_peak = B_noise (the argmax of the Theorem 3 curve, Eq 13)."""
    return noise_batch_eq14(model)


def max_lr_eq16(model: SignModel) -> float:
    """Eq 16: ε_max = √(B_noise/(2π)) M / D = M / (2 √(O D)) (the Theorem 3 peak height)."""
    _, d_sum, o_sum, m_sum = _parts(model)
    return np.inf if o_sum <= 0 else m_sum / (2.0 * np.sqrt(o_sum * d_sum))


def max_lr_lower_bound_eq41(model: SignModel) -> float:
    """Eq 41 (AM-GM): ε_max ≥ M / (O + D)."""
    _, d_sum, o_sum, m_sum = _parts(model)
    return m_sum / (o_sum + d_sum)


def coupling_ratio(model: SignModel) -> float:
    """x² = D/O_s with O_s = Σ_{i≠j} sign(μ_i) sign(μ_j) H_ij, D = Σ_i H_ii (∞ when O_s ≤ 0).

    For equal |SNR| r this is B_noise (Eq 14) divided by the Theorem 3 validity bound π/(2r²)."""
    model = _model(model)
    s = np.sign(model.mu)
    h = model.hessian
    o_s = float(s @ h @ s - np.sum(s * s * np.diag(h)))
    return np.inf if o_s <= 0 else float(np.trace(h)) / o_s


def equal_snr_peak_ratio(coupling) -> np.ndarray:
    """B_peak,exact / B_noise = (4/π) erfinv(x)²/x² with x = √(D/O_s) (module docstring).

    Exact for the erf model (Theorem 2, Eq 9) when every |μ_i/σ_i| is equal: then
    ε_opt = e Σ|μ| / (D + e² r² O_s·/r²) is a function of e = erf(r√(B/2)) alone, maximal at
    e = x. ``coupling`` = D/O_s = x² ∈ (0, 1); at ≥ 1 there is no interior peak (nan).
    """
    from scipy.special import erfinv
    c = _checks.real_or_array("coupling", coupling, 0.0, np.inf, lo_closed=False)
    x = np.sqrt(c)
    with np.errstate(invalid="ignore"):
        out = np.where(c < 1.0, 4.0 / np.pi * erfinv(np.minimum(x, 1 - 1e-16)) ** 2 / c, np.nan)
    return out if np.ndim(coupling) else float(out)


def equal_snr_peak_batch(model: SignModel) -> float:
    """The exact erf model's peak B* = 2 erfinv(x)²/r² for equal |SNR| r (nan if D ≥ O_s);
    ValueError if the |μ_i/σ_i| are not all equal (to 1e-12 relative)."""
    from scipy.special import erfinv
    model = _model(model)
    r = np.abs(model.snr)
    if np.ptp(r) > 1e-12 * r.max():
        raise ValueError(f"model has unequal |SNR| (range {r.min():.3g}..{r.max():.3g}); the "
                         "closed-form peak needs equal |μ_i/σ_i|")
    c = coupling_ratio(model)
    if not c < 1.0:
        return np.nan
    return float(2.0 * erfinv(np.sqrt(c)) ** 2 / r[0] ** 2)


def validity_bound(model: SignModel) -> float:
    """min_i π σ_i²/(2 μ_i²): Theorems 3 and 5 need B well below it, Theorem 4 well above."""
    r = _model(model).snr
    with np.errstate(divide="ignore"):
        return float(np.min(np.pi / (2.0 * r * r)))


def optimal_lr_eq39(model: SignModel, batch_size) -> np.ndarray:
    """Eq 39/40, the linearised model: ε ≈ √(2B/π) M / (D + (2B/π) O) (equals Eq 13)."""
    b = _batch(batch_size)
    _, d_sum, o_sum, m_sum = _parts(model)
    return np.sqrt(2.0 * b / np.pi) * m_sum / (d_sum + 2.0 * b / np.pi * o_sum)


def optimal_lr_theorem3(model: SignModel, batch_size) -> np.ndarray:
    """Theorem 3, Eq 13: ε_opt(B) ≈ ε_max / (½(√(B_noise/B) + √(B/B_noise))) ≤ ε_max.

    Valid for B ≪ ``validity_bound``. With O ≤ 0 (e.g. diagonal H) it is the pure square-root
    law √(2B/π) M/D, which grows without bound.
    """
    b = _batch(batch_size)
    b_noise = noise_batch_eq14(model)
    if not np.isfinite(b_noise):
        _, d_sum, _, m_sum = _parts(model)
        return np.sqrt(2.0 * b / np.pi) * m_sum / d_sum
    return max_lr_eq16(model) / (0.5 * (np.sqrt(b_noise / b) + np.sqrt(b / b_noise)))


def optimal_lr_theorem4(model: SignModel) -> float:
    """Theorem 4, Eq 17: lim_{B→∞} ε_opt = Σ_i |μ_i| / Σ_ij sign(μ_i) sign(μ_j) H_ij."""
    model = _model(model)
    s = np.sign(model.mu)
    return float(np.sum(np.abs(model.mu)) / (s @ model.hessian @ s))


def max_improvement_eq19(model: SignModel) -> float:
    """Eq 19: ΔL_max = M² / (2 O); ∞ when O ≤ 0."""
    _, _, o_sum, m_sum = _parts(model)
    return np.inf if o_sum <= 0 else m_sum ** 2 / (2.0 * o_sum)


def optimal_improvement_theorem5(model: SignModel, batch_size) -> np.ndarray:
    """Theorem 5, Eq 18: ΔL_opt(B) ≈ ΔL_max / (1 + B_noise/B); for B ≪ ``validity_bound``.

    With O ≤ 0 it is (B/π) M²/D (linear in B, no saturation)."""
    b = _batch(batch_size)
    _, d_sum, o_sum, m_sum = _parts(model)
    return (b / np.pi) * m_sum ** 2 / (d_sum + 2.0 * b / np.pi * o_sum)


def adam_lr_eq2(batch_size, max_lr: float, noise_batch: float) -> np.ndarray:
    """Eq 2 (= Eq 13 in general form): ε_opt = ε_max / (½(√(B_noise/B) + √(B/B_noise)))."""
    b = _batch(batch_size)
    max_lr = _checks.positive("max_lr", max_lr)
    noise_batch = _checks.positive("noise_batch", noise_batch)
    return max_lr / (0.5 * (np.sqrt(noise_batch / b) + np.sqrt(b / noise_batch)))


def adam_small_batch_eq4(batch_size, max_lr: float, noise_batch: float) -> np.ndarray:
    """Eq 4, square-root law for B ≪ B_noise: ε_opt ≈ 2 ε_max √(B/B_noise)."""
    b = _batch(batch_size)
    max_lr = _checks.positive("max_lr", max_lr)
    noise_batch = _checks.positive("noise_batch", noise_batch)
    return 2.0 * max_lr * np.sqrt(b / noise_batch)


# ------------------------------------------------------------------ SGD (McCandlish 2018) ----

def sgd_lr_eq1(batch_size, max_lr: float, noise_batch: float) -> np.ndarray:
    """Eq 1 (McCandlish et al. 2018 Eq 2.7): ε_opt(B) = ε_max / (1 + B_noise/B), monotone in B."""
    b = _batch(batch_size)
    max_lr = _checks.positive("max_lr", max_lr)
    noise_batch = _checks.nonnegative("noise_batch", noise_batch)
    return max_lr / (1.0 + noise_batch / b)


def sgd_small_batch_eq3(batch_size, max_lr: float, noise_batch: float) -> np.ndarray:
    """Eq 3, linear law for B ≪ B_noise: ε_opt ≈ ε_max B / B_noise."""
    b = _batch(batch_size)
    max_lr = _checks.positive("max_lr", max_lr)
    noise_batch = _checks.positive("noise_batch", noise_batch)
    return max_lr * b / noise_batch


def sgd_constants(gradient, hessian, covariance) -> tuple[float, float]:
    """(ε_max, B_noise) of SGD from Lemma 1 with V = G_est, E V = G, Cov V = Σ/B:
    ε_max = |G|²/(GᵀHG), B_noise = tr(HΣ)/(GᵀHG) (McCandlish et al. 2018 Eq 2.7-2.8)."""
    g = _checks.finite_array("gradient", gradient, ndim=1)
    d = g.shape[0]
    h = _checks.symmetric_psd("hessian", hessian)
    s = _checks.symmetric_psd("covariance", covariance)
    if h.shape != (d, d) or s.shape != (d, d):
        raise ValueError(f"hessian and covariance must have shape {(d, d)} to match gradient, "
                         f"got {h.shape} and {s.shape}")
    ghg = float(g @ h @ g)
    if ghg <= 0:
        raise ValueError(f"gradient has zero curvature GᵀHG={ghg!r}; it must be > 0")
    return float(g @ g) / ghg, float(np.trace(h @ s)) / ghg


def sgd_model_lr(model: SignModel, batch_size) -> np.ndarray:
    """Exact ε_opt(B) of SGD on the sign model's Gaussian gradients (Σ = diag σ²): Eq 1 with
    ``sgd_constants`` (exact for a quadratic loss, every B)."""
    model = _model(model)
    eps_max, b_noise = sgd_constants(model.mu, model.hessian, np.diag(model.sigma ** 2))
    return sgd_lr_eq1(batch_size, eps_max, b_noise)


# ------------------------------------------------------------ data/time trade-off (Eq 20) ----

def steps_eq20(examples, min_steps: float, min_examples: float) -> np.ndarray:
    """Eq 20 solved for S: (S/S_min − 1)(E/E_min − 1) = 1  ⇒  S = S_min E/(E − E_min), E > E_min."""
    min_steps = _checks.positive("min_steps", min_steps)
    min_examples = _checks.positive("min_examples", min_examples)
    e = _checks.real_or_array("examples", examples, min_examples, np.inf, lo_closed=False)
    return min_steps * e / (e - min_examples)


def fit_tradeoff_eq22(steps, examples) -> dict:
    """Eq 22/46: least-squares line 1/S = −B_noise (1/E) + 1/S_min over (S, E) pairs.

    Returns {"noise_batch": E_min/S_min, "min_steps": S_min, "min_examples": E_min}; needs ≥ 2
    pairs with distinct E. A non-positive intercept or slope gives inf/nan, reported as such.
    """
    s = _checks.real_or_array("steps", steps, 0.0, np.inf, lo_closed=False).ravel()
    e = _checks.real_or_array("examples", examples, 0.0, np.inf, lo_closed=False).ravel()
    if s.shape != e.shape:
        raise ValueError(f"steps and examples must have the same length, got {s.shape} and {e.shape}")
    if s.size < 2 or np.ptp(e) == 0:
        raise ValueError(f"examples must hold at least 2 distinct values, got {e.tolist()}")
    slope, intercept = np.polyfit(1.0 / e, 1.0 / s, 1)
    min_steps = 1.0 / intercept if intercept > 0 else np.inf
    noise_batch = -slope
    return {"noise_batch": float(noise_batch), "min_steps": float(min_steps),
            "min_examples": float(noise_batch * min_steps)}


def exact_tradeoff(model: SignModel, batch_size) -> tuple[np.ndarray, np.ndarray]:
    """(S, E) per unit of loss to descend in the exact model with statistics held constant:
    S(B) = 1/ΔL_opt(B), E(B) = B S(B) (the construction of McCandlish App. D, Eq 44)."""
    b = _batch(batch_size)
    s = 1.0 / optimal_improvement(model, b)
    return s, b * s
