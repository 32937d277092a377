"""The implicit bias of memory in mini-batch SGD with momentum (Cattaneo & Shigida 2026, §2.1, Eq 4).

Setting of the paper (Def. 2.1): N = mb samples, m batches of b per epoch drawn by a uniform
permutation π; heavy-ball momentum written with memory,

    θ_{t+1} = θ_t − η F_t,   F_t = Σ_{k=0}^{t} β^{t−k} ∇L_k(θ_k)           (Eq 1, §2.1)

(m_t = β m_{t−1} + ∇L_t(θ_t), θ_{t+1} = θ_t − η m_t). Theorem 2.3 (their Cor. 3.3 of Cattaneo &
Shigida 2025a) replaces it by the memoryless iteration θ̃_{t+1} = θ̃_t − η Main_t(θ̃_t) − η² Corr_t(θ̃_t)
(Eq 2), with (Eq 3, for this F)

    Main_t(θ) = Σ_{k≤t} β^{t−k} ∇L_k(θ),
    Corr_t(θ) = Σ_{k1<t} β^{t−k1} ∇²L_{k1}(θ) Σ_{k2=k1}^{t−1} Main_{k2}(θ)
              = Σ_{k1<t} Σ_{k2=k1}^{t−1} Σ_{l≤k2} β^{t−k1} β^{k2−l} ∇²L_{k1}(θ) ∇L_l(θ),

pathwise O(η²)-close to θ_t for O(1/η) steps. At t = n = m − 1 and averaged over permutations
(L_k = L + ε_k; E_π ∇²ε_k∇ε_k = ½∇E|∇ε_k|² = ½ c_b ∇trΣ, c_b = (N − b)/(b(N − 1)); disjoint
batches of one epoch: E_π ∇²ε_k∇ε_l = −½ c_b ∇trΣ/(m − 1), since Σ_k ε_k = 0):

    E_π Main_n + η E_π Corr_n = (1 − β^m)/(1 − β) ∇L + η [W_all ½∇‖∇L‖² + (W_same − W_cross/(m−1)) ½ c_b ∇trΣ]

with the weights of ``corr_weights``. As n → ∞, W_all → β/(1−β)³ and W_same → β/((1−β)²(1+β)),
W_cross/(m−1) → 0, which is the paper's averaged form (the display after Eq 4):

    (1/(1−β)) ∇[ L + η β/(2(1−β)²) ‖∇L‖² + η β/(2(1−β)(1+β)) trΣ/b ].

On a data quadratic (∇L_k(θ) = H_k θ, H_k the batch Hessian, trΣ(θ) = θᵀVθ with
V = (1/N) Σ_i A_i² − H², A_i = x_i x_iᵀ) every one of these is exact and linear in θ, so the
algebra (``averaged_field``), Theorem 2.3 (``memoryless_path``) and the mean dynamics
(``reshuffled_mean``, exact over all orderings by a subset recursion, tiny N) can all be checked
without Monte Carlo.
"""
from __future__ import annotations

import numpy as np

from .. import _checks
from ..problems.quadratic import QuadraticProblem, batch_covariance_factor


def _beta(beta):
    return _checks.in_range("beta", beta, 0.0, 1.0, hi_closed=False)


def _data_problem(problem):
    if not isinstance(problem, QuadraticProblem) or problem.samples is None:
        raise ValueError(f"problem={problem!r} must be a data QuadraticProblem (finite samples)")
    return problem


def corr_weights(n: int, beta: float) -> tuple[float, float, float]:
    """(W_all, W_same, W_cross) of E_π Corr_n: Σ over k1 < n ≤ …, k1 ≤ k2 ≤ n − 1, l ≤ k2 of
    β^{n−k1} β^{k2−l}; W_same the terms with l = k1 (same batch), W_cross those with l ≠ k1."""
    n = _checks.integer("n", n, lo=0)
    beta = _beta(beta)
    k1 = np.arange(n)[:, None]
    k2 = np.arange(n)[None, :]
    valid = k2 >= k1
    outer = np.where(valid, beta ** (n - k1) * 1.0, 0.0)
    # Σ_{l=0}^{k2} β^{k2−l} = (1 − β^{k2+1})/(1 − β)
    inner_all = (1 - beta ** (k2 + 1)) / (1 - beta) if beta > 0 else np.ones_like(k2, float)
    inner_same = beta ** np.clip(k2 - k1, 0, None) * 1.0
    w_all = float(np.sum(outer * inner_all))
    w_same = float(np.sum(outer * inner_same))
    return w_all, w_same, w_all - w_same


