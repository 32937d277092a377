"""What moves the iterate, besides the optimizers of ``simlab.optim``: the base class of the SDE
models (``simlab.sde``), so that ``simulate`` runs every dynamics through one engine.

A dynamics other than an ``Optimizer`` provides

* ``problem``, ``batch_size``: the problem it approximates and the batch size its noise models;
* ``reference_step(ctx, w, m, v, k, lr) -> (w, m, v)``: one optimizer step k of every run at once,
  in numpy (the definition used by the reference backend); ``ctx`` gives the keys and the problem;
* ``kernel_record()``: the NamedTuple whose type selects its scalar step in ``simlab.kernel_ops``;
* ``config()`` and ``label`` for results and cache keys.

The state of every dynamics is w and a stack of per-coordinate slots: an optimizer's chain slots
(``Optimizer.slots``), or an SDE's two auxiliary processes ``slots = ("m", "v")`` (the M, V of
the adaptive SDEs; dynamics without state leave them at zero). ``reference_step`` receives and
returns them as m, v; the scalar step as ``state[0]``, ``state[1]``.
"""
from __future__ import annotations


class Dynamics:
    """Base class of non-optimizer dynamics (see the module docstring)."""

    problem: object
    batch_size: int
    slots = ("m", "v")

    def reference_step(self, ctx, w, m, v, k, lr):
        raise NotImplementedError

    def kernel_record(self):
        raise NotImplementedError

    def config(self) -> dict:
        raise NotImplementedError

    @property
    def label(self) -> str:
        return type(self).__name__
