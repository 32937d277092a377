"""The SGD-momentum noise regularizer of Cattaneo & Shigida 2026, §2.1 (Eq 4), on exact twins.

Three checks on small data quadratics (``simlab.theory.momentum_memory``), none Monte Carlo except
the cross-check of part 1:

1. **The averaged correction (the display after Eq 4).** E_π Main_n + η E_π Corr_n computed
   exactly at finite m (batch-Hessian moments of sampling without replacement) against the
   paper's n → ∞ form (1/(1−β))∇[L + ηβ/(2(1−β)²)‖∇L‖² + ηβ/(2(1−β)(1+β)) trΣ/b], and against a
   Monte Carlo over explicit permutations of the definition (Eq 3). Reported: the ratio of the
   exact noise and full-batch coefficients to their limits for m = 6 … 384, next to
   1 − 2β/((1−β)(m−1)), the cross-batch term the paper's "o_n(1) … exponentially fast" omits.
2. **Theorem 2.3 (pathwise).** max_{t ≤ T} |θ_t − θ̃_t| between heavy ball and the memoryless
   iteration on the same reshuffled batches, T = (1−β)/η (unit effective time), η halved 4 times:
   slope 2 with the correction, 1 without.
3. **Does the regularizer act on the mean path?** The exact twin: with i.i.d. batches the mean of
   SGDM is the full-batch path exactly (E z' = K̄ E z), so no noise term reaches E θ. With random
   reshuffling (batch size 1, the mean over all N! orderings of every epoch, exact by a 2^N
   recursion), the deviation E θ_T − θ_T^full is measured in units of the force
   −η² c_b Vθ/(1−β)² (``drift_unit``): κ = β/(1+β) is Eq 5's memory term alone; κ = ½ the
   β-independent random-shuffling term of Smith et al. 2021 at the effective lr η/(1−β).
   κ is extrapolated to N → ∞ by a fit κ = κ∞ + c/N over the N measured.

Cells (cached): one per part-1 (β, m) table, one per part-2 β, one per part-3 (β, N).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from experiments._harness import Experiment
from simlab import optim, problems, simulate
from simlab.plotting import log_ticks, paper_title, plt, save_figure, style
from simlab.theory import momentum_memory as mm
from simlab.verdict import Exact

NAME = "sgdm_regularizer"


POOL = 1024


def data_problem(n_samples: int, seed: int = 0):
    """A 2-d data quadratic on the first ``n_samples`` of one pool of ``POOL`` samples
    x_i ~ N(0, diag(1.5², 0.7²)) from ``default_rng(seed)`` (so N = 8 and N = 18 share their
    first 8 samples), w0 = (1, −½)."""
    if not 1 <= n_samples <= POOL:
        raise ValueError(f"n_samples={n_samples} is outside the allowed range [1, {POOL}]")
    pool = np.random.default_rng(seed).normal(size=(POOL, 2)) * np.array([1.5, 0.7])
    return problems.data_quadratic(pool[:n_samples].T, [1.0, -0.5], name=f"data2d_n{n_samples}")


THETA = [0.7, 0.4]


def algebra_cell(spec: dict) -> xr.Dataset:
    beta, ms, b = spec["beta"], spec["batches"], spec["batch_size"]
    rows = []
    for m in ms:
        prob = data_problem(m * b)
        f = mm.averaged_field(prob, THETA, beta, b)
        fb = np.linalg.norm(f["corr_full_batch"]) / np.linalg.norm(f["paper_corr_full_batch"])
        noise = np.linalg.norm(f["corr_noise"]) / np.linalg.norm(f["paper_corr_noise_cb"])
        literal = np.linalg.norm(f["corr_noise"]) / np.linalg.norm(f["paper_corr_noise"])
        rows.append([fb, noise, literal, 1 - 2 * beta / ((1 - beta) * (m - 1))])
    prob = data_problem(spec["mc_batches"] * b)
    f = mm.averaged_field(prob, THETA, beta, b)
    mc = mm.monte_carlo_field(prob, THETA, beta, b, spec["permutations"], seed=1)
    exact = f["corr_full_batch"] + f["corr_noise"]
    z_corr = np.max(np.abs(mc["corr"] - exact) / mc["corr_se"])
    z_main = np.max(np.abs(mc["main"] - f["main"]) / mc["main_se"])
    return xr.Dataset({"coefficient_ratio": (("m", "ratio"), np.array(rows)),
                       "mc_max_z": ("which", [z_main, z_corr])},
                      coords={"m": ms, "ratio": ["full_batch", "noise", "noise_literal_1_over_b",
                                                 "one_minus_2beta_over_m"],
                              "which": ["main", "corr"]})


def pathwise_cell(spec: dict) -> xr.Dataset:
    beta, lrs = spec["beta"], np.asarray(spec["lrs"])
    prob = data_problem(spec["n_samples"])
    n, b = spec["n_samples"], spec["batch_size"]
    errors = np.empty((2, lrs.size, spec["sequences"]))
    for j, lr in enumerate(lrs):
        steps = int(round((1 - beta) / lr))
        for s in range(spec["sequences"]):
            rng = np.random.default_rng(100 + s)
            order = np.concatenate([rng.permutation(n) for _ in range(steps * b // n + 2)])
            idx = order[: steps * b].reshape(steps, b)
            hb = mm.heavy_ball_path(prob, beta, lr, idx)
            for c, corr in enumerate((True, False)):
                errors[c, j, s] = np.abs(hb - mm.memoryless_path(prob, beta, lr, idx, corr)).max()
    # the same heavy-ball rule as the engine's optim.sgd(β) on the same batches
    idx = np.random.default_rng(7).permutation(n)[: (n // b) * b].reshape(-1, b)
    eng = simulate(prob, optim.sgd(beta), lrs[0], b, idx.shape[0], 1, batch_indices=idx[:, None, :],
                   backend="numpy").w_final.values[0, 0]
    engine_gap = float(np.abs(eng - mm.heavy_ball_path(prob, beta, lrs[0], idx)[-1]).max())
    return xr.Dataset({"path_error": (("variant", "eta", "sequence"), errors),
                       "engine_gap": ((), engine_gap)},
                      coords={"variant": ["with_corr", "main_only"], "eta": lrs})


def mean_cell(spec: dict) -> xr.Dataset:
    beta, n, lr = spec["beta"], spec["n_samples"], spec["lr"]
    prob = data_problem(n, seed=spec["seed"])
    epochs = max(1, int(round(spec["horizon"] * (1 - beta) / (lr * np.trace(prob.hessian) / 2) / n)))
    res = mm.reshuffled_mean(prob, beta, lr, epochs)
    dev = res["reshuffled"][-1] - res["full_batch"][-1]
    unit = mm.drift_unit(prob, beta, lr, epochs * n)
    kappa = float(dev @ unit / (unit @ unit))
    cosine = float(dev @ unit / (np.linalg.norm(dev) * np.linalg.norm(unit)))
    return xr.Dataset({"kappa": ((), kappa), "cosine": ((), cosine), "epochs": ((), epochs),
                       "deviation_norm": ((), float(np.linalg.norm(dev)))})


def resolve(args) -> dict:
    quick = args.quick
    return {"betas": [0.5, 0.9], "batch_size": 2,
            "batches": [6, 12, 24] if quick else [6, 12, 24, 48, 96, 192, 384],
            "mc_batches": 6, "permutations": 2000 if quick else 20000,
            "path_lrs": {"0.5": (0.02 * 2.0 ** -np.arange(3 if quick else 5)).tolist(),
                         "0.9": (0.002 * 2.0 ** -np.arange(3 if quick else 5)).tolist()},
            "path_samples": 12, "sequences": 1 if quick else 3,
            "mean_betas": [0.0, 0.3, 0.5, 0.8, 0.9],
            "mean_samples": [6, 8] if quick else [8, 10, 12, 14, 16, 18],
            "mean_lr": 0.002, "mean_horizon": 1.0}


def compute(config: dict, cells) -> xr.Dataset:
    algebra = cells.map(algebra_cell, [{"beta": b, "batches": config["batches"],
                                        "batch_size": config["batch_size"],
                                        "mc_batches": config["mc_batches"],
                                        "permutations": config["permutations"]}
                                       for b in config["betas"]], label="averaged field")
    paths = cells.map(pathwise_cell, [{"beta": b, "lrs": config["path_lrs"][str(b)],
                                       "n_samples": config["path_samples"],
                                       "batch_size": config["batch_size"],
                                       "sequences": config["sequences"]}
                                      for b in config["betas"]], label="Theorem 2.3")
    means = cells.map(mean_cell, [{"beta": b, "n_samples": n, "lr": config["mean_lr"],
                                   "horizon": config["mean_horizon"], "seed": 0}
                                  for b in config["mean_betas"] for n in config["mean_samples"]],
                      label="reshuffled means")
    alg = xr.concat(algebra, dim="beta").assign_coords(beta=config["betas"])
    pw = [p.assign_coords(eta=np.arange(p.sizes["eta"])).rename(eta="eta_index")
          .assign(eta_value=("eta_index", p.eta.values)) for p in paths]
    pw = xr.concat(pw, dim="path_beta").assign_coords(path_beta=config["betas"])
    ns = config["mean_samples"]
    grid = {k: np.array([[float(means[i * len(ns) + j][k]) for j in range(len(ns))]
                         for i in range(len(config["mean_betas"]))])
            for k in ("kappa", "cosine", "epochs", "deviation_norm")}
    mean = xr.Dataset({f"mean_{k}": (("mean_beta", "n_samples"), v) for k, v in grid.items()},
                      coords={"mean_beta": config["mean_betas"], "n_samples": ns})
    # extrapolation κ = κ∞ + c/N
    inv = 1.0 / np.asarray(ns, float)
    fits, ses = [], []
    for i in range(len(config["mean_betas"])):
        coef, cov = np.polyfit(inv, grid["kappa"][i], 1, cov=True) if len(ns) > 3 else (
            np.polyfit(inv, grid["kappa"][i], 1), np.full((2, 2), np.nan))
        fits.append(coef)
        ses.append(np.sqrt(cov[1, 1]))
    fits = np.array(fits)
    mean["kappa_limit"] = ("mean_beta", fits[:, 1])
    mean["kappa_limit_se"] = ("mean_beta", np.array(ses))
    mean["kappa_slope"] = ("mean_beta", fits[:, 0])
    slopes = np.array([[np.polyfit(np.log(pw.eta_value.sel(path_beta=b).values),
                                   np.log(pw.path_error.sel(path_beta=b, variant=v).max("sequence")
                                          .values), 1)[0]
                        for v in pw.variant.values] for b in config["betas"]])
    pw["path_slope"] = (("path_beta", "variant"), slopes)
    return xr.merge([alg, pw, mean])


# -- what the claims measure (read the stored Dataset only) ---------------------------------------

def _noise_ratio(ds, beta):
    r = ds.coefficient_ratio.sel(beta=beta)
    return ds.m.values.astype(float), r.sel(ratio="noise").values, r.sel(ratio="full_batch").values


def measure_noise_limit(ds, beta: float) -> Exact:
    """The exact noise coefficient of the averaged correction divided by the paper's n → ∞ value,
    extrapolated to m → ∞ from the two largest m by Richardson in 1/(m − 1) (the remainder's
    leading order); resolution: the change of that extrapolation when the next-smaller pair of m
    is used instead."""
    m, noise, _ = _noise_ratio(ds, beta)
    h = 1.0 / (m - 1)

    def richardson(i, j):
        return (noise[j] * h[i] - noise[i] * h[j]) / (h[i] - h[j])
    value = richardson(-2, -1)
    return Exact(float(value), float(abs(value - richardson(-3, -2))))


def measure_noise_remainder_decay(ds, beta: float) -> Exact:
    """(1 − ratio) at the largest m divided by (1 − ratio) at half of it (the stored m double):
    1/2 for a remainder O(1/m), far below for an exponentially small one."""
    m, noise, _ = _noise_ratio(ds, beta)
    if not np.isclose(m[-1], 2 * m[-2]):
        raise ValueError(f"the two largest m {m[-2:].tolist()} are not a doubling")
    return Exact(float((1 - noise[-1]) / (1 - noise[-2])))


def measure_full_batch_remainder(ds, beta: float) -> Exact:
    """|1 − ratio| of the averaged correction's full-batch coefficient at the largest m."""
    _, _, full = _noise_ratio(ds, beta)
    return Exact(float(abs(1 - full[-1])))


