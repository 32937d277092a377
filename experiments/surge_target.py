"""Does the optimal-lr peak sit at B_noise, and move right, at a training state? Li et al.'s protocol.

Li et al. 2024 (Surge, §3.1; docs/reference/surge.md §5): train to a target training loss, then
continue for a few further steps (10 for their CNN) and take, per batch size B, the lr with the
largest further loss decrease; the peak of that curve is compared with B_noise, and it "gradually
shifts to the right" as the target loss decreases. Here, on a Gaussian-noise quadratic whose Hessian
keeps coupled directions at every scale (``blocks_problem``):

1. **One shared checkpoint per target.** A SignSGD reference run (B_ref = 4096, lr_ref = 0.3 ×
   the exact one-step optimum at w0, seed 0) is stopped at the first step whose loss is
   ≤ τ·L(w0), for each target τ; its iterate w_τ is the checkpoint of that target.
2. **Few further steps from it.** For every integer B on a grid up to 16384 (ratio ≈ √2) and every
   lr of a grid around the one-step theory at w_τ (45 lrs over a factor 512 per B), k = 1, 3, 10
   steps of SignSGD
   (and of SGD, for contrast) from w_τ over S seeds (common random numbers across lr and B); the
   optimal lr per B minimises the seed-mean loss after k steps (parabola refinement in lr, exact
   for k = 1 where the expected loss is quadratic in lr). k = 3 is reported too, and the loss
   decrease over the k steps at the optimum (the paper's few steps barely move a network; here
   10 steps can remove most of the loss, which is a different regime).
3. **Where is the peak, with a bootstrap interval.** The peak of ε_opt(B) (log-parabola in log B)
   and its 90 % percentile interval over bootstrap resamples of the seeds; the fraction of
   resamples without an interior peak is reported.
4. **Against B_noise at the same state.** Eq 14 of the sign model at w_τ (μ = Hw_τ, σ_i = √C_ii),
   the exact one-step peak (Eq 9) at w_τ, and, for SGD, McCandlish's tr(HC)/GᵀHG. At k = 1 the
   simulated optimum must reproduce the exact Eq 9 at w_τ (Lemma 1 is exact on a quadratic) — the
   check that seeds and grids suffice.
5. **Eq 22 at the same target.** Steps S(B) from w0 to the target τ (best lr per B on a grid),
   the Eq 22 fit 1/S = −B_noise/E + 1/S_min, next to the peak measured at w_τ.
6. **Eq 2 against Eq 24.** Least-squares fits (in log ε) of the k = 10 curves by Eq 2 (the surge)
   and by ε_max/(1 + B_noise/B)^α with α = 0.5 and α = 1 (Eq 24), with their residuals, and the
   small-B slope d log ε_opt/d log B (Eq 3: 1 for SGD; Eq 4: ½ for sign descent).

Cells (cached): the reference run and checkpoints; one per (target, optimizer) for steps 2–4; one
per optimizer for step 5 (all targets). Backend: numba by default (d = 32, dense H).
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy.linalg import block_diag

import simlab
from experiments._harness import Experiment
from experiments._peaks import (bootstrap_indices, fit_curve, log_parabola_argmax,
                                log_parabola_argmin, percentile_interval, small_batch_slope)
from experiments.surge import exact_peak
from simlab import optim, problems
from simlab.plotting import COLORS, log_ticks, paper_title, plt, save_figure, style
from simlab.problems.sign_model import optimal_lr, sign_model
from simlab.theory import surge
from simlab.theory.noise_scale import noise_scale

NAME = "surge_target"
SCALES = (1.0, 0.2, 0.04, 0.008)
BLOCK = 8
SNR0 = 0.12
B_REF = 4096
LR_REF_FRACTION = 0.3
KS = (1, 3, 10)
OPTIMIZERS = {"signsgd": optim.signsgd, "sgd": optim.sgd}
LABELS = {"signsgd": "SignSGD", "sgd": "SGD"}


def blocks_problem(scales=SCALES, snr=SNR0):
    """d = 8·len(scales): H = blockdiag(c_b (diag(0.5..1.5) + ssᵀ)), s = (1,−1,1,1,−1,1,−1,1),
    C = diag(σ²) with σ = 0.5..2 in every block, w0 = H⁻¹μ0 with μ0 = r σ s (equal |SNR| r at w0).
    Every block is coupled (O > 0 along its s), and the blocks span decades of curvature, so
    coupled directions remain while the stiff ones are optimized."""
    s8 = np.array([1, -1, 1, 1, -1, 1, -1, 1.0])
    blk = np.diag(np.linspace(0.5, 1.5, BLOCK)) + np.outer(s8, s8)
    h = block_diag(*[c * blk for c in scales])
    s = np.tile(s8, len(scales))
    sigma = np.tile(np.linspace(0.5, 2.0, BLOCK), len(scales))
    w0 = np.linalg.solve(h, snr * sigma * s)
    return problems.gaussian_quadratic(h, np.diag(sigma ** 2), w0, name="surge_blocks")


def model_at(problem, w):
    """The sign model at iterate w: μ = Hw, σ_i = √C_ii."""
    return sign_model(problem.hessian @ w, np.sqrt(np.diag(problem.noise_cov)), problem.hessian)


def sgd_lr_at(problem, w, batch_sizes):
    """McCandlish's exact one-step SGD optimum (Eq 1 with ``sgd_constants``) at w."""
    eps_max, b_noise = surge.sgd_constants(problem.hessian @ w, problem.hessian, problem.noise_cov)
    return surge.sgd_lr_eq1(np.asarray(batch_sizes, float), eps_max, b_noise), b_noise


