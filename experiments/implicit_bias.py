"""Cattaneo & Shigida 2026 in simulation: does Adam's (β1, β2, b) implicit bias show up as flatter
minima and a lower test loss on a landscape whose minima differ in sharpness?

Problem: ``problems.diagonal_net(width=400, n_train=200, n_test=1000, sparsity=10, noise=0.5)``
— sparse regression with a diagonal linear network (β = u⊙u − v⊙v), a continuum of interpolating
minima of varying sharpness; noisy targets, so fitting them overfits. Training as in the paper's setting (Def. 2.1):
multi-epoch, batches of b drawn without replacement from a fresh permutation every epoch
(``sampling="epoch"``), Adam (Def. 3.1, bias-corrected, ε = 1e-8) at a fixed lr for a fixed number
of epochs. Measured per run at the end: the sharpness (top Hessian eigenvalue, exact), the test
loss, the training loss. B_simple = trΣ/|G|² is measured along a reference run with McCandlish's
two-batch estimator (b = 2 vs 10, finite-population factors, ``theory.noise_scale``) and exactly.

The paper's predictions, at λ = (N/b − 1)/(N − 1)·B_simple (Eq 8) and C_total(β1, β2, λ) (Eq 7):
* β2 at β1 = 0.9 (Lemma 3.4): for λ > 0.508 (b below ≈ 2·B_simple) C_total increases with β2 —
  more regularization, so larger β2 should give flatter minima / lower test loss; for
  λ < 0.495 the opposite;
* β1 at β2 = 0.999 (Lemma 3.6): for λ > 1.0015 C_total decreases with β1; for λ < 0.9956 it
  increases;
* at large b, β1 = β2 (close to 1) is best (Lemma 3.7).
Each is set beside the measured sign of the effect (a difference of medians over seeds with a
90 % bootstrap interval: seeds resampled jointly across (β1, β2), which share their shuffles),
the rank correlation across the (β1, β2) grid between C_total and −sharpness / −test loss, and
``simlab.advise``'s recommendation at each b.

Cells (cached): one reference run for B_simple; one per ((β1, β2), b) with every lr and seed.
"""
from __future__ import annotations

import json

import numpy as np
import xarray as xr
from scipy.stats import spearmanr

from experiments._harness import Experiment
from experiments._peaks import bootstrap_indices, percentile_interval
from simlab import _checks, optim, problems, simulate
from simlab.advise import advise
from simlab.plotting import log_ticks, paper_title, plt, save_figure, style, value_ticks
from simlab.theory import implicit_bias as ib
from simlab.theory.noise_scale import two_batch_estimate

NAME = "implicit_bias"
EPS = 1e-8


PROBLEM = {"width": 400, "n_train": 200, "n_test": 1000, "sparsity": 10, "noise": 0.5,
           "init_scale": 0.1, "seed": 0}


def problem(kwargs=None):
    """The diagonal network of ``PROBLEM``: N = 200 noisy training samples, p = 400 features, a
    10-sparse β*. N ≫ 2·B_simple (B_simple ≈ 35–150 along training) puts the predicted β2 flip
    (λ = 1/2) inside the batch-size grid; with noise, interpolation overfits and the test loss
    depends on which minimum is reached."""
    return problems.diagonal_net(**(PROBLEM if kwargs is None else kwargs))


def pairs_for(beta1s, beta2s):
    return [[b1, b2] for b2 in beta2s for b1 in beta1s if b1 <= b2]


def exact_b_simple(prob, w):
    """trΣ/|G|² at w from all N per-sample gradients (Σ with the 1/N normalisation)."""
    idx = np.arange(prob.n_samples)[None, :]
    g = prob.sample_gradients(np.asarray(w, float)[None, None], idx)[0, 0]    # (N, d)
    mean = g.mean(0)
    return float(((g - mean) ** 2).sum(1).mean() / (mean @ mean))


