"""C_total(β1, β2, λ) of Cattaneo & Shigida 2026 (Section 3, eq. 7) and its switch points.

Draws C_total(0.9, β2, λ), C_total(0.99, β2, λ) over β2 and C_total(β1, 0.999, λ) over β1 for several
λ; the sign of ∂C_total/∂β2 over (β2, λ) for β1 = 0.9 and 0.99 with the computed thresholds marked;
and the β1/β2 that maximise C_total against b/B_simple for a dataset of N samples. Prints every
lemma threshold next to the paper's value, the Lemma A.1 ratios, and the numerical check of C1..C5
against the exact App. A.1 memory correction (``simlab.theory.memory_correction``).

Pure theory: ``--backend`` and ``--seeds`` are accepted for uniformity and ignored.
"""
from __future__ import annotations

import json
import time

import numpy as np
import xarray as xr
from matplotlib.ticker import NullFormatter, ScalarFormatter
from tqdm import tqdm

from experiments._cli import run_cli, standard_parser
from simlab.cache import cached
from simlab.plotting import plt, save_figure, style
from simlab.theory import implicit_bias as ib
from simlab.theory import memory_correction as mc

NAME = "c_total"
LAMS = (0.1, 0.3, 0.49, 0.5, 0.51, 1.0, 2.0, 5.0)
DATASET_SIZE = 50_000
B_SIMPLE = 100.0
CHECK_PAIRS_QUICK = ((0.9, 0.95), (0.8, 0.6), (0.95, 0.9))
CHECK_PAIRS_FULL = CHECK_PAIRS_QUICK + ((0.9, 0.99), (0.99, 0.95))

# (label, paper's statement, how to read our number against it)
PAPER = {
    "L3.4 incr. in b2 (b1=0.9) for lam >": "0.5082",
    "L3.4 decr. in b2 (b1=0.9) for lam <": "0.494",
    "L3.5 incr. in b2 (b1=0.99) for lam >": "2.685",
    "L3.5 convex, interior min: lam >": "0.5",
    "L3.5 convex, interior min: lam <": "2.684",
    "L3.5 decr. in b2 (b1=0.99) for lam <": "0.499",
    "L3.6 decr. in b1 (b2=0.999) for lam >": "1.002",
    "L3.6 incr. in b1 (b2=0.999) for lam <": "0.995",
    "L3.7 min d/db C1(b,b) on [0.5,1)": "> 0",
}
A1_BOUNDS = {"|C4/C1|(0.9,.)": "< 3e-4", "|C5/C1|(0.9,.)": "< 4e-3", "|C4/C2|(0.99,.)": "< 1e-3",
             "|C4/C5|(0.99,.)": "< 1e-3 (OCR)", "|C5/C2|(0.99,.)": "< 6e-? (OCR)",
             "|C4/C2|(.,0.999)": "< 6e-? (OCR)", "|C5/C2|(.,0.999)": "< 5e-4"}


def thresholds() -> dict:
    s4, s5, s6 = ib.switch_points_beta2(0.9), ib.switch_points_beta2(0.99), ib.switch_points_beta1(0.999)
    convex, slope = ib.convexity_window_beta2(0.99)
    vals = [s4.lam_upper, s4.lam_lower, s5.lam_upper, convex, slope, s5.lam_lower,
            s6.lam_upper, s6.lam_lower, ib.diagonal_min_slope(0.5)[0]]
    return dict(zip(PAPER, vals))


