"""The Adam–SGD batch-size gap on the 9-d toy quadratics (Srećković et al. 2025, Fig. 17).

    python -m experiments.quadratic_gap [--quick] [--protocol {paper,retuned}] [--batch-sizes 1-9]
        [--sampling {without_replacement,with_replacement,replicate}] [--hessian-seed 0]
        [--backend numba] [--seeds 10] [--out figures/] [--no-cache] [--scheduler ADDR]

Setting (Srećković et al. 2025 App. I, via the Orvieto & Gower 2025 notebook; see
docs/reference/gap_quadratic.md §1): L(w) = ½ wᵀHw on the homogeneous and heterogeneous 9×9
block Hessians (one draw, ``--hessian-seed``, default 0), mini-batch gradients of the data
x_i = √n √λ_i u_i, w0 = 1, 500 steps, linear warmup over 5 % of the steps then cosine decay,
and, all with β = 0.95:

    SGD + EMA momentum  m ← βm + (1−β)g,  w ← w − η_k m
    Signum              m ← βm + (1−β)g,  w ← w − η_k sign(m)
    Adam (β1 = β2 = β, ε = 1e-8, no bias correction)

Protocols (how the peak lr η is chosen; score = median over seeds of the final loss, diverged
runs = +inf, see ``simlab.sweep.best_lr``):
* ``paper``: per optimizer, the best η of the reference grid (SGD {3e-5, 1e-4, 3e-4}; Adam,
  Signum {3e-3, 1e-2, 3e-2}) at homogeneous B = 1, then held fixed for every B and both Hessians
  (the Fig. 17 caption: "tuned to give similar performance at Homogeneous batch size 1").
* ``retuned``: the best η per (optimizer, Hessian, B) from a log grid of ratio √3 (19 points):
  SGD 1e-5..0.2, Adam and Signum 1e-4..2.

Sampling: ``without_replacement`` (the reference; B ≤ 9), ``with_replacement``, or ``replicate``
(the 9 samples repeated m = ⌈max B / 9⌉ times, drawn without replacement, so B > 9 is possible).

Outputs ``OUT/quadratic_gap.{png,pdf,nc}`` (``quadratic_gap_retuned.*`` for the retuned protocol).
The .nc is compact: the final loss of every run (optimizer, Hessian, B, lr, seed; float32, +inf
where a run diverged), the chosen lrs, the statistics the report prints and the median/IQR loss
trajectories at the chosen lr drawn in the step panels. The ``measure_*`` functions turn it into
the measurements of the claims in ``experiments/claims.py``. Each (optimizer, Hessian, B) cell is cached on its own (``OUT/.cache``), so a second run
with the same configuration only redraws and an interrupted one resumes.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import xarray as xr

from experiments._cli import int_list
from experiments._harness import Experiment
from experiments._peaks import bootstrap_indices, bootstrap_median_interval
from simlab import _checks, optim, plotting, problems, schedules
from simlab.sweep import Sweep, best_lr, select_lr

NAME = "quadratic_gap"
HESSIANS = ("homogeneous", "heterogeneous")
OPTIMIZERS = ("sgd", "signum", "adam")
LABELS = {"sgd": "SGD (EMA momentum)", "signum": "Signum", "adam": "Adam"}
BETA = 0.95
STEPS = 500
PAPER_GRIDS = {"sgd": [3e-5, 1e-4, 3e-4], "signum": [3e-3, 1e-2, 3e-2], "adam": [3e-3, 1e-2, 3e-2]}
# ratio √3 between neighbours, so that ×1/3 and ×3 of every best lr are grid points (the verdict
# rule's lr-sensitivity check); one length for all, so the settings of a comparison stack
RETUNED_GRIDS = {"sgd": (1e-5 * np.sqrt(3.0) ** np.arange(19)).tolist(),
                 "signum": (1e-4 * np.sqrt(3.0) ** np.arange(19)).tolist(),
                 "adam": (1e-4 * np.sqrt(3.0) ** np.arange(19)).tolist()}
TUNE_AT = {"hessian": "homogeneous", "batch_size": 1}
FULL_BATCH_SIZES = list(range(1, 10))
QUICK_BATCH_SIZES = [1, 3, 9]
QUICK_SEEDS = 5
FULL_SEEDS = 200          # the paper shows 10 runs; 200 make the B < 9 medians' 90 % intervals
BOOTSTRAP = 2000          # narrower than the reference's draw-to-draw ranges (issue 12, item 7)
SAMPLINGS = ("without_replacement", "with_replacement", "replicate")


def arguments(parser):
    parser.add_argument("--protocol", choices=("paper", "retuned"), default="paper",
                        help="paper: lrs tuned once at homogeneous B=1 (default); "
                             "retuned: best lr per (optimizer, Hessian, B)")
    parser.add_argument("--batch-sizes", type=int_list, default=None,
                        help="batch sizes, e.g. '1-9' or '1,3,9' (default 1-9; --quick: 1,3,9)")
    parser.add_argument("--sampling", choices=SAMPLINGS, default="without_replacement",
                        help="mini-batch sampling (default without_replacement, B <= 9)")
    parser.add_argument("--hessian-seed", type=int, default=0,
                        help="seed of the Hessian draw (default 0)")


def resolve_config(args) -> dict:
    """Every setting that determines the results, validated (ValueError naming the argument)."""
    batch_sizes = args.batch_sizes or (QUICK_BATCH_SIZES if args.quick else FULL_BATCH_SIZES)
    batch_sizes = sorted(set(batch_sizes))
    seeds = _checks.integer("seeds", args.seeds, lo=2)               # a bootstrap needs 2
    hessian_seed = _checks.integer("hessian_seed", args.hessian_seed, lo=0)
    replicate = math.ceil(max(batch_sizes) / 9) if args.sampling == "replicate" else 1
    config = {
        "protocol": args.protocol, "batch_sizes": batch_sizes, "seeds": seeds,
        "steps": STEPS, "sampling": args.sampling, "replicate": replicate,
        "hessian_seed": hessian_seed, "backend": args.backend,
        "lrs": PAPER_GRIDS if args.protocol == "paper" else RETUNED_GRIDS,
        "record_every": 10, "beta": BETA, "warmup": 0.05,
    }
    build_sweep(config).validate()                     # every cell checked before any work
    if config["protocol"] == "paper" and 1 not in config["batch_sizes"]:
        raise ValueError(f"batch_sizes={config['batch_sizes']} must include 1 for protocol='paper' "
                         "(the lrs are tuned at homogeneous B=1)")
    return config


def build_sweep(config: dict) -> Sweep:
    probs = {kind: problems.block_quadratic(kind, config["hessian_seed"],
                                            replicate=config["replicate"]) for kind in HESSIANS}
    beta = config["beta"]
    opts = {"sgd": optim.sgd(beta, ema=True), "signum": optim.signum(beta),
            "adam": optim.adam(beta, beta, eps=1e-8, bias_correction=False)}
    sampling = "without_replacement" if config["sampling"] == "replicate" else config["sampling"]
    return Sweep(probs, opts, config["lrs"], config["batch_sizes"], config["steps"],
                 seeds=config["seeds"], schedule=schedules.warmup_cosine(config["warmup"]),
                 sampling=sampling, record_every=config["record_every"],
                 backend=config["backend"])


def choose_lrs(ds, protocol: str):
    """(results at the chosen lr per cell, chosen lr Dataset) for the protocol."""
    if protocol == "paper":
        chosen = best_lr(ds.sel(**TUNE_AT))
    else:
        chosen = best_lr(ds)
    return select_lr(ds, chosen["lr_index"]), chosen


def final_stats(final, diverged):
    """median, q25, q75 over seeds of the final loss (diverged runs excluded) and the count of
    diverged runs, from (optimizer, hessian, batch_size, seed) arrays."""
    med, q25, q75 = plotting.median_iqr(final, axis=-1)
    return med, q25, q75, diverged.sum(-1)


def gap_ratios(ds) -> dict:
    """SGD/Adam ratio of median final losses at the largest B, per Hessian (from the stored
    ``final_median``)."""
    med = ds["final_median"]
    return {str(h): float(med.sel(optimizer="sgd", hessian=h).isel(batch_size=-1)
                          / med.sel(optimizer="adam", hessian=h).isel(batch_size=-1))
            for h in ds["hessian"].values}


CELL_DIMS = ("optimizer", "hessian", "batch_size")
RUN_DIMS = CELL_DIMS + ("lr_index", "seed")


def compute(config: dict, cells) -> xr.Dataset:
    """The sweep (one cached cell per optimizer × Hessian × B), stored compactly: the final loss
    of every run (``final_loss``, float32, +inf where the run diverged) over the whole lr grid,
    the protocol's chosen lr per cell, the final-loss statistics the report prints, and — for the
    step panels of the figure only — the median and IQR over seeds of the loss trajectory at the
    chosen lr, at the panel batch sizes."""
    ds = cells.sweep(build_sweep(config))
    sel, chosen = choose_lrs(ds, config["protocol"])
    shape = sel["loss"].isel(seed=0, step=0).transpose(*CELL_DIMS)
    lr_index = _drop_scalar_coords(chosen["lr_index"]).broadcast_like(shape).transpose(*CELL_DIMS)
    div = sel["diverged"].transpose(*CELL_DIMS, "seed").values
    final = np.where(div, np.nan, sel["loss"].isel(step=-1).transpose(*CELL_DIMS, "seed").values)
    med, q25, q75, n_div = final_stats(final, div)
    ci_lo, ci_hi = bootstrap_median_interval(final, draws=BOOTSTRAP, level=0.9, seed=0)
    every = ds["loss"].isel(step=-1).transpose(*RUN_DIMS).values
    every = np.where(ds["diverged"].transpose(*RUN_DIMS).values, np.inf, every)
    panel_bs = step_panel_batch_sizes([int(b) for b in ds["batch_size"].values])
    traj = sel["loss"].sel(batch_size=panel_bs).transpose(*CELL_DIMS, "seed", "step").values
    panel = np.stack(plotting.median_iqr(traj, axis=3), axis=3)   # (o, h, b, quantile, step)
    out = xr.Dataset(
        {"final_loss": (RUN_DIMS, every.astype(np.float32),
                        {"long_name": "final full-batch loss of every run (+inf: diverged)"}),
         "lr_value": ds["lr_value"],
         "chosen_lr_index": lr_index.astype(np.int32),
         "chosen_lr": (CELL_DIMS, sel["lr"].broadcast_like(shape).transpose(*CELL_DIMS).values),
         "final_median": (CELL_DIMS, med), "final_q25": (CELL_DIMS, q25),
         "final_q75": (CELL_DIMS, q75),
         "final_median_ci_lo": (CELL_DIMS, ci_lo), "final_median_ci_hi": (CELL_DIMS, ci_hi),
         "diverged_count": (CELL_DIMS, n_div.astype(np.int32)),
         "panel_loss": (("optimizer", "hessian", "panel_batch_size", "quantile", "step"),
                        panel.astype(np.float32),
                        {"long_name": "loss at the chosen lr: median, q25, q75 over seeds"})},
        coords={"optimizer": ds["optimizer"], "hessian": ds["hessian"],
                "batch_size": ds["batch_size"], "lr_index": ds["lr_index"],
                "seed": ds["seed"], "step": ds["step"], "panel_batch_size": panel_bs,
                "quantile": ["median", "q25", "q75"]},
        attrs={k: v for k, v in ds.attrs.items()})
    ratios = gap_ratios(out)
    return out.assign(gap_ratio=("hessian", [ratios[str(h)] for h in out["hessian"].values],
                                 {"long_name": "SGD/Adam median final loss at the largest B"}))


def _drop_scalar_coords(da: xr.DataArray) -> xr.DataArray:
    return da.drop_vars([c for c in da.coords if c not in da.dims])


def selected_final(ds: xr.Dataset) -> xr.DataArray:
    """Final losses (optimizer, hessian, batch_size, seed) at the chosen lr of each cell, nan
    where the run diverged."""
    final = ds["final_loss"].isel(lr_index=ds["chosen_lr_index"]).astype(float)
    return final.where(np.isfinite(final)).transpose(*CELL_DIMS, "seed")


# -- the quantities the claims of Srećković et al. are decided on (experiments/claims.py) --------

def log_final(ds: xr.Dataset) -> xr.DataArray:
    """log10 of every run's final loss (optimizer, hessian, batch_size, lr_index, seed); a
    diverged run is +inf (it is never dropped)."""
    final = ds["final_loss"].astype(float).transpose(*RUN_DIMS)
    with np.errstate(divide="ignore"):
        return np.log10(final)


def _tuned(ds: xr.Dataset, cells: list[dict], labels: tuple, contrast: tuple):
    """A ``Tuned`` comparison of the given (optimizer, hessian, batch_size) cells over their lr
    grids; under the paper protocol each cell's lr is the one it was run at (``fixed_lr``)."""
    from simlab.verdict import Tuned
    logs = log_final(ds)
    metric = np.stack([logs.sel(**c).values for c in cells])              # (setting, lr, seed)
    lrs = np.stack([ds["lr_value"].sel(optimizer=c["optimizer"]).values for c in cells])
    protocol = json.loads(ds.attrs["config"])["protocol"]
    fixed = (np.array([int(ds["chosen_lr_index"].sel(**c)) for c in cells])
             if protocol == "paper" else None)
    return Tuned(metric=metric, lrs=lrs, settings=tuple(labels), contrast=tuple(contrast),
                 fixed_lr=fixed)