def b_simple_cell(spec: dict) -> xr.Dataset:
    """B_simple along a reference run (Adam (0.9, 0.999), b = 1, lr = ``lr``): two-batch estimates
    (``pairs`` paired draws of b_small and b_big samples without replacement) and exact values."""
    prob = problem(spec["problem"])
    n = prob.n_samples
    rng = np.random.default_rng(spec["seed"])
    est, se, exact, loss = [], [], [], []
    for epoch in spec["epochs"]:
        if epoch == 0:
            w = prob.w0
        else:
            res = simulate(prob, optim.adam(0.9, 0.999, EPS), spec["lr"], 1, epoch * n, 1,
                           sampling="epoch", backend=spec["backend"], record_every=epoch * n)
            w = res.w_final.values[0, 0]
        small, big = [], []
        for _ in range(spec["pairs"]):
            perm = rng.permutation(n)
            gs = prob.sample_gradients(w[None, None], perm[None, :spec["b_small"]])[0, 0].mean(0)
            gb = prob.sample_gradients(w[None, None], perm[None, :spec["b_big"]])[0, 0].mean(0)
            small.append(gs @ gs)
            big.append(gb @ gb)
        two = two_batch_estimate(np.array(small), np.array(big), spec["b_small"], spec["b_big"],
                                 n_samples=n)
        est.append(two["simple_noise_scale"])
        # delta method s.e. of the ratio of means
        t, g = two["trace_cov"], two["grad_sq"]
        se.append(abs(t / g) * np.hypot(two["trace_cov_se"] / t, two["grad_sq_se"] / g))
        exact.append(exact_b_simple(prob, w))
        loss.append(float(prob.loss(w)))
    return xr.Dataset({"bs_two_batch": ("bs_epoch", est), "bs_two_batch_se": ("bs_epoch", se),
                       "bs_exact": ("bs_epoch", exact), "bs_train_loss": ("bs_epoch", loss)},
                      coords={"bs_epoch": spec["epochs"]})


def run_cell(spec: dict) -> xr.Dataset:
    """One ((β1, β2), b): ``chunks`` × ``chunk_steps`` steps for every lr × seed (continued with
    ``init_state``); the test loss at every chunk end, the final train loss and the final
    sharpness. A full batch (b = N) is deterministic: it runs one seed, broadcast to all."""
    prob = problem(spec["problem"])
    b1, b2 = spec["pair"]
    b = spec["batch_size"]
    seeds = 1 if b == prob.n_samples else spec["seeds"]
    opt = optim.adam(b1, b2, EPS)
    state, tests = None, []
    for _ in range(spec["chunks"]):
        state = simulate(prob, opt, spec["lrs"], b, spec["chunk_steps"], seeds, sampling="epoch",
                         record_every=spec["chunk_steps"], backend=spec["backend"],
                         seed=spec["seed"], init_state=state)
        tests.append(np.where(state.diverged.values, np.nan, prob.test_loss(state.w_final.values)))
    w = state.w_final.values                                              # (lr_index, seed, d)
    diverged = state.diverged.values
    sharp = np.where(diverged, np.nan, prob.sharpness(np.where(diverged[..., None], 0.0, w)))
    train = np.where(diverged, np.nan, state.loss.values[:, :, -1])
    test = np.stack(tests, axis=-1)                                       # (lr, seed, chunk)
    if seeds != spec["seeds"]:
        rep = lambda a: np.repeat(a, spec["seeds"], axis=1)
        sharp, train, test, diverged = rep(sharp), rep(train), rep(test), rep(diverged)
    with np.errstate(invalid="ignore"):
        best = np.nanmin(np.where(np.isnan(test), np.inf, test), axis=-1)
    return xr.Dataset({"sharpness": (("lr", "seed"), sharp), "test_loss": (("lr", "seed"), test[..., -1]),
                       "best_test_loss": (("lr", "seed"), best),
                       "test_curve": (("lr", "seed", "chunk"), test),
                       "train_loss": (("lr", "seed"), train),
                       "diverged": (("lr", "seed"), diverged)},
                      coords={"lr": spec["lrs"],
                              "chunk_step": ("chunk", spec["chunk_steps"] * np.arange(1, spec["chunks"] + 1))})


def resolve(args) -> dict:
    quick = args.quick
    beta1s = [0.9, 0.99] if quick else [0.8, 0.9, 0.99]
    beta2s = [0.9, 0.999] if quick else [0.9, 0.99, 0.999]
    return {"problem": PROBLEM, "pairs": pairs_for(beta1s, beta2s), "beta1s": beta1s,
            "beta2s": beta2s,
            "batch_sizes": [1, 200] if quick else [1, 4, 25, 50, 100, 200],
            "lrs": [0.01], "chunks": 3 if quick else 8, "chunk_steps": 300 if quick else 1000,
            "seeds": _checks.integer("seeds", args.seeds, lo=2), "backend": args.backend,
            "bootstrap": 200 if quick else 1000,
            "b_simple": {"epochs": [0, 1, 10] if quick else [0, 1, 3, 10, 30, 100],
                         "pairs": 200 if quick else 2000, "b_small": 4, "b_big": 50,
                         "lr": 0.01, "seed": 5, "problem": PROBLEM}}


