"""The rest of Srećković et al. 2025 on the 9-d toy: momentum, clipping and budgets against B.

The paper's LM findings (§2.2–2.3, App. C, D, G.2), each tested on the toy quadratics of its
App. I (both Hessians, w0 = 1, linear warmup 5 % + cosine, batches of B ≤ n = 9 drawn *without
replacement* as in the reference toy), with the lr tuned per (method, Hessian, B, budget) on a log
grid of ratio √3 (so that ×1/3 and ×3 of every best lr are grid points):

* **momentum** — "for both SGD and Adam, momentum becomes crucial once the batch size is
  increased" (§2.2): SGD without momentum against SGD with EMA momentum β = 0.95;
* **global-norm clipping** — "at small batch sizes, SGD performs equally well even without
  clipping; at large batch sizes, training diverges if clipping is not employed" (App. C; the LM
  clips the raw gradient at global norm 1.0, "as a first step", and Fig. 11 shows it firing
  occasionally): SGD (β = 0.95) with the raw gradient clipped to ‖g‖ ≤ c = ‖∇L(w0)‖ before the
  momentum. Protocol: the lr that is best *with* clipping, rerun *without* clipping on the same
  batches — the unclipped SGD β = 0.95 run of the same grid point and seed stream, since both
  share the grid and every method of a cell shares its batches. How often the clip fires at that
  lr is counted by replaying the clipped runs step by step (``clip_fractions``);
* **adaptive momentum clipping** (Alg. 1, G.2), p = 0.1, heavy ball β = 0.95 — "improves SGD but
  still does not fully match Adam";
* **budgets** (§2.3, Fig. 2, App. D): fixed step counts (500, 2000, 8000 steps for every B) and
  fixed token budgets (1000 and 4000 samples: steps = tokens/B). Paper: at a fixed token budget
  the gap grows with B (SGD degrades, Adam improves); at a fixed step count the gap grows with B;
  at a small B SGD matches Adam given enough steps (Fig. 2 right).

The token-budget claim presumes B below the critical batch size: past it, a fixed number of
samples buys fewer useful steps. The toy's critical batch size is B_noise = tr(HΣ)/(GᵀHG) of
McCandlish et al. (``simlab.theory.noise_scale``), = n − 1 = 8 at every w for these data
quadratics; without replacement a batch of B carries the noise of an i.i.d. batch of
B_eff = B(n − 1)/(n − B), so B_eff < B_noise ⇔ B < n/2. Both are stored (``b_noise``,
``b_effective``) and ``check_below_critical_batch`` reads them.

Adam is β1 = β2 = 0.95, ε = 1e-8, no bias correction (the toy's setting). The Dataset keeps the
final loss of every run (method, Hessian, B, budget, lr, seed; float32, +inf where it diverged)
and the per-cell summaries the report and the figure print (median at the best lr with a 90 %
bootstrap interval).
"""
from __future__ import annotations

import json
import warnings
import zlib

import numpy as np
import xarray as xr

from experiments._harness import Experiment
from experiments._peaks import bootstrap_indices, bootstrap_median_interval
from simlab import _checks, optim, problems, schedules, simulate
from simlab import random as rnd
from simlab.plotting import COLORS, log_ticks, paper_title, plt, save_figure, style, value_ticks
from simlab.theory.noise_scale import noise_scale

NAME = "gap_knobs"
HESSIANS = ("homogeneous", "heterogeneous")
N_SAMPLES = 9
BETA = 0.95
CLIP = 1.0                  # clip threshold in units of ‖∇L(w0)‖
METHODS = {
    "sgd_b0": "SGD β=0", "sgd_b0.95": "SGD β=0.95", "adam": "Adam (0.95, 0.95)",
    "amc_p0.1": "SGD+adaptive clip p=0.1", "gclip": f"SGD β=0.95 + global clip {CLIP:g}·‖∇L(w0)‖",
}
ROOT3 = np.sqrt(3.0)
GRIDS = {"sgd": 1e-6 * ROOT3 ** np.arange(23), "adam": 1e-5 * ROOT3 ** np.arange(23),
         "amc": 1e-7 * ROOT3 ** np.arange(23)}
