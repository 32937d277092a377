"""Cattaneo & Shigida 2026 in simulation: does Adam's (β1, β2, b) implicit bias show up as a lower
best test loss on a landscape whose minima differ in sharpness — with the lr tuned per (β1, β2, b)?

Problem: ``problems.diagonal_net(width=400, n_train=200, n_test=1000, sparsity=10, noise=0.5)``
— sparse regression with a diagonal linear network (β = u⊙u − v⊙v), a continuum of interpolating
minima of varying sharpness; noisy targets, so fitting them overfits. Training as in the paper's
setting (Def. 2.1): multi-epoch, batches of b drawn without replacement from a fresh permutation
every epoch (``sampling="epoch"``), Adam (Def. 3.1, bias-corrected, ε = 1e-8) at a constant lr.

Protocol (issue 16): every (β1, β2) pair runs at every b on a window of a log lr ladder with ratio
3 (so ×1/3 and ×3 of the best lr are grid points); where the best lr of any pair (median over
shuffles) sits at a window edge the window is extended by one ladder point, up to twice. Each run
is trained for a b-dependent number of steps with the test loss at ≥ 50 log-spaced checkpoints
(and at w0); stored per run: the best test loss (the paper's §4 "minimal validation loss"), its
step, the final test and train losses and the sharpness (top Hessian eigenvalue) at the best
checkpoint. B_simple = trΣ/|G|² is measured along a reference run with McCandlish's two-batch
estimator (b = 4 vs 50, finite-population factors, ``theory.noise_scale``) and exactly; λ(b) by
Eq 8 from its median over training.

The claims (``experiments.claims``, section cattaneo2026) are measured by the ``measure_*``
functions below from this Dataset and decided by ``simlab.verdict.decide``: the β2 effect at β1 =
0.9 (Lemma 3.4) and at β1 = 0.99 (Lemma 3.5), the β1 effect at β2 = 0.999 (Lemma 3.6), β1 = β2 =
0.999 at large b (Lemma 3.7 / §3.3's rule of thumb), and the rank correlation of C_total with
generalization over the pairs. ``check_assumptions`` makes a claim ``outside`` when a run it
compares has not passed its test-loss minimum ("not trained to overfitting") or λ(b) is not in the
lemma's regime.

Cells (cached): one reference run for B_simple; one per ((β1, β2), b, lr window or extension) with
every lr of it and every seed.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import xarray as xr
from scipy.stats import rankdata

from experiments._harness import Experiment
from experiments._implicit_bias_runs import (CHECKPOINTS, EPS, PROBLEM, b_simple_cell,  # noqa: F401
                                             checkpoints, exact_b_simple, problem, run_cell,
                                             warmup)
from experiments._peaks import bootstrap_indices
from simlab import _checks
from simlab.advise import advise
from simlab.plotting import log_ticks, paper_title, plt, save_figure, style, value_ticks
from simlab.theory import implicit_bias as ib
from simlab.verdict import Estimate, Tuned

NAME = "implicit_bias"

# the lr ladder 0.01·3^k, k = −4 … 5: neighbours differ by ×3, so the rule's ×1/3 and ×3 checks
# land on grid points
LADDER = (0.01 * 3.0 ** np.arange(-4, 6)).tolist()
PAIRS_FULL = ((0.8, 0.9), (0.9, 0.9), (0.8, 0.99), (0.9, 0.99), (0.99, 0.99), (0.8, 0.999),
              (0.9, 0.999), (0.99, 0.999), (0.999, 0.999))
PAIRS_QUICK = ((0.9, 0.9), (0.8, 0.999), (0.9, 0.999), (0.99, 0.999), (0.99, 0.99),
               (0.999, 0.999))
# full default: steps per b (small batches need more steps to pass their test minimum) and the
# first ladder index of each b's 5-point window (the best lr grows with b)
STEPS_FULL = {1: 60000, 4: 30000, 25: 10000, 50: 6000, 100: 10000, 200: 24000}
WINDOW_FULL = {1: 2, 4: 2, 25: 3, 50: 3, 100: 4, 200: 4}
STEPS_QUICK = {1: 600, 200: 300}
WINDOW_QUICK = {1: 4, 200: 5}
EXTENSIONS = 2            # at most this many one-point extensions of an lr window per side
OVERFIT_MARGIN = 0.01     # "passed its minimum": final test loss ≥ (1 + margin) × best test loss


def resolve(args) -> dict:
    quick = bool(args.quick)
    steps = STEPS_QUICK if quick else STEPS_FULL
    window = WINDOW_QUICK if quick else WINDOW_FULL
    return {"quick": quick, "problem": PROBLEM,
            "pairs": [list(p) for p in (PAIRS_QUICK if quick else PAIRS_FULL)],
            "batch_sizes": list(steps), "steps": {str(b): s for b, s in steps.items()},
            "ladder": LADDER, "window": {str(b): w for b, w in window.items()},
            "window_size": 3 if quick else 5, "extensions": EXTENSIONS,
            "checkpoints": CHECKPOINTS,
            "seeds": _checks.integer("seeds", args.seeds, lo=2), "backend": args.backend,
            "b_simple": {"epochs": [0, 1, 10] if quick else [0, 1, 3, 10, 30, 100],
                         "pairs": 200 if quick else 2000, "b_small": 4, "b_big": 50,
                         "lr": 0.01, "seed": 5, "problem": PROBLEM}}


def pair_label(pair) -> str:
    return f"{pair[0]:g}/{pair[1]:g}"


def _seed_median(a, axis=-1):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.median(a, axis=axis)


def _scored(best, diverged):
    """The metric the lr is tuned on: the best test loss, +inf for a run that diverged."""
    return np.where(np.asarray(diverged, bool) | ~np.isfinite(best), np.inf, best)


def compute(config: dict, cells) -> xr.Dataset:
    ladder = np.asarray(config["ladder"])
    pairs, sizes = [tuple(p) for p in config["pairs"]], config["batch_sizes"]
    window = {b: list(range(config["window"][str(b)],
                            config["window"][str(b)] + config["window_size"])) for b in sizes}
    if any(w[0] < 0 or w[-1] >= ladder.size for w in window.values()):
        raise ValueError(f"window={config['window']} runs off the ladder of {ladder.size} lrs")
    warm = [] if config["backend"] == "numpy" else [(warmup, (config["backend"],))]
    bs_ds = cells.map(b_simple_cell, [{**config["b_simple"], "backend": config["backend"]}],
                      warmups=warm, label="B_simple")[0]

    def spec(pair, b, idx):
        return {"pair": list(pair), "batch_size": b, "lrs": ladder[idx].tolist(),
                "steps": config["steps"][str(b)], "checkpoints": config["checkpoints"],
                "problem": config["problem"], "seeds": config["seeds"],
                "backend": config["backend"], "seed": 11}

    runs = {}                                       # (pair, b) → list of cell Datasets
    todo = {b: list(window[b]) for b in sizes}
    window = {b: [] for b in sizes}                 # the ladder indices run at each b
    for round_ in range(config["extensions"] + 1):
        keys = [(p, b, tuple(todo[b])) for b in sizes if todo[b] for p in pairs]
        done = cells.map(run_cell, [spec(p, b, list(idx)) for p, b, idx in keys],
                         label="Adam runs" if round_ == 0 else f"lr extensions {round_}")
        for (p, b, _), ds in zip(keys, done):
            runs.setdefault((p, b), []).append(ds)
        for b in sizes:
            window[b] = sorted(set(window[b]) | set(todo[b]))
        todo = {b: edge_extensions(runs, pairs, b, window[b], ladder.size) for b in sizes}
        if not any(todo.values()) or round_ == config["extensions"]:
            break
    blocks = []
    for b in sizes:
        per_pair = [xr.concat(runs[(p, b)], dim="lr").sortby("lr").reindex(lr=ladder)
                    for p in pairs]
        blocks.append(xr.concat(per_pair, dim="pair"))
    grid = xr.concat(blocks, dim="batch_size")
    grid["diverged"] = grid.diverged.fillna(False).astype(bool)
    grid["best_step"] = grid.best_step.fillna(-1).astype(np.int32)
    for v in ("best_test_loss", "final_test_loss", "final_train_loss", "sharpness_at_best"):
        grid[v] = grid[v].astype(np.float32)
    grid["lr_ran"] = (("batch_size", "lr"),
                      np.array([[k in window[b] for k in range(ladder.size)] for b in sizes]))
    grid["steps"] = ("batch_size", np.array([config["steps"][str(b)] for b in sizes], np.int32))
    grid = grid.assign_coords(pair=[pair_label(p) for p in pairs], batch_size=sizes,
                              lr=ladder, beta1=("pair", [p[0] for p in pairs]),
                              beta2=("pair", [p[1] for p in pairs]))
    ds = xr.merge([grid, bs_ds])
    derived = analysis(ds, config)
    out = ds.merge(derived)
    out.attrs.update(derived.attrs)
    return out


def edge_extensions(runs, pairs, b, ran, ladder_size) -> list[int]:
    """The ladder indices to add at b: one below the lowest lr run where some pair's tuned lr
    (seed median of the best test loss, diverged +inf) is the lowest, one above likewise."""
    tuned = []
    for p in pairs:
        merged = xr.concat(runs[(p, b)], dim="lr").sortby("lr")
        tuned.append(int(np.argmin(_seed_median(_scored(merged.best_test_loss.values,
                                                        merged.diverged.values)))))
    add = []
    if 0 in tuned and ran[0] > 0:
        add.append(ran[0] - 1)
    if len(ran) - 1 in tuned and ran[-1] < ladder_size - 1:
        add.append(ran[-1] + 1)
    return add


def analysis(ds, config) -> xr.Dataset:
    """λ(b) from the median two-batch B_simple over training (Eq 8), C_total per (pair, b) (Eq 7)
    and ``simlab.advise``'s recommendation per b."""
    n = config["problem"]["n_train"]
    trained = ds.bs_epoch.values > 0
    values = ds.bs_two_batch.values[trained]
    b_simple = float(np.median(values))
    lo_bs, hi_bs = float(np.min(values)), float(np.max(values))
    bs = np.asarray(config["batch_sizes"], float)
    lam = np.array([ib.noise_ratio(n, b, b_simple) for b in bs])
    pairs = config["pairs"]
    ctot = np.array([[float(ib.c_total(p[0], p[1], l)) for l in lam] for p in pairs])
    advice = [advise(int(b), n, b_simple) for b in bs]
    res = xr.Dataset({"lam": ("batch_size", lam),
                      "lam_range": (("batch_size", "bound"),
                                    np.array([[ib.noise_ratio(n, b, v) for v in (lo_bs, hi_bs)]
                                              for b in bs])),
                      "c_total": (("pair", "batch_size"), ctot),
                      "advice_beta1": ("batch_size", [a.beta1 for a in advice]),
                      "advice_beta2": ("batch_size", [a.beta2 for a in advice]),
                      "advice_regime": ("batch_size", [a.regime for a in advice])},
                     coords={"bound": ["low", "high"]})
    res.attrs.update({"b_simple": b_simple, "b_simple_min": lo_bs, "b_simple_max": hi_bs,
                      "flip_batch_beta2": float(ib.batch_size_for(0.5, n, b_simple)),
                      "flip_batch_beta1": float(ib.batch_size_for(1.0, n, b_simple)),
                      "n_train": n})
    return res


