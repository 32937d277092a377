"""The surge of Li et al. 2024: optimal lr vs batch size for sign-like optimizers and SGD.

Three figures, one results file (``OUT/surge.nc``):

* ``surge_theory``: exact erf ε_opt(B) of sign descent against Eq 10, Theorem 3 (Eq 13) and
  Theorem 4 (Eq 17), with B_noise (Eq 14) and the Theorem 3 validity bound marked, and SGD's exact
  ε_opt (Eq 1) for contrast, for the (μ, σ, H) cases of docs/reference/surge.md.
* ``surge_simulated``: SignSGD, Adam(β1 = β2 = 0), Adam(0.9, 0.999) and SGD simulated with
  ``simlab.simulate`` on a Gaussian-noise quadratic with a coupled H; the lr that minimises the
  mean loss after k steps, against B, for several k.
* ``surge_tradeoff``: steps S vs examples E = B·S to reach a target loss (best lr per B), with the
  Eq 22 fit, the Eq 20 hyperbola and the fitted B_noise next to the theoretical ones.

The problem: d = 8, H = diag(0.5..1.5) + s sᵀ (s alternating signs), per-sample noise covariance
C = diag(σ²), σ = 0.5..2, start w0 = H⁻¹ μ0 with μ0 = r σ s, so that at w0 the sign model has equal
|SNR| r and B_noise (Eq 14) ≈ 31, mid-range in B ∈ [1, 1024].

Cells (each cached on its own): the theory curves and table; one simulation per (optimizer, B) —
every seed's loss after each k, for every lr of the grid, and the first step at which the seed-mean
loss reaches the trade-off target; one SignSGD trajectory per k for B_noise along the trajectory.
Everything the report prints (optimal-lr table, peaks and their bootstrap replicates, Eq 22 fits)
and the ``measure_*`` functions of the Li et al. claims read is derived from those cells and stored,
compactly (no trajectories, no per-seed losses), in ``surge.nc``.

Backend: numpy by default — at d = 8 the vectorised reference beats the numba kernels (0.8 s vs
2.3 s per 300-seed cell, plus the kernels' compile time).
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

import simlab
from experiments._harness import Experiment
from experiments._peaks import (bootstrap_indices, fit_curve, log_parabola_argmax,
                                parabola_argmin_rows, small_batch_slope, surge_drop)
from simlab import optim, problems
from simlab.plotting import (COLORS, log_ticks, mark_all_diverged, paper_title, plt, save_figure,
                             style)
from simlab.problems.sign_model import optimal_improvement, optimal_lr, sign_model
from simlab.theory import surge
from simlab.theory.noise_scale import noise_scale

NAME = "surge"
SNR0 = 0.12
DIM = 8
OPTIMIZERS = {
    "signsgd": lambda: optim.signsgd(),
    "adam_b0": lambda: optim.adam(b1=0.0, b2=0.0, eps=0.0),
    "adam": lambda: optim.adam(0.9, 0.999, 1e-8),
    "sgd": lambda: optim.sgd(),
}
LABELS = {"signsgd": "SignSGD", "adam_b0": "Adam β=(0,0)", "adam": "Adam β=(0.9,0.999)",
          "sgd": "SGD"}
COLOR = {"signsgd": COLORS["signsgd"], "adam_b0": "#ff7f0e", "adam": COLORS["adam"],
         "sgd": COLORS["sgd"]}


# ------------------------------------------------------------------------------ problems ----

def coupled_problem(snr: float = SNR0):
    s = np.array([1, -1, 1, 1, -1, 1, -1, 1.0])
    sigma = np.linspace(0.5, 2.0, DIM)
    h = np.diag(np.linspace(0.5, 1.5, DIM)) + np.outer(s, s)
    mu0 = snr * sigma * s
    w0 = np.linalg.solve(h, mu0)
    return problems.gaussian_quadratic(h, np.diag(sigma ** 2), w0, name="surge_coupled")


def model_at(problem, w):
    """The sign model at iterate w: μ = Hw, σ_i = √C_ii (C diagonal here)."""
    return sign_model(problem.hessian @ w, np.sqrt(np.diag(problem.noise_cov)), problem.hessian)


def theory_cases():
    mu = np.array([0.02, -0.01, 0.015, 0.005])
    sig = np.array([1.0, 0.8, 1.5, 0.5])
    s4 = np.sign(mu)
    s8 = np.array([1, -1, 1, 1, -1, 1, -1, 1.0])
    sig8 = np.linspace(0.5, 2.0, 8)
    rng = np.random.default_rng(3)
    sig64 = np.exp(rng.normal(0, 0.5, 64))
    mu64 = sig64 * np.exp(rng.normal(np.log(0.01), 0.5, 64)) * rng.choice([-1, 1], 64)
    a = rng.normal(size=(64, 64))
    return {
        "A: diagonal H (4 coords)": sign_model(mu, sig, np.diag([1.0, 2.0, 0.5, 1.5])),
        "B: H = diag + 3ssᵀ (4 coords)": sign_model(mu, sig, np.diag([1.0, 2.0, 0.5, 1.5])
                                                   + 3 * np.outer(s4, s4)),
        "C: equal SNR, H = diag + ssᵀ": sign_model(0.01 * sig8 * s8, sig8,
                                                   np.diag(np.linspace(0.5, 1.5, 8))
                                                   + np.outer(s8, s8)),
        "E: weak coupling diag + 0.1ssᵀ": sign_model(0.01 * sig8 * s8, sig8,
                                                     np.diag(np.linspace(0.5, 1.5, 8))
                                                     + 0.1 * np.outer(s8, s8)),
        "D: 64 coords, dense H": sign_model(mu64, sig64, a @ a.T / 64
                                            + 0.05 * np.outer(np.sign(mu64), np.sign(mu64))),
    }


def exact_peak(model, lo=1.0, hi=1e5):
    """(B_peak, ε_peak) of the exact curve on [lo, hi]; B_peak = nan if the max is at an edge.
    A 4001-point log grid brackets the maximum, a bounded search in log B refines it (to 1e-10
    relative in B, so grid spacing does not enter the peak ratios)."""
    from scipy.optimize import minimize_scalar
    b = np.geomspace(lo, hi, 4001)
    eps = optimal_lr(model, b)
    i = int(np.argmax(eps))
    if i in (0, b.size - 1) or eps[i] <= eps[-1] * (1 + 1e-6):      # rounding plateau, no peak
        return np.nan, float(eps[i])
    res = minimize_scalar(lambda x: -float(optimal_lr(model, np.exp(x))),
                          bounds=(np.log(b[i - 1]), np.log(b[i + 1])), method="bounded",
                          options={"xatol": 1e-10})
    return float(np.exp(res.x)), float(-res.fun)


FAMILY_DIM = 128


def equal_snr_family(ratios, snr=0.01, dim=FAMILY_DIM):
    """Equal-|SNR| models with D/O_s = x² for each x² in ``ratios`` (> 1/(dim − 1)): d = ``dim``
    coordinates, σ = 0.5..2, alternating signs s, H = diag(0.5..1.5) + c ssᵀ with
    c = 1/(x²(d − 1) − 1), since D/O_s = (1 + c)/(c(d − 1)). Then B_noise/bound = x² and the exact
    peak has the closed form ``surge.equal_snr_peak_ratio``."""
    s = np.where(np.arange(dim) % 3 == 1, -1.0, 1.0)
    sig = np.linspace(0.5, 2.0, dim)
    out = []
    for x2 in ratios:
        c = 1.0 / (x2 * (dim - 1) - 1.0)
        out.append(sign_model(snr * sig * s, sig, np.diag(np.linspace(0.5, 1.5, dim))
                              + c * np.outer(s, s)))
    return out


def random_draws(count, seed=11):
    """``count`` draws of case D's recipe (64 coordinates, log-normal SNR, dense H): the spread
    of B_peak/B_noise when the SNR is heterogeneous."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        sig = np.exp(rng.normal(0, 0.5, 64))
        mu = sig * np.exp(rng.normal(np.log(0.01), 0.5, 64)) * rng.choice([-1, 1], 64)
        a = rng.normal(size=(64, 64))
        out.append(sign_model(mu, sig, a @ a.T / 64 + 0.05 * np.outer(np.sign(mu), np.sign(mu))))
    return out


