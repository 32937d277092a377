"""Benchmark: run-steps per second of ``backend="cuda"`` against PyTorch-CUDA, JAX and numba (CPU).

    python benchmarks/simulate_cuda.py [--runs 1000000] [--steps 2000] [--cpu-steps 200]
                                       [--skip torch,jax,numba] [--float32] [--quadratic-gap]

(also ``python benchmarks/simulate.py --backend cuda``, which delegates here). Needs a CUDA GPU;
PyTorch, JAX and CuPy are used when importable and their rows are left out otherwise. Measures,
in one process, the same Adam ensemble (β1 = β2 = 0.95, ε = 1e-8, no bias correction, sampling
with replacement, loss recorded every 100 steps — the CPU benchmark's) on

  (a) the 9-d toy quadratic, R = ``--runs`` runs (4 lrs × R/4 seeds), T = ``--steps``, B ∈ {1, 8, 64};
  (b) a data quadratic with d = 256, N = 4096 samples, B = 64: R = 64 (4 × 16) and R = 4096,
      T = 1000;

by

* ``simlab cuda``: ``cuda_backend.run(spec)`` — the kernel, compiled once (the first call, timed
  apart), then timed whole (transfers included) and kernel only; layout "auto" (a thread per run
  on the toy, a block per run at d = 256, whose thread-per-run rate is printed beside it);
* ``torch-cuda``: a PyTorch ensemble vectorized over runs on the GPU (``torch_cuda_ensemble``: the
  maths of the CPU benchmark's torch row — batched gather, einsum gradient, Adam in place);
* ``jax``: ``jax.vmap`` over runs of a ``jax.lax.scan`` over steps, float64, jit-compiled (the
  compile call timed apart);
* ``numba``: simlab's numba backend on all the machine's CPU cores (``--cpu-steps`` steps: its
  rate is per run-step like the others).

Every row prints the median final loss, a check that all run the same Adam (different random
streams: agreement in distribution, not per run). The toy's FP64 ceiling is printed next to the
cuda rate (``docs/backends.md``). ``--quadratic-gap`` also times ``python -m experiments.quadratic_gap
--backend cuda --seeds 10000 --no-cache`` in a subprocess. Rates depend on the machine: this is a
script, not a test.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simlab  # noqa: E402
from simlab import optim, problems  # noqa: E402

B1 = B2 = 0.95
EPS = 1e-8
RECORD_EVERY = 100
LRS = [1e-3, 3e-3, 1e-2, 3e-2]


def adam():
    return optim.adam(B1, B2, EPS, bias_correction=False)


def toy_problem():
    return problems.block_quadratic("heterogeneous", seed=0)


def big_problem(d=256, n=4096, seed=0):
    """The CPU benchmark's d = 256 data quadratic (Gaussian data, decaying per-coordinate scale)."""
    rng = np.random.default_rng(seed)
    scales = 1.0 / np.sqrt(np.arange(1, d + 1))
    samples = rng.standard_normal((d, n)) * scales[:, None]
    return problems.data_quadratic(samples, w0=np.ones(d), name="bench_d256")


def spec_for(problem, n_seeds, batch_size, steps):
    return simlab.make_spec(problem, adam(), LRS, batch_size, steps, n_seeds,
                            sampling="with_replacement", record_every=RECORD_EVERY,
                            backend="cuda")


# ------------------------------------------------------------------------------------------------
# The competitors
# ------------------------------------------------------------------------------------------------

def torch_cuda_ensemble(problem, n_seeds, batch_size, steps, seed=0):
    """Adam on every (lr, seed) run at once on the GPU; returns the final losses (L, S)."""
    import torch
    dev = torch.device("cuda")
    gen = torch.Generator(device=dev).manual_seed(seed)
    x = torch.as_tensor(np.ascontiguousarray(problem.samples.T), device=dev)        # (n, d)
    h = torch.as_tensor(problem.hessian, device=dev)
    n, d = x.shape
    lr = torch.as_tensor(np.asarray(LRS), device=dev).reshape(-1, 1, 1)
    w = torch.as_tensor(problem.w0, device=dev).expand(len(LRS), n_seeds, d).clone()
    m = torch.zeros_like(w)
    v = torch.zeros_like(w)
    records = []
    for k in range(steps + 1):
        if k % RECORD_EVERY == 0 or k == steps:
            records.append(0.5 * torch.einsum("lsi,ij,lsj->ls", w, h, w))
        if k == steps:
            break
        idx = torch.randint(0, n, (n_seeds, batch_size), generator=gen, device=dev)
        xb = x[idx]                                                          # (S, B, d)
        proj = torch.einsum("sbd,lsd->lsb", xb, w)
        g = torch.einsum("lsb,sbd->lsd", proj, xb) / batch_size
        m.mul_(B1).add_(g, alpha=1.0 - B1)
        v.mul_(B2).addcmul_(g, g, value=1.0 - B2)
        w.sub_(lr * m / (v.sqrt() + EPS))
    torch.cuda.synchronize()
    return records[-1].cpu().numpy()


