"""The numba backend's lockstep layout against its per-run layout: the same bits, run for run.

Table-driven over every optimizer of ``optim.FACTORIES`` × every registered example problem ×
sampling (with and without replacement, epochs, with replacement at B ≥ n: counted rows) ×
storage (float64, float32) — in CI a covering subset of that product (``_covering``: every value
of every factor), the whole product with ``SIMLAB_FULL_TABLES=1`` — each
case with a learning rate that diverges (lanes frozen mid-block) and a run count that is not a
multiple of the lanes (idle lanes in the last block), blocks mixing learning rates."""
from __future__ import annotations

import os
import platform
import re

import numba
import numpy as np
import pytest

import simlab
from simlab import optim, problems, schedules, sde
from simlab.backends import numba_backend
from simlab.backends import numba_layouts as nb
from simlab.backends import numba_lockstep
from simlab.problems.examples import curvature

PROBLEMS = {name: make() for name, make in problems.EXAMPLES.items()}
LANES = 4
SEEDS = 5              # 3 learning rates × 5 seeds = 15 runs: blocks of 4 lanes mix learning rates
DIVERGING = 1e3


def _lrs(problem, name):
    top = curvature(problem)
    if name == "sgd":
        good = [0.05 / top, 0.5 / top]
    elif name == "clipped_momentum":
        good = [0.005 / top, 0.05 / top]
    else:
        good = [1e-3, 1e-2]
    return [good[0], DIVERGING, good[1]]


def _samplings(problem):
    n = problem.n_samples
    if n is None:
        return [("with_replacement", 3)]
    return [("with_replacement", 3), ("with_replacement", 6),    # rows alone; a group of four
            ("without_replacement", 3), ("epoch", 2),
            ("with_replacement", n + 3)]                # B ≥ n: counted rows


FULL = [(kind, name, sampling, batch, dtype) for kind, problem in PROBLEMS.items()
        for name in optim.FACTORIES for sampling, batch in _samplings(problem)
        for dtype in ("float64", "float32")]


def _covering(full):
    """Every optimizer on the block quadratic (B = 3 with replacement, float64), every sampling
    with Adam on the block quadratic and each other problem with Adam at its last sampling (counted
    rows where it has data), float32 with Adam at B = 6 (a group of four rows gathered into the
    lane buffer of the storage dtype, then two single rows): each factor of the table in every value. The full product (≈ 240 cases, ≈ 6 s of kernel compiles
    each on a cold cache: ≈ 25 min) runs with SIMLAB_FULL_TABLES=1."""
    keep = []
    for kind, name, sampling, batch, dtype in full:
        if ((kind == "block_quadratic" and sampling == "with_replacement" and batch == 3
             and dtype == "float64")
                or (name == "adam" and dtype == "float64"
                    and (kind == "block_quadratic" or (sampling, batch) == _samplings(PROBLEMS[kind])[-1]))
                or (name == "adam" and kind == "block_quadratic" and sampling == "with_replacement"
                    and batch == 6 and dtype == "float32")):
            keep.append((kind, name, sampling, batch, dtype))
    return keep


CASES = FULL if os.environ.get("SIMLAB_FULL_TABLES") == "1" else _covering(FULL)


def _bits(raw):
    """Every output of a run as raw bits (NaN payloads and signed zeros count)."""
    return {"loss": raw.loss.view(np.int64), "diverged_step": raw.diverged_step,
            "w": raw.w.view(np.int64), "state": raw.state.view(np.int64)}


def _assert_same_bits(per_run, lockstep):
    want, got = _bits(per_run), _bits(lockstep)
    for field in want:
        assert want[field].shape == got[field].shape, field
        differ = int(np.sum(want[field] != got[field]))
        assert differ == 0, f"{field}: {differ} entries differ"


def _spec(problem, dynamics, lrs, batch, sampling, steps=30, seeds=SEEDS, **kwargs):
    return simlab.make_spec(problem, dynamics, lrs, batch, steps, seeds, sampling=sampling,
                            record_every=4, schedule=schedules.warmup_cosine(0.1, 0.05),
                            backend="numba", **kwargs)


