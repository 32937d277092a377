"""``integrate``: Euler–Maruyama ensembles of an SDE model, a thin front end of ``simulate``.

An SDE model is a dynamics of the one engine (``simlab.simulate``): the run loop, the random
draws, recording and divergence are the engine's, on every backend. ``integrate`` only names the
arguments the SDE way (paths, substeps) and adds the time of each record: with a schedule s_k
(η_k = η s_k), step k is the time interval [t_k, t_{k+1}), t_k = Σ_{j<k} η_j, so ``loss[..., k]``
is compared with the optimizer's L(x_k).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from .. import _checks
from ..schedules import Schedule
from .models import SDEModel


def integrate(model: SDEModel, lr, steps: int, paths: int = 1, *, schedule: Schedule | None = None,
              substeps: int = 1, record_every: int = 1, seed: int = 0, backend: str = "auto",
              divergence_factor: float = 1e4) -> xr.Dataset:
    """Euler–Maruyama paths of ``model`` over the times of ``steps`` optimizer steps (module doc).

    lr: η (scalar or list, each > 0); steps: T ≥ 1 (horizon t_T = η Σ s_k); paths: P ≥ 1;
    substeps: m ≥ 1 EM steps per optimizer step; backend: as ``simulate``.
    Returns ``simulate``'s Dataset (seed = path) with ``time`` (lr_index, step) = t_k added.
    """
    from ..simulate import simulate
    if not isinstance(model, SDEModel):
        raise ValueError(f"model={model!r} must be an SDEModel (see simlab.sde.sgd_sde, signsgd_sde)")
    model = model.with_substeps(substeps)
    paths = _checks.integer("paths", paths, lo=1)
    res = simulate(model.problem, model, lr, steps=steps, seeds=paths, schedule=schedule,
                   record_every=record_every, seed=seed, backend=backend,
                   divergence_factor=divergence_factor)
    multipliers = (schedule(steps) if schedule is not None else np.ones(steps))
    times = res.lr_value.values[:, None] * np.concatenate([[0.0], np.cumsum(multipliers)])[None, res.step.values]
    return res.assign(time=(("lr_index", "step"), times))