def jax_ensemble(problem, n_seeds, batch_size, steps, seed=0):
    """A jit-compiled function: vmap over (lr, seed) of a lax.scan over steps (float64)."""
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    x = jnp.asarray(np.ascontiguousarray(problem.samples.T))
    h = jnp.asarray(problem.hessian)
    w0 = jnp.asarray(problem.w0)
    n = x.shape[0]
    chunks, rest = divmod(steps, RECORD_EVERY)

    def one_run(lr, key):
        def step(carry, k):
            w, m, v = carry
            idx = jax.random.randint(jax.random.fold_in(key, k), (batch_size,), 0, n)
            xb = x[idx]
            g = xb.T @ (xb @ w) / batch_size
            m = B1 * m + (1.0 - B1) * g
            v = B2 * v + (1.0 - B2) * g * g
            return (w - lr * m / (jnp.sqrt(v) + EPS), m, v), None

        def chunk(carry, c):
            carry, _ = jax.lax.scan(step, carry, c * RECORD_EVERY + jnp.arange(RECORD_EVERY))
            return carry, 0.5 * carry[0] @ h @ carry[0]

        carry = (w0, jnp.zeros_like(w0), jnp.zeros_like(w0))
        carry, records = jax.lax.scan(chunk, carry, jnp.arange(chunks))
        if rest:
            carry, _ = jax.lax.scan(step, carry, chunks * RECORD_EVERY + jnp.arange(rest))
        return 0.5 * carry[0] @ h @ carry[0], records

    keys = jax.random.split(jax.random.PRNGKey(seed), n_seeds)
    fn = jax.jit(jax.vmap(jax.vmap(one_run, in_axes=(None, 0)), in_axes=(0, None)))
    lrs = jnp.asarray(LRS)

    def call():
        final, records = fn(lrs, keys)
        final.block_until_ready()
        return np.asarray(final)
    return call


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


# ------------------------------------------------------------------------------------------------

def bench_cuda(problem, n_seeds, batch_size, steps, dtype, layout="auto"):
    from simlab.backends import cuda_backend as cb
    spec = spec_for(problem, n_seeds, batch_size, steps)
    layout = cb.resolve_layout(spec, layout)
    compile_s, _ = timed(lambda: cb.run(spec_for(problem, 2, batch_size, 2), dtype=dtype,
                                        layout=layout))
    total_s, raw = timed(lambda: cb.run(spec, dtype=dtype, layout=layout))
    arrays = cb.Arrays()
    device = cb.place(spec, arrays, dtype, layout=layout)
    arrays.synchronize()

    def kernel_only():
        cb.launch(spec, device)
        arrays.synchronize()
    kernel_s, _ = timed(kernel_only)
    runs = len(LRS) * n_seeds
    return {"compile_s": compile_s, "rate": runs * steps / kernel_s, "layout": layout,
            "rate_total": runs * steps / total_s, "median": float(np.median(raw.loss[..., -1]))}


def bench_case(label, problem, n_seeds, batch_size, steps, cpu_steps, skip, dtype,
               other_steps=None):
    """One row: simlab cuda at ``steps`` steps; torch-CUDA and JAX at ``other_steps`` (default
    ``steps``; their rates are per run-step, so fewer steps time them in less wall time)."""
    runs = len(LRS) * n_seeds
    other_steps = other_steps or steps
    row = {"label": label, "runs": runs, "steps": steps, "B": batch_size, "d": problem.dim}
    row["cuda"] = bench_cuda(problem, n_seeds, batch_size, steps, dtype)
    if row["cuda"]["layout"] == "block":                 # the thread layout too, for comparison
        row["cuda_thread"] = bench_cuda(problem, n_seeds, batch_size, steps, dtype, "thread")
    if "torch" not in skip:
        try:
            torch_cuda_ensemble(problem, n_seeds, batch_size, 2)                       # warm-up
            t, final = timed(lambda: torch_cuda_ensemble(problem, n_seeds, batch_size,
                                                         other_steps))
            row["torch"] = {"rate": runs * other_steps / t, "median": float(np.median(final)),
                            "steps": other_steps}
        except Exception as exc:                       # no torch, or no CUDA build of it
            row["torch"] = {"error": f"{type(exc).__name__}: {exc}"[:80]}
    if "jax" not in skip:
        try:
            call = jax_ensemble(problem, n_seeds, batch_size, other_steps)
            compile_s, _ = timed(call)
            t, final = timed(call)
            row["jax"] = {"rate": runs * other_steps / t, "median": float(np.median(final)),
                          "compile_s": compile_s, "steps": other_steps}
        except Exception as exc:
            row["jax"] = {"error": f"{type(exc).__name__}: {exc}"[:80]}
    if "numba" not in skip:
        from simlab.backends import numba_backend
        cpu_spec = simlab.make_spec(problem, adam(), LRS, batch_size, cpu_steps, n_seeds,
                                    sampling="with_replacement", record_every=RECORD_EVERY)
        numba_backend.run(simlab.make_spec(problem, adam(), LRS, batch_size, 2, 2,
                                           sampling="with_replacement"))        # compile/load
        t, raw = timed(lambda: numba_backend.run(cpu_spec))
        row["numba"] = {"rate": runs * cpu_steps / t, "median": float(np.median(raw.loss[..., -1])),
                        "note": f"{cpu_steps} steps"}
    return row