def measure_batch_gain(ds: xr.Dataset, optimizer: str, hessian: str, small: int = 1,
                       large: int = 9):
    """How much ``optimizer`` gains from the larger batch: log10 L(B=small) − log10 L(B=large)
    of the final loss (500 steps, Fig. 17), each B at its tuned lr (retuned protocol) or at the
    paper's lr tuned at homogeneous B = 1 (paper protocol). Positive: it improves with B."""
    cells = [{"optimizer": optimizer, "hessian": hessian, "batch_size": b} for b in (small, large)]
    return _tuned(ds, cells, (f"{optimizer} B={small}", f"{optimizer} B={large}"), (1.0, -1.0))


def measure_gap_heterogeneity(ds: xr.Dataset, batch_size: int = 9):
    """The SGD/Adam gap on the heterogeneous Hessian minus that on the homogeneous one, in
    log10 of the final loss at B = ``batch_size``; positive: the gap is larger for heterogeneous."""
    cells = [{"optimizer": o, "hessian": h, "batch_size": batch_size}
             for h in ("heterogeneous", "homogeneous") for o in ("sgd", "adam")]
    labels = tuple(f"{c['optimizer']} {c['hessian'][:3]}" for c in cells)
    return _tuned(ds, cells, labels, (1.0, -1.0, -1.0, 1.0))


