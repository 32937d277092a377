"""The arithmetic-only elementary functions of ``simlab.portable_math``: their accuracy against
exact values (60-digit ``decimal``), and the same bits compiled by numba as run by Python."""
from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np
import pytest

from simlab import portable_math as pm
from simlab.transforms import scale_by_ademamix, scale_by_ademamix_per_step

U = 2.0 ** -53
BETAS = [0.3, 0.5, 0.7123, 0.8, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9999, 0.99999, 0.999999]
STEPS = [1, 2, 3, 7, 10, 24, 100, 1000, 2000, 12345, 99999, 2 ** 17 - 1, 2 ** 17, 10 ** 6]


def exact(func, x) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return func(Decimal(x))


def ulps(value: float, reference: Decimal) -> float:
    """|value − reference| in units in the last place of the float nearest the reference."""
    with localcontext() as ctx:
        ctx.prec = 60
        return float(abs(Decimal(value) - reference) / Decimal(math.ulp(float(reference))))


@pytest.mark.parametrize("beta", BETAS)
def test_int_power_error_is_below_n_minus_one_units_of_u(beta):
    """Binary powering rounds each product once and raises the error of x^(2^k) with it: the
    relative error is ≤ (n − 1)u to first order. (math.pow is within an ulp; the bound is what
    a fixed sequence of multiplications costs.)"""
    worst = 0.0
    for n in STEPS:
        reference = exact(lambda b: b ** n, beta)
        if float(reference) < 1e-300:
            continue
        value = pm.int_power(beta, n)
        rel = abs(float((Decimal(value) - reference) / reference))
        assert rel <= max(n - 1, 0) * U * (1 + 1e-6), (beta, n, rel / U)
        worst = max(worst, rel / (max(n - 1, 1) * U))
        assert ulps(math.pow(beta, n), reference) <= 1.0            # the reference itself
    assert worst < 1.0


@pytest.mark.parametrize("beta", BETAS)
def test_bias_correction_factor_error_is_bounded_whatever_the_step(beta):
    """c = 1 − βⁿ, as Adam uses it: relative error ≤ u (1 + 1/(−ln β)) for every n (the error of
    βⁿ, ≤ n u βⁿ, is largest relative to c where βⁿ is not small, and n βⁿ/(1 − βⁿ) ≤ 1/(−ln β))."""
    bound = U * (1.0 + 1.0 / -math.log(beta)) * (1 + 1e-6)
    for n in STEPS:
        c = 1.0 - pm.int_power(beta, n)
        reference = exact(lambda b: 1 - b ** n, beta)
        assert abs(float((Decimal(c) - reference) / reference)) <= bound, (beta, n)


def test_int_power_exact_cases():
    assert pm.int_power(0.9, 0) == 1.0 and pm.int_power(0.9, 1) == 0.9
    assert pm.int_power(0.9, 5.0) == pm.int_power(0.9, 5)          # the float step counts
    assert pm.int_power(2.0, 1023) == 2.0 ** 1023
    assert pm.int_power(0.5, 1074) == 2.0 ** -1074
    assert pm.int_power(3.0, 33) == 3 ** 33                          # < 2^53: every product exact


def _samples(lo, hi, n, seed):
    rng = np.random.default_rng(seed)
    return [float(x) for x in rng.uniform(lo, hi, n)]


#: (arguments, the largest error in ulps the module docstring states)
LOG_TABLE = [
    ("(0, 1]", _samples(1e-3, 1.0, 400, 0) + [1 - 1e-12, 0.5, 0.999999, 1e-300], 3.0),
    ("[1, 2^64)", _samples(1.0, 2.0, 300, 1) + [1 + 1e-12, 2.0, 1e10, 2.0 ** 63], 3.0),
    ("10^±300", [float(10.0 ** e) for e in np.linspace(-300, 300, 301)], 3.0),
]
EXP_TABLE = [
    ("[-1, 1]", _samples(-1.0, 1.0, 400, 2), 2.0),
    ("[-700, 700]", _samples(-700.0, 700.0, 400, 3) + [-708.0, 709.7], 2.0),
    ("β3 schedule", [math.log(0.9) * math.log(0.9999) / x for x in _samples(-9.3, -0.1, 200, 4)],
     2.0),
]


PI_60 = Decimal("3.14159265358979323846264338327950288419716939937510582097494459")


