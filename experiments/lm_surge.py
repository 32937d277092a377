"""The optimal Adam learning rate against batch size on the LM, by Li et al.'s protocol (the surge).

Toy prediction (Li et al. 2024, Eq 2 = Theorem 3 Eq 13; ``experiments.surge``, docs/surge.md): for
sign-like optimizers (Adam) the one-step optimal lr is
    ε_opt(B) = ε_max / (½(√(B_noise/B) + √(B/B_noise))),
rising like √B for B ≪ B_noise, peaking at B = B_noise and falling like 1/√B beyond (the exact
sign model of simlab flattens instead of falling; docs/surge.md). SGD's optimal lr rises monotonically.

Protocol (Li et al. §5): train Adam (0.9, 0.999) at B_pre to a target validation loss; from that one
shared checkpoint, for each batch size B, lr on a log grid and seed, reset the optimizer state and
take k further steps on fresh batches; the optimal lr of B is the one with the largest mean drop
of the validation loss (a log-parabola through the best grid point and its neighbours refines it).
Two optimizers: Adam (0.9, 0.999) and Adam (0, 0) (sign descent with magnitude ε regularization).
At the checkpoint we measure B_simple = trΣ/|G|² and McCandlish's B_noise = tr(HΣ)/GᵀHG with the
two-batch estimator (``simlab.lm.measure``); the figure marks both and overlays the toy curve
ε_opt(B) with B_noise measured and ε_max matched to the measured peak height.

Cells, each cached on its own: the pretraining run (its Dataset holds the checkpoint's weights),
the noise-scale probes at the checkpoint, and one k-step run per (optimizer, B, lr, seed) from the
checkpoint (keyed by the checkpoint's sha256). ``lm_surge.nc`` holds every loss drop, the refined
optimal lrs, the noise scales, the toy curve, the numbers the report prints and the corpus's
unigram/bigram entropies. The claims (``experiments.claims``, section LM) are decided by
``simlab.verdict.decide`` from this file: ``measure_peak`` and ``check_trained``.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from experiments import _lm
from experiments._harness import Experiment

NAME = "lm_surge"
OPTIMIZERS = {"adam_0.9_0.999": (0.9, 0.999), "adam_0_0": (0.0, 0.0)}
SIZES = {
    "quick": dict(model="tiny", pre_batch=8, target=3.2, pre_max_steps=200, batch_sizes=[1, 4, 16],
                  lrs=np.logspace(-3, -1, 3).tolist(), k=2, seeds=1, eval_windows=16, probe_b=2, probe_kappa=4,
                  probes=2, hessian_windows=8),
    # plan (docs/lm.md): the checkpoint below the bigram level (2.1 < 2.25 nats/byte), 5 seeds; B up
    # to 256 ≈ 18 B_noise (the first run stopped at 128, where Adam's optimal lr was still at its
    # maximum: a peak at the grid's edge); lrs from 3.2e-5 (that run's lowest optimum: 7.9e-5 at B = 1)
    "cpu": dict(model="cpu", pre_batch=16, target=2.1, pre_max_steps=3000,
                batch_sizes=[1, 2, 4, 8, 16, 32, 64, 128, 256], lrs=np.round(np.logspace(-5, -2, 13), 8).tolist()[2:],
                k=4, seeds=5, eval_windows=128, probe_b=2, probe_kappa=8, probes=24, hessian_windows=64),
    # plan, pending a GPU: 2 × 11 × 13 × 5 = 1430 runs of k = 8 steps, ≈ 0.2 s each on one H100
    "cuda": dict(model="cuda", pre_batch=64, target=1.6, pre_max_steps=20000,
                 batch_sizes=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], lrs=np.logspace(-4.5, -1.5, 13).tolist(),
                 k=8, seeds=5, eval_windows=512, probe_b=4, probe_kappa=8, probes=32, hessian_windows=256),
}


def toy_lr(batch_size, max_lr: float, noise_batch: float):
    """Li et al. Eq 2 / Eq 13: ε_max / (½(√(B_noise/B) + √(B/B_noise)))."""
    b = np.asarray(batch_size, float)
    return max_lr / (0.5 * (np.sqrt(noise_batch / b) + np.sqrt(b / noise_batch)))


def refine(lrs, drops) -> float:
    """The lr of the largest drop, refined by a parabola in log lr through it and its neighbours."""
    lrs, drops = np.asarray(lrs, float), np.asarray(drops, float)
    drops = np.where(np.isfinite(drops), drops, -np.inf)
    i = int(np.argmax(drops))
    if i == 0 or i == len(lrs) - 1 or not np.all(np.isfinite(drops[i - 1:i + 2])):
        return float(lrs[i])
    x, y = np.log(lrs[i - 1:i + 2]), drops[i - 1:i + 2]
    a, b, _ = np.polyfit(x, y, 2)
    return float(np.exp(np.clip(-b / (2 * a), x[0], x[2]))) if a < 0 else float(lrs[i])


def pretraining(config: dict):
    """(ModelConfig, TrainConfig) of the run to the target loss: Adam (0.9, 0.999), lr 3e-3."""
    from simlab.lm import ModelConfig, TrainConfig
    size = config["size"]
    pre = TrainConfig(optimizer="adam", lr=3e-3, batch_size=size["pre_batch"], steps=size["pre_max_steps"],
                      schedule="constant", device=config["device"], eval_windows=size["eval_windows"], seed=0,
                      records=tuple(range(0, size["pre_max_steps"] + 1, 25)), stop_below=size["target"],
                      eval_train=False)
    return ModelConfig.preset(size["model"]), pre


def further_steps(config: dict) -> list[tuple[tuple, object]]:
    """((optimizer, B, lr index, seed), TrainConfig) of every k-step run from the checkpoint."""
    from simlab.lm import TrainConfig
    size = config["size"]
    return [((o, b, li, s), TrainConfig(optimizer="adam", lr=float(lr), betas=OPTIMIZERS[o], batch_size=b,
                                        steps=size["k"], seed=100 + s, device=config["device"],
                                        eval_windows=size["eval_windows"], records=(0, size["k"]),
                                        eval_train=False))
            for o in OPTIMIZERS for b in size["batch_sizes"] for li, lr in enumerate(size["lrs"])
            for s in range(config["seeds"])]


resolve = _lm.resolver(SIZES, pretraining, further_steps)   # every run checked first


#: pretraining steps the plan assumes to reach the cpu target (Adam (0.9, 0.999) 3e-3 at B = 16
#: reached 2.099 nats/byte at step 200 in a pilot run of issue 17; 50 % added)
PLANNED_PRE_STEPS = 300


def plan(config: dict) -> list[tuple[str, int, float]]:
    """(what, cells, planned CPU seconds per cell) at this size (``_lm.run_cost``)."""
    size, seeds = config["size"], config["seeds"]
    evals = PLANNED_PRE_STEPS // 25 + 1
    rows = [("pretraining to the target (B = %d, ≈ %d steps)" % (size["pre_batch"], PLANNED_PRE_STEPS), 1,
             _lm.run_cost(size["pre_batch"], PLANNED_PRE_STEPS, evals, size["eval_windows"]))]
    kap, b, hw = size["probe_kappa"], size["probe_b"], size["hessian_windows"]
    per_probe = kap * _lm.step_cost(b) + (kap + 1) * 2 * _lm.step_cost(hw)   # a Hessian-vector product ≈ 2 steps
    rows.append((f"noise scales: {size['probes']} probes", 1, _lm.CELL_CPU_S + size["probes"] * per_probe))
    for bs in size["batch_sizes"]:
        rows.append((f"k = {size['k']} steps at B = {bs}", len(OPTIMIZERS) * len(size["lrs"]) * seeds,
                     _lm.run_cost(bs, size["k"], 2, size["eval_windows"])))
    return rows


@_lm.parallel
def compute(config: dict, cells) -> xr.Dataset:
    from experiments._lm_cells import Cell, environment, noise_cell, run_spec, state_sha256, train_cell
    size, seeds = config["size"], config["seeds"]
    mcfg, pre = pretraining(config)
    pre_ds = cells.map(train_cell, [run_spec(config, mcfg, pre, keep_state=True)],
                       label="pretraining to the target loss")[0]
    if pre_ds.attrs["stopped_step"] == pre.steps:
        raise ValueError(f"target={size['target']!r}: pretraining did not reach it in {pre.steps} steps "
                         f"(val loss {float(pre_ds.val_loss[-1]):.3f})")
    state = np.asarray(pre_ds.state.values, np.float32)
    sha = state_sha256(state)
    probe = {k: size[k] for k in ("probe_b", "probe_kappa", "probes", "hessian_windows")}
    noise = cells.map(noise_cell, [Cell({"kind": "noise_scales", "model": mcfg.config(), "init_sha256": sha,
                                         **probe, **environment(config)}, state)],
                      label="noise scales at the checkpoint")[0]
    plan = further_steps(config)
    runs = cells.map(train_cell, [Cell(run_spec(config, mcfg, t, init_sha256=sha), state) for _, t in plan],
                     label="k steps from the checkpoint")
    opts, bs, lrs = list(OPTIMIZERS), size["batch_sizes"], size["lrs"]
    drop = np.full((len(opts), len(bs), len(lrs), seeds), np.nan)
    for ((o, b, li, s), _), run in zip(plan, runs):
        v = run.val_loss.values
        drop[opts.index(o), bs.index(b), li, s] = v[0] - v[1] if run.attrs["diverged"] == 0 else -np.inf
    ds = xr.Dataset(
        {"loss_drop": (("optimizer", "batch_size", "lr", "seed"), drop),
         "pre_val_loss": ("record", pre_ds.val_loss.values),
         **{f"probe_{k}": ("probe", noise[k].values) for k in ("small", "big", "small_h", "big_h")}},
        coords={"optimizer": opts, "batch_size": bs, "lr": np.asarray(lrs, float), "seed": np.arange(seeds),
                "record": pre_ds.record.values, "probe": noise.probe.values},
        attrs={"checkpoint_step": int(pre_ds.attrs["stopped_step"]), "checkpoint_sha256": sha,
               "target": size["target"], "k": size["k"], "block_size": mcfg.block_size,
               "probes": size["probes"],
               **{k: noise.attrs[k] for k in ("b_simple", "b_noise", "grad_sq", "grad_sq_se", "trace_cov",
                                             "trace_cov_se", "ghg", "ghg_se", "trace_hcov", "trace_hcov_se")},
               **_lm.reference_attrs(config)})
    return with_predictions(ds)


def with_predictions(ds: xr.Dataset) -> xr.Dataset:
    """Add the refined optimal lrs, the toy curve (height matched) and the peak numbers."""
    mean = ds.loss_drop.mean("seed")
    bs = ds.batch_size.values
    opt = np.array([[refine(ds.lr.values, mean.sel(optimizer=o, batch_size=b).values) for b in bs]
                    for o in ds.optimizer.values])
    bn = float(ds.attrs["b_noise"])
    ok = np.isfinite(bn) and bn > 0
    toy = toy_lr(bs, 1.0, bn) if ok else np.full(len(bs), np.nan)
    ref = opt[list(ds.optimizer.values).index("adam_0.9_0.999")]
    scale = np.nanmax(ref) / np.nanmax(toy) if np.isfinite(toy).all() else np.nan
    grid = np.geomspace(bs[0], bs[-1], 200)
    curve = toy_lr(grid, 1.0, bn) * np.nanmax(ref) / toy_lr(bn, 1.0, bn) if ok else np.full(len(grid), np.nan)
    numbers = [verdict_numbers(bs, row, bn) for row in opt]
    return ds.assign(
        optimal_lr=(("optimizer", "batch_size"), opt,
                    {"long_name": "lr of the largest mean drop, refined by a log-parabola"}),
        toy_optimal_lr=("batch_size", toy * scale, {"long_name": "Li et al. Eq 2, B_noise measured, "
                                                                 "max matched to the LM's max"}),
        toy_curve=("toy_batch_size", curve, {"long_name": "Li et al. Eq 2, peak matched to the LM's max"}),
        **{name: ("optimizer", [n[name] for n in numbers]) for name in numbers[0]}
    ).assign_coords(toy_batch_size=grid)


def verdict_numbers(bs, lr_opt, b_noise) -> dict:
    """Where the optimal lr peaks (toy: at B_noise) and how far it falls beyond (toy: to
    ε_opt(B_max)/ε_max of Li et al. Eq 2 with the measured B_noise)."""
    bs, lr_opt = np.asarray(bs, float), np.asarray(lr_opt, float)
    i = int(np.argmax(lr_opt))
    toy_fall = float(toy_lr(bs[-1], 1.0, b_noise) / toy_lr(b_noise, 1.0, b_noise)) if b_noise < bs[-1] else 1.0
    ok = np.isfinite(b_noise) and b_noise > 0
    return {"rise": lr_opt[i] / lr_opt[0], "fall": lr_opt[-1] / lr_opt[i], "toy_fall": toy_fall if ok else np.nan,
            "peak_batch_size": bs[i], "peak_over_b_noise": bs[i] / b_noise if ok else np.nan}


def scale_text(ds: xr.Dataset, name: str) -> str:
    """"12.3" for a measured noise scale ("b_noise" or "b_simple"), or "undefined (GᵀHG estimate
    −0.0012 ± 0.003 ≤ 0, 2 probes)" where the two-batch estimate of its denominator is ≤ 0: the
    noise of the estimate exceeds its value at that many probes, so there is no scale to report."""
    value = float(ds.attrs[name])
    if np.isfinite(value) and value > 0:
        return f"{value:.1f}"
    what, key = ("GᵀHG", "ghg") if name == "b_noise" else ("|G|²", "grad_sq")
    est, se = float(ds.attrs.get(key, np.nan)), float(ds.attrs.get(f"{key}_se", np.nan))
    return f"undefined ({what} estimate {est:.2g} ± {se:.2g} ≤ 0, {ds.attrs.get('probes', '?')} probes)"


def describe(ds: xr.Dataset, o: str) -> list[str]:
    """The two lines of optimizer ``o``: where its optimal lr peaks and how far it falls beyond."""
    bs = ds.batch_size.values
    n = {k: float(ds[k].sel(optimizer=o)) for k in ("rise", "fall", "toy_fall", "peak_batch_size",
                                                    "peak_over_b_noise")}
    edge = "; the maximum is at the largest B tried" if n["peak_batch_size"] == bs[-1] else ""
    where = (f" = {n['peak_over_b_noise']:.1f} × B_noise (measured {ds.attrs['b_noise']:.1f})"
             if np.isfinite(n["peak_over_b_noise"]) else f"; B_noise {scale_text(ds, 'b_noise')}")
    return [f"rises ×{n['rise']:.1f} from B = {bs[0]:.0f} to its maximum at B = {n['peak_batch_size']:.0f}"
            f"{where}{edge}",
            f"beyond the maximum: ε_opt(B = {bs[-1]:.0f})/max = {n['fall']:.2f}, toy {n['toy_fall']:.2f}"]


def _peak_batch(bs, lrs, drop) -> float:
    """The B whose refined optimal lr (largest mean drop over the seeds of ``drop[B, lr, seed]``)
    is largest."""
    opt = [refine(lrs, np.mean(drop[i], axis=-1)) for i in range(len(bs))]
    return float(bs[int(np.argmax(opt))])


def measure_peak(ds: xr.Dataset, optimizer: str, draws: int = 500, seed: int = 0):
    """log2(B_peak / B_noise): where the optimal lr of ``optimizer`` peaks over B, relative to the
    measured B_noise (Li et al. Eq 15: 0). Bootstrap replicates resample the seeds (jointly over B
    and lr) and re-select the optimal lr of every B inside each resample."""
    from experiments._peaks import bootstrap_indices
    from simlab.verdict import Estimate
    bs, lrs = ds.batch_size.values, ds.lr.values
    drop = ds.loss_drop.sel(optimizer=optimizer).transpose("batch_size", "lr", "seed").values
    bn = float(ds.attrs["b_noise"])
    value = float(np.log2(_peak_batch(bs, lrs, drop) / bn)) if bn > 0 else float("nan")
    n = drop.shape[-1]
    if n < 2 or not bn > 0:
        return Estimate(np.array([value]), value, n_seeds=n)
    samples = [np.log2(_peak_batch(bs, lrs, drop[..., idx]) / bn)
               for idx in bootstrap_indices(n, draws, seed)]
    return Estimate(np.array(samples), value, n_seeds=n)


def check_trained(ds: xr.Dataset, **_) -> str | None:
    """The LM claims' assumptions: a positive finite B_noise measured at a checkpoint trained past
    the corpus's bigram level (the one point of the comparison: every B starts from it)."""
    bn = float(ds.attrs["b_noise"])
    if not (np.isfinite(bn) and bn > 0):
        return f"B_noise {scale_text(ds, 'b_noise')}: no noise scale, so no peak is predicted"
    pre = ds.pre_val_loss.values
    return _lm.untrained_at(ds, {"the checkpoint": float(np.min(pre[np.isfinite(pre)], initial=np.inf))})


