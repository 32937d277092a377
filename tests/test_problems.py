"""Problems (simlab.problems.quadratic) and schedules against the reference constructions and
exact enumeration of every mini-batch."""
import itertools

import numpy as np
import pytest
from scipy.linalg import block_diag

from simlab import problems, schedules
from simlab.problems import quadratic as q
from simlab.problems.sign_model import sign_model

KINDS = ["heterogeneous", "homogeneous"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 3])
def test_block_hessian_has_exact_spectrum_and_block_structure(kind, seed):
    h = problems.block_hessian(kind, seed)
    assert h.shape == (9, 9)
    np.testing.assert_array_equal(h, h.T)
    spectra = problems.BLOCK_SPECTRA[kind]
    all_eigs = sorted(e for block in spectra for e in block)
    np.testing.assert_allclose(np.linalg.eigvalsh(h), all_eigs, rtol=1e-12)
    mask = block_diag(*[np.ones((3, 3))] * 3).astype(bool)
    assert np.all(h[~mask] == 0.0)
    for b, spectrum in enumerate(spectra):
        block = h[3 * b:3 * b + 3, 3 * b:3 * b + 3]
        np.testing.assert_allclose(np.linalg.eigvalsh(block), sorted(spectrum), rtol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 42])
def test_block_hessian_reproduces_the_reference_construction(kind, seed):
    """gap_quadratic.md §1.1: global legacy RNG, A = normal(3×6)/6, U = eigh(AAᵀ), block UᵀΛU."""
    np.random.seed(seed)
    blocks = []
    for spectrum in problems.BLOCK_SPECTRA[kind]:
        a = np.random.normal(size=(3, 6)) / 6
        _, u = np.linalg.eigh(a @ a.T)
        blocks.append(u.T @ np.diag(np.array(spectrum)) @ u)
    reference = block_diag(*blocks)
    np.testing.assert_allclose(problems.block_hessian(kind, seed), reference, rtol=0, atol=1e-11)


def test_hessian_seed_changes_the_rotation():
    assert not np.allclose(problems.block_hessian("homogeneous", 0),
                           problems.block_hessian("homogeneous", 1))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("root", ["eigen", "symmetric"])
def test_samples_reproduce_the_hessian(kind, root):
    prob = problems.block_quadratic(kind, seed=0, square_root=root)
    x = prob.samples
    assert x.shape == (9, 9)
    np.testing.assert_allclose(x @ x.T / 9, prob.hessian, rtol=0, atol=1e-10)
    lam, u = np.linalg.eigh(prob.hessian)
    reference = np.sqrt(9) * u @ np.diag(np.sqrt(lam))                  # the notebook's X
    if root == "symmetric":
        reference = reference @ u.T
        np.testing.assert_allclose(x, x.T, atol=1e-10)
    np.testing.assert_allclose(x, reference, atol=1e-10)
    np.testing.assert_array_equal(prob.w0, np.ones(9))


@pytest.mark.parametrize("m", [2, 3])
def test_replicate_keeps_the_hessian(m):
    base = problems.block_quadratic("homogeneous", seed=0)
    prob = problems.block_quadratic("homogeneous", seed=0, replicate=m)
    assert prob.n_samples == 9 * m
    np.testing.assert_array_equal(prob.hessian, base.hessian)
    np.testing.assert_allclose(prob.samples @ prob.samples.T / (9 * m), base.hessian, atol=1e-10)


def _enumerate_batches(n, batch_size, with_replacement):
    if with_replacement:
        return list(itertools.product(range(n), repeat=batch_size))
    return list(itertools.combinations(range(n), batch_size))


def _batch_gradients(prob, w, batches):
    x = prob.samples
    return np.array([(x[:, list(s)] @ (x[:, list(s)].T @ w)) / len(s) for s in batches])


CASES = ([(problems.block_quadratic("heterogeneous", 0), b, "without_replacement") for b in range(1, 10)]
         + [(problems.block_quadratic("homogeneous", 2, square_root="symmetric"), b,
             "without_replacement") for b in (2, 5)]
         + [(problems.block_quadratic("homogeneous", 0), b, "with_replacement") for b in (1, 2, 3)]
         + [(problems.block_quadratic("heterogeneous", 0, replicate=2), b, "without_replacement")
            for b in (3, 17, 18)])


@pytest.mark.parametrize("prob, batch_size, sampling", CASES,
                         ids=[f"{p.params['kind'][:3]}x{p.params['replicate']}-B{b}-{s}"
                              for p, b, s in CASES])
def test_minibatch_moments_equal_exact_enumeration(prob, batch_size, sampling):
    batches = _enumerate_batches(prob.n_samples, batch_size, sampling == "with_replacement")
    rng = np.random.default_rng(batch_size)
    w = rng.standard_normal(9)
    grads = _batch_gradients(prob, w, batches)                       # every batch, equally likely
    np.testing.assert_allclose(grads.mean(axis=0), prob.hessian @ w, rtol=1e-10, atol=1e-8)
    cov = np.cov(grads.T, bias=True)
    scale = np.max(np.abs(cov)) + 1.0
    np.testing.assert_allclose(problems.minibatch_covariance(prob, w, batch_size, sampling), cov,
                               rtol=0, atol=1e-10 * scale)
    # E[g gᵀ] for a random w with second moment M: enumerate over batches and over draws of w
    a = rng.standard_normal((9, 4))
    second = a @ a.T / 4
    ws = a.T                                                 # 4 equally likely w: M = mean w wᵀ
    expected = np.mean([np.einsum("bi,bj->ij", g, g) / len(batches)
                        for g in (_batch_gradients(prob, wi, batches) for wi in ws)], axis=0)
    got = problems.gradient_second_moment(prob, second, batch_size, sampling)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10 * (np.max(np.abs(expected)) + 1))


