"""Regression with a diagonal linear network: a non-quadratic problem with a continuum of global
minima whose sharpness varies along it.

It exists to test, in simulation, the claim of Cattaneo & Shigida (2026) that Adam's implicit
bias under mini-batch noise — the sign of C_total(β1, β2, λ), which flips near a batch size of
about twice B_simple — steers training towards flatter or towards sharper minima depending on β1,
β2 and the batch size. A quadratic has one minimum with one sharpness, so the claim cannot be
seen there; here the sharpness reached, the test loss and B_simple can all be measured.

Model (the u² − v² parametrization of Woodworth et al. 2020; Pesme et al. 2021 study SGD on it):
w = (u, v) ∈ R^{2p}, β(w) = u⊙u − v⊙v, per-sample loss ℓ_i(w) = ½ (x_iᵀβ(w) − y_i)² on n training
samples (rows of X), L(w) = (1/n) Σ_i ℓ_i(w). With r_i = x_iᵀβ − y_i:

    ∇_u ℓ_i = 2 r_i x_i ⊙ u,   ∇_v ℓ_i = −2 r_i x_i ⊙ v;
    ∇²L = Jᵀ A J + diag(2q, −2q),   A = XᵀX/n,  J = [diag(2u), −diag(2v)],  q = Xᵀr/n.

With p > n every w with Xβ(w) = y is a global minimum (L = 0): a manifold of dimension 2p − n.
There ∇²L = JᵀAJ, whose top eigenvalue — the sharpness — is λ_max(A^{1/2} diag(4(u² + v²)) A^{1/2})
and grows with u² + v² = |β| + 2 min(u², v²): minima of one interpolator β differ in sharpness,
and so do different interpolators. The data are Gaussian, y = Xβ* + σ ε with a k-sparse β*, and a
held-out test set from the same distribution measures generalization (``test_loss``). The start
w0 has u = v = α·1 (β = 0); a small α is the "rich" regime of small-initialization training.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np

from .. import _checks
from ..kernel_ops import register_problem
from .base import Problem

#: Above this many parameters the sharpness comes from Lanczos on Hessian-vector products.
EXACT_SHARPNESS_MAX = 600


@dataclass(frozen=True, eq=False, repr=False)      # Problem.__repr__: no arrays
class DiagonalNetProblem(Problem):
    """L(w) = (1/2n) |X β(w) − y|², β = u⊙u − v⊙v, w = (u, v) (see the module docstring).

    ``x`` (n, p) training inputs as rows, ``y`` (n,) targets, ``x_test``/``y_test`` the held-out
    set, ``w0`` (2p,) the start, ``beta_star`` the generating coefficients (None if unknown).
    """
    name: str
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    w0: np.ndarray
    beta_star: np.ndarray | None = None
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        x = _checks.finite_array("x", self.x, ndim=2)
        n, p = x.shape
        if n < 1 or p < 1:
            raise ValueError(f"x must hold at least one sample and one feature, got shape {x.shape}")
        y = _checks.finite_array("y", self.y, shape=(n,))
        x_test = _checks.finite_array("x_test", self.x_test, shape=(None, p))
        y_test = _checks.finite_array("y_test", self.y_test, shape=(x_test.shape[0],))
        w0 = _checks.finite_array("w0", self.w0, shape=(2 * p,))
        for name, value in (("x", x), ("y", y), ("x_test", x_test), ("y_test", y_test),
                            ("w0", w0)):
            object.__setattr__(self, name, np.ascontiguousarray(value))

    # -- shape ------------------------------------------------------------------------------
    @property
    def width(self) -> int:
        """p, the number of input features (the network has 2p parameters)."""
        return self.x.shape[1]

    @property
    def n_samples(self) -> int:
        return self.x.shape[0]

    # -- the model --------------------------------------------------------------------------
    def beta(self, w):
        """β(w) = u⊙u − v⊙v over the last axis."""
        w = np.asarray(w, dtype=float)
        u, v = w[..., :self.width], w[..., self.width:]
        return u * u - v * v

    def _loss_on(self, w, x, y):
        r = self.beta(w) @ x.T - y
        return 0.5 * np.mean(r * r, axis=-1)

    def loss(self, w):
        """The training loss (1/2n) Σ_i (x_iᵀβ − y_i)²."""
        return self._loss_on(w, self.x, self.y)

    def test_loss(self, w):
        """The same loss on the held-out test set."""
        return self._loss_on(w, self.x_test, self.y_test)

    def gradient(self, w):
        """∇L = (2u⊙q, −2v⊙q), q = Xᵀr/n."""
        w = np.asarray(w, dtype=float)
        p = self.width
        q = (self.beta(w) @ self.x.T - self.y) @ self.x / self.n_samples
        return np.concatenate([2.0 * w[..., :p] * q, -2.0 * w[..., p:] * q], axis=-1)

    def sample_gradients(self, w, idx):
        """∇ℓ_i(w) for the samples ``idx`` (S, B) of every run of ``w`` (L, S, 2p): (L, S, B, 2p)."""
        p = self.width
        x = self.x[idx]                                                   # (S, B, p)
        r = np.einsum("sbp,lsp->lsb", x, self.beta(w)) - self.y[idx]      # (L, S, B)
        cx = (2.0 * r)[..., None] * x[None]                               # (L, S, B, p)
        u, v = w[..., None, :p], w[..., None, p:]
        return np.concatenate([cx * u, -(cx * v)], axis=-1)

    def hessian(self, w) -> np.ndarray:
        """The exact (2p, 2p) Hessian of the training loss at one point w."""
        w = _checks.finite_array("w", w, shape=(2 * self.width,))
        p, n = self.width, self.n_samples
        u, v = w[:p], w[p:]
        a = self.x.T @ self.x / n
        q = (self.beta(w) @ self.x.T - self.y) @ self.x / n
        jac = np.concatenate([np.diag(2.0 * u), -np.diag(2.0 * v)], axis=1)     # (p, 2p)
        return jac.T @ a @ jac + np.diag(np.concatenate([2.0 * q, -2.0 * q]))

    def hessian_vector(self, w, vec) -> np.ndarray:
        """∇²L(w)·vec without forming the Hessian (one point w, one vector)."""
        p, n = self.width, self.n_samples
        u, v = w[:p], w[p:]
        jv = 2.0 * u * vec[:p] - 2.0 * v * vec[p:]
        ajv = self.x.T @ (self.x @ jv) / n
        q = (self.beta(w) @ self.x.T - self.y) @ self.x / n
        return np.concatenate([2.0 * u * ajv + 2.0 * q * vec[:p],
                               -2.0 * v * ajv - 2.0 * q * vec[p:]])

    def sharpness(self, w):
        """The top Hessian eigenvalue at w (leading axes are runs): exact (eigvalsh) up to
        ``EXACT_SHARPNESS_MAX`` parameters, Lanczos on Hessian-vector products above."""
        w = np.asarray(w, dtype=float)
        flat = w.reshape(-1, w.shape[-1])
        out = np.empty(flat.shape[0])
        for i, point in enumerate(flat):
            if not np.all(np.isfinite(point)):
                out[i] = np.nan
            elif point.shape[0] <= EXACT_SHARPNESS_MAX:
                out[i] = np.linalg.eigvalsh(self.hessian(point))[-1]
            else:
                from scipy.sparse.linalg import LinearOperator, eigsh
                op = LinearOperator((point.shape[0],) * 2, dtype=float,
                                    matvec=lambda vec, pt=point: self.hessian_vector(pt, vec))
                out[i] = eigsh(op, k=1, which="LA", return_eigenvectors=False)[0]
        return out.reshape(w.shape[:-1])

    def loss_scale(self) -> float:
        """½ mean y², the loss at β = 0 (1 if y = 0)."""
        scale = 0.5 * float(np.mean(self.y * self.y))
        return scale if scale > 0 else 1.0

    def kernel_record(self):
        return DiagonalNet(np.ascontiguousarray(self.x, dtype=np.float64),
                           np.ascontiguousarray(self.y, dtype=np.float64))


def diagonal_net(width: int = 40, n_train: int = 20, n_test: int = 200, sparsity: int = 3,
                 noise: float = 0.0, init_scale: float = 0.1, seed: int = 0) -> DiagonalNetProblem:
    """Sparse regression with a diagonal linear network (module docstring).

    width p > n_train gives a continuum of interpolating minima; x_i ~ N(0, I_p); β* has
    ``sparsity`` entries ±1 at random positions; y = Xβ* + noise·ε; the start is u = v =
    ``init_scale``·1 (β = 0). Everything is drawn from ``numpy.random.default_rng(seed)``.
    """
    width = _checks.integer("width", width, lo=1)
    n_train = _checks.integer("n_train", n_train, lo=1)
    n_test = _checks.integer("n_test", n_test, lo=1)
    sparsity = _checks.integer("sparsity", sparsity, lo=0, hi=width)
    noise = _checks.nonnegative("noise", noise)
    init_scale = _checks.nonnegative("init_scale", init_scale)
    seed = _checks.integer("seed", seed, lo=0)
    _checks.memory("the diagonal network's data", 8.0 * (n_train + n_test) * (width + 1))
    rng = np.random.default_rng(seed)
    beta_star = np.zeros(width)
    support = rng.choice(width, size=sparsity, replace=False)
    beta_star[support] = rng.choice([-1.0, 1.0], size=sparsity)
    x = rng.standard_normal((n_train, width))
    x_test = rng.standard_normal((n_test, width))
    y = x @ beta_star + noise * rng.standard_normal(n_train)
    y_test = x_test @ beta_star + noise * rng.standard_normal(n_test)
    w0 = np.full(2 * width, init_scale)
    return DiagonalNetProblem("diagonal_net", x, y, x_test, y_test, w0, beta_star,
                              params={"width": width, "n_train": n_train, "n_test": n_test,
                                      "sparsity": sparsity, "noise": noise,
                                      "init_scale": init_scale, "seed": seed})


# ------------------------------------------------------------------------------------------------
# Scalar operations for the compiled backends (simlab.kernel_ops)
# ------------------------------------------------------------------------------------------------

class DiagonalNet(NamedTuple):
    """Record of the diagonal network: training inputs (n, p) and targets (n,)."""
    x: np.ndarray
    y: np.ndarray


def residual(P, w, i):
    """r_i = x_iᵀβ(w) − y_i."""
    p = P.x.shape[1]
    total = 0.0
    for j in range(p):
        u = w[j]
        v = w[p + j]
        total += P.x[i, j] * (u * u - v * v)
    return total - P.y[i]


def net_loss(P, w):
    n = P.x.shape[0]
    total = 0.0
    for i in range(n):
        r = residual(P, w, i)
        total += r * r
    return 0.5 * (total / n)


def net_gradient(P, w, out):
    """out = (2u⊙q, −2v⊙q), q = Xᵀr/n (q accumulated in out[:p] first)."""
    n, p = P.x.shape
    for j in range(p):
        out[j] = 0.0
    for i in range(n):
        r = residual(P, w, i)
        for j in range(p):
            out[j] += r * P.x[i, j]
    for j in range(p):
        q = out[j] / n
        out[j] = 2.0 * w[j] * q
        out[p + j] = -2.0 * w[p + j] * q


def net_n_samples(P):
    return P.x.shape[0]


def net_add_sample_gradient(P, w, i, weight, out):
    """out += weight·∇ℓ_i(w) = weight·(2r_i x_i⊙u, −2r_i x_i⊙v)."""
    p = P.x.shape[1]
    c = weight * (2.0 * residual(P, w, i))
    for j in range(p):
        cx = c * P.x[i, j]
        out[j] += cx * w[j]
        out[p + j] += -(cx * w[p + j])


register_problem(DiagonalNet, loss=net_loss, gradient=net_gradient, n_samples=net_n_samples,
                 add_sample_gradient=net_add_sample_gradient)
