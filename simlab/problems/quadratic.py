"""What is optimized: quadratic losses L(w) = ½ wᵀHw with a stochastic gradient oracle.

Two kinds of noise, both unbiased (E g = Hw):

* ``noise == "data"`` — a finite data set: samples are the columns x_i of X (d × n), H = XXᵀ/n,
  and the mini-batch gradient is g_S(w) = (1/B) Σ_{i∈S} x_i x_iᵀ w (multiplicative noise; no
  noise floor). This is the toy of Srećković et al. 2025 App. I / Orvieto & Gower 2025 App. D.
* ``noise == "gaussian"`` — additive noise: g = Hw + ξ, ξ ~ N(0, C/B) with a fixed per-sample
  covariance C (the noisy quadratic model of Zhang et al. 2019; with a coupled H it is also the
  Gaussian sign-gradient setting of Li et al. 2024).

The exact mini-batch moments (``minibatch_covariance``, ``gradient_second_moment``) feed the exact
expected-loss recursion (``simlab.theory.nqm_exact``) and the SDEs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

import numpy as np
from scipy.linalg import block_diag

from .. import _checks
from ..kernel_ops import register_problem
from .base import SAMPLING_SCHEMES, Problem

#: Block spectra of Zhang et al. 2024 / Srećković et al. App. I: three 3×3 blocks each.
BLOCK_SPECTRA = {
    "heterogeneous": ((1.0, 2.0, 3.0), (99.0, 100.0, 101.0), (4998.0, 4999.0, 5000.0)),
    "homogeneous": ((1.0, 99.0, 4998.0), (2.0, 100.0, 4999.0), (3.0, 101.0, 5000.0)),
}


@dataclass(frozen=True, eq=False, repr=False)      # Problem.__repr__: no arrays
class QuadraticProblem(Problem):
    """L(w) = ½ wᵀHw with a data-set (``samples``) or additive Gaussian (``noise_cov``) oracle.

    Attributes: ``hessian`` (d, d); ``w0`` (d,); ``samples`` (d, n) with H = XXᵀ/n, or None;
    ``noise_cov`` (d, d) per-sample covariance C of the additive noise, or None; ``name`` and
    ``params`` (the resolved constructor arguments, used in cache keys and result attributes).
    Array arguments may be lists; they are validated and stored as float arrays.
    """
    name: str
    hessian: np.ndarray
    w0: np.ndarray
    samples: np.ndarray | None = None
    noise_cov: np.ndarray | None = None
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        h = _checks.symmetric_psd("hessian", self.hessian)
        d = h.shape[0]
        object.__setattr__(self, "hessian", h)
        object.__setattr__(self, "w0", _checks.finite_array("w0", self.w0, shape=(d,)))
        if (self.samples is None) == (self.noise_cov is None):
            raise ValueError("exactly one of samples (data noise) and noise_cov (Gaussian noise) "
                             "must be given")
        if self.samples is not None:
            x = _checks.finite_array("samples", self.samples, shape=(d, None))
            if x.shape[1] < 1:
                raise ValueError(f"samples must hold at least one sample (a column), got shape "
                                 f"{x.shape}")
            implied = x @ x.T / x.shape[1]
            scale = max(float(np.max(np.abs(h))), float(np.max(np.abs(implied))), 1e-300)
            gap = float(np.max(np.abs(implied - h)))
            if gap > 1e-8 * scale:
                raise ValueError(f"samples are inconsistent with hessian: max |XXᵀ/n − H| = "
                                 f"{gap:.3g}, allowed {1e-8:g} relative to max |H|")
            object.__setattr__(self, "samples", x)
        else:
            c = _checks.symmetric_psd("noise_cov", self.noise_cov)
            if c.shape != (d, d):
                raise ValueError(f"noise_cov must have shape {(d, d)}, got {c.shape}")
            object.__setattr__(self, "noise_cov", c)

    @property
    def n_samples(self) -> int | None:
        """n for a finite data set, None for Gaussian noise (an infinite population)."""
        return None if self.samples is None else self.samples.shape[1]

    @cached_property
    def diagonal(self) -> bool:
        """True when H (and C, for Gaussian noise) are diagonal: the backends then skip O(d²) work."""
        if np.count_nonzero(self.hessian - np.diag(np.diag(self.hessian))):
            return False
        if self.noise_cov is None:
            return False
        return not np.count_nonzero(self.noise_cov - np.diag(np.diag(self.noise_cov)))

    @property
    def noise_is_diagonal(self) -> bool:
        return self.diagonal

    @cached_property
    def noise_sqrt(self) -> np.ndarray | None:
        """A factor L with LLᵀ = C (symmetric square root), for drawing ξ = L z / √B."""
        if self.noise_cov is None:
            return None
        diag = np.diag(self.noise_cov)
        if np.count_nonzero(self.noise_cov - np.diag(diag)) == 0:
            return np.diag(np.sqrt(np.clip(diag, 0.0, None)))
        lam, u = np.linalg.eigh(self.noise_cov)
        return (u * np.sqrt(np.clip(lam, 0.0, None))) @ u.T

    @cached_property
    def samples_t(self) -> np.ndarray | None:
        """(n, d) C-contiguous: row i is sample x_i (the layout the kernels read)."""
        return None if self.samples is None else np.ascontiguousarray(self.samples.T)

    def loss(self, w):
        """½ wᵀHw over the last axis of ``w`` (leading axes are runs)."""
        w = np.asarray(w, dtype=float)
        if self.diagonal:
            return 0.5 * (w * w * np.diag(self.hessian)).sum(axis=-1)
        return 0.5 * np.einsum("...i,ij,...j->...", w, self.hessian, w)

    def gradient(self, w):
        """The full-batch gradient Hw."""
        w = np.asarray(w, dtype=float)
        if self.diagonal:
            return w * np.diag(self.hessian)
        return w @ self.hessian

    def sample_gradients(self, w, idx):
        """(x_iᵀw) x_i for the samples ``idx`` (S, B) of every run: (L, S, B, d)."""
        if self.samples is None:
            raise NotImplementedError("a Gaussian-noise quadratic has no per-sample gradients")
        x = self.samples_t[idx]                                       # (S, B, d)
        proj = np.einsum("sbd,lsd->lsb", x, w)                        # x_iᵀ w
        return proj[..., None] * x[None]

    def loss_scale(self) -> float:
        """½ tr H = E L(z) for z ~ N(0, I): the loss of a unit-scale point (1 if H = 0)."""
        half_trace = 0.5 * float(np.trace(self.hessian))
        return half_trace if half_trace > 0 else 1.0

    def kernel_record(self):
        h = np.ascontiguousarray(self.hessian, dtype=np.float64)
        if self.samples is not None:
            return QuadraticData(h, np.ascontiguousarray(self.samples_t, dtype=np.float64))
        return QuadraticGaussian(h, np.ascontiguousarray(self.noise_sqrt, dtype=np.float64),
                                 bool(self.diagonal))


def _random_rotation(rng: np.random.RandomState, size: int) -> np.ndarray:
    """Eigenvectors of a Wishart matrix AAᵀ, A ~ N(0,1)^{size×2size}/(2size), as the reference."""
    a = rng.normal(size=(size, 2 * size)) / (2 * size)
    _, u = np.linalg.eigh(a @ a.T)
    return u


def block_hessian(kind: str, seed: int = 0) -> np.ndarray:
    """The 9×9 block-diagonal Hessian of Srećković et al. App. I (Zhang et al. 2024).

    Each block is Uᵀ diag(λ_b) U with U a random rotation drawn from ``RandomState(seed)`` in block
    order, exactly as the reference notebook draws them from the global numpy RNG.
    """
    _checks.choice("kind", kind, BLOCK_SPECTRA)
    seed = _checks.integer("seed", seed, lo=0, hi=2 ** 32 - 1)   # RandomState's range
    rng = np.random.RandomState(seed)
    blocks = []
    for spectrum in BLOCK_SPECTRA[kind]:
        u = _random_rotation(rng, len(spectrum))
        blocks.append(u.T @ np.diag(spectrum) @ u)
    h = block_diag(*blocks)
    return 0.5 * (h + h.T)


def samples_from_hessian(hessian, square_root: str = "eigen") -> np.ndarray:
    """Data X (d × n, n = d) with XXᵀ/n = H: X = √n U Λ^{1/2} (``"eigen"``, the reference) or the
    symmetric square root X = √n U Λ^{1/2} Uᵀ (``"symmetric"``, the paper's wording)."""
    h = _checks.symmetric_psd("hessian", hessian)
    _checks.choice("square_root", square_root, ("eigen", "symmetric"))
    n = h.shape[0]
    lam, u = np.linalg.eigh(h)
    x = np.sqrt(n) * u * np.sqrt(np.clip(lam, 0.0, None))
    return x @ u.T if square_root == "symmetric" else x


def block_quadratic(kind: str, seed: int = 0, square_root: str = "eigen", replicate: int = 1,
                    w0=None) -> QuadraticProblem:
    """The 9-d toy quadratic of Srećković et al. 2025 App. I, with data and start point.

    kind: ``"heterogeneous"`` (each block ≈ c·I, "Transformer-like") or ``"homogeneous"``
    (each block spans three decades, "CNN-like"); seed: the Hessian's own seed; square_root: see
    ``samples_from_hessian``; replicate: the 9 samples repeated m times (n = 9m, same H), so that
    batch sizes up to 9m can be drawn without replacement; w0: default the all-ones vector.
    """
    replicate = _checks.integer("replicate", replicate, lo=1)
    _checks.memory(f"block_quadratic(replicate={replicate})", 3 * 8.0 * 81 * replicate)
    h = block_hessian(kind, seed)
    x = samples_from_hessian(h, square_root)
    if replicate > 1:
        x = np.tile(x, (1, replicate))
    w0 = np.ones(h.shape[0]) if w0 is None else _checks.finite_array("w0", w0, shape=(h.shape[0],))
    return QuadraticProblem(f"block_{kind}", h, w0, samples=x,
                            params={"kind": kind, "seed": seed, "square_root": square_root,
                                    "replicate": replicate, "w0": w0.tolist()})


def nqm(dim: int = 1000, seed: int = 0, noise_scale: float = 1.0) -> QuadraticProblem:
    """The noisy quadratic model of Zhang et al. 2019: H = diag(1/i), i = 1..d, additive noise with
    per-sample covariance C = ``noise_scale``·H (so Cov(g_B) = C/B), w0 ~ N(0, I) from ``seed``."""
    dim = _checks.integer("dim", dim, lo=1)
    seed = _checks.integer("seed", seed, lo=0)
    noise_scale = _checks.positive("noise_scale", noise_scale)
    _checks.memory(f"nqm(dim={dim})", 5 * 8.0 * dim * dim,
                   " (its H and C are stored as dense d × d matrices)")
    h = np.diag(1.0 / np.arange(1, dim + 1))
    w0 = np.random.default_rng(seed).standard_normal(dim)
    return QuadraticProblem("nqm", h, w0, noise_cov=noise_scale * h,
                            params={"dim": dim, "seed": seed, "noise_scale": noise_scale})


def gaussian_quadratic(hessian, noise_cov, w0, name: str = "gaussian_quadratic") -> QuadraticProblem:
    """L(w) = ½ wᵀHw with g = Hw + ξ, ξ ~ N(0, C/B): any PSD H and per-sample covariance C."""
    h = _checks.symmetric_psd("hessian", hessian)
    c = _checks.symmetric_psd("noise_cov", noise_cov)
    w0 = _checks.finite_array("w0", w0, shape=(h.shape[0],))
    return QuadraticProblem(name, h, w0, noise_cov=c,
                            params={"hessian": h.tolist(), "noise_cov": c.tolist(),
                                    "w0": w0.tolist()})


def data_quadratic(samples, w0, name: str = "data_quadratic") -> QuadraticProblem:
    """L(w) = ½ wᵀHw with H = XXᵀ/n from data columns x_i (any d × n array)."""
    x = _checks.finite_array("samples", samples, ndim=2)
    if x.shape[1] < 1:
        raise ValueError(f"samples must hold at least one sample (a column), got shape {x.shape}")
    h = x @ x.T / x.shape[1]
    w0 = _checks.finite_array("w0", w0, shape=(x.shape[0],))
    return QuadraticProblem(name, 0.5 * (h + h.T), w0, samples=x,
                            params={"samples": x.tolist(), "w0": w0.tolist()})


# ------------------------------------------------------------------------------------------------
# Exact mini-batch moments
# ------------------------------------------------------------------------------------------------

def check_batch_size(problem: Problem, batch_size: int, sampling: str) -> int:
    """Validate B against the problem and sampling scheme; returns B (``Problem.check_batch_size``)."""
    if not isinstance(problem, Problem):
        raise ValueError(f"problem={problem!r} must be a simlab Problem (see simlab.problems)")
    return problem.check_batch_size(batch_size, sampling)


def batch_covariance_factor(n: int | None, batch_size: int, sampling: str) -> float:
    """c with Cov(g_S) = c · Σ₁: 1/B with replacement (or an infinite population), and
    (n − B)/(B(n − 1)) without replacement (the finite-population correction; 0 at B = n). For
    ``epoch`` sampling each step's batch is marginally a uniform B-subset, so c is the latter;
    its batches are not independent across steps, which the exact twins do not model."""
    if n is None or sampling == "with_replacement":
        return 1.0 / batch_size
    if n == 1:
        return 0.0
    return (n - batch_size) / (batch_size * (n - 1))


def per_sample_covariance(problem: QuadraticProblem, w) -> np.ndarray:
    """Σ₁(w) = (1/n) Σ_i (x_i x_iᵀ w)(x_i x_iᵀ w)ᵀ − (Hw)(Hw)ᵀ for data; C for Gaussian noise."""
    if problem.noise_cov is not None:
        return problem.noise_cov.copy()
    w = np.asarray(w, dtype=float)
    return gradient_outer_per_sample(problem, np.outer(w, w)) - problem.hessian @ np.outer(w, w) @ problem.hessian


def gradient_outer_per_sample(problem: QuadraticProblem, second_moment) -> np.ndarray:
    """(1/n) Σ_i a_i M a_i with a_i = x_i x_iᵀ: the linear map M = E[wwᵀ] ↦ E_i[g_i g_iᵀ]."""
    x = problem.samples
    n = x.shape[1]
    q = np.einsum("ai,ab,bi->i", x, second_moment, x)     # x_iᵀ M x_i
    return (x * q) @ x.T / n


def minibatch_covariance(problem: QuadraticProblem, w, batch_size: int,
                         sampling: str = "without_replacement") -> np.ndarray:
    """Exact Cov(g_S(w)) = c(n, B) · Σ₁(w) (``batch_covariance_factor``)."""
    batch_size = check_batch_size(problem, batch_size, sampling)
    c = batch_covariance_factor(problem.n_samples, batch_size, sampling)
    return c * per_sample_covariance(problem, w)


def gradient_second_moment(problem: QuadraticProblem, second_moment, batch_size: int,
                           sampling: str = "without_replacement") -> np.ndarray:
    """E[g gᵀ] as a function of M = E[wwᵀ] (w independent of the batch), exact:

    data:     H M H + c · ((1/n) Σ_i a_i M a_i − H M H),   a_i = x_i x_iᵀ;
    Gaussian: H M H + C/B.
    The map is linear in M for data noise and affine for Gaussian noise.
    """
    batch_size = check_batch_size(problem, batch_size, sampling)
    h = problem.hessian
    hmh = h @ second_moment @ h
    if problem.noise_cov is not None:
        return hmh + problem.noise_cov / batch_size
    c = batch_covariance_factor(problem.n_samples, batch_size, sampling)
    return hmh + c * (gradient_outer_per_sample(problem, second_moment) - hmh)


# ------------------------------------------------------------------------------------------------
# Scalar operations for the compiled backends (simlab.kernel_ops): one run, loops only
# ------------------------------------------------------------------------------------------------

class QuadraticData(NamedTuple):
    """Record of a data quadratic: H (d, d) and the samples as rows (n, d)."""
    hessian: np.ndarray
    samples_t: np.ndarray


class QuadraticGaussian(NamedTuple):
    """Record of a Gaussian-noise quadratic: H, the noise factor L (C = LLᵀ), both diagonal?"""
    hessian: np.ndarray
    noise_sqrt: np.ndarray
    diagonal: bool


def row_dot(matrix, row, w):
    """matrix[row]ᵀw. For d ≥ 8, four interleaved partial sums (independent add chains the CPU
    overlaps: without fastmath the compiler may not reassociate one chain, whose latency then
    bounds a step); below, one chain."""
    d = w.shape[0]
    if d < 8:
        total = 0.0
        for i in range(d):
            total += matrix[row, i] * w[i]
        return total
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    i = 0
    while i + 4 <= d:
        s0 += matrix[row, i] * w[i]
        s1 += matrix[row, i + 1] * w[i + 1]
        s2 += matrix[row, i + 2] * w[i + 2]
        s3 += matrix[row, i + 3] * w[i + 3]
        i += 4
    while i < d:
        s0 += matrix[row, i] * w[i]
        i += 1
    return (s0 + s1) + (s2 + s3)


def half_quadratic_form(hessian, w, diagonal):
    """½ wᵀHw (O(d) when H is diagonal)."""
    d = w.shape[0]
    total = 0.0
    if diagonal:
        for i in range(d):
            total += w[i] * w[i] * hessian[i, i]
    else:
        for i in range(d):
            total += w[i] * row_dot(hessian, i, w)
    return 0.5 * total


def hessian_times(hessian, w, diagonal, out):
    """out[:] = Hw."""
    d = w.shape[0]
    if diagonal:
        for i in range(d):
            out[i] = hessian[i, i] * w[i]
    else:
        for i in range(d):
            out[i] = row_dot(hessian, i, w)


def data_loss(P, w):
    return half_quadratic_form(P.hessian, w, False)


def data_gradient(P, w, out):
    hessian_times(P.hessian, w, False, out)


def data_n_samples(P):
    return P.samples_t.shape[0]


def data_add_sample_gradient(P, w, i, weight, out):
    """out += weight·(x_iᵀw) x_i."""
    x = P.samples_t
    d = w.shape[0]
    p = weight * row_dot(x, i, w)
    for j in range(d):
        out[j] += p * x[i, j]


def add_four_rows(x, w, r0, r1, r2, r3, c0, c1, c2, c3, out):
    """out += Σ_k c_k (x_kᵀw) x_k over four rows r_k of x, in the order k = 0..3: the four dot
    products share each load of w[j], and out[j] is loaded and stored once (a vectorizable loop)."""
    d = w.shape[0]
    p0 = 0.0
    p1 = 0.0
    p2 = 0.0
    p3 = 0.0
    for j in range(d):
        wj = w[j]
        p0 += x[r0, j] * wj
        p1 += x[r1, j] * wj
        p2 += x[r2, j] * wj
        p3 += x[r3, j] * wj
    p0 = c0 * p0
    p1 = c1 * p1
    p2 = c2 * p2
    p3 = c3 * p3
    for j in range(d):
        total = out[j]
        total += p0 * x[r0, j]
        total += p1 * x[r1, j]
        total += p2 * x[r2, j]
        total += p3 * x[r3, j]
        out[j] = total


def data_add_sample_gradients(P, w, idx, start, stop, out):
    """out += Σ_{b∈[start,stop)} (x_bᵀw) x_b, x_b = samples_t[idx[b]], added in the order of b,
    four rows at a time (``add_four_rows``; a weight of 1 leaves every product exact)."""
    b = start
    while b + 4 <= stop:
        add_four_rows(P.samples_t, w, idx[b], idx[b + 1], idx[b + 2], idx[b + 3],
                      1.0, 1.0, 1.0, 1.0, out)
        b += 4
    while b < stop:
        data_add_sample_gradient(P, w, idx[b], 1.0, out)
        b += 1


def data_add_weighted_sample_gradients(P, w, rows, weights, count, out):
    """out += Σ_{c<count} weights[c]·(x_cᵀw) x_c, x_c = samples_t[rows[c]], four rows at a time."""
    c = 0
    while c + 4 <= count:
        add_four_rows(P.samples_t, w, rows[c], rows[c + 1], rows[c + 2], rows[c + 3],
                      weights[c], weights[c + 1], weights[c + 2], weights[c + 3], out)
        c += 4
    while c < count:
        data_add_sample_gradient(P, w, rows[c], weights[c], out)
        c += 1


def data_add_lane_sample_gradients(P, w, idx, start, stop, out, dots, rows):
    """For every lane l (w, out (d, L); idx (B, L)): out[:, l] += Σ_{b∈[start,stop)} (x_bᵀw_l) x_b,
    x_b = samples_t[idx[b, l]], with the lanes innermost — the operations of
    ``data_add_sample_gradients`` on lane l in the same order (groups of four rows as in
    ``add_four_rows``, a remaining row as in ``data_add_sample_gradient`` with ``row_dot``), so
    each lane gets the bits of the per-run fast path. dots (4, L): the dot products; rows
    (4, d, L), w's dtype: the rows of a group, copied once per lane by ``transpose_lane_rows``
    (contiguous reads; measured faster than reading x[idx[b, l], j] across lanes, a gather, in
    both the dot products and the update: benchmarks/simulate.py, docs/backends.md)."""
    d, width = w.shape
    b = start
    while b + 4 <= stop:
        transpose_lane_rows(P.samples_t, idx, b, 4, rows)
        for l in range(width):
            dots[0, l] = 0.0
            dots[1, l] = 0.0
            dots[2, l] = 0.0
            dots[3, l] = 0.0
        for j in range(d):
            for l in range(width):
                wj = w[j, l]
                dots[0, l] += rows[0, j, l] * wj
                dots[1, l] += rows[1, j, l] * wj
                dots[2, l] += rows[2, j, l] * wj
                dots[3, l] += rows[3, j, l] * wj
        for q in range(4):
            for l in range(width):
                dots[q, l] = 1.0 * dots[q, l]
        for j in range(d):
            for l in range(width):
                total = out[j, l]
                total += dots[0, l] * rows[0, j, l]
                total += dots[1, l] * rows[1, j, l]
                total += dots[2, l] * rows[2, j, l]
                total += dots[3, l] * rows[3, j, l]
                out[j, l] = total
        b += 4
    while b < stop:
        transpose_lane_rows(P.samples_t, idx, b, 1, rows)
        for q in range(4):
            for l in range(width):
                dots[q, l] = 0.0
        if d < 8:
            for j in range(d):
                for l in range(width):
                    dots[0, l] += rows[0, j, l] * w[j, l]
        else:
            j = 0
            while j + 4 <= d:
                for l in range(width):
                    dots[0, l] += rows[0, j, l] * w[j, l]
                    dots[1, l] += rows[0, j + 1, l] * w[j + 1, l]
                    dots[2, l] += rows[0, j + 2, l] * w[j + 2, l]
                    dots[3, l] += rows[0, j + 3, l] * w[j + 3, l]
                j += 4
            while j < d:
                for l in range(width):
                    dots[0, l] += rows[0, j, l] * w[j, l]
                j += 1
            for l in range(width):
                dots[0, l] = (dots[0, l] + dots[1, l]) + (dots[2, l] + dots[3, l])
        for l in range(width):
            dots[0, l] = 1.0 * dots[0, l]
        for j in range(d):
            for l in range(width):
                out[j, l] += dots[0, l] * rows[0, j, l]
        b += 1


def transpose_lane_rows(x, idx, b, count, rows):
    """rows[q, :, l] = x[idx[b + q, l], :] for q < count and every lane l: each row read once,
    contiguously, into the lane-minor layout the lane loops read with unit stride."""
    d = x.shape[1]
    for q in range(count):
        for l in range(idx.shape[1]):
            row = idx[b + q, l]
            for j in range(d):
                rows[q, j, l] = x[row, j]


def gaussian_loss(P, w):
    return half_quadratic_form(P.hessian, w, P.diagonal)


def gaussian_gradient(P, w, out):
    hessian_times(P.hessian, w, P.diagonal, out)


def gaussian_noise(P, z, out):
    """out[:] = L z."""
    hessian_times(P.noise_sqrt, z, P.diagonal, out)


def gaussian_noise_variance(P, out):
    """out[i] = (LLᵀ)_ii = Σ_j L_ij²."""
    d = out.shape[0]
    for i in range(d):
        total = 0.0
        for j in range(d):
            total += P.noise_sqrt[i, j] * P.noise_sqrt[i, j]
        out[i] = total


register_problem(QuadraticData, loss=data_loss, gradient=data_gradient, n_samples=data_n_samples,
                 add_sample_gradient=data_add_sample_gradient,
                 add_sample_gradients=data_add_sample_gradients,
                 add_weighted_sample_gradients=data_add_weighted_sample_gradients,
                 add_lane_sample_gradients=data_add_lane_sample_gradients)
register_problem(QuadraticGaussian, loss=gaussian_loss, gradient=gaussian_gradient,
                 noise=gaussian_noise, noise_variance=gaussian_noise_variance)