def summary_table(ds) -> str:
    """docs/lm.md's table from the results file: the checkpoint beside the corpus's levels, the
    noise scales, and where each optimizer's optimal lr peaks."""
    def cell(ds, name):                          # "|G|²" inside a markdown cell: escape the bars
        return scale_text(ds, name).replace("|", "\\|")
    pre = ds.pre_val_loss.values
    rows = [f"| seeds | k | checkpoint (steps, val loss) | unigram / bigram | B_simple | B_noise |",
            "|---|---|---|---|---|---|",
            f"| {ds.sizes['seed']} | {ds.attrs['k']} | {ds.attrs['checkpoint_step']}, "
            f"{float(np.min(pre[np.isfinite(pre)])):.3f} | {ds.attrs['unigram_xent']:.3f} / {ds.attrs['bigram_xent']:.3f} | "
            f"{cell(ds, 'b_simple')} | {cell(ds, 'b_noise')} |", "",
            "| optimizer | optimal lr peaks at B | rise from B = 1 | ε_opt(B_max)/max (toy) |", "|---|---|---|---|"]
    for o in ds.optimizer.values:
        rows.append(f"| {o} | {float(ds.peak_batch_size.sel(optimizer=o)):.0f} | ×{float(ds.rise.sel(optimizer=o)):.1f} | "
                    f"{float(ds.fall.sel(optimizer=o)):.2f} ({float(ds.toy_fall.sel(optimizer=o)):.2f}) |")
    return "\n".join(rows)


