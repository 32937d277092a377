"""Benchmark: run-steps per second of the simulation backends on an Adam ensemble.

    python benchmarks/simulate.py [--cold] [--compile-only] [--numpy-steps N]

Measures, in one process, the ``numpy`` reference backend, the ``numba`` backend and a plain
PyTorch-vectorized Adam ensemble written below (batched gather of samples, einsum gradient, Adam
arithmetic vectorized over runs, 2 threads) on

  (a) the 9-d toy quadratic, R = 1000 runs, T = 2000 steps, B ∈ {1, 8, 64} with replacement;
  (b) a data quadratic with d = 256, N = 4096 samples, B = 64, R = 64, T = 1000.

Adam is the reference toy's (β1 = β2 = 0.95, ε = 1e-8, no bias correction); the loss is recorded
every 100 steps. It also measures the machine's memory bandwidth (a parallel STREAM triad in
numba) and prints, for (b), the bound it implies: each run-step must read its B sampled rows,
B·d·8 bytes, so run-steps/s ≤ bandwidth / (B·d·8). Numba's compile time (first call vs second
call; ``--cold`` compiles into an empty cache directory) is reported separately. This is a plain
script, not a test: the timings depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

if "--cold" in sys.argv:          # numba reads its cache directory once, at import
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="simlab-numba-cache-")

import numba  # noqa: E402
import numpy as np  # noqa: E402

import simlab  # noqa: E402
from simlab import optim, problems  # noqa: E402
from simlab.backends import numba_backend, reference  # noqa: E402

B1 = B2 = 0.95
EPS = 1e-8
RECORD_EVERY = 100


def adam():
    return optim.adam(B1, B2, EPS, bias_correction=False)


# ------------------------------------------------------------------------------------------------
# The PyTorch-vectorized ensemble (same maths as simlab's adam_rule without bias correction)
# ------------------------------------------------------------------------------------------------

def torch_adam_ensemble(problem, lrs, n_seeds, batch_size, steps, seed=0):
    """Adam on every (lr, seed) run at once; returns the final losses (L, S) and the records."""
    import torch
    gen = torch.Generator().manual_seed(seed)
    x = torch.as_tensor(np.ascontiguousarray(problem.samples.T))          # (n, d)
    h = torch.as_tensor(problem.hessian)
    n, d = x.shape
    lr = torch.as_tensor(np.asarray(lrs, dtype=float)).reshape(-1, 1, 1)  # (L, 1, 1)
    w = torch.as_tensor(problem.w0).expand(len(lrs), n_seeds, d).clone()
    m = torch.zeros_like(w)
    v = torch.zeros_like(w)
    records = []
    for k in range(steps + 1):
        if k % RECORD_EVERY == 0 or k == steps:
            records.append(0.5 * torch.einsum("lsi,ij,lsj->ls", w, h, w))
        if k == steps:
            break
        idx = torch.randint(0, n, (n_seeds, batch_size), generator=gen)  # shared across lrs
        xb = x[idx]                                                        # (S, B, d)
        proj = torch.einsum("sbd,lsd->lsb", xb, w)
        g = torch.einsum("lsb,sbd->lsd", proj, xb) / batch_size
        m.mul_(B1).add_(g, alpha=1.0 - B1)
        v.mul_(B2).addcmul_(g, g, value=1.0 - B2)
        w.sub_(lr * m / (v.sqrt() + EPS))
    return records[-1].numpy(), torch.stack(records, -1).numpy()


# ------------------------------------------------------------------------------------------------
# Memory bandwidth
# ------------------------------------------------------------------------------------------------

@numba.njit(parallel=True, cache=True)
def _triad(a, b, c, scalar):
    for i in numba.prange(a.shape[0]):
        a[i] = b[i] + scalar * c[i]


def memory_bandwidth(n=1 << 24, repeats=7):
    """Best STREAM-triad bandwidth in bytes/s (24 bytes per element: 2 reads, 1 write)."""
    a, b, c = np.zeros(n), np.ones(n), np.full(n, 2.0)
    _triad(a, b, c, 3.0)
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        _triad(a, b, c, 3.0)
        best = min(best, time.perf_counter() - t0)
    return 24.0 * n / best


# ------------------------------------------------------------------------------------------------

def toy_problem():
    return problems.block_quadratic("heterogeneous", seed=0)


def big_problem(d=256, n=4096, seed=0):
    """A data quadratic from Gaussian data with a decaying per-coordinate scale."""
    rng = np.random.default_rng(seed)
    scales = 1.0 / np.sqrt(np.arange(1, d + 1))
    samples = rng.standard_normal((d, n)) * scales[:, None]
    return problems.data_quadratic(samples, w0=np.ones(d), name="bench_d256")


def timed(fn, repeats=1):
    best = np.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def spec_for(problem, lrs, n_seeds, batch_size, steps):
    return simlab.make_spec(problem, adam(), lrs, batch_size, steps, n_seeds,
                            sampling="with_replacement", record_every=RECORD_EVERY)


def compile_time():
    """Seconds of the first numba call (compile, or load from cache) and of the second call."""
    spec = spec_for(toy_problem(), [1e-2], 2, 1, 10)
    first, _ = timed(lambda: numba_backend.run(spec))
    second, _ = timed(lambda: numba_backend.run(spec))
    kernel = numba_backend._simulate_kernel
    return first, second, sum(kernel.stats.cache_hits.values()), sum(kernel.stats.cache_misses.values())


def bench_case(label, problem, lrs, n_seeds, batch_size, steps, numpy_steps, repeats=2):
    """Rates of the three implementations; numba and torch alternate ``repeats`` times and the
    best time of each counts, so that a burst of load from other jobs on this shared machine
    does not land on one of them only."""
    runs = len(lrs) * n_seeds
    spec = spec_for(problem, lrs, n_seeds, batch_size, steps)
    torch_adam_ensemble(problem, lrs, n_seeds, batch_size, 2)                   # warm-up
    t_numba = t_torch = np.inf
    for _ in range(repeats):
        t, raw = timed(lambda: numba_backend.run(spec))
        t_numba = min(t_numba, t)
        t, (torch_final, _) = timed(
            lambda: torch_adam_ensemble(problem, lrs, n_seeds, batch_size, steps))
        t_torch = min(t_torch, t)
    spec_np = spec_for(problem, lrs, n_seeds, batch_size, numpy_steps)
    t_numpy, _ = timed(lambda: reference.run(spec_np))
    rate = {"numpy": runs * numpy_steps / t_numpy, "numba": runs * steps / t_numba,
            "torch": runs * steps / t_torch}
    medians = (float(np.median(raw.loss[..., -1])), float(np.median(torch_final)))
    return {"label": label, "runs": runs, "steps": steps, "numpy_steps": numpy_steps,
            "B": batch_size, "d": problem.dim, "rate": rate, "medians": medians}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true",
                        help="compile numba into an empty cache directory (cold-start compile time)")
    parser.add_argument("--compile-only", action="store_true",
                        help="only report numba's first-call (compile or cache load) time")
    parser.add_argument("--numpy-steps", type=int, default=100,
                        help="steps for the (slow) numpy backend; rates are per run-step")
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(2)
    print(f"numba threads: {numba.get_num_threads()}, torch threads: {torch.get_num_threads()}, "
          f"cpu count: {os.cpu_count()}")

    first, second, hits, misses = compile_time()
    how = "compiled" if misses else "loaded from numba's cache"
    print(f"numba first call: {first:.2f} s ({how}; cache hits {hits}, misses {misses}); "
          f"second call: {second * 1e3:.1f} ms")
    if args.compile_only:
        return

    bandwidth = memory_bandwidth()
    print(f"memory bandwidth (numba parallel STREAM triad, 3 x 128 MiB): {bandwidth / 1e9:.1f} GB/s")
    print(f"load average before the runs: {os.getloadavg()[0]:.2f} (2 cores, shared)")

    results = []
    toy = toy_problem()
    toy_lrs = [1e-3, 3e-3, 1e-2, 3e-2]
    for batch_size in (1, 8, 64):
        results.append(bench_case(f"(a) toy B={batch_size}", toy, toy_lrs, 250, batch_size, 2000,
                                  args.numpy_steps))
    big = big_problem()
    results.append(bench_case("(b) d=256 N=4096 B=64", big, [1e-3, 3e-3, 1e-2, 3e-2], 16, 64,
                              1000, args.numpy_steps))

    print()
    print("| case | runs × steps | numpy | numba | torch (2 thr) | numba / torch | "
          "median final loss numba / torch |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        rate = r["rate"]
        print(f"| {r['label']} | {r['runs']} × {r['steps']} | {rate['numpy']:.3g} | "
              f"{rate['numba']:.3g} | {rate['torch']:.3g} | {rate['numba'] / rate['torch']:.1f}× | "
              f"{r['medians'][0]:.3g} / {r['medians'][1]:.3g} |")
    print("(run-steps per second; numpy measured over "
          f"{args.numpy_steps} steps)")
    b = results[-1]
    bytes_per_run_step = b["B"] * b["d"] * 8
    bound = bandwidth / bytes_per_run_step
    bandwidth = max(bandwidth, memory_bandwidth())      # re-measured after the runs; the best
    print(f"\n(b) bandwidth bound: {bytes_per_run_step} bytes per run-step (B·d·8) at "
          f"{bandwidth / 1e9:.1f} GB/s → {bound:.3g} run-steps/s; numba reaches "
          f"{b['rate']['numba']:.3g} = {b['rate']['numba'] / bound:.0%} of it")


if __name__ == "__main__":
    main()
