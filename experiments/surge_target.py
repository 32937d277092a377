"""Does the optimal-lr peak sit at B_noise, and move right, at a training state? Li et al.'s protocol.

Li et al. 2024 (Surge, §3.1; docs/reference/surge.md §5): train to a target training loss, then
continue for a few further steps (10 for their CNN, 50 for ResNet-18/DistilGPT2) and take, per
batch size B, the lr with the largest further loss decrease; the peak of that curve is compared with
the Eq 22 B_noise, and it "gradually shifts to the right" as the target loss decreases. Here, on a
Gaussian-noise quadratic whose Hessian keeps coupled directions at every scale (``blocks_problem``):

1. **One shared checkpoint per target.** A SignSGD reference run (B_ref = 4096, lr_ref = 0.3 ×
   the exact one-step optimum at w0, seed 0) is stopped at the first step whose loss is
   ≤ τ·L(w0), for each target τ; its iterate w_τ is the checkpoint of that target.
2. **Few further steps from it.** For every B = 2^j up to 2^22 and every lr of a grid around the
   one-step theory at w_τ (×1/16 … ×512), k = 1, 3, 10, 50 steps of SignSGD (SGD, for contrast,
   k ≤ 10) from w_τ over S seeds (common random numbers across lr and B); the optimal lr per B
   minimises the seed-mean loss after k steps (parabola refinement in lr, exact for k = 1).
3. **The peak, the fall after it, bootstrap replicates.** The peak of ε_opt(B) (log-parabola in
   log B) and the fall log10(ε_opt(B*)/ε_opt(B_max)) from the highest grid point, with replicates
   over bootstrap resamples of the seeds (``surge_drop``); a peak counts as resolved when it is
   interior and its fall's interval lies above 0 (``peak_unresolved``).
4. **Against the exact theory at the same state.** Eq 14 and the exact one-step peak (Eq 9) at w_τ
   (μ = Hw_τ, σ_i = √C_ii), McCandlish's tr(HC)/GᵀHG for SGD; the k = 1 optimum against Eq 9.
5. **One step at many seeds** (``one_step_cell``): the optimal lr and decrease per B from the exact
   per-seed parabola of the one-step loss — Theorem 5 (Eq 18) and the small-B exponents (Eq 3/4).
6. **Eq 22 at the same target.** Steps S(B) from w0 to the target τ (best lr per B on a grid),
   the Eq 22 fit 1/S = −B_noise/E + 1/S_min and its bootstrap replicates.
7. **Eq 2 against Eq 24.** Least-squares fits (in log ε) of the curves by Eq 2 and by
   ε_max/(1 + B_noise/B)^α, α = 0.5 and 1 (Eq 24), with refitted bootstrap replicates at k = 1.
8. **Adam at a training state** (App. A): Adam(0.9, 0.999) continued from its own reference run's
   state (w, m, v, step) at τ = 0.01 against SignSGD from the same iterate.

Cells (cached): the reference runs and checkpoints; one per (target, optimizer) for steps 2–4 and
for step 5; two for the Adam arm; one per optimizer for step 6. The ``measure_*`` functions are the
quantities of the Li et al. records of ``experiments/claims.py``. Backend: numba (d = 32, dense H).
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy.linalg import block_diag

import simlab
from experiments._harness import Experiment
from experiments._peaks import (bootstrap_indices, fit_curve, log_parabola_argmax,
                                parabola_argmin_rows, percentile_interval, surge_drop)
from experiments.surge import exact_peak
from simlab import optim, problems
from simlab.plotting import COLORS, log_ticks, paper_title, plt, save_figure, style
from simlab.problems.sign_model import optimal_improvement, optimal_lr, sign_model
from simlab.theory import surge
from simlab.theory.noise_scale import noise_scale

NAME = "surge_target"
SCALES = (1.0, 0.2, 0.04, 0.008)
BLOCK = 8
SNR0 = 0.12
B_REF = 4096
LR_REF_FRACTION = 0.3
KS = (1, 3, 10, 50)                  # further steps of SignSGD (the paper: 10 for the CNN, 50 for
SGD_KS = (1, 3, 10)                  # ResNet-18/DistilGPT2); SGD, the contrast, up to 10
ADAM_TARGET = 0.01                   # the training state of the Adam-vs-sign comparison
ADAM_KS = (1, 3, 10)
OPTIMIZERS = {"signsgd": optim.signsgd, "sgd": optim.sgd,
              "adam": lambda: optim.adam(0.9, 0.999, 1e-8)}
LABELS = {"signsgd": "SignSGD", "sgd": "SGD", "adam": "Adam(0.9,0.999)"}
LR_SPAN = (1 / 16, 512)              # ×theory: multi-step optima at large B lie ~20× above it
ONE_STEP_LRS = (0.5, 1.0, 2.0)       # ×theory: the one-step loss is a parabola in the lr
FIT_B_MAX = 2 ** 14                  # Eq 2 / Eq 24 are fitted on B ≤ this (~60–90 × B_noise at the
                                     # checkpoints, the span of the paper's grids around B_noise)
FIT_REPLICATES = 50                  # bootstrap replicates refitted by Eq 2 / Eq 24 (each a
                                     # least-squares fit; the rest of the intervals use all)


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


def one_step_center(name, prob, w, batch_sizes):
    """The exact one-step optimal lr at w per B: Eq 1 for SGD, Eq 9 for the sign-like ones (Adam
    is sign descent in its first step from zero moments, Eq 29)."""
    if name == "sgd":
        return sgd_lr_at(prob, w, batch_sizes)[0]
    return optimal_lr(model_at(prob, w), np.asarray(batch_sizes, float))


def batch_grid(quick: bool) -> list:
    """B = 1, 2, 4, …, 2^22 (the simulator draws the batch mean, so a large B costs no more than a
    small one; beyond ~2^16 the gradient noise is negligible here)."""
    return [float(4 ** j) for j in range(8)] + [float(4 ** 10)] if quick else \
        [float(2 ** j) for j in range(23)]


ONE_STEP_B = (1.0, 2, 3, 4, 6, 8, 11, 16, 23, 32)   # B ≤ bound/10 and B_noise/10 lie below 32


# ------------------------------------------------------------------------------ cells ----

def checkpoint_cell(spec: dict) -> xr.Dataset:
    """A reference run (SignSGD, or Adam(0.9, 0.999) with ``spec["optimizer"] == "adam"``; batch
    B_REF, lr 0.3 × the exact one-step optimum at w0, seed 0) and its state — iterate, Adam's
    moments and step count — at the first step below each target τ·L(w0)."""
    name = spec.get("optimizer", "signsgd")
    prob = blocks_problem()
    m0 = model_at(prob, prob.w0)
    lr_ref = LR_REF_FRACTION * float(optimal_lr(m0, float(B_REF)))
    res = simlab.simulate(prob, OPTIMIZERS[name](), lr=lr_ref, batch_size=B_REF,
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
        part = simlab.simulate(prob, OPTIMIZERS[name](), lr=lr_ref, batch_size=B_REF, steps=k,
                               seeds=1, backend=spec["backend"])
        steps.append(k)
        slots = [str(x) for x in part["slot"].values]              # () for SignSGD; m, v: Adam
        held = part["state_final"].values[0, 0]
        states.append([part["w_final"].values[0, 0]]
                      + [held[slots.index(n)] if n in slots else np.zeros(prob.dim)
                         for n in ("m", "v")])
    states = np.array(states)                                       # (target, 3, dim)
    return xr.Dataset({"checkpoint_step": ("target", steps),
                       "checkpoint_w": (("target", "dim"), states[:, 0]),
                       "checkpoint_m": (("target", "dim"), states[:, 1]),
                       "checkpoint_v": (("target", "dim"), states[:, 2])},
                      coords={"target": spec["targets"]},
                      attrs={"lr_ref": lr_ref, "loss0": loss0})


def lr_grid(name, prob, w, batch_sizes, points):
    """(B, points) lrs: the one-step theory at w times geomspace(*LR_SPAN, points)."""
    center = one_step_center(name, prob, w, batch_sizes)
    return center[:, None] * np.geomspace(*LR_SPAN, points)[None, :]


def _weights(idx, n):
    """(R, n) resample weights (counts / n) from (R, n) indices."""
    w = np.zeros((idx.shape[0], n))
    rows = np.repeat(np.arange(idx.shape[0]), idx.shape[1])
    np.add.at(w, (rows, idx.ravel()), 1.0)
    return w / n


def peak_cell(spec: dict) -> xr.Dataset:
    """Steps 2–4 of the module docstring for one (state, optimizer): the optimal lr after each k of
    ``spec["ks"]`` further steps per B, its peak over B, the fall after the peak, and their
    bootstrap replicates over seeds (``boot_best``: the optimal lr per replicate)."""
    prob = blocks_problem()
    name = spec["optimizer"]
    w = np.asarray(spec["w"], float)
    state = (w, None, None) if spec.get("m") is None else (w, np.asarray(spec["m"], float),
                                                           np.asarray(spec["v"], float))
    ks = list(spec["ks"])
    bs = np.asarray(spec["batch_sizes"], float)
    lrs = lr_grid(spec.get("center", name), prob, w, bs, spec["lr_points"])
    seeds = spec["seeds"]
    final = np.empty((len(ks), bs.size, lrs.shape[1], seeds))
    for j, b in enumerate(bs):
        res = simlab.simulate(prob, OPTIMIZERS[name](), lr=lrs[j], batch_size=int(b),
                              steps=max(ks), seeds=seeds, record_every=1, init_state=state,
                              start_step=spec.get("start_step"), backend=spec["backend"],
                              seed=spec["seed"])
        final[:, j] = res.loss.sel(step=[k + (spec.get("start_step") or 0) for k in ks]).values \
            .transpose(2, 0, 1)
    with np.errstate(invalid="ignore", over="ignore"):
        mean = final.mean(-1)
    best = parabola_argmin_rows(lrs, mean, "linear")                 # (k, B)
    loss_w = float(prob.loss(w))
    with np.errstate(invalid="ignore"):
        decrease = 1.0 - np.nanmin(np.where(np.isfinite(mean), mean, np.nan), axis=-1) / loss_w
    peak = np.array([log_parabola_argmax(bs, best[q]) for q in range(len(ks))])
    weights = _weights(bootstrap_indices(seeds, spec["bootstrap"], seed=spec["bootstrap_seed"]),
                       seeds)
    shape = final.shape
    with np.errstate(invalid="ignore", over="ignore"):
        boot_means = (np.where(np.isfinite(final), final, 1e300).reshape(-1, seeds) @ weights.T)
    boot_means = np.moveaxis(boot_means.reshape(shape[:3] + (-1,)), -1, 1)  # (k, R, B, lr)
    boot_means[boot_means > 1e299] = np.inf
    boot_best = parabola_argmin_rows(lrs, boot_means, "linear")           # (k, R, B)
    boot_peak = np.full((len(ks), weights.shape[0]), np.nan)
    for q in range(len(ks)):
        for r in range(weights.shape[0]):
            bp, interior = log_parabola_argmax(bs, boot_best[q, r])
            boot_peak[q, r] = bp if interior else np.nan
    at = np.argmax(np.where(np.isfinite(best), best, -np.inf), axis=-1)   # (k,)
    drop = surge_drop(best)
    boot_drop = surge_drop(boot_best, at[:, None])
    best_ci = np.array([[percentile_interval(boot_best[q, :, j])[:2] for j in range(bs.size)]
                        for q in range(len(ks))])
    peak_ci = np.array([percentile_interval(boot_peak[q]) for q in range(len(ks))])
    theory = one_step_center(spec.get("center", name), prob, w, bs)
    m = model_at(prob, w)
    if name == "sgd":
        b_noise = sgd_lr_at(prob, w, bs)[1]
        exact_pk = bound = limit = np.nan
    else:
        b_noise = surge.noise_batch_eq14(m)
        # the highest point of the exact curve on the simulated range of B (with heterogeneous SNR
        # the exact curve can dip after its peak and re-ascend to the Eq 17 limit far beyond it)
        exact_pk, bound = exact_peak(m, 1.0, float(bs.max()))[0], surge.validity_bound(m)
        limit = surge.optimal_lr_theorem4(m)
    return xr.Dataset(
        {"best_lr": (("k", "batch_size"), best),
         "relative_decrease": (("k", "batch_size"), decrease),
         "best_lr_ci": (("k", "batch_size", "bound_side"), best_ci),
         "boot_best": (("k", "replicate", "batch_size"), boot_best),
         "peak_batch": ("k", peak[:, 0]), "peak_interior": ("k", peak[:, 1].astype(bool)),
         "peak_ci": (("k", "bound_side"), peak_ci[:, :2]),
         "peak_missing": ("k", peak_ci[:, 2]),
         "peak_boot": (("k", "replicate"), boot_peak),
         "surge_drop": ("k", drop), "surge_drop_boot": (("k", "replicate"), boot_drop),
         "one_step_theory_lr": ("batch_size", theory),
         "state_noise_batch": ((), b_noise), "state_exact_peak": ((), exact_pk),
         "state_validity_bound": ((), bound), "state_theorem4_lr": ((), limit),
         "state_loss": ((), loss_w),
         "state_noise_batch_sgd": ((), noise_scale(prob, w))},
        coords={"k": ks, "batch_size": bs, "bound_side": ["lower", "upper"]})


def one_step_cell(spec: dict) -> xr.Dataset:
    """One step from the state w for every B, at many seeds: the per-seed loss after one step is
    L(w) − ε a_s + ε² b_s (exactly, on a quadratic), so three lrs give a_s and b_s per seed, and
    the seed means give the optimal lr ā/(2b̄) and the optimal decrease ΔL = ā²/(4b̄) (Lemma 1,
    Eq 6/7; ā² corrected for its bias Var(a)/n) — with bootstrap replicates that resample the
    seeds."""
    prob = blocks_problem()
    name = spec["optimizer"]
    w = np.asarray(spec["w"], float)
    bs = np.asarray(spec["batch_sizes"], float)
    center = one_step_center(name, prob, w, bs)
    loss_w = float(prob.loss(w))
    scale = np.asarray(ONE_STEP_LRS)
    design = np.stack([scale, -scale ** 2], axis=1)                       # y = ℓ a − ℓ² b
    pinv = np.linalg.pinv(design)                                         # (2, 3)
    seeds = spec["seeds"]
    weights = _weights(bootstrap_indices(seeds, spec["bootstrap"], seed=spec["seed"] + 1), seeds)
    lr_opt = np.empty((bs.size, 1 + weights.shape[0]))
    gain = np.empty_like(lr_opt)
    for j, b in enumerate(bs):
        res = simlab.simulate(prob, OPTIMIZERS[name](), lr=center[j] * scale, batch_size=int(b),
                              steps=1, seeds=seeds, init_state=(w, None, None),
                              backend=spec["backend"], seed=spec["seed"])
        y = (loss_w - res.loss.sel(step=1).values) / 1.0                # (3 lrs, seeds)
        a, bq = pinv @ y                                     # per seed, lr in units of center
        both = np.concatenate([[[a.mean()], [bq.mean()]], np.stack([weights @ a, weights @ bq])],
                              axis=1)                                     # (2, 1 + R)
        lr_opt[j] = center[j] * both[0] / (2 * both[1])
        # ā² overestimates a² by Var(a)/n (per-seed signal-to-noise is ~0.1 at B = 1): subtract it
        gain[j] = (both[0] ** 2 - a.var(ddof=1) / seeds) / (4 * both[1])
    return xr.Dataset({"one_step_lr": (("one_step_b", "draw"), lr_opt),
                       "one_step_improvement": (("one_step_b", "draw"), gain)},
                      coords={"one_step_b": bs, "draw": np.arange(lr_opt.shape[1])})


def tradeoff_cell(spec: dict) -> xr.Dataset:
    """Step 5 for one optimizer: S(B) from w0 to every target (best lr per B), the Eq 22 fits, and
    the fits of bootstrap resamples of the seeds (``eq22_fit_boot``, the fitted B_noise)."""
    prob = blocks_problem()
    loss0 = float(prob.loss(prob.w0))
    bs = np.asarray(spec["batch_sizes"], float)
    center = one_step_center(spec["optimizer"], prob, prob.w0, bs)
    lrs = np.geomspace(center.min() / 30, center.max() * 3, spec["lr_points"])
    targets = np.asarray(spec["targets"], float)
    seeds = spec["seeds"]
    weights = _weights(bootstrap_indices(seeds, spec["bootstrap"], seed=7), seeds)
    weights = np.concatenate([np.full((1, seeds), 1.0 / seeds), weights])    # draw 0: the point
    steps = np.full((weights.shape[0], targets.size, bs.size), np.nan)
    never = np.iinfo(np.int64).max
    for j, b in enumerate(bs):
        res = simlab.simulate(prob, OPTIMIZERS[spec["optimizer"]](), lr=lrs, batch_size=int(b),
                              steps=spec["max_steps"], seeds=seeds, record_every=1,
                              backend=spec["backend"], seed=100 + j)
        loss = np.where(np.isfinite(res.loss.values), res.loss.values, 1e300)   # (lr, seed, step)
        for c in range(0, weights.shape[0], 50):
            mean = np.tensordot(weights[c:c + 50], loss, axes=([1], [1]))         # (r, lr, step)
            for t, tau in enumerate(targets):
                hit = mean <= tau * loss0
                first = np.where(hit.any(-1), hit.argmax(-1), never).min(-1)    # (r,)
                steps[c:c + 50, t, j] = np.where(first < never, first, np.nan)
    fits = np.full((weights.shape[0], targets.size, 2), np.nan)
    for r in range(weights.shape[0]):
        for t in range(targets.size):
            ok = np.isfinite(steps[r, t]) & (steps[r, t] > 0)
            if ok.sum() >= 3:
                f = surge.fit_tradeoff_eq22(steps[r, t, ok], bs[ok] * steps[r, t, ok])
                fits[r, t] = [f["noise_batch"], f["min_steps"]]
    return xr.Dataset({"steps_to_target": (("target", "tradeoff_b"), steps[0]),
                       "eq22_fit": (("target", "fit_quantity"), fits[0]),
                       "eq22_fit_boot": (("target", "replicate"), fits[1:, :, 0].T)},
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
    if args.backend == "numpy":
        # the reference backend draws every sample's noise: (lrs · seeds · B · d) normals a step
        largest = 24.0 * (23 if quick else 36) * seeds * max(batch_grid(quick)) * 8 * len(SCALES)
        simlab._checks.memory(f"backend='numpy' at B up to {max(batch_grid(quick)):.0f}", largest,
                              "; use --backend numba (it draws the batch-mean noise directly)")
    return {
        "targets": [0.3, 0.01] if quick else [0.3, 0.1, 0.01, 0.001],
        "ref_steps": 4000,
        "batch_sizes": batch_grid(quick),
        "lr_points": 23 if quick else 36,
        "seeds": seeds,
        "bootstrap": 60 if quick else 400,
        "one_step_seeds": 4000 if quick else 40000,
        "tradeoff_batch_sizes": [float(4 ** j) for j in range(0, 8, 2 if quick else 1)],
        "tradeoff_lr_points": 8 if quick else 12,
        "tradeoff_seeds": 8 if quick else 16,
        "tradeoff_max_steps": 1500 if quick else 4000,
        "backend": args.backend,
    }


def _exact_reascent(prob, w, hi=1e9):
    """The exact one-step curve (Eq 9) at w on B ∈ [1, hi]: (B_peak, ε_peak, B_dip, ε_dip, Eq 17
    limit, grid ratio) — the first local maximum, the minimum after it (Fig. 1's re-ascent when the
    limit exceeds it)."""
    m = model_at(prob, w)
    b = np.geomspace(1.0, hi, 3001)
    eps = optimal_lr(m, b)
    local = np.flatnonzero((eps[1:-1] > eps[:-2]) & (eps[1:-1] >= eps[2:])) + 1
    i = int(local[0]) if local.size else int(np.argmax(eps))       # the first (surge) peak
    j = i + int(np.argmin(eps[i:]))
    return b[i], eps[i], b[j], eps[j], surge.optimal_lr_theorem4(m), b[1] / b[0]


def compute(config: dict, cells) -> xr.Dataset:
    warm = [] if config["backend"] == "numpy" else [(warmup, (config["backend"],))]
    base = {"ref_steps": config["ref_steps"], "backend": config["backend"]}
    ckpt, adam_ckpt = cells.map(checkpoint_cell, [
        {**base, "targets": config["targets"]},
        {**base, "targets": [ADAM_TARGET], "optimizer": "adam"}], warmups=warm,
        label="checkpoints")
    common = {k: config[k] for k in ("batch_sizes", "lr_points", "seeds", "bootstrap", "backend")}
    names = ["signsgd", "sgd"]
    specs = [{**common, "optimizer": name, "w": ckpt.checkpoint_w.values[t].tolist(),
              "ks": list(KS if name == "signsgd" else SGD_KS), "seed": 10 * t + o,
              "bootstrap_seed": 10 * t + o + 1}
             for t in range(len(config["targets"])) for o, name in enumerate(names)]
    # the Adam arm: Adam continued from its full training state (w, m, v, step count), and SignSGD
    # from the same iterate; same noise draws and resamples (common random numbers)
    a_state = {"w": adam_ckpt.checkpoint_w.values[0].tolist(), "ks": list(ADAM_KS),
               "seed": 77, "bootstrap_seed": 78, "center": "signsgd"}
    specs += [{**common, **a_state, "optimizer": "adam",
               "m": adam_ckpt.checkpoint_m.values[0].tolist(),
               "v": adam_ckpt.checkpoint_v.values[0].tolist(),
               "start_step": int(adam_ckpt.checkpoint_step.values[0])},
              {**common, **a_state, "optimizer": "signsgd"}]
    peaks = cells.map(peak_cell, specs, label="peak protocol")
    arm = peaks[-2:]
    peaks = [p.reindex(k=list(KS)) for p in peaks[:-2]]
    nt, no = len(config["targets"]), len(names)
    grid = xr.concat([xr.concat(peaks[t * no:(t + 1) * no], dim="optimizer") for t in range(nt)],
                     dim="target").assign_coords(target=config["targets"], optimizer=names)
    grid["peak_interior"] = grid.peak_interior.fillna(False).astype(bool)
    one = cells.map(one_step_cell, [
        {"optimizer": name, "w": ckpt.checkpoint_w.values[t].tolist(),
         "batch_sizes": list(ONE_STEP_B),
         "seeds": config["one_step_seeds"], "bootstrap": config["bootstrap"],
         "backend": config["backend"], "seed": 500 + 10 * t + o}
        for t in range(nt) for o, name in enumerate(names)], label="one step")
    one = xr.concat([xr.concat(one[t * no:(t + 1) * no], dim="optimizer") for t in range(nt)],
                    dim="target").assign_coords(target=config["targets"], optimizer=names)
    trade = cells.map(tradeoff_cell, [
        {"optimizer": name, "targets": config["targets"],
         "batch_sizes": config["tradeoff_batch_sizes"], "lr_points": config["tradeoff_lr_points"],
         "seeds": config["tradeoff_seeds"], "max_steps": config["tradeoff_max_steps"],
         "bootstrap": config["bootstrap"], "backend": config["backend"]} for name in names],
        label="Eq 22 trade-off")
    trade = xr.concat(trade, dim="optimizer").assign_coords(optimizer=names)
    return xr.merge([grid.drop_vars("boot_best"), trade,
                     derived(config, grid, one, arm, ckpt, adam_ckpt)],
                    combine_attrs="override").assign_attrs(
        lr_ref=ckpt.attrs["lr_ref"], loss0=ckpt.attrs["loss0"], adam_target=ADAM_TARGET)


def derived(config, grid, one, arm, ckpt, adam_ckpt) -> xr.Dataset:
    """Everything the claims read that combines cells: the curve fits (step 6), the one-step
    quantities against Theorem 2 and Theorem 5, the small-B exponents, the Adam-vs-sign
    comparison and Fig. 1's re-ascent at each checkpoint — with bootstrap replicates."""
    prob = blocks_problem()
    targets, names = config["targets"], list(grid.optimizer.values)
    bs = grid.batch_size.values
    fit_b = bs <= FIT_B_MAX
    forms = [("eq2", None), ("eq24_a05", 0.5), ("eq24_a1", 1.0)]
    nt, no, nk = len(targets), len(names), len(KS)
    fits = np.full((nt, no, nk, len(forms), 3), np.nan)
    fit_boot = np.full((nt, no, len(forms), FIT_REPLICATES), np.nan)
    k1_ratio = np.full((nt, no, 1 + grid.sizes["replicate"]), np.nan)
    for t in range(nt):
        for o in range(no):
            cell = grid.isel(target=t, optimizer=o)
            for q, k in enumerate(KS):
                eps = cell.best_lr.sel(k=k).values
                for f, (form, alpha) in enumerate(forms):
                    fits[t, o, q, f] = fit_curve(bs[fit_b], eps[fit_b],
                                                 "eq2" if form == "eq2" else "eq24", alpha)
            boot1 = cell.boot_best.sel(k=1).values                     # (R, B)
            for r in range(min(FIT_REPLICATES, boot1.shape[0])):
                for f, (form, alpha) in enumerate(forms):
                    fit_boot[t, o, f, r] = fit_curve(bs[fit_b], boot1[r, fit_b], "eq2" if
                                                     form == "eq2" else "eq24", alpha)[2]
            # Theorem 2 (Eq 9) / Eq 1 at the state: the k = 1 optimum against the exact one
            both = np.concatenate([cell.best_lr.sel(k=1).values[None], boot1])
            with np.errstate(invalid="ignore", divide="ignore"):
                k1_ratio[t, o] = np.nanmean(np.log10(both / cell.one_step_theory_lr.values), -1)
    # one-step cell: Theorem 5 (Eq 18) and the small-B exponents (Eq 3/4), B ≪ every bound
    ob = one.one_step_b.values
    t5 = np.full((nt, ob.size), np.nan)
    exact_gain = np.full((nt, ob.size), np.nan)
    t5_ratio = np.full((nt, one.sizes["draw"]), np.nan)
    exponent = np.full((nt, no, one.sizes["draw"]), np.nan)
    reascent = np.full((nt, 6), np.nan)
    for t in range(nt):
        w = ckpt.checkpoint_w.values[t]
        m = model_at(prob, w)
        t5[t] = surge.optimal_improvement_theorem5(m, ob)
        exact_gain[t] = optimal_improvement(m, ob)
        bound = surge.validity_bound(m)
        inside = ob <= bound / 10
        gain = one.one_step_improvement.isel(target=t, optimizer=0).values    # (B, draw)
        with np.errstate(invalid="ignore"):
            logr = np.log(gain[inside] / t5[t, inside, None])
        # inverse-variance weights: at B = 1 one seed's decrease has signal/noise ≈ 0.1
        weight = 1.0 / np.nanvar(logr[:, 1:], axis=1)
        t5_ratio[t] = np.nansum(weight[:, None] * logr, axis=0) / weight.sum()
        for o, name in enumerate(names):
            bn = float(grid.state_noise_batch.isel(target=t, optimizer=o))
            lim = min(bn, bound) / 10 if name == "signsgd" else bn / 10
            sel = ob <= lim
            lr = one.one_step_lr.isel(target=t, optimizer=o).values[sel]      # (B, draw)
            # divide out the paper's own large-B factor: ε(1 + B/B_noise) ∝ B^(1/2) (Eq 13) or
            # ∝ B (Eq 1), so its log-log slope is the small-B exponent of Eq 4 / Eq 3
            if sel.sum() >= 3:
                y = np.log(lr * (1 + ob[sel, None] / bn))
                exponent[t, o] = np.polyfit(np.log(ob[sel]), y, 1)[0]
        reascent[t] = _exact_reascent(prob, w)
    # the Adam arm: rms over B of log10(ε_Adam / ε_SignSGD) after k steps, joint resamples
    adam, sign = arm
    ratio = np.log10(np.concatenate([adam.best_lr.values[:, None], adam.boot_best.values], 1)
                     / np.concatenate([sign.best_lr.values[:, None], sign.boot_best.values], 1))
    with np.errstate(invalid="ignore"):
        adam_rms = np.sqrt(np.nanmean(ratio ** 2, axis=-1))                  # (k, 1 + R)
        adam_scale = np.nanmean(ratio, axis=-1)
        # the shape: the paper fits ε_max per optimizer (Eq 23), so a constant factor is free
        adam_shape = np.sqrt(np.nanmean((ratio - adam_scale[..., None]) ** 2, axis=-1))
        adam_finite = np.isfinite(ratio).mean(-1)
    f32 = np.float32
    return xr.Dataset(
        {"curve_fit": (("target", "optimizer", "k", "form", "fit_value"), fits),
         "curve_fit_rms_boot": (("target", "optimizer", "form", "fit_replicate"), fit_boot.astype(f32)),
         "k1_log_ratio": (("target", "optimizer"), k1_ratio[..., 0]),
         "k1_log_ratio_boot": (("target", "optimizer", "replicate"), k1_ratio[..., 1:].astype(f32)),
         "one_step_lr": (("target", "optimizer", "one_step_b"), one.one_step_lr.values[..., 0]),
         "one_step_improvement": (("target", "optimizer", "one_step_b"),
                                  one.one_step_improvement.values[..., 0]),
         "one_step_improvement_ci": (("target", "optimizer", "one_step_b", "bound_side"),
                                     np.nanquantile(one.one_step_improvement.values[..., 1:],
                                                    [0.05, 0.95], axis=-1).transpose(1, 2, 3, 0)),
         "theorem5_improvement": (("target", "one_step_b"), t5),
         "exact_improvement": (("target", "one_step_b"), exact_gain),
         "theorem5_log_ratio": ("target", t5_ratio[:, 0]),
         "theorem5_log_ratio_boot": (("target", "replicate"), t5_ratio[:, 1:].astype(f32)),
         "small_batch_exponent": (("target", "optimizer"), exponent[..., 0]),
         "small_batch_exponent_boot": (("target", "optimizer", "replicate"),
                                       exponent[..., 1:].astype(f32)),
         "exact_reascent": (("target", "reascent_quantity"), reascent),
         "adam_best_lr": (("arm", "adam_k", "batch_size"),
                          np.stack([adam.best_lr.values, sign.best_lr.values])),
         "adam_best_lr_ci": (("arm", "adam_k", "batch_size", "bound_side"),
                             np.stack([adam.best_lr_ci.values, sign.best_lr_ci.values])),
         "adam_peak_batch": (("arm", "adam_k"), np.stack([adam.peak_batch.values,
                                                           sign.peak_batch.values])),
         "adam_rms_log_ratio": ("adam_k", adam_rms[:, 0]),
         "adam_rms_log_ratio_boot": (("adam_k", "replicate"), adam_rms[:, 1:].astype(f32)),
         "adam_mean_log_ratio": ("adam_k", adam_scale[:, 0]),
         "adam_shape_rms": ("adam_k", adam_shape[:, 0]),
         "adam_shape_rms_boot": (("adam_k", "replicate"), adam_shape[:, 1:].astype(f32)),
         "adam_finite_fraction": ("adam_k", adam_finite[:, 0]),
         "checkpoint_step": ("target", ckpt.checkpoint_step.values),
         "checkpoint_w": (("target", "dim"), ckpt.checkpoint_w.values),
         "adam_checkpoint_step": ((), int(adam_ckpt.checkpoint_step.values[0])),
         "adam_checkpoint_loss": ((), float(prob.loss(adam_ckpt.checkpoint_w.values[0])))},
        coords={"form": [f for f, _ in forms],
                "fit_value": ["max_lr", "noise_batch", "rms_log_residual"],
                "one_step_b": ob, "arm": ["adam", "signsgd"], "adam_k": list(ADAM_KS),
                "reascent_quantity": ["peak_batch", "peak_lr", "dip_batch", "dip_lr",
                                      "theorem4_lr", "grid_ratio"]})