# -- what the claims measure (read the stored Dataset only) ---------------------------------------

def _block(ds, batch_size, pairs, variable="best_test_loss"):
    """(pair, lr, seed) of ``variable`` at b over the lrs run there, and those lrs."""
    if batch_size not in ds.batch_size.values:
        raise ValueError(f"batch_size={batch_size} is not in this Dataset (batch sizes: "
                         f"{ds.batch_size.values.tolist()})")
    sel = ds.sel(batch_size=batch_size)
    ran = np.asarray(sel.lr_ran.values, bool)
    lrs = ds.lr.values[ran]
    missing = [p for p in pairs if p not in ds.pair.values]
    if missing:
        raise ValueError(f"pairs {missing} are not in this Dataset (pairs: "
                         f"{list(ds.pair.values)})")
    part = sel.sel(pair=list(pairs)).isel(lr=ran)
    values = part[variable].transpose("pair", "lr", "seed").values.astype(float)
    diverged = part.diverged.transpose("pair", "lr", "seed").values
    return values, diverged, lrs


def tuned_best_test_loss(ds, batch_size, pairs):
    """The seed-median best test loss of every pair at its tuned lr at b (diverged runs +inf),
    and the index of that lr among the lrs run at b."""
    values, diverged, lrs = _block(ds, batch_size, pairs)
    med = _seed_median(_scored(values, diverged))                          # (pair, lr)
    idx = np.argmin(med, axis=1)
    return med[np.arange(len(pairs)), idx], idx, lrs