def measure_final_median(ds: xr.Dataset, optimizer: str, hessian: str, batch_size: int):
    """log10 of the median over seeds of the final loss at the chosen lr, with its bootstrap
    replicates (seeds resampled; diverged runs excluded as in the report)."""
    from simlab.verdict import Estimate
    final = selected_final(ds).sel(optimizer=optimizer, hessian=hessian,
                                   batch_size=batch_size).values
    idx = bootstrap_indices(final.size, BOOTSTRAP, seed=0)
    with np.errstate(all="ignore"):
        reps = np.log10(np.nanmedian(final[idx], axis=1))
    return Estimate(samples=reps, value=float(np.log10(np.nanmedian(final))),
                    n_seeds=int(final.size))


def report(ds: xr.Dataset) -> str:
    config = json.loads(ds.attrs["config"])
    protocol = config["protocol"]
    opts = [str(o) for o in ds["optimizer"].values]
    hess = [str(h) for h in ds["hessian"].values]
    bs = [int(b) for b in ds["batch_size"].values]
    seeds = ds.sizes["seed"]
    med, q25, q75 = (ds[v].transpose(*CELL_DIMS).values
                     for v in ("final_median", "final_q25", "final_q75"))
    lr = ds["chosen_lr"].transpose(*CELL_DIMS).values
    n_div = ds["diverged_count"].transpose(*CELL_DIMS).values
    ci_lo, ci_hi = (ds[v].transpose(*CELL_DIMS).values
                    for v in ("final_median_ci_lo", "final_median_ci_hi"))
    lines = [f"final loss after {int(ds['step'].values[-1])} steps over {seeds} seeds, protocol "
             f"{protocol}: median (90 % bootstrap CI",
             "of the median) [q25, q75] at the chosen lr; diverged runs excluded and counted"]
    head = (f"{'hessian':<14}{'B':>3}  {'median':>8}  {'90 % CI':<17}  {'[q25, q75]':<20}  "
            f"{'lr':>7}  {'diverged':>8}")
    for i, o in enumerate(opts):                     # one block per optimizer: ≤ 100 columns
        lines += ["", LABELS.get(o, o), head, "-" * len(head)]
        for j, h in enumerate(hess):
            for k, b in enumerate(bs):
                lines.append(f"{h:<14}{b:>3}  {med[i, j, k]:8.2e}  "
                             f"{f'{ci_lo[i, j, k]:.2e}–{ci_hi[i, j, k]:.2e}':<17}  "
                             f"{f'[{q25[i, j, k]:8.2e}, {q75[i, j, k]:8.2e}]':<20}  "
                             f"{lr[i, j, k]:7.1e}  {n_div[i, j, k]:>8}")
    lines.append("")
    if config["sampling"] == "without_replacement" and 9 in bs:
        lines += ["B = 9 = n without replacement is the full batch: zero gradient noise, every "
                  "seed gives", "the same run (a zero-width interval)."]
    if protocol == "paper":
        picks = ", ".join(f"{o} {lr[i, 0, 0]:.0e}" for i, o in enumerate(opts))
        lines.append(f"lrs tuned at homogeneous B=1 (median final loss) and held fixed: {picks}")
    ratio = {str(h): float(r) for h, r in zip(ds["hessian"].values, ds["gap_ratio"].values)}
    het, hom = ratio.get("heterogeneous", math.nan), ratio.get("homogeneous", math.nan)
    lines.append(f"SGD/Adam median final-loss ratio at B={bs[-1]}: heterogeneous {het:.3g}, "
                 f"homogeneous {hom:.3g}")
    lines.append(f"  (het/hom = {het / hom:.3g})")
    lines.append(f"diverged runs at the chosen lrs (excluded from medians and bands): "
                 f"{int(n_div.sum())} of {n_div.size * seeds}")
    from experiments.verdicts import verdict_lines
    lines += ["", "Claims (experiments/claims.py), decided by simlab.verdict.decide:",
              verdict_lines(ds)]
    return "\n".join(lines)


