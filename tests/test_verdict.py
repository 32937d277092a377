"""The verdict rule (simlab.verdict) on synthetic inputs whose answer is known."""
from __future__ import annotations

import math

import numpy as np
import pytest

from simlab.verdict import Estimate, Exact, Prediction, Tuned, decide

LRS = np.logspace(-3, 0, 13)            # spacing 10^0.25: ×3 has a grid point within 1.06
X = np.log10(LRS)
UP, DOWN = Prediction("sign", sign=1), Prediction("sign", sign=-1)


def profile(curv, x0, offset, n, noise=0.01, seed=0, shared=0.0):
    """metric[lr, seed] = curv·(log10 lr − x0)² + offset + noise (per lr and seed) + shared (per
    seed, the same at every lr)."""
    rng = np.random.default_rng(seed)
    return (curv * (X - x0) ** 2 + offset)[:, None] + noise * rng.standard_normal((X.size, n)) \
        + shared * rng.standard_normal(n)[None, :]


def two(a, b):
    return Tuned(np.stack([a, b]), LRS, ("A", "B"))


# -- Tuned: the sign rule ----------------------------------------------------------------------------

CASES = [
    # (name, measurement, prediction, status, knob)
    ("tight, predicted sign", two(profile(1, -1.5, 1.0, 20), profile(1, -1.5, 0.5, 20, seed=1)),
     UP, "holds", None),
    ("tight, opposite sign", two(profile(1, -1.5, 1.0, 20), profile(1, -1.5, 0.5, 20, seed=1)),
     DOWN, "fails", None),
    ("sign flips with the lr", two(profile(10, -1.5, 0.0, 20), profile(1, -1.5, 0.1, 20, seed=1)),
     DOWN, "depends", "lr"),
    ("sign flips with the budget",
     Tuned(np.stack([np.stack([profile(1, -1.5, 0.0, 20), profile(1, -1.5, 0.2, 20, seed=2)]),
                     np.stack([profile(1, -1.5, 0.1, 20, seed=1),
                               profile(1, -1.5, 0.1, 20, seed=3)])]),
           LRS, ("A", "B"), budgets=("short", "long")), DOWN, "depends", "budget"),
    ("best lr on the grid edge", two(profile(1, 0.3, 1.0, 20), profile(1, -1.5, 0.5, 20, seed=1)),
     UP, "unresolved", None),
    ("too few seeds", two(profile(1, -1.5, 0.3, 4, noise=1.0, shared=0.0),
                          profile(1, -1.5, 0.0, 4, noise=1.0, seed=1)), UP, "unresolved", None),
]


@pytest.mark.parametrize("name,measurement,prediction,status,knob", CASES,
                         ids=[c[0] for c in CASES])
def test_tuned_rule(name, measurement, prediction, status, knob):
    v = decide(measurement, prediction, resamples=500)
    assert v.status == status, v.reason
    assert v.knob == knob
    if status in ("holds", "fails"):
        lo, hi = v.interval
        assert lo <= v.value <= hi and (lo > 0 or hi < 0)
    if name == "best lr on the grid edge":
        assert v.reason.startswith("edge: best lr of A at the grid edge 1")


def test_depends_needs_resolved_opposite_signs():
    """A flip at ×3 that is within noise is not a dependence: the verdict is unresolved (the sign
    is not shown to be the same at every check), never holds."""
    a = profile(1.2, -1.5, 0.0, 20, noise=0.3, seed=4)
    b = profile(1.0, -1.5, 0.1, 20, noise=0.3, seed=5)
    v = decide(two(a, b), DOWN, resamples=500)
    assert v.status in ("unresolved", "depends")
    checks = v.details["checks"]
    if v.status == "depends":
        sides = {np.sign(c["interval"][0]) for c in checks.values() if
                 np.sign(c["interval"][0]) == np.sign(c["interval"][1])}
        assert sides == {1.0, -1.0}


def test_fixed_lr_protocol_has_no_lr_checks_and_no_edge():
    a, b = profile(1, 0.0, 1.0, 20), profile(1, -1.5, 0.5, 20, seed=1)
    v = decide(Tuned(np.stack([a, b]), LRS, ("A", "B"), fixed_lr=np.array([12, 6])), UP,
               resamples=300)
    assert v.status == "holds"
    assert list(v.details["checks"]) == ["best lr"]