def exact_erf(x: Decimal) -> Decimal:
    """erf by its Maclaurin series at 120 digits (the alternating terms reach ~10³¹ at |x| = 8.5),
    rounded to 60."""
    with localcontext() as ctx:
        ctx.prec = 120
        z, term, total, n = x * x, x, x, 0
        while abs(term) > Decimal(10) ** -80 or n < 3:
            n += 1
            term = -term * z / n
            total += term / (2 * n + 1)
        result = 2 * total / PI_60.sqrt()
    with localcontext() as ctx:
        ctx.prec = 60
        return +result


ERF_TABLE = [
    ("|x| < 1 (series)", _samples(-1.0, 1.0, 300, 5) + [1e-300, 1e-8, 0.5, 0.9999999], 2.0),
    ("1 ≤ |x| < 6 (continued fraction)", _samples(1.0, 6.0, 400, 6) + [-1.0, 1.0, 1.4999999, 1.5,
                                                                       2.4999999, 2.5, 5.9999999], 1.5),
    ("|x| ≥ 6", [6.0, -6.0, 7.0, 8.5], 0.5),
]


@pytest.mark.parametrize("name,xs,bound", ERF_TABLE, ids=[r[0] for r in ERF_TABLE])
def test_erf_accuracy(name, xs, bound):
    errors = [ulps(pm.erf(x), exact_erf(Decimal(x))) for x in xs]
    assert max(errors) <= bound, max(errors)
    assert all(pm.erf(-x) == -pm.erf(x) for x in xs)


@pytest.mark.parametrize("name,xs,bound", LOG_TABLE, ids=[r[0] for r in LOG_TABLE])
def test_log_accuracy(name, xs, bound):
    errors = [ulps(pm.log(x), exact(Decimal.ln, x)) for x in xs]
    assert max(errors) <= bound, max(errors)


@pytest.mark.parametrize("name,xs,bound", EXP_TABLE, ids=[r[0] for r in EXP_TABLE])
def test_exp_accuracy(name, xs, bound):
    errors = [ulps(pm.exp(x), exact(Decimal.exp, x)) for x in xs]
    assert max(errors) <= bound, max(errors)


def test_special_values():
    assert math.isnan(pm.log(-1.0)) and math.isnan(pm.log(math.nan))
    assert pm.log(0.0) == -math.inf and pm.log(math.inf) == math.inf and pm.log(1.0) == 0.0
    assert pm.exp(0.0) == 1.0 and pm.exp(1000.0) == math.inf and pm.exp(-1000.0) == 0.0
    assert math.isnan(pm.exp(math.nan)) and pm.exp(pm.EXP_MAX) < math.inf
    assert pm.erf(0.0) == 0.0 and pm.erf(math.inf) == 1.0 and pm.erf(-math.inf) == -1.0
    assert math.isnan(pm.erf(math.nan)) and pm.erf(5e-324) == 5e-324 and pm.erf(-27.0) == -1.0


def test_ademamix_schedule_close_to_libm():
    """The β3 schedule with portable exp/ln stays within a few ulps of the libm formula."""
    h = scale_by_ademamix(0.9, 0.999, 0.9999, 5.0, 1e-8, warmup=1000)
    for t in [1.0, 10.0, 100.0, 500.0, 999.0, 1000.0, 2000.0]:
        b3 = scale_by_ademamix_per_step(h, t, 1e-3)[4]
        f = t / 1000
        lb1, lb3 = math.log(0.9), math.log(0.9999)
        libm = min(math.exp(lb1 * lb3 / ((1.0 - f) * lb3 + f * lb1)), 0.9999)
        assert abs(b3 - libm) <= 8 * math.ulp(libm), (t, b3, libm)


def test_numba_compiles_the_same_bits():
    """numba's CPU code (as the numba backend compiles it) gives Python's bits exactly."""
    pytest.importorskip("numba")
    from simlab.backends.numba_backend import compiled
    power, log, exp, erf = (compiled(f) for f in (pm.int_power, pm.log, pm.exp, pm.erf))
    for beta in BETAS:
        for n in STEPS:
            assert power(beta, float(n)) == pm.int_power(beta, float(n))
    for _, xs, _ in LOG_TABLE:
        assert all(log(x) == pm.log(x) for x in xs)
    for _, xs, _ in EXP_TABLE:
        assert all(exp(x) == pm.exp(x) for x in xs)
    for _, xs, _ in ERF_TABLE:
        assert all(erf(x) == pm.erf(x) for x in xs)