def report(ds) -> str:
    bs = ds.batch_size.values
    opts = list(ds.optimizer.values)
    rows = [f"checkpoint after {ds.attrs['checkpoint_step']} Adam steps (val loss ≤ {ds.attrs['target']}); "
            f"k = {ds.attrs['k']} further steps per (B, lr, seed)",
            f"measured at the checkpoint (windows of {ds.attrs['block_size']} bytes, {ds.attrs['probes']} "
            f"probes): B_simple = {scale_text(ds, 'b_simple')} (|G|² = {ds.attrs['grad_sq']:.3g} ± "
            f"{ds.attrs['grad_sq_se']:.2g}, trΣ = {ds.attrs['trace_cov']:.3g} ± {ds.attrs['trace_cov_se']:.2g}), "
            f"B_noise = {scale_text(ds, 'b_noise')} (GᵀHG = {ds.attrs['ghg']:.3g} ± {ds.attrs['ghg_se']:.2g}, "
            f"tr(HΣ) = {ds.attrs['trace_hcov']:.3g} ± {ds.attrs['trace_hcov_se']:.2g})",
            "", "| B | " + " | ".join(f"optimal lr {o}" for o in opts) + " | toy ε_opt (B_noise measured, height matched) |",
            "|---|" + "---|" * (len(opts) + 1)]
    for i, b in enumerate(bs):
        rows.append(f"| {b} | " + " | ".join(f"{float(ds.optimal_lr.sel(optimizer=o)[i]):.3g}" for o in opts)
                    + f" | {float(ds.toy_optimal_lr[i]):.3g} |")
    rows.append("")
    for o in opts:
        rows += [f"{o}: {line}" for line in describe(ds, o)]
    from experiments.verdicts import verdict_lines
    rows += ["", "Claims (experiments.claims, decided by simlab.verdict):", verdict_lines(ds)]
    return "\n".join(rows)