def measure_pair_effect(ds, batch_size, pair, reference, **_) -> Tuned:
    """Best test loss of ``pair`` minus that of ``reference`` at batch size b, each at its own
    tuned lr (the rule tunes it on the stored lr grid, diverged runs +inf; negative = ``pair``
    generalizes better)."""
    values, diverged, lrs = _block(ds, batch_size, (pair, reference))
    return Tuned(metric=_scored(values, diverged), lrs=lrs, settings=(pair, reference))


def measure_ctotal_correlation(ds, batch_size, resamples=1000, seed=0, **_) -> Estimate:
    """Spearman ρ over the (β1, β2) pairs between C_total(β1, β2, λ(b)) and −(best test loss at
    the pair's tuned lr) at b. Bootstrap: shuffles resampled jointly across pairs and lrs, the lr
    re-tuned per pair inside every resample, *and* the pairs resampled with replacement."""
    pairs = [str(p) for p in ds.pair.values]
    values, diverged, _ = _block(ds, batch_size, pairs)
    metric = _scored(values, diverged)                                     # (pair, lr, seed)
    ct = ds.c_total.sel(batch_size=batch_size).sel(pair=pairs).values
    point = _spearman(ct, -np.min(_seed_median(metric), axis=1))
    seeds_idx = bootstrap_indices(metric.shape[-1], resamples, seed)
    pair_idx = np.random.default_rng(seed + 1).integers(0, len(pairs), (resamples, len(pairs)))
    tuned = np.min(_seed_median(metric[..., seeds_idx]), axis=1)           # (pair, resample)
    samples = np.array([_spearman(ct[pair_idx[r]], -tuned[pair_idx[r], r])
                        for r in range(resamples)])
    return Estimate(samples=samples[np.isfinite(samples)], value=point,
                    n_seeds=int(metric.shape[-1]))


