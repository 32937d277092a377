"""The rest of Srećković et al. 2025 on the 9-d toy: momentum, clipping and budgets against B.

The paper's LM findings (§2.2–2.3, App. C, D, G.2), each tested on the toy quadratics of its
App. I (both Hessians, w0 = 1, linear warmup 5 % + cosine, lr retuned per cell):

* **momentum** — "for both SGD and Adam, momentum becomes crucial once the batch size is
  increased" (§2.2): SGD with EMA momentum β ∈ {0, 0.9, 0.95, 0.98} (the paper's grid, App. C);
* **global-norm clipping** — "at small batch sizes, SGD performs equally well even without
  clipping; at large batch sizes, training diverges if clipping is not employed" (App. C), and
  "global norm clipping does not help much in large-batch training" (G.2): the raw gradient
  clipped to norm ≤ c before the EMA momentum (β = 0.95), c ∈ {0.01, 0.1}·|∇L(w0)|;
* **adaptive momentum clipping** (Alg. 1, G.2), p ∈ {0.1, 0.2} of the coordinates, β = 0.95 —
  "improves SGD but still does not fully match Adam";
* **fixed-token against fixed-step budgets** (§2.3, App. D): 500 steps for every B, or
  4500 samples (= 500 steps at B = 9) for every B. Paper: at a fixed token budget SGD degrades
  with B while Adam improves; at a fixed step count the gap grows with B;
* **batch sizes past n**: B ∈ {1, 3, 9, 27, 81} drawn *with replacement* from the n = 9 samples,
  so that the largest batch is not the zero-noise full batch of sampling without replacement.

Adam is β1 = β2 = 0.95, ε = 1e-8, no bias correction (the toy's setting). Every number is the
median over seeds of the final loss at the best lr of a log grid (diverged runs = +inf in the
choice; excluded from the median and counted) with a 90 % bootstrap interval of that median.

Global-norm clipping is the engine's ``optim.with_global_norm_clipping`` (g ← g·min(1, c/‖g‖)
before the rule), so every method runs through ``simulate`` on the same batches (common random
numbers across methods of one cell seed).
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr

from experiments._harness import Experiment
from experiments._peaks import bootstrap_median_interval
from simlab import _checks, optim, problems, schedules, simulate
from simlab.plotting import COLORS, log_ticks, paper_title, plt, save_figure, style, value_ticks

NAME = "gap_knobs"
HESSIANS = ("homogeneous", "heterogeneous")
BATCHES = (1, 3, 9, 27, 81)
STEPS = 500
TOKENS = 4500
BETA = 0.95
METHODS = {
    "sgd_b0": ("SGD β=0",), "sgd_b0.9": ("SGD β=0.9",), "sgd_b0.95": ("SGD β=0.95",),
    "sgd_b0.98": ("SGD β=0.98",), "adam": ("Adam (0.95, 0.95)",),
    "amc_p0.1": ("SGD+adaptive clip p=0.1",), "amc_p0.2": ("SGD+adaptive clip p=0.2",),
    "gclip_0.01": ("SGD+global clip 0.01|g0|",), "gclip_0.1": ("SGD+global clip 0.1|g0|",),
}
GRIDS = {"sgd": np.logspace(-6, -1, 11), "adam": np.logspace(-4, 1, 11),
         "amc": np.logspace(-6, -1, 11), "gclip": np.logspace(-5, 1, 13)}


def grid_for(method: str) -> np.ndarray:
    return GRIDS[method.split("_")[0]]


def optimizer_for(method: str, problem=None):
    """The optimizer of ``method``; global-norm clipping needs the problem (its threshold is a
    fraction of ‖∇L(w0)‖)."""
    if method.startswith("sgd_b"):
        return optim.sgd(float(method[5:]), ema=float(method[5:]) > 0)
    if method == "adam":
        return optim.adam(BETA, BETA, eps=1e-8, bias_correction=False)
    if method.startswith("amc_p"):
        # Alg. 1 is heavy ball (m ← βm + g); its lr grid sits 1/(1 − β) = 20× below EMA SGD's
        return optim.clipped_momentum(BETA, float(method[5:]))
    if method.startswith("gclip_"):
        if problem is None:
            raise ValueError(f"method={method!r} needs the problem for its clipping threshold")
        clip = float(method.split("_")[1]) * float(np.linalg.norm(problem.gradient(problem.w0)))
        # App. B: "global norm clipping … on the raw gradient, before applying momentum"
        return optim.with_global_norm_clipping(optim.sgd(BETA, ema=True), clip)
    raise ValueError(f"method={method!r} is not one of {sorted(METHODS)}")


def cell(spec: dict) -> xr.Dataset:
    """One (method, Hessian, B, budget): final loss (lr, seed) over the method's lr grid."""
    prob = problems.block_quadratic(spec["hessian"], 0)
    method, b = spec["knob"], spec["batch_size"]
    steps = STEPS if spec["budget"] == "steps" else max(1, TOKENS // b)
    lrs = grid_for(method)
    res = simulate(prob, optimizer_for(method, prob), lr=lrs, batch_size=b, steps=steps,
                   seeds=spec["seeds"], schedule=schedules.warmup_cosine(0.05),
                   sampling="with_replacement", record_every=steps, backend=spec["backend"],
                   seed=spec["seed"])
    final = np.where(res.diverged.values, np.inf, res.loss.values[:, :, -1])
    diverged = res.diverged.values
    return xr.Dataset({"final": (("lr_index", "seed"), final),
                       "diverged": (("lr_index", "seed"), diverged),
                       "lr": ("lr_index", lrs)})


def resolve(args) -> dict:
    quick = args.quick
    return {"methods": (["sgd_b0", "sgd_b0.95", "adam", "amc_p0.1", "gclip_0.1"] if quick
                        else list(METHODS)),
            "batch_sizes": [1, 9, 81] if quick else list(BATCHES),
            "budgets": ["steps", "tokens"], "hessians": list(HESSIANS),
            "seeds": _checks.integer("seeds", args.seeds, lo=2),      # a bootstrap needs 2
            "backend": args.backend}


def warmup(backend):
    prob = problems.block_quadratic("heterogeneous", 0)
    for m in ("sgd_b0", "sgd_b0.9", "adam", "amc_p0.1", "gclip_0.1"):
        simulate(prob, optimizer_for(m, prob), 1e-4, 3, 2, 1, sampling="with_replacement",
                 backend=backend)


def compute(config: dict, cells) -> xr.Dataset:
    keys = [(m, h, b, g) for m in config["methods"] for h in config["hessians"]
            for b in config["batch_sizes"] for g in config["budgets"]]
    specs = [{"knob": m, "hessian": h, "batch_size": b, "budget": g, "seeds": config["seeds"],
              "backend": config["backend"], "seed": 1000 * i + 7}
             for i, (m, h, b, g) in enumerate(keys)]
    warm = [] if config["backend"] == "numpy" else [(warmup, (config["backend"],))]
    out = cells.map(cell, specs, warmups=warm, label="cells")
    shape = (len(config["methods"]), len(config["hessians"]), len(config["batch_sizes"]),
             len(config["budgets"]))
    med = np.full(shape, np.nan)
    lr = med.copy()
    edge = np.zeros(shape, bool)
    ndiv = np.zeros(shape, int)
    all_final = np.full(shape + (config["seeds"],), np.nan)
    for (m, h, b, g), ds in zip(keys, out):
        ix = (config["methods"].index(m), config["hessians"].index(h),
              config["batch_sizes"].index(b), config["budgets"].index(g))
        final = ds.final.values
        with np.errstate(invalid="ignore"):
            score = np.median(final, axis=1)               # diverged = +inf counts against an lr
        i = int(np.argmin(np.where(np.isnan(score), np.inf, score)))
        best = np.where(np.isfinite(final[i]), final[i], np.nan)
        all_final[ix] = best
        ndiv[ix] = int(ds.diverged.values[i].sum())
        lr[ix] = float(ds.lr.values[i])
        edge[ix] = i in (0, ds.sizes["lr_index"] - 1)
        med[ix] = np.nanmedian(best) if np.any(np.isfinite(best)) else np.inf
    lo, hi = bootstrap_median_interval(all_final, draws=1000, level=0.9, seed=0)
    dims = ("knob", "hessian", "batch_size", "budget")
    return xr.Dataset({"median": (dims, med), "median_lo": (dims, lo), "median_hi": (dims, hi),
                       "best_lr": (dims, lr), "best_lr_on_edge": (dims, edge),
                       "diverged_at_best": (dims, ndiv)},
                      coords={"knob": config["methods"], "hessian": config["hessians"],
                              "batch_size": config["batch_sizes"], "budget": config["budgets"]})


def _cell(ds, m, h, b, g):
    sel = ds.sel(knob=m, hessian=h, batch_size=b, budget=g)
    return (f"{float(sel['median']):8.2e} ({float(sel.median_lo):.1e}–{float(sel.median_hi):.1e})"
            f"@{float(sel.best_lr):.0e}{'*' if bool(sel.best_lr_on_edge) else ''}")


def report(ds: xr.Dataset) -> str:
    cfg = json.loads(ds.attrs["config"])
    lines = [f"Final loss: median over {cfg['seeds']} seeds at the best lr (90 % bootstrap CI of "
             "the median) @lr (* = the best lr is on the edge of its grid); sampling with "
             "replacement; budgets: 'steps' = 500 steps, "
             f"'tokens' = {TOKENS} samples (steps = {TOKENS}/B)"]
    for g in ds.budget.values:
        for h in ds.hessian.values:
            lines += ["", f"[{g} budget, {h} Hessian]",
                      f"{'method':26s} " + " ".join(f"{'B=' + str(int(b)):>30s}"
                                                   for b in ds.batch_size.values)]
            for m in ds.knob.values:
                lines.append(f"{METHODS[str(m)][0]:26s} " + " ".join(
                    f"{_cell(ds, m, h, b, g):>30s}" for b in ds.batch_size.values))
            if "adam" in ds.knob.values:
                sgd = [m for m in ds.knob.values if str(m).startswith("sgd_b")]
                best_sgd = ds["median"].sel(knob=sgd, hessian=h, budget=g).min("knob")
                ratio = best_sgd / ds["median"].sel(knob="adam", hessian=h, budget=g)
                lines.append(f"{'best SGD(β) / Adam':26s} " + " ".join(
                    f"{float(r):>30.3g}" for r in ratio.values))
            if "sgd_b0" in ds.knob.values:
                sgdm = [m for m in ds.knob.values if str(m).startswith("sgd_b") and m != "sgd_b0"]
                if sgdm:
                    gain = (ds["median"].sel(knob="sgd_b0", hessian=h, budget=g)
                            / ds["median"].sel(knob=sgdm, hessian=h, budget=g).min("knob"))
                    lines.append(f"{'SGD β=0 / best β>0':26s} " + " ".join(
                        f"{float(r):>30.3g}" for r in gain.values))
    lines.append("")
    lines.append("diverged runs at the chosen lrs: "
                 f"{int(ds.diverged_at_best.sum())} of {ds.diverged_at_best.size * cfg['seeds']}")
    return "\n".join(lines)


def headline(ds: xr.Dataset) -> str:
    b = int(ds.batch_size.values[-1])
    parts = []
    for g in ds.budget.values:
        sgd = [m for m in ds.knob.values if str(m).startswith("sgd_b")]
        r = float(ds["median"].sel(knob=sgd, hessian="heterogeneous", budget=g,
                                   batch_size=b).min() /
                  ds["median"].sel(knob="adam", hessian="heterogeneous", budget=g, batch_size=b))
        parts.append(f"{g}: het best-SGD/Adam at B={b} {r:.3g}")
    return "; ".join(parts)


def plot(ds: xr.Dataset, out) -> list:
    style()
    fig, axes = plt.subplots(len(ds.budget), len(ds.hessian), figsize=(11, 7.5), squeeze=False,
                             layout="constrained")
    bs = ds.batch_size.values
    styles = {"sgd_b0": ("C0", ":"), "sgd_b0.9": ("C0", "--"), "sgd_b0.95": ("C0", "-"),
              "sgd_b0.98": ("C0", "-."), "adam": (COLORS["adam"], "-"),
              "amc_p0.1": (COLORS["clipped_momentum"], "-"),
              "amc_p0.2": (COLORS["clipped_momentum"], "--"),
              "gclip_0.01": ("C8", "--"), "gclip_0.1": ("C8", "-")}
    for r, g in enumerate(ds.budget.values):
        for c, h in enumerate(ds.hessian.values):
            ax = axes[r, c]
            for m in ds.knob.values:
                sel = ds.sel(knob=m, hessian=h, budget=g)
                color, ls = styles[str(m)]
                ax.plot(bs, sel["median"], marker="o", ms=3, color=color, ls=ls,
                        label=METHODS[str(m)][0])
                ax.fill_between(bs, sel.median_lo, sel.median_hi, color=color, alpha=0.15, lw=0)
            ax.set_xscale("log")
            log_ticks(ax, "y")
            value_ticks(ax, bs)
            ax.axvline(9, color="k", lw=0.6, ls=":")
            ax.set(xlabel="batch size B (with replacement; n = 9 dotted)",
                   ylabel="final loss (median, 90 % CI)",
                   title=f"{h}, {'500 steps' if g == 'steps' else f'{TOKENS} samples'}")
    axes[0, 0].legend(fontsize=6.5, ncol=2)
    paper_title(fig, "sreckovic", "§2.2–2.3, App. C, D, G.2",
                "momentum, clipping and budgets against batch size on the 9-d toy (lr retuned per "
                "cell)")
    return save_figure(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline, seeds=(40, 6),
                        backend="numba")


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