def headline(ds) -> str:
    o = "adam_0.9_0.999"
    return (f"B_noise {scale_text(ds, 'b_noise')}, B_simple {scale_text(ds, 'b_simple')}; Adam 0.9/0.999 optimal lr "
            f"peaks at B = {float(ds.peak_batch_size.sel(optimizer=o)):.0f}, falls to "
            f"{float(ds.fall.sel(optimizer=o)):.2f} of max (toy {float(ds.toy_fall.sel(optimizer=o)):.2f})")


@_lm.default_style
def plot(ds, out) -> list:
    from simlab import plotting
    plt = _lm.pyplot()
    bs = ds.batch_size.values
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for o, c in zip(ds.optimizer.values, ("C0", "C3")):
        ax[0].plot(bs, ds.optimal_lr.sel(optimizer=o), "o-", color=c, label=f"LM {o.replace('_', ' ')}")
    bn, bsim = ds.attrs["b_noise"], ds.attrs["b_simple"]
    if np.isfinite(bn) and bn > 0:
        ax[0].plot(ds.toy_batch_size, ds.toy_curve, "k:", label="toy (Li et al. Eq 2), B_noise measured")
        ax[0].axvline(bn, color="k", lw=0.8, ls="--", label=f"B_noise = {bn:.1f}")
    if np.isfinite(bsim) and bsim > 0:
        ax[0].axvline(bsim, color="C2", lw=0.8, ls="--", label=f"B_simple = {bsim:.1f}")
    ax[0].set(xscale="log", yscale="log", xlabel="batch size B (windows)", ylabel="optimal lr (largest loss drop)",
              title=f"optimal Adam lr vs B ({ds.attrs['k']} steps from one checkpoint)")
    plotting.value_ticks(ax[0], bs)
    ax[0].legend(fontsize=7, loc="lower right")
    mean = ds.loss_drop.mean("seed").sel(optimizer="adam_0.9_0.999")
    for i, b in enumerate(bs):
        ax[1].plot(ds.lr, mean.sel(batch_size=b), color=plt.cm.viridis(i / max(1, len(bs) - 1)), label=f"B={b}")
    ax[1].set(xscale="log", xlabel="lr", ylabel="val loss drop (nats/byte)", title="Adam (0.9, 0.999): drop vs lr")
    lo = float(np.nanmax(mean.values))
    ax[1].set_ylim(-0.5 * abs(lo), 1.2 * abs(lo))
    ax[1].legend(fontsize=7, ncol=2)
    plotting.paper_title(fig, "li", "Eq. 2 and the §5 protocol",
                         "the optimal Adam learning rate against batch size on a byte-level LM")
    fig.tight_layout()
    return _lm.save_png(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute, report=report,
                        plot=plot, headline=headline, arguments=_lm.arguments(SIZES))


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
