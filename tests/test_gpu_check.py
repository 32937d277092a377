"""``benchmarks/gpu_check.py``: the one command for a lent GPU, run here as ``--dry-run`` under the
CUDA simulator, and its target verdicts."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import simlab

ROOT = Path(simlab.__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _bench(cuda=None, torch=None, jax=None):
    row = {"label": "toy B=1", "cuda": {"rate": cuda}}
    if torch is not None:
        row["torch"] = {"rate": torch}
    if jax is not None:
        row["jax"] = {"rate": jax}
    return {"benchmark": {"status": "done", "result": {"rows": [row]}}}


@pytest.mark.parametrize("parts, verdicts", [
    (_bench(2e9, 1e7, 1e8), ["met", "met", "met"]),
    (_bench(5e8, 1e7, 1e8), ["not met", "not met", "not met"]),     # 50× torch, 5× jax
    (_bench(2e9), ["met", "not measured", "not measured"]),
    ({"benchmark": {"status": "timed out"}}, ["not measured"] * 3),
])
def test_targets_are_computed_from_the_benchmark(parts, verdicts):
    assert [v for _, _, v in _module().targets(parts)] == verdicts


def test_bad_parts_is_one_line_and_exit_2():
    done = subprocess.run([sys.executable, str(SCRIPT), "--parts", "tests,nope"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "nope" in done.stderr


def test_a_part_over_its_limit_is_stopped(monkeypatch):
    module = _module()
    done = module.run_limited([sys.executable, "-c", "import time; time.sleep(30)"], 1.0,
                              dict(os.environ))
    assert done["returncode"] is None and done["wall_s"] < 10


@pytest.mark.slow
def test_dry_run_runs_every_part(tmp_path):
    """The whole script under the CUDA simulator at tiny sizes: every part finishes and passes its
    own checks (the simulator's runs bit-identical to numba's), both files are written."""
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["dry_run"] is True
    for name, part in report["parts"].items():
        assert part["status"] == "done" and part["ok"], (name, part)
    assert report["parts"]["tests"]["result"]["summary"]["collected"] >= 1
    cases = report["parts"]["identity"]["result"]["cases"]
    assert len(cases) == 2 and all(c["bit_identical"] for c in cases)
    rows = report["parts"]["benchmark"]["result"]["rows"]
    assert [r["label"] for r in rows][:3] == ["toy B=1", "toy B=8", "toy B=64"]
    assert all(r["cuda"]["rate"] > 0 for r in rows)
    assert [t[2] for t in report["targets"]] == ["not met", "not measured", "not measured"]
    assert "| target (issue 19) |" in (tmp_path / "gpu_check.md").read_text()
