"""Optimizers for the LM: Signum and batch-size-invariant Adam written here, SGD with momentum and
Adam(W) taken from ``torch.optim``; global-norm clipping.

* **Signum** (Bernstein et al. 2018, Alg. 1; Srećković et al. 2025 §3): m ← β·m + (1 − β)·g,
  w ← w − η·sign(m). β = 0 is SignSGD.
* **BSI-Adam** (Wang & Aitchison, Alg. 3, "Batch size invariant Adam"): a mini-batch is κ micro-batches of M
  samples, with gradients g_1..g_κ at the same w. Then
      m ← (1 − γ1)·m + γ1·(1/κ)Σ_j g_j            (the mean gradient, as Adam)
      v ← (1 − γ2)·v + γ2·(1/κ)Σ_j g_j²           (the mean of the *squared micro-batch* gradients)
      w ← w − η·m̂/(√v̂ + ε),  m̂ = m/(1 − β1^k), v̂ = v/(1 − β2^k)  (k = optimizer steps, β = 1 − γ)
  Standard Adam (Alg. 2) squares the mean instead, so E[v-input] = E[g]² + Var[g]/κ depends on κ;
  here it is E[g]² + Var[g] for any κ (Eq. 5). With κ = 1 it is ``torch.optim.Adam`` exactly.
  (The paper writes √(v̂ + ε); we keep torch's √v̂ + ε so κ = 1 is Adam to round-off.)
  With η′ = κη and γ′ = κγ one step equals κ micro-batch Adam steps as η, γ → 0 (Theorem 1, Eq. 7–8).

Use of BSI-Adam in a loop: for each micro-batch, ``loss_j.backward(); opt.accumulate()`` (loss_j is
the micro-batch *mean* loss), then ``opt.step()``. Without ``accumulate`` calls, ``step`` takes
p.grad as the only micro-batch (κ = 1).

Clipping (``clip`` > 0): the mean gradient is scaled by c = min(1, clip/‖g‖) with ‖·‖ the global
norm over all parameters; BSI-Adam scales its squared micro-batch mean by c² (so κ = 1 stays Adam
with clipped gradients).
"""
from __future__ import annotations


import torch

from simlab import _checks

OPTIMIZERS = ("sgd", "adam", "adamw", "signum", "bsi_adam")


class Signum(torch.optim.Optimizer):
    """w ← w − η·sign(β·m + (1 − β)·g) (Bernstein et al. 2018); β = 0 is SignSGD."""

    def __init__(self, params, lr: float, beta: float = 0.9):
        super().__init__(params, dict(lr=_checks.positive("lr", lr), beta=_checks.beta("beta", beta)))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "m" not in state:
                    state["m"] = torch.zeros_like(p)
                m = state["m"].mul_(group["beta"]).add_(p.grad, alpha=1 - group["beta"])
                p.add_(torch.sign(m), alpha=-group["lr"])


