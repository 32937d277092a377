"""C_total(β1, β2, λ) of Cattaneo & Shigida 2026 (Section 3, eq. 7) and its switch points.

Draws C_total(0.9, β2, λ), C_total(0.99, β2, λ) over β2 and C_total(β1, 0.999, λ) over β1 for several
λ; the sign of ∂C_total/∂β2 over (β2, λ) for β1 = 0.9 and 0.99 with the computed thresholds marked;
and the β1/β2 that maximise C_total against b/B_simple for a dataset of N samples. Prints every
lemma threshold next to the paper's value, the Lemma A.1 ratios, and the numerical check of C1..C5
against the exact App. A.1 memory correction (``simlab.theory.memory_correction``).

Pure theory, so no ``--backend`` or ``--seeds``. Cells (each cached on its own): the three C_total
curve families, the two slope-sign maps, the recommended betas, the thresholds, the Lemma A.1
ratios, and one App. A.1 check per (β1, β2) pair (the slow part: ~14 s for pairs with β → 0.99).
"""
from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.ticker import FixedLocator, NullFormatter

from experiments._harness import Experiment
from simlab.plotting import log_ticks, paper_title, plt, save_figure, style, value_ticks
from simlab.theory import implicit_bias as ib
from simlab.theory import memory_correction as mc
from simlab.verdict import Exact

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


def _betas(quick: bool) -> np.ndarray:
    return 1 - np.geomspace(0.1, 1e-4, 200 if quick else 1200)      # β on [0.9, 0.9999]


def curves_cell(quick: bool) -> xr.Dataset:
    """C_total(0.9, β2, λ), C_total(0.99, β2, λ) and C_total(β1, 0.999, λ) for λ in LAMS."""
    x, lam = _betas(quick), np.asarray(LAMS)
    ds = xr.Dataset(coords={"beta": x, "lam": lam})
    ds["c_total_b1_0.9"] = (("lam", "beta"), ib.c_total(0.9, x[None, :], lam[:, None]))
    ds["c_total_b1_0.99"] = (("lam", "beta"), ib.c_total(0.99, x[None, :], lam[:, None]))
    ds["c_total_b2_0.999"] = (("lam", "beta"), ib.c_total(x[None, :], 0.999, lam[:, None]))
    return ds


def slope_map_cell(quick: bool) -> xr.Dataset:
    """sign ∂C_total/∂β2 (central differences) over (λ, β2) for β1 = 0.9 and 0.99."""
    x = _betas(quick)
    lam_map = np.linspace(0.3, 3.0, 120 if quick else 500)
    ds = xr.Dataset(coords={"beta": x, "lam_map": lam_map})
    for b1 in (0.9, 0.99):
        h = 1e-6 * (1 - x)
        slope = (ib.c_total(b1, x[None, :] + h, lam_map[:, None])
                 - ib.c_total(b1, x[None, :] - h, lam_map[:, None])) / (2 * h)
        ds[f"slope_sign_b1_{b1}"] = (("lam_map", "beta"), np.sign(slope).astype(np.int8))
    return ds


def best_betas_cell(quick: bool) -> xr.Dataset:
    """The β2 (at β1 = 0.9) and β1 (at β2 = 0.999) maximising C_total against b/B_simple."""
    ratio = np.geomspace(0.05, 50, 40 if quick else 150)     # b / B_simple
    lam_rec = np.array([ib.noise_ratio(DATASET_SIZE, r * B_SIMPLE, B_SIMPLE) for r in ratio])
    switch = [ib.batch_size_for(t, DATASET_SIZE, B_SIMPLE) / B_SIMPLE for t in (0.5, 1.0)]
    return xr.Dataset({"lam_rec": ("b_over_bsimple", lam_rec),
                       "best_beta2_at_b1_0.9": ("b_over_bsimple",
                                                ib.best_beta2(0.9, lam_rec, hi=0.999)),
                       "best_beta1_at_b2_0.999": ("b_over_bsimple", ib.best_beta1(0.999, lam_rec)),
                       "switch_b_over_bsimple": ("switch_lam", switch)},
                      coords={"b_over_bsimple": ratio, "switch_lam": [0.5, 1.0]})