# ------------------------------------------------------------------------------- claims ----
# The functions ``experiments/claims.py`` names (section li2024): each reads the stored Dataset only.

def _seeds(ds, key: str = "seeds") -> int:
    return int(json.loads(ds.attrs["config"])[key])


def _resolved(ds, k: int) -> np.ndarray:
    """Per target: does SignSGD's optimal lr after k further steps have a resolved peak — interior,
    and a fall from it to the largest B whose 90 % interval lies above 0?"""
    sel = ds.sel(optimizer="signsgd", k=k)
    return np.array([bool(sel.peak_interior.sel(target=tau))
                     and percentile_interval(sel.surge_drop_boot.sel(target=tau).values)[0] > 0
                     for tau in ds.target.values])


def _resolved_peaks(ds, k: int):
    """(targets, point peaks, replicates (target, R)) of SignSGD after k steps, at the targets
    with a resolved peak only; a replicate without an interior peak is nan."""
    ok = _resolved(ds, k)
    sel = ds.sel(optimizer="signsgd", k=k)
    return (ds.target.values[ok].astype(float), sel.peak_batch.values[ok],
            sel.peak_boot.values[ok].astype(float))


def peak_unresolved(ds, k: int):
    """None when SignSGD's optimal lr after k further steps has a resolved peak at every target
    (``_resolved``), else the reason: the claims about the peak presuppose one. Their measures
    then report the targets that have one."""
    ok = _resolved(ds, k)
    if ok.all():
        return None
    bad = ", ".join(f"{tau:g}" for tau in ds.target.values[~ok])
    return (f"edge: no resolved peak of the SignSGD optimal lr after k = {k} steps at τ = {bad} "
            f"(on B ≤ {ds.batch_size.values.max():.3g} its highest point is at the largest B, or "
            "the fall from it to the largest B is within the seed noise); value over the other τ")


