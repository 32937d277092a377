"""SDE approximations vs the discrete optimizers: mean loss with bands, and measured weak orders.

Part 1 — trajectories on the 9-d toy (both Hessians, sampling without replacement, w0 = 1): mean
loss of SGD (η = 5e-5, t ∈ [0, 0.05]) and SignSGD (η = 1e-2, t ∈ [0, 1]) across batch sizes, next to
Euler–Maruyama ensembles (``substeps`` = 4 per step) of the SGD SDE, the exact-moment SignSGD SDE and
the Gaussian-erf SignSGD SDE; for SGD also the exact E f of both (``simlab.sde.moments``).
Bands: exp(mean ± 2 std) of log loss over runs (``plotting.log_mean_band``).

Part 2 — weak error max_k |E f(x_k) − E f(X_{t_k})| against η at a fixed horizon, η halved 4
times, with a least-squares slope in log-log:
* SGD SDE, 9-d toy (het, hom), B = 3: both sides exact (moment recursion and moment ODE), no
  Monte Carlo; η = 1e-5·2^−j, t ∈ [0, 0.004].
* SignSGD SDEs on a 2-d data toy (4 samples, B = 2, w0 = (3, −2)), η = 0.2·2^−j, t ∈ [0, 1.6]: the
  discrete side exact (lattice enumeration, ``signsgd_discrete_loss``), the SDE side Monte Carlo
  with its standard error reported. The 9-d toy is not used here: its bias (< 0.5 % of f at
  η = 0.16) is below what a few thousand paths resolve.
* The Gaussian-erf SignSGD SDE inside its assumption (row ``signsgd_gaussian_gauss2d``): the
  2-d Gaussian-noise quadratic with diagonal H and C (B = 2, w0 = (1, −1)), η = 0.2·2^−j,
  t ∈ [0, 1.6]; the discrete side exact (independent per-coordinate lattice laws,
  ``signsgd_gaussian_discrete_loss``), the SDE side Monte Carlo. On the data toy above the
  same SDE is used outside its assumption (4 samples: the noise is not Gaussian), where its error
  is a model error that does not shrink with η.
* RMSprop/Adam SDEs (``simlab.sde.adaptive``) on a 2-d Gaussian-noise quadratic, both sides Monte
  Carlo: Compagnoni (η = 0.1·2^−j, B = 4, 1 − β_i ∝ η, t ∈ [0, 2]) and Malladi (η = 0.1·2^−j,
  B = 4^(J−j) ∝ η², 1 − β_i ∝ η², t = kη² ∈ [0, 0.2]); optimizers start from zero state (as in ``optim``).
  Rows ``*_warm``: both sides warm-started (m₀ = ∇f, v₀ = E g², no bias correction), and Malladi in
  its noise-dominated regime (B = 1, C·(10η₀/η)², so σ₀ fixed and σ ≫ |∇f|).

Cells (each cached on its own): one per (Hessian, B) for the trajectories, one per weak-order row.
Backend: ``--backend`` runs both the discrete optimizers and the SDEs of part 1 and the SignSGD SDEs
of part 2; one the SDE integrator does not support is refused before any work. The RMSprop/Adam
rows use the numpy reference on both sides (their discrete side runs from a given state).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from experiments._harness import Experiment
from simlab import optim, problems, simulate
from simlab.plotting import (band, log_mean_band, log_ticks, paper_title, plt, save_figure,
                             style)
from simlab.sde import (fitted_order, integrate, sgd_discrete_loss, sgd_sde, sgd_sde_loss,
                        signsgd_discrete_loss, signsgd_sde, weak_error, weak_errors)
from simlab.sde.adaptive import adaptive_sde, adaptive_sde_loss, warm_start
from simlab.sde.moments import signsgd_gaussian_discrete_loss

NAME = "sde"
SGD_LR, SGD_T = 2e-5, 0.04
SIGN_LR, SIGN_T = 1e-2, 1.0
RECORDS = 50


def small_data_problem():
    x = np.array([[1.0, 0.3, -0.8, 0.5], [0.2, 1.0, 0.9, -0.6]])
    return problems.data_quadratic(x, [3.0, -2.0], name="toy2d")


def small_gaussian_problem():
    return problems.gaussian_quadratic(np.diag([1.0, 0.3]), np.diag([1.0, 0.5]), [1.0, -1.0],
                                       name="gauss2d")


SGD_SERIES = ["discrete", "sgd_sde", "discrete_exact", "sde_exact"]
SIGN_SERIES = ["discrete", "exact_sde", "erf_sde"]


def sde_backends() -> tuple:
    """The backends the SDE models run on: every backend of the engine."""
    from simlab.backends import BACKENDS
    return BACKENDS


def trajectory_cell(spec: dict) -> xr.Dataset:
    """Part 1 for one (Hessian, B): loss of every run at RECORDS + 1 times for SGD (discrete, EM
    of the SDE, exact E f of both) and SignSGD (discrete, exact-moment SDE, Gaussian-erf SDE)."""
    prob = problems.block_quadratic(spec["hessian"])
    b, runs, backend, substeps = spec["batch_size"], spec["runs"], spec["backend"], spec["substeps"]
    out = {}
    for name, lr, horizon in (("sgd", SGD_LR, SGD_T), ("signsgd", SIGN_LR, SIGN_T)):
        steps = int(round(horizon / lr))
        every = steps // RECORDS
        opt = optim.sgd() if name == "sgd" else optim.signsgd()
        out[(name, "discrete")] = simulate(prob, opt, lr, b, steps, runs, record_every=every,
                                           backend=backend).loss.values[0]
        models = ({"sgd_sde": sgd_sde(prob, b)} if name == "sgd" else
                  {"exact_sde": signsgd_sde(prob, b), "erf_sde": signsgd_sde(prob, b, noise="gaussian")})
        for label, model in models.items():
            res = integrate(model, lr, steps, runs, substeps=substeps, record_every=every,
                            seed=1, backend=backend)
            out[(name, label)] = res.loss.values[0]
        if name == "sgd":
            ks = np.arange(0, steps + 1, every)
            out[(name, "discrete_exact")] = np.broadcast_to(
                sgd_discrete_loss(prob, lr, b, steps)[ks], (runs, ks.size))
            out[(name, "sde_exact")] = np.broadcast_to(
                sgd_sde_loss(prob, lr, b, steps)[ks], (runs, ks.size))
    return xr.Dataset(
        {"sgd_loss": (("series", "run", "record"), np.stack([out[("sgd", k)] for k in SGD_SERIES])),
         "sign_loss": (("sign_series", "run", "record"),
                       np.stack([out[("signsgd", k)] for k in SIGN_SERIES]))},
        coords={"series": SGD_SERIES, "sign_series": SIGN_SERIES})


def trajectory_warmup(backend: str) -> None:
    """Compile (or load from numba's disk cache) the kernels part 1 uses: tiny runs of each."""
    prob = problems.block_quadratic("heterogeneous")
    for opt in (optim.sgd(), optim.signsgd()):
        simulate(prob, opt, SGD_LR, 1, 2, 1, backend=backend)
    for model in (sgd_sde(prob, 1), signsgd_sde(prob, 1), signsgd_sde(prob, 1, noise="gaussian")):
        integrate(model, SGD_LR, 2, 1, substeps=1, seed=1, backend=backend)


REPLICATES = 400            # parametric bootstrap replicates of each weak error


def weak_error_replicates(discrete, continuous, draws: int = REPLICATES, seed: int = 0):
    """(weak error, its s.e. at the worst record, ``draws`` replicates of the weak error).

    Each side is exact expectations (K,) or Monte Carlo paths (paths, K). The replicates redraw
    the difference of the means at the worst record k* from its normal sampling law,
    |d_k* + s_k*·z| with s_k*² the summed variances of the means (``weak_error``'s s.e.); a
    max over every redrawn record would add the upward bias of a maximum of noisy values.
    Exact on both sides: every replicate is the error itself."""
    err, se = weak_error(discrete, continuous)
    sides = [np.asarray(x, dtype=float) for x in (discrete, continuous)]
    means = [x.mean(axis=0) if x.ndim == 2 else x for x in sides]
    diff = means[0] - means[1]
    k = int(np.argmax(np.abs(diff)))
    z = np.random.default_rng(seed).standard_normal(draws)
    return err, se, np.abs(diff[k] + se * z)


def weak_order_sgd(kind, batch, lrs, horizon):
    prob = problems.block_quadratic(kind)
    errs = []
    for lr in lrs:
        steps = int(round(horizon / lr))
        errs.append(weak_errors(sgd_discrete_loss(prob, lr, batch, steps),
                                sgd_sde_loss(prob, lr, batch, steps)))
    errs = np.array(errs)
    return errs, np.zeros(len(lrs)), np.repeat(errs[:, None], REPLICATES, axis=1)


def weak_order_signsgd(noise, lrs, horizon, paths, substeps, backend):
    prob = small_data_problem()
    model = signsgd_sde(prob, 2, noise=noise)
    errs, ses, reps = [], [], []
    for lr in lrs:
        steps = int(round(horizon / lr))
        exact = signsgd_discrete_loss(prob, lr, 2, steps)
        sde = integrate(model, lr, steps, paths, substeps=substeps, seed=1, backend=backend).loss.values[0]
        err, se, rep = weak_error_replicates(exact, sde, seed=len(errs))
        errs.append(err)
        ses.append(se)
        reps.append(rep)
    return np.array(errs), np.array(ses), np.array(reps)


def weak_order_signsgd_gaussian_noise(lrs, horizon, paths, substeps, backend):
    """The Gaussian-erf SignSGD SDE inside its assumption: Gaussian noise with diagonal H and C
    (``small_gaussian_problem``, B = 2), where its drift and diffusion are exactly E sign g and
    Cov sign g. The discrete side is exact (per-coordinate lattice law), the SDE side Monte Carlo."""
    prob = small_gaussian_problem()
    model = signsgd_sde(prob, 2, noise="gaussian")
    errs, ses, reps = [], [], []
    for lr in lrs:
        steps = int(round(horizon / lr))
        exact = signsgd_gaussian_discrete_loss(prob, lr, 2, steps)
        sde = integrate(model, lr, steps, paths, substeps=substeps, seed=1,
                        backend=backend).loss.values[0]
        err, se, rep = weak_error_replicates(exact, sde, seed=len(errs))
        errs.append(err)
        ses.append(se)
        reps.append(rep)
    return np.array(errs), np.array(ses), np.array(reps)


def weak_order_adaptive(family, opt_name, lrs, paths, substeps=2):
    prob = small_gaussian_problem()
    errs, ses, reps = [], [], []
    eta0 = lrs[0]
    for lr in lrs:
        scale = lr / eta0 if family == "compagnoni" else (lr / eta0) ** 2
        b1, b2 = 1 - 0.1 * scale, 1 - 0.01 * scale
        batch = 4 if family == "compagnoni" else int(round(4 ** (len(lrs) - 1) * (lr / eta0) ** 2))
        steps = int(round(2.0 / lr)) if family == "compagnoni" else int(round(0.2 / lr ** 2))
        opt = optim.adam(b1, b2, 1e-8) if opt_name == "adam" else optim.rmsprop(b2, 1e-8)
        disc = simulate(prob, opt, lr, batch, steps, paths, backend="numpy").loss.values[0]
        sde = adaptive_sde_loss(prob, family, opt_name, lr, batch, steps, paths, b1, b2, 1e-8,
                                substeps=substeps, seed=3)
        err, se, rep = weak_error_replicates(disc, sde, seed=len(errs))
        errs.append(err)
        ses.append(se)
        reps.append(rep)
    return np.array(errs), np.array(ses), np.array(reps)


def weak_order_adaptive_warm(family, opt_name, lrs, paths, substeps=2):
    """Warm start (m₀ = ∇f, v₀ = E g², no bias correction) inside each SDE's assumptions.

    Compagnoni: as ``weak_order_adaptive``. Malladi in its noise-dominated regime: B = 1 and the
    noise covariance C·(η₀/η)²·100, so σ = 10·η₀/η ≫ |∇f| and σ₀ = ση stays fixed."""
    errs, ses, reps = [], [], []
    eta0 = lrs[0]
    for lr in lrs:
        if family == "compagnoni":
            prob, batch, scale, steps = small_gaussian_problem(), 4, lr / eta0, int(round(2.0 / lr))
        else:
            base = small_gaussian_problem()
            prob = problems.gaussian_quadratic(base.hessian, base.noise_cov * (10 * eta0 / lr) ** 2,
                                               base.w0, name="gauss2d_noisy")
            batch, scale, steps = 1, (lr / eta0) ** 2, int(round(0.2 / lr ** 2))
        b1, b2 = 1 - 0.1 * scale, 1 - 0.01 * scale
        every = max(1, steps // WARM_RECORDS)
        disc = discrete_adaptive_from_warm_state(prob, opt_name, lr, batch, steps, paths, b1, b2,
                                                 1e-8, record_every=every)
        model = adaptive_sde(prob, family, opt_name, batch, b1, b2, 1e-8, "stationary", substeps)
        sde = simulate(prob, model, lr, steps=steps, seeds=paths, seed=3,
                       init_state=warm_start(prob, batch, family),
                       record_every=every).loss.values[0]
        err, se, rep = weak_error_replicates(disc, sde, seed=len(errs))
        errs.append(err)
        ses.append(se)
        reps.append(rep)
    return np.array(errs), np.array(ses), np.array(reps)


WARM_RECORDS = 200          # records per warm-start row (the weak error is a max over them)


def discrete_adaptive_from_warm_state(problem, optimizer: str, lr: float, batch_size: int,
                                      steps: int, paths: int, beta1: float, beta2: float,
                                      eps: float, record_every: int = 1):
    """(paths, steps + 1) losses of discrete RMSprop/Adam started from the warm state m₀ = ∇f(w₀),
    v₀ = E g(w₀)², no bias correction (``simulate`` continuing from that state)."""
    opt = (optim.adam(beta1, beta2, eps, bias_correction=False) if optimizer == "adam"
           else optim.rmsprop(beta2, eps))
    w0, m0, v0 = warm_start(problem, batch_size)
    held = {"m": m0, "v": v0}                 # RMSprop carries v only, Adam m and v
    return simulate(problem, opt, lr, batch_size, steps, paths, seed=5,
                    init_state=(w0,) + tuple(held[name] for name in opt.slots),
                    record_every=record_every).loss.values[0]


WEAK_ROWS = ("sgd_het_B3", "sgd_hom_B3", "signsgd_exact_toy2d", "signsgd_gaussian_toy2d",
             "signsgd_gaussian_gauss2d",
             "rmsprop_compagnoni", "rmsprop_compagnoni_warm", "adam_compagnoni",
             "adam_compagnoni_warm", "rmsprop_malladi", "rmsprop_malladi_warm", "adam_malladi",
             "adam_malladi_warm")


def weak_order_cell(spec: dict) -> xr.Dataset:
    """One row of part 2: (η, weak error, Monte Carlo s.e.) for the model ``spec["row"]``,
    NaN-padded to ``n_eta`` entries."""
    row, n_eta = spec["row"], spec["n_eta"]
    if row.startswith("sgd_"):
        kind = "heterogeneous" if "_het_" in row else "homogeneous"
        lrs = 1e-5 * 2.0 ** -np.arange(n_eta)
        err, se, reps = weak_order_sgd(kind, 3, lrs, 0.004)
    elif row == "signsgd_gaussian_gauss2d":
        lrs = 0.2 * 2.0 ** -np.arange(n_eta)
        err, se, reps = weak_order_signsgd_gaussian_noise(lrs, 1.6, spec["sign_paths"], 4,
                                                    spec["backend"])
    elif row.startswith("signsgd_"):
        noise = "exact" if "_exact_" in row else "gaussian"
        lrs = 0.2 * 2.0 ** -np.arange(n_eta)
        err, se, reps = weak_order_signsgd(noise, lrs, 1.6, spec["sign_paths"], 4, spec["backend"])
    else:
        opt_name, family = row.split("_")[:2]
        lrs = 0.1 * 2.0 ** -np.arange(spec["n_eta_adapt"])
        if row.endswith("_warm"):
            err, se, reps = weak_order_adaptive_warm(family, opt_name, lrs, spec["warm_paths"])
        else:
            err, se, reps = weak_order_adaptive(family, opt_name, lrs, spec["adapt_paths"])
    pad = [np.nan] * (n_eta - len(lrs))
    reps = np.concatenate([reps, np.full((n_eta - len(lrs), reps.shape[1]), np.nan)])
    return xr.Dataset({"weak_lr": ("eta_index", np.append(lrs, pad)),
                       "weak_error": ("eta_index", np.append(err, pad)),
                       "weak_se": ("eta_index", np.append(se, pad)),
                       "weak_error_reps": (("eta_index", "draw"), reps.astype(np.float32)),
                       "weak_paths": ((), row_paths(row, spec))})


def row_paths(row: str, spec: dict) -> int:
    """Monte Carlo paths per side of a weak-order row (0: both sides exact)."""
    if row.startswith("sgd_"):
        return 0
    if row.startswith("signsgd_"):
        return int(spec["sign_paths"])
    return int(spec["warm_paths"] if row.endswith("_warm") else spec["adapt_paths"])


def resolve(args) -> dict:
    backend = args.backend
    allowed = sde_backends()
    if backend not in allowed:
        raise ValueError(f"backend={backend!r} is not supported by the SDE integrator "
                         f"(allowed: {', '.join(map(repr, allowed))})")
    quick = args.quick
    return {"hessians": ["heterogeneous", "homogeneous"], "batches": [1, 3] if quick else [1, 3, 6],
            "runs": args.seeds, "sign_paths": 1000 if quick else 20000,
            "adapt_paths": 300 if quick else 4000, "warm_paths": 300 if quick else 40000,
            "n_eta": 5, "n_eta_adapt": 3 if quick else 5,
            "substeps": 4, "backend": backend}


def compute(config: dict, cells) -> xr.Dataset:
    hessians, batches = config["hessians"], config["batches"]
    specs = [{"hessian": h, "batch_size": b, "runs": config["runs"], "backend": config["backend"],
              "substeps": config["substeps"]} for h in hessians for b in batches]
    warm = [] if config["backend"] == "numpy" else [(trajectory_warmup, (config["backend"],))]
    traj = cells.map(trajectory_cell, specs, warmups=warm, label="trajectories")
    grid = xr.concat([xr.concat(traj[i * len(batches):(i + 1) * len(batches)], dim="batch_size")
                      for i in range(len(hessians))], dim="hessian")
    rows = cells.map(weak_order_cell, [
        {"row": row, **{k: config[k] for k in ("n_eta", "n_eta_adapt", "sign_paths",
                                                "adapt_paths", "warm_paths", "backend")}}
        for row in WEAK_ROWS], label="weak orders")
    ds = xr.merge([grid, weak_orders(rows, WEAK_ROWS)]).assign_coords(
        hessian=hessians, batch_size=batches,
        sgd_time=("record", np.linspace(0, SGD_T, RECORDS + 1)),
        sign_time=("record", np.linspace(0, SIGN_T, RECORDS + 1)))
    means = horizon_means(ds)
    ds = ds.assign(**{k: v.drop_vars(["sgd_time", "sign_time"]) for k, v in means.items()})
    # compact: the bands the figure draws instead of every run (see ``trajectory_bands``)
    return ds.assign(**trajectory_bands(ds)).drop_vars(["sgd_loss", "sign_loss"])


def weak_orders(cells: list, rows) -> xr.Dataset:
    """Part 2 as stored: the ``weak_order_cell`` results along ``model``, with each row's fitted
    slope and the facts its outside check reads (gradient noise, optimizer-state start)."""
    weak = xr.concat(cells, dim="model").assign_coords(model=list(rows))
    sl = slopes(weak)
    return weak.assign(weak_slope=("model", [sl[m] for m in rows]),
                       weak_noise=("model", [row_noise(m) for m in rows]),
                       weak_start=("model", [row_start(m) for m in rows]))


def row_noise(row: str) -> str:
    """The gradient noise of a weak-order row: 'data' (finite samples: the 9-d toy or the
    4-sample 2-d toy) or 'gaussian' (a Gaussian-noise quadratic)."""
    return "data" if row.startswith("sgd_") or row.endswith("_toy2d") else "gaussian"


def row_start(row: str) -> str:
    """How the optimizer state of an RMSprop/Adam row starts: 'zero' (as ``optim`` does) or
    'warm' (m₀ = ∇f, v₀ = E g²); '' for the SGD and SignSGD rows, which have no such state."""
    if row.startswith(("rmsprop", "adam")):
        return "warm" if row.endswith("_warm") else "zero"
    return ""


def trajectory_bands(ds) -> dict:
    """exp(mean ± 2 std) of log loss over the runs (``log_mean_band``) and the mean over runs,
    per (Hessian, B, series, record), float32: what the trajectory panels draw."""
    out = {}
    for var, series in (("sgd_loss", "series"), ("sign_loss", "sign_series")):
        da = ds[var].transpose("hessian", "batch_size", series, "run", "record")
        center, lo, hi = log_mean_band(da.values, axis=3)
        out[var.replace("_loss", "_band")] = (
            ("hessian", "batch_size", series, "band", "record"),
            np.stack([center, lo, hi], axis=3).astype(np.float32))
    return {**out, "band": ["center", "lo", "hi"]}


def slopes(ds):
    out = {}
    for m in ds.model.values:
        lr = ds.weak_lr.sel(model=m).values
        err = ds.weak_error.sel(model=m).values
        ok = np.isfinite(lr) & np.isfinite(err) & (err > 0)
        out[str(m)] = fitted_order(lr[ok], err[ok])
    return out


# -- the quantities the SDE claims are decided on (experiments/claims.py) -----------------------

def measure_weak_order(ds, row: str):
    """The fitted weak order of ``row``: the least-squares slope of log(weak error) against
    log η, with one replicate slope per parametric bootstrap replicate of the errors
    (``weak_error_replicates``). Both sides exact (the SGD rows): an ``Exact`` slope."""
    from simlab.verdict import Estimate, Exact
    lr = ds.weak_lr.sel(model=row).values
    ok = np.isfinite(lr)
    value = float(ds.weak_slope.sel(model=row))
    if not np.any(ds.weak_se.sel(model=row).values[ok] > 0):
        return Exact(value=value)
    reps = ds.weak_error_reps.sel(model=row).values[ok].astype(float)      # (eta, draw)
    # the s.e. falls like 1/sqrt(paths), as a seed mean's does: paths play the rule's n_seeds
    return Estimate(samples=_replicate_slopes(lr[ok], reps), value=value,
                    n_seeds=int(ds.weak_paths.sel(model=row)))


def _replicate_slopes(lrs, reps) -> np.ndarray:
    """Least-squares slope of log(error) on log η for every replicate column of ``reps``."""
    logs = np.log(np.maximum(reps, np.finfo(float).tiny))
    x = np.log(lrs) - np.log(lrs).mean()
    return (x @ (logs - logs.mean(axis=0))) / (x @ x)


def check_sde_assumptions(ds, row: str) -> str | None:
    """The assumption of an SDE's weak-approximation theorem that ``row``'s set-up violates, read
    from the stored row attributes, or None: the Gaussian-erf SignSGD SDE needs Gaussian
    gradient noise; the RMSprop/Adam SDEs need v away from 0 (a warm start)."""
    noise = str(ds.weak_noise.sel(model=row).values)
    start = str(ds.weak_start.sel(model=row).values)
    if row.startswith("signsgd_gaussian") and noise != "gaussian":
        return f"the gradient noise is {noise} noise of finitely many samples, not Gaussian"
    if start == "zero":
        return "zero start: v0 = 0, while the SDE assumes v kept away from 0"
    return None


def horizon_means(ds) -> xr.Dataset:
    """Mean over runs of the loss at the last record, per (Hessian, B, series)."""
    return xr.Dataset({"horizon_sgd": ds.sgd_loss.isel(record=-1).mean("run"),
                       "horizon_sign": ds.sign_loss.isel(record=-1).mean("run")})


def report(ds) -> str:
    lines = ["Weak error max_k |E f(x_k) - E f(X_{t_k})| vs eta (SE: Monte Carlo standard error); "
             "fitted slope [90 % interval over replicates of the errors]"]
    for m in ds.model.values:
        lr, err, se = (ds[v].sel(model=m).values for v in ("weak_lr", "weak_error", "weak_se"))
        slope = float(ds.weak_slope.sel(model=m))
        ok = np.isfinite(lr)
        cells = "  ".join(f"{a:.3g}:{e:.3g}±{s:.1g}" for a, e, s in zip(lr[ok], err[ok], se[ok]))
        reps = ds.weak_error_reps.sel(model=m).values[ok].astype(float)
        lo, hi = np.quantile(_replicate_slopes(lr[ok], reps), [0.05, 0.95])
        lines.append(f"{str(m):24s} slope {slope:6.2f} [{lo:6.2f}, {hi:6.2f}]  {cells}")
    lines.append(f"\nMean loss at the horizon (discrete / SDE); SGD t={SGD_T}, SignSGD t={SIGN_T}")
    for h in ds.hessian.values:
        for b in ds.batch_size.values:
            sg = ds.horizon_sgd.sel(hessian=h, batch_size=b)
            sn = ds.horizon_sign.sel(hessian=h, batch_size=b)
            lines.append(
                f"{h:14s} B={int(b)}  SGD disc {float(sg.sel(series='discrete')):9.4g} "
                f"SDE {float(sg.sel(series='sgd_sde')):9.4g} "
                f"(exact {float(sg.sel(series='discrete_exact')):9.4g}"
                f"/{float(sg.sel(series='sde_exact')):9.4g})  SignSGD disc "
                f"{float(sn.sel(sign_series='discrete')):9.4g} exact-SDE "
                f"{float(sn.sel(sign_series='exact_sde')):9.4g} "
                f"erf-SDE {float(sn.sel(sign_series='erf_sde')):9.4g}")
    from experiments.verdicts import verdict_lines
    lines += ["", "Claims (experiments/claims.py), decided by simlab.verdict.decide:",
              verdict_lines(ds)]
    return "\n".join(lines)


def headline(ds) -> str:
    sl = {str(m): float(v) for m, v in zip(ds.model.values, ds.weak_slope.values)}
    return (f"weak-order slopes: SGD SDE {sl['sgd_het_B3']:.2f}, exact-moment SignSGD "
            f"{sl['signsgd_exact_toy2d']:.2f}, Gaussian-erf on Gaussian noise "
            f"{sl['signsgd_gaussian_gauss2d']:.2f} (data toy {sl['signsgd_gaussian_toy2d']:.2f})")


SERIES_STYLE = {"discrete": ("-", "discrete optimizer"), "sgd_sde": ("--", "SDE (Euler–Maruyama)"),
                "exact_sde": ("--", "exact-moment SDE"), "erf_sde": (":", "Gaussian-erf SDE")}


def _trajectory_panel(ax, ds, h, var, series, tname):
    cmap = plt.get_cmap("viridis")
    nb = ds.batch_size.size
    t = ds[tname].values
    var = var.replace("_loss", "_band")
    for j, b in enumerate(ds.batch_size.values):
        color = cmap(j / max(nb - 1, 1))
        for s in ds[series].values:
            if s in ("discrete_exact", "sde_exact"):
                continue
            c, lo, hi = ds[var].sel({"hessian": h, "batch_size": b, series: s}).values
            band(ax, t, c, lo, hi, color=color, linestyle=SERIES_STYLE[str(s)][0])
        if var == "sgd_band":
            ax.plot(t, ds[var].sel({"hessian": h, "batch_size": b, series: "sde_exact",
                                    "band": "center"}).values,
                    color="k", lw=0.6, alpha=0.7)
    log_ticks(ax, "y")
    # one legend for the colours (B) and one for the line styles (series), not B × series labels
    from matplotlib.lines import Line2D
    colors = [Line2D([], [], color=cmap(j / max(nb - 1, 1)), label=f"B = {int(b)}")
              for j, b in enumerate(ds.batch_size.values)]
    styles = [Line2D([], [], color="0.3", ls=SERIES_STYLE[str(s)][0], label=SERIES_STYLE[str(s)][1])
              for s in ds[series].values if s not in ("discrete_exact", "sde_exact")]
    if var == "sgd_band":
        styles.append(Line2D([], [], color="k", lw=0.6, label="exact E f of the SDE"))
    first = ax.legend(handles=colors, fontsize=7, loc="upper right", title_fontsize=7)
    ax.add_artist(first)
    ax.legend(handles=styles, fontsize=7, loc="lower left")


WEAK_PANELS = (("sgd", "SGD"), ("signsgd", "SignSGD"), ("rmsprop", "RMSprop"), ("adam", "Adam"))


def model_label(model: str) -> str:
    """A weak-order row's readable name ('sgd_het_B3' → 'SGD SDE, heterogeneous H, B = 3'); the
    optimizer itself is named by the panel title."""
    parts = model.split("_")
    if parts[0] == "sgd" and len(parts) == 3:
        return f"{'heterogeneous' if parts[1] == 'het' else 'homogeneous'} H, B = {parts[2][1:]}"
    if parts[0] == "signsgd" and len(parts) == 3:
        form = {"exact": "exact-moment SDE", "gaussian": "Gaussian-erf SDE"}.get(parts[1], parts[1])
        where = {"toy2d": "2-d data toy", "gauss2d": "2-d Gaussian noise"}.get(parts[2], parts[2])
        return f"{form}, {where}"
    if parts[0] in ("rmsprop", "adam") and len(parts) in (2, 3):
        return f"{parts[1].capitalize()} SDE, {'warm' if parts[-1] == 'warm' else 'zero'} start"
    return model


def _weak_panel(ax, ds, group, name):
    """Weak error vs η of the rows of one optimizer (its own η range) with ±2 s.e. bars; errors
    far above the rest (a blown-up model) are drawn as ▲ at the top edge with their value, so
    they do not flatten every other curve."""
    rows = [m for m in ds.model.values if str(m).split("_")[0] == group]
    finite = np.concatenate([ds.weak_error.sel(model=m).values for m in rows])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    top = 10.0 ** (np.ceil(np.log10(np.quantile(finite, 0.8))) + 1.5)
    markers = "osD^vP*X"
    for i, m in enumerate(rows):
        lr, err, se = (ds[v].sel(model=m).values for v in ("weak_lr", "weak_error", "weak_se"))
        ok = np.isfinite(lr)
        lr, err, se = lr[ok], err[ok], se[ok]
        inside = err <= top
        slope = float(ds.weak_slope.sel(model=m))
        line = ax.errorbar(lr[inside], err[inside], yerr=2 * se[inside], marker=markers[i % 8],
                           ms=4, capsize=2, label=f"{model_label(str(m))} (slope {slope:.2f})")
        color = line[0].get_color()
        for x, y in zip(lr[~inside], err[~inside]):
            ax.plot([x], [top], "^", color=color, ms=7, clip_on=False)
            ax.annotate(f"{y:.0e}", (x, top), xytext=(0, -11), textcoords="offset points",
                        ha="center", fontsize=6, color=color)
    log_ticks(ax, "both")
    if ax.get_ylim()[1] > top:
        ax.set_ylim(top=top)
    ax.set(xlabel="η", ylabel="max_k |E f(x_k) − E f(X_t_k)|", title=f"{name}: weak error vs η")
    ax.legend(fontsize=6.5, loc="best")


def plot(ds, out):
    style()
    fig, axes = plt.subplots(2, 4, figsize=(21, 9.5), layout="constrained")
    for row, h in enumerate(ds.hessian.values):
        for col, (var, series, tname) in enumerate((("sgd_loss", "series", "sgd_time"),
                                                     ("sign_loss", "sign_series", "sign_time"))):
            ax = axes[row, col]
            _trajectory_panel(ax, ds, h, var, series, tname)
            ax.set(xlabel="t = Σ η_k", ylabel="mean loss (log-space ±2σ band)",
                   title=f"{'SGD' if col == 0 else 'SignSGD'}, {h} Hessian")
    for ax, (group, name) in zip(axes[:, 2:].T.ravel(), WEAK_PANELS):
        _weak_panel(ax, ds, group, name)
    paper_title(fig, "sreckovic", "App. H (Eq. 2–3)",
                "SDE models against the discrete optimizers (RMSprop/Adam: Compagnoni et al., "
                "Malladi et al.); error bars ±2 MC s.e., ▲ off scale")
    return save_figure(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline, seeds=(200, 50),
                        backend="numba")


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
