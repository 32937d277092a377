"""Adam's betas at small and large batch in multi-epoch training on the LM (Cattaneo & Shigida 2026).

Toy prediction (``experiments.c_total``, docs/c_total.md; C_total of Eq. 7 with λ = (N/b − 1)/(N − 1)·
B_simple, Eq. 8): C_total — the strength of the implicit penalty on the gradient ℓ1 norm (flatness) —
increases in β2 at small batch (λ > 0.5, b < 2·B_simple) and decreases at large batch (λ < 0.4945);
in β1 the switch is near λ ≈ 1. The paper's hypothesis: larger C_total → flatter minima → better
validation loss. So at small b the best β2 (at β1 = 0.9) is the largest, at large b the smallest
(β2 = β1), and at large b β1 = β2 beats β1 = 0.9. ``simlab.advise`` gives the prescription for the
measured B_simple.

Protocol: a small subset of N windows of the training text, visited epoch by epoch without replacement
(``simlab.lm.data.EpochSampler``) for enough epochs to overfit (the validation loss passes its
minimum). A β2 sweep at β1 = 0.9 and a β1 sweep at β2 = 0.999, at a small and a large batch size, Adam
without weight decay at one fixed lr per batch size. Per run: the best validation loss over the
records (every ~5 % of the run) and the sharpness (top Hessian eigenvalue on training windows) at the
end. B_simple is measured during training on the subset (two-batch probes, b = 2, κ = 4) in the
default-betas run at the small batch, as the ratio of the means over all probes.

    python -m experiments.lm_betas [--quick] [--device cpu|cuda] [--seeds N] [--out DIR] [--no-cache]
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from experiments import _lm

NAME = "lm_betas"
BETAS = [(0.9, 0.9), (0.9, 0.99), (0.9, 0.999), (0.99, 0.999), (0.999, 0.999)]
BETA2_SWEEP = [(0.9, 0.9), (0.9, 0.99), (0.9, 0.999)]          # at β1 = 0.9
BETA1_SWEEP = [(0.9, 0.999), (0.99, 0.999), (0.999, 0.999)]    # at β2 = 0.999
SIZES = {
    "quick": dict(model="tiny", windows=32, batches={2: dict(lr=3e-3, epochs=3), 16: dict(lr=1e-2, epochs=12)},
                  seeds=1, eval_windows=16, records=4, sharpness_windows=8),
    "cpu": dict(model="cpu", windows=128, batches={2: dict(lr=2e-3, epochs=20), 32: dict(lr=6e-3, epochs=150)},
                seeds=1, eval_windows=128, records=20, sharpness_windows=32),
    "cuda": dict(model="cuda", windows=1024, batches={4: dict(lr=1e-3, epochs=10), 128: dict(lr=3e-3, epochs=100)},
                 seeds=1, eval_windows=512, records=20, sharpness_windows=64),
}


def compute(size: dict, splits, device: str, seeds: int) -> xr.Dataset:
    from simlab.lm import ModelConfig, TrainConfig, train
    mcfg = ModelConfig.preset(size["model"])
    bs = sorted(size["batches"])
    best = np.full((len(bs), len(BETAS), seeds), np.nan)
    sharp, final_train, best_step = (np.full_like(best, np.nan) for _ in range(3))
    curves, b_simple = {}, {}
    for bi, b in enumerate(bs):
        spec = size["batches"][b]
        steps = spec["epochs"] * (size["windows"] // b)
        rec = tuple(sorted(set(np.linspace(0, steps, size["records"] + 1).astype(int).tolist())))
        for ki, betas in enumerate(BETAS):
            for s in range(seeds):
                probe = bi == 0 and betas == (0.9, 0.999) and s == 0
                tcfg = TrainConfig(optimizer="adam", lr=spec["lr"], betas=betas, batch_size=b, steps=steps,
                                   sampler="epoch", subset_windows=size["windows"], records=rec,
                                   eval_windows=size["eval_windows"], sharpness_at=(steps,), seed=s,
                                   sharpness_windows=size["sharpness_windows"],
                                   probe_every=max(1, steps // 40) if probe else 0, probe_batch=2,
                                   probe_kappa=4, device=device)
                ds, _ = train(mcfg, tcfg, splits)
                v = ds.val_loss.values
                best[bi, ki, s] = np.min(v) if ds.attrs["diverged"] == 0 else np.inf
                best_step[bi, ki, s] = ds.record.values[int(np.argmin(v))]
                final_train[bi, ki, s] = ds.train_eval_loss.values[-1]
                sharp[bi, ki, s] = ds.sharpness.values[-1] if ds.sizes["check"] else np.nan
                if s == 0:
                    curves[(b, betas)] = (ds.record.values, v, ds.train_eval_loss.values)
                if probe:
                    b_simple = dict(b_simple=ds.attrs["b_simple"], grad_sq=ds.attrs["grad_sq"],
                                    trace_cov=ds.attrs["trace_cov"])
                print(f"  b={b} betas={betas}: best val {best[bi, ki, s]:.4f} at step {best_step[bi, ki, s]:.0f}"
                      f"/{steps}, final train {final_train[bi, ki, s]:.4f}, sharpness {sharp[bi, ki, s]:.1f}",
                      flush=True)
    n_rec = max(len(c[0]) for c in curves.values())
    curve_val = np.full((len(bs), len(BETAS), n_rec), np.nan)
    curve_train, curve_step = np.full_like(curve_val, np.nan), np.full_like(curve_val, np.nan)
    for (b, betas), (r, v, t) in curves.items():
        i, k = bs.index(b), BETAS.index(betas)
        curve_step[i, k, :len(r)], curve_val[i, k, :len(v)], curve_train[i, k, :len(t)] = r, v, t
    dims = ("batch_size", "betas", "seed")
    return xr.Dataset(
        {"best_val_loss": (dims, best), "best_step": (dims, best_step), "sharpness": (dims, sharp),
         "final_train_loss": (dims, final_train),
         "curve_step": (("batch_size", "betas", "record"), curve_step),
         "curve_val": (("batch_size", "betas", "record"), curve_val),
         "curve_train": (("batch_size", "betas", "record"), curve_train),
         "beta1": ("betas", [b[0] for b in BETAS]), "beta2": ("betas", [b[1] for b in BETAS])},
        coords={"batch_size": bs, "betas": [f"{b1}/{b2}" for b1, b2 in BETAS], "seed": np.arange(seeds)},
        attrs={"windows": size["windows"], **b_simple})


def _pick(ds, b, sweep):
    vals = [float(ds.best_val_loss.sel(batch_size=b, betas=f"{b1}/{b2}").mean("seed")) for b1, b2 in sweep]
    return sweep[int(np.argmin(vals))], vals


def predictions(ds):
    """Per batch size: λ, the advise() prescription and the toy's argmax of C_total in each sweep."""
    from simlab.advise import advise
    from simlab.theory import implicit_bias as ib
    out = {}
    bsimple, n = float(ds.attrs["b_simple"]), int(ds.attrs["windows"])
    for b in ds.batch_size.values:
        a = advise(int(b), n, bsimple, beta_max=0.999)
        ct = [float(ib.c_total(b1, b2, a.lam)) for b1, b2 in BETAS]
        out[int(b)] = dict(advice=a, c_total=ct)
    return out


