"""Interrupted sweeps resume with only their unfinished cells; edited code invalidates the cache.

Real processes, real files: an experiment's CLI is killed with SIGKILL after k cells reached the
cache; the rerun computes exactly the missing ones and its results equal an uninterrupted run.
"""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xarray as xr

from experiments import quadratic_gap as qg


pytestmark = pytest.mark.slow          # kills and resumes real experiment runs

ROOT = Path(__file__).resolve().parents[1]
ARGS = ["--quick", "--backend", "numpy", "--seeds", "60"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _cells(cache: Path) -> set[str]:
    return {p.name.split(".")[0] for p in cache.glob("*.nc")}


def test_killed_run_resumes_with_exactly_the_missing_cells(tmp_path):
    out = tmp_path / "interrupted"
    cache = out / ".cache"
    proc = subprocess.Popen([sys.executable, "-m", "experiments.quadratic_gap", *ARGS,
                             "--out", str(out)], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while len(_cells(cache)) < 3:                       # k = 3 cells persisted: kill -9
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    done = _cells(cache)
    assert not (out / "quadratic_gap.nc").exists()      # it never got to the end
    assert 3 <= len(done) < 18, len(done)

    resumed = qg.EXPERIMENT.run(ARGS + ["--out", str(out)], progress=False)
    assert set(resumed.stats.reused) == done
    assert len(resumed.stats.computed) == 18 - len(done)
    assert set(resumed.stats.computed).isdisjoint(done)
    assert list(cache.glob(".*.tmp")) == []             # a write cut by the kill left nothing

    fresh = qg.EXPERIMENT.run(ARGS + ["--out", str(tmp_path / "uninterrupted")], progress=False)
    assert len(fresh.stats.computed) == 18
    xr.testing.assert_identical(resumed.dataset.drop_attrs(), fresh.dataset.drop_attrs())
    assert (out / "quadratic_gap.nc").read_bytes() == \
        (tmp_path / "uninterrupted" / "quadratic_gap.nc").read_bytes()


SWEEP_SCRIPT = """
import sys
from simlab import optim, problems
from simlab.cache import CellStore
from simlab.cells import CellStats
from simlab.sweep import Sweep

probs = {"het": problems.block_quadratic("heterogeneous", 0)}
sweep = Sweep(probs, {"sgd": optim.sgd(0.9), "adam": optim.adam(0.9, 0.99)}, [1e-3, 1e-2],
              [1, 3], 20, seeds=3, backend="numpy")
stats = CellStats()
sweep.run(store=CellStore(sys.argv[1]), stats=stats, progress=False)
print(len(stats.computed), len(stats.reused))
"""


def test_editing_simlab_source_invalidates_every_cell(tmp_path):
    """A copy of simlab runs a sweep twice (second: all reused); a one-line edit of its source
    (a comment) makes the third run recompute every cell; touching a file without editing it
    does not."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "simlab", copy / "simlab",
                    ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cells"
    env = {**os.environ, "PYTHONPATH": str(copy)}

    def run():
        proc = subprocess.run([sys.executable, "-c", SWEEP_SCRIPT, str(cache)], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return tuple(int(v) for v in proc.stdout.split())

    assert run() == (4, 0)
    assert run() == (0, 4)
    target = copy / "simlab" / "schedules.py"
    os.utime(target, None)                               # touched, same bytes: still valid
    assert run() == (0, 4)
    target.write_text(target.read_text() + "\n# an edit\n")
    assert run() == (4, 0)