def diagonal_models(count, seed=5):
    """``count`` sign models with a diagonal H (no coupling, O = 0): 16 coordinates, log-normal
    SNR and curvatures, random signs."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        sig = np.exp(rng.normal(0, 0.5, 16))
        mu = sig * np.exp(rng.normal(np.log(0.05), 1.0, 16)) * rng.choice([-1, 1], 16)
        out.append(sign_model(mu, sig, np.diag(np.exp(rng.normal(0, 1.0, 16)))))
    return out


# ------------------------------------------------------------------------------------ theory ----

LIMIT_B = 1e12                      # "B → ∞": every erf(√(B/2) r_i) is 1 to double precision here
DIAGONAL_MODELS = 12

THEORY_B = np.geomspace(1, 1e6, 600)
THEORY_DRAWS = 20
THEORY_ROWS = ("noise_batch_eq14", "exact_peak_batch", "max_lr_eq16", "exact_peak_lr",
               "theorem4_lr", "validity_bound")


def theory_cell(_spec=None) -> xr.Dataset:
    """The one-step closed forms against the exact erf curve, for every case of ``theory_cases``:
    curves over B (exact Eq 9, Eq 10, Theorem 3, SGD Eq 1 rescaled to the exact maximum) and the
    table of B_noise (Eq 14), exact peak, ε_max (Eq 16), Theorem 4 limit and validity bound."""
    cases = theory_cases()
    curves = {k: [] for k in ("exact", "eq10", "theorem3", "sgd_rescaled")}
    rows = []
    for m in cases.values():
        ex = optimal_lr(m, THEORY_B)
        sgd = surge.sgd_model_lr(m, THEORY_B)
        curves["exact"].append(ex)
        curves["eq10"].append(surge.optimal_lr_eq10(m, THEORY_B))
        curves["theorem3"].append(surge.optimal_lr_theorem3(m, THEORY_B))
        curves["sgd_rescaled"].append(sgd * ex.max() / sgd.max())
        bp, ep = exact_peak(m)
        rows.append([surge.noise_batch_eq14(m), bp, surge.max_lr_eq16(m), ep,
                     surge.optimal_lr_theorem4(m), surge.validity_bound(m)])
    ds = xr.Dataset({f"theory_{k}": (("case", "theory_b"), np.array(v)) for k, v in curves.items()},
                    coords={"case": list(cases), "theory_b": THEORY_B,
                            "theory_quantity": list(THEORY_ROWS)})
    ds["theory_table"] = (("case", "theory_quantity"), np.array(rows))
    # finding 1: where is the exact peak relative to B_noise, as a function of B_noise/bound?
    couplings = np.geomspace(0.01, 0.95, 21)                       # D/O_s = B_noise/bound
    fam_ratio, fam_cov = [], []
    for m in equal_snr_family(couplings):
        bn = surge.noise_batch_eq14(m)
        bp, _ = exact_peak(m, 1.0, 1e9)
        fam_ratio.append(bp / bn)
        fam_cov.append(bn / surge.validity_bound(m))
    ds["family_coupling"] = ("family", couplings)
    ds["family_bn_over_bound"] = ("family", np.array(fam_cov))
    ds["family_peak_ratio"] = ("family", np.array(fam_ratio))
    ds["family_peak_ratio_formula"] = ("family", surge.equal_snr_peak_ratio(np.array(fam_cov)))
    draws = random_draws(THEORY_DRAWS)
    dr = []
    for m in draws:
        bn = surge.noise_batch_eq14(m)
        bp, _ = exact_peak(m, 1.0, 1e7)
        r = np.abs(m.snr)
        dr.append([bp / bn, bn / surge.validity_bound(m), bn / float(np.median(np.pi / (2 * r * r)))])
    ds["draw_table"] = (("draw", "draw_quantity"), np.array(dr))
    ds = ds.assign_coords(draw_quantity=["peak_ratio", "bn_over_min_bound",
                                         "bn_over_median_bound"])
    # Theorem 4: the exact curve far beyond every coordinate's bound, against Eq 17
    ds["theory_limit_lr"] = ("case", [float(optimal_lr(m, LIMIT_B)) for m in cases.values()])
    # Eq 20 in the exact model with constant statistics (McCandlish App. D, Eq 44): S = 1/ΔL_opt,
    # E = B·S, S_min = 1/ΔL_opt(∞), E_min = lim_{B→0} B/ΔL_opt = π D/M²; the product at B_crit
    products = []
    for m in cases.values():
        s_min = 1.0 / float(optimal_improvement(m, LIMIT_B))
        e_min = np.pi * float(np.trace(m.hessian)) / float(np.sum(m.mu ** 2 / m.sigma)) ** 2
        b_crit = e_min / s_min
        s, e = surge.exact_tradeoff(m, max(b_crit, 1.0))
        products.append([b_crit, float((s / s_min - 1) * (e / e_min - 1))])
    ds["theory_eq20"] = (("case", "eq20_quantity"), np.array(products))
    ds = ds.assign_coords(eq20_quantity=["critical_batch", "product_at_critical_batch"])
    # App. D: without coupling (diagonal H, O = 0) there is no surge — random diagonal models
    diag = diagonal_models(DIAGONAL_MODELS)
    ds["diagonal_exact_peak"] = ("diagonal_model", [exact_peak(m, 1.0, 1e9)[0] for m in diag])
    ds["diagonal_noise_batch"] = ("diagonal_model", [surge.noise_batch_eq14(m) for m in diag])
    return ds


# ---------------------------------------------------------------------------- simulation ----

def resolve(args) -> dict:
    quick = args.quick
    seeds = simlab._checks.integer("seeds", args.seeds, lo=2)        # a standard error needs 2
    return {
        "batch_sizes": [1, 4, 16, 64, 256] if quick else [int(2 ** i) for i in range(11)],
        "lr_points": 12 if quick else 36,
        "steps": 16 if quick else 200,
        "ks": [1, 4, 16] if quick else [1, 2, 4, 8, 16],
        "seeds": seeds,
        "snr": SNR0,
        "target_fraction": 0.5 if quick else 0.3,
        "backend": args.backend,
        "optimizers": list(OPTIMIZERS),
        "trajectory_seeds": 64,
        "bootstrap": 60 if quick else 400,
    }


def lr_grid(name, problem, batch_sizes, points):
    """A log grid around the one-step theory for this optimizer, widened for multi-step optima."""
    m = model_at(problem, problem.w0)
    if name == "sgd":
        b = np.asarray(batch_sizes, float)
        eps = surge.sgd_model_lr(m, b)
    else:
        eps = optimal_lr(m, np.asarray(batch_sizes, float))
    return np.geomspace(eps.min() / 30, eps.max() * 3, points)


def simulate_cell(spec: dict) -> xr.Dataset:
    """One (optimizer, B) cell, for every lr of the optimizer's grid: the loss of every seed after
    each k of ``spec["ks"]`` steps (for the bootstrap), its seed mean, and the first step at which
    the seed-mean loss reaches ``spec["target_loss"]`` (−1 if never; a diverged run makes the
    mean +inf)."""
    prob = coupled_problem(spec["snr"])
    lrs = lr_grid(spec["optimizer"], prob, spec["batch_sizes"], spec["lr_points"])
    res = simlab.simulate(prob, OPTIMIZERS[spec["optimizer"]](), lr=lrs,
                          batch_size=spec["batch_size"], steps=spec["steps"], seeds=spec["seeds"],
                          record_every=1, backend=spec["backend"], seed=spec["seed"])
    loss = res.loss.values                                               # (lr_index, seed, step)
    with np.errstate(invalid="ignore"):
        mean = loss.mean(axis=1)
    hit = mean <= spec["target_loss"]
    first = np.where(hit.any(axis=-1), hit.argmax(axis=-1), -1)
    return xr.Dataset({"mean_loss": (("lr_index", "k"), mean[:, spec["ks"]]),
                       "seed_loss": (("lr_index", "seed", "k"), loss[:, :, spec["ks"]]),
                       "first_hit": ("lr_index", first),
                       "lr": ("lr_index", lrs)},
                      coords={"lr_index": np.arange(lrs.size), "k": spec["ks"]})


def simulate_warmup(backend: str) -> None:
    """Compile (or load from numba's disk cache) the kernels of every optimizer used here."""
    prob = coupled_problem()
    for make in OPTIMIZERS.values():
        simlab.simulate(prob, make(), lr=1e-3, batch_size=2, steps=2, seeds=1, backend=backend)


def trajectory_cell(spec: dict) -> xr.Dataset:
    """B_noise at the iterates w_k of SignSGD (k steps at lr ``spec["lr"]``, batch ``b_ref``):
    medians over seeds of Eq 14 (sign model) and of McCandlish's tr(HC)/GᵀHG."""
    prob = coupled_problem(spec["snr"])
    if not np.isfinite(spec["lr"]):
        return xr.Dataset({"trajectory_bn_eq14": ((), np.nan), "trajectory_bn_sgd": ((), np.nan)})
    res = simlab.simulate(prob, optim.signsgd(), lr=spec["lr"], batch_size=spec["b_ref"],
                          steps=spec["k"], seeds=spec["seeds"], backend=spec["backend"], seed=999)
    ws = res.w_final.values[0]
    return xr.Dataset({
        "trajectory_bn_eq14": ((), float(np.median([surge.noise_batch_eq14(model_at(prob, w))
                                                    for w in ws]))),
        "trajectory_bn_sgd": ((), float(np.median([noise_scale(prob, w) for w in ws])))})


def optimal_lr_table(ds, ks):
    """(optimizer, B, k): the lr minimising the seed-mean loss after k steps (log-parabola)."""
    return parabola_argmin_rows(ds.lr.values[:, None, None, :],
                                ds.mean_loss.transpose("optimizer", "batch_size", "k",
                                                       "lr_index").values)


def bootstrap_optimal_lr(ds, draws, seed=0):
    """(optimizer, k, R, B): ``optimal_lr_table`` of ``draws`` resamples of the seeds (the same
    resample for every lr, so the common random numbers of a cell are kept)."""
    loss = ds.seed_loss.transpose("optimizer", "batch_size", "k", "lr_index", "seed").values
    n = loss.shape[-1]
    idx = bootstrap_indices(n, draws, seed)
    weights = np.zeros((draws, n))
    np.add.at(weights, (np.repeat(np.arange(draws), n), idx.ravel()), 1.0 / n)
    with np.errstate(invalid="ignore", over="ignore"):
        means = np.where(np.isfinite(loss), loss, 1e300) @ weights.T           # (o, B, k, lr, R)
    means[means > 1e299] = np.inf
    best = parabola_argmin_rows(ds.lr.values[:, None, None, None, :],
                                np.moveaxis(means, -1, 3))                     # (o, B, k, R)
    return np.transpose(best, (0, 2, 3, 1))


def steps_to_target(ds, o):
    """Per B: min over lr of the first step whose seed-mean loss ≤ the target (nan if never)."""
    first = ds.first_hit.values[o].astype(float)                     # (B, lr)
    first[first < 0] = np.nan
    with np.errstate(invalid="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmin(first, axis=-1)


def compute(config: dict, cells) -> xr.Dataset:
    """Theory cell, the (optimizer × B) simulation cells, then the trajectory cells (which need
    the optimal lrs of the first stage), and everything the report prints, derived from them."""
    theory = cells.map(theory_cell, [{"cases": list(theory_cases())}], label="theory")[0]
    bs, ks, names = config["batch_sizes"], config["ks"], list(OPTIMIZERS)
    prob = coupled_problem(config["snr"])
    loss0 = float(prob.loss(prob.w0))
    target = config["target_fraction"] * loss0
    specs = [{"optimizer": name, "batch_size": b, "seed": j, "batch_sizes": bs, "ks": ks,
              "target_loss": target,
              **{k: config[k] for k in ("lr_points", "steps", "seeds", "snr", "backend")}}
             for name in names for j, b in enumerate(bs)]
    warm = [] if config["backend"] == "numpy" else [(simulate_warmup, (config["backend"],))]
    sims = cells.map(simulate_cell, specs, warmups=warm, label="simulations")
    per_opt = [xr.concat(sims[o * len(bs):(o + 1) * len(bs)], dim="batch_size") for o in
               range(len(names))]
    ds = xr.concat([d.assign(lr=d["lr"].isel(batch_size=0, drop=True)) for d in per_opt],
                   dim="optimizer")
    ds = ds.assign_coords(optimizer=names, batch_size=bs)
    table = optimal_lr_table(ds, ks)
    boot = bootstrap_optimal_lr(ds, config["bootstrap"], seed=1)            # (o, k, R, B)
    ds = ds.drop_vars(["seed_loss", "mean_loss"])
    m0 = model_at(prob, prob.w0)
    bn0, mc0 = surge.noise_batch_eq14(m0), noise_scale(prob, prob.w0)
    barr = np.asarray(bs)
    j_ref = int(np.argmin(np.abs(np.log(barr / bn0))))
    trajectories = cells.map(trajectory_cell, [
        {"k": k, "lr": float(table[0, j_ref, q]), "b_ref": int(barr[j_ref]),
         "seeds": config["trajectory_seeds"], "snr": config["snr"], "backend": config["backend"]}
        for q, k in enumerate(ks)], label="trajectories")
    traj = xr.concat(trajectories, dim="k")
    peaks = np.array([[log_parabola_argmax(barr, table[o, :, q]) for q in range(len(ks))]
                      for o in range(len(names))], dtype=float)         # (optimizer, k, 2)
    boot_peak = np.full(boot.shape[:3], np.nan)
    for idx in np.ndindex(*boot.shape[:3]):
        bp, interior = log_parabola_argmax(barr, boot[idx])
        boot_peak[idx] = bp if interior else np.nan
    at = np.argmax(np.where(np.isfinite(table), table, -np.inf), axis=1)    # (o, k): B index
    drop = surge_drop(np.moveaxis(table, 1, 2))
    boot_drop = surge_drop(boot, at[:, :, None])
    tradeoff, fits = [], []
    for name in ("signsgd", "sgd"):
        s = steps_to_target(ds, names.index(name))
        ok = np.isfinite(s)
        if ok.sum() >= 2 and np.ptp((barr * s)[ok]) > 0:
            f = surge.fit_tradeoff_eq22(s[ok], (barr * s)[ok])
        else:
            f = {"noise_batch": np.nan, "min_steps": np.nan, "min_examples": np.nan}
        tradeoff.append(s)
        fits.append([f["noise_batch"], f["min_steps"], f["min_examples"]])
    forms = [("eq2", None), ("eq24_a05", 0.5), ("eq24_a1", 1.0)]
    curve_fits = np.full((len(names), len(ks), len(forms), 3), np.nan)
    slopes = np.full((len(names), len(ks)), np.nan)
    for o, name in enumerate(names):
        limit = mc0 if name == "sgd" else bn0            # the small-B regime B ≤ B_noise(w0)
        for q in range(len(ks)):
            for f, (form, alpha) in enumerate(forms):
                curve_fits[o, q, f] = fit_curve(barr, table[o, :, q],
                                                "eq2" if form == "eq2" else "eq24", alpha)
            slopes[o, q] = small_batch_slope(barr, table[o, :, q], limit)
    k_one = int(np.argmin(np.abs(np.asarray(ks) - 1)))
    one_step_err = np.nanmax(np.abs(table[0, :, k_one] / optimal_lr(m0, barr.astype(float)) - 1))
    bp0, _ = exact_peak(m0, 1.0, 1e5)
    fine = np.geomspace(bs[0], bs[-1], 300)
    derived = xr.Dataset(
        {"optimal_lr": (("optimizer", "batch_size", "k"), table),
         "peak_boot": (("optimizer", "k", "replicate"), boot_peak.astype(np.float32)),
         "surge_drop": (("optimizer", "k"), drop),
         "surge_drop_boot": (("optimizer", "k", "replicate"), boot_drop.astype(np.float32)),
         "peak_batch": (("optimizer", "k"), peaks[..., 0]),
         "peak_interior": (("optimizer", "k"), peaks[..., 1].astype(bool)),
         "trajectory_bn_eq14": ("k", traj["trajectory_bn_eq14"].values),
         "trajectory_bn_sgd": ("k", traj["trajectory_bn_sgd"].values),
         "steps_to_target": (("tradeoff_optimizer", "batch_size"), np.array(tradeoff)),
         "tradeoff_fit": (("tradeoff_optimizer", "fit_quantity"), np.array(fits)),
         "tradeoff_theory_bn": ("tradeoff_optimizer", [bn0, mc0]),
         "w0_exact_lr": ("fine_b", optimal_lr(m0, fine)),
         "w0_theorem3_lr": ("fine_b", surge.optimal_lr_theorem3(m0, fine)),
         "w0_sgd_lr": ("fine_b", surge.sgd_model_lr(m0, fine)),
         "curve_fit": (("optimizer", "k", "form", "fit_value"), curve_fits),
         "small_batch_slope": (("optimizer", "k"), slopes)},
        coords={"k": ks, "tradeoff_optimizer": ["signsgd", "sgd"],
                "fit_quantity": ["noise_batch", "min_steps", "min_examples"], "fine_b": fine,
                "form": [f for f, _ in forms],
                "fit_value": ["max_lr", "noise_batch", "rms_log_residual"]},
        attrs={"loss0": loss0, "target": target, "b_ref": int(barr[j_ref]),
               "w0_noise_batch_eq14": bn0, "w0_exact_peak": bp0, "w0_noise_batch_sgd": mc0,
               "w0_validity_bound": surge.validity_bound(m0), "one_step_max_rel_err": one_step_err})
    return xr.merge([ds, derived, theory], combine_attrs="no_conflicts")


# -------------------------------------------------------------------------------- report ----

def _f(v, width=None, spec=".4g"):
    text = format(float(v), spec) if np.isfinite(v) else "none"
    return text.rjust(width) if width else text


def report(ds: xr.Dataset) -> str:
    cfg = json.loads(ds.attrs["config"])
    a = ds.attrs
    ks = [int(k) for k in ds.k.values]
    bs = [int(b) for b in ds.batch_size.values]
    lines = ["THEORY (one step, exact erf model vs closed forms; B searched on [1, 1e5])",
             f"  {'case':5} {'B_noise Eq14':>12} {'exact B_peak':>12} {'ratio':>6} "
             f"{'eps_max Eq16':>12} {'exact peak':>11} {'Eq17 limit':>11} {'Thm3 bound':>10}"]
    for case in ds.case.values:
        bn, bp, emax, ep, lim, bound = ds.theory_table.sel(case=case).values
        ratio = bp / bn if np.isfinite(bn) and np.isfinite(bp) else np.nan
        lines.append(f"  {str(case).split(':')[0]:5} {bn:12.4g} {_f(bp, 12)} {ratio:6.3f} "
                     f"{emax:12.4g} {ep:11.4g} {lim:11.4g} {bound:10.4g}")
    lines += ["", "Where is the exact peak relative to B_noise? Equal |SNR| (d = 128, H = diag + c ssᵀ): "
                  "B_noise/bound = D/O_s = x², exact B_peak/B_noise against (4/π)erfinv(x)²/x²",
              f"  {'B_noise/bound':>13} {'exact ratio':>11} {'formula':>8}"]
    for c, r, f in zip(ds.family_bn_over_bound.values, ds.family_peak_ratio.values,
                       ds.family_peak_ratio_formula.values):
        lines.append(f"  {c:13.4f} {r:11.5f} {f:8.5f}")
    dr = ds.draw_table.values
    lines += [f"  {dr.shape[0]} draws of case D's recipe (heterogeneous SNR): B_peak/B_noise "
              f"{np.nanmin(dr[:, 0]):.3f}..{np.nanmax(dr[:, 0]):.3f} (median "
              f"{np.nanmedian(dr[:, 0]):.3f}); B_noise/min-coordinate bound "
              f"{np.nanmin(dr[:, 1]):.2f}..{np.nanmax(dr[:, 1]):.2f}; B_noise/median bound "
              f"{np.nanmin(dr[:, 2]):.2f}..{np.nanmax(dr[:, 2]):.2f}"]
    lines += ["", f"SIMULATION  d={DIM}, |SNR(w0)|={cfg['snr']}, seeds={cfg['seeds']}, "
                  f"B in {min(bs)}..{max(bs)}, {cfg['lr_points']} lrs per optimizer, backend "
                  f"{cfg['backend']}",
              f"  at w0: B_noise Eq 14 = {a['w0_noise_batch_eq14']:.4g}; exact one-step peak = "
              f"{a['w0_exact_peak']:.4g} (ratio {a['w0_exact_peak'] / a['w0_noise_batch_eq14']:.3f}); "
              f"Thm 3 validity bound = {a['w0_validity_bound']:.4g}; McCandlish (SGD) B_noise = "
              f"{a['w0_noise_batch_sgd']:.4g}",
              "  optimal lr after k steps (nan = optimum on the edge of the lr grid):",
              f"  {'B':>6} " + " ".join(f"{LABELS[n][:10]:>10}@k={k:<3}" for n in ("signsgd", "sgd")
                                        for k in ks)]
    table = ds.optimal_lr
    for b in bs:
        vals = [float(table.sel(optimizer=n, batch_size=b, k=k)) for n in ("signsgd", "sgd")
                for k in ks]
        lines.append(f"  {b:6d} " + " ".join(f"{v:15.4g}" for v in vals))
    lines += [f"  k=1 SignSGD vs exact Eq 9 at w0: max |sim/exact - 1| over B = "
              f"{a['one_step_max_rel_err']:.3f}", "",
              f"  peak of simulated optimal lr over B   (B_noise along the SignSGD trajectory at "
              f"B={a['b_ref']}: Eq 14 / McCandlish)",
              f"  {'k':>4} " + " ".join(f"{LABELS[n]:>20}" for n in ds.optimizer.values)
              + f" {'Eq14 B_noise(w_k)':>18} {'tr(HC)/GHG (w_k)':>17}"]
    for k in ks:
        row = []
        for name in ds.optimizer.values:
            bpk = float(ds.peak_batch.sel(optimizer=name, k=k))
            interior = bool(ds.peak_interior.sel(optimizer=name, k=k))
            row.append(f"{bpk:9.3g} ({'peak' if interior else 'edge'})")
        lines.append(f"  {k:4d} " + " ".join(f"{c:>20}" for c in row)
                     + f" {float(ds.trajectory_bn_eq14.sel(k=k)):18.4g}"
                       f" {float(ds.trajectory_bn_sgd.sel(k=k)):17.4g}")
    lines += ["", "  fits of the simulated optimal-lr curves (fitted B_noise, rms residual of log eps): "
                  "Eq 2 vs Eq 24 with alpha = 0.5 / 1; small-B slope over B <= B_noise(w0) "
                  "(Eq 14 for sign, McCandlish for SGD; Eq 4 says 0.5, Eq 3 says 1)"]
    for name in ds.optimizer.values:
        for k in ks:
            cf = ds.curve_fit.sel(optimizer=name, k=k)
            parts = [f"{str(f)} B_n={_f(float(cf.sel(form=f, fit_value='noise_batch')), spec='.3g')}"
                     f" rms={_f(float(cf.sel(form=f, fit_value='rms_log_residual')), spec='.3f')}"
                     for f in ds.form.values]
            lines.append(f"  {LABELS[str(name)][:18]:18} k={k:<3} " + "; ".join(parts)
                         + f"; slope {_f(float(ds.small_batch_slope.sel(optimizer=name, k=k)), spec='.3f')}")
    lines += ["", f"TRADE-OFF  target mean loss = {cfg['target_fraction']} x L(w0) = "
                  f"{a['target']:.4g}"]
    barr = np.asarray(bs, float)
    for name in ds.tradeoff_optimizer.values:
        s = ds.steps_to_target.sel(tradeoff_optimizer=name).values
        nb, s_min, e_min = ds.tradeoff_fit.sel(tradeoff_optimizer=name).values
        theory_bn = float(ds.tradeoff_theory_bn.sel(tradeoff_optimizer=name))
        with np.errstate(invalid="ignore"):
            prod = (s / s_min - 1) * (barr * s / e_min - 1)
        lines.append(f"  {LABELS[str(name)]:8}: S(B) = {s.tolist()}")
        lines.append(f"            Eq 22 fit: B_noise = {nb:.4g}, S_min = {s_min:.4g}; "
                     f"theory B_noise(w0) = {theory_bn:.4g}; "
                     f"(S/S_min-1)(E/E_min-1) over B: {np.round(prod, 2).tolist()} (Eq 20 says 1)")
    from experiments.verdicts import verdict_lines
    lines += ["", "VERDICTS (experiments/claims.py, decided by simlab.verdict.decide)",
              verdict_lines(ds)]
    return "\n".join(lines)


def headline(ds: xr.Dataset) -> str:
    k = int(ds.k.values[0])
    peak = float(ds.peak_batch.sel(optimizer="signsgd", k=k))
    fit = float(ds.tradeoff_fit.sel(tradeoff_optimizer="signsgd", fit_quantity="noise_batch"))
    return (f"SignSGD k={k} peak B={peak:.3g} (B_noise Eq14 {ds.attrs['w0_noise_batch_eq14']:.3g}); "
            f"Eq 22 fit B_noise {fit:.3g}")


# ------------------------------------------------------------------------------- claims ----
# The functions ``experiments/claims.py`` names (section li2024): each reads the stored Dataset only.

def _case(ds, case: str) -> str:
    """The full case label that starts with ``case`` ("C" → "C: equal SNR, …")."""
    names = [str(c) for c in ds.case.values if str(c).split(":")[0] == case]
    if len(names) != 1:
        raise ValueError(f"case={case!r} is not one of {[str(c).split(':')[0] for c in ds.case.values]}")
    return names[0]


def measure_peak_ratio(ds):
    """Eq 15 deep inside Theorem 3's range: exact B_peak/B_noise of the equal-SNR model whose
    B_noise is the smallest fraction (1/100) of the validity bound π/(2r²) (the family of the
    theory cell; the exact peak refined to 1e-10 in log B)."""
    from simlab.verdict import Exact
    i = int(np.argmin(ds.family_bn_over_bound.values))
    return Exact(float(ds.family_peak_ratio.values[i]), resolution=1e-8)


def measure_draw_peak_ratio(ds):
    """Eq 15 with heterogeneous SNR: the largest |B_peak/B_noise − 1| over the random draws of
    case D's recipe (64 coordinates, log-normal SNR)."""
    from simlab.verdict import Exact
    ratio = ds.draw_table.sel(draw_quantity="peak_ratio").values
    return Exact(float(np.nanmax(np.abs(ratio - 1))), resolution=1e-8)


def draws_outside_theorem3(ds):
    """None when every draw has B_noise below its strictest coordinate bound, else the reason."""
    over = ds.draw_table.sel(draw_quantity="bn_over_min_bound").values
    if np.all(over < 1):
        return None
    return (f"Theorem 3 needs B ≪ πσ_i²/(2μ_i²) for every i; B_noise is {np.nanmin(over):.2g}–"
            f"{np.nanmax(over):.2g}× the strictest coordinate bound in these draws")


def measure_theorem3_error(ds, fraction: float = 0.1):
    """Theorem 3 (Eq 13) against the exact erf curve: the largest |Eq13/exact − 1| over the
    theory cases and the grid points B ≤ ``fraction`` × the validity bound; resolution: the error
    change over one grid step (it grows about linearly in B there)."""
    from simlab.verdict import Exact
    b = ds.theory_b.values
    worst = 0.0
    for case in ds.case.values:
        sel = ds.sel(case=case)
        bound = float(sel.theory_table.sel(theory_quantity="validity_bound"))
        inside = b <= fraction * bound
        err = np.abs(sel.theory_theorem3.values[inside] / sel.theory_exact.values[inside] - 1)
        worst = max(worst, float(err.max()) if err.size else 0.0)
    return Exact(worst, resolution=worst * (b[1] / b[0] - 1))


def measure_theorem4_limit(ds):
    """Theorem 4 (Eq 17): the largest |exact ε_opt(B = 1e12)/Eq 17 − 1| over the theory cases."""
    from simlab.verdict import Exact
    lim = ds.theory_table.sel(theory_quantity="theorem4_lr").values
    return Exact(float(np.max(np.abs(ds.theory_limit_lr.values / lim - 1))), resolution=1e-12)


def measure_uncoupled_peaks(ds):
    """App. D: the number of uncoupled models (diagonal H: O = 0, B_noise = ∞) whose exact
    optimal lr has an interior peak on B ∈ [1, 1e9] — case A and the random diagonal models."""
    from simlab.verdict import Exact
    peaks = list(ds.diagonal_exact_peak.values) + [
        float(ds.theory_table.sel(case=_case(ds, "A"), theory_quantity="exact_peak_batch"))]
    return Exact(float(np.sum(np.isfinite(peaks))))


def measure_peak_height(ds, case: str):
    """Eq 16: |ε_max(Eq 16)/exact peak height − 1| for theory case ``case``."""
    from simlab.verdict import Exact
    row = ds.theory_table.sel(case=_case(ds, case))
    ratio = float(row.sel(theory_quantity="max_lr_eq16") / row.sel(theory_quantity="exact_peak_lr"))
    return Exact(abs(ratio - 1), resolution=1e-8)


def case_outside_theorem3(ds, case: str):
    """None when case ``case`` has B_noise below its strictest coordinate bound, else the reason."""
    row = ds.theory_table.sel(case=_case(ds, case))
    over = float(row.sel(theory_quantity="noise_batch_eq14") / row.sel(theory_quantity="validity_bound"))
    if over < 1:
        return None
    return (f"Theorem 3 needs B ≪ πσ_i²/(2μ_i²) for every i; B_noise is {over:.2g}× the strictest "
            f"coordinate bound in case {case}")


def measure_eq20_product(ds, case: str):
    """Eq 20 in the exact model with constant statistics (case ``case``): (S/S_min − 1)(E/E_min − 1)
    at B = B_crit = E_min/S_min, with S = 1/ΔL_opt(B) (Eq 8) and E = B·S."""
    from simlab.verdict import Exact
    v = float(ds.theory_eq20.sel(case=_case(ds, case), eq20_quantity="product_at_critical_batch"))
    return Exact(v, resolution=1e-6)


def measure_surge_drop(ds, optimizer: str, k: int = 1):
    """How far the simulated optimal lr after ``k`` steps from w0 falls from its peak by the largest
    B (B = 1024): log10(ε_opt(B*)/ε_opt(B_max)), B* the peak of the point estimate; the bootstrap
    replicates resample the seeds and keep B* fixed (so a flat curve gives an interval around 0)."""
    from simlab.verdict import Estimate
    sel = ds.sel(optimizer=optimizer, k=k)
    return Estimate(samples=sel.surge_drop_boot.values.astype(float),
                    value=float(sel.surge_drop), n_seeds=int(json.loads(ds.attrs["config"])["seeds"]))


# -------------------------------------------------------------------------------- figures ----

def _figure_legend(fig, axes, ncol):
    """One legend for the whole figure, below the panels, with every label that any panel has
    (a line drawn in one panel only — e.g. B_noise where it is finite — is not lost)."""
    handles = {}
    for ax in np.ravel(axes):
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=ncol, fontsize=7,
               bbox_to_anchor=(0.5, 0.0))


def figure_theory(ds, out):
    cases = list(ds.case.values)
    fig, axes = plt.subplots(1, len(cases), figsize=(3.3 * len(cases), 3.9))
    b = ds.theory_b.values
    for ax, case in zip(axes, cases):
        sel = ds.sel(case=case)
        bn, _, _, _, lim, bound = sel.theory_table.values
        ex = sel.theory_exact.values
        ax.plot(b, ex, "k", lw=2, label="exact (erf, Eq 9)")
        ax.plot(b, sel.theory_eq10, "C1--", label="Eq 10 approx. in Eq 9")
        ax.plot(b, sel.theory_theorem3, "C3:", lw=2, label="Theorem 3 (Eq 13)")
        ax.axhline(lim, color="C2", ls="-.", lw=1, label="Theorem 4 (Eq 17)")
        ax.plot(b, sel.theory_sgd_rescaled, color=COLORS["sgd"], alpha=0.6,
                label="SGD exact (Eq 1), rescaled")
        if np.isfinite(bn):
            ax.axvline(bn, color="C3", lw=0.8, label="B_noise (Eq 14)")
        else:
            ax.text(0.97, 0.04, "no finite B_noise", transform=ax.transAxes, ha="right",
                    fontsize=7, color="C3")
        ax.axvline(bound, color="grey", ls="--", lw=0.8, label="Thm 3 bound min πσ²/2μ²")
        log_ticks(ax, "both")
        ax.set_ylim(ex.min() / 2, max(ex.max(), lim) * 2)
        ax.set_title(str(case), fontsize=8)
        ax.set_xlabel("batch size B")
    axes[0].set_ylabel("optimal lr ε_opt(B)")
    paper_title(fig, "li", "Eq. 9–17 (Theorems 3–4)",
                "the exact one-step optimal lr of sign descent against the paper's closed forms")
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    _figure_legend(fig, axes, ncol=7)
    return save_figure(fig, out, f"{NAME}_theory")


def figure_simulated(ds, out):
    bs = ds.batch_size.values
    ks = list(ds.k.values)
    names = list(ds.optimizer.values)
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 3.9), sharey=True)
    fine = ds.fine_b.values
    cmap = plt.get_cmap("viridis")
    for ax, name in zip(axes, names):
        for q, k in enumerate(ks):
            lr = ds.optimal_lr.sel(optimizer=name, k=k).values
            color = cmap(q / max(len(ks) - 1, 1))
            ax.plot(bs, lr, "o-", ms=3, color=color, label=f"after k = {k} steps")
            # a B without an interior optimum (it lies on the grid's edge, or every lr diverged)
            # is marked at the top instead of leaving a silent gap in the curve
            mark_all_diverged(ax, bs, lr, ~np.isfinite(lr), color=color,
                              label="× no optimum inside the lr grid (edge or diverged)")
        if name == "sgd":
            ax.plot(fine, ds.w0_sgd_lr, "k-.", lw=1, label="SGD one-step exact (Eq 1)")
            ax.axvline(ds.attrs["w0_noise_batch_sgd"], color="C1", lw=0.8,
                       label="SGD B_noise tr(HC)/GᵀHG at w0")
        else:
            ax.plot(fine, ds.w0_exact_lr, "k--", lw=1, label="sign one-step exact (Eq 9)")
            ax.plot(fine, ds.w0_theorem3_lr, "k:", lw=1, label="Theorem 3")
            ax.axvline(ds.attrs["w0_noise_batch_eq14"], color="C3", lw=0.8,
                       label="sign B_noise(w0), Eq 14")
        log_ticks(ax, "both")
        ax.set_title(LABELS[str(name)], fontsize=9)
        ax.set_xlabel("batch size B")
    axes[0].set_ylabel("lr minimising mean loss after k steps")
    paper_title(fig, "li", "the surge (Theorem 3, Eq. 13)",
                "simulated optimal lr against batch size on a coupled-H Gaussian quadratic")
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    _figure_legend(fig, axes, ncol=5)
    return save_figure(fig, out, f"{NAME}_simulated")