def thresholds_cell() -> xr.Dataset:
    th = thresholds()
    return xr.Dataset({"threshold_value": ("threshold", np.array(list(th.values())))},
                      coords={"threshold": list(th)})


def lemma_a1_cell() -> xr.Dataset:
    a1, a1_half = ib.lemma_a1_ratios(), ib.lemma_a1_ratios(c4_half=True)
    return xr.Dataset({"a1_sup": ("ratio_name", np.array(list(a1.values()))),
                       "a1_sup_c4_half": ("ratio_name", np.array(list(a1_half.values())))},
                      coords={"ratio_name": list(a1)})


CHECK_CONSTANTS = ["FB", "C1", "C2", "C3", "C4", "C5"]


def memory_check_cell(beta1: float, beta2: float) -> xr.Dataset:
    """App. A.1 memory correction computed exactly (n steps) vs the closed forms C1..C5."""
    got, ref = mc.noise_coefficients(beta1, beta2), mc.closed_forms(beta1, beta2)
    return xr.Dataset({"check_measured": ("constant", [got[k] for k in CHECK_CONSTANTS]),
                       "check_closed_form": ("constant", [ref[k] for k in CHECK_CONSTANTS]),
                       "check_steps": ((), np.int32(got["n"]))},
                      coords={"constant": CHECK_CONSTANTS})


TABLES = {"curves": curves_cell, "slope_map": slope_map_cell, "best_betas": best_betas_cell,
          "thresholds": lambda quick: thresholds_cell(), "lemma_a1": lambda quick: lemma_a1_cell()}


def table_cell(spec: dict) -> xr.Dataset:
    """One of the cheap tables, ``spec = {"kind": name in TABLES, "quick": bool}``."""
    return TABLES[spec["kind"]](spec["quick"])


def memory_check_pair(pair) -> xr.Dataset:
    """``memory_check_cell`` of one (β1, β2) pair."""
    return memory_check_cell(*pair)


def resolve(args) -> dict:
    return {"quick": bool(args.quick), "lams": list(LAMS), "N": DATASET_SIZE,
            "b_simple": B_SIMPLE,
            "pairs": [list(p) for p in (CHECK_PAIRS_QUICK if args.quick else CHECK_PAIRS_FULL)]}


def compute(config: dict, cells) -> xr.Dataset:
    quick = config["quick"]
    tables = cells.map(table_cell, [{"kind": k, "quick": quick} for k in TABLES], label="tables")
    pairs = [tuple(p) for p in config["pairs"]]
    checks = cells.map(memory_check_pair, pairs, label="App. A.1 checks")
    check = xr.concat(checks, dim="pair").assign_coords(pair=[f"{a}/{b}" for a, b in pairs])
    check["check_c1_ocr"] = ("pair", [float(ib.c1(a, b, reading="ocr")) for a, b in pairs])
    return xr.merge([*tables, check], combine_attrs="drop")


# -- what the claims measure (read the stored Dataset only) ---------------------------------------

# brentq's tolerance on the threshold roots and the scan that brackets them: the thresholds are
# exact to far better than this (88/27 and (1+β2)/(2(2β2−1)) are reproduced to 1e-12)
THRESHOLD_RESOLUTION = 1e-6


def measure_threshold(ds, name: str) -> Exact:
    """One computed lemma threshold (a λ bound, or Lemma 3.7's minimum slope) by its label in
    ``PAPER``: exact derivatives (Taylor jets) and root polishing, no simulation."""
    if name not in PAPER:
        raise ValueError(f"name={name!r} is not one of {list(PAPER)}")
    return Exact(float(ds.threshold_value.sel(threshold=name)), THRESHOLD_RESOLUTION)


def measure_convex_minimum(ds, lam: float) -> Exact:
    """Lemma 3.5's convex regime at λ: min over the stored β2 grid [0.9, 0.9999] of
    C_total(0.99, β2, λ) minus the smaller of its two end values — negative iff the minimizer is
    strictly inside the interval."""
    curve = ds["c_total_b1_0.99"].sel(lam=lam).values
    return Exact(float(np.min(curve) - min(curve[0], curve[-1])))