# ------------------------------------------------------------------------------ cells ----

def checkpoint_cell(spec: dict) -> xr.Dataset:
    """The reference SignSGD run and its iterate at the first step below each target."""
    prob = blocks_problem()
    m0 = model_at(prob, prob.w0)
    lr_ref = LR_REF_FRACTION * float(optimal_lr(m0, float(B_REF)))
    res = simlab.simulate(prob, optim.signsgd(), lr=lr_ref, batch_size=B_REF,
                          steps=spec["ref_steps"], seeds=1, record_every=1, backend=spec["backend"])
    loss = res.loss.values[0, 0]
    loss0 = float(prob.loss(prob.w0))
    steps, states = [], []
    for tau in spec["targets"]:
        below = np.flatnonzero(loss <= tau * loss0)
        if below.size == 0:
            raise ValueError(f"targets={spec['targets']}: the reference run does not reach "
                             f"{tau} x L(w0) within ref_steps={spec['ref_steps']}")
        k = int(below[0])
        part = simlab.simulate(prob, optim.signsgd(), lr=lr_ref, batch_size=B_REF, steps=k,
                               seeds=1, backend=spec["backend"])
        steps.append(k)
        states.append(part.w_final.values[0, 0])
    return xr.Dataset({"checkpoint_step": ("target", steps),
                       "checkpoint_w": (("target", "dim"), np.array(states)),
                       "reference_loss": ("ref_step", loss)},
                      coords={"target": spec["targets"]},
                      attrs={"lr_ref": lr_ref, "loss0": loss0})


LR_SPAN = (1 / 16, 32)


def lr_grid(name, prob, w, batch_sizes, points):
    """(B, points) lrs: the one-step theory at w times geomspace(1/16, 32, points) (multi-step
    optima lie well above the one-step one at large B)."""
    if name == "sgd":
        center, _ = sgd_lr_at(prob, w, batch_sizes)
    else:
        center = optimal_lr(model_at(prob, w), np.asarray(batch_sizes, float))
    return center[:, None] * np.geomspace(*LR_SPAN, points)[None, :]