class BSIAdam(torch.optim.Optimizer):
    """Batch-size-invariant Adam (Wang & Aitchison Alg. 3); see the module docstring for the rule."""

    def __init__(self, params, lr: float, betas=(0.9, 0.999), eps: float = 1e-8, clip: float = 0.0,
                 bias_correction: bool = True):
        b1, b2 = betas
        self.bias_correction = bool(bias_correction)
        super().__init__(params, dict(lr=_checks.positive("lr", lr), b1=_checks.beta("beta1", b1),
                                      b2=_checks.beta("beta2", b2), eps=_checks.nonnegative("eps", eps)))
        self.clip = _checks.nonnegative("clip", clip)
        self.kappa = 0

    def _params(self):
        return [p for g in self.param_groups for p in g["params"]]

    @torch.no_grad()
    def accumulate(self):
        """Add the current p.grad (one micro-batch's mean-loss gradient) to the running sums of g and
        g², then clear p.grad."""
        for p in self._params():
            if p.grad is None:
                continue
            st = self.state[p]
            if "g_sum" not in st or self.kappa == 0:
                st["g_sum"], st["sq_sum"] = p.grad.clone(), p.grad.square()
            else:
                st["g_sum"].add_(p.grad)
                st["sq_sum"].addcmul_(p.grad, p.grad)
            p.grad = None
        self.kappa += 1

    @torch.no_grad()
    def step(self):
        params = self._params()
        if self.kappa:
            g = {p: self.state[p]["g_sum"] / self.kappa for p in params if "g_sum" in self.state[p]}
            sq = {p: self.state[p]["sq_sum"] / self.kappa for p in g}
        else:
            g = {p: p.grad for p in params if p.grad is not None}
            sq = {p: p.grad.square() for p in g}
        if self.clip > 0 and g:
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(x) for x in g.values()]))
            c = torch.clamp(self.clip / (norm + 1e-6), max=1.0)
            g = {p: x * c for p, x in g.items()}
            sq = {p: x * c * c for p, x in sq.items()}
        for group in self.param_groups:
            b1, b2, lr, eps = group["b1"], group["b2"], group["lr"], group["eps"]
            for p in group["params"]:
                if p not in g:
                    continue
                st = self.state[p]
                if "m" not in st:
                    st["k"], st["m"], st["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                st["k"] += 1
                st["m"].lerp_(g[p], 1 - b1)
                st["v"].mul_(b2).add_(sq[p], alpha=1 - b2)
                c1, c2 = (1 - b1 ** st["k"], 1 - b2 ** st["k"]) if self.bias_correction else (1.0, 1.0)
                denom = (st["v"] / c2).sqrt_().add_(eps)
                p.addcdiv_(st["m"], denom, value=-lr / c1)
                st.pop("g_sum", None), st.pop("sq_sum", None)
        self.kappa = 0


def make(name: str, params, lr: float, betas=(0.9, 0.999), momentum: float = 0.9, eps: float = 1e-8,
         weight_decay: float = 0.0, clip: float = 0.0) -> torch.optim.Optimizer:
    """One of ``OPTIMIZERS`` with validated hyper-parameters.

    sgd: torch.optim.SGD(momentum) — m ← μ·m + g, w ← w − η·m (heavy ball, torch's form);
    adam / adamw: torch.optim.Adam / AdamW(betas, eps, weight_decay) (Kingma & Ba 2015, Alg. 1);
    signum: ``Signum(beta=betas[0])``; bsi_adam: ``BSIAdam(betas, eps, clip)``.
    """
    _checks.choice("optimizer", name, OPTIMIZERS)
    lr = _checks.positive("lr", lr)
    b1, b2 = (_checks.beta("beta1", betas[0]), _checks.beta("beta2", betas[1]))
    momentum = _checks.beta("momentum", momentum)
    eps = _checks.nonnegative("eps", eps)
    weight_decay = _checks.nonnegative("weight_decay", weight_decay)
    _checks.nonnegative("clip", clip)
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=(b1, b2), eps=eps, weight_decay=weight_decay)
    if name == "signum":
        return Signum(params, lr=lr, beta=b1)
    return BSIAdam(params, lr=lr, betas=(b1, b2), eps=eps, clip=clip)


def clip_global_norm(params, max_norm: float) -> float:
    """Scale every p.grad by min(1, max_norm/‖g‖) (‖·‖ over all parameters); returns ‖g‖ before."""
    max_norm = _checks.positive("max_norm", max_norm)
    return float(torch.nn.utils.clip_grad_norm_(list(params), max_norm))


def set_lr(opt: torch.optim.Optimizer, lr: float) -> None:
    for group in opt.param_groups:
        group["lr"] = lr


def scaled_bsi_hyper(lr0: float, gamma1: float, gamma2: float, ratio: float) -> dict:
    """Wang & Aitchison's scaling (Eq. 11–13): η′ = η0·r, γ′ = γ·r with r = B/B_ref ≤ 1/max γ."""
    ratio = _checks.positive("ratio", ratio)
    if ratio * max(gamma1, gamma2) >= 1.0:
        raise ValueError(f"ratio={ratio!r} is outside the allowed range (0, {1 / max(gamma1, gamma2)}) "
                         "(γ′ = r·γ must be < 1)")
    return dict(lr=lr0 * ratio, betas=(1.0 - gamma1 * ratio, 1.0 - gamma2 * ratio))


