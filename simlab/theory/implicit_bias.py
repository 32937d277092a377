r"""Adam's implicit bias under mini-batch noise: the constants C1..C5 and C_total.

Cattaneo & Shigida 2026, *The Effect of Mini-Batch Noise on the Implicit Bias of Adam* (paper 000).
For Adam with ε → 0, removing memory (their Thm. 2.3, eq. 5) leaves a correction term
Corr_{n,j} = L_{n,j}/R_{n,j} − M_{n,j}P_{n,j}/R_{n,j}³ (App. A.1, eq. 9). Expanding it to second order
in the mini-batch noise d and averaging over sample permutations gives Prop. 3.3 (eq. 6):

    |g_j| E_π Corr_{n,j} = FB ∇_j‖g‖₁ + MBN1 + … + MBN5 + O(d³),
    FB(β1, β2) = β1/(1−β1) − β2/(1−β2),

with MBN_k = C_k(β1, β2) × (a noise monomial), C1..C5 given in App. A.2 (eq. 10). Replacing every
per-coordinate noise-to-signal ratio Σ_jj/g_j² by B_simple makes MBN1 and MBN2 proportional to ∇_j‖g‖₁
and leaves (eq. 7)

    C_total(β1, β2, λ) = β1/(1−β1) − β2/(1−β2) + (C1 + C2)·λ,    λ = (N/b − 1)/(N − 1)·B_simple (eq. 8).

C_total > 0 is implicit regularization of the ℓ1 gradient norm (a first-order sharpness measure),
C_total < 0 anti-regularization. Validity: ε → 0, n → ∞, gradient-dominated regime (terms O(d³)
dropped), no full-batch gradient component exactly zero, and the B_simple substitution.

The OCR of App. A.2 is damaged; the formulas here follow the reconstruction in
``docs/reference/ctotal.md`` (checked against App. A.1 by ``simlab.theory.memory_correction``).
**Known ambiguity:** the OCR'd C1 contains −2/(β1(1−β1)) where the derivation from App. A.1 gives
−2(1+β1−β1²)/(β1(1−β1)) = −2/(β1(1−β1)) − 2. The two readings differ by the additive constant 2, which
no lemma can detect (every lemma is about derivatives of C1 + C2). ``reading="ocr"`` selects the literal
OCR reading (C1 + 2); it shifts C_total by 2λ and hence the λ at which C_total changes sign, but no
monotonicity threshold and no best β.

Threshold functions locate the switch points by root finding on the derivative over the whole
interval (a fine scan for brackets, then ``scipy.optimize.brentq``), treating the endpoint β → 1 as
an explicit limit; derivatives are exact (Taylor jets, ``simlab.theory._taylor``), not finite
differences.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from simlab import _checks
from simlab.theory._taylor import Jet

READINGS = ("derived", "ocr")
C1_OCR_OFFSET = 2.0   # C1(ocr reading) − C1(derived reading)


# --- the constants as plain arithmetic (work on floats, arrays and Jets) -----------------------

def _c1(b1, b2):
    # compact form straight out of the expansion: E[L/R] part, then −E[MP/R³] (Prop. A.6);
    # equal to the partial-fraction form of App. A.2 with the derived constant, and regular at β1 = 0.
    return (b1 * (1 - 2 * b2) / ((1 - b1) * (1 + b2))
            + 3 * b2 * (3 * b2 - 2) / ((1 - b2) * (1 + b2))
            + 3 * b2 ** 2 / (1 + b2) ** 2
            + 3 * b2 * (1 - b1) / (1 - b1 * b2)
            - b1 * b2 * (1 - b1) * (1 - b2) / (1 - b1 * b2) ** 2)


def _c2(b1, b2):
    return ((b1 - b2) * (b1 * b2 ** 2 - b1 * b2 + b1 + b2 ** 2 - 2 * b2)
            / ((1 - b1) * (1 - b2) * (1 + b2) * (1 - b1 * b2)))


def _c3(b1, b2):
    return (3 * b2 ** 2 / (1 + b2) ** 2
            - 2 * b1 * b2 * (1 - b1) * (1 - b2) / (1 - b1 * b2) ** 2
            - b2 / (1 - b2))


def _c4(b1, b2):
    return -(b1 - b2) ** 2 / ((1 + b1) * (1 + b2) * (1 - b1 * b2))


def _c5(b1, b2):
    return b2 * (b2 - b1) * (2 * b2 - 3 * b1 - 1) / ((1 + b1) * (1 + b2) ** 2 * (1 - b1 * b2))


def _fb(b1, b2):
    return b1 / (1 - b1) - b2 / (1 - b2)


def _s(b1, b2):
    return _c1(b1, b2) + _c2(b1, b2)


# --- validated public constants ----------------------------------------------------------------

def _betas(beta1, beta2):
    b1 = _checks.real_or_array("beta1", beta1, 0.0, 1.0, hi_closed=False)
    b2 = _checks.real_or_array("beta2", beta2, 0.0, 1.0, hi_closed=False)
    return b1, b2


def _out(x):
    return float(x) if np.ndim(x) == 0 else x


def full_batch(beta1, beta2):
    """FB(β1, β2) = β1/(1−β1) − β2/(1−β2), the noise-free coefficient of ∇_j‖g‖₁ (Prop. 3.3)."""
    b1, b2 = _betas(beta1, beta2)
    return _out(_fb(b1, b2))


def c1(beta1, beta2, reading: str = "derived"):
    r"""C1 (App. A.2, eq. 10): coefficient of MBN1 = C1 ∇_j‖g‖₁ Σ_jj/g_j² (m−1)/(mb−1).

    Derived reading (partial fractions):
    (1−β1²)/(β1(1−β1β2)) + (1−β1)²/(β1(1−β1β2)²) + 3(1+β1)/(2(1−β1)(1+β2))
    − 2(1+β1−β1²)/(β1(1−β1)) + 3/(2−2β2) + 3/(1+β2)²; ``reading="ocr"`` adds 2 (module docstring).
    """
    _checks.choice("reading", reading, READINGS)
    b1, b2 = _betas(beta1, beta2)
    return _out(_c1(b1, b2) + (C1_OCR_OFFSET if reading == "ocr" else 0.0))


def c2(beta1, beta2):
    """C2 (eq. 10) = (β1−β2)(β1β2²−β1β2+β1+β2²−2β2)/((1−β1)(1−β2)(1+β2)(1−β1β2)); MBN2 pairs the
    noise inside S_{k,i}: C2 Σ_i g_ij s_i Σ_ii/g_i² (m−1)/(mb−1)."""
    b1, b2 = _betas(beta1, beta2)
    return _out(_c2(b1, b2))


def c3(beta1, beta2):
    """C3 (eq. 10) = 3β2²/(1+β2)² − 2β1β2(1−β1)(1−β2)/(1−β1β2)² − β2/(1−β2); multiplies
    (1/g_j) Σ_i s_i E_π[d_{0,ij} d_{0,j}] (Hessian noise × gradient noise; neutral, App. A.3.1)."""
    b1, b2 = _betas(beta1, beta2)
    return _out(_c3(b1, b2))


def c4(beta1, beta2):
    """C4 = −(β1−β2)²/((1+β1)(1+β2)(1−β1β2)), the coefficient of Σ_i E_π[d_{0,ij} d_{0,i}]/|g_i|.

    Written through ∇_jΣ_ii (Lemma A.7) the paper's MBN4 would carry a factor ½; the OCR does not
    settle which normalization A.2 uses. Every Lemma A.1 bound holds for both.
    """
    b1, b2 = _betas(beta1, beta2)
    return _out(_c4(b1, b2))


def c5(beta1, beta2):
    """C5 (eq. 10) = β2(β2−β1)(2β2−3β1−1)/((1+β1)(1+β2)²(1−β1β2)); multiplies the cross-covariance
    monomial Σ_i g_ij Σ_ij/(g_j|g_i|) (m−1)/(mb−1)."""
    b1, b2 = _betas(beta1, beta2)
    return _out(_c5(b1, b2))


def c_total(beta1, beta2, lam, reading: str = "derived"):
    """C_total(β1, β2, λ) = β1/(1−β1) − β2/(1−β2) + (C1 + C2)λ (eq. 7), vectorized (broadcasts)."""
    _checks.choice("reading", reading, READINGS)
    b1, b2 = _betas(beta1, beta2)
    lam = _checks.real_or_array("lam", lam, 0.0, math.inf)
    c1v = _c1(b1, b2) + (C1_OCR_OFFSET if reading == "ocr" else 0.0)
    return _out(_fb(b1, b2) + (c1v + _c2(b1, b2)) * lam)


# --- λ and batch size ---------------------------------------------------------------------------

def noise_ratio(dataset_size, batch_size, b_simple):
    """λ = (N/b − 1)/(N − 1)·B_simple (eq. 8), ≈ B_simple/b for b ≪ N; 0 for full batch (b = N)."""
    n = _checks.integer("dataset_size", dataset_size, lo=2)
    b = _checks.in_range("batch_size", batch_size, 1.0, float(n))
    s = _checks.positive("b_simple", b_simple)
    return (n / b - 1.0) / (n - 1.0) * s


def batch_size_for(lam, dataset_size, b_simple):
    """The batch size b with noise_ratio(N, b, B_simple) = λ: b = N·B/(λ(N−1) + B).

    λ = 1/2 gives the paper's transition batch size 2N·B_simple/(N − 1 + 2B_simple) ≈ 2B_simple.
    """
    lam = _checks.nonnegative("lam", lam)
    n = _checks.integer("dataset_size", dataset_size, lo=2)
    s = _checks.positive("b_simple", b_simple)
    return n * s / (lam * (n - 1.0) + s)


# --- extrema of a smooth function on [lo, 1) with the limit at 1 -------------------------------

_SCAN_POINTS = 4001
# The scan stops at β = 1 − _EDGE; beyond it the derivatives lose all digits to cancellation between
# pole terms, and the value at β = 1 is the analytic limit instead.
_EDGE = 1e-7


def _scan_grid(lo: float, hi: float) -> np.ndarray:
    """Points on [lo, hi] uniform in −log(1 − β): dense where the closed forms vary fastest."""
    u = np.linspace(-math.log1p(-lo), -math.log1p(-hi), _SCAN_POINTS)
    return -np.expm1(-u)


def _extrema(value, slope, lo: float, hi: float, value_at_hi):
    """(min, argmin, max, argmax) of a smooth ``value`` on [lo, hi].

    Candidates: lo, hi (``value_at_hi`` overrides the value there, e.g. a limit β → 1) and every
    interior root of ``slope``, bracketed on a fine scan and polished with brentq.
    """
    grid = _scan_grid(lo, min(hi, 1 - _EDGE))
    d = slope(grid)
    xs = [lo]
    for k in np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)[0]:
        a, b = grid[k], grid[k + 1]
        if np.sign(slope(a)) * np.sign(slope(b)) < 0:
            xs.append(brentq(slope, a, b, xtol=1e-14, rtol=1e-14))
        else:                       # a rounding-level sign flicker: keep the point as a candidate
            xs.append(a)
    vals = [float(value(x)) for x in xs]
    xs.append(hi)
    vals.append(float(value_at_hi))
    i, j = int(np.argmin(vals)), int(np.argmax(vals))
    return vals[i], xs[i], vals[j], xs[j]


@dataclass(frozen=True)
class SwitchPoints:
    """Monotonicity thresholds of C_total in one β over [lo, 1) with the other β fixed.

    ``lam_upper``: for λ > lam_upper, C_total is strictly monotone in the direction the noise term
    favours (increasing in β2 / decreasing in β1); ``lam_lower``: for 0 ≤ λ < lam_lower it is strictly
    monotone the other way. ``at_upper``/``at_lower`` are where the sup/inf of the critical ratio
    r(β) is attained (1.0 means as the limit β → 1).
    """
    lam_upper: float
    at_upper: float
    lam_lower: float
    at_lower: float


def _ratio_parts(which: str, fixed: float):
    """q(β) = (1−β)²·|∂(C1+C2)/∂β|, its slope, and its limit at β → 1; the critical ratio is r = 1/q.

    ∂C_total/∂β2 = −1/(1−β2)² + λ ∂_{β2}(C1+C2): increasing in β2 iff λ > r(β2) (∂_{β2}(C1+C2) > 0).
    ∂C_total/∂β1 = 1/(1−β1)² + λ ∂_{β1}(C1+C2): decreasing in β1 iff λ > r(β1) (∂_{β1}(C1+C2) < 0).
    Limits at β → 1: C1 + C2 = 2/(1−β2) + O(1), so q → 2 (r → 1/2) in β2; in β1,
    C1 + C2 = −2(2β2−1)/((1+β2)(1−β1)) + O(1), so q → 2(2β2−1)/(1+β2).
    """
    sign = 1.0 if which == "beta2" else -1.0

    def jet(x):
        v = Jet.variable(x)
        return _s(fixed, v) if which == "beta2" else _s(v, fixed)

    def q(x):
        j = jet(x)
        return (1 - np.asarray(x)) ** 2 * sign * j.derivative

    def dq(x):
        j = jet(x)
        x = np.asarray(x)
        return sign * (-2 * (1 - x) * j.derivative + (1 - x) ** 2 * j.second_derivative)

    limit = 2.0 if which == "beta2" else 2.0 * (2 * fixed - 1) / (1 + fixed)
    return q, dq, limit


def _switch(which: str, fixed: float, lo: float) -> SwitchPoints:
    q, dq, limit = _ratio_parts(which, fixed)
    grid = _scan_grid(lo, 1 - _EDGE)
    if limit <= 0 or not np.all(q(grid) > 0):
        other = "beta1" if which == "beta2" else "beta2"
        raise ValueError(f"{other}={fixed!r}: ∂(C1+C2)/∂{which} changes sign on [{lo}, 1), so no "
                         "single λ threshold exists; allowed: a fixed beta where it keeps one sign")
    qmin, xmin, qmax, xmax = _extrema(q, dq, lo, 1.0, limit)
    return SwitchPoints(lam_upper=1.0 / qmin, at_upper=xmin, lam_lower=1.0 / qmax, at_lower=xmax)


def switch_points_beta2(beta1=0.9, lo=0.9) -> SwitchPoints:
    """Thresholds in β2 ∈ [lo, 1) for fixed β1 (Lemmas 3.4, 3.5): C_total increasing in β2 for
    λ > lam_upper, decreasing for λ < lam_lower. Paper: β1=0.9 → 0.5082 / 0.494; β1=0.99 → 2.685 / 0.499."""
    b1 = _checks.beta("beta1", beta1)
    lo = _checks.beta("lo", lo)
    return _switch("beta2", b1, lo)


def switch_points_beta1(beta2=0.999, lo=0.9) -> SwitchPoints:
    """Thresholds in β1 ∈ [lo, 1) for fixed β2 (Lemma 3.6): C_total decreasing in β1 for
    λ > lam_upper, increasing for λ < lam_lower. Paper (β2 = 0.999): 1.002 / 0.995."""
    b2 = _checks.beta("beta2", beta2)
    lo = _checks.beta("lo", lo)
    return _switch("beta1", b2, lo)


def convexity_window_beta2(beta1=0.99, lo=0.9):
    """(λ_convex, λ_slope): Lemma 3.5's window for a unique interior minimizer in β2 ∈ (lo, 1).

    ∂²C_total/∂β2² = −2/(1−β2)³ + λ ∂²_{β2}(C1+C2) > 0 on [lo, 1) iff λ > λ_convex = sup over β2 of
    2/((1−β2)³ ∂²(C1+C2)) (limit 1/2 at β2 → 1). The slope at lo is negative iff λ < λ_slope = r(lo),
    and tends to +∞ at β2 → 1 when λ > 1/2. So for max(λ_convex, 1/2) < λ < λ_slope C_total is strictly
    convex with a unique interior minimizer. Paper (β1 = 0.99): 0.5 < λ < 2.684.
    """
    b1 = _checks.beta("beta1", beta1)
    lo = _checks.beta("lo", lo)

    def p(x):   # (1−β2)³ ∂²(C1+C2)/2; convex iff λ > 1/p
        j = Jet.variable(x)
        return (1 - np.asarray(x)) ** 3 * _s(b1, j).second_derivative / 2

    def dp(x):
        j = Jet.variable(x)
        x = np.asarray(x)
        s = _s(b1, j)
        return (-3 * (1 - x) ** 2 * s.d(2) + (1 - x) ** 3 * s.d(3)) / 2

    grid = _scan_grid(lo, 1 - _EDGE)
    if not np.all(p(grid) > 0):
        raise ValueError(f"beta1={b1!r}: ∂²(C1+C2)/∂beta2² is not positive on [{lo}, 1)")
    pmin, _, _, _ = _extrema(p, dp, lo, 1.0, 2.0)
    q, _, _ = _ratio_parts("beta2", b1)
    return 1.0 / pmin, 1.0 / float(q(lo))


# --- best betas ---------------------------------------------------------------------------------

def _argmax_on(values, slope, lo, hi):
    grid = np.linspace(lo, hi, 2001)
    grid = np.unique(np.concatenate([grid, _scan_grid(lo, hi)]))
    d = slope(grid)
    xs = [lo, hi]
    for k in np.nonzero(np.sign(d[:-1]) * np.sign(d[1:]) < 0)[0]:
        xs.append(brentq(slope, grid[k], grid[k + 1], xtol=1e-14))
    xs = np.array(xs)
    return float(xs[int(np.argmax(values(xs)))])


def best_beta2(beta1, lam, lo=0.9, hi=0.9999):
    """argmax over β2 ∈ [lo, hi] of C_total(β1, β2, λ) (strongest regularization), per λ.

    A cap hi < 1 is needed: for λ > 1/2, C_total → +∞ as β2 → 1. Candidates: both ends and every root
    of ∂C_total/∂β2 (scan + brentq). Vectorized over λ. Unchanged by the C1 reading (a constant).
    """
    b1 = _checks.beta("beta1", beta1)
    lam_arr = _checks.real_or_array("lam", lam, 0.0, math.inf)
    lo = _checks.beta("lo", lo)
    hi = _checks.beta("hi", hi)
    if hi <= lo:
        raise ValueError(f"hi={hi!r} must be > lo={lo!r}")
    out = np.empty(lam_arr.shape)
    for idx, lv in np.ndenumerate(lam_arr):
        out[idx] = _argmax_on(lambda x: _fb(b1, x) + _s(b1, x) * lv,
                              lambda x: (_fb(b1, Jet.variable(x)) + _s(b1, Jet.variable(x)) * lv).c1,
                              lo, hi)
    return _out(out)


def best_beta1(beta2, lam, lo=0.9, hi=None):
    """argmax over β1 ∈ [lo, hi] of C_total(β1, β2, λ), per λ; hi defaults to β2 (the paper's range
    ends at β1 = β2, and ``hi`` > β2 is refused)."""
    b2 = _checks.beta("beta2", beta2)
    lam_arr = _checks.real_or_array("lam", lam, 0.0, math.inf)
    lo = _checks.beta("lo", lo)
    hi = b2 if hi is None else _checks.beta("hi", hi)
    if hi > b2:
        raise ValueError(f"hi={hi!r} exceeds beta2={b2!r}; allowed: beta1 <= beta2")
    if hi <= lo:
        raise ValueError(f"lo={lo!r} must be < hi={hi!r} (and beta1 <= beta2)")
    out = np.empty(lam_arr.shape)
    for idx, lv in np.ndenumerate(lam_arr):
        out[idx] = _argmax_on(lambda x: _fb(x, b2) + _s(x, b2) * lv,
                              lambda x: (_fb(Jet.variable(x), b2) + _s(Jet.variable(x), b2) * lv).c1,
                              lo, hi)
    return _out(out)


# --- the diagonal β1 = β2 (Lemma 3.7) -----------------------------------------------------------

def c1_diagonal(beta):
    """C1(β, β) = 2β(β² + 2β − 1)/((1−β)(1+β)²); on the diagonal FB = C2 = 0, so
    C_total(β, β, λ) = λ·C1(β, β) (derived reading; the OCR reading adds 2λ)."""
    b = _checks.real_or_array("beta", beta, 0.0, 1.0, hi_closed=False)
    return _out(2 * b * (b ** 2 + 2 * b - 1) / ((1 - b) * (1 + b) ** 2))


def diagonal_min_slope(lo=0.5):
    """(min over β ∈ [lo, 1) of d/dβ C1(β, β), where): Lemma 3.7 holds on [lo, 1) iff it is > 0.

    The slope → +∞ at β → 1, so the minimum is at lo or at an interior root of the second derivative.
    """
    lo = _checks.beta("lo", lo)

    def d1(x):
        j = Jet.variable(x)
        return _c1(j, j).derivative

    def d2(x):
        j = Jet.variable(x)
        return _c1(j, j).second_derivative

    vmin, xmin, _, _ = _extrema(d1, d2, lo, 1.0, math.inf)
    return vmin, xmin


# --- Lemma A.1: the neglected terms --------------------------------------------------------------

def _sup_abs(f, lo):
    grid = _scan_grid(lo, 1 - 1e-12)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.abs(f(grid))
    v = np.where(np.isfinite(v), v, 0.0)   # a removable 0/0 where β1 = β2
    k = int(np.argmax(v))
    a, b = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    best = float(v[k])
    if b > a:
        res = minimize_scalar(lambda x: -abs(float(f(x))), bounds=(a, b), method="bounded",
                              options={"xatol": 1e-13})
        best = max(best, -float(res.fun))
    return best


def lemma_a1_ratios(reading: str = "derived", c4_half: bool = False) -> dict:
    """sup over [0.9, 1) of the Lemma A.1 ratios |C4/C1|, |C5/C1| (β1 = 0.9), |C4/C2|, |C5/C2|
    (β1 = 0.99), |C4/C2|, |C5/C2| (β2 = 0.999), plus the OCR's literal |C4/C5|(0.99, ·).

    Paper bounds: 3e-4, 4e-3, 1e-3 (OCR denominator C5, see ``|C4/C5|(0.99,.)``), 6e-? , 6e-?, 5e-4.
    ``c4_half`` uses the ∇_jΣ_ii normalization (C4/2).
    """
    _checks.choice("reading", reading, READINGS)
    off = C1_OCR_OFFSET if reading == "ocr" else 0.0
    k = 0.5 if c4_half else 1.0
    return {
        "|C4/C1|(0.9,.)": _sup_abs(lambda x: k * _c4(0.9, x) / (_c1(0.9, x) + off), 0.9),
        "|C5/C1|(0.9,.)": _sup_abs(lambda x: _c5(0.9, x) / (_c1(0.9, x) + off), 0.9),
        "|C4/C2|(0.99,.)": _sup_abs(lambda x: k * _c4(0.99, x) / _c2(0.99, x), 0.9),
        "|C4/C5|(0.99,.)": _sup_abs(lambda x: k * _c4(0.99, x) / _c5(0.99, x), 0.9),
        "|C5/C2|(0.99,.)": _sup_abs(lambda x: _c5(0.99, x) / _c2(0.99, x), 0.9),
        "|C4/C2|(.,0.999)": _sup_abs(lambda x: k * _c4(x, 0.999) / _c2(x, 0.999), 0.9),
        "|C5/C2|(.,0.999)": _sup_abs(lambda x: _c5(x, 0.999) / _c2(x, 0.999), 0.9),
    }