def _weights(idx, n):
    """(R, n) resample counts from (R, n) indices."""
    w = np.zeros((idx.shape[0], n))
    rows = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
    np.add.at(w, (rows, idx.ravel()), 1.0)
    return w / n


def peak_cell(spec: dict) -> xr.Dataset:
    """Steps 2–4 of the module docstring for one (target, optimizer)."""
    prob = blocks_problem()
    w = np.asarray(spec["w"], float)
    bs = np.asarray(spec["batch_sizes"], float)
    lrs = lr_grid(spec["optimizer"], prob, w, bs, spec["lr_points"])
    kmax = max(KS)
    seeds = spec["seeds"]
    final = np.empty((len(KS), bs.size, lrs.shape[1], seeds))
    for j, b in enumerate(bs):
        res = simlab.simulate(prob, OPTIMIZERS[spec["optimizer"]](), lr=lrs[j],
                              batch_size=int(b), steps=kmax, seeds=seeds, record_every=1,
                              init_state=(w, None, None), backend=spec["backend"], seed=spec["seed"])
        for q, k in enumerate(KS):
            final[q, j] = res.loss.sel(step=k).values
    with np.errstate(invalid="ignore", over="ignore"):
        mean = final.mean(-1)
        sem = final.std(-1, ddof=1) / np.sqrt(seeds)
    best = np.array([[log_parabola_argmin(lrs[j], mean[q, j], "linear") for j in range(bs.size)]
                     for q in range(len(KS))])
    loss_w = float(prob.loss(w))
    # how far k steps at the optimum move the state: the relative loss decrease there
    decrease = np.array([[1.0 - np.nanmin(mean[q, j]) / loss_w for j in range(bs.size)]
                         for q in range(len(KS))])
    peak = np.array([log_parabola_argmax(bs, best[q]) for q in range(len(KS))])
    weights = _weights(bootstrap_indices(seeds, spec["bootstrap"], seed=spec["seed"] + 1), seeds)
    with np.errstate(invalid="ignore", over="ignore"):
        boot_means = np.einsum("qjls,rs->qjlr", final, weights)         # (k, B, lr, R)
    boot_best = np.empty((len(KS), bs.size, weights.shape[0]))
    boot_peak = np.empty((len(KS), weights.shape[0]))
    for q in range(len(KS)):
        for r in range(weights.shape[0]):
            for j in range(bs.size):
                boot_best[q, j, r] = log_parabola_argmin(lrs[j], boot_means[q, j, :, r],
                                                         "linear")
            bp, interior = log_parabola_argmax(bs, boot_best[q, :, r])
            boot_peak[q, r] = bp if interior else np.nan
    best_ci = np.array([[percentile_interval(boot_best[q, j])[:2] for j in range(bs.size)]
                        for q in range(len(KS))])
    peak_ci = np.array([percentile_interval(boot_peak[q]) for q in range(len(KS))])
    if spec["optimizer"] == "sgd":
        theory, b_noise = sgd_lr_at(prob, w, bs)
        exact_pk, bound = np.nan, np.nan
    else:
        m = model_at(prob, w)
        theory, b_noise = optimal_lr(m, bs), surge.noise_batch_eq14(m)
        # the highest point of the exact curve on the simulated range of B (with heterogeneous SNR
        # the exact curve can dip after its peak and re-ascend to the Eq 17 limit far beyond it)
        exact_pk, bound = exact_peak(m, 1.0, float(bs.max()))[0], surge.validity_bound(m)
    return xr.Dataset(
        {"mean_loss": (("k", "batch_size", "lr_index"), mean),
         "sem_loss": (("k", "batch_size", "lr_index"), sem),
         "lr_grid": (("batch_size", "lr_index"), lrs),
         "best_lr": (("k", "batch_size"), best),
         "relative_decrease": (("k", "batch_size"), decrease),
         "best_lr_ci": (("k", "batch_size", "bound_side"), best_ci),
         "peak_batch": ("k", peak[:, 0]), "peak_interior": ("k", peak[:, 1].astype(bool)),
         "peak_ci": (("k", "bound_side"), peak_ci[:, :2]),
         "peak_missing": ("k", peak_ci[:, 2]),
         "one_step_theory_lr": ("batch_size", theory),
         "state_noise_batch": ((), b_noise), "state_exact_peak": ((), exact_pk),
         "state_validity_bound": ((), bound),
         "state_loss": ((), float(prob.loss(w))),
         "state_noise_batch_sgd": ((), noise_scale(prob, w))},
        coords={"k": list(KS), "batch_size": bs, "lr_index": np.arange(lrs.shape[1]),
                "bound_side": ["lower", "upper"]})


