"""The engine for a block of runs in lockstep: L runs (lanes) advance together, step by step.

A block holds runs r = b·L … b·L + L − 1 (lanes l = 0 … L − 1; lanes past the last run are idle).
Their iterates and state slots are laid out lane-minor — w (d, L), the K slots (K, d, L) — so that
coordinate i of every lane is L adjacent numbers. Step k of the block:

1. **record** (a record step): each live lane evaluates the problem's own ``problem_loss`` on a
   contiguous copy of its iterate; a record that is NaN or above the threshold freezes the lane
   (``live[l] = False``, ``diverged_step`` = k), exactly as ``per_run.run_one`` freezes a run;
2. **gradient**, lane by lane: each live lane copies its iterate to a contiguous vector and calls
   ``per_run.discrete_gradient`` (the batch draws of its own key, the problem's per-sample
   gradients, micro-batches, global-norm clipping) — the per-run code itself — and stores g (and
   gsq) as column l. A data problem that registers a lane fast path
   (``add_lane_sample_gradients``: the data quadratic) takes the common case — one batch, no
   counted rows, no norm clipping — with the lanes innermost instead: with-replacement draws by
   the samplers' own ``index_with_replacement`` per lane, then the problem's lane gradients
   (each sampled row copied once per lane into a lane-minor buffer, then the dot products and
   the update with the lanes innermost), the same operations per lane in the same order — where
   ``run``'s ``together`` says so (``numba_lockstep.rows_together``, measured). Each lane's
   per-step scalars ``chain_per_step(chain, k + 1, η_l s_k)`` go to column l
   of a flat table (computed once per distinct learning rate of the block);
3. **chain**, lanes innermost: for every coordinate i, for every lane l, the optimizer's chain
   (the transforms' own scalar ``update`` functions, unrolled by ``lane_chain``) maps
   (g, gsq, w, slots) of lane l to its step; a frozen lane keeps its old values by a select, not a
   branch. The lane loop has no control flow and unit stride, so the compiler vectorizes it: √ and
   ÷ run on L lanes at a time — and IEEE 754 rounds them, like +, −, ×, exactly in vector form as
   in scalar form, so every lane computes the bits ``per_run`` computes for its run.

Dynamics other than an optimizer (the SDE models) and adaptive momentum clipping (a quantile over a
run's coordinates) take step 2–3 as one call of their own per-run step per lane
(``lanes_each_step``): the same bits, no vectorization.

Everything here is plain scalar Python (loops, ``math``, the generic functions of
``simlab.kernel_ops`` and ``GENERIC`` below) that ``numba_lockstep`` compiles for the CPU; called
from Python it runs as written (slowly), which the tests use for nothing but the definition.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import kernel_ops, transforms
from ..kernel_ops import chain_per_step, dynamics_step, problem_loss, problem_n_samples
from ..random import index_with_replacement
from .per_run import BATCH_WITH, Discrete, Scratch, discrete_gradient, draw_batch


class Lanes(NamedTuple):
    """One block's buffers, lane-minor. ``lr_index``, ``seed`` (L,) the run of each lane, ``live``
    (L,) bool, w (d, L), state (K, d, L), g and gsq (d, L), ``scalars`` (n_scalars, L) the
    per-step scalars of each lane, ``lane_w`` (d,) and ``lane_state`` (K, d) a contiguous copy of
    one lane, ``perm`` (L, n) and ``epoch`` (L,) each lane's epoch permutation (epoch sampling;
    (L, 1) otherwise), ``key`` (L,) each lane's stream key, ``idx`` (B, L) the batches of a step,
    ``dots`` (4, L) and ``rows`` (4, d, L) the problem's scratch for lane gradients,
    ``together``: whether a problem's lane fast path is used where it applies (else gradients
    lane by lane)."""
    lr_index: np.ndarray
    seed: np.ndarray
    live: np.ndarray
    w: np.ndarray
    state: np.ndarray
    g: np.ndarray
    gsq: np.ndarray
    scalars: np.ndarray
    lane_w: np.ndarray
    lane_state: np.ndarray
    perm: np.ndarray
    epoch: np.ndarray
    key: np.ndarray
    idx: np.ndarray
    dots: np.ndarray
    rows: np.ndarray
    together: bool


def run_block(block, P, D, plan, batching, out, lanes, scratch):
    """Runs b·L … b·L + L − 1 (b = ``block``) from plan.start to plan.stop; fills ``out`` as
    ``per_run.run_one`` does for each of them (module docstring)."""
    width = lanes.live.shape[0]
    n_seed = plan.keys.shape[0]
    n_runs = out.w.shape[0] * n_seed
    d = lanes.w.shape[0]
    n_slots = lanes.state.shape[0]
    for l in range(width):
        r = block * width + l
        if r >= n_runs:
            r = n_runs - 1                      # an idle lane: some run's inputs, never written
            lanes.live[l] = False
        lr_index = r // n_seed
        seed = r - lr_index * n_seed
        lanes.lr_index[l] = lr_index
        lanes.seed[l] = seed
        lanes.key[l] = plan.keys[seed]
        if block * width + l < n_runs:
            lanes.live[l] = out.diverged_step[lr_index, seed] < 0
        lanes.epoch[l] = -1
        for i in range(d):
            lanes.w[i, l] = out.w[lr_index, seed, i]
        for j in range(n_slots):
            for i in range(d):
                lanes.state[j, i, l] = out.state[lr_index, seed, j, i]
    for k in range(plan.start, plan.stop + 1):
        slot = plan.record_slot[k - plan.start]
        if slot >= 0:
            record_lanes(P, plan, out, lanes, k, slot)
        if k == plan.stop:
            break
        lanes_step(D, P, batching, plan, k, lanes, scratch)
    for l in range(width):
        if block * width + l < n_runs:
            lr_index = lanes.lr_index[l]
            seed = lanes.seed[l]
            for i in range(d):
                out.w[lr_index, seed, i] = lanes.w[i, l]
            for j in range(n_slots):
                for i in range(d):
                    out.state[lr_index, seed, j, i] = lanes.state[j, i, l]


def record_lanes(P, plan, out, lanes, k, slot):
    """Record L(w) of every live lane at record ``slot`` (step k); freeze the lanes that diverge."""
    d = lanes.w.shape[0]
    for l in range(lanes.live.shape[0]):
        if lanes.live[l]:
            for i in range(d):
                lanes.lane_w[i] = lanes.w[i, l]
            value = problem_loss(P, lanes.lane_w)
            out.loss[lanes.lr_index[l], lanes.seed[l], slot] = math.inf if math.isnan(value) else value
            if not value <= plan.threshold:
                out.diverged_step[lanes.lr_index[l], lanes.seed[l]] = k
                lanes.live[l] = False


def lane_scratch(scratch, lanes, l):
    """The per-run scratch buffers with lane l's own epoch permutation."""
    return Scratch(scratch.g, scratch.gsq, scratch.micro, scratch.aux, scratch.z, scratch.idx,
                   lanes.perm[l], scratch.counts, scratch.rows, scratch.weights,
                   lanes.epoch[l:l + 1], scratch.sort)