def test_diverged_runs_count_as_worse_not_dropped():
    a = profile(1, -1.5, 0.0, 20)
    a[:, :12] = np.inf                      # most A runs diverge at every lr: A is worse
    b = profile(1, -1.5, 0.5, 20, seed=1)
    v = decide(two(a, b), UP, resamples=300)
    assert v.status == "unresolved" and v.reason == "A diverges at every lr of its grid (median +inf)"
    a[:, :12] = np.nan                      # nan is a diverged run too
    assert decide(two(a, b), UP, resamples=300).status == "unresolved"


# -- seeds_needed: using it resolves the sign in most repetitions ----------------------------------

def _law(n, rng, effect=0.3):
    a = profile(20, -1.5, effect, n, noise=1.0, seed=int(rng.integers(1 << 30)))
    b = profile(20, -1.5, 0.0, n, noise=1.0, seed=int(rng.integers(1 << 30)))
    return Tuned(np.stack([a, b]), LRS, ("A", "B"), aggregate="mean")


def test_seeds_needed_resolves_when_used():
    rng = np.random.default_rng(7)
    needed = []
    while len(needed) < 9:
        v = decide(_law(8, rng), UP, resamples=400)
        if v.status == "unresolved" and "edge" not in v.reason:
            needed.append(v.seeds_needed)
    n_new = int(np.median(needed))
    assert 8 < n_new <= 800
    small = [decide(_law(8, rng), UP, resamples=300).status for _ in range(40)]
    large = [decide(_law(n_new, rng), UP, resamples=300).status for _ in range(40)]
    assert small.count("holds") <= 16                # 8 seeds: mostly unresolved
    assert large.count("holds") >= 24, (n_new, large)  # seeds_needed: resolved (and right) mostly
    assert large.count("fails") == 0


# -- the lr is re-selected inside every resample ------------------------------------------------------

def _tied(rng, n=15):
    """A: 9 inner lrs with the same mean 1 and independent noise (which lr wins is random; the
    minimum of their means is biased low: the winner's curse); B: a clear optimum at 1. The true
    effect A − B is 0."""
    a = np.where((X > -2.6) & (X < -0.4), 1.0, 5.0)[:, None] + rng.standard_normal((X.size, n))
    b = (20 * (X + 1.5) ** 2 + 1.0)[:, None] + 0.05 * rng.standard_normal((X.size, n))
    return np.stack([a, b])


def test_reselecting_the_lr_covers_what_fixing_it_misses():
    """The lr re-selected in every resample (and the interval reflected about the point) covers the
    true effect 0 of a tied-lr law more often than the interval with each lr fixed at its
    full-sample optimum, which ignores that the winner was picked from noisy candidates."""
    rng = np.random.default_rng(5)
    covered = {"reselected": 0, "fixed": 0}
    trials = 40
    for r in range(trials):
        metric = _tied(rng)
        tuned = decide(Tuned(metric, LRS, ("A", "B"), aggregate="mean"), UP, resamples=400, seed=r)
        best = np.argmin(metric.mean(axis=-1), axis=-1)
        fixed = decide(Tuned(metric, LRS, ("A", "B"), aggregate="mean", fixed_lr=best), UP,
                       resamples=400, seed=r)
        assert tuned.value == pytest.approx(fixed.value)
        covered["reselected"] += tuned.interval[0] <= 0.0 <= tuned.interval[1]
        covered["fixed"] += fixed.interval[0] <= 0.0 <= fixed.interval[1]
    assert covered["reselected"] >= covered["fixed"] + 0.08 * trials, covered
    assert covered["reselected"] >= 0.6 * trials, covered


