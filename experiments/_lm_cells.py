"""The units of work of the four LM experiments — the cells that ``simlab.cells`` caches one by one.

Every function here is a module-level cell function for ``cells.map`` (so it also runs on a Dask
worker): it takes one cell and returns an ``xarray.Dataset``, and it depends on nothing but that
cell. A cell is a plain dict (its own configuration) or a ``Cell`` (a dict plus a payload that is
too large for a key — the start weights of a run — identified in the dict by its sha256).

The configuration of every LM cell holds everything that changes its numbers:

* the model (``ModelConfig.config()``) and the run (``TrainConfig.config()``: optimizer, lr, betas,
  B, micro-batch, steps, schedule, sampler, records, probes, seed, **device**), or the measurement's
  own settings;
* the data: ``corpus`` and the sha256 of the bytes read from its token file (checked against the
  pinned hash when the file is opened, ``simlab.lm.data.token_bytes``, and again in the cell);
* where and how it ran: ``device``, the size ``tier`` (quick / cpu / cuda), the torch CPU
  ``threads`` (the cell sets them itself) and the ``torch`` version.

So a GPU cell is never served for a CPU request, nor a cell of one torch for another. The cache key
adds the hash of the code a cell can run (``simlab.cache.code_hash_for``: this file and the simlab
modules its functions reach); this file holds only computation, so editing a report or a figure
does not invalidate a single run.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import xarray as xr

from simlab import _checks
from simlab.cells import cell_config
from simlab.lm import data as lmdata
from simlab.lm import measure
from simlab.lm.model import ModelConfig, build
from simlab.lm.optim import BSIAdam
from simlab.lm.train import TrainConfig, check_device, set_threads, train

#: the keys of a cell's configuration that say on what it ran (beside the model/run/measurement)
ENVIRONMENT = ("tier", "device", "corpus", "corpus_sha256", "threads", "torch")
_TUPLE_FIELDS = ("betas", "records", "sharpness_at")


@dataclass(frozen=True, eq=False)
class Cell:
    """A cell whose configuration is ``spec`` and that also carries ``payload`` (e.g. start
    weights, a flat float32 array whose sha256 is in ``spec``); only ``spec`` enters the key."""
    spec: dict
    payload: Any = None

    def config(self) -> dict:
        return self.spec


def environment(config: dict, **override) -> dict:
    """The ENVIRONMENT part of an experiment's resolved config (``override`` e.g. device="cpu")."""
    return {**{k: config[k] for k in ENVIRONMENT}, **override}


def run_spec(config: dict, mcfg: ModelConfig, tcfg: TrainConfig, **extra) -> dict:
    """The configuration of one training-run cell."""
    return {"kind": "train", "model": mcfg.config(), "train": tcfg.config(),
            **environment(config, device=tcfg.device), **extra}


def _prepare(spec: dict) -> lmdata.Splits:
    """Apply the cell's thread count and device check; the corpus splits, read and checked for
    this cell (``simlab.lm.data.load``: the sha256 of the bytes read, a few ms), which must be the
    bytes the cell's key names (``corpus_sha256``)."""
    set_threads(spec["threads"])
    check_device(spec["device"])
    splits = lmdata.load(spec["corpus"])
    if splits.sha256 != spec["corpus_sha256"]:
        raise ValueError(f"corpus_sha256={spec['corpus_sha256'][:16]}… is not the hash "
                         f"{splits.sha256[:16]}… of the bytes of corpus={spec['corpus']!r} read here")
    return splits


def train_config(spec: dict) -> TrainConfig:
    fields = dict(spec["train"])
    for name in _TUPLE_FIELDS:
        fields[name] = tuple(fields[name])
    return TrainConfig(**fields)


# ------------------------------------------------------------------------------------------------
# Weights as one flat float32 vector (a checkpoint inside a cell's Dataset)
# ------------------------------------------------------------------------------------------------

def flat_state(model) -> np.ndarray:
    """The model's state_dict (in its order) as one float32 vector."""
    return np.concatenate([v.detach().to("cpu", torch.float32).reshape(-1).numpy()
                           for v in model.state_dict().values()])


