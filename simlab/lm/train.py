"""One training loop for the LM (nanoGPT's train.py, reduced to what the experiments need).

Step k (k = 0..T−1) takes the mini-batch of B windows the sampler gives for (seed, k), splits it into
κ = B/M micro-batches of M windows, back-propagates each (gradient accumulation; BSI-Adam also
accumulates the squared micro-batch gradients, see ``simlab.lm.optim``), clips the global gradient
norm if asked, sets η_k = η·s_k from a ``simlab.schedules`` schedule and steps the optimizer.
On ``device="cuda"`` the forward pass runs under bf16 autocast; measurements stay in float32.

Recorded (an ``xarray.Dataset``, one per run):
* ``loss`` (step): the training mini-batch loss at every step (before the update), nats/byte;
* ``val_loss``, ``train_eval_loss`` (record): mean loss on fixed evaluation windows of the
  validation split and of the training data (the subset, for the epoch sampler) at the record steps
  (``step`` of a record = number of updates done; 0 = initialization);
* ``probe_small``, ``probe_big`` (probe): the squared gradient norms of the two-batch estimator of
  B_simple (``simlab.lm.measure``) every ``probe_every`` steps; ``b_simple`` (attribute) is the
  estimate from all probes of the run;
* ``sharpness`` (check): the top Hessian eigenvalue on fixed training windows at ``sharpness_at``.
With ``stop_below`` > 0 the run stops at the first record whose validation loss is ≤ it
(``stopped_step``; later records stay +inf) — "train to a target loss".
A run whose loss becomes NaN/inf or exceeds ``diverge_loss`` stops; ``diverged`` = 1 and the records
after that are +inf (the sweep goes on).
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import xarray as xr

from simlab import _checks, schedules
from simlab.lm import data as lmdata
from simlab.lm import measure
from simlab.lm.model import ModelConfig, build
from simlab.lm.optim import OPTIMIZERS, BSIAdam, clip_global_norm, make, set_lr

DEVICES = ("cpu", "cuda")
SCHEDULES = ("constant", "warmup_cosine", "wsd")
SAMPLERS = ("random", "epoch")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run needs besides the model size (validated in ``__post_init__``)."""
    optimizer: str = "adam"
    lr: float = 3e-3
    betas: tuple = (0.9, 0.999)
    momentum: float = 0.9              # sgd
    eps: float = 1e-8
    weight_decay: float = 0.0
    clip: float = 0.0                  # global-norm clipping threshold; 0 = off
    batch_size: int = 16               # B, windows per optimizer step
    microbatch: int | None = None      # M, windows per backward pass; must divide B (None: M = B)
    steps: int = 200
    schedule: str = "constant"
    warmup: float = 0.0                # fraction of steps (warmup_cosine, wsd)
    decay: float = 0.2                 # wsd: fraction of steps in the final decay
    sampler: str = "random"
    subset_windows: int = 0            # epoch sampler: N windows of the training subset
    records: tuple = ()                # steps (0..T) at which to evaluate; () = (0, T)
    eval_windows: int = 64
    eval_train: bool = True            # also evaluate on fixed training windows at the records
    probe_every: int = 0               # 0 = no B_simple probes
    probe_batch: int = 4               # b
    probe_kappa: int = 4               # κ; B_big = κ·b
    sharpness_at: tuple = ()           # steps (0..T)
    sharpness_windows: int = 32
    diverge_loss: float = 20.0         # nats; ln 256 ≈ 5.55 is the uniform-byte loss
    stop_below: float = 0.0            # stop at the first record whose val loss ≤ this (0 = never)
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self):
        _checks.choice("optimizer", self.optimizer, OPTIMIZERS)
        _checks.positive("lr", self.lr)
        if len(tuple(self.betas)) != 2:
            raise ValueError(f"betas={self.betas!r} must be a pair (beta1, beta2)")
        _checks.beta("beta1", self.betas[0]), _checks.beta("beta2", self.betas[1])
        _checks.beta("momentum", self.momentum)
        _checks.nonnegative("eps", self.eps), _checks.nonnegative("weight_decay", self.weight_decay)
        _checks.nonnegative("clip", self.clip)
        b = _checks.integer("batch_size", self.batch_size, lo=1)
        if self.microbatch is not None:
            m = _checks.integer("microbatch", self.microbatch, lo=1, hi=b)
            if b % m:
                raise ValueError(f"microbatch={m!r} must divide batch_size={b!r} "
                                 f"(allowed: a divisor of {b})")
        steps = _checks.integer("steps", self.steps, lo=1)
        _checks.choice("schedule", self.schedule, SCHEDULES)
        _checks.in_range("warmup", self.warmup, 0.0, 1.0, hi_closed=False)
        _checks.in_range("decay", self.decay, 0.0, 1.0)
        _checks.choice("sampler", self.sampler, SAMPLERS)
        if self.sampler == "epoch":
            _checks.integer("subset_windows", self.subset_windows, lo=b)
        for r in self.records:
            _checks.integer("records", r, lo=0, hi=steps)
        for r in self.sharpness_at:
            _checks.integer("sharpness_at", r, lo=0, hi=steps)
        _checks.integer("eval_windows", self.eval_windows, lo=1)
        _checks.integer("probe_every", self.probe_every, lo=0)
        _checks.integer("probe_batch", self.probe_batch, lo=1)
        _checks.integer("probe_kappa", self.probe_kappa, lo=2)
        _checks.integer("sharpness_windows", self.sharpness_windows, lo=1)
        _checks.positive("diverge_loss", self.diverge_loss)
        _checks.nonnegative("stop_below", self.stop_below)
        _checks.integer("seed", self.seed, lo=0)
        check_device(self.device)

    @property
    def kappa(self) -> int:
        return self.batch_size // (self.microbatch or self.batch_size)

    def schedule_multipliers(self) -> np.ndarray:
        if self.schedule == "constant":
            return schedules.constant()(self.steps)
        if self.schedule == "warmup_cosine":
            return schedules.warmup_cosine(warmup=self.warmup)(self.steps)
        return schedules.wsd(warmup=self.warmup, decay=self.decay)(self.steps)

    def config(self) -> dict:
        return asdict(self)


