"""Truncated Taylor jets: exact low-order derivatives of rational expressions.

A ``Jet`` with coefficients (a0, a1, …, aK) stands for Σ a_k t^k (mod t^{K+1}). Arithmetic on jets is
the arithmetic of truncated power series, so evaluating a rational function f on ``Jet.variable(x)``
returns the Taylor coefficients f^{(k)}(x)/k! to rounding error — no finite-difference step to choose,
which matters near β → 1 where the closed forms of ``implicit_bias`` have poles. Only +, −, ×, ÷ and
non-negative integer powers are supported; that is all a rational function needs.
"""
from __future__ import annotations

import math

import numpy as np

ORDER = 3


class Jet:
    __slots__ = ("c",)

    def __init__(self, coefficients):
        self.c = list(coefficients)

    @staticmethod
    def variable(x, order: int = ORDER) -> "Jet":
        x = np.asarray(x, dtype=float)
        return Jet([x, np.ones_like(x)] + [np.zeros_like(x)] * (order - 1))

    def _lift(self, other) -> "Jet":
        if isinstance(other, Jet):
            return other
        return Jet([other] + [0.0] * (len(self.c) - 1))

    def __add__(self, other):
        o = self._lift(other)
        return Jet([a + b for a, b in zip(self.c, o.c)])

    __radd__ = __add__

    def __neg__(self):
        return Jet([-a for a in self.c])

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __rsub__(self, other):
        return self._lift(other) + (-self)

    def __mul__(self, other):
        o = self._lift(other)
        return Jet([sum(self.c[i] * o.c[k - i] for i in range(k + 1)) for k in range(len(self.c))])

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other)
        q = []
        for k in range(len(self.c)):
            q.append((self.c[k] - sum(q[i] * o.c[k - i] for i in range(k))) / o.c[0])
        return Jet(q)

    def __rtruediv__(self, other):
        return self._lift(other) / self

    def __pow__(self, n: int):
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"n={n!r} must be a non-negative integer power")
        out = self._lift(1.0)
        for _ in range(n):
            out = out * self
        return out

    def d(self, k: int):
        """The k-th derivative f^{(k)}(x)."""
        return math.factorial(k) * self.c[k]

    @property
    def c1(self):
        return self.c[1]

    @property
    def derivative(self):
        return self.d(1)

    @property
    def second_derivative(self):
        return self.d(2)
