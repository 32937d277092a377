"""SDE models of SGD and SignSGD on the quadratic problems: drift b(x) and a diffusion factor G(x).

Every model here has the form (gap_quadratic.md §2; time t = Σ_{j<k} η_j, η_k = η·s_k)

    dX_t = −b(X_t) dt + √(η s_k) G(X_t) dW_t,        G(x) Gᵀ(x) = Σ_model(x),

with W a Q-dimensional Brownian motion. G need not be square: any factor of the covariance gives
the same law. The factors below avoid matrix square roots:

* ``sgd_sde`` (Li, Tai & E 2017; Srećković et al. 2025, eq. 2): b = ∇f = Hx and Σ_model the exact
  mini-batch covariance c(n, B)·Σ₁(x) (``problems.minibatch_covariance``, with the finite-population
  correction without replacement). Data noise: G = √(c/n) [g_1 − ḡ, …, g_n − ḡ] with the per-sample
  gradients g_i = x_i x_iᵀ x and ḡ = Hx, since Σ₁ = (1/n) Σ_i (g_i − ḡ)(g_i − ḡ)ᵀ. Gaussian noise:
  G = √c · L with LLᵀ = C.
* ``signsgd_sde(noise="exact")``: b(x) = E[sign g_S(x)], Σ_model = Cov(sign g_S(x)) (the general
  form of Compagnoni et al. 2025 quoted in gap_quadratic.md §2.2), computed over an enumerated set
  of N equally likely gradient "atoms" g_S(x) = A_S x + o_S: all C(n, B) batches (without
  replacement) or all n^B ordered batches (with replacement) when there are at most
  ``max_atoms``; otherwise N = ``mc_atoms`` batches (or Gaussian noise draws o_S) drawn once from
  ``seed`` — a Monte Carlo estimate of the moments. G = N^{-1/2} [s_1 − b, …, s_N − b], s_S = sign(g_S).
* ``signsgd_sde(noise="gaussian")`` (Compagnoni et al. 2025; Srećković et al. eq. 3, per coordinate):
  b_j = erf(∂_j f / √(2 c Σ₁,jj)), G = diag(√(1 − b_j²)): the coordinates' signs are treated as
  independent and the noise as Gaussian. Exact in law only for Gaussian noise with diagonal C.

Regime of validity: 1-weak approximations (error O(η) at fixed horizon) for smooth b and G. On the
data toy the exact-moment SignSGD drift is piecewise constant in x (it jumps on the hyperplanes
x_iᵀx = 0), outside the smooth theory; the weak-order test measures what happens there.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import comb, erf

from .. import _checks
from ..problems.quadratic import QuadraticProblem, batch_covariance_factor, check_batch_size

KINDS = ("sgd", "signsgd_exact", "signsgd_gaussian")


@dataclass(frozen=True, eq=False)
class SDEModel:
    """A drift/diffusion pair for ``integrate`` (see module docstring).

    ``kind``: one of ``KINDS``. ``hessian`` (d, d). ``c``: Cov(g_S) = c·Σ₁. ``samples_t``: (n, d)
    per-sample data rows, or None. ``noise_sqrt``: L for Gaussian noise, or None. ``atoms_a``
    (N, d, d) and ``atoms_o`` (N, d): the gradient atoms of the exact-moment sign model.
    """
    kind: str
    problem: QuadraticProblem
    batch_size: int
    sampling: str
    hessian: np.ndarray
    c: float
    samples_t: np.ndarray | None = None
    noise_sqrt: np.ndarray | None = None
    atoms_a: np.ndarray | None = None
    atoms_o: np.ndarray | None = None
    params: dict = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return self.hessian.shape[0]

    @property
    def noise_dim(self) -> int:
        """Q, the number of independent Brownian motions (columns of G)."""
        if self.kind == "sgd":
            return self.samples_t.shape[0] if self.samples_t is not None else self.dim
        if self.kind == "signsgd_exact":
            return self.atoms_a.shape[0]
        return self.dim

    def config(self) -> dict:
        return {"kind": self.kind, "problem": self.problem.config(), "batch_size": self.batch_size,
                "sampling": self.sampling, **self.params}

    # -- reference (numpy) coefficients, vectorized over leading axes of x ------------------------
    def drift(self, x) -> np.ndarray:
        """b(x), shape like x (…, d)."""
        if self.kind == "sgd":
            return x @ self.hessian
        if self.kind == "signsgd_exact":
            return self._atom_signs(x).mean(axis=-2)
        return self._erf_drift(x)

    def noise(self, x, z) -> np.ndarray:
        """G(x) z for z of shape (…, Q)."""
        if self.kind == "sgd":
            if self.samples_t is None:
                return math.sqrt(self.c) * (z @ self.noise_sqrt.T)
            g_i = (x @ self.samples_t.T)[..., :, None] * self.samples_t      # (…, n, d)
            dev = g_i - (x @ self.hessian)[..., None, :]
            return math.sqrt(self.c / self.samples_t.shape[0]) * np.einsum("...id,...i->...d", dev, z)
        if self.kind == "signsgd_exact":
            s = self._atom_signs(x)                                           # (…, N, d)
            dev = s - s.mean(axis=-2, keepdims=True)
            return np.einsum("...id,...i->...d", dev, z) / math.sqrt(s.shape[-2])
        b = self._erf_drift(x)
        return np.sqrt(np.clip(1.0 - b * b, 0.0, None)) * z

    def _atom_signs(self, x):
        g = np.einsum("nij,...j->...ni", self.atoms_a, x) + self.atoms_o
        return np.sign(g)

    def _per_sample_variance(self, x):
        if self.samples_t is None:
            return np.broadcast_to(np.diag(self.noise_sqrt @ self.noise_sqrt.T), x.shape)
        g_i = (x @ self.samples_t.T)[..., :, None] * self.samples_t
        return np.clip((g_i * g_i).mean(axis=-2) - (x @ self.hessian) ** 2, 0.0, None)

    def _erf_drift(self, x):
        grad = x @ self.hessian
        scale = np.sqrt(2.0 * self.c * self._per_sample_variance(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(scale > 0, erf(grad / np.where(scale > 0, scale, 1.0)), np.sign(grad))


def _validated(problem, batch_size, sampling):
    if not isinstance(problem, QuadraticProblem):
        raise ValueError(f"problem={problem!r} must be a QuadraticProblem (see simlab.problems)")
    batch_size = check_batch_size(problem, batch_size, sampling)
    return batch_size, batch_covariance_factor(problem.n_samples, batch_size, sampling)


def sgd_sde(problem: QuadraticProblem, batch_size: int,
            sampling: str = "without_replacement") -> SDEModel:
    """dX = −∇f dt + √η (c Σ₁(X))^{1/2} dW, c = 1/B or (n − B)/(B(n − 1)) (see module docstring)."""
    batch_size, c = _validated(problem, batch_size, sampling)
    return SDEModel("sgd", problem, batch_size, sampling, np.asarray(problem.hessian, float), c,
                    samples_t=None if problem.samples is None else np.ascontiguousarray(problem.samples.T),
                    noise_sqrt=problem.noise_sqrt)


def batch_atoms(problem: QuadraticProblem, batch_size: int, sampling: str, max_atoms: int,
                mc_atoms: int, seed: int):
    """(A (N, d, d), o (N, d), exact) with g_S(x) = A_S x + o_S equally likely over S.

    Data noise: A_S = (1/B) Σ_{i∈S} x_i x_iᵀ, o_S = 0, enumerated when the count ≤ ``max_atoms``,
    else ``mc_atoms`` batches drawn from ``numpy.random.default_rng(seed)``. Gaussian noise: A_S = H,
    o_S ~ N(0, C/B), always ``mc_atoms`` draws (a Monte Carlo estimate)."""
    d = problem.dim
    rng = np.random.default_rng(seed)
    if problem.samples is None:
        o = rng.standard_normal((mc_atoms, d)) @ problem.noise_sqrt.T / math.sqrt(batch_size)
        return np.broadcast_to(problem.hessian, (mc_atoms, d, d)).copy(), o, False
    x = problem.samples
    n = x.shape[1]
    outer = np.einsum("in,jn->nij", x, x)                                    # (n, d, d)
    replace = sampling == "with_replacement"
    count = n ** batch_size if replace else int(comb(n, batch_size, exact=True))
    if count <= max_atoms:
        it = (itertools.product(range(n), repeat=batch_size) if replace
              else itertools.combinations(range(n), batch_size))
        batches = np.array(list(it), dtype=np.int64).reshape(count, batch_size)
        exact = True
    else:
        if replace:
            batches = rng.integers(0, n, size=(mc_atoms, batch_size))
        else:
            batches = np.argsort(rng.random((mc_atoms, n)), axis=1)[:, :batch_size]
        exact = False
    a = outer[batches].mean(axis=1)
    return a, np.zeros((a.shape[0], d)), exact


def signsgd_sde(problem: QuadraticProblem, batch_size: int, sampling: str = "without_replacement",
                noise: str = "exact", max_atoms: int = 10_000, mc_atoms: int = 4096,
                seed: int = 0) -> SDEModel:
    """dX = −b(X) dt + √η G(X) dW for SignSGD, ``noise`` ∈ {"exact", "gaussian"} (module docstring)."""
    batch_size, c = _validated(problem, batch_size, sampling)
    _checks.choice("noise", noise, ("exact", "gaussian"))
    max_atoms = _checks.integer("max_atoms", max_atoms, lo=1)
    mc_atoms = _checks.integer("mc_atoms", mc_atoms, lo=2)
    seed = _checks.integer("seed", seed, lo=0)
    samples_t = None if problem.samples is None else np.ascontiguousarray(problem.samples.T)
    h = np.asarray(problem.hessian, float)
    if noise == "gaussian":
        return SDEModel("signsgd_gaussian", problem, batch_size, sampling, h, c, samples_t=samples_t,
                        noise_sqrt=problem.noise_sqrt, params={"noise": "gaussian"})
    a, o, exact = batch_atoms(problem, batch_size, sampling, max_atoms, mc_atoms, seed)
    params = {"noise": "exact", "atoms": int(a.shape[0]), "enumerated": exact}
    if not exact:
        params["seed"] = seed
    return SDEModel("signsgd_exact", problem, batch_size, sampling, h, c, samples_t=samples_t,
                    noise_sqrt=problem.noise_sqrt, atoms_a=np.ascontiguousarray(a),
                    atoms_o=np.ascontiguousarray(o), params=params)
