"""The claims registry: every claim simlab tests, one declarative record each.

A record says what the paper claims (paper, where, statement, assumptions, paper_value), which
stored result measures it (``experiment`` / ``stem``: ``results/<stem>.nc``; ``measure``: a
function of that Dataset returning a ``simlab.verdict`` Tuned, Estimate or Exact) and what the
paper predicts (``prediction``). ``experiments.verdicts`` runs every record through the one rule,
``simlab.verdict.decide``; nothing here states a verdict. Adding a claim is adding one record
(docs/harness.md, "Adding a claim").

Records are grouped by paper, one tuple per section; each section is edited only by the owner of
its experiments. Within a section, append new records at its end (before its closing parenthesis).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from simlab.verdict import Prediction


@dataclass(frozen=True)
class Paper:
    key: str
    title: str
    arxiv: str


@dataclass(frozen=True)
class Claim:
    id: str                       # stable, "<paper short>.<where>.<what>"
    paper: str                    # key into PAPERS
    where: str                    # equation / lemma / figure / section, read from the paper text
    statement: str                # one sentence
    assumptions: str              # the conditions under which the paper makes it
    experiment: str               # experiment module name (experiments.<experiment>)
    measure: str                  # "experiments.<module>:measure_<x>", measure(ds, **args)
    prediction: Prediction
    args: dict = field(default_factory=dict)
    outside: str | None = None    # "experiments.<module>:<fn>", fn(ds, **args) -> None | str
    protocol: str = ""            # "paper (fixed lr)", "tuned lr", ...
    paper_value: str = ""         # what the paper reports (a quote, not a run number)
    stem: str | None = None       # results file stem when it differs from ``experiment``

    @property
    def results_stem(self) -> str:
        return self.stem or self.experiment


PAPERS = {
    "sreckovic2025": Paper("sreckovic2025",
                           "Srećković, Geiping & Orvieto 2025: Is your batch size the problem? "
                           "Revisiting the Adam-SGD gap in language modeling", "2506.12543"),
    "li2024": Paper("li2024", "Li et al. 2024: Surge Phenomenon in Optimal Learning Rate and "
                              "Batch Size Scaling", "2405.14578"),
    "cattaneo2026": Paper("cattaneo2026", "Cattaneo & Shigida 2026: The Effect of Mini-Batch Noise on "
                                          "the Implicit Bias of Adam", "2602.01642"),
    "wang_aitchison": Paper("wang_aitchison", "Wang & Aitchison: Batch size invariant Adam",
                            ""),
    "sde": Paper("sde", "SDE approximations used by the papers (experiments.sde; not among the "
                        "four papers)", ""),
}


# === sreckovic2025 — owner: quadratic_gap / gap_knobs helper ===================================

SRECKOVIC = (
)

# === end sreckovic2025 ==========================================================================


# === li2024 — owner: surge / surge_target helper ================================================

LI = (
    # --- closed forms against the exact erf model (surge, theory cell) ---
    Claim(id="li.eq15.peak-at-noise-batch", paper="li2024", where="Eq 15, Theorem 3",
          statement="The optimal lr of sign descent peaks at B_peak = B_noise (Eq 14).",
          assumptions="Theorem 3's regime B ≪ πσ_i²/(2μ_i²) for every i",
          experiment="surge", measure="experiments.surge:measure_peak_ratio",
          prediction=Prediction("value", value=1.0, tol=0.02),
          protocol="exact erf model (Eq 9), equal |SNR|, d = 128, B_noise = bound/100; exact "
                   "B_peak/B_noise (closed form (4/π)erfinv(x)²/x² = 1 + (π/6)x², x² = B_noise/bound)",
          paper_value="B_peak = B_noise"),
    Claim(id="li.eq15.heterogeneous-snr", paper="li2024", where="Eq 15, Theorem 3",
          statement="B_peak = B_noise also with heterogeneous per-coordinate SNR.",
          assumptions="Theorem 3's regime B ≪ πσ_i²/(2μ_i²) for every i",
          experiment="surge", measure="experiments.surge:measure_draw_peak_ratio",
          outside="experiments.surge:draws_outside_theorem3",
          prediction=Prediction("below", threshold=0.02),
          protocol="exact erf model, 20 draws of 64 coordinates with log-normal SNR; "
                   "max |B_peak/B_noise − 1|",
          paper_value="B_peak = B_noise"),
    Claim(id="li.thm3.approximates-exact", paper="li2024", where="Theorem 3 (Eq 13)",
          statement="Eq 13 approximates the optimal lr of sign descent (Eq 9) for small B.",
          assumptions="B ≪ πσ_i²/(2μ_i²) for every i (here B ≤ bound/10)",
          experiment="surge", measure="experiments.surge:measure_theorem3_error",
          args={"fraction": 0.1}, prediction=Prediction("below", threshold=0.05),
          protocol="exact erf model, cases A–E, 600-point log grid of B; max |Eq13/exact − 1| "
                   "over B ≤ bound/10 (< 5 %)",
          paper_value="≈ (approximation)"),
    Claim(id="li.thm4.limit", paper="li2024", where="Theorem 4 (Eq 17)",
          statement="As B → ∞ the optimal lr of sign descent tends to Σ|μ_i| / Σ_ij s_i s_j H_ij.",
          assumptions="B ≫ πσ_i²/(2μ_i²) for every i, every μ_i ≠ 0",
          experiment="surge", measure="experiments.surge:measure_theorem4_limit",
          prediction=Prediction("value", value=0.0, tol=1e-9, rel=False),
          protocol="exact erf model at B = 1e12, cases A–E; max relative deviation",
          paper_value="Σ|μ_i| / Σ s_i s_j H_ij"),
    Claim(id="li.appD.no-surge-without-coupling", paper="li2024", where="App. D (after Eq 40)",
          statement="A surge (finite B_noise, an interior peak) needs O = Σ_{i≠j} r_i r_j H_ij > 0: "
                    "without coupling the optimal lr does not peak.",
          assumptions="the sign model of Theorem 2",
          experiment="surge", measure="experiments.surge:measure_uncoupled_peaks",
          prediction=Prediction("value", value=0.0, tol=0.0, rel=False),
          protocol="exact erf model, diagonal H: case A and 12 random models (16 coordinates); "
                   "number with an interior exact peak on B ∈ [1, 1e9]",
          paper_value="B_noise > 0 and ε_max > 0 force O > 0"),
    Claim(id="li.eq16.peak-height", paper="li2024", where="Eq 16",
          statement="The peak height is ε_max = √(B_noise/2π) Σμ_i²/σ_i / Σ H_ii.",
          assumptions="Theorem 3's regime (B_noise ≪ every coordinate bound)",
          experiment="surge", measure="experiments.surge:measure_peak_height", args={"case": "C"},
          outside="experiments.surge:case_outside_theorem3",
          prediction=Prediction("value", value=0.0, tol=0.01, rel=False),
          protocol="exact erf model, case C (equal |SNR|, B_noise = 0.29 × bound); "
                   "|Eq16/exact height − 1|",
          paper_value="closed form"),
    Claim(id="li.eq16.peak-height-heterogeneous", paper="li2024", where="Eq 16",
          statement="Eq 16 gives the peak height with heterogeneous SNR too.",
          assumptions="Theorem 3's regime (B_noise ≪ every coordinate bound)",
          experiment="surge", measure="experiments.surge:measure_peak_height", args={"case": "D"},
          outside="experiments.surge:case_outside_theorem3",
          prediction=Prediction("value", value=0.0, tol=0.01, rel=False),
          protocol="exact erf model, case D (64 coordinates, log-normal SNR); |Eq16/exact − 1|",
          paper_value="closed form"),
    Claim(id="li.eq20.tradeoff", paper="li2024", where="Eq 20 (App. F, Eq 44–45)",
          statement="For sign descent, as for SGD, (S/S_min − 1)(E/E_min − 1) = 1.",
          assumptions="Theorem 5's regime; statistics constant along training (McCandlish App. D)",
          experiment="surge", measure="experiments.surge:measure_eq20_product", args={"case": "C"},
          prediction=Prediction("value", value=1.0, tol=0.1),
          protocol="exact erf model, case C, S = 1/ΔL_opt(B) (Eq 8), E = B·S; the product at "
                   "B = B_crit = E_min/S_min (within 10 %)",
          paper_value="1 (\"(20) and (21) still hold\")"),
    # --- one step from w0, simulated (surge) ---
    Claim(id="li.s3.sign-surges", paper="li2024", where="§2–3, Fig. 1",
          statement="The optimal lr of sign descent rises, peaks and falls with B (the surge).",
          assumptions="sign-like optimizer, O > 0, B_noise below the coordinate bounds",
          experiment="surge", measure="experiments.surge:measure_surge_drop",
          args={"optimizer": "signsgd", "k": 1}, prediction=Prediction("above", threshold=0.0),
          protocol="SignSGD, one step from w0 (8-d coupled Gaussian quadratic, B = 1…1024, 36 lrs, "
                   "300 seeds); log10 fall of ε_opt from its peak to B = 1024",
          paper_value="peak, then a fall"),
    Claim(id="li.s3.sgd-no-surge", paper="li2024", where="§1, Eq 1, Fig. 1",
          statement="SGD's optimal lr does not fall at large B (Eq 1 is monotone).",
          assumptions="McCandlish's SGD model",
          experiment="surge", measure="experiments.surge:measure_surge_drop",
          args={"optimizer": "sgd", "k": 1}, prediction=Prediction("below", threshold=0.021),
          protocol="SGD, one step from w0, same grid; log10 fall of ε_opt from its highest point to "
                   "B = 1024 below log10(1.05)",
          paper_value="monotone, saturating"),
    # --- the paper's protocol at training states (surge_target) ---
    *(Claim(id=f"li.s31.eq22-locates-peak.k{k}", paper="li2024", where="§3.1, Eq 22, Figs. 2–5",
            statement="The B_noise fitted by Eq 22 (1/S against 1/E to a target loss) predicts the "
                      "peak of the optimal lr measured by a few further steps from that loss.",
            assumptions="Adam/sign descent; the peak exists in the batch range",
            experiment="surge_target", measure="experiments.surge_target:measure_eq22_peak_ratio",
            args={"k": k}, outside="experiments.surge_target:peak_unresolved",
            prediction=Prediction("below", threshold=0.30103),
            protocol=f"SignSGD, k = {k} further steps from shared checkpoints at τ = 0.3, 0.1, 0.01, "
                     "0.001·L(w0) (32-d coupled blocks, B = 1…2^22); max over τ of "
                     "|log10(peak/fit)| below log10 2" + (" (the paper's count)" if k in (10, 50)
                                                          else ""),
            paper_value="\"the red dashed line accurately predicts the peak\"")
      for k in (1, 3, 10, 50)),
    *(Claim(id=f"li.fig3.peak-moves-right.k{k}", paper="li2024", where="§3.1, Fig. 3",
            statement="As the training loss decreases, the peak of the optimal lr moves to larger B.",
            assumptions="Adam/sign descent; the peak exists in the batch range",
            experiment="surge_target", measure="experiments.surge_target:measure_peak_shift",
            args={"k": k}, outside="experiments.surge_target:peak_unresolved",
            prediction=Prediction("below", threshold=0.0),
            protocol=f"SignSGD, k = {k} further steps from the checkpoints; slope of log10 peak "
                     "against log10 τ (< 0: moves right as τ falls)",
            paper_value="\"gradually shifts to the right\"")
      for k in (1, 3, 10, 50)),
    Claim(id="li.thm2.one-step-at-state", paper="li2024", where="Lemma 1, Theorem 2 (Eq 6, 9)",
          statement="One step from a state, the optimal lr of sign descent is Eq 9 (exact on a "
                    "quadratic).",
          assumptions="Gaussian per-coordinate gradients; quadratic loss",
          experiment="surge_target", measure="experiments.surge_target:measure_one_step_bias",
          args={"optimizer": "signsgd"}, prediction=Prediction("value", value=0.0, tol=0.02,
                                                                rel=False),
          protocol="SignSGD k = 1 from the four checkpoints, all B; mean log10(sim/Eq 9) within "
                   "±0.02 (5 %)",
          paper_value="exact (Lemma 1)"),
    Claim(id="li.thm5.one-step-decrease", paper="li2024", where="Theorem 5 (Eq 18/19)",
          statement="The optimal one-step loss decrease is ΔL_max/(1 + B_noise/B).",
          assumptions="B ≪ πσ_i²/(2μ_i²) for every i",
          experiment="surge_target", measure="experiments.surge_target:measure_theorem5",
          prediction=Prediction("value", value=0.0, tol=0.05, rel=False),
          protocol="SignSGD, one step from the four checkpoints at 40 000 seeds, B ≤ bound/10; "
                   "ln(simulated/Eq 18), inverse-variance mean over B, within ±0.05",
          paper_value="ΔL_max/(1 + B_noise/B)"),
    Claim(id="li.eq4.sign-sqrt-b", paper="li2024", where="Eq 4 (Eq 13)",
          statement="For B ≪ B_noise the optimal lr of sign descent grows as √B.",
          assumptions="B ≪ B_noise and B ≪ every coordinate bound",
          experiment="surge_target", measure="experiments.surge_target:measure_small_batch_exponent",
          args={"optimizer": "signsgd"}, prediction=Prediction("value", value=0.5, tol=0.1,
                                                                rel=False),
          protocol="SignSGD one step at the checkpoints (40 000 seeds), B ≤ min(B_noise, bound)/10; "
                   "log-log slope of ε(1 + B/B_noise), mean over τ",
          paper_value="½"),
    Claim(id="li.eq3.sgd-linear-b", paper="li2024", where="Eq 3 (Eq 1)",
          statement="For B ≪ B_noise SGD's optimal lr grows linearly in B.",
          assumptions="B ≪ B_noise (McCandlish)",
          experiment="surge_target", measure="experiments.surge_target:measure_small_batch_exponent",
          args={"optimizer": "sgd"}, prediction=Prediction("value", value=1.0, tol=0.1, rel=False),
          protocol="SGD one step at the checkpoints (40 000 seeds), B ≤ B_noise/10; log-log slope "
                   "of ε(1 + B/B_noise), mean over τ",
          paper_value="1"),
    Claim(id="li.fig4.eq2-fits-sign", paper="li2024", where="Eq 2, Figs. 2–4",
          statement="Eq 2 describes the optimal-lr curve of sign-like optimizers.",
          assumptions="Adam/sign descent",
          experiment="surge_target", measure="experiments.surge_target:measure_fit_residual",
          args={"optimizer": "signsgd", "form": "eq2"}, prediction=Prediction("below", threshold=0.1),
          protocol="least-squares fit of Eq 2 to the SignSGD k = 1 curve on B ≤ 2^14 at each "
                   "checkpoint; rms residual of log ε below 0.1, mean over τ",
          paper_value="the Adam curve matches"),
    Claim(id="li.fig4.eq1-fits-sgd", paper="li2024", where="Eq 1 / Eq 24 (α = 1)",
          statement="Eq 1 (Eq 24 with α = 1) describes SGD's optimal-lr curve.",
          assumptions="SGD",
          experiment="surge_target", measure="experiments.surge_target:measure_fit_residual",
          args={"optimizer": "sgd", "form": "eq24_a1"}, prediction=Prediction("below", threshold=0.1),
          protocol="least-squares fit of Eq 24, α = 1, to the SGD k = 1 curve on B ≤ 2^14 at each "
                   "checkpoint; rms residual of log ε below 0.1, mean over τ",
          paper_value="α = 1 for SGD"),
    *(Claim(id=f"li.appA.adam-like-sign-at-state.k{k}", paper="li2024", where="App. A (Eq 27–29)",
            statement="Adam (β1 = 0.9, β2 = 0.999) behaves like sign descent: its optimal lr over "
                      "B follows that of sign descent (up to the factor ε_max that Eq 23 fits per "
                      "optimizer).",
            assumptions="ε_Adam negligible; the sign model of Adam",
            experiment="surge_target", measure="experiments.surge_target:measure_adam_vs_sign",
            args={"k": k}, prediction=Prediction("below", threshold=0.176),
            protocol=f"k = {k} further steps from the state of an Adam reference run at τ = 0.01 "
                     "(B = 4096; its m, v and step count), SignSGD from the same iterate; rms over B "
                     "of log10(ε_Adam/ε_sign) about its mean, below log10 1.5",
            paper_value="Adam modelled as sign(G_est); Figs. 2–4 use Adam (0.9, 0.999)")
      for k in (1, 10)),
    Claim(id="li.fig1.reascent", paper="li2024", where="Fig. 1 (schematic), Theorem 4",
          statement="After its peak the optimal lr dips and re-ascends to the Theorem 4 value.",
          assumptions="heterogeneous SNR (with equal |SNR| the exact curve is unimodal)",
          experiment="surge_target", measure="experiments.surge_target:measure_reascent",
          args={"target": 0.1}, prediction=Prediction("above", threshold=0.0),
          protocol="exact one-step curve (Eq 9) at the τ = 0.1 checkpoint, B ∈ [1, 1e9]; "
                   "Eq17/ε_dip − 1",
          paper_value="schematic"),
)

# === end li2024 =================================================================================


# === cattaneo2026 — owner: implicit_bias helper =================================================

CATTANEO = (
)

# === end cattaneo2026 ===========================================================================


# === wang_aitchison — owner: rule helper (bsi_adam) ==============================================

WANG = (
    Claim(id="wang.thm1.kappa4", paper="wang_aitchison", where="Theorem 1, §4",
          statement="κ steps of Adam on micro-batches of size M equal, as δ → 0, one step of "
                    "batch-size-invariant Adam (Alg. 3) on the merged mini-batch B = κM with "
                    "η′ = κη, γ′ = κγ (here κ = 4): ‖Δstate‖/δ = O(δ).",
          assumptions="η = δη̄, γ_i = δγ̄_i, δ → 0; the same data points in both runs",
          experiment="bsi_adam", measure="experiments.bsi_adam:measure_theorem_slope",
          args={"pair": "1-4:bsi"}, prediction=Prediction("value", value=1.0, tol=0.1, rel=False),
          protocol="9-d toy, fixed micro-batch oracles, δ = 2^-4 … 2^-12; slope of ‖Δstate‖/δ",
          paper_value="limit (slope 1 from the O(δ²) remainder)"),
    Claim(id="wang.thm1.kappa8", paper="wang_aitchison", where="Theorem 1, §4",
          statement="The same as Theorem 1 with κ = 8 micro-batches per mini-batch.",
          assumptions="η = δη̄, γ_i = δγ̄_i, δ → 0; the same data points in both runs",
          experiment="bsi_adam", measure="experiments.bsi_adam:measure_theorem_slope",
          args={"pair": "1-8:bsi"}, prediction=Prediction("value", value=1.0, tol=0.1, rel=False),
          protocol="9-d toy, fixed micro-batch oracles; slope of ‖Δstate‖/δ",
          paper_value="limit (slope 1 from the O(δ²) remainder)"),
    Claim(id="wang.thm2.kappa2-4", paper="wang_aitchison", where="Theorem 2, §4",
          statement="Batch-size-invariant Adam with mini-batches of κ′M and κ″M gives the same "
                    "state after consuming the same data, as δ → 0 (κ′ = 2, κ″ = 4).",
          assumptions="η = δη̄, γ_i = δγ̄_i, δ → 0; the same data points in both runs",
          experiment="bsi_adam", measure="experiments.bsi_adam:measure_theorem_slope",
          args={"pair": "2-4:bsi"}, prediction=Prediction("value", value=1.0, tol=0.1, rel=False),
          protocol="9-d toy, fixed micro-batch oracles; slope of ‖Δstate‖/δ",
          paper_value="limit (slope 1 from the O(δ²) remainder)"),
    Claim(id="wang.s3.adam-not-invariant", paper="wang_aitchison", where="§3, Alg. 2 vs Alg. 3",
          statement="Standard Adam (square of the mean micro-batch gradient in v) does not have "
                    "the Theorem 1 limit: its ‖Δstate‖/δ tends to a nonzero constant (slope 0).",
          assumptions="η = δη̄, γ_i = δγ̄_i, δ → 0",
          experiment="bsi_adam", measure="experiments.bsi_adam:measure_theorem_slope",
          args={"pair": "1-4:adam"}, prediction=Prediction("below", threshold=0.5),
          protocol="the control of Theorem 1, κ = 4", paper_value="v differs at O(δ)"),
    Claim(id="wang.s5.bsi-invariant-high-snr", paper="wang_aitchison", where="§5, Figs. 1–3",
          statement="BSI-Adam with η ∝ B, γ ∝ B gives the same loss against samples consumed at "
                    "every batch size, for small enough lr, even where E[g]² is not small "
                    "against Var[g].",
          assumptions="a small enough base lr (η0 = 0.01 here)",
          experiment="bsi_adam", measure="experiments.bsi_adam:measure_spread",
          args={"method": "bsi_adam", "regime": "high_snr", "lr0": 0.01},
          prediction=Prediction("below", threshold=0.1),
          protocol="10-d NQM, C = H (max E²/Var 0.97 … 31 at w0), B = 4 … 128, M = 4; "
                   "max relative spread across B < 10 %",
          paper_value="trajectories \"almost exactly overlap\" (figures)"),
    Claim(id="wang.s5.bsi-invariant-noise-dominated", paper="wang_aitchison", where="§5, Figs. 1–3",
          statement="BSI-Adam with η ∝ B, γ ∝ B is batch-size invariant in the noise-dominated "
                    "regime too.",
          assumptions="a small enough base lr (η0 = 0.01 here)",
          experiment="bsi_adam", measure="experiments.bsi_adam:measure_spread",
          args={"method": "bsi_adam", "regime": "noise_dominated", "lr0": 0.01},
          prediction=Prediction("below", threshold=0.1),
          protocol="10-d NQM, C = 10³H (E²/Var ≤ 0.031 at w0), B = 4 … 128; spread < 10 %",
          paper_value="trajectories \"almost exactly overlap\" (figures)"),
    Claim(id="wang.s1.sqrt-scaling-not-invariant-high-snr", paper="wang_aitchison", where="§1, §5 (Fig. 3)",
          statement="Standard Adam with η ∝ √B is not batch-size invariant where Var[g] does not "
                    "dominate E[g]² (near initialization, large B).",
          assumptions="E[g]² comparable to Var[g_B]",
          experiment="bsi_adam", measure="experiments.bsi_adam:measure_spread",
          args={"method": "adam", "regime": "high_snr", "lr0": 0.01},
          prediction=Prediction("above", threshold=0.1),
          protocol="10-d NQM, C = H, η0 = 0.01; spread across B > 10 %",
          paper_value="\"significant discrepancy\" (Fig. 3)"),
    Claim(id="wang.s1.sqrt-scaling-noise-dominated", paper="wang_aitchison", where="§1",
          statement="Square-root scaling of standard Adam gives batch-size invariance when "
                    "Var[g] dominates E[g]².",
          assumptions="Var[g_B] ≫ E[g]² at every B used",
          experiment="bsi_adam", measure="experiments.bsi_adam:measure_spread",
          args={"method": "adam", "regime": "noise_dominated", "lr0": 0.01},
          prediction=Prediction("below", threshold=0.1),
          protocol="10-d NQM, C = 10³H (E²/Var ≤ 0.031 at w0), η0 = 0.01; spread < 10 %",
          paper_value="valid under that assumption (Malladi et al. 2022)"),
)

# === end wang_aitchison =========================================================================


# === sde — owner: quadratic_gap / gap_knobs / sde helper ========================================

SDE = (
)

# === end sde ====================================================================================


# === LM experiments (lm_gap, lm_surge, lm_betas, lm_bsi) — owner: rule helper ====================

LM = (
    Claim(id="lm.gap.steps", paper="sreckovic2025", where="§2.3, Fig. 2 (fixed steps)",
          statement="On a language model, at a fixed number of steps, the loss gap between SGD "
                    "with momentum and Adam, each at its own tuned lr, grows with the batch size.",
          assumptions="LM training; the lr tuned per (optimizer, B)",
          experiment="lm_gap", measure="experiments.lm_gap:measure_gap_growth",
          args={"budget": "steps"}, outside="experiments.lm_gap:check_trained",
          prediction=Prediction("sign", sign=1),
          protocol="byte-level LM (CPU tier), gap(B_max) − gap(B_min) in nats/byte, tuned lr",
          paper_value="grows with B (figure)"),
    Claim(id="lm.gap.tokens", paper="sreckovic2025", where="§2.3, Fig. 2 (fixed tokens)",
          statement="On a language model, at a fixed token budget, the SGD–Adam loss gap (each at "
                    "its tuned lr) grows with the batch size.",
          assumptions="LM training; the lr tuned per (optimizer, B)",
          experiment="lm_gap", measure="experiments.lm_gap:measure_gap_growth",
          args={"budget": "tokens"}, outside="experiments.lm_gap:check_trained",
          prediction=Prediction("sign", sign=1),
          protocol="byte-level LM (CPU tier), gap(B_max) − gap(B_min), tuned lr",
          paper_value="grows with B (figure)"),
    Claim(id="lm.surge.peak-adam", paper="li2024", where="Eq 15, §5 protocol",
          statement="On a language model the optimal lr of Adam (0.9, 0.999) after k further "
                    "steps from a checkpoint peaks at B = B_noise (within a factor 2).",
          assumptions="B ≪ πσ²/2μ² (Theorem 3); a trained checkpoint",
          experiment="lm_surge", measure="experiments.lm_surge:measure_peak",
          args={"optimizer": "adam_0.9_0.999"}, outside="experiments.lm_surge:check_trained",
          prediction=Prediction("value", value=0.0, tol=1.0, rel=False),
          protocol="log2(B_peak / B_noise measured at the checkpoint); |·| ≤ 1",
          paper_value="B_peak = B_noise"),
    Claim(id="lm.surge.peak-sign", paper="li2024", where="Eq 15, §5 protocol",
          statement="The same for sign descent (Adam with β1 = β2 = 0).",
          assumptions="B ≪ πσ²/2μ² (Theorem 3); a trained checkpoint",
          experiment="lm_surge", measure="experiments.lm_surge:measure_peak",
          args={"optimizer": "adam_0_0"}, outside="experiments.lm_surge:check_trained",
          prediction=Prediction("value", value=0.0, tol=1.0, rel=False),
          protocol="log2(B_peak / B_noise); |·| ≤ 1", paper_value="B_peak = B_noise"),
    Claim(id="lm.betas.beta2-small-b", paper="cattaneo2026", where="Lemma 3.4, §3.3",
          statement="At small batch (λ > 0.5082) a larger β2 generalizes better: β = (0.9, 0.999) "
                    "reaches a lower best validation loss than (0.9, 0.9).",
          assumptions="λ > 0.5082 (b < 2·B_simple); multi-epoch training to overfitting",
          experiment="lm_betas", measure="experiments.lm_betas:measure_betas",
          args={"b": "small", "better": "0.9/0.999", "worse": "0.9/0.9", "lam_above": 0.5082,
                "side": "Lemma 3.4's small-batch side"},
          outside="experiments.lm_betas:check_side", prediction=Prediction("sign", sign=-1),
          protocol="byte-level LM, N windows, one lr per b (paper protocol); best val loss",
          paper_value="C_total increasing in β2 for λ > 0.5082"),
    Claim(id="lm.betas.beta2-large-b", paper="cattaneo2026", where="Lemma 3.4, §3.3",
          statement="At large batch (λ < 0.494) a smaller β2 generalizes better: (0.9, 0.9) beats "
                    "(0.9, 0.999).",
          assumptions="λ < 0.494 (b > 2·B_simple); multi-epoch training to overfitting",
          experiment="lm_betas", measure="experiments.lm_betas:measure_betas",
          args={"b": "large", "better": "0.9/0.9", "worse": "0.9/0.999", "lam_below": 0.494,
                "side": "Lemma 3.4's large-batch side"},
          outside="experiments.lm_betas:check_side", prediction=Prediction("sign", sign=-1),
          protocol="byte-level LM, one lr per b (paper protocol); best val loss",
          paper_value="C_total decreasing in β2 for λ < 0.494"),
    Claim(id="lm.betas.beta1-large-b", paper="cattaneo2026", where="Lemma 3.6, §3.3",
          statement="Where λ < 0.995 a larger β1 (at β2 = 0.999) generalizes better: (0.999, "
                    "0.999) beats (0.9, 0.999).",
          assumptions="λ < 0.995; multi-epoch training to overfitting",
          experiment="lm_betas", measure="experiments.lm_betas:measure_betas",
          args={"b": "large", "better": "0.999/0.999", "worse": "0.9/0.999", "lam_below": 0.995,
                "side": "Lemma 3.6's λ < 1 side"},
          outside="experiments.lm_betas:check_side", prediction=Prediction("sign", sign=-1),
          protocol="byte-level LM, one lr per b (paper protocol); best val loss",
          paper_value="C_total increasing in β1 for λ < 0.995"),
    Claim(id="lm.betas.flatness", paper="cattaneo2026", where="§3.3 (hypothesis)",
          statement="Larger C_total means flatter minima: over the betas pairs, C_total(λ) and the "
                    "final sharpness are negatively rank-correlated (small batch).",
          assumptions="the paper's hypothesis; training to overfitting",
          experiment="lm_betas", measure="experiments.lm_betas:measure_flatness",
          args={"b": "small"}, outside="experiments.lm_betas:check_side",
          prediction=Prediction("sign", sign=-1),
          protocol="Spearman ρ over the betas pairs, seed-mean sharpness",
          paper_value="hypothesis"),
    Claim(id="lm.bsi.thm1-k2", paper="wang_aitchison", where="Theorem 1, §4 (on the LM)",
          statement="On a transformer, κ = 2 micro-batch Adam steps equal one BSI-Adam step as "
                    "δ → 0: the slope of ‖Δstate‖/δ in δ is 1.",
          assumptions="η = δη̄, γ_i = δγ̄_i, δ → 0 (no training needed)",
          experiment="lm_bsi", measure="experiments.lm_bsi:measure_slope",
          args={"kappa": 2, "merged": "bsi"}, prediction=Prediction("value", value=1.0, tol=0.2,
                                                                   rel=False),
          protocol="tiny model, float64, 3–5 values of δ (tolerance 0.2: the largest δ is 0.04)",
          paper_value="limit (slope 1)"),
    Claim(id="lm.bsi.adam-control-k2", paper="wang_aitchison", where="§3, Alg. 2 (on the LM)",
          statement="Standard Adam does not have that limit on the transformer (slope 0).",
          assumptions="η = δη̄, γ_i = δγ̄_i, δ → 0",
          experiment="lm_bsi", measure="experiments.lm_bsi:measure_slope",
          args={"kappa": 2, "merged": "adam"}, prediction=Prediction("below", threshold=0.5),
          protocol="tiny model, float64", paper_value="v differs at O(δ)"),
    Claim(id="lm.bsi.more-invariant", paper="wang_aitchison", where="§5, Figs. 1–3 (on the LM)",
          statement="On a language model BSI-Adam (η ∝ B) is more batch-size invariant than "
                    "standard Adam with η ∝ √B: its loss curves across B spread less.",
          assumptions="a small enough base lr; LM training",
          experiment="lm_bsi", measure="experiments.lm_bsi:measure_invariance",
          args={"lr0_index": 0}, outside="experiments.lm_bsi:check_trained",
          prediction=Prediction("sign", sign=1),
          protocol="spread(Adam-√B) − spread(BSI) in nats/byte at the smallest η0",
          paper_value="\"much larger range of scenarios\""),
)

# === end LM =====================================================================================


CLAIMS: tuple[Claim, ...] = SRECKOVIC + LI + CATTANEO + WANG + SDE + LM
