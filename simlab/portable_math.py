"""Elementary functions from +, −, ×, ÷ only: the same bits on numpy, numba (CPU) and numba.cuda.

A kernel that calls ``x ** t``, ``math.exp`` or ``math.log`` gets the C library's function on the
CPU, libdevice's on the GPU (``__nv_pow``, ``__nv_exp`` …, whose polynomials use explicit fused
multiply-adds) and Python's under the CUDA simulator: each rounds differently in the last bit, so
a run would depend on where it ran. IEEE 754 rounds +, −, ×, ÷ and √ correctly, and the kernels
are compiled without contraction (``-fma=0``, ``backends/cuda_compile.no_fma``), so a fixed
sequence of those operations gives the same bits everywhere. The functions below are such
sequences; the normal draws of ``simlab.random`` are built the same way (and share the logarithm's
constants).

* ``int_power(x, n)`` = xⁿ for an integer n ≥ 0 (an integer-valued float is accepted: the step
  count reaches the transforms as a float): binary powering, the bits of n from the lowest,
  squaring x and multiplying the squares of the set bits in. Each multiplication rounds with
  relative error ≤ u = 2⁻⁵³ and a rounding error in x^(2^k) is raised to the power n/2^k with
  it, so the relative error is ≤ (n − 1)u to first order, i.e. below n − 1 ulps (libm's pow is
  within an ulp: this is what a fixed sequence of multiplications costs; ``tests/
  test_portable_math.py`` asserts the bound for β ∈ [0.3, 1 − 10⁻⁶], n ≤ 10⁶). Where it enters
  Adam, as c = 1 − βⁿ, the relative error of c is ≤ u (1 + n βⁿ/(1 − βⁿ)) ≤ u (1 + 1/(−ln β)),
  whatever n: about 10³ u for β = 0.999 (tested).
* ``log(x)`` (x > 0): x = m·2^e exactly (scaling by powers of two) with m ∈ [√½, √2), then
  ln x = e ln 2 + 2 atanh((m − 1)/(m + 1)) by the atanh series (|s| ≤ 0.1716, 12 terms), with
  ln 2 split so that e·ln2_hi is exact (fdlibm's constants). ≤ 3 ulps (tested).
* ``exp(x)``: x = k ln 2 + r with k = ⌊x/ln 2 + ½⌋ (|r| ≤ 0.35), e^r by its Taylor series to
  r¹⁴/14!, times 2^k (exact powers of two, applied in two halves so that neither overflows).
  ≤ 2 ulps (tested); in the subnormal range the last multiplication rounds once more.

* ``erf(x)``: for |x| < 1 the Maclaurin series Σₙ (−x²)ⁿ/(n!(2n + 1)), 22 terms, nested as
  1/1 − (x²/1)(1/3 − (x²/2)(1/5 − …)) and times 2x/√π; for 1 ≤ |x| < 6, erf = 1 − erfc with the
  continued fraction erfc(a) = e^(−a²)/(√π (a + (1/2)/(a + 1/(a + (3/2)/(a + …))))) evaluated
  from a fixed depth (200 below 1.5, 100 below 2.5, 50 above: each truncation error below 10⁻¹⁷ of
  the result) and ``exp`` above; ±1 beyond (erfc(6) < 2.2·10⁻¹⁷ is below half an ulp of 1); odd in
  x. ≤ 2 ulps (tested against 60-digit values; 1.7 the largest seen). It replaces ``math.erf`` in the erf-drift
  SignSGD SDE (libdevice's ``__nv_erf`` and the C library's round differently).

They compute in float64 (the hyper-parameters and step counts that reach them are Python floats
and ints, float64 in every kernel, float32 storage included).
"""
from __future__ import annotations

import math

# ln 2 split so that (integer)·LN2_HI is exact for |integer| < 2^21 (fdlibm's constants).
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.4426950408889634
SQRT2 = 1.4142135623730951
#: atanh series: ln m = s·Σ_k c_k s^(2k), s = (m − 1)/(m + 1), c_k = 2/(2k + 1), k = 0..11
#: (|s| ≤ 0.1716 for m ∈ [√½, √2): truncation < 1e-18).
LOG_C = (2.0, 2.0 / 3, 2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15, 2.0 / 17,
         2.0 / 19, 2.0 / 21, 2.0 / 23)
#: e^r = Σ_k r^k/k!, k = 0..14 (|r| ≤ 0.35: truncation < 1e-19).
EXP_C = (1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320,
         1.0 / 362880, 1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800,
         1.0 / 87178291200)