@pytest.mark.slow          # a kernel compile or two per case (≈ 6 s each on a cold cache)
@pytest.mark.parametrize("problem_name,opt_name,sampling,batch,dtype", CASES)
def test_lockstep_bit_identical_to_per_run(problem_name, opt_name, sampling, batch, dtype):
    problem = PROBLEMS[problem_name]
    spec = _spec(problem, optim.FACTORIES[opt_name](), _lrs(problem, opt_name), batch, sampling)
    per_run = nb.run(spec, layout="per_run", dtype=dtype)
    assert (per_run.diverged_step[1] >= 0).all()            # the lr 1e3 lanes froze
    assert (per_run.diverged_step[[0, 2]] < 0).any()        # and others ran to the end
    assert not np.array_equal(per_run.loss[0, :, -1], per_run.loss[0, :, 0])   # they moved
    _assert_same_bits(per_run, nb.run(spec, layout="lockstep", lanes=LANES, dtype=dtype))
    for together in (True, False):          # the lane fast path (where it applies) on and off
        _assert_same_bits(per_run, numba_lockstep.run(spec, LANES, dtype, together=together))


@pytest.mark.parametrize("sampling,batch", [("with_replacement", 1), ("with_replacement", 7),
                                            ("without_replacement", 5)])
def test_lockstep_lane_gradients_short_rows(sampling, batch):
    """The data quadratic's lane gradients with d < 8 (one dot chain per row, as ``row_dot``)."""
    rng = np.random.default_rng(3)
    problem = problems.data_quadratic(rng.standard_normal((5, 9)), rng.standard_normal(5))
    spec = _spec(problem, optim.adam(), [1e-3, DIVERGING, 1e-2], batch, sampling)
    per_run = nb.run(spec, layout="per_run")
    assert (per_run.diverged_step[1] >= 0).all()
    _assert_same_bits(per_run, numba_lockstep.run(spec, LANES, together=True))


@pytest.mark.parametrize("problem_name", list(PROBLEMS))
def test_lockstep_microbatches(problem_name):
    """BSI-Adam with κ = 3 micro-batches: gsq is a lane column of its own."""
    problem = PROBLEMS[problem_name]
    spec = _spec(problem, optim.bsi_adam(), [1e-3, DIVERGING, 1e-2], 6, "with_replacement",
                 microbatch=2)
    _assert_same_bits(nb.run(spec, layout="per_run"), nb.run(spec, layout="lockstep", lanes=LANES))


def test_float32_is_float32_storage():
    """float32 changes the bits (and only at float32's precision) in both layouts alike."""
    problem = PROBLEMS["block_quadratic"]
    spec = _spec(problem, optim.adam(), [1e-3, 1e-2], 3, "with_replacement")
    double = nb.run(spec, layout="per_run")
    single = nb.run(spec, layout="per_run", dtype="float32")
    assert not np.array_equal(double.loss, single.loss)
    np.testing.assert_allclose(single.loss, double.loss, rtol=30 * 2.0 ** -23)
    assert np.all(single.w == single.w.astype(np.float32))
    with pytest.raises(ValueError, match="dtype='float16' is not one of"):
        nb.run(spec, dtype="float16")


@pytest.mark.parametrize("lanes", [1, 3, 16, 64])
def test_lockstep_any_lane_count(lanes):
    """One lane, lanes that do not divide the runs, more lanes than runs (one partial block)."""
    problem = PROBLEMS["block_quadratic"]
    spec = _spec(problem, optim.adam(), [1e-3, DIVERGING, 1e-2], 3, "with_replacement", seeds=7)
    _assert_same_bits(nb.run(spec, layout="per_run"), nb.run(spec, layout="lockstep", lanes=lanes))


def test_lockstep_sde_models():
    """Dynamics other than an optimizer step lane by lane through their own per-run step."""
    toy, nqm = PROBLEMS["block_quadratic"], PROBLEMS["nqm"]
    for problem, model in ((toy, sde.sgd_sde(toy, 3)),
                           (nqm, sde.adaptive_sde(nqm, "compagnoni", "adam", 3))):
        spec = simlab.make_spec(problem, model, [1e-3, 1e-2], None, 12, SEEDS, record_every=4,
                                backend="numba")
        _assert_same_bits(nb.run(spec, layout="per_run"),
                          nb.run(spec, layout="lockstep", lanes=LANES))