def final_table(ds: xr.Dataset) -> str:
    """Markdown: median final loss (90 % bootstrap interval) at the chosen lr per (Hessian, B),
    one column per optimizer — the README/docs block ``table:quadratic_gap:final_table``."""
    opts = [str(o) for o in ds["optimizer"].values]
    config = json.loads(ds.attrs["config"])
    lines = [f"| Hessian | B | " + " | ".join(f"{LABELS.get(o, o)} @lr" for o in opts) + " |",
             "|---|---|" + "---|" * len(opts)]
    for h in ds["hessian"].values:
        for b in ds["batch_size"].values:
            cells = []
            for o in opts:
                c = ds.sel(optimizer=o, hessian=h, batch_size=b)
                lo, hi = float(c["final_median_ci_lo"]), float(c["final_median_ci_hi"])
                ci = "" if lo == hi else f" ({lo:.3g}–{hi:.3g})"
                cells.append(f"{float(c['final_median']):.3g}{ci} @{float(c['chosen_lr']):.2g}")
            lines.append(f"| {str(h)[:3]} | {int(b)} | " + " | ".join(cells) + " |")
    lines.append(f"\n{config['seeds']} seeds, protocol {config['protocol']}, Hessian seed "
                 f"{config['hessian_seed']}; B = 9 is the noise-free full batch (no interval).")
    return "\n".join(lines)


