"""Everything to run when a GPU is lent, in one command of at most 8 minutes on one H100.

    python benchmarks/gpu_check.py [--out DIR] [--dry-run]

Runs from the repository root without installing simlab (the tree is put first on ``sys.path``)
and needs only what the GPU image has (Python 3.12, numpy, numba + numba-cuda, cupy, torch,
jax, xarray, pandas, tqdm, pytest, hypothesis). Five parts, each in its own process group under
its own time limit (``LIMITS``, 470 s together), so a slow or hung part is stopped and reported
and the others still run:

1. ``tests``: ``pytest -m gpu tests/test_cuda.py`` with ``NUMBA_ENABLE_CUDASIM=0``;
2. ``benchmark``: ``benchmarks/simulate_cuda.py``'s cases — the toy at B = 1, 8, 64 with
   R = 10⁶ runs and T = 2000 steps, the d = 256 data quadratic (B = 64, R = 4096, T = 1000) —
   simlab cuda against a torch-CUDA ensemble and a JAX ``vmap`` ensemble (those timed at
   ``OTHER_STEPS`` steps: their rates are per run-step);
3. ``identity``: a sample of runs on the device and with numba on the host, float64, compared
   bit for bit (loss records, divergence steps, final iterates and slots);
4. ``quadratic_gap``: ``python -m experiments.quadratic_gap --backend cuda --seeds 10000`` and
   its wall time;
5. ``lm``: the four LM experiments' GPU quick runs (``--device cuda --quick``).

It writes ``gpu_check.json`` (every number) and ``gpu_check.md`` (the tables) into ``--out``
(default ``results/gpu_check/``) and checks the targets of issue 19: ≥ 1e9 run-steps/s on the toy
at B = 1 in float64, ≥ 100× torch-CUDA and ≥ 10× JAX there. ``--dry-run`` runs the whole script
on a machine without a GPU: numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), tiny sizes,
the gpu tests only collected, torch-CUDA and JAX left out, quadratic_gap on numpy and lm_gap
on the CPU, each with a note.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PARTS = ("tests", "benchmark", "identity", "quadratic_gap", "lm")
#: Seconds per part (together 470 s of the 8 minutes; the rest is start-up and writing). Each
#: part compiles its own kernels (CUDA compiles per process; numba's CPU kernels are cached).
LIMITS = {"tests": 110, "benchmark": 150, "identity": 70, "quadratic_gap": 75, "lm": 65}
DRY_LIMITS = {"tests": 120, "benchmark": 240, "identity": 300, "quadratic_gap": 300, "lm": 300}
TARGETS = {"rate": 1e9, "vs_torch": 100.0, "vs_jax": 10.0}
OTHER_STEPS = 50
LM_EXPERIMENTS = ("lm_gap", "lm_surge", "lm_betas", "lm_bsi")


def sizes(dry: bool) -> dict:
    if dry:
        return {"runs": 8, "steps": 4, "other_steps": 2, "big_seeds": 1, "big_steps": 2,
                "identity_seeds": 2, "identity_steps": 6}
    return {"runs": 1_000_000, "steps": 2000, "other_steps": OTHER_STEPS, "big_seeds": 1024,
            "big_steps": 1000, "identity_seeds": 256, "identity_steps": 200}


def environment(dry: bool) -> dict:
    return {**os.environ, "NUMBA_ENABLE_CUDASIM": "1" if dry else "0",
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def run_limited(command: list, limit: float, env: dict) -> dict:
    """Run ``command`` in its own process group; after ``limit`` seconds the whole group is
    killed. Returns returncode (None on timeout), wall seconds and the output's tail."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=max(limit, 1.0))
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
        code = None
    return {"returncode": code, "wall_s": round(time.perf_counter() - t0, 2),
            "tail": (output or "")[-1500:]}


# ------------------------------------------------------------------------------------------------
# The parts (each runs in its own process: ``--part NAME``) return a JSON-able dict
# ------------------------------------------------------------------------------------------------