@pytest.mark.parametrize("n", [9, 18, 1])
def test_finite_population_correction_vanishes_at_full_batch(n):
    assert problems.batch_covariance_factor(n, n, "without_replacement") == 0.0
    assert problems.batch_covariance_factor(n, n, "with_replacement") == 1.0 / n
    assert problems.batch_covariance_factor(None, 4, "without_replacement") == 0.25


def test_full_batch_gradient_is_deterministic():
    prob = problems.block_quadratic("homogeneous", 0)
    w = np.linspace(-1, 1, 9)
    assert np.max(np.abs(problems.minibatch_covariance(prob, w, 9))) == 0.0


def test_per_sample_covariance_matches_the_eigenbasis_formula():
    """gap_quadratic.md §1.2: Σ₁ = U[n diag(λ² z²) − (Λz)(Λz)ᵀ]Uᵀ, z = Uᵀw, for X = √n UΛ^{1/2}."""
    prob = problems.block_quadratic("heterogeneous", 0)
    lam, u = np.linalg.eigh(prob.hessian)
    w = np.random.default_rng(0).standard_normal(9)
    z = u.T @ w
    formula = u @ (9 * np.diag(lam ** 2 * z ** 2) - np.outer(lam * z, lam * z)) @ u.T
    np.testing.assert_allclose(problems.per_sample_covariance(prob, w), formula, atol=1e-6)


@pytest.mark.parametrize("dim, noise_scale", [(1, 1.0), (50, 1.0), (20, 0.3)])
def test_nqm_spectrum_noise_and_start(dim, noise_scale):
    prob = problems.nqm(dim=dim, seed=4, noise_scale=noise_scale)
    np.testing.assert_array_equal(np.diag(prob.hessian), 1.0 / np.arange(1, dim + 1))
    np.testing.assert_array_equal(prob.hessian, np.diag(np.diag(prob.hessian)))
    np.testing.assert_allclose(prob.noise_cov, noise_scale * prob.hessian, rtol=1e-15)
    np.testing.assert_array_equal(prob.w0, np.random.default_rng(4).standard_normal(dim))
    assert prob.noise == "gaussian" and prob.diagonal and prob.n_samples is None
    w = np.ones(dim)
    np.testing.assert_allclose(problems.minibatch_covariance(prob, w, 4), prob.noise_cov / 4)
    np.testing.assert_allclose(problems.gradient_second_moment(prob, np.eye(dim), 4),
                               prob.hessian @ prob.hessian + prob.noise_cov / 4)


@pytest.mark.parametrize("steps", [500, 100, 37, 20, 1])
@pytest.mark.parametrize("final", [0.0, 0.1])
def test_warmup_cosine_matches_the_reference_construction(steps, final):
    """gap_quadratic.md §1.3: n_w = int(0.05 T) points linspace(0, 1, n_w), then ½(1 + cos(πj/n_d))
    (rescaled towards ``final``), j = 0..n_d − 1."""
    n_w = int(0.05 * steps)
    n_d = steps - n_w
    decay = 0.5 * (1 + np.cos(np.pi * np.arange(n_d) / n_d))
    reference = np.concatenate([np.linspace(0, 1, n_w), final + (1 - final) * decay])
    got = schedules.warmup_cosine(warmup=0.05, final=final)(steps)
    assert got.shape == (steps,)
    np.testing.assert_allclose(got, reference, rtol=1e-15, atol=1e-15)
    if steps == 500:
        assert got[0] == 0.0 and got[24] == 1.0 and got[25] == 1.0


def test_wsd_shape():
    s = schedules.wsd(warmup=0.1, decay=0.2, final=0.05)(100)
    assert s.shape == (100,)
    np.testing.assert_allclose(s[:10], np.linspace(0, 1, 10))
    np.testing.assert_array_equal(s[10:80], 1.0)
    assert np.all(np.diff(s[80:]) < 0)
    np.testing.assert_allclose(s[-1], 0.05)
    np.testing.assert_allclose(s[80:], 1 - 0.95 * np.arange(1, 21) / 20)


def test_constant_schedule():
    np.testing.assert_array_equal(schedules.constant()(7), np.ones(7))


@pytest.mark.parametrize("make", [
    lambda: problems.nqm(),
    lambda: problems.block_quadratic("heterogeneous", 0),
    lambda: problems.gaussian_quadratic(np.eye(500), np.eye(500), np.ones(500)),
    lambda: problems.data_quadratic(np.ones((300, 40)), np.zeros(300)),
    lambda: problems.diagonal_net(width=40, n_train=20, seed=0),
    lambda: sign_model(np.ones(400), np.full(400, 2.0), np.eye(400)),
], ids=["nqm", "block", "gaussian", "data", "diagonal_net", "sign_model"])
def test_repr_is_one_short_line_without_arrays(make):
    """repr names the kind, configuration and sizes; nqm()'s dataclass repr printed 20 KB."""
    problem = make()
    text = repr(problem)
    assert len(text) < 250 and "\n" not in text and "array(" not in text, text
    assert text.startswith(type(problem).__name__ + "(") and f"dim={problem.dim}" in text
