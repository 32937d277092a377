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

Cells: one training run per (b, β1, β2, seed), each cached on its own. ``lm_betas.nc`` holds every
run's best validation loss, its step, the final training loss and sharpness, the curves of seed 0,
the measured B_simple, the toy's λ, C_total and ``simlab.advise`` prescriptions, and the corpus's
unigram/bigram entropies. The claims (``experiments.claims``, section LM) are decided by
``simlab.verdict.decide`` from this file: ``measure_betas``, ``measure_flatness`` and
``check_side``.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from experiments import _lm
from experiments._harness import Experiment

NAME = "lm_betas"
BETAS = [(0.9, 0.9), (0.9, 0.99), (0.9, 0.999), (0.99, 0.999), (0.999, 0.999)]
BETA2_SWEEP = [(0.9, 0.9), (0.9, 0.99), (0.9, 0.999)]          # at β1 = 0.9
BETA1_SWEEP = [(0.9, 0.999), (0.99, 0.999), (0.999, 0.999)]    # at β2 = 0.999
SIZES = {
    "quick": dict(model="tiny", windows=32, batches={2: dict(lr=3e-3, epochs=3), 16: dict(lr=1e-2, epochs=12)},
                  seeds=1, eval_windows=16, records=4, sharpness_windows=8),
    # plan (docs/lm.md): a subset of 512 windows (32 KB) so that the better betas pass the bigram
    # level before overfitting (pilot, seed 0: best val 2.08 at b = 2 after 5 epochs, 2.16–2.22 at
    # b = 32 after 21–27 epochs); 5 seeds
    # 36 epochs at b = 32 (45 in v0.3.1, whose 20 records put the best validation loss of the β2
    # pairs at 21–32 epochs in every seed) to fit the 60-minute budget of the four LM runs
    "cpu": dict(model="cpu", windows=512, batches={2: dict(lr=2e-3, epochs=10), 32: dict(lr=6e-3, epochs=36)},
                seeds=5, eval_windows=128, records=20, sharpness_windows=32),
    # plan, pending a GPU: 2 × 5 × 5 = 50 runs of 768 and 240 steps (≈ 15 s per pair on one H100, estimated)
    "cuda": dict(model="cuda", windows=1024, batches={4: dict(lr=1e-3, epochs=3), 128: dict(lr=3e-3, epochs=30)},
                 seeds=5, eval_windows=512, records=20, sharpness_windows=64),
}


#: the lr of every betas pair is the size's one lr per b (the paper's protocol); the pairs that the
#: claims compare also run at ×1/3 and ×3 of it, so the verdict rule tunes their lr on that 3-point
#: grid and checks the sign at the neighbours (issue 17: a sign that holds across the lr)
LR_FACTORS = (1 / 3, 1.0, 3.0)
TUNED = [(0.9, 0.9), (0.9, 0.999)]