# budgets by role (the claims name roles, so they measure a --quick result too): fixed steps for
# every B, or fixed samples ("tokens": steps = samples // B)
FULL = {"batch_sizes": [1, 2, 4, 8],
        "budgets": {"steps_short": ["steps", 500], "steps_mid": ["steps", 2000],
                    "steps_long": ["steps", 8000], "tokens_small": ["tokens", 1000],
                    "tokens_large": ["tokens", 4000]}}
QUICK = {"batch_sizes": [1, 4, 8],
         "budgets": {"steps_short": ["steps", 100], "steps_mid": ["steps", 200],
                     "steps_long": ["steps", 400], "tokens_small": ["tokens", 200],
                     "tokens_large": ["tokens", 800]}}


def grid_for(method: str) -> np.ndarray:
    """The lr grid of ``method``: global clipping shares SGD's grid, so its best lr is a point of
    the unclipped SGD run (the rerun without clipping)."""
    return GRIDS["sgd" if method.startswith(("sgd", "gclip")) else method.split("_")[0]]


def clip_threshold(problem) -> float:
    return CLIP * float(np.linalg.norm(problem.gradient(problem.w0)))


def optimizer_for(method: str, problem=None):
    """The optimizer of ``method``; global-norm clipping needs the problem (its threshold is
    ``CLIP``·‖∇L(w0)‖)."""
    if method.startswith("sgd_b"):
        return optim.sgd(float(method[5:]), ema=float(method[5:]) > 0)
    if method == "adam":
        return optim.adam(BETA, BETA, eps=1e-8, bias_correction=False)
    if method.startswith("amc_p"):
        # Alg. 1 is heavy ball (m ← βm + g); its lr grid sits 1/(1 − β) = 20× below EMA SGD's
        return optim.clipped_momentum(BETA, float(method[5:]))
    if method == "gclip":
        if problem is None:
            raise ValueError(f"method={method!r} needs the problem for its clipping threshold")
        # App. B: "global norm clipping … on the raw gradient, before applying momentum"
        return optim.with_global_norm_clipping(optim.sgd(BETA, ema=True), clip_threshold(problem))
    raise ValueError(f"method={method!r} is not one of {sorted(METHODS)}")


