"""Exact E f for plain SGD and for its SDE on a quadratic: no Monte Carlo in the weak-order test.

With M = E[x xᵀ] and f(x) = ½ xᵀHx, E f = ½ tr(H M). Write Q(M) = E[g gᵀ] − H M H for the
mini-batch noise second moment (``problems.gradient_second_moment``; linear in M for data noise,
the constant C/B for Gaussian noise).

* Discrete SGD, x_{k+1} = x_k − η_k g_k:
      M_{k+1} = (I − η_k H) M_k (I − η_k H) + η_k² Q(M_k).
* The SGD SDE dX = −HX dt + √(η s_k) (Cov g_S(X))^{1/2} dW (Li, Tai & E 2017; gap_quadratic.md §2.1)
  is linear in X with E[Cov g_S(X)] = Q(M), so by Itô
      dM/dt = −(H M + M H) + η s_k Q(M),
  an affine ODE in vec(M), solved exactly on each step interval [t_k, t_k + η_k] with the matrix
  exponential of its (d² + 1)-dimensional augmented generator.

Regime: exact for any η (no small-η assumption) and any schedule; dense d² × d² generator, so
meant for d ≤ ~30 (the 9-d toy). Euler–Maruyama with one step per optimizer step (dt = η_k)
reproduces the discrete recursion exactly — the weak error of the SDE is measured against the
exact solution above, not against EM.
"""
from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from .. import _checks
from ..optim import lr_array
from ..problems.quadratic import QuadraticProblem, check_batch_size, gradient_second_moment
from ..schedules import Schedule, constant

MAX_DIM = 30


def _setup(problem, batch_size, sampling, steps, schedule):
    if not isinstance(problem, QuadraticProblem):
        raise ValueError(f"problem={problem!r} must be a QuadraticProblem (see simlab.problems)")
    if problem.dim > MAX_DIM:
        raise ValueError(f"problem dimension {problem.dim} is outside the allowed range [1, {MAX_DIM}] "
                         "for the dense moment ODE")
    check_batch_size(problem, batch_size, sampling)
    steps = _checks.integer("steps", steps, lo=1)
    schedule = constant() if schedule is None else schedule
    if not isinstance(schedule, Schedule):
        raise ValueError(f"schedule={schedule!r} must be a simlab.schedules.Schedule")
    return steps, schedule(steps)


def _noise_moment(problem, m, batch_size, sampling):
    h = problem.hessian
    return gradient_second_moment(problem, m, batch_size, sampling) - h @ m @ h


def sgd_discrete_loss(problem: QuadraticProblem, lr: float, batch_size: int, steps: int,
                      sampling: str = "without_replacement", schedule: Schedule | None = None):
    """E f(x_k), k = 0..T, of plain SGD from x_0 = problem.w0: the exact second-moment recursion
    of ``simlab.theory.nqm_exact`` (the discrete side of the weak-order comparison)."""
    from ..optim import sgd
    from ..theory.nqm_exact import expected_loss
    _setup(problem, batch_size, sampling, steps, schedule)
    eta = _checks.positive("lr", lr)
    return expected_loss(problem, sgd(), eta, batch_size, steps, schedule=schedule,
                         sampling=sampling).values


def sgd_sde_loss(problem: QuadraticProblem, lr: float, batch_size: int, steps: int,
                 sampling: str = "without_replacement", schedule: Schedule | None = None):
    """E f(X_{t_k}), k = 0..T, of the SGD SDE (exact moment ODE, module doc)."""
    steps, mults = _setup(problem, batch_size, sampling, steps, schedule)
    eta = _checks.positive("lr", lr)
    d = problem.dim
    h = problem.hessian
    # generator of vec(M) ↦ −(HM + MH) and of vec(M) ↦ Q(M) (affine: constant part separately)
    q0 = _noise_moment(problem, np.zeros((d, d)), batch_size, sampling)
    drift_op = np.empty((d * d, d * d))
    noise_op = np.empty((d * d, d * d))
    for col in range(d * d):
        e = np.zeros(d * d)
        e[col] = 1.0
        em = e.reshape(d, d)
        drift_op[:, col] = -(h @ em + em @ h).ravel()
        noise_op[:, col] = (_noise_moment(problem, em, batch_size, sampling) - q0).ravel()
    vec = np.append(np.outer(problem.w0, problem.w0).ravel(), 1.0)
    out = [0.5 * np.trace(h @ vec[:-1].reshape(d, d))]
    propagators = {}
    for s in mults:
        if s not in propagators:
            gen = np.zeros((d * d + 1, d * d + 1))
            gen[:-1, :-1] = drift_op + eta * s * noise_op
            gen[:-1, -1] = eta * s * q0.ravel()
            propagators[s] = expm(gen * (eta * s))
        vec = propagators[s] @ vec
        out.append(0.5 * np.trace(h @ vec[:-1].reshape(d, d)))
    return np.array(out)


def weak_errors(discrete, continuous):
    """max_k |E f(x_k) − E f(X_{t_k})| for aligned arrays (k along the last axis)."""
    return np.max(np.abs(np.asarray(discrete) - np.asarray(continuous)), axis=-1)


def weak_error(discrete, continuous) -> tuple[float, float]:
    """(max_k |E f(x_k) − E f(X_{t_k})|, its Monte Carlo standard error at that k).

    Each side is either exact expectations, shape (K,), or Monte Carlo paths, shape (paths, K)
    (a mean over axis 0; its variance over paths enters the standard error, population variance)."""
    sides = [np.asarray(x, dtype=float) for x in (discrete, continuous)]
    means = [x.mean(axis=0) if x.ndim == 2 else x for x in sides]
    diff = np.abs(means[0] - means[1])
    k = int(np.argmax(diff))
    var = sum(x[:, k].var() / x.shape[0] for x in sides if x.ndim == 2)
    return float(diff[k]), float(np.sqrt(var))


