"""SDE models of SGD and SignSGD: drift b(x) and a diffusion factor G(x), as dynamics of the engine.

Every model here has the form (gap_quadratic.md §2; time t = Σ_{j<k} η_j, η_k = η·s_k)

    dX_t = −b(X_t) dt + √(η s_k) G(X_t) dW_t,        G(x) Gᵀ(x) = Σ_model(x),

with W a Q-dimensional Brownian motion. G need not be square: any factor of the covariance gives
the same law. ``simulate(problem, model, lr, …)`` integrates it by Euler–Maruyama: step k of the
optimizer is the time interval [t_k, t_k + η_k) split into ``substeps`` m EM steps of dt = η_k/m,

    X ← X − b(X) dt + √(η_k) √dt · G(X) z,      z_q = standard_normal(key, k·m + r, q),

so that with m = 1 the increment −η_k b + η_k G z has the first two moments of the discrete step,
and m → ∞ converges (weakly, order 1) to the SDE itself. The models work on any problem that has
per-sample gradients (data) or a Gaussian noise factor — quadratics or not:

* ``sgd_sde`` (Li, Tai & E 2017; Srećković et al. 2025, eq. 2): b = ∇f and Σ_model the exact
  mini-batch covariance c(n, B)·Σ₁(x) (finite-population correction without replacement). Data:
  G = √(c/n) [g_1 − ḡ, …, g_n − ḡ] with the per-sample gradients g_i and ḡ = ∇f, since
  Σ₁ = (1/n) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ. Gaussian noise: G = √c · L with LLᵀ = C.
* ``signsgd_sde(noise="exact")``: b(x) = E[sign g_S(x)], Σ_model = Cov(sign g_S(x)) (the general
  form of Compagnoni et al. 2025 quoted in gap_quadratic.md §2.2), over an enumerated set of N
  equally likely "atoms" S: all C(n, B) batches (without replacement) or all n^B ordered batches
  (with replacement) when there are at most ``max_atoms``; otherwise ``mc_atoms`` batches (or
  Gaussian noise draws o_S, g_S = ∇f + o_S) drawn once from ``seed`` — a Monte Carlo estimate of
  the moments. With s_S = sign(g_S): G z = (Σ_S s_S z_S − b Σ_S z_S)/√N.
* ``signsgd_sde(noise="gaussian")`` (Compagnoni et al. 2025; Srećković et al. eq. 3, per
  coordinate): b_j = erf(∂_j f / √(2 c Σ₁,jj)), G = diag(√(1 − b_j²)): the coordinates' signs are
  treated as independent and the noise as Gaussian. Exact in law only for Gaussian noise with
  diagonal C. erf is ``simlab.portable_math.erf`` (+, −, ×, ÷ only) in the reference and the
  kernels alike, so every backend draws the same bits.

Regime of validity: 1-weak approximations (error O(η) at fixed horizon) for smooth b and G. On the
data toy the exact-moment SignSGD drift is piecewise constant in x (it jumps on the hyperplanes
x_iᵀx = 0), outside the smooth theory; the weak-order tests measure what happens there.

Each model is defined twice from one specification: ``reference_step`` in numpy (all runs at
once; the definition) and a scalar step per run (``*_step`` below, registered in
``simlab.kernel_ops``) that the compiled backends compile; tests hold them to 1e-12.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
from numpy import sqrt
from scipy.special import comb

from .. import _checks
from ..dynamics import Dynamics
from ..kernel_ops import (problem_add_sample_gradient, problem_gradient, problem_has_samples,
                          problem_n_samples, problem_noise, problem_noise_variance,
                          register_dynamics)
from ..problems.base import Problem
from ..problems.quadratic import QuadraticProblem, batch_covariance_factor, check_batch_size
from ..portable_math import erf
from ..random import standard_normal

#: erf elementwise on arrays for the reference: the same arithmetic-only erf as the kernels
_erf_array = np.vectorize(erf, otypes=[float])

KINDS = ("sgd", "signsgd_exact", "signsgd_gaussian")


@dataclass(frozen=True, eq=False)
class SDEModel(Dynamics):
    """A drift/diffusion pair (see the module docstring), integrated by ``simulate``.

    ``kind``: one of ``KINDS``. ``c``: Cov(g_S) = c·Σ₁. ``substeps``: EM steps per optimizer step.
    ``atom_rows`` (N, B) sample indices of the atoms S (data problems) or ``atom_offsets`` (N, d)
    noise draws o_S (Gaussian problems) of the exact-moment sign model.
    """
    kind: str
    problem: Problem
    batch_size: int
    sampling: str
    c: float
    substeps: int = 1
    atom_rows: np.ndarray | None = None
    atom_offsets: np.ndarray | None = None
    params: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return self.problem.dim

    @property
    def hessian(self):
        return getattr(self.problem, "hessian", None)

    @property
    def noise_dim(self) -> int:
        """Q, the number of independent Brownian motions (columns of G)."""
        if self.kind == "sgd":
            n = self.problem.n_samples
            return self.dim if n is None else n
        if self.kind == "signsgd_exact":
            return self._n_atoms
        return self.dim

    @property
    def _n_atoms(self) -> int:
        return (self.atom_rows if self.atom_rows is not None else self.atom_offsets).shape[0]

    def with_substeps(self, substeps: int) -> "SDEModel":
        return replace(self, substeps=_checks.integer("substeps", substeps, lo=1))

    def config(self) -> dict:
        return {"kind": self.kind, "problem": self.problem.config(), "batch_size": self.batch_size,
                "sampling": self.sampling, "substeps": self.substeps, **self.params}

    @property
    def label(self) -> str:
        return f"{self.kind}_sde(B={self.batch_size})"

    # -- reference (numpy) coefficients, vectorized over leading axes of x ------------------------
    def _runs(self, x):
        x = np.asarray(x, dtype=float)
        return x.reshape((1, -1, x.shape[-1])), x.shape

    def _sample_gradients(self, x3):
        n = self.problem.n_samples
        idx = np.broadcast_to(np.arange(n), (x3.shape[1], n))
        return self.problem.sample_gradients(x3, idx)                        # (1, P, n, d)

    def drift(self, x) -> np.ndarray:
        """b(x), shape like x (…, d)."""
        x3, shape = self._runs(x)
        if self.kind == "sgd":
            out = self.problem.gradient(x3)
        elif self.kind == "signsgd_exact":
            out = self._atom_signs(x3).mean(axis=-2)
        else:
            out = self._erf_drift(x3)
        return out.reshape(shape)

    def noise(self, x, z) -> np.ndarray:
        """G(x) z for z of shape (…, Q) (broadcast against x's leading axes)."""
        x3, shape = self._runs(x)
        z3 = np.broadcast_to(np.asarray(z, dtype=float), shape[:-1] + (self.noise_dim,))
        z3 = z3.reshape((1, -1, self.noise_dim))
        if self.kind == "sgd":
            if self.problem.n_samples is None:
                root = self.problem.noise_sqrt
                out = math.sqrt(self.c) * (z3 @ root.T)
            else:
                dev = self._sample_gradients(x3) - self.problem.gradient(x3)[..., None, :]
                scale = math.sqrt(self.c / self.problem.n_samples)
                out = scale * np.einsum("...id,...i->...d", dev, z3)
        elif self.kind == "signsgd_exact":
            s = self._atom_signs(x3)                                          # (1, P, N, d)
            b = s.mean(axis=-2)
            out = (np.einsum("...id,...i->...d", s, z3)
                   - b * z3.sum(axis=-1, keepdims=True)) / math.sqrt(s.shape[-2])
        else:
            b = self._erf_drift(x3)
            out = np.sqrt(np.clip(1.0 - b * b, 0.0, None)) * z3
        return out.reshape(shape)

    def _atom_signs(self, x3):
        """sign(g_S(x)) for every atom S: (1, P, N, d); g_S ∝ Σ_{i∈S} ∇ℓ_i (data) or ∇f + o_S."""
        if self.atom_rows is not None:
            per_sample = self._sample_gradients(x3)                           # (1, P, n, d)
            g = per_sample[:, :, self.atom_rows, :].sum(axis=-2)              # (1, P, N, d)
        else:
            g = self.problem.gradient(x3)[..., None, :] + self.atom_offsets
        return np.sign(g)

    def _per_sample_variance(self, x3):
        if self.problem.n_samples is None:
            return np.broadcast_to((self.problem.noise_sqrt ** 2).sum(axis=1), x3.shape)
        g_i = self._sample_gradients(x3)
        return np.clip((g_i * g_i).mean(axis=-2) - self.problem.gradient(x3) ** 2, 0.0, None)

    def _erf_drift(self, x3):
        grad = self.problem.gradient(x3)
        scale = np.sqrt(2.0 * self.c * self._per_sample_variance(x3))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(scale > 0, _erf_array(grad / np.where(scale > 0, scale, 1.0)),
                            np.sign(grad))

    def reference_step(self, ctx, w, m, v, k, lr):
        """``substeps`` Euler–Maruyama steps of every run over the time of optimizer step k."""
        dt = lr / self.substeps
        amp = np.sqrt(lr) * np.sqrt(dt)
        for r in range(self.substeps):
            z = ctx.normals(k * self.substeps + r, self.noise_dim)[None]      # (1, S, Q)
            w = w + (-self.drift(w) * dt + amp * self.noise(w, z))
        return w, m, v

    def kernel_record(self):
        if self.kind == "sgd":
            return SGDSDE(float(self.c), int(self.substeps))
        if self.kind == "signsgd_gaussian":
            return SignSGDErfSDE(float(self.c), int(self.substeps))
        d = self.dim
        rows = self.atom_rows if self.atom_rows is not None else np.zeros((0, 1), np.int64)
        offsets = self.atom_offsets if self.atom_offsets is not None else np.zeros((0, d))
        return SignSGDExactSDE(np.ascontiguousarray(rows, dtype=np.int64),
                               np.ascontiguousarray(offsets, dtype=np.float64),
                               int(self._n_atoms), int(self.substeps))


def _validated(problem, batch_size, sampling):
    if not isinstance(problem, Problem):
        raise ValueError(f"problem={problem!r} must be a simlab Problem (see simlab.problems)")
    batch_size = check_batch_size(problem, batch_size, sampling)
    if sampling == "epoch":
        raise ValueError("sampling='epoch' has no SDE model here (its batches are dependent "
                         "across steps); use 'without_replacement' or 'with_replacement'")
    return batch_size, batch_covariance_factor(problem.n_samples, batch_size, sampling)


def sgd_sde(problem: Problem, batch_size: int, sampling: str = "without_replacement",
            substeps: int = 1) -> SDEModel:
    """dX = −∇f dt + √η (c Σ₁(X))^{1/2} dW, c = 1/B or (n − B)/(B(n − 1)) (see module docstring)."""
    batch_size, c = _validated(problem, batch_size, sampling)
    return SDEModel("sgd", problem, batch_size, sampling, c,
                    _checks.integer("substeps", substeps, lo=1))


def batch_atoms(problem: QuadraticProblem, batch_size: int, sampling: str, max_atoms: int,
                mc_atoms: int, seed: int):
    """(A (N, d, d), o (N, d), exact) with g_S(x) = A_S x + o_S equally likely over S, for a
    quadratic (used by the exact lattice law of ``moments.signsgd_discrete_loss``).

    Data noise: A_S = (1/B) Σ_{i∈S} x_i x_iᵀ, o_S = 0, from ``batch_rows``. Gaussian noise:
    A_S = H, o_S the draws of ``gaussian_offsets``."""
    d = problem.dim
    if problem.samples is None:
        o = gaussian_offsets(problem, batch_size, mc_atoms, seed)
        return np.broadcast_to(problem.hessian, (mc_atoms, d, d)).copy(), o, False
    rows, exact = batch_rows(problem.n_samples, batch_size, sampling, max_atoms, mc_atoms, seed)
    x = problem.samples
    outer = np.einsum("in,jn->nij", x, x)                                    # (n, d, d)
    a = outer[rows].mean(axis=1)
    return a, np.zeros((a.shape[0], d)), exact


def batch_rows(n: int, batch_size: int, sampling: str, max_atoms: int, mc_atoms: int, seed: int):
    """((N, B) sample indices of the atoms, exact?): all batches when there are ≤ ``max_atoms``,
    else ``mc_atoms`` batches drawn from ``numpy.random.default_rng(seed)``."""
    replace_ = sampling == "with_replacement"
    count = n ** batch_size if replace_ else int(comb(n, batch_size, exact=True))
    if count <= max_atoms:
        it = (itertools.product(range(n), repeat=batch_size) if replace_
              else itertools.combinations(range(n), batch_size))
        return np.array(list(it), dtype=np.int64).reshape(count, batch_size), True
    rng = np.random.default_rng(seed)
    if replace_:
        return rng.integers(0, n, size=(mc_atoms, batch_size)), False
    return np.argsort(rng.random((mc_atoms, n)), axis=1)[:, :batch_size], False


def gaussian_offsets(problem: Problem, batch_size: int, count: int, seed: int) -> np.ndarray:
    """``count`` draws o ~ N(0, C/B) (rows), from ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((count, problem.dim)) @ problem.noise_sqrt.T / math.sqrt(batch_size)


def signsgd_sde(problem: Problem, batch_size: int, sampling: str = "without_replacement",
                noise: str = "exact", max_atoms: int = 10_000, mc_atoms: int = 4096,
                seed: int = 0, substeps: int = 1) -> SDEModel:
    """dX = −b(X) dt + √η G(X) dW for SignSGD, ``noise`` ∈ {"exact", "gaussian"} (module docstring)."""
    batch_size, c = _validated(problem, batch_size, sampling)
    _checks.choice("noise", noise, ("exact", "gaussian"))
    max_atoms = _checks.integer("max_atoms", max_atoms, lo=1)
    mc_atoms = _checks.integer("mc_atoms", mc_atoms, lo=2)
    seed = _checks.integer("seed", seed, lo=0)
    substeps = _checks.integer("substeps", substeps, lo=1)
    if noise == "gaussian":
        return SDEModel("signsgd_gaussian", problem, batch_size, sampling, c, substeps,
                        params={"noise": "gaussian"})
    if problem.n_samples is None:
        offsets, rows, exact = gaussian_offsets(problem, batch_size, mc_atoms, seed), None, False
    else:
        rows, exact = batch_rows(problem.n_samples, batch_size, sampling, max_atoms, mc_atoms, seed)
        offsets = None
    n_atoms = (rows if rows is not None else offsets).shape[0]
    params = {"noise": "exact", "atoms": int(n_atoms), "enumerated": exact}
    if not exact:
        params["seed"] = seed
    return SDEModel("signsgd_exact", problem, batch_size, sampling, c, substeps,
                    atom_rows=rows, atom_offsets=offsets, params=params)


# ------------------------------------------------------------------------------------------------
# Scalar steps for the compiled backends (one run; simlab.kernel_ops)
# ------------------------------------------------------------------------------------------------

class SGDSDE(NamedTuple):
    c: float
    substeps: int


class SignSGDErfSDE(NamedTuple):
    c: float
    substeps: int


class SignSGDExactSDE(NamedTuple):
    atom_rows: np.ndarray       # (N, B) sample indices (data), or (0, 1)
    atom_offsets: np.ndarray    # (N, d) noise offsets (Gaussian), or (0, d)
    n_atoms: int
    substeps: int


def sign(x):
    return 1.0 * (x > 0.0) - 1.0 * (x < 0.0)


def euler_maruyama_scales(lr, substeps):
    """(dt, amp) of one EM step over optimizer step k at lr η_k: dt = η_k/m, amp = √η_k √dt."""
    dt = lr / substeps
    return dt, sqrt(lr) * sqrt(dt)


def euler_maruyama_update(w, drift, noise, dt, amp):
    """w += −b dt + amp·(G z)."""
    for i in range(w.shape[0]):
        w[i] = w[i] + (-drift[i] * dt + amp * noise[i])


def sgd_sde_step(D, P, batching, seed, key, k, lr, w, state, scratch):
    m = state[0]
    v = state[1]
    d = w.shape[0]
    dt, amp = euler_maruyama_scales(lr, D.substeps)
    drift = scratch.g
    noise = scratch.micro
    buf = scratch.aux
    z = scratch.z
    for r in range(D.substeps):
        counter = np.uint64(k * D.substeps + r)
        problem_gradient(P, w, drift)
        if problem_has_samples(P):
            n = problem_n_samples(P)
            scale = sqrt(D.c / n)
            for i in range(d):
                noise[i] = 0.0
            for s in range(n):
                zs = standard_normal(key, counter, np.uint64(s))
                for i in range(d):
                    buf[i] = 0.0
                problem_add_sample_gradient(P, w, s, 1.0, buf)
                for i in range(d):
                    noise[i] += scale * (buf[i] - drift[i]) * zs
        else:
            root = sqrt(D.c)
            for q in range(d):
                z[q] = standard_normal(key, counter, np.uint64(q))
            problem_noise(P, z, buf)
            for i in range(d):
                noise[i] = root * buf[i]
        euler_maruyama_update(w, drift, noise, dt, amp)


def signsgd_exact_sde_step(D, P, batching, seed, key, k, lr, w, state, scratch):
    m = state[0]
    v = state[1]
    d = w.shape[0]
    dt, amp = euler_maruyama_scales(lr, D.substeps)
    drift = scratch.g
    noise = scratch.micro
    buf = scratch.aux
    grad = scratch.z
    n_atoms = D.n_atoms
    for r in range(D.substeps):
        counter = np.uint64(k * D.substeps + r)
        data = problem_has_samples(P)
        if not data:
            problem_gradient(P, w, grad)
        for i in range(d):
            drift[i] = 0.0
            noise[i] = 0.0
        z_sum = 0.0
        for a in range(n_atoms):
            z_a = standard_normal(key, counter, np.uint64(a))
            z_sum += z_a
            if data:
                for i in range(d):
                    buf[i] = 0.0
                for b in range(D.atom_rows.shape[1]):
                    problem_add_sample_gradient(P, w, D.atom_rows[a, b], 1.0, buf)
            else:
                for i in range(d):
                    buf[i] = grad[i] + D.atom_offsets[a, i]
            for i in range(d):
                s = sign(buf[i])
                drift[i] += s
                noise[i] += s * z_a
        for i in range(d):
            drift[i] = drift[i] / n_atoms
            noise[i] = (noise[i] - drift[i] * z_sum) / sqrt(n_atoms)
        euler_maruyama_update(w, drift, noise, dt, amp)


def signsgd_erf_sde_step(D, P, batching, seed, key, k, lr, w, state, scratch):
    m = state[0]
    v = state[1]
    d = w.shape[0]
    dt, amp = euler_maruyama_scales(lr, D.substeps)
    drift = scratch.g
    noise = scratch.micro
    buf = scratch.aux
    var = scratch.gsq
    grad = scratch.z
    for r in range(D.substeps):
        counter = np.uint64(k * D.substeps + r)
        problem_gradient(P, w, grad)
        if problem_has_samples(P):
            n = problem_n_samples(P)
            for i in range(d):
                var[i] = 0.0
            for s in range(n):
                for i in range(d):
                    buf[i] = 0.0
                problem_add_sample_gradient(P, w, s, 1.0, buf)
                for i in range(d):
                    var[i] += buf[i] * buf[i]
            for i in range(d):
                var[i] = max(var[i] / n - grad[i] * grad[i], 0.0)
        else:
            problem_noise_variance(P, var)
        for i in range(d):
            scale = sqrt(2.0 * D.c * var[i])
            b = erf(grad[i] / scale) if scale > 0.0 else sign(grad[i])
            drift[i] = b
            noise[i] = sqrt(max(1.0 - b * b, 0.0)) * standard_normal(key, counter, np.uint64(i))
        euler_maruyama_update(w, drift, noise, dt, amp)


register_dynamics(SGDSDE, sgd_sde_step)
register_dynamics(SignSGDExactSDE, signsgd_exact_sde_step)
register_dynamics(SignSGDErfSDE, signsgd_erf_sde_step)
