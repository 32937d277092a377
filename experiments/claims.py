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