def warmup(backend):
    prob = problems.diagonal_net()
    simulate(prob, optim.adam(0.9, 0.99, EPS), 0.01, 2, 4, 1, sampling="epoch", backend=backend)


def compute(config: dict, cells) -> xr.Dataset:
    warm = [] if config["backend"] == "numpy" else [(warmup, (config["backend"],))]
    bs_ds = cells.map(b_simple_cell, [{**config["b_simple"], "backend": config["backend"]}],
                      warmups=warm, label="B_simple")[0]
    specs = [{"pair": p, "batch_size": b, "lrs": config["lrs"], "chunks": config["chunks"],
              "chunk_steps": config["chunk_steps"],
              "problem": config["problem"],
              "seeds": config["seeds"], "backend": config["backend"], "seed": 11}
             for p in config["pairs"] for b in config["batch_sizes"]]
    runs = cells.map(run_cell, specs, label="Adam runs")
    nb = len(config["batch_sizes"])
    grid = xr.concat([xr.concat(runs[i * nb:(i + 1) * nb], dim="batch_size")
                      for i in range(len(config["pairs"]))], dim="pair")
    labels = [f"{p[0]:g}/{p[1]:g}" for p in config["pairs"]]
    grid = grid.assign_coords(pair=labels, batch_size=config["batch_sizes"],
                              beta1=("pair", [p[0] for p in config["pairs"]]),
                              beta2=("pair", [p[1] for p in config["pairs"]]))
    ds = xr.merge([grid, bs_ds])
    derived = analysis(ds, config)
    out = ds.merge(derived)
    out.attrs.update(derived.attrs)
    return out


def _median(a, axis=-1):
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(a, axis=axis)


def analysis(ds, config) -> xr.Dataset:
    """λ(b), C_total, the β2 and β1 effects with intervals, rank correlations, advice."""
    n = config["problem"]["n_train"]
    trained = ds.bs_epoch.values > 0
    b_simple = float(np.median(ds.bs_two_batch.values[trained]))
    lo_bs = float(np.min(ds.bs_two_batch.values[trained]))
    hi_bs = float(np.max(ds.bs_two_batch.values[trained]))
    bs = np.asarray(config["batch_sizes"], float)
    lam = np.array([ib.noise_ratio(n, b, b_simple) for b in bs])
    pairs = config["pairs"]
    ctot = np.array([[float(ib.c_total(p[0], p[1], l)) for l in lam] for p in pairs])  # (pair, b)
    idx = bootstrap_indices(ds.sizes["seed"], config["bootstrap"], seed=3)
    metrics = ("sharpness", "test_loss", "best_test_loss")
    lrs = ds.lr.values
    out = {}

    def effect(metric, a, c):
        """median(metric at pair a) − median(at pair c): (lr, b) point and 90 % CI."""
        va = ds[metric].sel(pair=a).values                                # (b, lr, seed)
        vc = ds[metric].sel(pair=c).values
        point = _median(va) - _median(vc)
        boot = _median(va[..., idx]) - _median(vc[..., idx])              # (b, lr, R)
        lo = np.nanquantile(boot, 0.05, axis=-1)
        hi = np.nanquantile(boot, 0.95, axis=-1)
        return np.stack([point, lo, hi], axis=-1)                          # (b, lr, 3)

    labels = list(ds.pair.values)

    def label(b1, b2):
        key = f"{b1:g}/{b2:g}"
        return key if key in labels else None

    b2_hi, b2_lo = max(config["beta2s"]), min(config["beta2s"])
    b1_hi, b1_lo = max(config["beta1s"]), min(config["beta1s"])
    for metric in metrics:
        a, c = label(0.9, b2_hi), label(0.9, b2_lo)
        out[f"beta2_effect_{metric}"] = effect(metric, a, c)
        a, c = label(b1_hi, 0.999), label(b1_lo, 0.999)
        out[f"beta1_effect_{metric}"] = effect(metric, a, c)
    # rank correlation across the pairs of C_total with −metric, per (b, lr), with bootstrap CI
    corr = np.full((len(metrics), bs.size, lrs.size, 3), np.nan)
    for m_i, metric in enumerate(metrics):
        vals = ds[metric].transpose("pair", "batch_size", "lr", "seed").values
        med = _median(vals)                                               # (pair, b, lr)
        boot = _median(vals[..., idx])                                    # (pair, b, lr, R)
        for j in range(bs.size):
            for q in range(lrs.size):
                point = spearmanr(ctot[:, j], -med[:, j, q]).statistic
                samples = [spearmanr(ctot[:, j], -boot[:, j, q, r]).statistic
                           for r in range(boot.shape[-1])]
                lo, hi, _ = percentile_interval(samples, 0.9)
                corr[m_i, j, q] = [point, lo, hi]
    advice = [advise(int(b), n, b_simple) for b in bs]
    dims3 = ("batch_size", "lr", "interval")
    res = xr.Dataset({k: (dims3, v) for k, v in out.items()})
    res["ctotal_rank_corr"] = (("metric",) + dims3, corr)
    res["lam"] = ("batch_size", lam)
    res["c_total"] = (("pair", "batch_size"), ctot)
    res["advice_beta1"] = ("batch_size", [a.beta1 for a in advice])
    res["advice_beta2"] = ("batch_size", [a.beta2 for a in advice])
    res["advice_regime"] = ("batch_size", [a.regime for a in advice])
    res = res.assign_coords(interval=["point", "lower", "upper"], metric=list(metrics))
    res.attrs.update({"b_simple": b_simple, "b_simple_min": lo_bs, "b_simple_max": hi_bs,
                      "flip_batch_beta2": float(ib.batch_size_for(0.5, n, b_simple)),
                      "flip_batch_beta1": float(ib.batch_size_for(1.0, n, b_simple)),
                      "flip_batch_beta2_range": [float(ib.batch_size_for(0.5, n, v))
                                                 for v in (lo_bs, hi_bs)],
                      "n_train": n})
    return res