def lanes_each_step(D, P, batching, plan, k, lanes, scratch):
    """Step k of every live lane by its dynamics' own per-run step, on contiguous copies."""
    d = lanes.w.shape[0]
    n_slots = lanes.state.shape[0]
    for l in range(lanes.live.shape[0]):
        if lanes.live[l]:
            for i in range(d):
                lanes.lane_w[i] = lanes.w[i, l]
            for j in range(n_slots):
                for i in range(d):
                    lanes.lane_state[j, i] = lanes.state[j, i, l]
            seed = lanes.seed[l]
            lr = plan.lrs[lanes.lr_index[l]] * plan.schedule[k]
            dynamics_step(D, P, batching, seed, plan.keys[seed], k, lr, lanes.lane_w,
                          lanes.lane_state, lane_scratch(scratch, lanes, l))
            for i in range(d):
                lanes.w[i, l] = lanes.lane_w[i]
            for j in range(n_slots):
                for i in range(d):
                    lanes.state[j, i, l] = lanes.lane_state[j, i]


def lanes_optimizer_step(D, P, batching, plan, k, lanes, scratch):
    """Step k of every lane for an optimizer (``Discrete``): gradients lane by lane, the chain with
    lanes innermost (module docstring); adaptive momentum clipping lane by lane."""
    if D.clip_fraction > 0.0:
        lanes_each_step(D, P, batching, plan, k, lanes, scratch)
        return
    d, width = lanes.w.shape
    kappa = batching.batch_size // batching.microbatch
    t = float(k + 1)
    first = chain_per_step(D.chain, t, plan.lrs[lanes.lr_index[0]] * plan.schedule[k])
    if lanes.together and lane_path_applies(P, D, batching):
        lanes_gradients_together(P, batching, k, lanes, scratch)
    else:
        lanes_gradients_each(D, P, batching, plan, k, lanes, scratch)
    for l in range(width):
        if l == 0 or lanes.lr_index[l] != lanes.lr_index[l - 1]:
            s = chain_per_step(D.chain, t, plan.lrs[lanes.lr_index[l]] * plan.schedule[k])
            store_scalars(s, lanes.scalars, l)
        else:
            copy_scalars(lanes.scalars, l - 1, l)
    if kappa == 1:
        for i in range(d):
            for l in range(width):
                gi = lanes.g[i, l]
                wi = lanes.w[i, l]
                step = lane_chain_update(D.chain, load_scalars(first, lanes.scalars, l), gi,
                                         gi * gi, wi, lanes.state, i, l, lanes.live[l])
                lanes.w[i, l] = wi + step if lanes.live[l] else wi
    else:
        for i in range(d):
            for l in range(width):
                wi = lanes.w[i, l]
                step = lane_chain_update(D.chain, load_scalars(first, lanes.scalars, l),
                                         lanes.g[i, l], lanes.gsq[i, l], wi, lanes.state, i, l,
                                         lanes.live[l])
                lanes.w[i, l] = wi + step if lanes.live[l] else wi