def figure_tradeoff(ds, out):
    bs = ds.batch_size.values
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.6))
    for ax, name in zip(axes, ds.tradeoff_optimizer.values):
        name = str(name)
        s = ds.steps_to_target.sel(tradeoff_optimizer=name).values
        e = bs * s
        ax.plot(e, s, "o", color=COLOR[name], label="simulated (best lr per B)")
        ax.tick_params(axis="both", which="minor", labelsize=7)
        for bb, ee, ss in zip(bs, e, s):
            if np.isfinite(ss):
                ax.annotate(f"B={bb}", (ee, ss), fontsize=6, xytext=(4, 3),
                            textcoords="offset points")
        nb, s_min, e_min = ds.tradeoff_fit.sel(tradeoff_optimizer=name).values
        if np.isfinite(s_min) and nb > 0:
            ef = np.geomspace(e_min * 1.02, np.nanmax(e) * 2, 200)
            ax.plot(ef, surge.steps_eq20(ef, s_min, e_min), "k--",
                    label=f"Eq 20 fit: B_noise = {nb:.3g}")
        log_ticks(ax, "both")
        theory_bn = float(ds.tradeoff_theory_bn.sel(tradeoff_optimizer=name))
        ax.set_title(f"{LABELS[name]}: theory B_noise(w0) = {theory_bn:.3g}", fontsize=9)
        ax.set_xlabel("examples E = B·S")
        ax.set_ylabel(f"steps S to mean loss ≤ {ds.attrs['target']:.3g}")
        ax.legend(fontsize=7)
    paper_title(fig, "li", "Eq. 20–22", "steps against examples to reach a target loss, and B_noise")
    fig.tight_layout()
    return save_figure(fig, out, f"{NAME}_tradeoff")


def plot(ds: xr.Dataset, out) -> list:
    style()
    return figure_theory(ds, out) + figure_simulated(ds, out) + figure_tradeoff(ds, out)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline, seeds=(300, 64),
                        backend="numpy")


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