def _ci(v):
    return f"{v[0]:+.3g} [{v[1]:+.2g}, {v[2]:+.2g}]"


def agreement(interval, predicted_sign: int) -> str:
    """'yes' when the 90 % interval excludes 0 on the predicted side, 'NO' when it excludes 0 on
    the other side, 'unresolved' when it contains 0."""
    _, lo, hi = interval
    if lo > 0 or hi < 0:
        return "yes" if np.sign(lo if lo > 0 else hi) == predicted_sign else "NO"
    return "unresolved"


def report(ds: xr.Dataset) -> str:
    cfg = json.loads(ds.attrs["config"])
    a = ds.attrs
    lines = [f"diagonal net: N = {a['n_train']} training samples, {cfg['chunks'] * cfg['chunk_steps']} "
             f"steps for every b (test loss every {cfg['chunk_steps']}), seeds = {cfg['seeds']} "
             f"(shuffles; b = N is deterministic), lrs = {cfg['lrs']}; 'best test' = the lowest "
             "test loss at the chunk ends (the paper's best validation loss)",
             "B_simple along the reference run (Adam 0.9/0.999, b = 1): epoch: two-batch "
             "estimate ± s.e. (exact trSigma/|G|^2), train loss"]
    for e, v, s, x, l in zip(ds.bs_epoch.values, ds.bs_two_batch.values, ds.bs_two_batch_se.values,
                             ds.bs_exact.values, ds.bs_train_loss.values):
        lines.append(f"  {int(e):4d}: {v:8.3g} ± {s:.2g} ({x:.3g}), loss {l:.3g}")
    lines.append(f"  median over training {a['b_simple']:.3g} (range {a['b_simple_min']:.3g}.."
                 f"{a['b_simple_max']:.3g}); predicted flips: beta2 at b = "
                 f"{a['flip_batch_beta2']:.3g} (range {a['flip_batch_beta2_range'][0]:.3g}.."
                 f"{a['flip_batch_beta2_range'][1]:.3g}), beta1 at b = {a['flip_batch_beta1']:.3g}")
    b2 = f"0.9/{max(cfg['beta2s']):g} - 0.9/{min(cfg['beta2s']):g}"
    b1 = f"{max(cfg['beta1s']):g}/0.999 - {min(cfg['beta1s']):g}/0.999"
    for lr in ds.lr.values:
        lines += ["", f"lr = {lr:g}: effects = difference of medians [90 % CI]; 'pred' = the sign "
                      "C_total predicts for it (C_total up = more regularization = flatter / lower "
                      "test loss, so pred '-'); agree = yes / NO / unresolved (CI contains 0) for "
                      "sharpness, best test loss",
                  f"{'b':>3} {'lambda':>7} {'advise':>12} | {'beta2 effect: sharpness':>25} "
                  f"{'best test loss':>24} {'pred':>4} {'agree':>16} | {'beta1 effect: sharpness':>25} "
                  f"{'best test loss':>24} {'pred':>4} {'agree':>16}"]
        for j, b in enumerate(ds.batch_size.values):
            lam = float(ds.lam.sel(batch_size=b))
            ct = ds.c_total.sel(batch_size=b)
            d2 = float(ct.sel(pair=f"0.9/{max(cfg['beta2s']):g}") - ct.sel(pair=f"0.9/{min(cfg['beta2s']):g}"))
            d1 = float(ct.sel(pair=f"{max(cfg['beta1s']):g}/0.999") - ct.sel(pair=f"{min(cfg['beta1s']):g}/0.999")) \
                if f"{min(cfg['beta1s']):g}/0.999" in ds.pair.values else np.nan
            adv = f"{float(ds.advice_beta1.sel(batch_size=b)):g}/{float(ds.advice_beta2.sel(batch_size=b)):g}"
            cells = []
            for name, dc in (("beta2", d2), ("beta1", d1)):
                sign = -1 if dc > 0 else 1
                sh = ds[f"{name}_effect_sharpness"].sel(batch_size=b, lr=lr).values
                te = ds[f"{name}_effect_best_test_loss"].sel(batch_size=b, lr=lr).values
                cells.append(f"{_ci(sh):>25} {_ci(te):>24} {'-' if sign < 0 else '+':>4} "
                             f"{agreement(sh, sign) + ', ' + agreement(te, sign):>16}")
            lines.append(f"{int(b):3d} {lam:7.3g} {adv:>12} | " + " | ".join(cells))
        lines.append(f"  (beta2 effect: {b2}; beta1 effect: {b1})")
        lines.append("  rank correlation across all (beta1, beta2) of C_total with -sharpness / "
                     "-test loss [90 % CI]:")
        for b in ds.batch_size.values:
            cs = ds.ctotal_rank_corr.sel(batch_size=b, lr=lr)
            lines.append(f"    b={int(b):3d}: sharpness {_ci(cs.sel(metric='sharpness').values)}, "
                         f"final test loss {_ci(cs.sel(metric='test_loss').values)}, best test "
                         f"loss {_ci(cs.sel(metric='best_test_loss').values)}")
        lines.append("  best (beta1, beta2) by median best test loss per b, and that median for "
                     "each pair:")
        med = ds.best_test_loss.sel(lr=lr).median("seed")
        for b in ds.batch_size.values:
            row = med.sel(batch_size=b)
            best = str(row.pair.values[int(np.nanargmin(row.values))])
            lines.append(f"    b={int(b):3d}: best {best}; " + ", ".join(
                f"{p}:{float(v):.3g}" for p, v in zip(row.pair.values, row.values)))
    lines.append(f"diverged runs: {int(ds.diverged.sum())} of {ds.diverged.size}")
    return "\n".join(lines)


