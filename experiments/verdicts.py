"""Every claim of ``experiments.claims`` decided by ``simlab.verdict.decide`` from ``results/``.

    python -m experiments.verdicts [--results DIR] [--check] [--json]

Writes ``docs/verdicts.md`` (one row per claim: claim | paper value | simlab value ± interval,
with conditions | verdict) and ``results/verdicts.json``, and rewrites the README's generated
blocks. ``--check`` writes nothing: it exits 1 when docs/verdicts.md, the README's generated
blocks or the committed figures disagree with ``results/``. ``--json`` prints the JSON.

A claim whose results file is missing is ``unresolved`` with reason "no results".
"""
from __future__ import annotations

import importlib
import math
from pathlib import Path

import xarray as xr

from experiments.claims import CLAIMS, Claim
from simlab.verdict import Verdict, decide

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"


def load_function(spec: str):
    """"package.module:function" → the function."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"spec={spec!r} must read 'package.module:function'")
    return getattr(importlib.import_module(module), name)


def results_path(claim: Claim, results: Path = RESULTS) -> Path:
    return Path(results) / f"{claim.results_stem}.nc"


def evaluate(claim: Claim, ds: xr.Dataset | None = None, *, results: Path = RESULTS,
             quick: bool | None = None) -> Verdict:
    """The verdict of one claim on ``ds`` (default: its results file). ``quick`` None: read from
    the Dataset's ``quick`` attribute (set by the harness), so a --quick Dataset gives smoke."""
    if ds is None:
        path = results_path(claim, results)
        if not path.exists():
            return Verdict("unresolved", math.nan, None, reason="no results",
                           details={"results": str(path)})
        with xr.open_dataset(path) as opened:
            ds = opened.load()
    if quick is None:
        quick = bool(int(ds.attrs.get("quick", 0)))
    measurement = load_function(claim.measure)(ds, **claim.args)
    outside = load_function(claim.outside)(ds, **claim.args) if claim.outside else None
    return decide(measurement, claim.prediction, quick=quick, outside=outside)


def claims_of(stem: str) -> tuple[Claim, ...]:
    return tuple(c for c in CLAIMS if c.results_stem == stem)


def format_verdict(v: Verdict) -> str:
    """One line: status (knob / seeds), value [interval], reason."""
    head = v.status + (f" ({v.knob})" if v.knob else "") \
        + (f" (~{v.seeds_needed} seeds)" if v.seeds_needed else "")
    value = "" if v.value is None or (isinstance(v.value, float) and math.isnan(v.value)) \
        else f"{v.value:.4g}"
    if v.interval is not None and value:
        value += f" [{v.interval[0]:.4g}, {v.interval[1]:.4g}]"
    return f"{head}: {value}" + (f" — {v.reason}" if v.reason else "")


def verdict_lines(ds: xr.Dataset, stem: str | None = None) -> str:
    """The verdict of every claim measured on this Dataset, one line each (for a report).
    A --quick Dataset prints ``smoke``."""
    stem = stem or ds.attrs.get("stem") or ds.attrs.get("experiment")
    return "\n".join(f"{c.id}: {format_verdict(evaluate(c, ds))}" for c in claims_of(stem))