def budget_steps(kind: str, amount: int, batch_size: int) -> int:
    """Steps of a budget: ("steps", 500) → 500; ("tokens", 4000) → 4000 // B."""
    if kind == "steps":
        return int(amount)
    if kind == "tokens":
        return max(1, int(amount) // batch_size)
    raise ValueError(f"kind={kind!r} is not one of 'steps', 'tokens'")


def cell_seed(hessian: str, batch_size: int, budget) -> int:
    """One seed stream per (Hessian, B, budget), shared by every method: common random numbers,
    and the clipped and unclipped SGD runs see the same batches."""
    return zlib.crc32(f"{hessian}|{batch_size}|{budget}".encode())


def divergence_limit(problem) -> float:
    """The loss above which ``simulate`` declares a run diverged: 1e4·max(L(w0), ½ tr H)."""
    return 1e4 * max(float(problem.loss(problem.w0)), problem.loss_scale())


def clip_fractions(problem, optimizer, lr: float, batch_size: int, steps: int, seeds: int,
                   seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Replay the clipped runs of ``simulate(problem, optimizer, lr, batch_size, steps, seeds,
    seed=seed, sampling='without_replacement', schedule=warmup_cosine(0.05))`` step by step (same
    batches: the counter-based streams of ``simlab.random``) and count the steps at which the raw
    batch gradient exceeded the threshold: (fraction of steps clipped, final loss) per seed.
    A run is diverged (final loss +inf) when its final loss is NaN or > 1e4·max(L(w0), ½ tr H),
    the engine's test at its only record after the start (``record_every = steps``)."""
    keys = rnd.run_keys(seed, seeds)
    mult = schedules.warmup_cosine(0.05)(steps)
    w = np.broadcast_to(problem.w0, (1, seeds, problem.dim)).copy()
    state = optimizer.init(w)
    fired = np.zeros(seeds)
    with np.errstate(all="ignore"):
        for k in range(steps):
            g = problem.sample_gradients(w, rnd.batch_without_replacement(
                keys, k, problem.n_samples, batch_size)).mean(axis=2)
            fired += (np.linalg.norm(g, axis=-1) > optimizer.max_grad_norm)[0]
            step, state = optimizer.update(g, state, lr * mult[k])
            w = w + step
        final = problem.loss(w)[0]
    limit = 1e4 * max(float(problem.loss(problem.w0)), problem.loss_scale())
    return fired / steps, np.where(final <= limit, final, np.inf)


def cell(spec: dict) -> xr.Dataset:
    """One (method, Hessian, B, budget): final loss (lr, seed) over the method's lr grid (+inf
    where a run diverged); for ``gclip`` also the clip frequency at its best lr."""
    prob = problems.block_quadratic(spec["hessian"], 0)
    method, b = spec["knob"], spec["batch_size"]
    steps = budget_steps(*spec["budget"], b)
    lrs = grid_for(method)
    opt = optimizer_for(method, prob)
    res = simulate(prob, opt, lr=lrs, batch_size=b, steps=steps, seeds=spec["seeds"],
                   schedule=schedules.warmup_cosine(0.05), sampling="without_replacement",
                   record_every=steps, backend=spec["backend"], seed=spec["seed"])
    final = np.where(res.diverged.values, np.inf, res.loss.values[:, :, -1])
    out = {"final": (("lr_index", "seed"), final.astype(np.float32))}
    if method == "gclip":
        best = int(np.argmin(np.median(final, axis=1)))
        fraction, _ = clip_fractions(prob, opt, float(lrs[best]), b, steps, spec["seeds"],
                                     spec["seed"])
        out["clip_fraction"] = ("seed", fraction.astype(np.float32))
    return xr.Dataset(out)


def resolve(args) -> dict:
    size = QUICK if args.quick else FULL
    return {"methods": list(METHODS), "hessians": list(HESSIANS),
            "batch_sizes": size["batch_sizes"], "budgets": size["budgets"],
            "seeds": _checks.integer("seeds", args.seeds, lo=2),      # a bootstrap needs 2
            "backend": args.backend}


def warmup(backend):
    prob = problems.block_quadratic("heterogeneous", 0)
    for m in METHODS:
        simulate(prob, optimizer_for(m, prob), 1e-4, 3, 2, 1, backend=backend)


CELL_DIMS = ("knob", "hessian", "batch_size", "budget")


def compute(config: dict, cells) -> xr.Dataset:
    keys = [(m, h, b, g) for m in config["methods"] for h in config["hessians"]
            for b in config["batch_sizes"] for g in config["budgets"]]
    budgets = config["budgets"]
    specs = [{"knob": m, "hessian": h, "batch_size": b, "budget": budgets[g],
              "seeds": config["seeds"], "backend": config["backend"],
              "seed": cell_seed(h, b, budgets[g])} for m, h, b, g in keys]
    warm = [] if config["backend"] == "numpy" else [(warmup, (config["backend"],))]
    out = cells.map(cell, specs, warmups=warm, label="cells")
    names = list(budgets)
    shape = (len(config["methods"]), len(config["hessians"]), len(config["batch_sizes"]),
             len(names))
    n_lr = len(grid_for(config["methods"][0]))
    final = np.full(shape + (n_lr, config["seeds"]), np.nan, np.float32)
    lrs = np.stack([grid_for(m) for m in config["methods"]])
    clip = np.full(shape[1:] + (config["seeds"],), np.nan, np.float32)
    for (m, h, b, g), ds in zip(keys, out):
        ix = (config["methods"].index(m), config["hessians"].index(h),
              config["batch_sizes"].index(b), names.index(g))
        final[ix] = ds["final"].values
        if m == "gclip":
            clip[ix[1:]] = ds["clip_fraction"].values
    with np.errstate(invalid="ignore"):
        score = np.median(final.astype(float), axis=-1)         # diverged = +inf counts against
    best = np.argmin(score, axis=-1)
    at_best = np.take_along_axis(final, best[..., None, None], axis=-2)[..., 0, :].astype(float)
    n_div = np.isinf(at_best).sum(-1)
    finite = np.where(np.isfinite(at_best), at_best, np.nan)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN (all-diverged) cells
        med = np.where(n_div == at_best.shape[-1], np.inf, np.nanmedian(finite, axis=-1))
    lo, hi = bootstrap_median_interval(finite, draws=1000, level=0.9, seed=0)
    probs = {h: problems.block_quadratic(h, 0) for h in config["hessians"]}
    n = N_SAMPLES
    b_eff = [b * (n - 1) / (n - b) if b < n else np.inf for b in config["batch_sizes"]]
    return xr.Dataset(
        {"final": (CELL_DIMS + ("lr_index", "seed"), final,
                   {"long_name": "final loss of every run (+inf: diverged)"}),
         "lr": (("knob", "lr_index"), lrs),
         "clip_fraction": (CELL_DIMS[1:] + ("seed",), clip,
                           {"long_name": "fraction of steps whose raw gradient was clipped "
                                         "(gclip at its best lr)"}),
         "median": (CELL_DIMS, med), "median_lo": (CELL_DIMS, lo), "median_hi": (CELL_DIMS, hi),
         "best_lr": (CELL_DIMS, lrs[np.arange(shape[0])[:, None, None, None], best]),
         "best_lr_on_edge": (CELL_DIMS, (best == 0) | (best == n_lr - 1)),
         "diverged_at_best": (CELL_DIMS, n_div.astype(np.int32)),
         "steps": (("batch_size", "budget"), np.array(
             [[budget_steps(*budgets[g], b) for g in names] for b in config["batch_sizes"]],
             np.int32)),
         "b_noise": ("hessian", [noise_scale(probs[h], probs[h].w0) for h in config["hessians"]],
                     {"long_name": "McCandlish B_noise = tr(HΣ)/(GᵀHG) at w0"}),
         "b_effective": ("batch_size", b_eff,
                         {"long_name": "i.i.d. batch of the same noise: B(n-1)/(n-B)"}),
         "clip_threshold": ("hessian", [clip_threshold(probs[h]) for h in config["hessians"]]),
         "divergence_limit": ("hessian", [divergence_limit(probs[h]) for h in config["hessians"]],
                              {"long_name": "loss above which a run counts as diverged"})},
        coords={"knob": config["methods"], "hessian": config["hessians"],
                "batch_size": config["batch_sizes"], "budget": names,
                "budget_kind": ("budget", [budgets[g][0] for g in names]),
                "budget_amount": ("budget", [int(budgets[g][1]) for g in names]),
                "lr_index": np.arange(n_lr), "seed": np.arange(config["seeds"])})


# -- the quantities the claims are decided on (experiments/claims.py) ----------------------------

def _log_final(ds, **sel) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log10(ds["final"].sel(**sel).astype(float).values)


def _tuned(ds, cells: list[dict], contrast: tuple, budgets: list[str]):
    """A ``Tuned`` comparison of (knob, hessian, batch_size) cells at each budget of ``budgets``:
    metric (setting, budget, lr, seed) = log10 final loss, diverged = +inf."""
    from simlab.verdict import Tuned
    metric = np.stack([np.stack([_log_final(ds, budget=g, **c) for g in budgets]) for c in cells])
    lrs = np.stack([ds["lr"].sel(knob=c["knob"]).values for c in cells])
    labels = tuple(f"{METHODS[c['knob']]} B={c['batch_size']}" for c in cells)
    return Tuned(metric=metric, lrs=lrs, settings=labels, contrast=tuple(contrast),
                 budgets=tuple(budgets))


def measure_gap_growth(ds, budgets: list[str], small: int, large: int,
                       hessian: str = "heterogeneous"):
    """How much the SGD/Adam gap grows from B = ``small`` to B = ``large``:
    [log10 L_SGD − log10 L_Adam](large) − [same](small), SGD with EMA momentum β = 0.95, each at
    its tuned lr, at every budget of ``budgets``. Positive: the gap grows with B."""
    cells = [{"knob": k, "hessian": hessian, "batch_size": b}
             for b in (small, large) for k in ("sgd_b0.95", "adam")]
    return _tuned(ds, cells, (-1.0, 1.0, 1.0, -1.0), budgets)


def measure_batch_change(ds, knob: str, budgets: list[str], small: int, large: int,
                         hessian: str = "heterogeneous"):
    """log10 L(B = small) − log10 L(B = large) of ``knob`` at its tuned lr per budget; positive:
    it improves with B at that budget."""
    cells = [{"knob": knob, "hessian": hessian, "batch_size": b} for b in (small, large)]
    return _tuned(ds, cells, (1.0, -1.0), budgets)


def measure_pair(ds, first: str, second: str, batch_size: int, budgets: list[str],
                 hessian: str = "heterogeneous"):
    """log10 L_first − log10 L_second at B = ``batch_size``, each at its tuned lr, per budget;
    negative: ``first`` reaches the lower loss."""
    cells = [{"knob": k, "hessian": hessian, "batch_size": batch_size} for k in (first, second)]
    return _tuned(ds, cells, (1.0, -1.0), budgets)


def measure_momentum_gain_growth(ds, budgets: list[str], small: int, large: int,
                                 hessian: str = "heterogeneous"):
    """How much more momentum (EMA β = 0.95 against none) gains at B = ``large`` than at
    ``small``: [log10 L_β=0 − log10 L_β=0.95](large) − [same](small), each at its tuned lr.
    Positive: momentum matters more at the larger batch."""
    cells = [{"knob": k, "hessian": hessian, "batch_size": b}
             for b in (small, large) for k in ("sgd_b0", "sgd_b0.95")]
    return _tuned(ds, cells, (-1.0, 1.0, 1.0, -1.0), budgets)


def clip_rerun(ds, batch_size: int, budget: str, hessian: str = "heterogeneous") -> dict:
    """The clipping protocol at one cell: the lr that is best with clipping (median final loss,
    diverged = +inf), the final losses per seed with clipping and without it at that lr (the
    unclipped run is SGD β = 0.95 at the same grid point on the same batches), and how often
    the clip fired."""
    sel = dict(hessian=hessian, batch_size=batch_size, budget=budget)
    clipped = ds["final"].sel(knob="gclip", **sel).astype(float).values
    with np.errstate(invalid="ignore"):
        best = int(np.argmin(np.median(clipped, axis=1)))
    return {"lr": float(ds["lr"].sel(knob="gclip").values[best]), "lr_index": best,
            "clipped": clipped[best],
            "unclipped": ds["final"].sel(knob="sgd_b0.95", **sel).astype(float).values[best],
            "clip_fraction": ds["clip_fraction"].sel(**sel).astype(float).values}


def measure_unclipped_divergence(ds, batch_size: int, budget: str,
                                 hessian: str = "heterogeneous"):
    """Fraction of seeds that diverge when the clip is removed at the lr that is best with it
    (per-seed 0/1 values; the rule bootstraps their mean)."""
    from simlab.verdict import Estimate
    run = clip_rerun(ds, batch_size, budget, hessian)
    diverged = np.isinf(run["unclipped"]).astype(float)
    return Estimate(samples=diverged, value=float(diverged.mean()), per_seed=True,
                    n_seeds=diverged.size)


def measure_unclipped_penalty(ds, batch_size: int, budget: str, hessian: str = "heterogeneous"):
    """log10 of the median final loss without clipping over the median with it, at the lr that
    is best with clipping (same batches; bootstrap replicates resample the seeds jointly). 0:
    removing the clip changes nothing. A diverged run enters at the divergence limit
    (``divergence_limit``, stored), a lower bound on its loss, so the ratio stays finite and is
    itself a lower bound where runs diverge."""
    from simlab.verdict import Estimate
    run = clip_rerun(ds, batch_size, budget, hessian)
    limit = float(ds["divergence_limit"].sel(hessian=hessian))
    pair = np.minimum(np.stack([run["unclipped"], run["clipped"]]), limit)
    idx = bootstrap_indices(pair.shape[1], 2000, seed=0)
    reps = np.log10(np.median(pair[0][idx], axis=1) / np.median(pair[1][idx], axis=1))
    value = float(np.log10(np.median(pair[0]) / np.median(pair[1])))
    return Estimate(samples=reps, value=value, n_seeds=pair.shape[1])


def check_below_critical_batch(ds, budgets=None, small: int = 1, large: int = 1,
                               hessian: str = "heterogeneous", **_) -> str | None:
    """The fixed-token-budget claim's assumption: every compared B is below the toy's critical
    batch size, B_eff = B(n−1)/(n−B) < B_noise (both stored). None when it is, else the
    violated assumption in one line."""
    b_noise = float(ds["b_noise"].sel(hessian=hessian))
    for b in (small, large):
        b_eff = float(ds["b_effective"].sel(batch_size=b))
        if not b_eff < b_noise:
            return (f"B={b} (noise of an i.i.d. batch of {b_eff:.3g}) is not below the toy's "
                    f"critical batch size B_noise={b_noise:.3g}")
    return None


# -- report and figure ---------------------------------------------------------------------------

def _cell(ds, m, h, b, g):
    sel = ds.sel(knob=m, hessian=h, batch_size=b, budget=g)
    return (f"{float(sel['median']):8.2e} ({float(sel.median_lo):.1e}–{float(sel.median_hi):.1e})"
            f"@{float(sel.best_lr):.0e}{'*' if bool(sel.best_lr_on_edge) else ''}")


def budget_label(ds, budget) -> str:
    kind = str(ds.budget_kind.sel(budget=budget).values)
    amount = int(ds.budget_amount.sel(budget=budget))
    return f"{amount} steps" if kind == "steps" else f"{amount} samples (steps = {amount}/B)"


def report(ds: xr.Dataset) -> str:
    cfg = json.loads(ds.attrs["config"])
    lines = [f"Final loss: median over {cfg['seeds']} seeds at the best lr (90 % bootstrap CI of "
             "the median) @lr (* = the best lr is on the edge of its grid); batches without "
             f"replacement from n = {N_SAMPLES}"]
    bs = [int(b) for b in ds.batch_size.values]
    for g in ds.budget.values:
        for h in ds.hessian.values:
            lines += ["", f"[{budget_label(ds, g)}, {h} Hessian]",
                      f"{'method':40s} " + " ".join(f"{'B=' + str(b):>30s}" for b in bs)]
            for m in ds.knob.values:
                lines.append(f"{METHODS[str(m)]:40s} " + " ".join(
                    f"{_cell(ds, m, h, b, g):>30s}" for b in bs))
            ratio = (ds["median"].sel(knob="sgd_b0.95", hessian=h, budget=g)
                     / ds["median"].sel(knob="adam", hessian=h, budget=g))
            lines.append(f"{'SGD β=0.95 / Adam':40s} " + " ".join(f"{float(r):>30.3g}"
                                                               for r in ratio.values))
    lines += ["", f"Clipping at c = {CLIP:g}·‖∇L(w0)‖ (the lr best with clipping, rerun without): "
                  "diverged without / with, clip fires on (mean) % of steps"]
    for h in ds.hessian.values:
        for g in ds.budget.values:
            parts = []
            for b in bs:
                run = clip_rerun(ds, b, str(g), str(h))
                parts.append(f"B={b} @{run['lr']:.1e}: {int(np.isinf(run['unclipped']).sum())}/"
                             f"{int(np.isinf(run['clipped']).sum())}, "
                             f"{100 * np.nanmean(run['clip_fraction']):.1f} %")
            lines.append(f"  {h[:3]} {budget_label(ds, g):38s} " + "; ".join(parts))
    lines.append(f"B_noise at w0 = {', '.join(f'{float(v):.3g}' for v in ds.b_noise.values)}; "
                 f"B_eff = B(n-1)/(n-B): " + ", ".join(
                     f"B={b}: {float(e):.3g}" for b, e in zip(bs, ds.b_effective.values)))
    lines.append("diverged runs at the chosen lrs: "
                 f"{int(ds.diverged_at_best.sum())} of {ds.diverged_at_best.size * cfg['seeds']}")
    from experiments.verdicts import verdict_lines
    lines += ["", "Claims (experiments/claims.py), decided by simlab.verdict.decide:",
              verdict_lines(ds)]
    return "\n".join(lines)


def headline(ds: xr.Dataset) -> str:
    b = int(ds.batch_size.values[-1])
    parts = []
    for g in ds.budget.values:
        r = float(ds["median"].sel(knob="sgd_b0.95", hessian="heterogeneous", budget=g,
                                   batch_size=b) /
                  ds["median"].sel(knob="adam", hessian="heterogeneous", budget=g, batch_size=b))
        parts.append(f"{g}: het SGD/Adam at B={b} {r:.3g}")
    return "; ".join(parts)


def plot(ds: xr.Dataset, out) -> list:
    style()
    fig, axes = plt.subplots(len(ds.budget), len(ds.hessian),
                             figsize=(11, 2.6 * len(ds.budget) + 0.8), squeeze=False,
                             layout="constrained")
    bs = ds.batch_size.values
    styles = {"sgd_b0": ("C0", ":"), "sgd_b0.95": ("C0", "-"), "adam": (COLORS["adam"], "-"),
              "amc_p0.1": (COLORS["clipped_momentum"], "-"), "gclip": ("C8", "--")}
    for r, g in enumerate(ds.budget.values):
        for c, h in enumerate(ds.hessian.values):
            ax = axes[r, c]
            for m in ds.knob.values:
                sel = ds.sel(knob=m, hessian=h, budget=g)
                color, ls = styles[str(m)]
                ax.plot(bs, sel["median"], marker="o", ms=3, color=color, ls=ls,
                        label=METHODS[str(m)])
                ax.fill_between(bs, sel.median_lo, sel.median_hi, color=color, alpha=0.15, lw=0)
            ax.set_xscale("log")
            log_ticks(ax, "y")
            value_ticks(ax, bs)
            ax.set(xlabel=f"batch size B (without replacement from n = {N_SAMPLES})",
                   ylabel="final loss (median, 90 % CI)",
                   title=f"{h}, {budget_label(ds, g)}")
    axes[0, 0].legend(fontsize=6.5, ncol=2)
    paper_title(fig, "sreckovic", "§2.2–2.3, App. C, D, G.2",
                "momentum, clipping and budgets against batch size on the 9-d toy (lr retuned per "
                "cell)")
    return save_figure(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline, seeds=(48, 6),
                        backend="numba")


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