def corr_weight_limits(beta: float) -> tuple[float, float]:
    """(β/(1−β)³, β/((1−β)²(1+β))): the n → ∞ limits of W_all and W_same (paper, after Eq 4)."""
    beta = _beta(beta)
    return beta / (1 - beta) ** 3, beta / ((1 - beta) ** 2 * (1 + beta))


def noise_matrix(problem: QuadraticProblem) -> np.ndarray:
    """V with trΣ(θ) = θᵀVθ: V = (1/N) Σ_i A_i² − H², A_i = x_i x_iᵀ (Σ the per-sample covariance
    with the paper's 1/(mb) normalisation)."""
    x = _data_problem(problem).samples
    norms = np.sum(x * x, axis=0)                                        # |x_i|²
    a2 = (x * norms) @ x.T / x.shape[1]                                  # (1/N) Σ |x_i|² x_i x_iᵀ
    return a2 - problem.hessian @ problem.hessian


def averaged_field(problem: QuadraticProblem, theta, beta: float, batch_size: int) -> dict:
    """Exact E_π Main_n(θ), E_π Corr_n(θ) at t = n = m − 1 on a data quadratic, split into the
    full-batch part and the noise part, next to the paper's n → ∞ closed forms.

    Returns vectors: ``main``; ``corr_full_batch`` = W_all H²θ (= W_all ½∇‖∇L‖²);
    ``corr_noise`` = (W_same − W_cross/(m−1)) c_b Vθ; ``paper_corr_full_batch`` = β/(1−β)³ H²θ;
    ``paper_corr_noise`` = β/((1−β)²(1+β)) Vθ/b (the paper's trΣ/b) and ``paper_corr_noise_cb``
    with c_b in place of 1/b.
    """
    problem = _data_problem(problem)
    beta = _beta(beta)
    n_samples = problem.n_samples
    b = _checks.integer("batch_size", batch_size, lo=1, hi=n_samples)
    if n_samples % b:
        raise ValueError(f"batch_size={b} must divide the number of samples N={n_samples} "
                         "(an epoch is m = N/b whole batches)")
    m = n_samples // b
    theta = _checks.finite_array("theta", theta, shape=(problem.dim,))
    h = problem.hessian
    v = noise_matrix(problem)
    c_b = batch_covariance_factor(n_samples, b, "without_replacement")
    w_all, w_same, w_cross = corr_weights(m - 1, beta)
    cross = w_cross / (m - 1) if m > 1 else 0.0
    lim_all, lim_same = corr_weight_limits(beta)
    return {
        "main": (1 - beta ** m) / (1 - beta) * (h @ theta),
        "corr_full_batch": w_all * (h @ h @ theta),
        "corr_noise": (w_same - cross) * c_b * (v @ theta),
        "paper_corr_full_batch": lim_all * (h @ h @ theta),
        "paper_corr_noise": lim_same * (v @ theta) / b,
        "paper_corr_noise_cb": lim_same * c_b * (v @ theta),
        "batches": m,
    }


