"""The four LM experiments run end to end at --quick size, redraw from their results file, and refuse
bad input with one line and exit code 2."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="simlab.lm needs the 'lm' extra (torch)")

EXPERIMENTS = ["lm_gap", "lm_surge", "lm_betas", "lm_bsi"]


@pytest.fixture(scope="module", autouse=True)
def token_cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SIMLAB_LM_CACHE", str(tmp_path_factory.mktemp("tokens")))
    yield
    mp.undo()


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_quick_run_and_cached_redraw(name, tmp_path, capsys):
    mod = importlib.import_module(f"experiments.{name}")
    assert mod.cli(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "AGREES" in out or "DISAGREES" in out or "CONSISTENT" in out   # a verdict is printed
    png, nc = tmp_path / f"{name}.png", tmp_path / f"{name}.nc"
    assert png.stat().st_size > 10_000 and nc.is_file()
    assert mod.cli(["--quick", "--out", str(tmp_path)]) == 0
    assert "(cached)" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--device", "tpu"], "device='tpu' is not one of 'cpu', 'cuda'"),
    (["--corpus", "homer"], "corpus='homer' is not one of"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    from experiments import lm_gap
    assert lm_gap.cli(["--quick", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())                  # refused before any work


def test_cli_usage_error_from_a_shell(tmp_path):
    res = subprocess.run([sys.executable, "-m", "experiments.lm_bsi", "--seeds", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "outside the allowed range" in res.stderr