_TWO32 = 4294967296.0
_INV_TWO32 = 1.0 / 4294967296.0
#: erf: Maclaurin terms below |x| = 1; the continued fraction's depth per range of |x| below 6
ERF_SERIES_TERMS = 22
TWO_OVER_SQRT_PI = 1.1283791670955126
INV_SQRT_PI = 0.5641895835477563
#: Beyond these e^x overflows to +inf or underflows to 0 in float64.
EXP_MAX = 709.782712893384
EXP_MIN = -745.1332191019412


def int_power(x, n):
    """xⁿ for an integer n ≥ 0 (or an integer-valued float) by binary powering (module doc);
    x⁰ = 1."""
    k = int(n)
    result = 1.0
    square = x * 1.0
    while k > 0:
        if k & 1:
            result = result * square
        k = k >> 1
        if k > 0:
            square = square * square
    return result


def log_series(m):
    """ln m for m ∈ [√½, √2): 2 atanh(s), s = (m − 1)/(m + 1), by the series of ``LOG_C``."""
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    p = LOG_C[11]
    p = LOG_C[10] + z * p
    p = LOG_C[9] + z * p
    p = LOG_C[8] + z * p
    p = LOG_C[7] + z * p
    p = LOG_C[6] + z * p
    p = LOG_C[5] + z * p
    p = LOG_C[4] + z * p
    p = LOG_C[3] + z * p
    p = LOG_C[2] + z * p
    p = LOG_C[1] + z * p
    p = LOG_C[0] + z * p
    return s * p


def log(x):
    """ln x (module doc); NaN for x < 0 or NaN, −inf for 0, +inf for +inf."""
    if not x >= 0.0:
        return math.nan
    if x == 0.0:
        return -math.inf
    if x == math.inf:
        return math.inf
    m = x * 1.0
    e = 0.0
    while m >= _TWO32:
        m = m * _INV_TWO32
        e = e + 32.0
    while m < _INV_TWO32:
        m = m * _TWO32
        e = e - 32.0
    while m >= 2.0:
        m = m * 0.5
        e = e + 1.0
    while m < 1.0:
        m = m * 2.0
        e = e - 1.0
    if m > SQRT2:
        m = m * 0.5
        e = e + 1.0
    return e * LN2_HI + (e * LN2_LO + log_series(m))


def exp(x):
    """e^x (module doc); NaN for NaN, +inf above ``EXP_MAX``, 0 below ``EXP_MIN``."""
    if x != x:
        return x * 1.0
    if x > EXP_MAX:
        return math.inf
    if x < EXP_MIN:
        return 0.0
    k = math.floor(x * INV_LN2 + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = EXP_C[14]
    p = EXP_C[13] + r * p
    p = EXP_C[12] + r * p
    p = EXP_C[11] + r * p
    p = EXP_C[10] + r * p
    p = EXP_C[9] + r * p
    p = EXP_C[8] + r * p
    p = EXP_C[7] + r * p
    p = EXP_C[6] + r * p
    p = EXP_C[5] + r * p
    p = EXP_C[4] + r * p
    p = EXP_C[3] + r * p
    p = EXP_C[2] + r * p
    p = EXP_C[1] + r * p
    p = EXP_C[0] + r * p
    half = k // 2
    return p * power_of_two(half) * power_of_two(k - half)


def power_of_two(k):
    """2^k for an integer |k| ≤ 1023, exactly (binary powering of 2 or ½)."""
    if k >= 0:
        return int_power(2.0, k)
    return int_power(0.5, -k)


def erf(x):
    """The error function (module doc); NaN for NaN, ±1 for ±inf."""
    if x != x:
        return x * 1.0
    a = abs(x)
    if a < 1.0:
        z = a * a
        p = 1.0 / (2 * ERF_SERIES_TERMS - 1)
        for n in range(ERF_SERIES_TERMS - 2, -1, -1):
            p = 1.0 / (2 * n + 1) - (z / (n + 1)) * p
        r = TWO_OVER_SQRT_PI * (a * p)
    elif a < 6.0:
        depth = 200 if a < 1.5 else (100 if a < 2.5 else 50)
        f = a
        for n in range(depth, 0, -1):
            f = a + (0.5 * n) / f
        r = 1.0 - exp(-(a * a)) * INV_SQRT_PI / f
    else:
        r = 1.0
    return -r if x < 0.0 else r