def monte_carlo_field(problem: QuadraticProblem, theta, beta: float, batch_size: int,
                      permutations: int, seed: int = 0) -> dict:
    """Main_n(θ), Corr_n(θ) computed from explicit batches of ``permutations`` uniform random
    permutations (``numpy.random.default_rng(seed)``): their means and standard errors, to check
    ``averaged_field``'s moments against the definition (Eq 3) itself."""
    problem = _data_problem(problem)
    beta = _beta(beta)
    permutations = _checks.integer("permutations", permutations, lo=2)
    n_samples, b = problem.n_samples, _checks.integer("batch_size", batch_size, lo=1)
    m = n_samples // b
    theta = _checks.finite_array("theta", theta, shape=(problem.dim,))
    x = problem.samples
    rng = np.random.default_rng(seed)
    mains, corrs = [], []
    for _ in range(permutations):
        order = rng.permutation(n_samples)[: m * b].reshape(m, b)
        hk = np.einsum("imb,jmb->mij", x[:, order], x[:, order]) / b        # batch Hessians
        grads = hk @ theta                                                  # ∇L_l(θ), (m, d)
        t = m - 1
        main_k = np.zeros_like(grads)
        acc = np.zeros(problem.dim)
        for k in range(m):
            acc = beta * acc + grads[k]
            main_k[k] = acc                                                 # Main_k(θ)
        suffix = np.cumsum(main_k[:t][::-1], axis=0)[::-1]                  # Σ_{k2=k1}^{t−1}
        corr = sum(beta ** (t - k1) * hk[k1] @ suffix[k1] for k1 in range(t))
        mains.append(main_k[t])
        corrs.append(corr)
    mains, corrs = np.array(mains), np.array(corrs)
    se = lambda a: a.std(axis=0, ddof=1) / np.sqrt(a.shape[0])
    return {"main": mains.mean(0), "main_se": se(mains), "corr": corrs.mean(0),
            "corr_se": se(corrs)}


def memoryless_path(problem: QuadraticProblem, beta: float, lr: float, batch_indices,
                    correction: bool = True) -> np.ndarray:
    """θ̃_0..θ̃_T of Theorem 2.3's memoryless iteration (Eq 2, Eq 3) for the batches
    ``batch_indices`` (T, b): θ̃_{t+1} = θ̃_t − η Main_t(θ̃_t) − η² Corr_t(θ̃_t) (the last term
    dropped with ``correction=False``), from θ̃_0 = problem.w0. O(T² d²)."""
    problem = _data_problem(problem)
    beta = _beta(beta)
    eta = _checks.positive("lr", lr)
    idx = np.asarray(batch_indices)
    if idx.ndim != 2 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"batch_indices must be an integer array (steps, batch), got {idx.dtype} "
                         f"{idx.shape}")
    x = problem.samples
    hk = np.einsum("itb,jtb->tij", x[:, idx], x[:, idx]) / idx.shape[1]    # (T, d, d)
    theta = np.asarray(problem.w0, float).copy()
    path = [theta.copy()]
    for t in range(idx.shape[0]):
        grads = hk[: t + 1] @ theta                                        # ∇L_l(θ), l ≤ t
        main_k = np.zeros_like(grads)
        acc = np.zeros(problem.dim)
        for k in range(t + 1):
            acc = beta * acc + grads[k]
            main_k[k] = acc
        step = eta * main_k[t]
        if correction and t > 0:
            suffix = np.cumsum(main_k[:t][::-1], axis=0)[::-1]
            weights = beta ** (t - np.arange(t))
            corr = np.einsum("k,kij,kj->i", weights, hk[:t], suffix)
            step = step + eta * eta * corr
        theta = theta - step
        path.append(theta.copy())
    return np.array(path)


def heavy_ball_path(problem: QuadraticProblem, beta: float, lr: float, batch_indices) -> np.ndarray:
    """θ_0..θ_T of heavy-ball momentum (Eq 1 of §2.1) on the given batches, for the pathwise
    comparison with ``memoryless_path`` (the engine's ``optim.sgd(β)`` is the same rule; a test
    holds them equal)."""
    problem = _data_problem(problem)
    beta = _beta(beta)
    eta = _checks.positive("lr", lr)
    idx = np.asarray(batch_indices)
    x = problem.samples
    theta = np.asarray(problem.w0, float).copy()
    mom = np.zeros_like(theta)
    path = [theta.copy()]
    for t in range(idx.shape[0]):
        xb = x[:, idx[t]]
        mom = beta * mom + xb @ (xb.T @ theta) / idx.shape[1]
        theta = theta - eta * mom
        path.append(theta.copy())
    return np.array(path)