def test_lockstep_continuation_with_frozen_runs():
    """T1 steps, then T2 more from the state reached (runs frozen at T1 arrive frozen), in
    lockstep, is the per-run run of T1 + T2 steps."""
    problem = PROBLEMS["block_quadratic"]
    opt = optim.adam()
    lrs = [1e-3, DIVERGING, 1e-2]
    first = simlab.simulate(problem, opt, lrs, 3, 10, SEEDS, record_every=5, horizon=25,
                            backend="numba")
    assert first.diverged.values[1].all()
    spec = simlab.make_spec(problem, opt, lrs, 3, 15, SEEDS, record_every=5, init_state=first,
                            horizon=25, backend="numba")
    whole = simlab.make_spec(problem, opt, lrs, 3, 25, SEEDS, record_every=5, backend="numba")
    continued = nb.run(spec, layout="lockstep", lanes=LANES)
    reference = nb.run(whole, layout="per_run")
    np.testing.assert_array_equal(continued.w.view(np.int64), reference.w.view(np.int64))
    np.testing.assert_array_equal(continued.state.view(np.int64), reference.state.view(np.int64))
    np.testing.assert_array_equal(continued.diverged_step, reference.diverged_step)


def test_lockstep_thread_count_independence():
    problem = PROBLEMS["diagonal_net"]
    spec = _spec(problem, optim.adam(), [1e-3, 1e-2], 3, "without_replacement", seeds=21)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = nb.run(spec, layout="lockstep", lanes=LANES)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = nb.run(spec, layout="lockstep", lanes=LANES)
    finally:
        numba.set_num_threads(before)
    _assert_same_bits(one, two)


def test_auto_layout_choice(monkeypatch):
    toy = PROBLEMS["block_quadratic"]
    small = _spec(toy, optim.adam(), [1e-3, 1e-2], 3, "with_replacement", seeds=100)
    assert numba_lockstep.resolve_layout(small, "auto", None) == 1     # too few run-steps to pay
    monkeypatch.setattr(numba_lockstep, "AUTO_MIN_RUN_STEPS", 1)
    lanes = numba_lockstep.DEFAULT_LANES

    def auto(problem, dynamics=optim.adam(), batch=3, seeds=100, **kwargs):
        spec = _spec(problem, dynamics, [1e-3, 1e-2], batch, "with_replacement", seeds=seeds,
                     **kwargs)
        return numba_lockstep.resolve_layout(spec, "auto", None)

    def data(d):
        return problems.data_quadratic(np.random.default_rng(0).standard_normal((d, 64)),
                                       np.ones(d))
    assert auto(toy) == lanes                                  # d = 9, B = 3: in the region
    assert auto(toy, seeds=2) == 1                             # fewer runs than lanes
    assert auto(toy, optim.clipped_momentum()) == 1            # a quantile per run
    assert auto(toy, batch=toy.n_samples + 1) == 1             # counted rows: lane by lane
    assert auto(toy, optim.bsi_adam(), batch=4, microbatch=2) == 1   # micro-batches: lane by lane
    assert auto(toy, optim.with_global_norm_clipping(optim.adam(), 1.0)) == 1
    assert auto(PROBLEMS["gaussian_dense"]) == 1               # Gaussian noise: lane by lane
    assert auto(data(16), batch=1) == lanes and auto(data(16), batch=8) == 1
    assert auto(data(8), batch=40) == lanes and auto(data(12), batch=40) == 1
    assert auto(data(300), batch=1) == 1
    assert numba_lockstep.resolve_layout(small, "per_run", None) == 1
    assert numba_lockstep.resolve_layout(small, "lockstep", 8) == 8


def _region_table():
    """(case, d, B, {column: rate / per-run}, auto's choice) for each row of the shipped
    results/benchmarks/lockstep_region.md."""
    path = os.path.join(os.path.dirname(__file__), os.pardir, "results", "benchmarks",
                        "lockstep_region.md")
    with open(path, encoding="utf-8") as handle:
        lines = [line for line in handle if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip().strip("|").split("|")]
    rows = []
    for line in lines[1:]:
        cells = [cell.strip().strip("*") for cell in line.strip().strip("|").split("|")]
        d = int(re.search(r"d=(\d+)", cells[0]).group(1))
        ratios = {name.replace(" / per-run", ""): float(cell.rstrip("×"))
                  for name, cell in zip(header, cells) if name.endswith("/ per-run")}
        rows.append((cells[0], d, int(cells[1]), ratios, cells[header.index("auto's choice")]))
    return rows