def check_device(device: str) -> str:
    _checks.choice("device", device, DEVICES)
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' is not available here (torch.cuda.is_available() is False); "
                         "allowed: 'cpu'")
    return device


def _to(batch, device):
    return tuple(t.to(device, non_blocking=True) for t in batch)


class Batches:
    """The training batches, probe batches and fixed evaluation windows of one run."""

    def __init__(self, splits: lmdata.Splits, block_size: int, tcfg: TrainConfig):
        self.splits, self.t, self.cfg = splits, block_size, tcfg
        self.keys = [lmdata.stream_key(tcfg.seed, s) for s in range(3)]
        self.epoch = None
        if tcfg.sampler == "epoch":
            self.epoch = lmdata.EpochSampler(splits.train, block_size, tcfg.subset_windows,
                                             tcfg.batch_size, self.keys[0])
        self.val = lmdata.random_batch(splits.val, block_size, tcfg.eval_windows, self.keys[2], 0)
        if self.epoch is None:
            self.train_eval = lmdata.random_batch(splits.train, block_size, tcfg.eval_windows, self.keys[2], 1)
        else:
            x, y = self.epoch.all_windows()
            self.train_eval = (x[:tcfg.eval_windows], y[:tcfg.eval_windows])
        self.sharp = self.draw_probe(2, tcfg.sharpness_windows)

    def train(self, step: int):
        if self.epoch is not None:
            return self.epoch.batch(step)
        return lmdata.random_batch(self.splits.train, self.t, self.cfg.batch_size, self.keys[0], step)

    def draw_probe(self, step: int, n: int):
        """n windows for probes (stream 1): with replacement from the subset for the epoch sampler."""
        if self.epoch is None:
            return lmdata.random_batch(self.splits.train, self.t, n, self.keys[1], step)
        idx = lmdata.srandom.batch_with_replacement(self.keys[1], step, self.epoch.n_windows, n)[0]
        return lmdata._windows(self.splits.train, idx * self.t, self.t)


@torch.no_grad()
def evaluate(model, batch, device, chunk: int = 64) -> float:
    """Mean next-byte loss over the windows of ``batch`` (no autocast)."""
    was = model.training
    model.eval()
    x, y = batch
    total = 0.0
    for i in range(0, len(x), chunk):
        xb, yb = _to((x[i:i + chunk], y[i:i + chunk]), device)
        total += float(model(xb, yb)[1]) * len(xb)
    model.train(was)
    return total / len(x)