def state_dict(mcfg: ModelConfig, flat: np.ndarray) -> dict:
    """``flat_state``'s inverse: a state_dict for a model of ``mcfg``."""
    flat = np.asarray(flat, dtype=np.float32)
    template = build(mcfg, 0).state_dict()
    total = sum(v.numel() for v in template.values())
    if flat.shape != (total,):
        raise ValueError(f"state has {flat.size} values; a model of {mcfg} needs {total}")
    out, at = {}, 0
    for name, v in template.items():
        out[name] = torch.from_numpy(flat[at:at + v.numel()].copy()).reshape(v.shape)
        at += v.numel()
    return out


def state_sha256(flat: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(flat, dtype=np.float32).tobytes()).hexdigest()


# ------------------------------------------------------------------------------------------------
# The cells
# ------------------------------------------------------------------------------------------------

def train_cell(cell) -> xr.Dataset:
    """One training run (``simlab.lm.train``): its Dataset (losses, records, probes, sharpness).

    ``spec["keep_state"]``: also return the final weights as the variable ``state``. A ``Cell``
    payload is the start weights (``spec["init_sha256"]`` their hash)."""
    spec, start = cell_config(cell), getattr(cell, "payload", None)
    splits = _prepare(spec)
    mcfg, tcfg = ModelConfig(**spec["model"]), train_config(spec)
    init = None
    if start is not None:
        if state_sha256(start) != spec.get("init_sha256"):
            raise ValueError("the start weights carried by the cell do not match its init_sha256")
        init = state_dict(mcfg, start)
    ds, model = train(mcfg, tcfg, splits, init_state=init)
    ds.attrs.pop("wall_s", None)            # keep cells (and results files) deterministic
    if spec.get("keep_state"):
        ds = ds.assign(state=("state_value", flat_state(model)))
    return ds


def noise_cell(cell: Cell) -> xr.Dataset:
    """Two-batch probes of B_simple and B_noise at the weights ``cell.payload`` (Li et al.'s
    checkpoint): ``probes`` probes of κ micro-batches of b windows, each with an independent
    Hessian batch, drawn from stream 1 of key 7 (``simlab.lm.data.stream_key``). Attributes: the
    two scales (NaN where the denominator's estimate, |G|² or GᵀHG, is ≤ 0: undefined) and the
    four estimates with their standard errors over the probes."""
    spec = cell_config(cell)
    splits = _prepare(spec)
    if state_sha256(cell.payload) != spec["init_sha256"]:
        raise ValueError("the weights carried by the cell do not match its init_sha256")
    mcfg, device = ModelConfig(**spec["model"]), spec["device"]
    model = build(mcfg, 0, device=device)
    model.load_state_dict(state_dict(mcfg, cell.payload))
    key = lmdata.stream_key(7, 1)
    b, kap = spec["probe_b"], spec["probe_kappa"]
    probes = []
    for j in range(spec["probes"]):
        x, y = lmdata.random_batch(splits.train, mcfg.block_size, b * kap, key, 2 * j)
        hx, hy = lmdata.random_batch(splits.train, mcfg.block_size, spec["hessian_windows"], key,
                                     2 * j + 1)
        dev = [t.to(device) for t in (x, y, hx, hy)]
        probes.append(measure.gradient_probe(model, zip(dev[0].split(b), dev[1].split(b)),
                                             (dev[2], dev[3])))
    simple = measure.noise_scale_estimate(probes, b, kap)
    noise = measure.noise_scale_estimate(probes, b, kap, weighted=True)
    return xr.Dataset(
        {name: ("probe", np.array([p[name] for p in probes], float))
         for name in ("small", "big", "small_h", "big_h")},
        coords={"probe": np.arange(len(probes))},
        attrs={"b_simple": simple["simple_noise_scale"], "b_noise": noise["simple_noise_scale"],
               "grad_sq": simple["grad_sq"], "grad_sq_se": simple["grad_sq_se"],
               "trace_cov": simple["trace_cov"], "trace_cov_se": simple["trace_cov_se"],
               "ghg": noise["grad_sq"], "ghg_se": noise["grad_sq_se"],
               "trace_hcov": noise["trace_cov"], "trace_hcov_se": noise["trace_cov_se"]})


