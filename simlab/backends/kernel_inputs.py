"""A ``RunSpec`` as the records the compiled backends take (``per_run``'s Plan, Batching, Outputs
and the problem's and dynamics' own records), shared by the numba and CUDA backends."""
from __future__ import annotations

import numpy as np

from ..optim import Optimizer
from .per_run import BATCH_GIVEN, SAMPLING_MODE, Batching, Discrete, Outputs, Plan
from .spec import RawResult, RunSpec


def dynamics_record(dynamics):
    """The record of an optimizer (``per_run.Discrete``) or of an SDE model (its own)."""
    if isinstance(dynamics, Optimizer):
        return Discrete(dynamics.chain, float(dynamics.clip_fraction),
                        bool(dynamics.squares_microbatches), float(dynamics.max_grad_norm))
    return dynamics.kernel_record()


def kernel_inputs(spec: RunSpec):
    """(P, D, plan, batching, out, (batch capacity, sample capacity)) for ``spec``; ``out`` holds
    the initial state and is filled in place by the kernel."""
    P, D, plan, batching, capacities = kernel_records(spec)
    n_lr, n_seed = spec.shape
    out = Outputs(np.full((n_lr, n_seed, spec.record_steps.shape[0]), np.inf),
                  np.array(spec.init_diverged_step, dtype=np.int64, copy=True),
                  np.array(spec.init_w, dtype=np.float64, copy=True, order="C"),
                  np.array(spec.init_state, dtype=np.float64, copy=True, order="C"))
    return P, D, plan, batching, out, capacities


def kernel_records(spec: RunSpec):
    """(P, D, plan, batching, (batch capacity, sample capacity)) for ``spec``: the inputs of a
    kernel without its outputs (a device backend allocates those in its own layout)."""
    problem = spec.problem
    n = problem.n_samples
    record_slot = np.full(spec.steps + 1, -1, dtype=np.int64)
    record_slot[spec.record_steps - spec.start_step] = np.arange(spec.record_steps.shape[0])
    plan = Plan(np.ascontiguousarray(spec.lrs, dtype=np.float64),
                np.ascontiguousarray(spec.schedule, dtype=np.float64),
                np.ascontiguousarray(spec.keys, dtype=np.uint64), record_slot,
                int(spec.start_step), int(spec.stop), float(spec.divergence_threshold))
    if spec.batch_indices is not None:
        mode, given = BATCH_GIVEN, np.ascontiguousarray(spec.batch_indices, dtype=np.int64)
    else:
        mode, given = SAMPLING_MODE[spec.sampling], np.zeros((1, 1, 1), dtype=np.int64)
    use_counts = (n is not None and spec.batch_indices is None
                  and spec.sampling == "with_replacement" and spec.microbatch >= n)
    batching = Batching(mode, int(spec.batch_size), int(spec.microbatch), bool(use_counts), given,
                        int(spec.start_step))
    capacities = (max(int(spec.batch_size), 1), max(n or 1, 1))
    return (problem.kernel_record(), dynamics_record(spec.dynamics), plan, batching, capacities)


def raw_result(out: Outputs) -> RawResult:
    return RawResult(out.loss, out.diverged_step, out.w, out.state)