def runs(config: dict) -> list[tuple[tuple, object]]:
    """((b, betas, lr factor index, seed), TrainConfig) of every run: each betas pair at the one lr
    of b (factor 1), the ``TUNED`` pairs also at ×1/3 and ×3; the B_simple probes run in the
    default-betas run of seed 0 at the smallest b."""
    from simlab.lm import TrainConfig
    size = config["size"]
    bs = sorted(size["batches"])
    out = []
    for bi, b in enumerate(bs):
        spec = size["batches"][b]
        steps = spec["epochs"] * (size["windows"] // b)
        rec = tuple(sorted(set(np.linspace(0, steps, size["records"] + 1).astype(int).tolist())))
        for betas in BETAS:
            for fi, factor in enumerate(LR_FACTORS):
                if factor != 1.0 and betas not in TUNED:
                    continue
                for s in range(config["seeds"]):
                    probe = bi == 0 and betas == (0.9, 0.999) and s == 0 and factor == 1.0
                    out.append(((b, betas, fi, s), TrainConfig(
                        optimizer="adam", lr=spec["lr"] * factor, betas=betas, batch_size=b, steps=steps,
                        sampler="epoch", subset_windows=size["windows"], records=rec,
                        eval_windows=size["eval_windows"], seed=s,
                        sharpness_at=(steps,) if factor == 1.0 else (),    # the flatness claim: factor 1
                        sharpness_windows=size["sharpness_windows"],
                        probe_every=max(1, steps // 40) if probe else 0, probe_batch=2, probe_kappa=4,
                        device=config["device"])))
    return out


resolve = _lm.resolver(SIZES, runs)          # every run checked before any work

#: power iterations of a sharpness measurement, counted twice (a second run when λ₁ < 0)
SHARPNESS_HVPS = 40


def plan(config: dict) -> list[tuple[str, int, float]]:
    """(what, cells, planned CPU seconds per cell) at this size (``_lm.run_cost``): per run the
    steps, two evaluations (validation and training windows) per record and the sharpness."""
    size = config["size"]
    rows = []
    for b, spec in sorted(size["batches"].items()):
        steps = spec["epochs"] * (size["windows"] // b)
        sharp = SHARPNESS_HVPS * 2 * _lm.step_cost(size["sharpness_windows"])
        cost = _lm.run_cost(b, steps, 2 * (size["records"] + 1), size["eval_windows"])
        what = f"b = {b}: {spec['epochs']} epochs of {size['windows']} windows, {steps} steps"
        rows.append((what, len(BETAS) * config["seeds"], cost + sharp))
        rows.append((f"{what}, lr ×1/3 and ×3 for {len(TUNED)} pairs (no sharpness)",
                     len(TUNED) * (len(LR_FACTORS) - 1) * config["seeds"], cost))
    return rows


@_lm.parallel
def compute(config: dict, cells) -> xr.Dataset:
    from experiments._lm_cells import run_spec, train_cell
    from simlab.lm import ModelConfig
    size, seeds = config["size"], config["seeds"]
    mcfg = ModelConfig.preset(size["model"])
    bs = sorted(size["batches"])
    plan = runs(config)
    results = cells.map(train_cell, [run_spec(config, mcfg, t) for _, t in plan], label="training runs")
    best_lr = np.full((len(bs), len(BETAS), len(LR_FACTORS), seeds), np.nan)
    best = best_lr[:, :, LR_FACTORS.index(1.0), :]          # a view: the paper's one lr
    sharp, final_train, best_step = (np.full_like(best, np.nan) for _ in range(3))
    curves, b_simple = {}, {}
    for ((b, betas, fi, s), tcfg), ds in zip(plan, results):
        bi, ki = bs.index(b), BETAS.index(betas)
        v = ds.val_loss.values
        best_lr[bi, ki, fi, s] = np.min(v) if ds.attrs["diverged"] == 0 else np.inf
        if LR_FACTORS[fi] != 1.0:
            continue
        best_step[bi, ki, s] = ds.record.values[int(np.argmin(v))]
        final_train[bi, ki, s] = ds.train_eval_loss.values[-1]
        sharp[bi, ki, s] = ds.sharpness.values[-1] if ds.sizes["check"] else np.nan
        if s == 0:
            curves[(b, betas)] = (ds.record.values, v, ds.train_eval_loss.values)
        if tcfg.probe_every:
            b_simple = dict(b_simple=ds.attrs["b_simple"], grad_sq=ds.attrs["grad_sq"],
                            trace_cov=ds.attrs["trace_cov"])
    n_rec = max(len(c[0]) for c in curves.values())
    curve_val = np.full((len(bs), len(BETAS), n_rec), np.nan)
    curve_train, curve_step = np.full_like(curve_val, np.nan), np.full_like(curve_val, np.nan)
    for (b, betas), (r, v, t) in curves.items():
        i, k = bs.index(b), BETAS.index(betas)
        curve_step[i, k, :len(r)], curve_val[i, k, :len(v)], curve_train[i, k, :len(t)] = r, v, t
    dims = ("batch_size", "betas", "seed")
    ds = xr.Dataset(
        {"best_val_loss": (dims, best), "best_step": (dims, best_step), "sharpness": (dims, sharp),
         "best_val_loss_lr": (("batch_size", "betas", "lr_factor", "seed"), best_lr,
                              {"long_name": "best val loss at lr × lr_factor (NaN: not run)"}),
         "lr": ("batch_size", [size["batches"][b]["lr"] for b in bs]),
         "final_train_loss": (dims, final_train),
         "curve_step": (("batch_size", "betas", "record"), curve_step),
         "curve_val": (("batch_size", "betas", "record"), curve_val),
         "curve_train": (("batch_size", "betas", "record"), curve_train),
         "beta1": ("betas", [b[0] for b in BETAS]), "beta2": ("betas", [b[1] for b in BETAS])},
        coords={"batch_size": bs, "betas": [f"{b1}/{b2}" for b1, b2 in BETAS], "seed": np.arange(seeds),
                "lr_factor": list(LR_FACTORS)},
        attrs={"windows": size["windows"], **b_simple, **_lm.reference_attrs(config)})
    return with_predictions(ds)


def _pick(ds, b, sweep):
    vals = [float(ds.best_val_loss.sel(batch_size=b, betas=f"{b1}/{b2}").mean("seed")) for b1, b2 in sweep]
    return sweep[int(np.argmin(vals))], vals


def with_predictions(ds: xr.Dataset) -> xr.Dataset:
    """Add, per batch size, λ, the ``simlab.advise`` prescription, the toy's C_total of every betas
    pair and along both sweeps (for the figure), the LM's preferred β in each sweep, and the Spearman
    correlation of C_total with the measured sharpness. NaN (regime "n/a") without a positive
    finite B_simple."""
    from simlab.advise import advise
    from simlab.theory import implicit_bias as ib
    bs = ds.batch_size.values
    nb, grid = len(bs), np.linspace(0.9, 0.999, 100)
    bsim, n = float(ds.attrs.get("b_simple", np.nan)), int(ds.attrs["windows"])
    nan = np.full(nb, np.nan)
    fields = {k: nan.copy() for k in ("lam", "advise_beta1", "advise_beta2", "toy_best_beta2", "toy_best_beta1",
                                      "spearman")}
    regime = ["n/a"] * nb
    c_total = np.full((nb, len(BETAS)), np.nan)
    sweep2, sweep1 = np.full((nb, len(grid)), np.nan), np.full((nb, len(grid)), np.nan)
    lm2 = [_pick(ds, b, BETA2_SWEEP)[0][1] for b in bs]
    lm1 = [_pick(ds, b, BETA1_SWEEP)[0][0] for b in bs]
    if np.isfinite(bsim) and bsim > 0:
        for i, b in enumerate(bs):
            a = advise(int(b), n, bsim, beta_max=0.999)
            fields["lam"][i], regime[i] = a.lam, a.regime
            fields["advise_beta1"][i], fields["advise_beta2"][i] = a.beta1, a.beta2
            fields["toy_best_beta2"][i], fields["toy_best_beta1"][i] = a.best_beta2_at_beta1_0_9, a.best_beta1_at_beta2_max
            c_total[i] = [float(ib.c_total(b1, b2, a.lam)) for b1, b2 in BETAS]
            sh = np.array([float(ds.sharpness.sel(batch_size=b, betas=nm).mean()) for nm in ds.betas.values])
            fields["spearman"][i] = _spearman(c_total[i], sh)
            lam = ib.noise_ratio(n, int(b), bsim)
            sweep2[i], sweep1[i] = ib.c_total(0.9, grid, lam), ib.c_total(grid, 0.999, lam)
    return ds.assign(
        regime=("batch_size", regime), c_total=(("batch_size", "betas"), c_total),
        lm_best_beta2=("batch_size", lm2), lm_best_beta1=("batch_size", lm1),
        toy_c_total_beta2_sweep=(("batch_size", "beta_grid"), sweep2,
                                 {"long_name": "C_total(0.9, β2 = beta_grid, λ)"}),
        toy_c_total_beta1_sweep=(("batch_size", "beta_grid"), sweep1,
                                 {"long_name": "C_total(β1 = beta_grid, 0.999, λ)"}),
        **{k: ("batch_size", v) for k, v in fields.items()}).assign_coords(beta_grid=grid)


def report(ds) -> str:
    bsim = float(ds.attrs.get("b_simple", np.nan))
    n = int(ds.attrs["windows"])
    rows = [f"subset N = {n} windows; measured B_simple = {bsim:.2f} windows (trΣ = {ds.attrs.get('trace_cov', np.nan):.3g},"
            f" |G|² = {ds.attrs.get('grad_sq', np.nan):.3g}; mean over the small-batch default-betas run)"]
    if not (np.isfinite(bsim) and bsim > 0):
        return "\n".join(rows + ["B_simple estimate not positive/finite: no toy prediction possible"])
    rows += ["", "| b | β1/β2 | best val loss | at step | final train loss | sharpness | toy C_total(λ) |",
             "|---|---|---|---|---|---|---|"]
    for b in ds.batch_size.values:
        for k, name in enumerate(ds.betas.values):
            sel = dict(batch_size=b, betas=name)
            last = float(ds.best_step.sel(**sel).max()) >= float(ds.curve_step.sel(batch_size=b, betas=name).max())
            rows.append(f"| {b} | {name} | {float(ds.best_val_loss.sel(**sel).mean()):.4f}{' *' if last else ''} | "
                        f"{float(ds.best_step.sel(**sel).mean()):.0f} | {float(ds.final_train_loss.sel(**sel).mean()):.4f} | "
                        f"{float(ds.sharpness.sel(**sel).mean()):.1f} | {float(ds.c_total.sel(**sel)):.3g} |")
    rows.append("* best at the last record: still improving when the budget ended (slow, not overfitted), so that "
                "run's comparison measures speed as much as generalization")
    rows.append("")
    for b in ds.batch_size.values:
        at = ds.sel(batch_size=b)
        lam = float(at.lam)
        got2, got1 = float(at.lm_best_beta2), float(at.lm_best_beta1)
        want2, want1 = float(at.toy_best_beta2), float(at.toy_best_beta1)
        side = "small-batch side (b < 2·B_simple)" if lam > 0.5 else "large-batch side (b > 2·B_simple)"
        rows.append(f"b = {b}: λ = {lam:.3f}, {side}; simlab.advise: {str(at.regime.values)}, prescribes "
                    f"β1 = {float(at.advise_beta1):.4g}, β2 = {float(at.advise_beta2):.4g}")
        rows.append(f"  β2 sweep at β1 = 0.9: LM best β2 = {got2}, toy argmax C_total = {want2:.4g}")
        rows.append(f"  β1 sweep at β2 = 0.999: LM best β1 = {got1}, toy argmax C_total = {want1:.4g}")
        rho = float(at.spearman)
        rows.append(f"  C_total vs sharpness over the {ds.sizes['betas']} betas: Spearman ρ = {rho:+.2f} (toy "
                    f"hypothesis: negative, more implicit regularization → flatter)")
    lo, hi = ds.batch_size.values[0], ds.batch_size.values[-1]
    g_lo, g_hi = float(ds.lm_best_beta2.sel(batch_size=lo)), float(ds.lm_best_beta2.sel(batch_size=hi))
    rows.append(f"does the preferred β2 flip between b = {lo} and b = {hi} (toy: flips at b ≈ 2·B_simple = "
                f"{2 * bsim:.1f})? LM: {g_lo} → {g_hi} (decided by the claims below)")
    from experiments.verdicts import verdict_lines
    rows += ["", "Claims (experiments.claims, decided by simlab.verdict):", verdict_lines(ds)]
    return "\n".join(rows)


def summary_table(ds) -> str:
    """docs/lm.md's table from the results file: per (b, betas) the seed-mean best validation loss
    ± its standard deviation over seeds, the step it came at, beside the corpus's levels."""
    rows = [f"{ds.sizes['seed']} seeds, subset of {ds.attrs['windows']} windows; measured B_simple "
            f"{float(ds.attrs.get('b_simple', np.nan)):.1f}; levels: unigram {ds.attrs['unigram_xent']:.3f}, bigram "
            f"{ds.attrs['bigram_xent']:.3f} nats/byte", "",
            "| b | λ | β1/β2 | best val loss (mean ± sd over seeds) | at step | sharpness |", "|---|---|---|---|---|---|"]
    for b in ds.batch_size.values:
        for name in ds.betas.values:
            v = ds.best_val_loss.sel(batch_size=b, betas=name)
            rows.append(f"| {b} | {float(ds.lam.sel(batch_size=b)):.3f} | {name} | {float(v.mean()):.3f} ± "
                        f"{float(v.std()):.3f} | {float(ds.best_step.sel(batch_size=b, betas=name).mean()):.0f} | "
                        f"{float(ds.sharpness.sel(batch_size=b, betas=name).mean()):.1f} |")
    return "\n".join(rows)


def _batch(ds, b: str):
    return ds.batch_size.values[0 if b == "small" else -1]


def measure_betas(ds: xr.Dataset, b: str, better: str, worse: str, **_):
    """best val loss(``better``) − best val loss(``worse``) at the small or large batch size
    (``b``). Where both pairs also ran at ×1/3 and ×3 of the paper's one lr (``TUNED``), each
    pair's lr is tuned on that 3-point grid by the rule (re-selected in every bootstrap resample; a
    best lr at ×1/3 or ×3 is a grid edge: unresolved) and the sign checked at the neighbours;
    otherwise both at the one lr (the paper's protocol, ``fixed_lr``). Cattaneo & Shigida
    predict < 0."""
    from simlab.verdict import Tuned
    bb = _batch(ds, b)
    lrs = float(ds.lr.sel(batch_size=bb)) * ds.lr_factor.values
    at = ds.best_val_loss_lr.sel(batch_size=bb).transpose("betas", "lr_factor", "seed")
    metric = np.stack([at.sel(betas=better).values, at.sel(betas=worse).values])
    if np.isfinite(metric).all():
        return Tuned(metric, lrs, (better, worse))
    one = list(ds.lr_factor.values).index(1.0)
    return Tuned(metric[:, one:one + 1], lrs[one:one + 1], (better, worse), fixed_lr=np.zeros(2, int))


def measure_flatness(ds: xr.Dataset, b: str, **_):
    """Spearman ρ of C_total(λ) against the final sharpness over the betas pairs at batch size
    ``b``, one ρ per seed (each seed's sharpness of the five pairs): an ``Estimate`` of per-seed
    values whose mean the rule bootstraps over seeds (NaN without a measured C_total)."""
    from simlab.verdict import Estimate
    at = _batch(ds, b)
    c_total = ds.c_total.sel(batch_size=at).values
    sharp = ds.sharpness.sel(batch_size=at).transpose("betas", "seed").values
    if not np.all(np.isfinite(c_total)):
        return Estimate(np.array([np.nan]), float("nan"), n_seeds=int(ds.sizes["seed"]))
    rhos = np.array([_spearman(c_total, sharp[:, s]) for s in range(sharp.shape[1])])
    return Estimate(rhos, float(rhos.mean()), per_seed=True, n_seeds=len(rhos))


def check_side(ds: xr.Dataset, b: str, side: str = "", lam_below: float | None = None,
               lam_above: float | None = None, better: str | None = None, worse: str | None = None,
               **_) -> str | None:
    """The claims' assumptions: b lies on the claimed side of the toy's switch (λ above or below
    the lemma's threshold, from the measured B_simple); both compared pairs are trained to
    overfitting (the lemmas' multi-epoch setting: in no seed is a pair's best validation loss at its
    last record); and, at that b, the better of the compared betas pairs (all pairs for the
    flatness claim) is trained past the bigram level."""
    lam = float(ds.lam.sel(batch_size=_batch(ds, b)))
    if not np.isfinite(lam):
        return "B_simple was not measured positive and finite: λ, and the lemma's side, unknown"
    if lam_below is not None and not lam < lam_below:
        return f"b = {_batch(ds, b)} has λ = {lam:.3f}, not below {lam_below} ({side})"
    if lam_above is not None and not lam > lam_above:
        return f"b = {_batch(ds, b)} has λ = {lam:.3f}, not above {lam_above} ({side})"
    bb = _batch(ds, b)
    at = ds.best_val_loss.sel(batch_size=bb).mean("seed")
    if better is not None and worse is not None:
        at = at.sel(betas=[better, worse])
        last = float(ds.curve_step.sel(batch_size=bb).max())
        for pair in (better, worse):
            steps = ds.best_step.sel(batch_size=bb, betas=pair).values
            if np.any(steps >= last):
                return (f"not trained to overfitting: ({pair}) at b = {bb} has its best validation loss "
                        f"at the last record (step {last:.0f}) in {int(np.sum(steps >= last))} of "
                        f"{len(steps)} seeds — still improving, so the comparison measures speed, not "
                        f"the implicit bias of the lemma")
    return _lm.untrained_at(ds, {f"b = {bb}": float(at.min())})


def headline(ds) -> str:
    lo, hi = ds.batch_size.values[0], ds.batch_size.values[-1]
    g_lo, g_hi = float(ds.lm_best_beta2.sel(batch_size=lo)), float(ds.lm_best_beta2.sel(batch_size=hi))
    return (f"B_simple {float(ds.attrs.get('b_simple', np.nan)):.1f}; best β2 at β1=0.9: b={lo} {g_lo}, "
            f"b={hi} {g_hi}; best β1 at b={hi}: "
            f"{float(ds.lm_best_beta1.sel(batch_size=hi))}")


def _spearman(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    if np.std(ra) == 0 or np.std(rb) == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


@_lm.default_style
def plot(ds, out) -> list:
    from simlab import plotting
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
    _lm.draw_levels(ax[0], ds, x=0.1)
    ax[0].set(xscale="log", xlabel="1 − β (swept beta)", ylabel="best val loss (nats/byte)",
              title="LM: best validation loss")
    ax[0].invert_xaxis()
    ax[0].legend(fontsize=7)
    bsim = float(ds.attrs.get("b_simple", np.nan))
    if np.isfinite(bsim) and bsim > 0:
        grid = ds.beta_grid.values
        for i, b in enumerate(bs):
            at = ds.sel(batch_size=b)
            ax[1].plot(1 - grid, at.toy_c_total_beta2_sweep, color=f"C{i}",
                       label=f"b={b}: C_total(0.9, β2), λ={float(at.lam):.2f}")
            ax[1].plot(1 - grid, at.toy_c_total_beta1_sweep, "--", color=f"C{i}", label=f"b={b}: C_total(β1, 0.999)")
        ax[1].set(xscale="log", yscale="symlog", xlabel="1 − β", ylabel="C_total",
                  title=f"toy: C_total with measured B_simple = {bsim:.1f}")
        ax[1].invert_xaxis()
        ax[1].legend(fontsize=7)
    # colour: batch size; line style: (β1, β2) — one legend for each, not b × betas labels
    from matplotlib.lines import Line2D
    styles = ["-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2))]
    names = [str(n) for n in ds.betas.values]
    for i, b in enumerate(bs):
        for k, name in enumerate(names):
            step = ds.curve_step.sel(batch_size=b, betas=name)
            ax[2].plot(step / step.max(), ds.curve_val.sel(batch_size=b, betas=name), color=f"C{i}",
                       ls=styles[k % len(styles)], lw=1.1)
    _lm.draw_levels(ax[2], ds, x=0.0)
    ax[2].set(xlabel="fraction of the run", ylabel="val loss (nats/byte)",
              title="overfitting: val loss along the runs")
    by_b = ax[2].legend(handles=[Line2D([], [], color=f"C{i}", label=f"b={b}") for i, b in enumerate(bs)],
                        fontsize=7, loc="upper left")
    ax[2].add_artist(by_b)
    ax[2].legend(handles=[Line2D([], [], color="0.3", ls=styles[k % len(styles)], label=f"β1/β2 = {name}")
                          for k, name in enumerate(names)], fontsize=7, loc="upper center")
    plotting.paper_title(fig, "cattaneo", "Eq. 7–8 and Lemmas 3.4–3.5",
                         "Adam's best betas at small and large batch in multi-epoch training of a byte-level LM")
    fig.tight_layout()
    return _lm.save_png(fig, out, NAME)


EXPERIMENT = Experiment(name=NAME, description=__doc__, resolve=resolve, compute=compute, report=report,
                        plot=plot, headline=headline, arguments=_lm.arguments(SIZES))


def main(argv=None) -> int:
    return EXPERIMENT.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