def _step_matrix(h_batch, eta, beta):
    """K with (w, m)' = K (w, m): m' = βm + H_B w, w' = w − η m' (heavy ball)."""
    d = h_batch.shape[-1]
    eye = np.broadcast_to(np.eye(d), h_batch.shape)
    top = np.concatenate([eye - eta * h_batch, -eta * beta * eye], axis=-1)
    bottom = np.concatenate([h_batch, beta * eye], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


MAX_RESHUFFLE_SAMPLES = 20


def epoch_mean_operator(problem: QuadraticProblem, beta: float, lr: float) -> np.ndarray:
    """E_π over uniform orderings of one epoch (batch size 1, N steps) of the product of the
    heavy-ball step matrices on z = (w, m): exact, by the subset recursion
    F(S) = (1/|S|) Σ_{i∈S} K_i F(S∖{i}) (the average over orderings of S), 2^N states."""
    problem = _data_problem(problem)
    beta = _beta(beta)
    eta = _checks.positive("lr", lr)
    n = problem.n_samples
    if n > MAX_RESHUFFLE_SAMPLES:
        raise ValueError(f"problem has N={n} samples, outside the allowed range "
                         f"[1, {MAX_RESHUFFLE_SAMPLES}] of the exact 2^N recursion")
    x = problem.samples
    mats = _step_matrix(np.einsum("in,jn->nij", x, x), eta, beta)           # (N, 2d, 2d)
    size = mats.shape[-1]
    states = np.arange(1 << n)
    count = np.array([bin(s).count("1") for s in states])
    f = np.zeros((1 << n, size, size))
    f[0] = np.eye(size)
    for k in range(1, n + 1):
        layer = states[count == k]
        acc = np.zeros((layer.size, size, size))
        for i in range(n):
            has = (layer >> i) & 1 == 1
            acc[has] += mats[i] @ f[layer[has] ^ (1 << i)]
        f[layer] = acc / k
    return f[(1 << n) - 1]


def reshuffled_mean(problem: QuadraticProblem, beta: float, lr: float, epochs: int) -> dict:
    """E[w] after each of ``epochs`` epochs of heavy ball with random reshuffling (batch size 1),
    exact; next to the full-batch path ('det') and the i.i.d.-batch mean, which equals the
    full-batch path exactly (E z' = K̄ E z: each batch is independent of z)."""
    epochs = _checks.integer("epochs", epochs, lo=1)
    op = epoch_mean_operator(problem, beta, lr)
    d = problem.dim
    full = np.linalg.matrix_power(_step_matrix(problem.hessian, lr, beta), problem.n_samples)
    z = np.concatenate([problem.w0, np.zeros(d)])
    zd = z.copy()
    out, det = [z[:d].copy()], [zd[:d].copy()]
    for _ in range(epochs):
        z, zd = op @ z, full @ zd
        out.append(z[:d].copy())
        det.append(zd[:d].copy())
    return {"reshuffled": np.array(out), "full_batch": np.array(det)}


def drift_unit(problem: QuadraticProblem, beta: float, lr: float, steps: int) -> np.ndarray:
    """The mean-path displacement a per-step force −η² c_b Vθ_t/(1−β)² produces, propagated by
    the first-order dynamics δ ← (I − ηH/(1−β)) δ (the memoryless iteration's linearisation),
    along the full-batch heavy-ball path θ_t. The reshuffling drift measured in these units is
    κ: Eq 5's memory term predicts κ = β/(1+β); Smith et al.'s (2021) random-shuffling term of
    SGD at the effective lr η/(1−β) predicts κ = ½."""
    problem = _data_problem(problem)
    beta = _beta(beta)
    steps = _checks.integer("steps", steps, lo=1)
    h = problem.hessian
    v = noise_matrix(problem)
    c_b = batch_covariance_factor(problem.n_samples, 1, "without_replacement")
    k = _step_matrix(h, lr, beta)
    z = np.concatenate([problem.w0, np.zeros(problem.dim)])
    prop = np.eye(problem.dim) - lr / (1 - beta) * h
    delta = np.zeros(problem.dim)
    for _ in range(steps):
        delta = prop @ delta - lr * lr * c_b / (1 - beta) ** 2 * (v @ z[:problem.dim])
        z = k @ z
    return delta
