"""``simulate``: an ensemble of runs of any dynamics on any problem, as a labelled Dataset.

What is simulated (problem, dynamics — an optimizer or an SDE model —, schedule), how it runs
(``backend``) and what is recorded (``record_every``) are separate arguments. Every input is
validated before any work starts into one ``RunSpec`` that every backend runs with the same
semantics (``backends/spec.py``), and the result is assembled once for every backend: both by
``backends/interface.py`` (``make_spec``, ``assemble``, re-exported here), which lies below the
backends so that they need not import this module.
"""
from __future__ import annotations

import xarray as xr

from .backends import get_backend
from .backends.interface import MAX_STEP, assemble, lr_coords, make_spec, run_config  # noqa: F401
from .schedules import Schedule


def simulate(problem, optimizer, lr, batch_size: int | None = None, steps: int | None = None,
             seeds: int = 1, *, schedule: Schedule | None = None,
             sampling: str = "without_replacement", record_every: int = 1,
             backend: str = "auto", microbatch: int | None = None, batch_indices=None,
             seed: int = 0, divergence_factor: float = 1e4, init_state=None,
             start_step: int | None = None, horizon: int | None = None) -> xr.Dataset:
    """Run ``optimizer`` on ``problem`` for every learning rate × seed; return a Dataset.

    Arguments
    ---------
    problem: a ``simlab.problems`` Problem (quadratics, the diagonal linear network, …).
    optimizer: the dynamics — an ``Optimizer`` (``simlab.optim``) or an SDE model (``simlab.sde``),
    which carries its own batch size and Euler–Maruyama sub-steps.
    lr: scalar or list of distinct peak learning rates η (≥ 0; > 0 for an SDE); the rate at step
    k is η·s_k with s = schedule(horizon).
    batch_size: B ≥ 1 (≤ n unless sampling with replacement); an SDE model's by default.
    steps: T ≥ 1 steps, from ``start_step`` to ``start_step + T``.
    seeds: S independent runs per learning rate, on streams spawned from ``SeedSequence(seed)``;
    run s uses the same batches and noise for every lr (common random numbers).
    sampling: ``"without_replacement"`` (an independent B-subset per step, the reference toy),
    ``"with_replacement"`` or ``"epoch"`` (random reshuffling: multi-epoch training).
    record_every: the full-batch loss is recorded at the first step, every multiple of
    ``record_every`` and the last step.
    backend: ``"auto"`` (numba when importable), ``"numpy"`` (the reference), ``"numba"``, ``"cuda"``.
    microbatch: M dividing B, for batch-size-invariant optimizers (``optim.bsi_adam``).
    batch_indices: optional (T, S, B) integer array of sample indices to use instead of drawing.
    divergence_factor: a run diverges when its loss is NaN or > factor × max(L(w0),
    problem.loss_scale()) (w0 = ``problem.w0``, also when continuing); it is then frozen.
    init_state, start_step: continue runs from a state — the Dataset of an earlier ``simulate``
    (its final state, divergence flags, and its final step as the default ``start_step``) or a
    tuple (w, s_1, …, s_K) of the iterate and the K state slots, each broadcastable to (lr_index,
    seed, dim) (None or left out: zeros). T1 steps then a continuation of T2 steps
    equals T1 + T2 steps bit for bit (same draws, schedule entries and step counts).
    horizon: the number of steps the schedule spans (default start_step + T); give the total
    when running a long schedule in pieces.

    Returns an ``xarray.Dataset`` with ``loss`` (lr_index, seed, step), ``diverged`` and
    ``diverged_step`` (lr_index, seed; −1 when finite throughout), the final iterate ``w_final``
    (lr_index, seed, dim), the state slots ``state_final`` (lr_index, seed, slot, dim; coordinate
    ``slot``: the names of ``optimizer.slots``, e.g. "m", "v" for Adam) and the coordinate
    ``lr_value`` (lr_index), the η of each index — the layout of ``simlab.Sweep`` too, so
    ``best_lr``, ``lr_scores`` and ``select_lr`` take either; the resolved configuration is in
    ``attrs["config"]`` (JSON) and the last step in ``attrs["final_step"]``.
    """
    run = get_backend(backend)
    dynamics = optimizer
    spec = make_spec(problem, dynamics, lr, batch_size, steps, seeds, schedule=schedule,
                     sampling=sampling, record_every=record_every, microbatch=microbatch,
                     batch_indices=batch_indices, seed=seed, divergence_factor=divergence_factor,
                     init_state=init_state, start_step=start_step, horizon=horizon,
                     backend=backend)
    raw = run(spec)
    config = run_config(problem, dynamics, spec, backend, schedule=schedule, seed=seed,
                        sampling=sampling, record_every=record_every,
                        divergence_factor=divergence_factor, batch_indices=batch_indices,
                        init_state=init_state)
    return assemble(spec, raw, config, dynamics.label)
