"""The toy numbers the LM experiments set beside their own, read from the shipped toy results.

No number is copied by hand: each function opens ``results/<stem>.nc`` of a toy experiment and
measures it (through that experiment's measure functions where one exists). A missing results file
gives NaN and a source line that says so, never a stale constant.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parents[1] / "results"


def _load(stem: str, results: Path | None):
    from simlab.cache import load_dataset
    return load_dataset(Path(results or RESULTS) / f"{stem}.nc"), f"results/{stem}.nc"


def quadratic_gap(results: Path | None = None) -> dict:
    """log10(SGD/Adam) of the median final loss at the smallest and largest B, heterogeneous
    Hessian, retuned protocol (``results/quadratic_gap_retuned.nc``)."""
    ds, path = _load("quadratic_gap_retuned", results)
    try:
        med = ds.final_median.sel(hessian="heterogeneous")
        bs = [int(ds.batch_size.values[0]), int(ds.batch_size.values[-1])]
        ratio = [float(np.log10(med.sel(optimizer="sgd", batch_size=b)
                                / med.sel(optimizer="adam", batch_size=b))) for b in bs]
        return {"batch_size": bs, "log10_ratio": ratio,
                "source": f"{path} (retuned protocol, heterogeneous Hessian)"}
    except (AttributeError, KeyError, ValueError):
        return {"batch_size": [1, 9], "log10_ratio": [math.nan, math.nan],
                "source": f"{path}: not available"}


def bsi_adam(results: Path | None = None) -> dict:
    """Theorem 1–2 slopes of BSI-Adam and the invariance spreads at the smallest base lr (high-SNR
    regime) from ``results/bsi_adam.nc``, through ``experiments.bsi_adam``'s measure functions."""
    from experiments import bsi_adam as toy
    ds, path = _load("bsi_adam", results)
    try:
        pairs = [str(p) for p in ds.pair.values if str(p).endswith(":bsi")]
        lr0 = float(ds.lr0.values[0])
        return {"theorem_slopes": [toy.measure_theorem_slope(ds, p).value for p in pairs],
                "lr0": lr0,
                "spread_bsi": toy.measure_spread(ds, "bsi_adam", "high_snr", lr0, draws=2).value,
                "spread_adam": toy.measure_spread(ds, "adam", "high_snr", lr0, draws=2).value,
                "source": f"{path} (NQM, high-SNR regime)"}
    except (AttributeError, KeyError, ValueError):
        return {"theorem_slopes": [math.nan], "lr0": math.nan, "spread_bsi": math.nan,
                "spread_adam": math.nan, "source": f"{path}: not available"}
