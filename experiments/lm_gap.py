"""SGD with momentum vs Adam across batch sizes on the byte-level LM (Srećković et al. 2025).

Toy prediction (``experiments.quadratic_gap``, docs/quadratic_gap.md, retuned protocol on the
heterogeneous 9×9 quadratic): the SGD/Adam loss ratio at the best lr per (optimizer, B) grows with
the batch size, from 1.1e3 at B = 1 to 7.4e3 at B = 9 (log10: 3.03 → 3.87; a fixed step budget).
On the LM the loss has an entropy floor, so we compare the *difference* of the losses (a ratio of
exp-losses): gap(B) = L_SGD(B) − L_Adam(B) in nats/byte, each at its best lr.

Protocol: for each optimizer ∈ {SGD (heavy ball, μ = 0.9), Adam (0.9, 0.95)} and batch size B, the
peak lr is tuned on a log grid (the best mean final validation loss over seeds; a best lr at the
edge of its grid is flagged) with a warmup (10 %) + cosine schedule, under two budgets:
* tokens: the same number of training tokens for every B (steps = tokens/(B·block));
* steps: the same number of steps for every B (larger B sees more tokens), as in the toy.
All runs of one seed draw the same batch sequence prefix (simlab.random keyed by (seed, step)).

    python -m experiments.lm_gap [--quick] [--device cpu|cuda] [--seeds N] [--out DIR] [--no-cache]
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from experiments import _lm

NAME = "lm_gap"
OPTIMIZERS = {"sgd": dict(optimizer="sgd", momentum=0.9), "adam": dict(optimizer="adam", betas=(0.9, 0.95))}
TOY = {"source": "docs/quadratic_gap.md, retuned protocol, heterogeneous Hessian",
       "batch_size": [1, 9], "log10_ratio": [np.log10(6.34 / 5.86e-3), np.log10(2.23e-3 / 3.02e-7)]}
SIZES = {
    "quick": dict(model="tiny", batch_sizes=[2, 8], tokens=2 ** 12 * 4, steps=8, seeds=1, eval_windows=16,
                  lrs={"sgd": [0.3, 1.0], "adam": [3e-3, 1e-2]}),
    "cpu": dict(model="cpu", batch_sizes=[4, 16, 64], tokens=2 ** 18, steps=64, seeds=1, eval_windows=128,
                lrs={"sgd": list(np.round(np.logspace(-2, 0, 5), 5)),
                     "adam": list(np.round(np.logspace(-3, -0.5, 6), 5))}),
    "cuda": dict(model="cuda", batch_sizes=[8, 32, 128], tokens=2 ** 22, steps=128, seeds=1,
                 eval_windows=256, lrs={"sgd": list(np.round(np.logspace(-2.5, -0.5, 5), 5)),
                                        "adam": list(np.round(np.logspace(-3.5, -1.5, 5), 5))}),
}


def compute(size: dict, splits, device: str, seeds: int) -> xr.Dataset:
    from simlab.lm import ModelConfig, TrainConfig, build, train
    mcfg = ModelConfig.preset(size["model"])
    opts, bs = list(OPTIMIZERS), size["batch_sizes"]
    n_lr = max(len(size["lrs"][o]) for o in opts)        # shorter grids are NaN-padded
    shape = (2, len(opts), len(bs), n_lr, seeds)
    val, div = np.full(shape, np.nan), np.zeros(shape, np.int8)
    done = {}
    for bi, budget in enumerate(("tokens", "steps")):
        for oi, opt in enumerate(opts):
            for ki, b in enumerate(bs):
                steps = size["steps"] if budget == "steps" else max(1, size["tokens"] // (b * mcfg.block_size))
                for li, lr in enumerate(size["lrs"][opt]):
                    for s in range(seeds):
                        tcfg = TrainConfig(**OPTIMIZERS[opt], lr=float(lr), batch_size=b, steps=steps,
                                           schedule="warmup_cosine", warmup=0.1, seed=s, device=device,
                                           eval_windows=size["eval_windows"], records=(steps,), eval_train=False)
                        if tcfg not in done:            # at the largest B both budgets are the same run
                            ds, _ = train(mcfg, tcfg, splits)
                            done[tcfg] = (ds.val_loss.values[-1], ds.attrs["diverged"])
                        val[bi, oi, ki, li, s], div[bi, oi, ki, li, s] = done[tcfg]
                n = len(size["lrs"][opt])
                print(f"  {budget:6s} {opt:4s} B={b:4d}: best val {np.min(np.mean(val[bi, oi, ki, :n], -1)):.4f}",
                      flush=True)
    lr_value = np.array([size["lrs"][o] + [np.nan] * (n_lr - len(size["lrs"][o])) for o in opts], float)
    return xr.Dataset(
        {"val_loss": (("budget", "optimizer", "batch_size", "lr_index", "seed"), val),
         "diverged": (("budget", "optimizer", "batch_size", "lr_index", "seed"), div),
         "lr_value": (("optimizer", "lr_index"), lr_value)},
        coords={"budget": ["tokens", "steps"], "optimizer": opts, "batch_size": bs,
                "lr_index": np.arange(n_lr), "seed": np.arange(seeds)},
        attrs={"block_size": mcfg.block_size, "n_params": build(mcfg, 0).num_params()})


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
    loss, lr, edge = best(ds)
    rows = ["| budget | B | SGD best val (lr) | Adam best val (lr) | gap SGD − Adam (nats) |", "|---|---|---|---|---|"]
    gaps = {}
    for budget in ds.budget.values:
        g = []
        for b in ds.batch_size.values:
            sel = dict(budget=budget, batch_size=b)
            cell = []
            for o in ("sgd", "adam"):
                e = " edge" if bool(edge.sel(**sel, optimizer=o)) else ""
                cell.append(f"{float(loss.sel(**sel, optimizer=o)):.4f} ({float(lr.sel(**sel, optimizer=o)):.3g}{e})")
            gap = float(loss.sel(**sel, optimizer="sgd") - loss.sel(**sel, optimizer="adam"))
            g.append(gap)
            rows.append(f"| {budget} | {b} | {cell[0]} | {cell[1]} | {gap:+.4f} |")
        gaps[budget] = g
    toy = TOY["log10_ratio"]
    rows.append("")
    rows.append(f"toy ({TOY['source']}): log10(L_SGD/L_Adam) {toy[0]:.2f} at B=1 → {toy[1]:.2f} at B=9: "
                "the gap grows with B.")
    for budget, g in gaps.items():
        grows = all(np.diff(g) > 0)
        verdict = ("AGREES (gap grows monotonically with B)" if grows else
                   "DISAGREES (gap does not grow monotonically with B)" if g[-1] <= g[0] else
                   "PARTLY (larger at the largest B than at the smallest, not monotone)")
        rows.append(f"LM, {budget} budget: gap {', '.join(f'{x:+.3f}' for x in g)} nats at B = "
                    f"{', '.join(map(str, ds.batch_size.values))} → {verdict}")
    return "\n".join(rows)


def plot(ds: xr.Dataset, path):
    plt = _lm.pyplot()
    loss, _, _ = best(ds)
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    bs = ds.batch_size.values
    for o, c in (("sgd", "C0"), ("adam", "C3")):
        for budget, ls in (("tokens", "-"), ("steps", "--")):
            ax[0].plot(bs, loss.sel(optimizer=o, budget=budget), ls, color=c, marker="o",
                       label=f"{o.upper() if o == 'sgd' else 'Adam'}, fixed {budget}")
    ax[0].set(xscale="log", xlabel="batch size B (windows)", ylabel="best final val loss (nats/byte)",
              title="LM: tuned per (optimizer, B)")
    ax[0].set_xticks(bs, [str(b) for b in bs], minor=False)
    ax[0].minorticks_off()
    ax[0].legend(fontsize=8)
    for budget, ls in (("tokens", "-"), ("steps", "--")):
        gap = loss.sel(optimizer="sgd", budget=budget) - loss.sel(optimizer="adam", budget=budget)
        ax[1].plot(bs, gap, ls, color="k", marker="o", label=f"LM gap, fixed {budget}")
    ax[1].set(xscale="log", xlabel="batch size B (LM: windows; toy: samples)",
              ylabel="LM: L_SGD − L_Adam (nats/byte)", title="the gap vs B: LM beside the toy")
    ticks = sorted(set(bs) | set(TOY["batch_size"]))
    ax[1].set_xticks(ticks, [str(b) for b in ticks])
    ax[1].minorticks_off()
    twin = ax[1].twinx()
    twin.plot(TOY["batch_size"], TOY["log10_ratio"], ":", color="C2", marker="s", label="toy: log10(L_SGD/L_Adam)")
    twin.set_ylabel("toy: log10(L_SGD/L_Adam)", color="C2")
    h1, l1 = ax[1].get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax[1].legend(h1 + h2, l1 + l2, fontsize=8, loc="best")
    fig.tight_layout()
    _lm.save_png(fig, path)


def main(args):
    timer = _lm.Timer()
    splits = _lm.prepare(args)
    size = SIZES[_lm.tier(args)]
    seeds = args.seeds or size["seeds"]
    config = {"name": NAME, "size": size, "seeds": seeds, "device": args.device, "corpus": args.corpus}
    ds, was = _lm.cached_result(args.out / f"{NAME}.nc", config,
                                lambda: compute(size, splits, args.device, seeds),
                                use_cache=not args.no_cache, source=__file__)
    print(report(ds))
    plot(ds, args.out / f"{NAME}.png")
    print(f"{'(cached) ' if was else ''}wall {timer}; wrote {args.out / NAME}.png/.nc")


def cli(argv=None) -> int:
    return _lm.run_cli(_lm.parser(NAME, __doc__.splitlines()[0]), main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