def fp64_ceiling():
    """The toy's FP64 bound: FP64 instructions per second / ~245 per Adam run-step (B = 1)."""
    from numba import cuda
    device = cuda.get_current_device()
    sms = device.MULTIPROCESSOR_COUNT
    try:
        clock_hz = device.CLOCK_RATE * 1e3                      # kHz
    except Exception:                                           # attribute not exposed
        clock_hz = 1.98e9                                       # H100 SXM boost clock
    # Hopper: 64 FP64 lanes per SM per cycle (an FMA counts as one instruction)
    per_second = sms * 64 * clock_hz
    return per_second / 245.0, sms, clock_hz


def fmt(entry, key="rate"):
    if entry is None:
        return "—"
    if "error" in entry:
        return f"n/a ({entry['error']})"
    return f"{entry[key]:.3g}"


def print_table(rows, ceiling):
    """The results as a Markdown table (run-steps per second)."""
    print()
    print("| case | runs × steps | simlab cuda (kernel; layout) | cuda (with transfers) | "
          "cuda thread layout | torch-cuda | "
          "jax | numba CPU | cuda / torch | cuda / jax | cuda compile s | median final loss "
          "cuda / torch / jax / numba |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        c = r["cuda"]
        ratio = lambda other: (f"{c['rate'] / r[other]['rate']:.1f}×"  # noqa: E731
                               if other in r and "rate" in r[other] else "—")
        medians = " / ".join(f"{r[k]['median']:.3g}" if k in r and "median" in r[k] else "—"
                             for k in ("cuda", "torch", "jax", "numba"))
        print(f"| {r['label']} | {r['runs']} × {r['steps']} | {fmt(c)}; {c['layout']} | "
              f"{fmt(c, 'rate_total')} | {fmt(r.get('cuda_thread'))} | {fmt(r.get('torch'))} | {fmt(r.get('jax'))} | {fmt(r.get('numba'))} | "
              f"{ratio('torch')} | {ratio('jax')} | {c['compile_s']:.1f} | {medians} |")
    print(f"(run-steps per second; FP64 ceiling of the toy at B = 1: {ceiling:.3g} "
          "run-steps/s = SMs × 64 FP64 lanes × clock / 245 instructions per Adam step)")



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000, help="toy runs R (default 10^6)")
    parser.add_argument("--steps", type=int, default=2000, help="toy steps T (default 2000)")
    parser.add_argument("--cpu-steps", type=int, default=200,
                        help="steps for numba on the CPU (rates are per run-step)")
    parser.add_argument("--skip", default="", help="comma-separated rows to leave out: "
                        "torch,jax,numba")
    parser.add_argument("--float32", action="store_true", help="the cuda rows in float32 storage")
    parser.add_argument("--quadratic-gap", action="store_true",
                        help="also time experiments.quadratic_gap --backend cuda --seeds 10000")
    args = parser.parse_args(argv)
    from simlab.backends import cuda_backend as cb
    cb.require_device()
    if cb.simulator():
        sys.exit("benchmarks/simulate_cuda.py needs a GPU: unset NUMBA_ENABLE_CUDASIM")
    import numba
    from numba import cuda
    skip = set(filter(None, args.skip.split(",")))
    dtype = "float32" if args.float32 else "float64"
    device = cuda.get_current_device()
    ceiling, sms, clock = fp64_ceiling()
    print(f"device: {device.name.decode() if isinstance(device.name, bytes) else device.name}, "
          f"{sms} SMs at {clock / 1e9:.2f} GHz, cc {device.compute_capability}; "
          f"CuPy: {cb.Arrays().kind == 'cupy'}; numba CPU threads: {numba.get_num_threads()}; "
          f"dtype: {dtype}")
    n_seeds = max(1, args.runs // len(LRS))
    rows = []
    toy = toy_problem()
    for batch_size in (1, 8, 64):
        rows.append(bench_case(f"(a) toy B={batch_size}", toy, n_seeds, batch_size, args.steps,
                               args.cpu_steps, skip, dtype))
        print(rows[-1], flush=True)
    big = big_problem()
    for seeds in (16, 1024):
        rows.append(bench_case(f"(b) d=256 B=64 R={4 * seeds}", big, seeds, 64, 1000,
                               max(1, args.cpu_steps // 2), skip, dtype))
        print(rows[-1], flush=True)

    print_table(rows, ceiling)

    if args.quadratic_gap:
        import tempfile
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as out:
            done = subprocess.run([sys.executable, "-m", "experiments.quadratic_gap", "--backend",
                                   "cuda", "--seeds", "10000", "--no-cache", "--out", out],
                                  env=env, cwd=str(Path(__file__).resolve().parents[1]))
        print("experiments.quadratic_gap --backend cuda --seeds 10000: "
              f"{time.perf_counter() - t0:.1f} s, cold (exit {done.returncode})")


if __name__ == "__main__":
    main()