def measure_convexity(ds, lam: float) -> Exact:
    """Lemma 3.5's strict convexity at λ: the smallest second divided difference of
    C_total(0.99, β2, λ) over the stored β2 grid (positive iff convex on the grid)."""
    x, y = ds["beta"].values, ds["c_total_b1_0.99"].sel(lam=lam).values
    slopes = np.diff(y) / np.diff(x)
    second = np.diff(slopes) / (0.5 * (x[2:] - x[:-2]))
    return Exact(float(np.min(second)))


def measure_a1_ratio(ds, name: str) -> Exact:
    """sup over [0.9, 1) of one Lemma A.1 ratio (C4 as defined), by its label."""
    return Exact(float(ds.a1_sup.sel(ratio_name=name)))


def measure_memory_check(ds, reading: str = "derived") -> Exact:
    """The largest relative error, over the checked (β1, β2) pairs and FB, C1..C5, between the
    App. A.1 memory correction computed exactly (finite n, numerical second derivatives with
    Richardson extrapolation) and the App. A.2 closed forms; ``reading="ocr"``: C1 alone, as the
    literal OCR text of App. A.2 prints it (the derived C1 + 2)."""
    measured = ds.check_measured
    if reading == "derived":
        rel = np.abs(measured - ds.check_closed_form) / np.abs(ds.check_closed_form)
        return Exact(float(rel.max()))
    if reading == "ocr":
        c1 = measured.sel(constant="C1")
        return Exact(float((np.abs(c1 - ds.check_c1_ocr) / np.abs(ds.check_c1_ocr)).min()))
    raise ValueError(f"reading={reading!r} is not one of 'derived', 'ocr'")


ASINH_WIDTH = 10.0


def _signed_decades(ax, top: float):
    """Ticks 0, ±10², ±10³, … up to ``top`` on an asinh axis (±10 is an unlabelled minor tick:
    its label would crowd the 0); labelled by the figure's tick format."""
    k = np.arange(2, max(int(np.ceil(np.log10(max(top, 100.0)))), 2) + 1)
    ticks = np.concatenate([-(10.0 ** k[::-1]), [0.0], 10.0 ** k])
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(FixedLocator([-10.0, 10.0]))
    ax.yaxis.set_minor_formatter(NullFormatter())


def _curves(ax, ds, var, title, xlabel):
    x = ds["beta"].values
    colors = plt.cm.viridis(np.linspace(0, 0.9, ds.sizes["lam"]))
    for c, lv in zip(colors, ds["lam"].values):
        ax.plot(1 - x, ds[var].sel(lam=lv), color=c, label=f"λ={lv:g}")
    log_ticks(ax, "x")
    ax.invert_xaxis()
    # asinh: linear near 0, logarithmic beyond ±10, and smooth in between (symlog's kinks at
    # ±linthresh drew corners into every curve that crossed them)
    ax.set_yscale("asinh", linear_width=ASINH_WIDTH)
    _signed_decades(ax, float(np.nanmax(np.abs(ds[var].values))))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("C_total (asinh scale: linear within ±10)")
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
    for ax, b1, (up, lo) in ((axes[1, 0], 0.9, (keys[0], keys[1])),
                             (axes[1, 1], 0.99, (keys[2], keys[5]))):
        sign = ds[f"slope_sign_b1_{b1}"]
        ax.pcolormesh(1 - ds["beta"], ds["lam_map"], sign, cmap="coolwarm", vmin=-1.5, vmax=1.5,
                      shading="auto", rasterized=True)
        log_ticks(ax, "x")
        ax.invert_xaxis()
        ax.set_yscale("log")
        value_ticks(ax, [0.3, 0.5, 1.0, 2.0, 3.0], axis="y")
        ax.axhline(th[up], color="k", ls="--", lw=1, label=f"sup r = {th[up]:.4f} (incr. above)")
        ax.axhline(th[lo], color="k", ls=":", lw=1, label=f"inf r = {th[lo]:.4f} (decr. below)")
        ax.set_xlabel("1 − β2")
        ax.set_ylabel("λ")
        ax.set_title(f"sign ∂C_total/∂β2, β1={b1} (red +, blue −)")
        # between the lines at 0.5 and 2.68 on the right: clear of both threshold lines
        ax.legend(fontsize=7, loc="center right", frameon=True, framealpha=0.9)
    ax = axes[1, 2]
    r = ds["b_over_bsimple"].values
    ax.plot(r, ds["best_beta2_at_b1_0.9"], label="best β2 (β1 = 0.9)", color="C3")
    ax.plot(r, ds["best_beta1_at_b2_0.999"], label="best β1 (β2 = 0.999)", color="C0", ls="--")
    for target, ls in ((0.5, "-"), (1.0, ":")):
        b_ratio = float(ds["switch_b_over_bsimple"].sel(switch_lam=target))
        ax.axvline(b_ratio, color="gray", ls=ls, lw=1,
                   label=f"λ = {target:g} (b = {b_ratio:.3f} B_simple)")
    log_ticks(ax, "x")
    ax.set_xlabel("b / B_simple")
    ax.set_ylabel("β maximising C_total")
    ax.set_title(f"recommended betas, N = {DATASET_SIZE}")
    ax.legend(fontsize=7, loc="center right", frameon=True, framealpha=0.9)
    paper_title(fig, "cattaneo", "§3, Eq. 7 and Lemmas 3.4–3.5",
                "C_total(β1, β2, λ), the sign of ∂C_total/∂β2 and the betas that maximise it")
    fig.tight_layout()
    return save_figure(fig, out, NAME)


