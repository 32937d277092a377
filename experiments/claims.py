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
    "li2024": Paper("li2024", "Li et al. 2024: Surge phenomenon in optimal learning rate and "
                              "batch size scaling", "2405.14578"),
    "cattaneo2026": Paper("cattaneo2026", "Cattaneo & Shigida 2026: Adam's implicit bias under "
                                          "mini-batch noise", "2602.01642"),
    "wang_aitchison": Paper("wang_aitchison", "Wang & Aitchison: Batch size invariant Adam", ""),
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
    Claim(id="wang.s1.sqrt-scaling-fails-high-snr", paper="wang_aitchison", where="§1, §5 (Fig. 3)",
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
)

# === end LM =====================================================================================


CLAIMS: tuple[Claim, ...] = SRECKOVIC + LI + CATTANEO + WANG + SDE + LM