def measure_path_order(ds, beta: float, variant: str = "with_corr") -> Exact:
    """The log-log slope of max_t |θ_t − θ̃_t| against η over unit effective time (Theorem 2.3:
    2 with the correction, 1 for the Main term alone), from the stored errors (max over the
    stored batch sequences, deterministic given them)."""
    return Exact(float(ds.path_slope.sel(path_beta=beta, variant=variant)))


def measure_mean_drift(ds, beta: float) -> Exact:
    """κ∞: the reshuffled mean path's deviation from the full-batch path at unit effective time,
    in units of −η²c_bVθ/(1−β)², extrapolated to N → ∞ by κ∞ + c/N over the stored N (every κ
    exact over all N! orderings); resolution: twice the fit's standard error (with too few N for
    one: the distance of κ∞ from κ at the largest N)."""
    value = float(ds.kappa_limit.sel(mean_beta=beta))
    se = float(ds.kappa_limit_se.sel(mean_beta=beta))
    if not np.isfinite(se):          # too few N for a standard error: the extrapolation distance
        last = float(ds.mean_kappa.sel(mean_beta=beta).isel(n_samples=-1))
        return Exact(value, abs(value - last))
    return Exact(value, 2 * se)


MEMORY_LENGTHS = 4   # the 1/N extrapolation needs N ≥ this many memory lengths 2β/(1−β)