def test_auto_region_is_the_measured_one():
    """``AUTO_REGION`` and ``rows_together`` agree with the shipped region table
    (benchmarks/lockstep_region.py): lockstep where its best variant beat per run by ≥ 5 %, per run
    where it lost by ≥ 5 % (closer is a tie either way); the lane fast path where it beat lane by
    lane gradients by ≥ 5 % at L = 32, not where it lost by ≥ 5 %."""
    rows = _region_table()
    assert len(rows) >= 20
    for case, d, batch, ratio, _ in rows:
        counted = batch >= int(re.search(r"N=(\d+)", case).group(1))     # B ≥ n: counted rows
        best = max(value for name, value in ratio.items() if name != "auto")
        if not counted and best >= 1.05:
            assert numba_lockstep.in_auto_region(d, batch), (case, batch, best)
        if best <= 0.95:
            assert not numba_lockstep.in_auto_region(d, batch) or counted, (case, batch, best)
        if not counted:
            gain = ratio["L=32 rows"] / ratio["L=32 each"]
            if gain >= 1.05:
                assert numba_lockstep.rows_together(d, batch), (case, batch, gain)
            if gain <= 0.95:
                assert not numba_lockstep.rows_together(d, batch), (case, batch, gain)


@pytest.mark.parametrize("layout,lanes,match", [
    ("lanes", None, "layout='lanes' is not one of"),
    ("lockstep", 0, r"lanes=0 is outside the allowed range \[1, 1024\]"),
    ("lockstep", 2.5, r"lanes=2.5 must be an integer"),
    ("per_run", 8, "lanes=8 applies to layout='lockstep' only"),
])
def test_bad_layout_is_a_clear_error(layout, lanes, match):
    spec = _spec(PROBLEMS["block_quadratic"], optim.sgd(), [1e-3], 3, "with_replacement")
    with pytest.raises(ValueError, match=match):
        nb.run(spec, layout=layout, lanes=lanes)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 assembly")
def test_lane_loop_is_vectorized():
    """The chain's √ and ÷ run as packed vector instructions over the lanes (Adam on the toy)."""
    spec = _spec(PROBLEMS["block_quadratic"], optim.adam(), [1e-3], 3, "with_replacement")
    nb.run(spec, layout="lockstep", lanes=LANES)                 # types the cached kernel
    fresh = numba.njit(numba_lockstep.simulate_lanes.py_func, nogil=True, **numba_backend.JIT)
    signature = next(sig for sig in numba_lockstep.simulate_lanes.signatures
                     if "ScaleByAdam" in str(sig) and "QuadraticData" in str(sig))
    fresh.compile(signature)
    asm = fresh.inspect_asm(signature)
    assert re.search(r"\bv?sqrtpd\b", asm) and re.search(r"\bv?divpd\b", asm)


def test_benchmark_target_lines(capsys):
    """benchmarks/simulate.py's issue-21 lines say "met" only where auto / per-run reaches the
    target at every thread count, and name a per-run choice as such."""
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), os.pardir, "benchmarks", "simulate.py")
    spec = importlib.util.spec_from_file_location("bench_simulate", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    def case(label, lanes, auto_ratios):
        rate = {}
        for threads, ratio in zip((1, 2), auto_ratios):
            rate[threads] = {"per-run": 1.0, "auto": ratio, "L=32": ratio, "L=32 each": 0.9,
                             "L=32 rows": ratio}
        return {"label": label, "auto lanes": lanes, "rate": rate}
    bench.targets([case("(a) toy B=1", 32, (2.1, 1.99)), case("(a) toy B=8", 32, (1.3, 1.25)),
                   case("(a) toy B=64", 1, (1.0, 1.0))], [32], [1, 2])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].endswith("— not met") and "1.99× (2 thr)" in lines[1]
    assert lines[2].endswith("— met")
    assert "auto runs per run" in lines[3] and "1.00× (1 thr)" in lines[3]