def _spearman(x, y) -> float:
    """Rank correlation; +inf (a diverged pair) ranks last; nan when either side is constant."""
    rx, ry = rankdata(x), rankdata(np.where(np.isnan(y), -np.inf, y))
    if np.ptp(rx) == 0 or np.ptp(ry) == 0:
        return np.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def check_assumptions(ds, batch_size, pair=None, reference=None, regime=None, **_):
    """The violated assumption of a claim at b, or None. ``regime``: ("above"|"below", λ
    threshold) — the lemma's regime that λ(b) (Eq 8, median B_simple) must be in. Trained to
    overfitting: every compared pair (all pairs when none are named), at its tuned lr, must have
    passed its test-loss minimum — the seed-median final test loss ≥ (1 + OVERFIT_MARGIN) × the
    seed-median best."""
    lam = float(ds.lam.sel(batch_size=batch_size))
    if regime is not None:
        side, threshold = regime
        if (side == "above" and not lam > threshold) or (side == "below" and not lam < threshold):
            return (f"λ(b={batch_size}) = {lam:.3g} is not {side} the lemma's threshold "
                    f"{threshold:g}")
    pairs = [p for p in (pair, reference) if p is not None] or [str(p) for p in ds.pair.values]
    late = not_overfitted(ds, batch_size, pairs)
    if late:
        return (f"not trained to overfitting at b={batch_size}: {', '.join(late)} still within "
                f"{OVERFIT_MARGIN:.0%} of its best test loss at the last step")
    return None