def check_mean_drift(ds, beta: float):
    """Outside when the largest N is not several memory lengths: N < 4·2β/(1−β)."""
    n_max = int(ds.n_samples.values.max())
    need = MEMORY_LENGTHS * 2 * beta / (1 - beta)
    if n_max < need:
        return (f"N ≤ {n_max} samples is not ≫ the memory length 2β/(1−β) = "
                f"{2 * beta / (1 - beta):.3g} (the N → ∞ extrapolation needs N ≥ {need:.3g})")
    return None


def coefficient_table(ds) -> str:
    """The averaged correction's exact coefficients over the paper's n → ∞ values, per m."""
    betas = [float(b) for b in ds.beta.values]
    head = "| m | " + " | ".join(f"full batch, β = {b:g} | noise | 1 − 2β/((1−β)(m−1))"
                                 for b in betas) + " |"
    rows = [head, "|---" * (1 + 3 * len(betas)) + "|"]
    for m in ds.m.values:
        cells = []
        for b in betas:
            r = ds.coefficient_ratio.sel(beta=b, m=m)
            cells += [f"{float(r.sel(ratio=k)):.4g}" for k in ("full_batch", "noise",
                                                               "one_minus_2beta_over_m")]
        rows.append(f"| {int(m)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def path_table(ds) -> str:
    """Theorem 2.3: the log-log slopes of the max path error, with and without the correction."""
    rows = ["| β | η | slope with Corr | slope Main only |", "|---|---|---|---|"]
    for b in ds.path_beta.values:
        eta = ds.eta_value.sel(path_beta=b).values
        rows.append(f"| {float(b):g} | {eta[0]:.3g} … {eta[-1]:.3g} | "
                    f"{float(ds.path_slope.sel(path_beta=b, variant='with_corr')):.2f} | "
                    f"{float(ds.path_slope.sel(path_beta=b, variant='main_only')):.2f} |")
    return "\n".join(rows)


def mean_drift_table(ds) -> str:
    """κ per (β, N), its N → ∞ extrapolation, and the two candidate values."""
    ns = [int(n) for n in ds.n_samples.values]
    rows = ["| β | " + " | ".join(f"N = {n}" for n in ns)
            + " | κ∞ (fit s.e.) | Eq 5 memory β/(1+β) | Smith et al. ½ | both |",
            "|---" * (5 + len(ns)) + "|"]
    for b in ds.mean_beta.values:
        k = ds.mean_kappa.sel(mean_beta=b).values
        b = float(b)
        rows.append(f"| {b:g} | " + " | ".join(f"{v:.4f}" for v in k)
                    + f" | {float(ds.kappa_limit.sel(mean_beta=b)):.4f} "
                      f"({float(ds.kappa_limit_se.sel(mean_beta=b)):.2g}) | {b / (1 + b):.3f} | "
                      f"0.5 | {0.5 + b / (1 + b):.3f} |")
    return "\n".join(rows)


def report(ds) -> str:
    lines = ["1. Averaged correction E_pi Main_n + eta E_pi Corr_n (exact) / paper's n->inf form "
             "(noise part with c_b; 'literal' with the paper's 1/b)"]
    for beta in ds.beta.values:
        z = ds.mc_max_z.sel(beta=beta).values
        lines.append(f"  beta={beta}: Monte Carlo over permutations vs exact moments: max |z| "
                     f"Main {z[0]:.2f}, Corr {z[1]:.2f}")
        lines.append(f"  {'m':>5} {'full-batch':>11} {'noise':>9} {'literal':>9} "
                     f"{'1-2b/((1-b)(m-1))':>18}")
        for m in ds.m.values:
            r = ds.coefficient_ratio.sel(beta=beta, m=m).values
            lines.append(f"  {int(m):5d} {r[0]:11.4f} {r[1]:9.4f} {r[2]:9.4f} {r[3]:18.4f}")
    lines += ["", "2. Theorem 2.3: max_t |theta_t - theta~_t| over unit effective time, max over "
                  "batch sequences"]
    for beta in ds.path_beta.values:
        sel = ds.sel(path_beta=beta)
        errs = sel.path_error.max("sequence")
        lines.append(f"  beta={beta}: eta {np.round(sel.eta_value.values, 6).tolist()}")
        for v in ds.variant.values:
            lines.append(f"    {str(v):10s} errors {np.array2string(errs.sel(variant=v).values, precision=3)}"
                         f" slope {float(sel.path_slope.sel(variant=v)):.3f}")
        lines.append(f"    engine optim.sgd(beta) vs this heavy ball on the same batches: "
                     f"{float(sel.engine_gap):.1e}")
    lines += ["", "3. Mean path under random reshuffling (exact over all orderings), kappa = "
                  "deviation from full batch in units of -eta^2 c_b V theta/(1-beta)^2 "
                  "(i.i.d. batches: kappa = 0 exactly)",
              f"  {'beta':>5} " + " ".join(f"{'N=' + str(int(n)):>8}" for n in ds.n_samples.values)
              + f" {'N->inf fit (s.e.)':>17} {'Eq 5 memory':>11} {'Smith 1/2':>9} {'min cos':>7}"]
    for beta in ds.mean_beta.values:
        k = ds.mean_kappa.sel(mean_beta=beta).values
        lines.append(f"  {beta:5.2f} " + " ".join(f"{v:8.4f}" for v in k)
                     + f" {float(ds.kappa_limit.sel(mean_beta=beta)):8.4f} "
                       f"({float(ds.kappa_limit_se.sel(mean_beta=beta)):.4f}) "
                       f"{beta / (1 + beta):11.4f} {0.5:9.4f} "
                       f"{float(ds.mean_cosine.sel(mean_beta=beta).min()):7.4f}")
    from experiments.verdicts import verdict_lines
    lines += ["", "claims (experiments.claims) decided by simlab.verdict from this Dataset:"]
    lines += ["  " + line for line in verdict_lines(ds, NAME).splitlines()]
    return "\n".join(lines)


def headline(ds) -> str:
    lim = {float(b): float(v) for b, v in zip(ds.mean_beta.values, ds.kappa_limit.values)}
    top = max(lim)
    return (f"Thm 2.3 slopes {', '.join(f'{float(v):.2f}' for v in ds.path_slope.sel(variant='with_corr').values)}; "
            f"reshuffled mean drift kappa(N->inf) at beta={top:g}: {lim[top]:.3f} "
            f"(Eq 5 alone {top / (1 + top):.3f}, Smith 0.5)")


def plot(ds, out):
    style()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2), layout="constrained")
    ax = axes[0]
    for i, beta in enumerate(ds.beta.values):
        r = ds.coefficient_ratio.sel(beta=beta)
        ax.plot(ds.m, r.sel(ratio="noise"), "o-", color=f"C{i}", label=f"noise term, β={beta}")
        ax.plot(ds.m, r.sel(ratio="one_minus_2beta_over_m"), ":", color=f"C{i}",
                label=f"1 − 2β/((1−β)(m−1)), β={beta}")
        ax.plot(ds.m, r.sel(ratio="full_batch"), "s--", ms=3, color=f"C{i}", alpha=0.6,
                label=f"full-batch term, β={beta}")
    ax.axhline(1, color="k", lw=0.7)
    ax.set_xscale("log")
    ax.set_ylim(-0.2, 1.1)
    ax.set(xlabel="batches per epoch m", ylabel="exact coefficient / paper's n→∞ value",
           title="1. averaged correction (after Eq 4)")
    ax.legend(fontsize=6.5)
    ax = axes[1]
    for i, beta in enumerate(ds.path_beta.values):
        sel = ds.sel(path_beta=beta)
        for v, ls in (("with_corr", "-"), ("main_only", "--")):
            ax.plot(sel.eta_value, sel.path_error.sel(variant=v).max("sequence"), "o" + ls,
                    color=f"C{i}", ms=4,
                    label=f"β={beta}, {'Main + Corr' if v == 'with_corr' else 'Main only'} "
                          f"(slope {float(sel.path_slope.sel(variant=v)):.2f})")
    log_ticks(ax, "both")
    ax.set(xlabel="η", ylabel="max_t |θ_t − θ̃_t|", title="2. Theorem 2.3, unit effective time")
    ax.legend(fontsize=6.5)
    ax = axes[2]
    inv = 1.0 / ds.n_samples.values
    for i, beta in enumerate(ds.mean_beta.values):
        ax.plot(inv, ds.mean_kappa.sel(mean_beta=beta), "o", color=f"C{i}", label=f"β={beta}")
        lim, sl = float(ds.kappa_limit.sel(mean_beta=beta)), float(ds.kappa_slope.sel(mean_beta=beta))
        xx = np.linspace(0, inv.max(), 20)
        ax.plot(xx, lim + sl * xx, "-", color=f"C{i}", lw=0.8)
        ax.plot([0], [beta / (1 + beta)], "x", color=f"C{i}", ms=8)
    ax.axhline(0.5, color="k", ls=":", lw=0.8, label="Smith et al. ½")
    ax.set(xlabel="1/N (batch size 1)", ylabel="κ (mean drift / unit)",
           title="3. reshuffled mean drift; × = Eq 5 memory term β/(1+β)")
    ax.legend(fontsize=6.5)
    paper_title(fig, "cattaneo", "§2.1 (Eq. 4–5, Theorem 2.3)",
                "the noise regularizer of SGD with momentum, checked on exact twins")
    return save_figure(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute,
                        report=report, plot=plot, headline=headline)


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
