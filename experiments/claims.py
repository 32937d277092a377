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
    Claim(id="lm.gap.steps", paper="sreckovic2025", where="§2.3, Fig. 2; set-up of App. B",
          statement="On a language model, at a fixed number of steps, the loss gap between SGD "
                    "with momentum and Adam, each at its own tuned lr, grows with the batch size.",
          assumptions="LM training; the lr tuned per (optimizer, B); global-norm clipping on the "
                      "raw gradients, Adam β2 = 0.95, no weight decay",
          experiment="lm_gap", measure="experiments.lm_gap:measure_gap_growth",
          args={"budget": "steps", "optimizer": "adam"}, outside="experiments.lm_gap:check_trained",
          prediction=Prediction("sign", sign=1),
          protocol="byte-level LM, fixed steps, gap(B_max) − gap(B_min) in nats/byte, tuned lr",
          paper_value="grows with B (figure)"),
    Claim(id="lm.gap.signum-steps", paper="li2024", where="§3 (Adam-style optimizers as the sign of the gradient)",
          statement="Signum (sign descent with momentum) behaves like Adam against SGD: at a fixed "
                    "number of steps the SGD–Signum gap, each at its tuned lr, grows with B.",
          assumptions="LM training; the lr tuned per (optimizer, B); clipping, no weight decay",
          experiment="lm_gap", measure="experiments.lm_gap:measure_gap_growth",
          args={"budget": "steps", "optimizer": "signum"}, outside="experiments.lm_gap:check_trained",
          prediction=Prediction("sign", sign=1),
          protocol="byte-level LM, fixed steps, gap(B_max) − gap(B_min), tuned lr",
          paper_value="sign-like optimizers gain from B"),
    Claim(id="lm.gap.adamw-steps", paper="sreckovic2025", where="beyond App. B (weight decay off there)",
          statement="With weight decay (AdamW, 0.1) in place of Adam the SGD gap still grows with "
                    "the batch size at a fixed number of steps.",
          assumptions="LM training; the lr tuned per (optimizer, B); clipping; weight decay 0.1",
          experiment="lm_gap", measure="experiments.lm_gap:measure_gap_growth",
          args={"budget": "steps", "optimizer": "adamw"}, outside="experiments.lm_gap:check_trained",
          prediction=Prediction("sign", sign=1),
          protocol="byte-level LM, fixed steps, gap(B_max) − gap(B_min), tuned lr",
          paper_value="not tested (weight decay off)"),
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
          protocol="Spearman ρ over the betas pairs per seed, mean over seeds",
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
