"""Parity with torch.optim: fed the same float64 gradient sequence, simlab's optimizers take the
same steps as torch's, to 1e-10 relative, step by step.

Adam without bias correction has no torch.optim counterpart (torch always bias-corrects); it is
compared with the same update written in torch tensor ops, in torch's operation order:
m ← β1 m + (1−β1) g, v ← β2 v + (1−β2) g², w ← w − η m/(√v + ε). EMA momentum
(m ← βm + (1−β)g) is compared with torch's heavy ball at learning rate η(1−β): the EMA buffer is
(1−β) times the heavy-ball buffer (torch's ``dampening`` differs on the first step, so it is not
used).
"""
import numpy as np
import pytest

from simlab import optim

torch = pytest.importorskip("torch", reason="torch is not installed; parity tests need torch.optim")

SHAPES = [(7,), (3, 4), (2, 3, 5)]
STEPS = 25
LR = 3e-2
RTOL = 1e-10


def _gradients(shape, seed):
    """Random float64 gradients with scales spanning several decades, and a few exact zeros."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-3, 2, size=shape)
    grads = rng.standard_normal((STEPS,) + shape) * scale
    grads[3].flat[0] = 0.0
    return grads


def _simlab_trajectory(opt, w0, grads, lr):
    state = opt.init(w0)
    w, out = w0.copy(), []
    for g in grads:
        step, state = opt.update(g, state, lr)
        w = w + step
        out.append(w)
    return np.array(out)


def _torch_trajectory(make_opt, w0, grads):
    p = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    opt = make_opt([p])
    out = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def _manual_adam_no_bias_correction(w0, grads, lr, b1, b2, eps):
    w = torch.tensor(w0, dtype=torch.float64)
    m, v = torch.zeros_like(w), torch.zeros_like(w)
    out = []
    for g in grads:
        g = torch.tensor(g, dtype=torch.float64)
        m = m.mul(b1).add(g, alpha=1 - b1)
        v = v.mul(b2).addcmul(g, g, value=1 - b2)
        w = w.addcdiv(m, v.sqrt().add(eps), value=-lr)
        out.append(w.numpy().copy())
    return np.array(out)


CASES = {
    "adam": (optim.adam(0.9, 0.999, 1e-8, bias_correction=True), LR,
             lambda p: torch.optim.Adam(p, lr=LR, betas=(0.9, 0.999), eps=1e-8)),
    "adam_095": (optim.adam(0.95, 0.95, 1e-8, bias_correction=True), LR,
                 lambda p: torch.optim.Adam(p, lr=LR, betas=(0.95, 0.95), eps=1e-8)),
    "sgd": (optim.sgd(), LR, lambda p: torch.optim.SGD(p, lr=LR)),
    "heavy_ball": (optim.sgd(momentum=0.9), LR,
                   lambda p: torch.optim.SGD(p, lr=LR, momentum=0.9)),
    "nesterov": (optim.sgd(momentum=0.9, nesterov=True), LR,
                 lambda p: torch.optim.SGD(p, lr=LR, momentum=0.9, nesterov=True)),
    "ema_as_heavy_ball": (optim.sgd(momentum=0.9, ema=True), LR,
                          lambda p: torch.optim.SGD(p, lr=LR * (1 - 0.9), momentum=0.9)),
    "rmsprop": (optim.rmsprop(beta=0.99, eps=1e-8), LR,
                lambda p: torch.optim.RMSprop(p, lr=LR, alpha=0.99, eps=1e-8)),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_optim_step_by_step(name, shape):
    opt, lr, make_torch = CASES[name]
    grads = _gradients(shape, seed=len(shape))
    w0 = np.random.default_rng(7).standard_normal(shape)
    ours = _simlab_trajectory(opt, w0, grads, lr)
    theirs = _torch_trajectory(make_torch, w0, grads)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=0)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("b1, b2, eps", [(0.9, 0.999, 1e-8), (0.95, 0.95, 1e-8), (0.5, 0.9, 0.0)])
def test_adam_without_bias_correction_matches_torch_ops(shape, b1, b2, eps):
    grads = _gradients(shape, seed=11)
    w0 = np.random.default_rng(8).standard_normal(shape)
    ours = _simlab_trajectory(optim.adam(b1, b2, eps, bias_correction=False), w0, grads, LR)
    theirs = _manual_adam_no_bias_correction(w0, grads, LR, b1, b2, eps)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=0)


def test_bias_correction_changes_the_steps():
    """Guards the comparison above: with and without bias correction really differ."""
    grads = _gradients((7,), seed=1)
    w0 = np.zeros(7)
    on = _simlab_trajectory(optim.adam(bias_correction=True), w0, grads, LR)
    off = _simlab_trajectory(optim.adam(bias_correction=False), w0, grads, LR)
    assert np.max(np.abs(on - off)) > 1e-3


@pytest.mark.parametrize("beta", [0.95, 0.5])
def test_adam_equals_the_variance_form_of_the_reference_notebook(beta):
    """gap_quadratic.md §1.3: D ← βD + (1−β)β(g − m_prev)², m ← βm + (1−β)g,
    w ← w − η m/(√(m² + D) + ε) is Adam with β1 = β2 = β, zero init, no bias correction."""
    eps, lr = 1e-8, 1e-2
    grads = _gradients((9,), seed=5)
    w0 = np.ones(9)
    m, dvar, w = np.zeros(9), np.zeros(9), w0.copy()
    reference = []
    for g in grads:
        dvar = beta * dvar + (1 - beta) * beta * (g - m) ** 2
        m = beta * m + (1 - beta) * g
        w = w - lr * m / (np.sqrt(m ** 2 + dvar) + eps)
        reference.append(w)
    ours = _simlab_trajectory(optim.adam(beta, beta, eps, bias_correction=False), w0, grads, lr)
    np.testing.assert_allclose(ours, np.array(reference), rtol=1e-12, atol=0)