def theorem1_gap(model, batches, delta: float, eta_bar: float = 1e-2, gamma1_bar: float = 0.5,
                 gamma2_bar: float = 0.5, eps: float = 1e-8, merged: str = "bsi") -> float:
    """‖(w, m, v)_micro − (w, m, v)_merged‖/δ (each part relative to its start norm).

    ``model``: a float64 GPT (left unchanged); ``batches``: κ micro-batches (x, y). Start state:
    m = mean gradient, v = mean squared micro-batch gradient at w. micro: κ BSIAdam steps of one
    micro-batch each (κ = 1 is Adam, Alg. 1) with η = δη̄, β = 1 − δγ̄; merged: one step with
    η′ = κδη̄, β′ = 1 − κδγ̄ of BSI-Adam ("bsi", Alg. 3) or standard Adam ("adam", Alg. 2)."""
    delta = _checks.positive("delta", delta)
    _checks.choice("merged", merged, ("bsi", "adam"))
    batches = list(batches)
    kappa = len(batches)
    if kappa < 2:
        raise ValueError(f"batches has {kappa} micro-batches; Theorem 1 needs κ >= 2")
    if kappa * delta * max(gamma1_bar, gamma2_bar) >= 1:
        raise ValueError(f"delta={delta!r} is outside the allowed range (0, "
                         f"{1 / (kappa * max(gamma1_bar, gamma2_bar))}) (γ′ = κδγ̄ must be < 1)")
    w0 = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def grads(net, x, y):
        net.zero_grad(set_to_none=True)
        net(x, y)[1].backward()
        return [p.grad.detach().clone() for p in net.parameters()]

    g0 = [grads(model, x, y) for x, y in batches]
    m0 = [torch.stack(gs).mean(0) for gs in zip(*g0)]
    v0 = [torch.stack([g * g for g in gs]).mean(0) for gs in zip(*g0)]

    def run(steps_of):
        net = build(model.cfg, 0, dtype=torch.float64)
        net.load_state_dict(w0)
        k = len(steps_of)
        lr = kappa * delta * eta_bar / k
        betas = (1 - kappa * delta * gamma1_bar / k, 1 - kappa * delta * gamma2_bar / k)
        opt = BSIAdam(net.parameters(), lr=lr, betas=betas, eps=eps, bias_correction=False)
        for p, m, v in zip(net.parameters(), m0, v0):
            opt.state[p].update(k=0, m=m.clone(), v=v.clone())
        for group in steps_of:
            net.zero_grad(set_to_none=True)
            if merged == "adam" and len(group) > 1:         # Alg. 2: the square of the mean
                gs = [grads(net, *batches[j]) for j in group]
                for p, *g in zip(net.parameters(), *gs):
                    p.grad = torch.stack(g).mean(0)
            else:
                for j in group:
                    net.zero_grad(set_to_none=True)
                    net(*batches[j])[1].backward()
                    opt.accumulate()
            opt.step()

        def flat(ts):
            return torch.cat([t.reshape(-1) for t in ts])
        return (flat([p.detach() for p in net.parameters()]),
                flat([opt.state[p]["m"] for p in net.parameters()]),
                flat([opt.state[p]["v"] for p in net.parameters()]))

    a = run([[j] for j in range(kappa)])
    b = run([list(range(kappa))])
    ref = (torch.cat([p.detach().reshape(-1) for p in model.parameters()]),
           torch.cat([m.reshape(-1) for m in m0]), torch.cat([v.reshape(-1) for v in v0]))
    diff = torch.cat([(x - y) / r.norm() for x, y, r in zip(a, b, ref)])
    return float(diff.norm()) / delta


def theorem_cell(spec: dict) -> xr.Dataset:
    """One row of Theorem 1 on the network: ``theorem1_gap`` at every δ for κ = ``spec["kappa"]``
    micro-batches of ``spec["micro"]`` windows and the merged rule ``spec["merged"]``, on the
    float64 model ``spec["model"]`` at its initialization (seed ``spec["seed"]``), on the CPU."""
    splits = _prepare(spec)
    cfg = ModelConfig(**spec["model"])
    seed, kappa, micro = spec["seed"], spec["kappa"], spec["micro"]
    model = build(cfg, seed, dtype=torch.float64)
    key = lmdata.stream_key(seed, 1)
    x, y = lmdata.random_batch(splits.train, cfg.block_size, kappa * micro, key, kappa)
    batches = list(zip(x.split(micro), y.split(micro)))
    gaps = [theorem1_gap(model, batches, d, merged=spec["merged"]) for d in spec["deltas"]]
    return xr.Dataset({"theorem_gap": ("delta", np.array(gaps))},
                      coords={"delta": np.asarray(spec["deltas"], float)})