def report(ds: xr.Dataset) -> str:
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
    from experiments.verdicts import verdict_lines
    lines += ["", "claims (experiments.claims) decided by simlab.verdict from this Dataset:"]
    lines += ["  " + line for line in verdict_lines(ds, NAME).splitlines()]
    return "\n".join(lines)


def threshold_table(ds) -> str:
    """Every computed lemma threshold beside the paper's value (docs/c_total.md)."""
    rows = ["| statement | computed | paper |", "|---|---|---|"]
    for name, v in zip(ds["threshold"].values, ds["threshold_value"].values):
        rows.append(f"| {name} | {v:.6f} | {PAPER[str(name)]} |")
    return "\n".join(rows)


def a1_table(ds) -> str:
    """Lemma A.1's sup ratios, C4 as defined and halved, beside the printed bounds."""
    rows = ["| ratio | C4 as defined | C4/2 | paper |", "|---|---|---|---|"]
    for name, a, b in zip(ds["ratio_name"].values, ds["a1_sup"].values,
                          ds["a1_sup_c4_half"].values):
        rows.append(f"| {str(name).replace('|', chr(92) + '|')} | {a:.3e} | {b:.3e} | "
                    f"{A1_BOUNDS[str(name)]} |")
    return "\n".join(rows)


def memory_check_table(ds) -> str:
    """Relative error of the App. A.1 coefficients (exact, n steps) against the closed forms."""
    consts = [str(c) for c in ds["constant"].values]
    rows = ["| β1/β2 | n | " + " | ".join(consts) + " |", "|---" * (2 + len(consts)) + "|"]
    for p in ds["pair"].values:
        rel = [abs(float(ds.check_measured.sel(pair=p, constant=c))
                   - float(ds.check_closed_form.sel(pair=p, constant=c)))
               / abs(float(ds.check_closed_form.sel(pair=p, constant=c))) for c in consts]
        rows.append(f"| {p} | {int(ds.check_steps.sel(pair=p))} | "
                    + " | ".join(f"{r:.1e}" for r in rel) + " |")
    return "\n".join(rows)


def headline(ds: xr.Dataset) -> str:
    th = dict(zip(ds["threshold"].values, ds["threshold_value"].values))
    rel = np.abs(ds["check_measured"] - ds["check_closed_form"]) / np.abs(ds["check_closed_form"])
    keys = list(PAPER)
    return (f"L3.4 {th[keys[0]]:.6f}/{th[keys[1]]:.6f}, L3.5 {th[keys[2]]:.6f}; "
            f"App. A.1 max rel. err {float(rel.max()):.1e}")


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline)


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