def part_tests(dry: bool, limit: float) -> dict:
    command = [sys.executable, "-m", "pytest", "-m", "gpu", "tests/test_cuda.py", "-q",
               "-p", "no:cacheprovider"] + (["--collect-only"] if dry else [])
    done = run_limited(command, limit - 5, environment(dry))
    summary = {}
    for key in ("passed", "failed", "skipped", "error", "errors", "deselected"):
        m = re.search(rf"(\d+) {key}\b", done["tail"])
        if m:
            summary[key] = int(m.group(1))
    m = re.search(r"(\d+)(?:/\d+)? tests? collected", done["tail"])
    if m:
        summary["collected"] = int(m.group(1))
    note = "dry run: gpu tests collected, not run (they need a device)" if dry else ""
    return {"summary": summary, "returncode": done["returncode"], "note": note,
            "tail": done["tail"][-600:]}


def part_benchmark(dry: bool, limit: float) -> dict:
    import simulate_cuda as bench
    n = sizes(dry)
    skip = {"numba", "torch", "jax"} if dry else {"numba"}
    rows = []
    toy = bench.toy_problem()
    for batch_size in (1, 8, 64):
        rows.append(bench.bench_case(f"toy B={batch_size}", toy, max(1, n["runs"] // 4),
                                     batch_size, n["steps"], 1, skip, "float64",
                                     other_steps=n["other_steps"]))
    rows.append(bench.bench_case(f"d=256 B=64 R={4 * n['big_seeds']}", bench.big_problem(),
                                 n["big_seeds"], 64, n["big_steps"], 1, skip, "float64",
                                 other_steps=n["other_steps"]))
    ceiling = None if dry else bench.fp64_ceiling()[0]
    from numba import cuda
    device = "numba CUDA simulator" if dry else str(cuda.get_current_device().name)
    return {"rows": rows, "device": device, "fp64_ceiling": ceiling,
            "note": "dry run: CUDA simulator, torch-CUDA and JAX left out" if dry else ""}


def part_identity(dry: bool, limit: float) -> dict:
    """Device runs against numba on the host, float64, bit for bit."""
    import numpy as np

    import simlab
    from simlab import optim, problems
    from simlab.backends import cuda_backend, numba_backend
    n = sizes(dry)
    toy = problems.block_quadratic("heterogeneous", seed=0)
    cases = [("adam", optim.adam(0.95, 0.95, 1e-8, bias_correction=False), "with_replacement", 8),
             ("adam (bias correction)", optim.adam(), "without_replacement", 3),
             ("sgd momentum", optim.sgd(momentum=0.9), "with_replacement", 64),
             ("signum", optim.signum(0.9), "epoch", 3),
             ("rmsprop", optim.rmsprop(0.99, 1e-8), "with_replacement", 1)]
    if dry:
        cases = cases[:2]          # numba compiles each case's CPU kernel: minutes on 2 cores
    out = []
    for label, opt, sampling, batch_size in cases:
        spec = simlab.make_spec(toy, opt, [1e-3, 1e-2, 1e-1, 1.0], batch_size,
                                n["identity_steps"], n["identity_seeds"], sampling=sampling,
                                record_every=10, backend="cuda")
        device, host = cuda_backend.run(spec), numba_backend.run(spec)
        same = {}
        for field in ("loss", "diverged_step", "w", "state"):
            a, b = np.asarray(getattr(device, field)), np.asarray(getattr(host, field))
            equal = (a.view(np.int64) == b.view(np.int64)) if a.dtype.kind == "f" else (a == b)
            per_run = equal.reshape(a.shape[0], a.shape[1], -1).all(axis=2)
            same[field] = int(per_run.sum())
        runs = spec.shape[0] * spec.shape[1]
        diff = float(np.nanmax(np.abs(np.where(np.isfinite(device.loss), device.loss, 0)
                                      - np.where(np.isfinite(host.loss), host.loss, 0))))
        out.append({"case": label, "sampling": sampling, "B": batch_size, "runs": runs,
                    "steps": n["identity_steps"], "identical_runs": same,
                    "bit_identical": all(v == runs for v in same.values()),
                    "max_abs_loss_difference": diff})
    return {"cases": out, "note": "dry run: the CUDA simulator against numba, the first two cases"
            if dry else ""}


def part_quadratic_gap(dry: bool, limit: float) -> dict:
    with tempfile.TemporaryDirectory() as out:
        if dry:
            args = ["--backend", "numpy", "--quick", "--seeds", "2"]
        else:
            args = ["--backend", "cuda", "--seeds", "10000"]
        command = [sys.executable, "-m", "experiments.quadratic_gap", *args, "--no-cache",
                   "--out", out]
        done = run_limited(command, limit - 5, environment(dry))
    return {"command": " ".join(command[1:-2]), **done,
            "note": "dry run: backend numpy, --quick --seeds 2 (the simulator "
                    "would take hours, numba's compiles minutes)" if dry else ""}


def part_lm(dry: bool, limit: float) -> dict:
    runs = []
    deadline = time.perf_counter() + limit - 5
    for name in (LM_EXPERIMENTS[:1] if dry else LM_EXPERIMENTS):
        with tempfile.TemporaryDirectory() as out:
            command = [sys.executable, "-m", f"experiments.{name}", "--quick", "--device",
                       "cpu" if dry else "cuda", "--no-cache", "--out", out]
            done = run_limited(command, deadline - time.perf_counter(), environment(dry))
        runs.append({"experiment": name, "command": " ".join(command[1:-2]), **done})
    return {"runs": runs, "note": "dry run: lm_gap only, --device cpu" if dry else ""}


PART_FUNCTIONS = {"tests": part_tests, "benchmark": part_benchmark, "identity": part_identity,
                  "quadratic_gap": part_quadratic_gap, "lm": part_lm}


# ------------------------------------------------------------------------------------------------
# Targets, tables, the driver
# ------------------------------------------------------------------------------------------------

def ok(result: dict, name: str) -> bool:
    """Whether a part ran to the end and its own checks passed."""
    if result.get("status") != "done":
        return False
    value = result["result"]
    if name == "tests":
        s = value["summary"]
        return value["returncode"] in (0, 5) and not s.get("failed") and not s.get("errors")
    if name == "identity":
        return all(c["bit_identical"] for c in value["cases"])
    if name == "quadratic_gap":
        return value["returncode"] == 0
    if name == "lm":
        return all(r["returncode"] == 0 for r in value["runs"])
    return True


def targets(parts: dict) -> list:
    """(target, value, verdict) of issue 19, computed from the benchmark part."""
    bench = parts.get("benchmark", {})
    rows = bench.get("result", {}).get("rows", []) if bench.get("status") == "done" else []
    toy1 = next((r for r in rows if r["label"] == "toy B=1"), None)
    out = []

    def verdict(value, goal):
        if value is None:
            return "not measured"
        return "met" if value >= goal else "not met"
    rate = toy1["cuda"]["rate"] if toy1 else None
    out.append(("toy B = 1, float64: ≥ 1e9 run-steps/s", rate, verdict(rate, TARGETS["rate"])))
    for other, key in (("torch", "vs_torch"), ("jax", "vs_jax")):
        ratio = None
        if toy1 and "rate" in toy1.get(other, {}):
            ratio = toy1["cuda"]["rate"] / toy1[other]["rate"]
        out.append((f"toy B = 1: ≥ {TARGETS[key]:g}× {other}", ratio,
                    verdict(ratio, TARGETS[key])))
    return out


def markdown(report: dict) -> str:
    lines = [f"# gpu_check ({'dry run, ' if report['dry_run'] else ''}{report['device']})", "",
             f"Started {report['started']}, {report['wall_s']:.0f} s in all.", "",
             "| part | status | wall s | limit s | checks | note |", "|---|---|---|---|---|---|"]
    for name in PARTS:
        p = report["parts"][name]
        note = p.get("result", {}).get("note", "") if isinstance(p.get("result"), dict) else ""
        lines.append(f"| {name} | {p['status']} | {p['wall_s']:.1f} | {p['limit_s']} | "
                     f"{'pass' if p['ok'] else 'FAIL'} | {note or p.get('error', '')} |")
    bench = report["parts"]["benchmark"]
    if bench["status"] == "done":
        lines += ["", "| case | runs × steps | simlab cuda run-steps/s (kernel; layout) | "
                  "with transfers | torch-cuda | jax | cuda / torch | cuda / jax |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in bench["result"]["rows"]:
            c = r["cuda"]

            def rate(key):
                e = r.get(key)
                if not e:
                    return "—"
                return f"{e['rate']:.3g}" if "rate" in e else f"n/a ({e.get('error', '')})"

            def ratio(key):
                e = r.get(key, {})
                return f"{c['rate'] / e['rate']:.1f}×" if "rate" in e else "—"
            lines.append(f"| {r['label']} | {r['runs']} × {r['steps']} | {c['rate']:.3g}; "
                         f"{c['layout']} | {c['rate_total']:.3g} | {rate('torch')} | "
                         f"{rate('jax')} | {ratio('torch')} | {ratio('jax')} |")
    ident = report["parts"]["identity"]
    if ident["status"] == "done":
        lines += ["", "| bit-identity vs numba (float64) | sampling | B | runs × steps | "
                  "identical runs (loss / w / state) | max abs loss difference |",
                  "|---|---|---|---|---|---|"]
        for c in ident["result"]["cases"]:
            s = c["identical_runs"]
            lines.append(f"| {c['case']} | {c['sampling']} | {c['B']} | {c['runs']} × "
                         f"{c['steps']} | {s['loss']} / {s['w']} / {s['state']} of {c['runs']} | "
                         f"{c['max_abs_loss_difference']:.3g} |")
    lines += ["", "| target (issue 19) | value | verdict |", "|---|---|---|"]
    for name, value, verdict in report["targets"]:
        shown = "—" if value is None else f"{value:.3g}"
        lines.append(f"| {name} | {shown} | {verdict} |")
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def run_part(name: str, dry: bool, limit: float, result_file: Path) -> int:
    result = PART_FUNCTIONS[name](dry, limit)
    write_atomically(result_file, json.dumps(result, default=float))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for gpu_check.json and gpu_check.md (default "
                             "results/gpu_check; --dry-run: a temporary folder)")
    parser.add_argument("--dry-run", action="store_true",
                        help="tiny sizes under numba's CUDA simulator, no GPU needed")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated subset of {','.join(PARTS)}")
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=float, default=60.0, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        return run_part(args.part, args.dry_run, args.limit, args.result)
    chosen = [p for p in args.parts.split(",") if p]
    bad = [p for p in chosen if p not in PARTS]
    if bad:
        print(f"gpu_check: --parts={args.parts!r} names {bad}; allowed: {', '.join(PARTS)}",
              file=sys.stderr)
        return 2
    limits = DRY_LIMITS if args.dry_run else LIMITS
    out = args.out or (Path(tempfile.mkdtemp(prefix="gpu_check_")) if args.dry_run
                       else ROOT / "results" / "gpu_check")
    out.mkdir(parents=True, exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    t0 = time.perf_counter()
    parts = {}
    for name in PARTS:
        if name not in chosen:
            parts[name] = {"status": "not run", "wall_s": 0.0, "limit_s": limits[name],
                           "ok": False}
            continue
        with tempfile.TemporaryDirectory() as tmp:
            result_file = Path(tmp, f"{name}.json")
            command = [sys.executable, str(Path(__file__).resolve()), "--part", name,
                       "--limit", str(limits[name]), "--result", str(result_file)]
            command += ["--dry-run"] if args.dry_run else []
            done = run_limited(command, limits[name], environment(args.dry_run))
            entry = {"wall_s": done["wall_s"], "limit_s": limits[name]}
            if done["returncode"] is None:
                entry.update(status="timed out", error=f"stopped after {limits[name]} s")
            elif done["returncode"] != 0 or not result_file.exists():
                entry.update(status="failed", error=done["tail"][-400:].replace("\n", " ⏎ "))
            else:
                entry.update(status="done", result=json.loads(result_file.read_text()))
        entry["ok"] = ok(entry, name)
        parts[name] = entry
        print(f"gpu_check: {name}: {entry['status']} in {entry['wall_s']:.1f} s "
              f"({'pass' if entry['ok'] else 'FAIL'})", flush=True)
    bench = parts["benchmark"].get("result", {})
    report = {"dry_run": args.dry_run, "started": started,
              "device": bench.get("device", "device unknown (benchmark not run)"),
              "wall_s": time.perf_counter() - t0, "parts": parts}
    report["targets"] = targets(parts)
    write_atomically(out / "gpu_check.json", json.dumps(report, indent=1, default=float))
    text = markdown(report)
    write_atomically(out / "gpu_check.md", text)
    print(text)
    print(f"gpu_check: wrote {out / 'gpu_check.json'} and {out / 'gpu_check.md'}")
    return 0 if all(parts[p]["ok"] for p in chosen) else 1


if __name__ == "__main__":
    sys.exit(main())