def headline(ds: xr.Dataset) -> str:
    ratio = {str(h): float(r) for h, r in zip(ds["hessian"].values, ds["gap_ratio"].values)}
    b = int(ds["batch_size"].values[-1])
    return (f"SGD/Adam at B={b}: het {ratio['heterogeneous']:.3g}, "
            f"hom {ratio['homogeneous']:.3g}")


def step_panel_batch_sizes(bs: list[int]) -> list[int]:
    middle = 3 if 3 in bs else bs[len(bs) // 2]
    return sorted(set([bs[0], middle, bs[-1]]))


def plot(ds: xr.Dataset, out_dir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    config = json.loads(ds.attrs["config"])
    plotting.style()
    hess = [str(h) for h in ds["hessian"].values]
    opts = [str(o) for o in ds["optimizer"].values]
    bs = np.array([int(b) for b in ds["batch_size"].values])
    panel_bs = [int(b) for b in ds["panel_batch_size"].values]
    ncol = len(panel_bs)
    fig = plt.figure(figsize=(3.6 * max(ncol, 2), 12.0))
    grid = fig.add_gridspec(4, 2 * ncol)
    half = ncol
    final = selected_final(ds)
    n_div = ds["diverged_count"].transpose(*CELL_DIMS).values
    lr = ds["chosen_lr"].transpose(*CELL_DIMS).values
    for row, (stat, title) in enumerate([(plotting.median_iqr, "median, IQR (25–75 %)"),
                                         (plotting.log_mean_band,
                                          "geometric mean ± 2σ (log space)")]):
        for j, h in enumerate(hess):
            ax = fig.add_subplot(grid[row, j * half:(j + 1) * half])
            for i, o in enumerate(opts):
                center, lo, hi = stat(final.values[i, j], axis=-1)
                lr_note = f", lr {lr[i, j, 0]:.0e}" if config["protocol"] == "paper" else ""
                color = plotting.COLORS.get(o)
                plotting.band(ax, bs, center, lo, hi, color=color,
                              label=f"{LABELS[o]}{lr_note}", marker="o", ms=3)
                plotting.mark_all_diverged(ax, bs, center, n_div[i, j] == final.sizes["seed"],
                                           color=color)
            plotting.log_ticks(ax, "y")
            ax.set_xlabel("batch size B")
            ax.set_ylabel(f"final loss (step {int(ds['step'].values[-1])})")
            ax.set_title(f"{h} Hessian — {title}")
            if len(bs) <= 12:
                plotting.value_ticks(ax, bs)
            if row == 0 and j == 0:
                ax.legend(fontsize=7)
    panel = ds["panel_loss"].transpose("optimizer", "hessian", "panel_batch_size", "quantile",
                                       "step").values
    steps = ds["step"].values
    n_seeds = ds.sizes["seed"]
    for j, h in enumerate(hess):
        for c, b in enumerate(panel_bs):
            ax = fig.add_subplot(grid[2 + j, 2 * c:2 * c + 2])
            k = list(bs).index(b)
            for i, o in enumerate(opts):
                center, lo, hi = panel[i, j, c]
                plotting.band(ax, steps, center, lo, hi, color=plotting.COLORS.get(o),
                              label=LABELS[o])
                if n_div[i, j, k] == n_seeds:
                    ax.plot([], [], color=plotting.COLORS.get(o), label=f"{LABELS[o]}: all diverged")
            plotting.log_ticks(ax, "y")
            ax.set_xlabel("step")
            ax.set_ylabel("loss (median, IQR)")
            ax.set_title(f"{h}, B = {b}")
            if j == 0 and c == 0:
                ax.legend(fontsize=7)
    protocol = ("lrs tuned at homogeneous B=1, then fixed" if config["protocol"] == "paper"
                else "lr retuned per (optimizer, Hessian, B)")
    plotting.paper_title(fig, "sreckovic", "Fig. 17",
                         f"the Adam–SGD batch-size gap on 9-d quadratics; {protocol}\n"
                         f"{config['seeds']} seeds, sampling {config['sampling']}, Hessian seed "
                         f"{config['hessian_seed']}; diverged runs excluded: {int(n_div.sum())}",
                         fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    return plotting.save_figure(fig, out_dir, output_name(config["protocol"]))


def output_name(protocol: str) -> str:
    return NAME if protocol == "paper" else f"{NAME}_retuned"


EXPERIMENT = Experiment(
    name=NAME, description=__doc__, resolve=resolve_config, compute=compute, report=report,
    plot=plot, headline=headline, seeds=(FULL_SEEDS, QUICK_SEEDS), backend="numba", arguments=arguments,
    stem=lambda config: output_name(config["protocol"]))


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