def tradeoff_cell(spec: dict) -> xr.Dataset:
    """Step 5 for one optimizer: S(B) from w0 to every target (best lr per B), Eq 22 fits."""
    prob = blocks_problem()
    loss0 = float(prob.loss(prob.w0))
    bs = np.asarray(spec["batch_sizes"], float)
    m0 = model_at(prob, prob.w0)
    if spec["optimizer"] == "sgd":
        center, _ = sgd_lr_at(prob, prob.w0, bs)
    else:
        center = optimal_lr(m0, bs)
    lrs = np.geomspace(center.min() / 30, center.max() * 3, spec["lr_points"])
    targets = np.asarray(spec["targets"], float)
    steps = np.full((targets.size, bs.size), np.nan)
    for j, b in enumerate(bs):
        res = simlab.simulate(prob, OPTIMIZERS[spec["optimizer"]](), lr=lrs, batch_size=int(b),
                              steps=spec["max_steps"], seeds=spec["seeds"], record_every=1,
                              backend=spec["backend"], seed=100 + j)
        mean = res.loss.values.mean(axis=1)                              # (lr, step)
        for t, tau in enumerate(targets):
            hit = mean <= tau * loss0
            first = np.where(hit.any(-1), hit.argmax(-1), np.iinfo(np.int64).max)
            if first.min() < np.iinfo(np.int64).max:
                steps[t, j] = float(first.min())
    fits = np.full((targets.size, 2), np.nan)
    for t in range(targets.size):
        ok = np.isfinite(steps[t]) & (steps[t] > 0)
        if ok.sum() >= 3:
            f = surge.fit_tradeoff_eq22(steps[t, ok], bs[ok] * steps[t, ok])
            fits[t] = [f["noise_batch"], f["min_steps"]]
    return xr.Dataset({"steps_to_target": (("target", "tradeoff_b"), steps),
                       "eq22_fit": (("target", "fit_quantity"), fits)},
                      coords={"target": targets, "tradeoff_b": bs,
                              "fit_quantity": ["noise_batch", "min_steps"]})


def warmup(backend):
    prob = blocks_problem()
    for make in OPTIMIZERS.values():
        simlab.simulate(prob, make(), lr=1e-3, batch_size=2, steps=2, seeds=1, backend=backend,
                        init_state=(prob.w0, None, None))


# ------------------------------------------------------------------------------ harness ----

def resolve(args) -> dict:
    quick = args.quick
    seeds = simlab._checks.integer("seeds", args.seeds, lo=2)      # a bootstrap needs 2
    return {
        "targets": [0.3, 0.01] if quick else [0.3, 0.1, 0.01, 0.001],
        "ref_steps": 4000,
        "batch_sizes": ([float(4 ** j) for j in range(8)] if quick
                        else np.unique(np.round(2.0 ** (np.arange(29) / 2))).tolist()),
        "lr_points": 23 if quick else 45,
        "seeds": seeds,
        "bootstrap": 60 if quick else 400,
        "tradeoff_batch_sizes": [float(4 ** j) for j in range(0, 8, 2 if quick else 1)],
        "tradeoff_lr_points": 8 if quick else 20,
        "tradeoff_seeds": 8 if quick else 32,
        "tradeoff_max_steps": 1500 if quick else 4000,
        "backend": args.backend,
    }