def compute(quick: bool) -> xr.Dataset:
    n = 200 if quick else 1200
    x = 1 - np.geomspace(0.1, 1e-4, n)                       # β on [0.9, 0.9999]
    lam = np.asarray(LAMS)
    ds = xr.Dataset(coords={"beta": x, "lam": lam})
    ds["c_total_b1_0.9"] = (("lam", "beta"), ib.c_total(0.9, x[None, :], lam[:, None]))
    ds["c_total_b1_0.99"] = (("lam", "beta"), ib.c_total(0.99, x[None, :], lam[:, None]))
    ds["c_total_b2_0.999"] = (("lam", "beta"), ib.c_total(x[None, :], 0.999, lam[:, None]))

    lam_map = np.linspace(0.3, 3.0, 120 if quick else 500)
    ds = ds.assign_coords(lam_map=lam_map)
    for b1 in (0.9, 0.99):
        h = 1e-6 * (1 - x)
        slope = (ib.c_total(b1, x[None, :] + h, lam_map[:, None])
                 - ib.c_total(b1, x[None, :] - h, lam_map[:, None])) / (2 * h)
        ds[f"slope_sign_b1_{b1}"] = (("lam_map", "beta"), np.sign(slope).astype(np.int8))

    ratio = np.geomspace(0.05, 50, 40 if quick else 150)     # b / B_simple
    lam_rec = np.array([ib.noise_ratio(DATASET_SIZE, r * B_SIMPLE, B_SIMPLE) for r in ratio])
    ds = ds.assign_coords(b_over_bsimple=ratio)
    ds["lam_rec"] = ("b_over_bsimple", lam_rec)
    ds["best_beta2_at_b1_0.9"] = ("b_over_bsimple", ib.best_beta2(0.9, lam_rec, hi=0.999))
    ds["best_beta1_at_b2_0.999"] = ("b_over_bsimple", ib.best_beta1(0.999, lam_rec))

    th = thresholds()
    ds = ds.assign_coords(threshold=list(th))
    ds["threshold_value"] = ("threshold", np.array(list(th.values())))
    a1 = ib.lemma_a1_ratios()
    a1_half = ib.lemma_a1_ratios(c4_half=True)
    ds = ds.assign_coords(ratio_name=list(a1))
    ds["a1_sup"] = ("ratio_name", np.array(list(a1.values())))
    ds["a1_sup_c4_half"] = ("ratio_name", np.array(list(a1_half.values())))

    pairs = CHECK_PAIRS_QUICK if quick else CHECK_PAIRS_FULL
    names = ["FB", "C1", "C2", "C3", "C4", "C5"]
    meas = np.empty((len(pairs), len(names)))
    closed = np.empty_like(meas)
    horizon = np.empty(len(pairs), dtype=np.int32)
    for p, (b1, b2) in enumerate(tqdm(pairs, desc="App. A.1 check", leave=False)):
        got, ref = mc.noise_coefficients(b1, b2), mc.closed_forms(b1, b2)
        meas[p] = [got[k] for k in names]
        closed[p] = [ref[k] for k in names]
        horizon[p] = got["n"]
    ds = ds.assign_coords(pair=[f"{a}/{b}" for a, b in pairs], constant=names)
    ds["check_measured"] = (("pair", "constant"), meas)
    ds["check_closed_form"] = (("pair", "constant"), closed)
    ds["check_steps"] = ("pair", horizon)
    return ds