def test_reselection_changes_the_interval_not_the_point():
    """On one tied-lr draw the two intervals differ visibly (by > 20 % of the fixed width at an
    end): the re-selection is done, not only the point estimate's argmin."""
    metric = _tied(np.random.default_rng(3))
    tuned = decide(Tuned(metric, LRS, ("A", "B"), aggregate="mean"), UP, resamples=2000)
    best = np.argmin(metric.mean(axis=-1), axis=-1)
    fixed = decide(Tuned(metric, LRS, ("A", "B"), aggregate="mean", fixed_lr=best), UP,
                   resamples=2000)
    width = fixed.interval[1] - fixed.interval[0]
    assert max(abs(tuned.interval[0] - fixed.interval[0]),
               abs(tuned.interval[1] - fixed.interval[1])) > 0.2 * width


# -- quick, outside ----------------------------------------------------------------------------------

TIGHT = two(profile(1, -1.5, 1.0, 20), profile(1, -1.5, 0.5, 20, seed=1))


@pytest.mark.parametrize("measurement", [TIGHT, Estimate(np.full(50, 2.0), 2.0),
                                         Exact(2.0)], ids=["tuned", "estimate", "exact"])
def test_quick_is_smoke_and_outside_is_outside(measurement):
    pred = UP
    assert decide(measurement, pred, resamples=200).status == "holds"
    smoke = decide(measurement, pred, quick=True, resamples=200)
    assert smoke.status == "smoke" and smoke.value == pytest.approx(
        decide(measurement, pred, resamples=200).value)
    out = decide(measurement, pred, outside="not trained past the bigram level", resamples=200)
    assert out.status == "outside" and out.reason == "not trained past the bigram level"
    assert out.details["inside_status"] == "holds"
    assert decide(measurement, pred, outside="not trained past the bigram level", quick=True,
                  resamples=200).status == "smoke"


# -- Estimate and Exact ---------------------------------------------------------------------------------

RNG = np.random.default_rng(0)
NARROW = RNG.normal(1.0, 0.01, 2000)
WIDE = RNG.normal(1.0, 0.5, 2000)
ESTIMATES = [
    ("value inside the band", Estimate(NARROW, 1.0, n_seeds=50),
     Prediction("value", value=1.02, tol=0.05), "holds"),
    ("value outside the band", Estimate(NARROW, 1.0, n_seeds=50),
     Prediction("value", value=1.5, tol=0.1), "fails"),
    ("value, interval straddles", Estimate(WIDE, 1.0, n_seeds=50),
     Prediction("value", value=1.0, tol=0.1), "unresolved"),
    ("above, clear", Estimate(NARROW, 1.0), Prediction("above", threshold=0.5), "holds"),
    ("below, clear", Estimate(NARROW, 1.0), Prediction("below", threshold=0.5), "fails"),
    ("sign, straddles", Estimate(WIDE - 1.0, 0.0, n_seeds=10), UP, "unresolved"),
    ("per-seed values", Estimate(RNG.normal(0.5, 1.0, 400), 0.5, per_seed=True), UP, "holds"),
    ("per-seed, too few", Estimate(RNG.normal(0.1, 1.0, 5), 0.1, per_seed=True), UP,
     "unresolved"),
]


@pytest.mark.parametrize("name,m,pred,status", ESTIMATES, ids=[e[0] for e in ESTIMATES])
def test_estimate_rule(name, m, pred, status):
    v = decide(m, pred, resamples=1000)
    assert v.status == status, v.reason
    if status == "unresolved" and (m.per_seed or m.n_seeds):
        assert v.seeds_needed is not None and v.seeds_needed > (m.n_seeds or len(m.samples) or 0)


EXACTS = [
    (Exact(0.5082), Prediction("value", value=0.5082, tol=0.0), "holds"),
    (Exact(0.5083, resolution=1e-4), Prediction("value", value=0.5082, tol=0.0), "holds"),
    (Exact(0.5090, resolution=1e-4), Prediction("value", value=0.5082, tol=0.0), "fails"),
    (Exact(2.03), Prediction("value", value=2.0, tol=0.05, rel=True), "holds"),
    (Exact(1e-9, resolution=1e-6), UP, "unresolved"),
    (Exact(-1.0), UP, "fails"),
]


@pytest.mark.parametrize("m,pred,status", EXACTS)
def test_exact_rule(m, pred, status):
    v = decide(m, pred)
    assert v.status == status and v.interval is None


# -- bad input: ValueError naming the argument ---------------------------------------------------------