def fitted_order(lrs, errors) -> float:
    """Least-squares slope of log(error) against log(η)."""
    lrs = lr_array(lrs)
    errors = np.asarray(errors, dtype=float)
    if lrs.shape != errors.shape or lrs.size < 2 or np.any(errors <= 0):
        raise ValueError("fitted_order needs ≥ 2 learning rates and as many positive errors")
    return float(np.polyfit(np.log(lrs), np.log(errors), 1)[0])


def signsgd_discrete_loss(problem: QuadraticProblem, lr: float, batch_size: int, steps: int,
                          sampling: str = "without_replacement", max_states: int = 2_000_000):
    """E f(x_k), k = 0..T, of SignSGD (x_{k+1} = x_k − η sign(g_S(x_k))) by exact enumeration.

    Every iterate lies on the lattice x_0 + ηℤ^d; the law of x_k is propagated exactly over the
    equally likely batches S (all of them, as in ``signsgd_sde(noise="exact")``). Data problems only,
    constant lr; the number of states grows like (2k + 1)^d, so this is for tiny d (d = 2 or 3):
    a ValueError is raised before a step would exceed ``max_states``.
    """
    from .models import batch_atoms
    if not isinstance(problem, QuadraticProblem) or problem.samples is None:
        raise ValueError(f"problem={problem!r} must be a data QuadraticProblem (finite samples)")
    check_batch_size(problem, batch_size, sampling)
    steps = _checks.integer("steps", steps, lo=1)
    eta = _checks.positive("lr", lr)
    d = problem.dim
    bound = (2 * steps + 1) ** d
    if bound > max_states:
        raise ValueError(f"steps={steps} is outside the allowed range for d={d}: up to "
                         f"{bound} lattice states > max_states={max_states}")
    a, _, _ = batch_atoms(problem, batch_size, sampling, max_atoms=max_states, mc_atoms=2, seed=0)
    n_atoms = a.shape[0]
    h = problem.hessian
    w0 = np.asarray(problem.w0, float)
    offsets = np.zeros((1, d), dtype=np.int64)
    probs = np.ones(1)
    out = [float(problem.loss(w0))]
    for _ in range(steps):
        x = w0 + eta * offsets
        signs = np.sign(np.einsum("nij,kj->kni", a, x)).astype(np.int64)    # (K, N, d)
        moved = (offsets[:, None, :] - signs).reshape(-1, d)
        p = np.repeat(probs / n_atoms, n_atoms)
        offsets, inverse = np.unique(moved, axis=0, return_inverse=True)
        probs = np.bincount(inverse.ravel(), weights=p, minlength=offsets.shape[0])
        x = w0 + eta * offsets
        out.append(float(probs @ (0.5 * np.einsum("ki,ij,kj->k", x, h, x))))
    return np.array(out)


def signsgd_gaussian_discrete_loss(problem: QuadraticProblem, lr: float, batch_size: int,
                                   steps: int):
    """E f(x_k), k = 0..T, of SignSGD on a Gaussian-noise quadratic with diagonal H and C, exactly.

    With g = Hx + ξ, ξ ~ N(0, C/B) and H, C diagonal, the coordinates are independent Markov
    chains on the lattices x_0,i + ηℤ: x_i moves by −η with probability
    P(g_i > 0) = Φ(h_i x_i √B/σ_i) and by +η otherwise (σ_i² = C_ii). The law of every x_i is
    propagated exactly (2T + 1 lattice points), and E f = ½ Σ_i h_i E x_i². This is the setting in
    which the Gaussian-erf SignSGD SDE (Compagnoni et al. 2025; Srećković et al. Eq 3) has the
    exact drift E sign g = erf(√(B/2) h_i x_i/σ_i) and the exact diagonal covariance 1 − erf²,
    so its weak error should be O(η). Constant lr only.
    """
    from scipy.special import ndtr
    if not isinstance(problem, QuadraticProblem) or problem.noise_cov is None:
        raise ValueError(f"problem={problem!r} must be a Gaussian-noise QuadraticProblem")
    if not problem.diagonal:
        raise ValueError("problem must have diagonal hessian and noise_cov (independent "
                         "coordinates); this one is coupled")
    batch_size = check_batch_size(problem, batch_size, "with_replacement")
    steps = _checks.integer("steps", steps, lo=1)
    eta = _checks.positive("lr", lr)
    h = np.diag(problem.hessian)
    sigma = np.sqrt(np.diag(problem.noise_cov))
    if np.any(sigma <= 0):
        raise ValueError("noise_cov must have a positive diagonal (a coordinate without noise "
                         "has a deterministic sign and no erf law)")
    offsets = np.arange(-steps, steps + 1)
    x = np.asarray(problem.w0, float)[:, None] + eta * offsets[None, :]     # (d, 2T + 1)
    down = ndtr(h[:, None] * x * np.sqrt(batch_size) / sigma[:, None])       # P(step −η)
    prob = np.zeros_like(x)
    prob[:, steps] = 1.0
    out = [0.5 * float(np.sum(h * problem.w0 ** 2))]
    for _ in range(steps):
        new = np.zeros_like(prob)
        new[:, :-1] += prob[:, 1:] * down[:, 1:]
        new[:, 1:] += prob[:, :-1] * (1.0 - down[:, :-1])
        prob = new
        out.append(0.5 * float(np.sum(h * np.sum(prob * x * x, axis=1))))
    return np.array(out)
