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

    python -m experiments.lm_surge [--quick] [--device cpu|cuda] [--seeds N] [--out DIR] [--no-cache]
"""
from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from experiments import _lm

NAME = "lm_surge"
OPTIMIZERS = {"adam_0.9_0.999": (0.9, 0.999), "adam_0_0": (0.0, 0.0)}
SIZES = {
    "quick": dict(model="tiny", pre_batch=8, target=3.2, pre_max_steps=200, batch_sizes=[1, 4, 16],
                  lrs=list(np.logspace(-3, -1, 3)), k=2, seeds=1, eval_windows=16, probe_b=2, probe_kappa=4,
                  probes=2, hessian_windows=8),
    "cpu": dict(model="cpu", pre_batch=16, target=2.3, pre_max_steps=3000,
                batch_sizes=[1, 2, 4, 8, 16, 32, 64, 128], lrs=list(np.round(np.logspace(-5, -2, 13), 8)),
                k=4, seeds=3, eval_windows=128, probe_b=2, probe_kappa=8, probes=12, hessian_windows=64),
    "cuda": dict(model="cuda", pre_batch=64, target=1.6, pre_max_steps=20000,
                 batch_sizes=[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], lrs=list(np.logspace(-4.5, -1.5, 13)),
                 k=8, seeds=2, eval_windows=512, probe_b=4, probe_kappa=8, probes=32, hessian_windows=256),
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


def compute(size: dict, splits, device: str, seeds: int) -> xr.Dataset:
    from simlab.lm import ModelConfig, TrainConfig, measure, train
    from simlab.lm import data as lmdata
    mcfg = ModelConfig.preset(size["model"])
    pre = TrainConfig(optimizer="adam", lr=3e-3, batch_size=size["pre_batch"], steps=size["pre_max_steps"],
                      schedule="constant", device=device, eval_windows=size["eval_windows"], seed=0,
                      records=tuple(range(0, size["pre_max_steps"] + 1, 25)), stop_below=size["target"],
                      eval_train=False)
    pre_ds, model = train(mcfg, pre, splits)
    if pre_ds.attrs["stopped_step"] == pre.steps:
        raise ValueError(f"target={size['target']!r}: pretraining did not reach it in {pre.steps} steps "
                         f"(val loss {float(pre_ds.val_loss[-1]):.3f})")
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    print(f"  checkpoint: val loss ≤ {size['target']} after {pre_ds.attrs['stopped_step']} steps", flush=True)

    # noise scales at the checkpoint: κ micro-batches of b windows + an independent Hessian batch per probe
    key = lmdata.stream_key(7, 1)
    b, kap = size["probe_b"], size["probe_kappa"]
    probes = []
    for j in range(size["probes"]):
        x, y = lmdata.random_batch(splits.train, mcfg.block_size, b * kap, key, 2 * j)
        hx, hy = lmdata.random_batch(splits.train, mcfg.block_size, size["hessian_windows"], key, 2 * j + 1)
        dev = [t.to(device) for t in (x, y, hx, hy)]
        probes.append(measure.gradient_probe(model, zip(dev[0].split(b), dev[1].split(b)), (dev[2], dev[3])))
    simple = measure.noise_scale_estimate(probes, b, kap)
    noise = measure.noise_scale_estimate(probes, b, kap, weighted=True)
    print(f"  B_simple = {simple['simple_noise_scale']:.2f}, B_noise = {noise['simple_noise_scale']:.2f} windows",
          flush=True)

    opts, bs, lrs = list(OPTIMIZERS), size["batch_sizes"], size["lrs"]
    drop = np.full((len(opts), len(bs), len(lrs), seeds), np.nan)
    for oi, o in enumerate(opts):
        for bi, bsz in enumerate(bs):
            for li, lr in enumerate(lrs):
                for s in range(seeds):
                    tcfg = TrainConfig(optimizer="adam", lr=float(lr), betas=OPTIMIZERS[o], batch_size=bsz,
                                       steps=size["k"], seed=100 + s, device=device,
                                       eval_windows=size["eval_windows"], records=(0, size["k"]),
                                       eval_train=False)
                    ds, _ = train(mcfg, tcfg, splits, init_state=state)
                    v = ds.val_loss.values
                    drop[oi, bi, li, s] = v[0] - v[1] if ds.attrs["diverged"] == 0 else -np.inf
            print(f"  {o} B={bsz}: best lr {lrs[int(np.argmax(np.nanmean(drop[oi, bi], -1)))]:.2e}", flush=True)
    return xr.Dataset(
        {"loss_drop": (("optimizer", "batch_size", "lr", "seed"), drop),
         "pre_val_loss": ("record", pre_ds.val_loss.values)},
        coords={"optimizer": opts, "batch_size": bs, "lr": np.asarray(lrs, float), "seed": np.arange(seeds),
                "record": pre_ds.record.values},
        attrs={"checkpoint_step": int(pre_ds.attrs["stopped_step"]), "target": size["target"],
               "b_simple": simple["simple_noise_scale"], "b_noise": noise["simple_noise_scale"],
               "grad_sq": simple["grad_sq"], "grad_sq_se": simple["grad_sq_se"],
               "trace_cov": simple["trace_cov"], "trace_cov_se": simple["trace_cov_se"],
               "k": size["k"], "block_size": mcfg.block_size})


def optimal_lrs(ds):
    mean = ds.loss_drop.mean("seed")
    return {o: np.array([refine(ds.lr.values, mean.sel(optimizer=o, batch_size=b).values)
                         for b in ds.batch_size.values]) for o in ds.optimizer.values}


def verdict(bs, lr_opt, b_noise) -> list[str]:
    """Where the optimal lr peaks (toy: at B_noise) and whether it falls beyond (toy: to
    ε_opt(B_max)/ε_max of Li et al. Eq 2 with the measured B_noise)."""
    bs, lr_opt = np.asarray(bs, float), np.asarray(lr_opt, float)
    i = int(np.argmax(lr_opt))
    rise, fall = lr_opt[i] / lr_opt[0], lr_opt[-1] / lr_opt[i]
    toy_fall = float(toy_lr(bs[-1], 1.0, b_noise) / toy_lr(b_noise, 1.0, b_noise)) if b_noise < bs[-1] else 1.0
    where = bs[i] / b_noise
    loc = "AGREES (within a factor 2)" if 0.5 <= where <= 2 else "DISAGREES (beyond a factor 2)"
    if i == len(bs) - 1:
        loc += f"; the maximum is at the largest B tried"
    dec = ("AGREES" if fall <= 0.5 * (1 + toy_fall) else "DISAGREES (no decline)") if toy_fall < 0.95 else "n/a"
    return [f"rises ×{rise:.1f} from B = {bs[0]:.0f} to its maximum at B = {bs[i]:.0f} = {where:.1f} × B_noise "
            f"(measured {b_noise:.1f}) → peak location {loc}",
            f"beyond the maximum: ε_opt(B = {bs[-1]:.0f})/max = {fall:.2f}, toy {toy_fall:.2f} → decline {dec}"]


def report(ds) -> str:
    opt = optimal_lrs(ds)
    bs = ds.batch_size.values
    rows = [f"checkpoint after {ds.attrs['checkpoint_step']} Adam steps (val loss ≤ {ds.attrs['target']}); "
            f"k = {ds.attrs['k']} further steps per (B, lr, seed)",
            f"measured at the checkpoint (windows of {ds.attrs['block_size']} bytes): B_simple = "
            f"{ds.attrs['b_simple']:.2f} (|G|² = {ds.attrs['grad_sq']:.3g} ± {ds.attrs['grad_sq_se']:.2g}, "
            f"trΣ = {ds.attrs['trace_cov']:.3g} ± {ds.attrs['trace_cov_se']:.2g}), B_noise = {ds.attrs['b_noise']:.2f}",
            "", "| B | " + " | ".join(f"optimal lr {o}" for o in opt) + " | toy ε_opt (B_noise measured, height matched) |",
            "|---|" + "---|" * (len(opt) + 1)]
    bn = ds.attrs["b_noise"]
    toy = toy_lr(bs, 1.0, bn) if np.isfinite(bn) and bn > 0 else np.full(len(bs), np.nan)
    scale = np.nanmax(opt["adam_0.9_0.999"]) / np.nanmax(toy) if np.isfinite(toy).all() else np.nan
    for i, b in enumerate(bs):
        rows.append(f"| {b} | " + " | ".join(f"{opt[o][i]:.3g}" for o in opt) + f" | {toy[i] * scale:.3g} |")
    rows.append("")
    for o in opt:
        rows += [f"{o}: {line}" for line in verdict(bs, opt[o], bn)]
    return "\n".join(rows)


def plot(ds, path):
    plt = _lm.pyplot()
    opt = optimal_lrs(ds)
    bs = ds.batch_size.values
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    for (o, lr), c in zip(opt.items(), ("C0", "C3")):
        ax[0].plot(bs, lr, "o-", color=c, label=f"LM {o.replace('_', ' ')}")
    bn, bsim = ds.attrs["b_noise"], ds.attrs["b_simple"]
    if np.isfinite(bn) and bn > 0:
        grid = np.geomspace(bs[0], bs[-1], 200)
        toy = toy_lr(grid, 1.0, bn)
        ax[0].plot(grid, toy * np.nanmax(opt["adam_0.9_0.999"]) / toy_lr(bn, 1.0, bn), "k:",
                   label="toy (Li et al. Eq 2), B_noise measured")
        ax[0].axvline(bn, color="k", lw=0.8, ls="--", label=f"B_noise = {bn:.1f}")
    if np.isfinite(bsim) and bsim > 0:
        ax[0].axvline(bsim, color="C2", lw=0.8, ls="--", label=f"B_simple = {bsim:.1f}")
    ax[0].set(xscale="log", yscale="log", xlabel="batch size B (windows)", ylabel="optimal lr (largest loss drop)",
              title=f"optimal Adam lr vs B ({ds.attrs['k']} steps from one checkpoint)")
    ax[0].legend(fontsize=7, loc="lower right")
    mean = ds.loss_drop.mean("seed").sel(optimizer="adam_0.9_0.999")
    for i, b in enumerate(bs):
        ax[1].plot(ds.lr, mean.sel(batch_size=b), color=plt.cm.viridis(i / max(1, len(bs) - 1)), label=f"B={b}")
    ax[1].set(xscale="log", xlabel="lr", ylabel="val loss drop (nats/byte)", title="Adam (0.9, 0.999): drop vs lr")
    lo = float(np.nanmax(mean.values))
    ax[1].set_ylim(-0.5 * abs(lo), 1.2 * abs(lo))
    ax[1].legend(fontsize=7, ncol=2)
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