def not_overfitted(ds, batch_size, pairs) -> list[str]:
    """The pairs (with their tuned lr) whose test loss at their tuned lr has not passed its
    minimum by the last checkpoint at b."""
    _, idx, lrs = tuned_best_test_loss(ds, batch_size, pairs)
    best, _, _ = _block(ds, batch_size, pairs)
    final, _, _ = _block(ds, batch_size, pairs, "final_test_loss")
    out = []
    for k, p in enumerate(pairs):
        rise = _seed_median(final[k, idx[k]] / best[k, idx[k]])
        if not rise >= 1 + OVERFIT_MARGIN:
            out.append(f"{p} (lr {lrs[idx[k]]:.3g})")
    return out


# -- tables for docs/implicit_bias.md (generated blocks; read the Dataset only) -------------------

def b_simple_table(ds) -> str:
    """B_simple along the reference run: two-batch estimate ± s.e., exact, train loss."""
    rows = ["| epoch | two-batch B_simple | exact trΣ/\\|G\\|² | train loss |", "|---|---|---|---|"]
    for e, v, s_, x, l in zip(ds.bs_epoch.values, ds.bs_two_batch.values,
                              ds.bs_two_batch_se.values, ds.bs_exact.values,
                              ds.bs_train_loss.values):
        rows.append(f"| {int(e)} | {v:.3g} ± {s_:.2g} | {x:.3g} | {l:.3g} |")
    a = ds.attrs
    rows.append(f"\nMedian over training {a['b_simple']:.3g} (range {a['b_simple_min']:.3g} … "
                f"{a['b_simple_max']:.3g}): λ = ½ at b = {a['flip_batch_beta2']:.3g}, λ = 1 at "
                f"b = {a['flip_batch_beta1']:.3g}.")
    return "\n".join(rows)