def headline(ds: xr.Dataset) -> str:
    lr = float(ds.lr.values[-1])
    b_small, b_big = ds.batch_size.values[0], ds.batch_size.values[-1]
    e_small = ds.beta2_effect_best_test_loss.sel(batch_size=b_small, lr=lr).values
    e_big = ds.beta2_effect_best_test_loss.sel(batch_size=b_big, lr=lr).values
    return (f"B_simple {ds.attrs['b_simple']:.3g} (flip b≈{ds.attrs['flip_batch_beta2']:.3g}); "
            f"β2 effect on best test loss b={int(b_small)}: {e_small[0]:+.2g}, b={int(b_big)}: "
            f"{e_big[0]:+.2g} (lr {lr:g})")


def plot(ds: xr.Dataset, out) -> list:
    style()
    lrs = ds.lr.values
    fig, axes = plt.subplots(2, 3, figsize=(14, 8), layout="constrained")
    bs = ds.batch_size.values
    lr = lrs[-1]
    for c, metric in enumerate(("sharpness", "best_test_loss")):
        ax = axes[0, c]
        med = ds[metric].sel(lr=lr).median("seed")
        cmap = plt.get_cmap("viridis")
        b2s = sorted(set(ds.beta2.values.tolist()))
        for pair in ds.pair.values:
            b1, b2 = (float(x) for x in str(pair).split("/"))
            color = cmap(b2s.index(b2) / max(len(b2s) - 1, 1))
            ls = {0.8: ":", 0.9: "-", 0.95: "-.", 0.99: "--"}.get(b1, "-")
            ax.plot(bs, med.sel(pair=pair), ls=ls, marker="o", ms=3, color=color,
                    label=f"β1={b1:g}, β2={b2:g}")
        ax.set_xscale("log")
        if metric == "best_test_loss":
            log_ticks(ax, "y")
        value_ticks(ax, bs)
        for key, style_ in (("flip_batch_beta2", "C3"), ("flip_batch_beta1", "C1")):
            ax.axvline(ds.attrs[key], color=style_, lw=1, ls="--")
        ax.set(xlabel="batch size b (dashed: predicted β2 / β1 flips)",
               ylabel=f"{metric.replace('_', ' ')} (median over shuffles)",
               title=f"{metric.replace('_', ' ')} at the end, lr {lr:g}")
        if c == 0:
            ax.legend(fontsize=6, ncol=2)
    ax = axes[0, 2]
    ax.errorbar(ds.bs_epoch.values, ds.bs_two_batch.values, yerr=2 * ds.bs_two_batch_se.values,
                marker="o", label="two-batch estimate (±2 s.e.)")
    ax.plot(ds.bs_epoch.values, ds.bs_exact.values, "k--", label="exact trΣ/|G|²")
    ax.set_xscale("symlog", linthresh=1)
    ax.set(xlabel="epoch of the reference run", ylabel="B_simple", title="B_simple along training")
    ax.legend(fontsize=7)
    for c, (name, title) in enumerate((("beta2_effect", "β2: 0.999 vs 0.9 at β1 = 0.9"),
                                       ("beta1_effect", "β1: high vs low at β2 = 0.999"))):
        ax = axes[1, c]
        for m_i, metric in enumerate(("sharpness", "best_test_loss")):
            for q, lr_ in enumerate(lrs):
                v = ds[f"{name}_{metric}"].sel(lr=lr_).values
                ax.errorbar(bs * (1 + 0.04 * (2 * m_i + q)), v[:, 0],
                            yerr=[v[:, 0] - v[:, 1], v[:, 2] - v[:, 0]], marker="os"[m_i],
                            ls="-" if q == len(lrs) - 1 else ":", capsize=2,
                            label=f"{metric.replace('_', ' ')}, lr {lr_:g}")
        ax.axhline(0, color="k", lw=0.7)
        ax.axvline(ds.attrs["flip_batch_beta2" if name == "beta2_effect" else "flip_batch_beta1"],
                   color="C3", lw=1, ls="--", label="predicted flip")
        ax.set_xscale("log")
        value_ticks(ax, bs)
        ax.set(xlabel="batch size b", ylabel="difference of medians (90 % CI)", title=title)
        ax.legend(fontsize=6.5)
    ax = axes[1, 2]
    for m_i, metric in enumerate(("sharpness", "best_test_loss")):
        v = ds.ctotal_rank_corr.sel(metric=metric, lr=lr).values
        ax.errorbar(bs * (1 + 0.05 * m_i), v[:, 0], yerr=[v[:, 0] - v[:, 1], v[:, 2] - v[:, 0]],
                    marker="os"[m_i], capsize=2, label=f"C_total vs −{metric.replace('_', ' ')}")
    ax.axhline(0, color="k", lw=0.7)
    ax.set_xscale("log")
    value_ticks(ax, bs)
    ax.set(xlabel="batch size b", ylabel="Spearman ρ over (β1, β2) (90 % CI)",
           title=f"does higher C_total mean flatter / better? (lr {lr:g})", ylim=(-1.05, 1.05))
    ax.legend(fontsize=7)
    paper_title(fig, "cattaneo", "§3 (Eq. 7–8, Lemmas 3.4–3.7)",
                "does Adam's implicit bias (C_total) mean flatter minima and a lower test loss? "
                "A diagonal linear network")
    return save_figure(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline, seeds=(20, 4),
                        backend="numba")


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
