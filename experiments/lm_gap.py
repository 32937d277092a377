"""SGD with momentum vs Adam across batch sizes on the byte-level LM (Srećković et al. 2025).

Toy prediction (``experiments.quadratic_gap``, retuned protocol on the heterogeneous 9×9 quadratic):
the SGD/Adam loss ratio at the best lr per (optimizer, B) grows with the batch size (a fixed step
budget); its values are read from ``results/quadratic_gap_retuned.nc`` (``experiments._toy``).
On the LM the loss has an entropy floor, so we compare the *difference* of the losses (a ratio of
exp-losses): gap(B) = L_SGD(B) − L_Adam(B) in nats/byte, each at its best lr.

Protocol: for each optimizer ∈ {SGD (heavy ball, μ = 0.9), Adam (0.9, 0.95)} and batch size B, the
peak lr is tuned on a log grid (the best mean final validation loss over seeds; a best lr at the
edge of its grid is flagged) with a warmup (10 %) + cosine schedule, under two budgets:
* tokens: the same number of training tokens for every B (steps = tokens/(B·block));
* steps: the same number of steps for every B (larger B sees more tokens), as in the toy.
All runs of one seed draw the same batch sequence prefix (simlab.random keyed by (seed, step)).

Cells: one training run per (optimizer, B, lr, seed, steps), each cached on its own (at the largest
B both budgets are the same run, computed once). ``lm_gap.nc`` holds every run's final validation
loss, the best lr per (budget, optimizer, B), the gaps, the toy numbers the report prints and the
corpus's unigram/bigram entropies. The claims (``experiments.claims``, section LM) are decided by
``simlab.verdict.decide`` from this file: ``measure_gap_growth`` and ``check_trained``.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from experiments import _lm, _toy
from experiments._harness import Experiment

NAME = "lm_gap"
OPTIMIZERS = {"sgd": dict(optimizer="sgd", momentum=0.9), "adam": dict(optimizer="adam", betas=(0.9, 0.95))}
BUDGETS = ("tokens", "steps")
SIZES = {
    "quick": dict(model="tiny", batch_sizes=[2, 8], tokens=2 ** 12 * 4, steps=8, seeds=1, eval_windows=16,
                  lrs={"sgd": [0.3, 1.0], "adam": [3e-3, 1e-2]}),
    "cpu": dict(model="cpu", batch_sizes=[4, 16, 64], tokens=2 ** 18, steps=64, seeds=1, eval_windows=128,
                lrs={"sgd": np.round(np.logspace(-2, 0, 5), 5).tolist(),
                     "adam": np.round(np.logspace(-3, -0.5, 6), 5).tolist()}),
    "cuda": dict(model="cuda", batch_sizes=[8, 32, 128], tokens=2 ** 22, steps=128, seeds=1,
                 eval_windows=256, lrs={"sgd": np.round(np.logspace(-2.5, -0.5, 5), 5).tolist(),
                                        "adam": np.round(np.logspace(-3.5, -1.5, 5), 5).tolist()}),
}


def runs(config: dict) -> list[tuple[tuple, dict]]:
    """((budget, optimizer, B, lr index, seed), training-run cell) for every run, each validated
    (a TrainConfig checks its arguments)."""
    from experiments._lm_cells import run_spec
    from simlab.lm import ModelConfig, TrainConfig
    size = config["size"]
    mcfg = ModelConfig.preset(size["model"])
    out = []
    for budget in BUDGETS:
        for opt in OPTIMIZERS:
            for b in size["batch_sizes"]:
                steps = size["steps"] if budget == "steps" else max(1, size["tokens"] // (b * mcfg.block_size))
                for li, lr in enumerate(size["lrs"][opt]):
                    for s in range(config["seeds"]):
                        tcfg = TrainConfig(**OPTIMIZERS[opt], lr=float(lr), batch_size=b, steps=steps,
                                           schedule="warmup_cosine", warmup=0.1, seed=s,
                                           device=config["device"], eval_windows=size["eval_windows"],
                                           records=(steps,), eval_train=False)
                        out.append(((budget, opt, b, li, s), run_spec(config, mcfg, tcfg)))
    return out


resolve = _lm.resolver(SIZES, runs)          # every run checked before any work


@_lm.parallel
def compute(config: dict, cells) -> xr.Dataset:
    from experiments._lm_cells import train_cell
    from simlab.cache import config_json
    from simlab.lm import ModelConfig
    size, seeds = config["size"], config["seeds"]
    plan = runs(config)
    unique = {config_json(spec): spec for _, spec in plan}   # at the largest B both budgets agree
    done = dict(zip(unique, cells.map(train_cell, list(unique.values()), label="training runs")))
    opts, bs = list(OPTIMIZERS), size["batch_sizes"]
    n_lr = max(len(size["lrs"][o]) for o in opts)        # shorter grids are NaN-padded
    shape = (len(BUDGETS), len(opts), len(bs), n_lr, seeds)
    val, div = np.full(shape, np.nan), np.zeros(shape, np.int8)
    for (budget, opt, b, li, s), spec in plan:
        run = done[config_json(spec)]
        at = (BUDGETS.index(budget), opts.index(opt), bs.index(b), li, s)
        val[at], div[at] = run.val_loss.values[-1], run.attrs["diverged"]
    lr_value = np.array([size["lrs"][o] + [np.nan] * (n_lr - len(size["lrs"][o])) for o in opts], float)
    toy = _toy.quadratic_gap()
    runs_dims = ("budget", "optimizer", "batch_size", "lr_index", "seed")
    ds = xr.Dataset(
        {"val_loss": (runs_dims, val), "diverged": (runs_dims, div),
         "lr_value": (("optimizer", "lr_index"), lr_value),
         "toy_log10_ratio": ("toy_batch_size", toy["log10_ratio"])},
        coords={"budget": list(BUDGETS), "optimizer": opts, "batch_size": bs,
                "lr_index": np.arange(n_lr), "seed": np.arange(seeds),
                "toy_batch_size": toy["batch_size"]},
        attrs={"block_size": ModelConfig.preset(size["model"]).block_size,
               "n_params": int(next(iter(done.values())).attrs["n_params"]), "toy_source": toy["source"],
               **_lm.reference_attrs(config)})
    loss, lr, edge = best(ds)
    return ds.assign(best_loss=loss, best_lr=lr.drop_vars("lr_index"), best_at_edge=edge,
                     gap=loss.sel(optimizer="sgd", drop=True) - loss.sel(optimizer="adam", drop=True))


def best(ds: xr.Dataset):
    """(best loss, best lr, at_edge) per (budget, optimizer, batch_size): the mean over seeds of the
    final validation loss (a diverged run counts as +inf), minimized over the lr grid."""
    loss = ds.val_loss.where(ds.diverged == 0, np.inf).mean("seed")
    loss = loss.fillna(np.inf)
    idx = loss.argmin("lr_index")
    n = ds.lr_value.notnull().sum("lr_index")          # grid length per optimizer (NaN-padded)
    lr = ds.lr_value.isel(lr_index=idx)
    edge = (idx == 0) | (idx == n - 1)
    return loss.min("lr_index"), lr, edge


def report(ds: xr.Dataset) -> str:
    loss, lr, edge, gap = ds.best_loss, ds.best_lr, ds.best_at_edge, ds.gap
    rows = ["| budget | B | SGD best val (lr) | Adam best val (lr) | gap SGD − Adam (nats) |", "|---|---|---|---|---|"]
    for budget in ds.budget.values:
        for b in ds.batch_size.values:
            sel = dict(budget=budget, batch_size=b)
            cell = []
            for o in ("sgd", "adam"):
                e = " edge" if bool(edge.sel(**sel, optimizer=o)) else ""
                cell.append(f"{float(loss.sel(**sel, optimizer=o)):.4f} ({float(lr.sel(**sel, optimizer=o)):.3g}{e})")
            rows.append(f"| {budget} | {b} | {cell[0]} | {cell[1]} | {float(gap.sel(**sel)):+.4f} |")
    toy = ds.toy_log10_ratio.values
    toy_b = ds.toy_batch_size.values
    rows.append("")
    rows.append(f"toy ({ds.attrs['toy_source']}): log10(L_SGD/L_Adam) {toy[0]:.2f} at B={toy_b[0]} → "
                f"{toy[-1]:.2f} at B={toy_b[-1]}")
    for budget in ds.budget.values:
        g = gap.sel(budget=budget).values
        rows.append(f"LM, {budget} budget: gap {', '.join(f'{x:+.3f}' for x in g)} nats at B = "
                    f"{', '.join(map(str, ds.batch_size.values))}")
    from experiments.verdicts import verdict_lines
    rows += ["", "Claims (experiments.claims, decided by simlab.verdict):", verdict_lines(ds)]
    return "\n".join(rows)


def measure_gap_growth(ds: xr.Dataset, budget: str):
    """gap(B_max) − gap(B_min) with gap(B) = L_SGD(B) − L_Adam(B), each at its own tuned lr: a
    Tuned contrast of the four (optimizer, B) settings, final validation loss per run (diverged
    runs +inf), mean over seeds, lr re-selected per setting. Srećković et al. predict > 0."""
    from simlab.verdict import Tuned
    b_lo, b_hi = ds.batch_size.values[0], ds.batch_size.values[-1]
    settings = [("sgd", b_hi), ("adam", b_hi), ("sgd", b_lo), ("adam", b_lo)]
    loss = ds.val_loss.where(ds.diverged == 0, np.inf).sel(budget=budget)
    metric = np.stack([loss.sel(optimizer=o, batch_size=b).transpose("lr_index", "seed").values
                       for o, b in settings])
    lrs = np.stack([ds.lr_value.sel(optimizer=o).values for o, _ in settings])
    return Tuned(metric, lrs, tuple(f"{o} B={b}" for o, b in settings),
                 contrast=(1.0, -1.0, -1.0, 1.0), aggregate="mean")


def check_trained(ds: xr.Dataset, **_) -> str | None:
    """The LM claims' assumption: the runs are trained past the corpus's bigram level."""
    return _lm.untrained(ds, "val_loss")


def headline(ds: xr.Dataset) -> str:
    from experiments.verdicts import claims_of, evaluate
    bs = ds.batch_size.values
    parts = [f"{budget} {', '.join(f'{x:+.3f}' for x in ds.gap.sel(budget=budget).values)}"
             for budget in ds.budget.values]
    statuses = ", ".join(f"{c.id.split('.')[-1]}: {evaluate(c, ds).status}" for c in claims_of(NAME))
    return f"SGD−Adam gap (nats) at B = {', '.join(map(str, bs))}: " + "; ".join(parts) + f" ({statuses})"


@_lm.default_style
def plot(ds: xr.Dataset, out) -> list:
    from simlab import plotting
    plt = _lm.pyplot()
    loss = ds.best_loss
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    bs = ds.batch_size.values
    budgets = (("tokens", "-", "o", None), ("steps", "--", "s", "white"))   # solid ●, dashed ◻
    for o, c in (("sgd", "C0"), ("adam", "C3")):
        for budget, ls, marker, mfc in budgets:
            ax[0].plot(bs, loss.sel(optimizer=o, budget=budget), ls, color=c, marker=marker, mfc=mfc,
                       label=f"{o.upper() if o == 'sgd' else 'Adam'}, fixed {budget}")
    ax[0].set(xscale="log", xlabel="batch size B (windows)", ylabel="best final val loss (nats/byte)",
              title="LM: tuned per (optimizer, B)")
    plotting.value_ticks(ax[0], bs)
    ax[0].legend(fontsize=8)
    for budget, ls, marker, mfc in budgets:
        ax[1].plot(bs, ds.gap.sel(budget=budget), ls, color="k", marker=marker, mfc=mfc,
                   label=f"LM gap, fixed {budget}")
    ax[1].set(xscale="log", xlabel="batch size B (LM: windows; toy: samples)",
              ylabel="LM: L_SGD − L_Adam (nats/byte)", title="the gap vs B: LM beside the toy")
    toy_b = ds.toy_batch_size.values
    ticks = sorted(set(bs) | set(toy_b))
    plotting.value_ticks(ax[1], ticks)
    twin = ax[1].twinx()
    twin.plot(toy_b, ds.toy_log10_ratio.values, ":", color="C2", marker="s", label="toy: log10(L_SGD/L_Adam)")
    twin.set_ylabel("toy: log10(L_SGD/L_Adam)", color="C2")
    h1, l1 = ax[1].get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax[1].legend(h1 + h2, l1 + l2, fontsize=8, loc="best")
    plotting.paper_title(fig, "sreckovic", "Fig. 1–2",
                         "the SGD–Adam gap against batch size on a byte-level LM (fixed tokens, fixed steps)")
    fig.tight_layout()
    return _lm.save_png(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute, report=report,
                        plot=plot, headline=headline, arguments=_lm.arguments(SIZES))


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
