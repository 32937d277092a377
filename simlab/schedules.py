"""Learning-rate multipliers s_k, k = 0..T−1 (the learning rate at step k is η_k = η · s_k), and
the steps at which a simulation records.

A schedule is a ``Schedule``: call it with the number of steps T to get the float64 array
(s_0, …, s_{T−1}). Schedules are plain data (name + parameters) so that they hash into cache keys.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _checks


def record_steps(steps: int, record_every: int, start: int = 0) -> np.ndarray:
    """The record steps of a run over steps ``start`` .. ``start + steps``: its first step, every
    multiple of ``record_every`` after it, and always the last (the loss after the last update).

    Steps are absolute, so a run of T1 + T2 steps records at the union of the records of a run of
    T1 steps and of its continuation from ``start = T1`` (when T1 is a multiple of record_every).
    """
    stop = start + steps
    first = (start // record_every + 1) * record_every
    ks = np.concatenate([[start], np.arange(first, stop + 1, record_every)]).astype(np.int64)
    return ks if ks[-1] == stop else np.append(ks, np.int64(stop))


@dataclass(frozen=True)
class Schedule:
    """A named lr multiplier; ``Schedule(name, params)`` with ``name`` in ``NAMES``."""
    name: str
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.name not in _BUILDERS:
            raise ValueError(f"schedule name={self.name!r} is not one of "
                             f"{', '.join(map(repr, _BUILDERS))}")

    def __call__(self, steps: int) -> np.ndarray:
        steps = _checks.integer("steps", steps, lo=1)
        # the float64 values and up to two temporaries of the same length
        _checks.memory(f"schedule {self.name!r} over steps={steps}", 3 * 8.0 * steps)
        return _BUILDERS[self.name](steps, **self.params)

    def config(self) -> dict:
        return {"name": self.name, **self.params}


def _constant(steps):
    return np.ones(steps)


def _warmup_count(steps, warmup):
    return int(warmup * steps)


def _warmup_cosine(steps, warmup, final):
    """Linear warmup from 0 then cosine decay, as the reference notebook (gap_quadratic.md §1.3).

    n_w = ⌊warmup·T⌋ warmup steps with s = linspace(0, 1, n_w) (so s_0 = 0 when n_w ≥ 2), then
    s = final + (1 − final)·½(1 + cos(π j/n_d)), j = 0..n_d−1, n_d = T − n_w.
    """
    n_w = _warmup_count(steps, warmup)
    n_d = steps - n_w
    j = np.arange(n_d)
    decay = final + (1.0 - final) * 0.5 * (1.0 + np.cos(np.pi * j / n_d))
    return np.concatenate([np.linspace(0.0, 1.0, n_w), decay])


def _wsd(steps, warmup, decay, final):
    """Warmup–stable–decay (Hu et al. 2024): linear warmup over ⌊warmup·T⌋ steps (from 0),
    constant 1, then a linear decay to ``final`` over the last ⌊decay·T⌋ steps."""
    n_w = _warmup_count(steps, warmup)
    n_d = int(decay * steps)
    n_s = steps - n_w - n_d
    if n_s < 0:
        raise ValueError(f"warmup + decay = {warmup + decay} must be <= 1")
    down = 1.0 - (1.0 - final) * (np.arange(1, n_d + 1) / n_d) if n_d else np.empty(0)
    return np.concatenate([np.linspace(0.0, 1.0, n_w), np.ones(n_s), down])


_BUILDERS = {"constant": _constant, "warmup_cosine": _warmup_cosine, "wsd": _wsd}
NAMES = tuple(_BUILDERS)


def constant() -> Schedule:
    """s_k = 1."""
    return Schedule("constant", {})


def warmup_cosine(warmup: float = 0.05, final: float = 0.0) -> Schedule:
    """Linear warmup over a fraction ``warmup`` ∈ [0, 1) of the steps, then cosine decay towards
    ``final`` ∈ [0, 1] (the fraction of the peak lr reached after the last step)."""
    warmup = _checks.in_range("warmup", warmup, 0.0, 1.0, hi_closed=False)
    final = _checks.in_range("final", final, 0.0, 1.0)
    return Schedule("warmup_cosine", {"warmup": warmup, "final": final})


def wsd(warmup: float = 0.05, decay: float = 0.2, final: float = 0.0) -> Schedule:
    """Warmup–stable–decay; ``warmup`` + ``decay`` ≤ 1, ``final`` ∈ [0, 1]."""
    warmup = _checks.in_range("warmup", warmup, 0.0, 1.0, hi_closed=False)
    decay = _checks.in_range("decay", decay, 0.0, 1.0)
    final = _checks.in_range("final", final, 0.0, 1.0)
    if warmup + decay > 1.0:
        raise ValueError(f"warmup + decay = {warmup + decay} is outside the allowed range [0, 1]")
    return Schedule("wsd", {"warmup": warmup, "decay": decay, "final": final})