BAD = [
    (lambda: decide(TIGHT, Prediction("bigger")), "prediction.kind"),
    (lambda: decide(TIGHT, Prediction("sign", sign=0)), "prediction.sign"),
    (lambda: decide(TIGHT, Prediction("value", value=1.0)), "'value' does not apply"),
    (lambda: decide(TIGHT, UP, level=1.5), "level"),
    (lambda: decide(TIGHT, UP, resamples=0), "resamples"),
    (lambda: decide(TIGHT, UP, outside=""), "outside"),
    (lambda: decide(Tuned(np.ones((2, 13)), LRS, ("A", "B")), UP), "metric"),
    (lambda: decide(Tuned(np.ones((2, 12, 3)), LRS, ("A", "B")), UP), "lrs"),
    (lambda: decide(Tuned(np.ones((2, 13, 3)), LRS[::-1], ("A", "B")), UP), "lrs"),
    (lambda: decide(Tuned(np.ones((2, 13, 3)), LRS, ("A",)), UP), "settings"),
    (lambda: decide(Tuned(np.ones((2, 13, 3)), LRS, ("A", "B"), contrast=(1.0,)), UP), "contrast"),
    (lambda: decide(Tuned(np.ones((2, 13, 3)), LRS, ("A", "B"), aggregate="max"), UP), "aggregate"),
    (lambda: decide(Tuned(np.ones((2, 13, 3)), LRS, ("A", "B"), fixed_lr=np.array([0, 13])), UP),
     "fixed_lr"),
    (lambda: decide(Estimate(np.array([]), 1.0), UP), "samples"),
    (lambda: decide(Exact(1.0, resolution=-1.0), UP), "resolution"),
    (lambda: decide(1.0, UP), "measurement"),
]


@pytest.mark.parametrize("call,name", BAD, ids=[b[1] for b in BAD])
def test_bad_input(call, name):
    with pytest.raises(ValueError, match=name.replace("(", r"\(")):
        call()


def test_seeds_needed_is_capped_for_a_null_effect():
    a = profile(1, -1.5, 0.0, 10, noise=1.0, seed=11)
    b = profile(1, -1.5, 0.0, 10, noise=1.0, seed=12)
    b[:] = a                                     # identical: effect exactly 0
    v = decide(two(a, b), UP, resamples=200)
    assert v.status == "unresolved"
    assert v.seeds_needed == 1000 and "> 100x seeds" in v.reason
    assert math.isclose(v.value, 0.0)


def test_a_shorter_grid_is_nan_padded():
    """Settings with grids of different lengths: the padding is never best, and the edge is the
    last real lr of the shorter grid."""
    a = profile(1, -1.5, 1.0, 20)
    b = profile(1, -1.5, 0.5, 20, seed=1)
    lrs = np.stack([LRS, np.where(np.arange(13) < 10, LRS, np.nan)])
    b[10:] = 0.0                                  # padding values must be ignored
    v = decide(Tuned(np.stack([a, b]), lrs, ("A", "B")), UP, resamples=300)
    assert v.status == "holds" and v.details["best_lr"]["B"] == pytest.approx(LRS[6])
    b[9] = -10.0                                  # the last real lr of B wins: an edge
    v = decide(Tuned(np.stack([a, b]), lrs, ("A", "B")), UP, resamples=300)
    assert v.reason.startswith(f"edge: best lr of B at the grid edge {LRS[9]:g}")


def test_estimate_of_one_seed_is_unresolved():
    for m in (Estimate(np.array([3.0]), 3.0, per_seed=True), Estimate(np.array([3.0]), 3.0, n_seeds=1)):
        v = decide(m, Prediction("above", threshold=1.0))
        assert v.status == "unresolved" and "no interval" in v.reason


def test_an_interval_that_touches_the_reference_by_rounding_decides_nothing():
    """A tie whose interval end sits at −1.7e-17 (seen on lm_betas' flatness claim) is not a sign."""
    from simlab.verdict import _side
    assert _side((-0.5, -1.7e-17), 0.0) == 0
    assert _side((1.7e-17, 0.5), 0.0) == 0
    assert _side((-0.5, -1e-6), 0.0) == -1 and _side((1e-6, 0.5), 0.0) == 1