def lane_path_applies(P, D, batching):
    """Whether the problem's lane fast path can compute the gradients of an optimizer's steps:
    the problem registers ``add_lane_sample_gradients``, one batch per step (κ = 1), no counted
    rows, no global-norm clipping. (``numba_lockstep.auto_lanes`` asks the same of a spec's
    records.)"""
    return (problem_has_lane_gradients(P) and batching.batch_size // batching.microbatch == 1
            and not batching.use_counts and D.max_grad_norm == 0.0)


def lanes_gradients_each(D, P, batching, plan, k, lanes, scratch):
    """g (and gsq) of step k, lane by lane: ``per_run.discrete_gradient`` on a contiguous copy of
    each live lane's iterate."""
    d, width = lanes.w.shape
    kappa = batching.batch_size // batching.microbatch
    for l in range(width):
        if lanes.live[l]:
            for i in range(d):
                lanes.lane_w[i] = lanes.w[i, l]
            seed = lanes.seed[l]
            discrete_gradient(D, P, batching, seed, lanes.key[l], k, lanes.lane_w,
                              lane_scratch(scratch, lanes, l))
            for i in range(d):
                lanes.g[i, l] = scratch.g[i]
            if kappa > 1:
                for i in range(d):
                    lanes.gsq[i, l] = scratch.gsq[i]


def lanes_gradients_together(P, batching, k, lanes, scratch):
    """g of step k for a data problem with a lane fast path, one batch (κ = 1), no counted rows and
    no norm clipping: the batches of every lane (with replacement: drawn with the lanes
    innermost by ``random.index_with_replacement``; otherwise lane by lane by ``draw_batch``),
    then the problem's ``add_lane_sample_gradients`` and the division by B, lanes innermost —
    ``discrete_gradient``'s operations for each lane, frozen and idle lanes included (their
    results are never used)."""
    d, width = lanes.w.shape
    n = problem_n_samples(P)
    batch = batching.batch_size
    if batching.mode == BATCH_WITH:
        for b in range(batch):
            for l in range(width):
                lanes.idx[b, l] = index_with_replacement(lanes.key[l], k, b, n)
    else:
        for l in range(width):
            if lanes.live[l]:
                lane = lane_scratch(scratch, lanes, l)
                draw_batch(batching, n, lanes.seed[l], lanes.key[l], k, lane)
                for b in range(batch):
                    lanes.idx[b, l] = lane.idx[b]
            else:
                for b in range(batch):
                    lanes.idx[b, l] = 0
    for i in range(d):
        for l in range(width):
            lanes.g[i, l] = 0.0
    problem_add_lane_sample_gradients(P, lanes.w, lanes.idx, 0, batch, lanes.g, lanes.dots,
                                      lanes.rows)
    if batching.microbatch > 1:
        for i in range(d):
            for l in range(width):
                lanes.g[i, l] = lanes.g[i, l] / batching.microbatch


