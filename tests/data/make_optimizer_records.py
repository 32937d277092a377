"""Generate ``optimizer_records.npz``: the loss records and final iterates of every optimizer of
``simlab.optim.FACTORIES`` (plus global-norm clipping and micro-batched BSI-Adam) × problem ×
sampling, on the numpy and numba backends, as produced by the code this is run on.

It was run on main (commit 5bb6628, before optimizers became chains of transforms):

    PYTHONPATH=<checkout of main> python tests/data/make_optimizer_records.py tests/data/optimizer_records.npz

and run again (``PYTHONPATH=.`` in a checkout) when Adam's bias correction β^t became
``portable_math.int_power`` (binary powering, the same bits on every backend, instead of libm's
pow): 53 of the 231 arrays changed — those of the bias-corrected Adam, Adam with global-norm
clipping and BSI-Adam — by at most 3.5e-15 relative (the final iterate of the diagonal net, Adam
with clipping, with replacement); every other array kept its bits.

``tests/test_optimizer_records.py`` asserts that today's code reproduces these numbers bit for bit.
"""
import sys

import numpy as np

import simlab
from simlab import optim, problems, schedules


def _gaussian_dense():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 5))
    b = rng.standard_normal((5, 5))
    return problems.gaussian_quadratic(a @ a.T / 5 + 0.1 * np.eye(5), b @ b.T / 5,
                                       w0=rng.standard_normal(5))


PROBLEMS = {
    "data": lambda: problems.block_quadratic("heterogeneous", seed=0),
    "gaussian_dense": _gaussian_dense,
    "gaussian_diagonal": lambda: problems.nqm(dim=6, seed=0),
    "diagonal_net": lambda: problems.diagonal_net(width=6, n_train=12, seed=0),
}
SAMPLINGS = {"data": ("with_replacement", "without_replacement", "epoch"),
             "diagonal_net": ("with_replacement", "epoch")}
OPTIMIZERS = {
    "sgd": lambda: optim.sgd(),
    "sgd_momentum": lambda: optim.sgd(momentum=0.8),
    "sgd_nesterov_ema": lambda: optim.sgd(momentum=0.7, nesterov=True, ema=True),
    "adam": lambda: optim.adam(b1=0.8, b2=0.95),
    "adam_no_bias_correction": lambda: optim.adam(0.9, 0.9, 1e-6, bias_correction=False),
    "rmsprop": lambda: optim.rmsprop(0.9, 1e-6),
    "signsgd": lambda: optim.signsgd(),
    "signum": lambda: optim.signum(0.8),
    "clipped_momentum": lambda: optim.clipped_momentum(0.9, 0.2),
    "bsi_adam": lambda: optim.bsi_adam(0.8, 0.95),
    "adam_clip_norm": lambda: optim.with_global_norm_clipping(optim.adam(0.8, 0.95), 0.5),
}
#: Learning rates × 1/λ_max (the largest Hessian eigenvalue) for the SGD family, absolute otherwise.
RELATIVE_LRS = {"sgd": [0.05, 0.5], "sgd_momentum": [0.01, 0.1], "sgd_nesterov_ema": [0.05, 0.5],
                "clipped_momentum": [0.005, 0.05]}


def learning_rates(problem, oname):
    if oname not in RELATIVE_LRS:
        return [1e-3, 1e-2]
    hessian = problem.hessian(problem.w0) if callable(problem.hessian) else problem.hessian
    top = float(np.linalg.eigvalsh(hessian)[-1])
    return [c / top for c in RELATIVE_LRS[oname]]


def cases():
    for pname in PROBLEMS:
        for sampling in SAMPLINGS.get(pname, ("with_replacement",)):
            for oname in OPTIMIZERS:
                yield pname, sampling, oname


def run(pname, sampling, oname, backend, problem):
    opt = OPTIMIZERS[oname]()
    micro = 2 if oname == "bsi_adam" else None
    ds = simlab.simulate(problem, opt, lr=learning_rates(problem, oname), batch_size=4, steps=24,
                         seeds=2, sampling=sampling, microbatch=micro, backend=backend,
                         schedule=schedules.warmup_cosine(0.1, 0.05), record_every=2)
    return ds


def main(path):
    out = {}
    for pname, sampling, oname in cases():
        problem = PROBLEMS[pname]()
        for backend in ("numpy", "numba"):
            ds = run(pname, sampling, oname, backend, problem)
            key = f"{pname}/{sampling}/{oname}/{backend}"
            out[key + "/loss"] = ds.loss.values
            if backend == "numba":
                out[key + "/w_final"] = ds.w_final.values
            print(key, flush=True)
    np.savez_compressed(path, **out)


if __name__ == "__main__":
    main(sys.argv[1])