def tuned_table(ds) -> str:
    """Per b: λ, and per pair the median best test loss at its tuned lr (the lr; † = not past
    its test minimum at the last step; ‡ = the tuned lr is at an edge of the lrs run)."""
    pairs = [str(p) for p in ds.pair.values]
    rows = ["| b | λ | steps | " + " | ".join(pairs) + " |", "|---" * (3 + len(pairs)) + "|"]
    for b in ds.batch_size.values:
        med, idx, lrs = tuned_best_test_loss(ds, b, pairs)
        late = {x.split(" ")[0] for x in not_overfitted(ds, b, pairs)}
        cells = [f"{m:.3g} ({lrs[i]:.2g}){'†' if p in late else ''}"
                 f"{'‡' if i in (0, lrs.size - 1) else ''}" for p, m, i in zip(pairs, med, idx)]
        rows.append(f"| {int(b)} | {float(ds.lam.sel(batch_size=b)):.3g} | "
                    f"{int(ds.steps.sel(batch_size=b))} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


# -- report and figure -----------------------------------------------------------------------------

def report(ds: xr.Dataset) -> str:
    cfg = json.loads(ds.attrs["config"])
    a = ds.attrs
    lines = [f"diagonal net: N = {a['n_train']}, seeds = {cfg['seeds']} shuffles (b = N is "
             f"deterministic); lr ladder 0.01*3^k; steps per b {cfg['steps']}; test loss at "
             f">= {cfg['checkpoints']} log-spaced checkpoints; 'best' = its minimum",
             "B_simple along the reference run (Adam 0.9/0.999, b = 1): epoch: two-batch "
             "estimate ± s.e. (exact trSigma/|G|^2), train loss"]
    for e, v, s, x, l in zip(ds.bs_epoch.values, ds.bs_two_batch.values, ds.bs_two_batch_se.values,
                             ds.bs_exact.values, ds.bs_train_loss.values):
        lines.append(f"  {int(e):4d}: {v:8.3g} ± {s:.2g} ({x:.3g}), loss {l:.3g}")
    lines.append(f"  median over training {a['b_simple']:.3g} (range {a['b_simple_min']:.3g}.."
                 f"{a['b_simple_max']:.3g}); predicted flips: beta2 at b = "
                 f"{a['flip_batch_beta2']:.3g}, beta1 at b = {a['flip_batch_beta1']:.3g}")
    pairs = [str(p) for p in ds.pair.values]
    lines += ["", "median best test loss at each pair's tuned lr (lr; '*' = not past its test "
                  "minimum at the last step)"]
    lines.append(f"{'b':>4} {'lambda':>7} {'advise':>12} " + " ".join(f"{p:>18}" for p in pairs))
    for b in ds.batch_size.values:
        med, idx, lrs = tuned_best_test_loss(ds, b, pairs)
        late = {s.split(" ")[0] for s in not_overfitted(ds, b, pairs)}
        adv = f"{float(ds.advice_beta1.sel(batch_size=b)):g}/" \
              f"{float(ds.advice_beta2.sel(batch_size=b)):g}"
        cells = [f"{m:8.3g} ({lrs[i]:.2g}){'*' if p in late else ' '}"
                 for p, m, i in zip(pairs, med, idx)]
        lines.append(f"{int(b):4d} {float(ds.lam.sel(batch_size=b)):7.3g} {adv:>12} "
                     + " ".join(f"{c:>18}" for c in cells))
    lines += ["", "claims (experiments.claims) decided by simlab.verdict from this Dataset:"]
    from experiments.verdicts import claims_of, evaluate, format_verdict
    sizes = set(ds.batch_size.values.tolist())
    for claim in claims_of(NAME):
        b = claim.args.get("batch_size")
        lines.append(f"  {claim.id}: " + (format_verdict(evaluate(claim, ds)) if b in sizes
                                          else f"not measured (b = {b} is not in this run)"))
    n_run = int(ds.lr_ran.sum()) * ds.sizes["pair"] * ds.sizes["seed"]
    lines.append(f"diverged runs: {int(ds.diverged.sum())} of {n_run}")
    return "\n".join(lines)


def headline(ds: xr.Dataset) -> str:
    b_small, b_big = ds.batch_size.values[0], ds.batch_size.values[-1]
    eff = []
    for b in (b_small, b_big):
        med, _, _ = tuned_best_test_loss(ds, b, ["0.9/0.999", "0.9/0.9"])
        eff.append(med[0] - med[1])
    return (f"B_simple {ds.attrs['b_simple']:.3g} (flip b≈{ds.attrs['flip_batch_beta2']:.3g}); "
            f"tuned-lr β2 effect on best test loss b={int(b_small)}: {eff[0]:+.2g}, "
            f"b={int(b_big)}: {eff[1]:+.2g}")


def _effect_curve(ds, pair, reference):
    """(point, lower, upper) per b of the tuned-lr effect, as the rule computes it."""
    from simlab.verdict import Prediction, decide
    rows = []
    for b in ds.batch_size.values:
        v = decide(measure_pair_effect(ds, b, pair, reference), Prediction("sign", sign=1),
                   resamples=500)
        rows.append([v.value, *(v.interval if v.interval is not None else (np.nan, np.nan))])
    return np.array(rows)


def plot(ds: xr.Dataset, out) -> list:
    style()
    fig, axes = plt.subplots(2, 3, figsize=(14, 8), layout="constrained")
    bs = ds.batch_size.values
    pairs = [str(p) for p in ds.pair.values]
    tuned = np.array([tuned_best_test_loss(ds, b, pairs)[1] for b in bs])       # (b, pair)
    cmap = plt.get_cmap("viridis")
    b2s = sorted(set(ds.beta2.values.tolist()))
    for c, metric in enumerate(("sharpness_at_best", "best_test_loss")):
        ax = axes[0, c]
        for k, pair in enumerate(pairs):
            b1, b2 = (float(x) for x in pair.split("/"))
            med = []
            for j, b in enumerate(bs):
                v, _, _ = _block(ds, b, [pair], metric)
                med.append(_seed_median(v[0, tuned[j, k]]))
            color = cmap(b2s.index(b2) / max(len(b2s) - 1, 1))
            ls = {0.8: ":", 0.9: "-", 0.99: "--", 0.999: "-."}.get(b1, "-")
            ax.plot(bs, med, ls=ls, marker="o", ms=3, color=color,
                    label=f"β1={b1:g}, β2={b2:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")                   # sharpness spans decades across the pairs
        if metric == "best_test_loss":
            log_ticks(ax, "y")
        value_ticks(ax, bs)
        for key, style_ in (("flip_batch_beta2", "C3"), ("flip_batch_beta1", "C1")):
            ax.axvline(ds.attrs[key], color=style_, lw=1, ls="--")
        ax.set(xlabel="batch size b (dashed: predicted β2 / β1 flips)",
               ylabel=f"{metric.replace('_', ' ')} (median over shuffles)",
               title=f"{metric.replace('_', ' ')}, each pair at its tuned lr")
        if c == 0:
            ax.legend(fontsize=6, ncol=2)
    ax = axes[0, 2]
    ax.errorbar(ds.bs_epoch.values, ds.bs_two_batch.values, yerr=2 * ds.bs_two_batch_se.values,
                marker="o", label="two-batch estimate (±2 s.e.)")
    ax.plot(ds.bs_epoch.values, ds.bs_exact.values, "k--", label="exact trΣ/|G|²")
    ax.set_xscale("symlog", linthresh=1)
    ax.set(xlabel="epoch of the reference run", ylabel="B_simple", title="B_simple along training")
    ax.legend(fontsize=7)
    effects = ((axes[1, 0], "β2 effect at β1 = 0.9 / 0.99", "flip_batch_beta2",
                (("0.9/0.999", "0.9/0.9", "β1 = 0.9: 0.999 − 0.9"),
                 ("0.99/0.999", "0.99/0.99", "β1 = 0.99: 0.999 − 0.99"))),
               (axes[1, 1], "β1 effect at β2 = 0.999", "flip_batch_beta1",
                (("0.99/0.999", "0.9/0.999", "0.99 − 0.9"),
                 ("0.999/0.999", "0.9/0.999", "0.999 − 0.9"))))
    for ax, title, flip, rows in effects:
        for q, (a_, c_, label) in enumerate(rows):
            if a_ not in pairs or c_ not in pairs:
                continue
            v = _effect_curve(ds, a_, c_)
            ax.errorbar(bs * (1 + 0.05 * q), v[:, 0], yerr=[v[:, 0] - v[:, 1], v[:, 2] - v[:, 0]],
                        marker="os"[q], capsize=2, label=label)
        ax.axhline(0, color="k", lw=0.7)
        ax.axvline(ds.attrs[flip], color="C3", lw=1, ls="--", label="predicted flip")
        ax.set_xscale("log")
        value_ticks(ax, bs)
        ax.set(xlabel="batch size b", ylabel="Δ best test loss, tuned lr (90 % CI)", title=title)
        ax.legend(fontsize=6.5)
    ax = axes[1, 2]
    rho = []
    for b in bs:
        e = measure_ctotal_correlation(ds, b, resamples=300)
        lo, hi = (np.quantile(e.samples, [0.05, 0.95]) if e.samples.size else (np.nan, np.nan))
        rho.append([e.value, lo, hi])
    rho = np.array(rho)
    ax.errorbar(bs, rho[:, 0], yerr=[rho[:, 0] - rho[:, 1], rho[:, 2] - rho[:, 0]], marker="s",
                capsize=2, label="C_total vs −best test loss (tuned lr)")
    ax.axhline(0, color="k", lw=0.7)
    ax.set_xscale("log")
    value_ticks(ax, bs)
    ax.set(xlabel="batch size b", ylabel="Spearman ρ over (β1, β2) (90 % CI, pairs resampled)",
           title="does higher C_total mean better generalization?", ylim=(-1.05, 1.05))
    ax.legend(fontsize=7)
    paper_title(fig, "cattaneo", "§3 (Eq. 7–8, Lemmas 3.4–3.7)",
                "does Adam's implicit bias (C_total) mean flatter minima and a lower test loss? "
                "A diagonal linear network")
    return save_figure(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline, seeds=(8, 3),
                        backend="numba")


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