def compute(config: dict, cells) -> xr.Dataset:
    warm = [] if config["backend"] == "numpy" else [(warmup, (config["backend"],))]
    ckpt = cells.map(checkpoint_cell, [{"targets": config["targets"],
                                        "ref_steps": config["ref_steps"],
                                        "backend": config["backend"]}],
                     warmups=warm, label="checkpoints")[0]
    specs = [{"optimizer": name, "w": ckpt.checkpoint_w.values[t].tolist(), "target": tau,
              "batch_sizes": config["batch_sizes"], "lr_points": config["lr_points"],
              "seeds": config["seeds"], "bootstrap": config["bootstrap"],
              "backend": config["backend"], "seed": 10 * t + o}
             for t, tau in enumerate(config["targets"]) for o, name in enumerate(OPTIMIZERS)]
    peaks = cells.map(peak_cell, specs, label="peak protocol")
    names = list(OPTIMIZERS)
    per_target = [xr.concat(peaks[t * len(names):(t + 1) * len(names)], dim="optimizer")
                  for t in range(len(config["targets"]))]
    grid = xr.concat(per_target, dim="target").assign_coords(target=config["targets"],
                                                             optimizer=names)
    trade = cells.map(tradeoff_cell, [
        {"optimizer": name, "targets": config["targets"],
         "batch_sizes": config["tradeoff_batch_sizes"], "lr_points": config["tradeoff_lr_points"],
         "seeds": config["tradeoff_seeds"], "max_steps": config["tradeoff_max_steps"],
         "backend": config["backend"]} for name in names], label="Eq 22 trade-off")
    trade = xr.concat(trade, dim="optimizer").assign_coords(optimizer=names)
    # step 6: fits of the k = 10 curves
    forms = [("eq2", None), ("eq24_a05", 0.5), ("eq24_a1", 1.0)]
    nt, no, nk = len(config["targets"]), len(names), len(KS)
    fits = np.full((nt, no, nk, len(forms), 3), np.nan)
    slopes = np.full((nt, no, nk), np.nan)
    bs = np.asarray(config["batch_sizes"])
    for t in range(nt):
        for o in range(no):
            # the small-B regime of Eq 3/4: B ≤ B_noise/10 at the state (Eq 14 / McCandlish)
            bn = float(grid.state_noise_batch.isel(target=t, optimizer=o))
            limit = (bn if np.isfinite(bn) else bs.max()) / 10
            for q, k in enumerate(KS):
                eps = grid.best_lr.isel(target=t, optimizer=o).sel(k=k).values
                for f, (form, alpha) in enumerate(forms):
                    fits[t, o, q, f] = fit_curve(bs, eps, "eq2" if form == "eq2" else "eq24", alpha)
                slopes[t, o, q] = small_batch_slope(bs, eps, limit)
    derived = xr.Dataset({"curve_fit": (("target", "optimizer", "k", "form", "fit_value"), fits),
                          "small_batch_slope": (("target", "optimizer", "k"), slopes)},
                         coords={"form": [f for f, _ in forms],
                                 "fit_value": ["max_lr", "noise_batch", "rms_log_residual"]})
    out = xr.merge([grid, trade, derived,
                    ckpt.drop_vars("checkpoint_w").assign(checkpoint_w=ckpt.checkpoint_w)],
                   combine_attrs="override")
    out.attrs.update({"lr_ref": ckpt.attrs["lr_ref"], "loss0": ckpt.attrs["loss0"]})
    return out


def _g(v, spec=".3g"):
    return format(float(v), spec) if np.isfinite(v) else "none"