def train(mcfg: ModelConfig, tcfg: TrainConfig, splits: lmdata.Splits, init_state: dict | None = None):
    """Train one model; returns (Dataset, model). ``init_state``: a state_dict to start from."""
    if not isinstance(mcfg, ModelConfig) or not isinstance(tcfg, TrainConfig):
        raise ValueError("train(mcfg, tcfg, splits) needs a ModelConfig and a TrainConfig")
    device = check_device(tcfg.device)
    model = build(mcfg, tcfg.seed, device=device)
    if init_state is not None:
        model.load_state_dict(init_state)
    opt = make(tcfg.optimizer, model.parameters(), tcfg.lr, tcfg.betas, tcfg.momentum, tcfg.eps,
               tcfg.weight_decay, tcfg.clip)
    bsi = isinstance(opt, BSIAdam)
    data = Batches(splits, mcfg.block_size, tcfg)
    s = tcfg.schedule_multipliers()
    records = sorted(set(tcfg.records or (0, tcfg.steps)))
    kappa, m = tcfg.kappa, tcfg.microbatch or tcfg.batch_size
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=(device == "cuda"))

    losses = np.full(tcfg.steps, np.inf)
    val, tr_eval = np.full(len(records), np.inf), np.full(len(records), np.inf)
    probes, probe_steps, sharp, sharp_steps = [], [], [], []
    diverged, t0 = False, time.perf_counter()

    def checkpoint(step):
        if step in records:
            i = records.index(step)
            val[i] = evaluate(model, data.val, device)
            tr_eval[i] = evaluate(model, data.train_eval, device) if tcfg.eval_train else np.nan
        if tcfg.probe_every and step < tcfg.steps and step % tcfg.probe_every == 0:
            b, k = tcfg.probe_batch, tcfg.probe_kappa
            x, y = _to(data.draw_probe(1000 + step, b * k), device)
            probes.append(measure.gradient_probe(model, zip(x.split(b), y.split(b))))
            probe_steps.append(step)
        if step in tcfg.sharpness_at:
            sharp.append(measure.sharpness(model, *_to(data.sharp, device), seed=tcfg.seed))
            sharp_steps.append(step)

    model.train()
    stopped = tcfg.steps
    for step in range(tcfg.steps):
        checkpoint(step)
        if step in records and val[records.index(step)] <= tcfg.stop_below:
            stopped = step
            break
        x, y = _to(data.train(step), device)
        set_lr(opt, tcfg.lr * float(s[step]))
        total = 0.0
        for xb, yb in zip(x.split(m), y.split(m)):
            with autocast:
                _, loss = model(xb, yb)
            if bsi:
                loss.backward()
                opt.accumulate()
            else:
                (loss / kappa).backward()
            total += loss.item() / kappa
        losses[step] = total
        if not math.isfinite(total) or total > tcfg.diverge_loss:
            diverged = True
            losses[step:] = np.inf
            opt.zero_grad(set_to_none=True)
            break
        if tcfg.clip > 0 and not bsi:
            clip_global_norm(model.parameters(), tcfg.clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
    if not diverged and stopped == tcfg.steps:
        checkpoint(tcfg.steps)
        if not np.all(np.isfinite(val)):
            diverged = True

    ds = xr.Dataset(
        {"loss": ("step", losses), "val_loss": ("record", val), "train_eval_loss": ("record", tr_eval),
         "lr": ("step", tcfg.lr * s),
         "probe_small": ("probe", np.array([p["small"] for p in probes], float)),
         "probe_big": ("probe", np.array([p["big"] for p in probes], float)),
         "sharpness": ("check", np.array(sharp, float))},
        coords={"step": np.arange(tcfg.steps), "record": np.array(records),
                "probe": np.array(probe_steps, int), "check": np.array(sharp_steps, int)},
        attrs={"diverged": int(diverged), "stopped_step": stopped, "wall_s": time.perf_counter() - t0,
               "n_params": model.num_params(), "kappa": kappa})
    if len(probes) >= 1:
        # probes draw windows with replacement (also from the epoch sampler's subset): i.i.d. factors
        est = measure.noise_scale_estimate(probes, tcfg.probe_batch, tcfg.probe_kappa, None)
        ds.attrs.update(b_simple=est["simple_noise_scale"], grad_sq=est["grad_sq"],
                        trace_cov=est["trace_cov"])
    return ds, model


MAX_THREADS = 1024          # torch takes a C int; far beyond any machine's cores


def thread_count(n: int | None = None) -> int:
    """The torch CPU thread count: ``n``, else ``$SIMLAB_LM_THREADS``, else 1 (the machine is
    shared); a ValueError naming the argument or the variable unless it is an integer in
    [1, MAX_THREADS]."""
    import os
    if n is not None:
        return _checks.integer("threads", n, lo=1, hi=MAX_THREADS)
    text = os.environ.get("SIMLAB_LM_THREADS", "1")
    try:
        value = int(text.strip())
    except ValueError:
        raise ValueError(f"SIMLAB_LM_THREADS={text!r} must be an integer in the allowed range "
                         f"[1, {MAX_THREADS}]") from None
    return _checks.integer("SIMLAB_LM_THREADS", value, lo=1, hi=MAX_THREADS)


def set_threads(n: int | None = None) -> int:
    """Limit torch's CPU threads to ``thread_count(n)``; returns the count."""
    n = thread_count(n)
    torch.set_num_threads(n)
    return n


__all__ = ["TrainConfig", "train", "evaluate", "check_device", "set_threads", "thread_count",
           "DEVICES", "MAX_THREADS"]