def _curves(ax, ds, var, title, xlabel):
    x = ds["beta"].values
    colors = plt.cm.viridis(np.linspace(0, 0.9, ds.sizes["lam"]))
    for c, lv in zip(colors, ds["lam"].values):
        ax.plot(1 - x, ds[var].sel(lam=lv), color=c, label=f"λ={lv:g}")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_yscale("symlog", linthresh=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("C_total")
    ax.set_title(title)


def plot(ds: xr.Dataset, out):
    style()
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    _curves(axes[0, 0], ds, "c_total_b1_0.9", "C_total(0.9, β2, λ)", "1 − β2")
    _curves(axes[0, 1], ds, "c_total_b1_0.99", "C_total(0.99, β2, λ)", "1 − β2")
    _curves(axes[0, 2], ds, "c_total_b2_0.999", "C_total(β1, 0.999, λ)", "1 − β1")
    axes[0, 0].legend(fontsize=7, ncol=2)
    th = dict(zip(ds["threshold"].values, ds["threshold_value"].values))
    keys = list(PAPER)
    for ax, b1, (up, lo) in ((axes[1, 0], 0.9, (keys[0], keys[1])), (axes[1, 1], 0.99, (keys[2], keys[5]))):
        sign = ds[f"slope_sign_b1_{b1}"]
        ax.pcolormesh(1 - ds["beta"], ds["lam_map"], sign, cmap="coolwarm", vmin=-1.5, vmax=1.5,
                      shading="auto", rasterized=True)
        ax.set_xscale("log")
        ax.invert_xaxis()
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_yticks([0.3, 0.5, 1.0, 2.0, 3.0])
        ax.axhline(th[up], color="k", ls="--", lw=1, label=f"sup r = {th[up]:.4f} (incr. above)")
        ax.axhline(th[lo], color="k", ls=":", lw=1, label=f"inf r = {th[lo]:.4f} (decr. below)")
        ax.set_xlabel("1 − β2")
        ax.set_ylabel("λ")
        ax.set_title(f"sign ∂C_total/∂β2, β1={b1} (red +, blue −)")
        ax.legend(fontsize=7, loc="upper left")
    ax = axes[1, 2]
    r = ds["b_over_bsimple"].values
    ax.plot(r, ds["best_beta2_at_b1_0.9"], label="best β2 (β1 = 0.9)", color="C3")
    ax.plot(r, ds["best_beta1_at_b2_0.999"], label="best β1 (β2 = 0.999)", color="C0", ls="--")
    for target, ls in ((0.5, "-"), (1.0, ":")):
        b_ratio = ib.batch_size_for(target, DATASET_SIZE, B_SIMPLE) / B_SIMPLE
        ax.axvline(b_ratio, color="gray", ls=ls, lw=1, label=f"λ = {target:g} (b = {b_ratio:.3f} B_simple)")
    ax.set_xscale("log")
    ax.set_xlabel("b / B_simple")
    ax.set_ylabel("β maximising C_total")
    ax.set_title(f"recommended betas, N = {DATASET_SIZE}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out, NAME)


def summary(ds: xr.Dataset) -> str:
    lines = [f"{'threshold':42s} {'computed':>12s}  paper"]
    for name, v in zip(ds["threshold"].values, ds["threshold_value"].values):
        lines.append(f"{name:42s} {v:12.6f}  {PAPER[str(name)]}")
    lines.append("")
    lines.append(f"{'Lemma A.1 sup ratio':22s} {'C4 as is':>10s} {'C4/2':>10s}  paper")
    for name, a, b in zip(ds["ratio_name"].values, ds["a1_sup"].values, ds["a1_sup_c4_half"].values):
        lines.append(f"{name:22s} {a:10.3e} {b:10.3e}  {A1_BOUNDS[str(name)]}")
    lines.append("")
    lines.append("App. A.1 memory correction (exact, n steps) vs closed forms:")
    lines.append(f"{'b1/b2':>10s} {'n':>5s} {'const':>5s} {'measured':>16s} {'closed form':>16s} {'rel.err':>9s}")
    worst = 0.0
    for p in ds["pair"].values:
        for c in ds["constant"].values:
            m = float(ds["check_measured"].sel(pair=p, constant=c))
            f = float(ds["check_closed_form"].sel(pair=p, constant=c))
            err = abs(m - f) / abs(f)
            worst = max(worst, err)
            lines.append(f"{p:>10s} {int(ds['check_steps'].sel(pair=p)):5d} {c:>5s} {m:16.9f} {f:16.9f} {err:9.1e}")
    lines.append(f"max relative error: {worst:.1e}")
    return "\n".join(lines)


def main(args):
    t0 = time.time()
    config = {"name": NAME, "quick": bool(args.quick), "lams": LAMS, "N": DATASET_SIZE,
              "b_simple": B_SIMPLE, "version": 1}
    ds, was_cached = cached(args.out / f"{NAME}.nc", config, lambda: compute(args.quick),
                            use_cache=not args.no_cache)
    plot(ds, args.out)
    print(summary(ds))
    print(f"[{NAME}] {'loaded from cache' if was_cached else 'computed'}; figure in "
          f"{args.out / (NAME + '.png')} ({time.time() - t0:.1f} s); config {json.dumps(config)}")


def cli(argv=None) -> int:
    parser = standard_parser(NAME, __doc__.splitlines()[0], default_seeds=1)
    return run_cli(parser, main, argv)


if __name__ == "__main__":
    raise SystemExit(cli())