def copy_scalars(scalars, source, target):
    for j in range(scalars.shape[0]):
        scalars[j, target] = scalars[j, source]


# ------------------------------------------------------------------------------------------------
# Generic functions (a compiled backend overloads them; from Python they run as written)
# ------------------------------------------------------------------------------------------------

def lanes_step(D, P, batching, plan, k, lanes, scratch):
    """Step k of every lane: ``lanes_optimizer_step`` for an optimizer, else ``lanes_each_step``."""
    if isinstance(D, Discrete):
        lanes_optimizer_step(D, P, batching, plan, k, lanes, scratch)
    else:
        lanes_each_step(D, P, batching, plan, k, lanes, scratch)


def flatten_scalars(s) -> list:
    """The numbers of a nested tuple of per-step scalars, depth first."""
    out = []
    for item in s:
        out.extend(flatten_scalars(item) if isinstance(item, tuple) else [item])
    return out


def store_scalars(s, scalars, l):
    """scalars[:, l] = the numbers of the nested tuple ``s``, depth first."""
    for j, value in enumerate(flatten_scalars(s)):
        scalars[j, l] = value


def load_scalars(like, scalars, l):
    """The nested tuple shaped as ``like`` whose numbers are scalars[:, l] (``store_scalars``)."""
    position = [0]

    def rebuild(item):
        if isinstance(item, tuple):
            return tuple(rebuild(x) for x in item)
        position[0] += 1
        return float(scalars[position[0] - 1, l])
    return rebuild(like)


def lane_chain_update(chain, s, u, gsq, w, state, i, l, live):
    """Coordinate i of lane l: the chain applied to (u, gsq, w) and the slots state[:, i, l]
    (written back where ``live``, kept otherwise); returns the step (``lane_chain``)."""
    return lane_chain(tuple(type(h) for h in chain))(chain, s, u, gsq, w, state, i, l, live)


def problem_has_lane_gradients(P):
    """Whether the problem registers ``add_lane_sample_gradients`` (``simlab.kernel_ops``)."""
    return kernel_ops.problem_ops(P).add_lane_sample_gradients is not None


def problem_add_lane_sample_gradients(P, w, idx, start, stop, out, dots, rows):
    kernel_ops.problem_ops(P).add_lane_sample_gradients(P, w, idx, start, stop, out, dots, rows)


GENERIC = (lanes_step, store_scalars, load_scalars, lane_chain_update, problem_has_lane_gradients,
           problem_add_lane_sample_gradients)

_LANE_CHAINS: dict = {}


def lane_chain(record_types: tuple):
    """``update(chain, s, u, gsq, w, state, i, l, live) -> step`` for a chain of these record types:
    ``transforms.kernel_chain``'s straight-line code on the slots state[j, i, l] of a lane-minor
    block, each new slot value stored through a select on ``live`` (a frozen lane keeps its
    slots). Memoized."""
    record_types = tuple(record_types)
    if record_types in _LANE_CHAINS:
        return _LANE_CHAINS[record_types]
    scope = {"__name__": __name__}
    lines = []
    slot = 0
    for j, cls in enumerate(record_types):
        if cls not in transforms.TRANSFORMS:
            raise ValueError(f"{cls.__name__} has no entry in simlab.transforms.TRANSFORMS")
        entry = transforms.TRANSFORMS[cls]
        scope[f"update_{j}"] = entry.update
        old = [f"old_{slot + q}" for q in range(len(entry.slots))]
        new = [f"new_{slot + q}" for q in range(len(entry.slots))]
        lines += [f"    {o} = state[{slot + q}, i, l]" for q, o in enumerate(old)]
        call = f"update_{j}(chain[{j}], s[{j}], u, gsq, w{''.join(', ' + o for o in old)})"
        lines.append(f"    u, {', '.join(new)} = {call}" if new else f"    u = {call}[0]")
        lines += [f"    state[{slot + q}, i, l] = {n} if live else {o}"
                  for q, (o, n) in enumerate(zip(old, new))]
        slot += len(entry.slots)
    source = ("def lane_chain_update(chain, s, u, gsq, w, state, i, l, live):\n"
              + "\n".join(lines) + "\n    return u\n")
    code = compile(source, f"<simlab lane chain {'+'.join(c.__name__ for c in record_types)}>",
                   "exec")
    exec(code, scope)
    _LANE_CHAINS[record_types] = scope["lane_chain_update"]
    return _LANE_CHAINS[record_types]