def report(ds) -> str:
    bsim = float(ds.attrs.get("b_simple", np.nan))
    n = int(ds.attrs["windows"])
    rows = [f"subset N = {n} windows; measured B_simple = {bsim:.2f} windows (trΣ = {ds.attrs.get('trace_cov', np.nan):.3g},"
            f" |G|² = {ds.attrs.get('grad_sq', np.nan):.3g}; mean over the small-batch default-betas run)"]
    if not (np.isfinite(bsim) and bsim > 0):
        return "\n".join(rows + ["B_simple estimate not positive/finite: no toy prediction possible"])
    pred = predictions(ds)
    rows += ["", "| b | β1/β2 | best val loss | at step | final train loss | sharpness | toy C_total(λ) |",
             "|---|---|---|---|---|---|---|"]
    for b in ds.batch_size.values:
        for k, name in enumerate(ds.betas.values):
            sel = dict(batch_size=b, betas=name)
            last = float(ds.best_step.sel(**sel).max()) >= float(ds.curve_step.sel(batch_size=b, betas=name).max())
            rows.append(f"| {b} | {name} | {float(ds.best_val_loss.sel(**sel).mean()):.4f}{' *' if last else ''} | "
                        f"{float(ds.best_step.sel(**sel).mean()):.0f} | {float(ds.final_train_loss.sel(**sel).mean()):.4f} | "
                        f"{float(ds.sharpness.sel(**sel).mean()):.1f} | {pred[int(b)]['c_total'][k]:.3g} |")
    rows.append("* best at the last record: still improving when the budget ended (slow, not overfitted), so that "
                "run's comparison measures speed as much as generalization")
    rows.append("")
    for b in ds.batch_size.values:
        a = pred[int(b)]["advice"]
        got2, _ = _pick(ds, b, BETA2_SWEEP)
        got1, _ = _pick(ds, b, BETA1_SWEEP)
        want2, want1 = a.best_beta2_at_beta1_0_9, a.best_beta1_at_beta2_max
        side = "small-batch side (b < 2·B_simple)" if a.lam > 0.5 else "large-batch side (b > 2·B_simple)"
        rows.append(f"b = {b}: λ = {a.lam:.3f}, {side}; simlab.advise: {a.regime}, prescribes β1 = {a.beta1:.4g}, "
                    f"β2 = {a.beta2:.4g}")
        rows.append(f"  β2 sweep at β1 = 0.9: LM best β2 = {got2[1]}, toy argmax C_total = {want2:.4g} → "
                    f"{'AGREES' if abs(got2[1] - want2) < 1e-9 else 'DISAGREES'}")
        rows.append(f"  β1 sweep at β2 = 0.999: LM best β1 = {got1[0]}, toy argmax C_total = {want1:.4g} → "
                    f"{'AGREES' if abs(got1[0] - want1) < 1e-9 else 'DISAGREES'}")
        ct = np.array(pred[int(b)]["c_total"])
        sh = np.array([float(ds.sharpness.sel(batch_size=b, betas=nm).mean()) for nm in ds.betas.values])
        rho = _spearman(ct, sh)
        rows.append(f"  C_total vs sharpness over the 5 betas: Spearman ρ = {rho:+.2f} (toy hypothesis: negative, "
                    f"more implicit regularization → flatter) → {'AGREES' if rho < 0 else 'DISAGREES'}")
    lo, hi = ds.batch_size.values[0], ds.batch_size.values[-1]
    g_lo, _ = _pick(ds, lo, BETA2_SWEEP)
    g_hi, _ = _pick(ds, hi, BETA2_SWEEP)
    flips = g_lo[1] > g_hi[1]
    rows.append(f"does the preferred β2 flip between b = {lo} and b = {hi} (toy: flips at b ≈ 2·B_simple = "
                f"{2 * bsim:.1f})? LM: {g_lo[1]} → {g_hi[1]}: {'yes' if flips else 'no'}")
    return "\n".join(rows)