def report(ds: xr.Dataset) -> str:
    cfg = json.loads(ds.attrs["config"])
    kk = max(KS)
    lines = ["(dL/L: median over B of the loss decrease over the k steps at the optimal lr, "
             "relative to L(w_tau))",
             f"Protocol: SignSGD reference run B={B_REF}, lr={ds.attrs['lr_ref']:.4g}, to each target "
             f"tau*L(w0) (L(w0)={ds.attrs['loss0']:.4g}); from that checkpoint k further steps, "
             f"{cfg['seeds']} seeds, {cfg['lr_points']} lrs per B, B = 1..{max(cfg['batch_sizes']):.0f}; "
             f"peak intervals: 90 % bootstrap over seeds ({cfg['bootstrap']} resamples)", "",
             f"{'tau':>6} {'ckpt step':>9} {'opt':>8} {'k':>3} {'peak B':>9} {'90% CI':>19} "
             f"{'no-peak':>7} {'B_noise(w)':>10} {'exact 1-step pk':>15} {'Thm3 bound':>10} "
             f"{'Eq22 fit':>9} {'dL/L':>5}"]
    for t, tau in enumerate(ds.target.values):
        for name in ds.optimizer.values:
            sel = ds.sel(target=tau, optimizer=name)
            fit = float(ds.eq22_fit.sel(target=tau, optimizer=name, fit_quantity="noise_batch"))
            bn = float(sel.state_noise_batch)
            for k in ds.k.values:
                lo, hi = sel.peak_ci.sel(k=k).values
                pk = float(sel.peak_batch.sel(k=k))
                interior = bool(sel.peak_interior.sel(k=k))
                lines.append(
                    f"{tau:6.3g} {int(ds.checkpoint_step.sel(target=tau)):9d} {LABELS[str(name)]:>8} "
                    f"{int(k):3d} {(_g(pk) if interior else 'edge'):>9} "
                    f"{'[' + _g(lo) + ', ' + _g(hi) + ']':>19} "
                    f"{float(sel.peak_missing.sel(k=k)):7.2f} {_g(bn):>10} "
                    f"{_g(float(sel.state_exact_peak)):>15} {_g(float(sel.state_validity_bound)):>10} "
                    f"{_g(fit):>9} {float(np.nanmedian(sel.relative_decrease.sel(k=k))):5.2f}")
    lines += ["", "k = 1 check (Lemma 1 is exact on a quadratic, so the k = 1 optimum must be the "
                  "exact one-step value at w_tau): max over B of |sim/exact - 1|, and max over B of "
                  "|z| = |sim - exact| / (90 % CI half-width / 1.645) (the B share seeds, so their "
                  "errors are correlated; max |z| over 28 B should stay below about 3):"]
    for tau in ds.target.values:
        for name in ds.optimizer.values:
            sel = ds.sel(target=tau, optimizer=name, k=1)
            th = sel.one_step_theory_lr.values
            best = sel.best_lr.values
            lo, hi = sel.best_lr_ci.sel(bound_side="lower").values, sel.best_lr_ci.sel(
                bound_side="upper").values
            rel = np.nanmax(np.abs(best / th - 1))
            z = np.nanmax(np.abs(best - th) / ((hi - lo) / 2 / 1.645))
            lines.append(f"  tau={tau:6.3g} {LABELS[str(name)]:>8}: max |sim/exact-1| = {rel:.3f}; "
                         f"max |z| = {z:.2f}")
    lines += ["", "Fits of the optimal-lr curves, Eq 2 vs Eq 24 with alpha = 0.5 and 1 (fitted "
                  "B_noise, rms residual of log eps), and small-B slopes over B <= B_noise(w_tau)/10 "
                  "(Eq 3: 1 for SGD, Eq 4: 0.5 for sign)"]
    for tau in ds.target.values:
        for name in ds.optimizer.values:
            for k in ds.k.values:
                cf = ds.curve_fit.sel(target=tau, optimizer=name, k=k)
                parts = [f"{str(f)}: B_n={_g(float(cf.sel(form=f, fit_value='noise_batch')))} "
                         f"rms={_g(float(cf.sel(form=f, fit_value='rms_log_residual')), '.3f')}"
                         for f in ds.form.values]
                slope = float(ds.small_batch_slope.sel(target=tau, optimizer=name, k=k))
                lines.append(f"  tau={tau:6.3g} {LABELS[str(name)]:>8} k={int(k):2d}: "
                             + "; ".join(parts) + f"; small-B slope {_g(slope, '.3f')}")
    return "\n".join(lines)


