"""Sweeps and experiments on a real Dask cluster (LocalCluster in this process, bound to
127.0.0.1): results identical to a serial run, cells saved as they complete, stored ones reused."""
import concurrent.futures

import pytest
import xarray as xr

from experiments import c_total, quadratic_gap as qg
from simlab import optim, problems, schedules
from simlab.cache import CellStore
from simlab.cells import CellStats
from simlab.sweep import Sweep

distributed = pytest.importorskip("distributed", reason="needs simlab[dist] (dask.distributed)")


pytestmark = pytest.mark.slow          # real Dask clusters


@pytest.fixture(scope="module")
def client():
    # tcp on 127.0.0.1: the default host lookup (and the in-process transport's) touches a
    # public address to find this machine's interface
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  host="127.0.0.1", protocol="tcp", dashboard_address="127.0.0.1:0",
                                  silence_logs=40) as cluster, distributed.Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def sweep():
    probs = {k: problems.block_quadratic(k, 0) for k in ("homogeneous", "heterogeneous")}
    opts = {"sgd": optim.sgd(0.9, ema=True), "signum": optim.signum(0.9),
            "adam": optim.adam(0.9, 0.9, 1e-8, False)}
    return Sweep(probs, opts, [1e-3, 1e-2], [1, 3, 9], 60, seeds=4,
                 schedule=schedules.warmup_cosine(0.1), record_every=10, backend="numba")


def test_sweep_on_dask_is_identical_to_serial_and_resumes(client, sweep, tmp_path):
    serial = sweep.run(progress=False)
    stats = CellStats()
    store = CellStore(tmp_path)
    on_dask = sweep.run(executor=client, store=store, progress=False, stats=stats)
    xr.testing.assert_identical(on_dask, serial)
    assert len(stats.computed) == 18 and len(set(stats.computed)) == 18
    assert len(list(tmp_path.glob("*.nc"))) == 18
    again = CellStats()
    xr.testing.assert_identical(sweep.run(executor=client, store=store, progress=False,
                                          stats=again), serial)
    assert again.computed == [] and len(again.reused) == 18


def test_thread_pool_executor_gives_the_same_result(sweep):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        xr.testing.assert_identical(sweep.run(executor=pool, progress=False),
                                    sweep.run(progress=False))


def test_experiment_on_dask_equals_serial(client, tmp_path):
    argv = ["--quick", "--backend", "numpy"]
    on_dask = qg.EXPERIMENT.run(argv + ["--out", str(tmp_path / "dask")], executor=client,
                                progress=False)
    serial = qg.EXPERIMENT.run(argv + ["--out", str(tmp_path / "serial")], progress=False)
    assert len(on_dask.stats.computed) == len(serial.stats.computed) == 18
    assert (tmp_path / "dask" / "quadratic_gap.nc").read_bytes() == \
        (tmp_path / "serial" / "quadratic_gap.nc").read_bytes()


def test_theory_cells_of_an_experiment_run_on_dask(client, tmp_path):
    result = c_total.EXPERIMENT.run(["--quick", "--out", str(tmp_path)], executor=client,
                                    progress=False)
    assert len(result.stats.computed) == 8
    assert float(result.dataset["threshold_value"][0]) == pytest.approx(0.508187, abs=1e-6)


SCRIPT_SWEEP = dict(lrs=[1e-3], batch_sizes=[1, 3], steps=10, seeds=2)


def test_a_worker_running_other_source_code_is_refused(tmp_path):
    """A worker process importing an edited copy of simlab (a comment added) must not have its
    results stored under this checkout's keys."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    copy = tmp_path / "other"
    shutil.copytree(root / "simlab", copy / "simlab", ignore=shutil.ignore_patterns("__pycache__"))
    edited = copy / "simlab" / "schedules.py"
    edited.write_text(edited.read_text() + "\n# edited on the worker\n")
    preload = tmp_path / "use_the_copy.py"               # runs in the worker at start-up
    preload.write_text(f"import sys\nsys.path.insert(0, {str(copy)!r})\n"
                       "for m in [m for m in sys.modules if m.split('.')[0] == 'simlab']:\n"
                       "    del sys.modules[m]\n")
    sweep = Sweep({"het": problems.block_quadratic("heterogeneous", 0)},
                  {"sgd": optim.sgd()}, **SCRIPT_SWEEP)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=40,
                                  preload=[str(preload)]) as cluster, \
            distributed.Client(cluster) as other:
        import simlab
        assert other.run(lambda: __import__("simlab").__file__).popitem()[1] != simlab.__file__
        with pytest.raises(RuntimeError, match="different source code"):
            sweep.run(executor=other, store=CellStore(tmp_path / "cells"), progress=False)
    assert list((tmp_path / "cells").glob("*.nc")) == []


ROGUE_PRELOAD = """
import os
import simlab.cells


class RunsInTheClient:
    # unpickling this in the client calls os.mkdir: a worker's reply can run code there
    def __reduce__(self):
        return (os.mkdir, ({marker!r},))


def rogue_call(function, cell):
    return RunsInTheClient(), "0" * 64


simlab.cells.remote_call = rogue_call
"""


def _other_checkout_preload(tmp_path):
    """A worker preload that imports an edited copy of simlab (a comment added to every module a
    theory cell can reach), as a worker installed from another checkout would."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    copy = tmp_path / "other"
    shutil.copytree(root / "simlab", copy / "simlab", ignore=shutil.ignore_patterns("__pycache__"))
    for edited in (copy / "simlab").rglob("*.py"):
        edited.write_text(edited.read_text() + "\n# edited on the worker\n")
    preload = tmp_path / "use_the_copy.py"
    preload.write_text(f"import sys\nsys.path.insert(0, {str(copy)!r})\n"
                       "for m in [m for m in sys.modules if m.split('.')[0] == 'simlab']:\n"
                       "    del sys.modules[m]\n")
    return preload


@pytest.mark.parametrize("worker", ["other_checkout", "rogue"])
def test_an_incompatible_or_rogue_worker_ends_the_run_with_one_line(worker, tmp_path, capsys):
    """A worker running other code, or one whose reply is not what simlab sent it to compute,
    ends the CLI run with one line and exit code 2 and stores nothing. The rogue reply also shows
    why docs/harness.md says the cluster must be trusted: it ran code in this process (made a
    folder) before simlab could check it."""
    marker = tmp_path / "made_by_the_worker"
    if worker == "rogue":
        preload = tmp_path / "rogue.py"
        preload.write_text(ROGUE_PRELOAD.replace("{marker!r}", repr(str(marker))))
    else:
        preload = _other_checkout_preload(tmp_path)
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                  silence_logs=50, preload=[str(preload)]) as cluster:
        code = c_total.main(["--quick", "--scheduler", cluster.scheduler_address,
                             "--out", str(out)])
    stderr = capsys.readouterr().err                      # the progress line, then the error
    errors = [line for line in stderr.replace("\r", "\n").splitlines() if " error: " in line]
    assert code == 2 and len(errors) == 1 and "Traceback" not in stderr, stderr
    err = errors[0]
    assert err.startswith("python -m experiments.c_total: error: scheduler='tcp://127.0.0.1:")
    assert "the run on the Dask cluster failed" in err
    if worker == "rogue":
        assert marker.is_dir()
    else:
        assert "different source code" in err
    assert list((out / ".cache").glob("*.nc")) == []
    assert not (out / "c_total.nc").exists()