def _spearman(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if np.std(ra) == 0 or np.std(rb) == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def plot(ds, path):
    plt = _lm.pyplot()
    bs = ds.batch_size.values
    fig, ax = plt.subplots(1, 3, figsize=(14, 3.8))
    for i, b in enumerate(bs):
        for sweep, marker, label in ((BETA2_SWEEP, "o", "β2 sweep (β1=0.9), x = β2"),
                                     (BETA1_SWEEP, "s", "β1 sweep (β2=0.999), x = β1")):
            x = [b2 if sweep is BETA2_SWEEP else b1 for b1, b2 in sweep]
            y = [float(ds.best_val_loss.sel(batch_size=b, betas=f"{b1}/{b2}").mean()) for b1, b2 in sweep]
            ax[0].plot(1 - np.array(x), y, marker=marker, ls="-" if sweep is BETA2_SWEEP else "--",
                       color=f"C{i}", label=f"b={b}: {label}")
    ax[0].set(xscale="log", xlabel="1 − β (swept beta)", ylabel="best val loss (nats/byte)",
              title="LM: best validation loss")
    ax[0].invert_xaxis()
    ax[0].legend(fontsize=7)
    bsim = float(ds.attrs.get("b_simple", np.nan))
    if np.isfinite(bsim) and bsim > 0:
        from simlab.theory import implicit_bias as ib
        n = int(ds.attrs["windows"])
        for i, b in enumerate(bs):
            lam = ib.noise_ratio(n, int(b), bsim)
            b2 = np.linspace(0.9, 0.999, 100)
            ax[1].plot(1 - b2, ib.c_total(0.9, b2, lam), color=f"C{i}", label=f"b={b}: C_total(0.9, β2), λ={lam:.2f}")
            b1 = np.linspace(0.9, 0.999, 100)
            ax[1].plot(1 - b1, ib.c_total(b1, 0.999, lam), "--", color=f"C{i}", label=f"b={b}: C_total(β1, 0.999)")
        ax[1].set(xscale="log", yscale="symlog", xlabel="1 − β", ylabel="C_total",
                  title=f"toy: C_total with measured B_simple = {bsim:.1f}")
        ax[1].invert_xaxis()
        ax[1].legend(fontsize=7)
    for i, b in enumerate(bs):
        for k, name in enumerate(ds.betas.values):
            ax[2].plot(ds.curve_step.sel(batch_size=b, betas=name) / ds.curve_step.sel(batch_size=b, betas=name).max(),
                       ds.curve_val.sel(batch_size=b, betas=name), color=f"C{i}", alpha=0.4 + 0.12 * k, lw=1)
    ax[2].set(xlabel="fraction of the run", ylabel="val loss", title="overfitting: val loss along the runs")
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
