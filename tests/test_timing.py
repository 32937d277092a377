"""What a run cost is recorded by the run (``experiments._timing``), beside its results, and the
docs' ``timing:`` block is generated from those records."""
import json
from pathlib import Path

import pytest
import xarray as xr

from experiments import _timing
from experiments._harness import Experiment
from experiments.verdicts import render_readme


def square_cell(x: int) -> xr.Dataset:
    return xr.Dataset({"y": ((), float(x * x))})


def _compute(config, cells):
    values = cells.map(square_cell, list(range(config["n"])), label="squares")
    return xr.Dataset({"y": ("x", [float(v.y) for v in values])})


TINY = Experiment(name="tiny_timing", description="three squares",
                  resolve=lambda args: {"n": 3}, compute=_compute,
                  report=lambda ds: f"sum {float(ds.y.sum())}", plot=lambda ds, out: [],
                  headline=lambda ds: "")


def test_a_full_run_records_its_cost_and_a_cached_rerun_keeps_that_record(tmp_path, capsys):
    TINY.run(["--out", str(tmp_path)], progress=False)
    path = tmp_path / "timing" / "tiny_timing.json"
    first = json.loads(path.read_text())
    assert (first["cells_computed"], first["cells_reused"]) == (3, 0)
    assert first["wall_s"] >= first["compute_s"] >= 0
    assert first["cores"] >= 1 and first["started_utc"].startswith("20") and first["cpu_s"] >= 0
    TINY.run(["--out", str(tmp_path)], progress=False)          # every cell from the cache
    assert json.loads(path.read_text()) == first


def test_a_quick_run_records_nothing(tmp_path):
    TINY.run(["--quick", "--out", str(tmp_path)], progress=False)
    assert not (tmp_path / "timing").exists()


def test_the_timing_block_is_generated_from_the_records(tmp_path):
    (tmp_path / "results" / "timing").mkdir(parents=True)
    record = {"experiment_stem": "c_total", "wall_s": 90.0, "compute_s": 60.0, "cells_computed": 10,
              "cells_reused": 0, "jobs": 2, "cores": 2, "load_start": 0.1, "load_end": 2.0,
              "started_utc": "2026-12-06 03:00", "machine": "x86_64"}
    (tmp_path / "results" / "timing" / "c_total.json").write_text(json.dumps(record))
    page = "a\n<!-- generated:timing:c_total,surge -->\nstale\n<!-- /generated:timing:c_total,surge -->\n"
    text = render_readme(page, [], tmp_path)
    assert "| `c_total` | 10 (0) | 1.5 min | 1.0 min | – | 2 | 0.1 → 2.0 |" in text
    assert "| `surge` | not recorded |" in text
    assert "lower bound" in text                                 # surge's run is missing
    assert "stale" not in text


def test_the_cpu_seconds_are_the_runs_own_when_a_process_runs_several(tmp_path):
    """experiments.all runs the experiments one after the other in one process: each record holds
    the CPU seconds of its own run, not the process's since it started."""
    from experiments import _timing
    start = _timing.cpu_seconds()
    while _timing.cpu_seconds() - start < 1.0:        # CPU this process spends before the run
        sum(range(10000))
    TINY.run(["--out", str(tmp_path)], progress=False)
    record = json.loads((tmp_path / "timing" / "tiny_timing.json").read_text())
    assert 0 <= record["cpu_s"] < 1.0, record


def test_a_file_block_shows_what_a_script_wrote_under_results(tmp_path):
    (tmp_path / "results" / "benchmarks").mkdir(parents=True)
    (tmp_path / "results" / "benchmarks" / "b.md").write_text("| a |\n|---|\n| 1 |\n")
    name = "file:results/benchmarks/b.md"
    page = f"x\n<!-- generated:{name} -->\nstale\n<!-- /generated:{name} -->\n"
    assert "| 1 |" in render_readme(page, [], tmp_path) and "stale" not in render_readme(page, [], tmp_path)
    outside = "file:README.md"
    with pytest.raises(ValueError, match="under results/"):
        render_readme(f"<!-- generated:{outside} -->\n<!-- /generated:{outside} -->\n", [], tmp_path)