def measure_eq22_peak_ratio(ds, k: int):
    """Eq 22, §3.1: the largest |log10(peak B / Eq 22 fit B_noise)| over the targets with a resolved
    peak, SignSGD after k further steps from each checkpoint; replicates pair the bootstrap peaks
    with bootstrap fits (independent runs, so pairing replicate r with r resamples both)."""
    from simlab.verdict import Estimate
    targets, peak, boot = _resolved_peaks(ds, k)
    fit = ds.eq22_fit.sel(optimizer="signsgd", fit_quantity="noise_batch", target=targets).values
    fit_boot = ds.eq22_fit_boot.sel(optimizer="signsgd", target=targets).values.astype(float)
    if targets.size == 0:
        return Estimate(samples=np.full(boot.shape[-1], np.nan), value=np.nan, n_seeds=_seeds(ds))
    r = min(boot.shape[1], fit_boot.shape[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        point = np.abs(np.log10(peak / fit))
        rep = np.abs(np.log10(boot[:, :r] / fit_boot[:, :r]))
    return Estimate(samples=np.max(rep, axis=0), value=float(np.max(point)), n_seeds=_seeds(ds))


def measure_peak_shift(ds, k: int):
    """Fig. 3: the least-squares slope of log10(peak B) against log10(target τ) over the targets
    with a resolved peak (nan with fewer than 2), SignSGD after k further steps (negative: the
    peak moves right as the loss falls)."""
    from simlab.verdict import Estimate
    targets, peak, boot = _resolved_peaks(ds, k)
    x = np.log10(targets)

    def slope(y):
        y = np.log10(y)
        return np.polyfit(x, y, 1)[0] if x.size >= 2 and np.all(np.isfinite(y)) else np.nan
    return Estimate(samples=np.array([slope(boot[:, r]) for r in range(boot.shape[1])]),
                    value=float(slope(peak)), n_seeds=_seeds(ds))


def measure_one_step_bias(ds, optimizer: str):
    """Lemma 1 / Theorem 2 (Eq 9; Eq 1 for SGD) at the training states: the mean over targets and
    B of log10(simulated k = 1 optimal lr / exact one-step optimum at the checkpoint)."""
    from simlab.verdict import Estimate
    sel = ds.sel(optimizer=optimizer)
    return Estimate(samples=sel.k1_log_ratio_boot.values.astype(float).mean(axis=0),
                    value=float(sel.k1_log_ratio.mean()), n_seeds=_seeds(ds))


def measure_theorem5(ds):
    """Theorem 5 (Eq 18) against simulation: ln(simulated optimal one-step loss decrease /
    ΔL_max/(1 + B_noise/B)) at the checkpoints (SignSGD, one step, ``one_step_seeds`` seeds),
    averaged over B ≤ bound/10 with inverse-variance weights, then over the targets."""
    from simlab.verdict import Estimate
    return Estimate(samples=ds.theorem5_log_ratio_boot.values.astype(float).mean(axis=0),
                    value=float(ds.theorem5_log_ratio.mean()), n_seeds=_seeds(ds, "one_step_seeds"))


def measure_small_batch_exponent(ds, optimizer: str):
    """Eq 4 (sign) / Eq 3 (SGD): the log-log slope of ε_opt(B)·(1 + B/B_noise) over the smallest B
    (B ≤ B_noise/10 and, for sign, ≤ bound/10), one step at the checkpoints, mean over targets.
    Dividing out the paper's own large-B factor leaves the small-B power: ½ (Eq 13) or 1 (Eq 1)."""
    from simlab.verdict import Estimate
    sel = ds.sel(optimizer=optimizer)
    return Estimate(samples=sel.small_batch_exponent_boot.values.astype(float).mean(axis=0),
                    value=float(sel.small_batch_exponent.mean()), n_seeds=_seeds(ds, "one_step_seeds"))


def measure_fit_residual(ds, optimizer: str, form: str):
    """Fig. 4: the rms residual of log ε of the least-squares fit by ``form`` (Eq 2 or Eq 24) of the
    k = 1 optimal-lr curve, mean over targets (replicates: fits of bootstrap curves)."""
    from simlab.verdict import Estimate
    point = ds.curve_fit.sel(optimizer=optimizer, form=form, k=1, fit_value="rms_log_residual")
    boot = ds.curve_fit_rms_boot.sel(optimizer=optimizer, form=form).values.astype(float)
    return Estimate(samples=boot.mean(axis=0), value=float(point.mean()), n_seeds=_seeds(ds))


def measure_adam_vs_sign(ds, k: int, shape: bool = True):
    """App. A: how far the optimal lr of Adam(0.9, 0.999) over B differs from that of SignSGD after
    k further steps from Adam's own training state (iterate, moments, step count; SignSGD from the
    same iterate): the rms over B of log10(ε_Adam/ε_SignSGD) minus its mean over B (``shape``: up
    to a constant factor, which Eq 23 fits per optimizer), or of the ratio itself. B without an
    interior optimum for either are left out (their share: adam_finite_fraction)."""
    from simlab.verdict import Estimate
    name = "adam_shape_rms" if shape else "adam_rms_log_ratio"
    return Estimate(samples=ds[f"{name}_boot"].sel(adam_k=k).values.astype(float),
                    value=float(ds[name].sel(adam_k=k)), n_seeds=_seeds(ds))


def measure_reascent(ds, target: float):
    """Fig. 1: how far the exact one-step curve (Eq 9) at the τ checkpoint climbs back from its dip
    after the peak to the Theorem 4 limit, Eq17/ε_dip − 1 (0 when it falls monotonically to it)."""
    from simlab.verdict import Exact
    r = ds.exact_reascent.sel(target=target, method="nearest")
    value = float(r.sel(reascent_quantity="theorem4_lr") / r.sel(reascent_quantity="dip_lr") - 1)
    return Exact(value, resolution=1e-4)


def _g(v, spec=".3g"):
    return format(float(v), spec) if np.isfinite(v) else "none"


def report(ds: xr.Dataset) -> str:
    cfg = json.loads(ds.attrs["config"])
    lines = ["(dL/L: median over B of the loss decrease over the k steps at the optimal lr, "
             "relative to L(w_tau); drop: log10 of the fall of the optimal lr from its peak to the "
             "largest B, with its 90 % interval)",
             f"Protocol: SignSGD reference run B={B_REF}, lr={ds.attrs['lr_ref']:.4g}, to each target "
             f"tau*L(w0) (L(w0)={ds.attrs['loss0']:.4g}); from that checkpoint k further steps, "
             f"{cfg['seeds']} seeds, {cfg['lr_points']} lrs per B, B = 1..{max(cfg['batch_sizes']):.0f}; "
             f"peak intervals: 90 % bootstrap over seeds ({cfg['bootstrap']} resamples)", "",
             f"{'tau':>6} {'ckpt':>5} {'opt':>8} {'k':>3} {'peak B':>9} {'90% CI':>19} "
             f"{'no-peak':>7} {'drop':>6} {'drop CI':>15} {'B_noise(w)':>10} {'exact pk':>9} "
             f"{'Eq22 fit':>9} {'dL/L':>5}"]
    for tau in ds.target.values:
        for name in ds.optimizer.values:
            sel = ds.sel(target=tau, optimizer=name)
            fit = float(ds.eq22_fit.sel(target=tau, optimizer=name, fit_quantity="noise_batch"))
            for k in ds.k.values:
                if not np.isfinite(float(sel.relative_decrease.sel(k=k).max())):
                    continue                                       # SGD is not run to k = 50
                lo, hi = sel.peak_ci.sel(k=k).values
                pk = float(sel.peak_batch.sel(k=k))
                dlo, dhi = percentile_interval(sel.surge_drop_boot.sel(k=k).values)[:2]
                lines.append(
                    f"{tau:6.3g} {int(ds.checkpoint_step.sel(target=tau)):5d} {LABELS[str(name)]:>8} "
                    f"{int(k):3d} {(_g(pk) if bool(sel.peak_interior.sel(k=k)) else 'edge'):>9} "
                    f"{'[' + _g(lo) + ', ' + _g(hi) + ']':>19} "
                    f"{float(sel.peak_missing.sel(k=k)):7.2f} {_g(float(sel.surge_drop.sel(k=k))):>6} "
                    f"{'[' + _g(dlo, '.2g') + ', ' + _g(dhi, '.2g') + ']':>15} "
                    f"{_g(float(sel.state_noise_batch)):>10} {_g(float(sel.state_exact_peak)):>9} "
                    f"{_g(fit):>9} {float(np.nanmedian(sel.relative_decrease.sel(k=k))):5.2f}")
    lines += ["", "k = 1 against the exact one-step optimum at w_tau (Eq 9 / Eq 1; Lemma 1 is exact on "
                  "a quadratic): mean over B of log10(sim/exact), 90 % interval"]
    for tau in ds.target.values:
        for name in ds.optimizer.values:
            v = float(ds.k1_log_ratio.sel(target=tau, optimizer=name))
            lo, hi = percentile_interval(ds.k1_log_ratio_boot.sel(target=tau, optimizer=name))[:2]
            lines.append(f"  tau={tau:6.3g} {LABELS[str(name)]:>8}: {v:+.4f} [{lo:+.4f}, {hi:+.4f}]")
    lines += ["", f"One step at {cfg['one_step_seeds']} seeds (3 lrs: the loss is a parabola in the lr): "
                  "Theorem 5 (Eq 18) against the simulated optimal decrease, mean ln(sim/Thm5) over "
                  "B <= bound/10; small-B exponent of eps(1 + B/B_noise) (Eq 4: 0.5, Eq 3: 1)"]
    for t, tau in enumerate(ds.target.values):
        v = float(ds.theorem5_log_ratio.isel(target=t))
        lo, hi = percentile_interval(ds.theorem5_log_ratio_boot.isel(target=t))[:2]
        ex = [float(ds.small_batch_exponent.isel(target=t).sel(optimizer=n))
              for n in ("signsgd", "sgd")]
        ra = ds.exact_reascent.isel(target=t)
        lines.append(f"  tau={tau:6.3g}: Thm 5 {v:+.4f} [{lo:+.4f}, {hi:+.4f}]; exponent sign "
                     f"{_g(ex[0])}, SGD {_g(ex[1])}; exact curve: peak {_g(float(ra[1]), '.4g')} at "
                     f"B={_g(float(ra[0]))}, dip {_g(float(ra[3]), '.4g')} at B={_g(float(ra[2]))}, "
                     f"Eq 17 limit {_g(float(ra[4]), '.4g')}")
    lines += ["", f"Adam(0.9, 0.999) from its own training state (reference Adam run, target "
                  f"{ds.attrs['adam_target']:g}, step {int(ds.adam_checkpoint_step)}) against SignSGD "
                  "from the same iterate: rms over B of log10(eps_Adam/eps_SignSGD), 90 % interval"]
    for k in ds.adam_k.values:
        v = float(ds.adam_rms_log_ratio.sel(adam_k=k))
        lo, hi = percentile_interval(ds.adam_rms_log_ratio_boot.sel(adam_k=k))[:2]
        pk = ds.adam_peak_batch.sel(adam_k=k).values
        lines.append(f"  k={int(k):2d}: {v:.3f} [{lo:.3f}, {hi:.3f}]; mean log10 ratio "
                     f"{float(ds.adam_mean_log_ratio.sel(adam_k=k)):+.3f}, rms about it "
                     f"{float(ds.adam_shape_rms.sel(adam_k=k)):.3f} (finite at "
                     f"{float(ds.adam_finite_fraction.sel(adam_k=k)):.0%} of B); peaks Adam "
                     f"{_g(pk[0])}, SignSGD {_g(pk[1])}")
    lines += ["", "Fits of the optimal-lr curves, Eq 2 vs Eq 24 with alpha = 0.5 and 1 (fitted "
                  "B_noise, rms residual of log eps)"]
    for tau in ds.target.values:
        for name in ds.optimizer.values:
            for k in ds.k.values:
                cf = ds.curve_fit.sel(target=tau, optimizer=name, k=k)
                if not np.isfinite(cf.values).any():
                    continue
                parts = [f"{str(f)}: B_n={_g(float(cf.sel(form=f, fit_value='noise_batch')))} "
                         f"rms={_g(float(cf.sel(form=f, fit_value='rms_log_residual')), '.3f')}"
                         for f in ds.form.values]
                lines.append(f"  tau={tau:6.3g} {LABELS[str(name)]:>8} k={int(k):2d}: "
                             + "; ".join(parts))
    from experiments.verdicts import verdict_lines
    lines += ["", "VERDICTS (experiments/claims.py, decided by simlab.verdict.decide)",
              verdict_lines(ds)]
    return "\n".join(lines)


def headline(ds: xr.Dataset) -> str:
    parts = []
    for kk in (1, 10):
        sel = ds.sel(target=ds.target.values[-1], optimizer="signsgd", k=kk)
        parts.append(f"k={kk} peak {_g(float(sel.peak_batch)) if bool(sel.peak_interior) else 'edge'}")
    return (f"SignSGD at tau={ds.target.values[-1]:g}: " + ", ".join(parts)
            + f" (B_noise {_g(float(ds.sel(target=ds.target.values[-1], optimizer='signsgd').state_noise_batch))})")


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
                color = cmap(0.1 + 0.8 * q / max(ds.sizes['k'] - 1, 1))
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
                        report=report, plot=plot, headline=headline, seeds=(200, 64),
                        backend="numba")


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