def headline(ds: xr.Dataset) -> str:
    kk = max(KS)
    parts = []
    for tau in ds.target.values:
        sel = ds.sel(target=tau, optimizer="signsgd")
        pk = float(sel.peak_batch.sel(k=kk))
        parts.append(f"tau={tau:g}: peak {_g(pk) if bool(sel.peak_interior.sel(k=kk)) else 'edge'}"
                     f" (B_noise {_g(float(sel.state_noise_batch))})")
    return f"SignSGD k={kk}: " + "; ".join(parts)


def plot(ds: xr.Dataset, out) -> list:
    style()
    targets = list(ds.target.values)
    fig, axes = plt.subplots(2, len(targets), figsize=(3.4 * len(targets), 6.6), squeeze=False)
    bs = ds.batch_size.values
    cmap = plt.get_cmap("viridis")
    for c, tau in enumerate(targets):
        for r, name in enumerate(ds.optimizer.values):
            ax = axes[r, c]
            sel = ds.sel(target=tau, optimizer=name)
            ax.plot(bs, sel.one_step_theory_lr, "k--", lw=1,
                    label="one-step exact at w_τ (Eq 9 / Eq 1)")
            for q, k in enumerate(ds.k.values):
                best = sel.best_lr.sel(k=k).values
                lo = sel.best_lr_ci.sel(k=k, bound_side="lower").values
                hi = sel.best_lr_ci.sel(k=k, bound_side="upper").values
                color = cmap(0.15 + 0.6 * q)
                ax.plot(bs, best, "o-", ms=2.5, color=color, label=f"simulated, k = {int(k)}")
                ax.fill_between(bs, lo, hi, color=color, alpha=0.25, lw=0)
                pk = float(sel.peak_batch.sel(k=k))
                if bool(sel.peak_interior.sel(k=k)):
                    plo, phi = sel.peak_ci.sel(k=k).values
                    ax.axvspan(plo if np.isfinite(plo) else pk, phi if np.isfinite(phi) else pk,
                               color=color, alpha=0.12)
                    ax.axvline(pk, color=color, lw=0.8, ls=":")
            bn = float(sel.state_noise_batch)
            if np.isfinite(bn):
                ax.axvline(bn, color="C3", lw=1, label="B_noise at w_τ (Eq 14 / McCandlish)")
            fit = float(ds.eq22_fit.sel(target=tau, optimizer=name, fit_quantity="noise_batch"))
            if np.isfinite(fit) and fit > 0:
                ax.axvline(fit, color="C1", lw=1, ls="-.", label="Eq 22 fit to this target")
            log_ticks(ax, "both")
            ax.set_title(f"{LABELS[str(name)]}, target {tau:g}·L(w0)", fontsize=8)
            if r == 1:
                ax.set_xlabel("batch size B")
            if c == 0:
                ax.set_ylabel("optimal lr (90 % bootstrap band)")
    handles = {}
    for ax in axes.ravel():
        for h_, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h_)
    paper_title(fig, "li", "§3.1 protocol (Eq. 14, Eq. 22)",
                "optimal lr after k steps from a shared checkpoint:\ndoes its peak sit at B_noise? "
                "(shaded spans: 90 % CI of the peak)", fontsize=9)
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=5, fontsize=7)
    return save_figure(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline, seeds=(800, 64),
                        backend="numba")


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
