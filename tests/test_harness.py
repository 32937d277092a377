"""The experiment harness and its CLI: real defaults in --help, only honoured flags, --quick in a
scratch folder, output checks before any work, one-line errors with exit code 2, reports read from
the results file, and ``python -m experiments.all``."""
import argparse
import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments import _cli
from experiments import all as run_all
from experiments._harness import REPO_FIGURES, out_folder
from simlab.backends import BACKENDS
from simlab.cache import load_dataset

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("quadratic_gap", "surge", "c_total", "sde", "bsi_adam", "gap_knobs", "surge_target",
         "implicit_bias", "sgdm_regularizer")
EXPERIMENTS = {name: importlib.import_module(f"experiments.{name}").EXPERIMENT for name in NAMES}


def _one_line_exit_2(capsys, call):
    try:
        code = call()
    except SystemExit as exc:                   # argparse's own usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("name", NAMES)
def test_help_states_the_defaults_that_are_used(name, capsys):
    experiment = EXPERIMENTS[name]
    with pytest.raises(SystemExit):
        experiment.main(["--help"])
    text = " ".join(capsys.readouterr().out.split()).split(" options: ")[-1]
    full, quick = experiment.parse([]), experiment.parse(["--quick"])
    if experiment.seeds is None:
        assert "--seeds" not in text
    else:
        match = re.search(r"--seeds N runs per configuration \(default (\d+); --quick: (\d+)\)", text)
        assert match and (int(match[1]), int(match[2])) == (full.seeds, quick.seeds)
    if experiment.backend is None:
        assert "--backend" not in text
    else:
        match = re.search(r"simulation backend \(default: (\w+)\)", text)
        assert match and match[1] == full.backend
        assert "{" + ",".join(BACKENDS) + "}" in text           # choices from simlab.backends
    assert full.out == Path("figures") and quick.out == Path("figures/_quick")
    assert full.cache_dir == Path("figures/.cache")
    assert full.results == Path("results") and quick.results == Path("figures/_quick")


def test_surge_defaults_to_the_numpy_backend_and_says_so(capsys):
    assert EXPERIMENTS["surge"].parse([]).backend == "numpy"
    with pytest.raises(SystemExit):
        EXPERIMENTS["surge"].main(["--help"])
    assert "(default: numpy)" in capsys.readouterr().out


@pytest.mark.parametrize("flag", [["--seeds", "3"], ["--backend", "numpy"]])
def test_c_total_offers_no_flag_it_would_ignore(flag, capsys):
    err = _one_line_exit_2(capsys, lambda: EXPERIMENTS["c_total"].main(flag))
    assert "unrecognized arguments" in err and flag[0] in err


@pytest.mark.parametrize("name", [n for n in NAMES if EXPERIMENTS[n].seeds is not None])
def test_quick_honours_an_explicit_seed_count(name):
    experiment = EXPERIMENTS[name]
    config = experiment.resolve(experiment.parse(["--quick", "--seeds", "7"]))
    assert 7 in (config.get("seeds"), config.get("runs"))
    default = experiment.resolve(experiment.parse(["--quick"]))
    assert experiment.seeds[1] in (default.get("seeds"), default.get("runs"))


@pytest.mark.parametrize("out", [REPO_FIGURES, REPO_FIGURES / ".." / "figures"])
def test_quick_refuses_the_committed_figures_folder(out, capsys):
    with pytest.raises(ValueError, match=r"holds the committed full-run figures"):
        out_folder(out, quick=True)
    assert out_folder(out, quick=False) == out                  # a full run writes there
    err = _one_line_exit_2(capsys, lambda: EXPERIMENTS["c_total"].main(
        ["--quick", "--out", str(out)]))
    assert "committed full-run figures" in err and "figures/_quick" in err


def test_unwritable_out_fails_in_one_line_before_any_work(tmp_path, capsys):
    (tmp_path / "a_file").write_text("not a folder")
    cells = tmp_path / "cells"
    err = _one_line_exit_2(capsys, lambda: EXPERIMENTS["c_total"].main(
        ["--quick", "--out", str(tmp_path / "a_file" / "out"), "--cache-dir", str(cells)]))
    assert "out=" in err and "is not writable" in err
    assert not cells.exists()                                   # nothing was computed


def test_unwritable_cache_dir_fails_in_one_line_before_any_work(tmp_path, capsys):
    (tmp_path / "a_file").write_text("not a folder")
    out = tmp_path / "out"
    err = _one_line_exit_2(capsys, lambda: EXPERIMENTS["c_total"].main(
        ["--quick", "--out", str(out), "--cache-dir", str(tmp_path / "a_file" / "cells")]))
    assert "cache_dir=" in err and "is not writable" in err
    assert list(out.glob("*.nc")) == []


def test_scheduler_and_workers_exclude_each_other(tmp_path, capsys):
    err = _one_line_exit_2(capsys, lambda: EXPERIMENTS["c_total"].main(
        ["--quick", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]))
    assert "exclude each other" in err


def test_unreachable_scheduler_is_one_line(tmp_path, capsys):
    pytest.importorskip("distributed")
    err = _one_line_exit_2(capsys, lambda: EXPERIMENTS["c_total"].main(
        ["--quick", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"]))
    assert "scheduler='tcp://127.0.0.1:1' cannot be reached" in err
    assert list(tmp_path.glob("*.nc")) == []


def test_sde_on_a_backend_without_its_device_is_one_line_and_computes_nothing(tmp_path):
    """``--backend cuda`` on a machine without a GPU: one line naming what to install, exit 2,
    no cell computed (the backend is never silently replaced by another)."""
    import os
    import subprocess
    import sys
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}
    proc = subprocess.run([sys.executable, "-m", "experiments.sde", "--quick", "--backend", "cuda",
                           "--out", str(tmp_path)], capture_output=True, text=True, env=env,
                          cwd=Path(__file__).resolve().parents[1], timeout=300)
    try:
        import numba.cuda as nbcuda
        from simlab.backends.cuda_backend import simulator
        # in-process numba.cuda is the simulator once tests/test_cuda.py has been imported
        if nbcuda.is_available() and not simulator():
            pytest.skip("this machine has a CUDA device")
    except ImportError:
        pass
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "backend='cuda'" in lines[0] and "pip install" in lines[0]
    assert list(tmp_path.rglob("*.nc")) == []


def test_surge_cache_hit_recomputes_nothing_and_prints_only_stored_numbers(tmp_path, capsys):
    argv = ["--quick", "--seeds", "8", "--out", str(tmp_path)]
    first = EXPERIMENTS["surge"].run(argv, progress=False)
    assert first.stats.reused == [] and len(first.stats.computed) == 24
    mtime = (tmp_path / "surge.nc").stat().st_mtime_ns
    capsys.readouterr()
    second = EXPERIMENTS["surge"].run(argv, progress=False)
    printed = capsys.readouterr().out
    assert second.stats.computed == [] and len(second.stats.reused) == 24
    assert (tmp_path / "surge.nc").stat().st_mtime_ns == mtime
    from_file = EXPERIMENTS["surge"].report(load_dataset(tmp_path / "surge.nc"))
    assert from_file in printed and "TRADE-OFF" in from_file


def test_experiments_all_prints_one_table_and_reuses_cells(tmp_path, capsys):
    argv = ["--quick", "--only", "c_total", "bsi_adam", "--out", str(tmp_path)]
    assert run_all.main(argv) == 0
    cold = capsys.readouterr().out.split("experiment ")[-1]
    assert re.search(r"c_total\s+8\s+0\s", cold) and re.search(r"bsi_adam\s+30\s+0\s", cold)
    assert run_all.main(argv) == 0
    warm = capsys.readouterr().out.split("experiment ")[-1]
    assert re.search(r"c_total\s+0\s+8\s", warm) and re.search(r"total\s+0\s+38\s", warm)
    assert "App. A.1 max rel. err" in warm and "BSI slopes" in warm
    from PIL import Image
    for png in tmp_path.glob("*.png"):                          # readable figures
        dpi = Image.open(png).info["dpi"][0]
        assert dpi >= 120 and png.stat().st_size < 400_000, (png, dpi)


def test_experiments_all_bad_flag_is_exit_2(capsys):
    err = _one_line_exit_2(capsys, lambda: run_all.main(["--only", "nope"]))
    assert "--only" in err


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs a git checkout")
def test_quick_run_leaves_git_status_clean():
    def status():
        return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout

    before = status()
    proc = subprocess.run([sys.executable, "-m", "experiments.all", "--quick", "--only",
                           "c_total", "bsi_adam"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (ROOT / "figures" / "_quick" / "c_total.png").is_file()
    assert status() == before


# --- properties ------------------------------------------------------------------------------

@given(st.lists(st.one_of(st.integers(1, 50), st.tuples(st.integers(1, 20), st.integers(0, 5))),
                min_size=1, max_size=6))
def test_int_list_parses_lists_and_ranges(items):
    text = ",".join(str(i) if isinstance(i, int) else f"{i[0]}-{i[0] + i[1]}" for i in items)
    expected = []
    for i in items:
        expected += [i] if isinstance(i, int) else list(range(i[0], i[0] + i[1] + 1))
    assert _cli.int_list(text) == expected


@given(st.text(max_size=12))
def test_int_list_either_parses_or_says_why(text):
    try:
        values = _cli.int_list(text)
    except argparse.ArgumentTypeError:
        return
    assert values and all(isinstance(v, int) and v >= 1 for v in values)


FLAG_WORDS = st.sampled_from(["--quick", "--seeds", "--backend", "--out", "--no-cache",
                              "--workers", "--protocol", "--batch-sizes", "--hessian-seed",
                              "0", "3", "-1", "1,3", "1-9", "numpy", "fortran", "paper",
                              "x", "", "/tmp/simlab-x"])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(NAMES), st.lists(FLAG_WORDS, max_size=6))
def test_any_argv_parses_or_exits_2_with_one_line(name, argv):
    experiment = EXPERIMENTS[name]
    import contextlib
    import io
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            args = experiment.parse(argv)
            experiment.resolve(args)
    except SystemExit as exc:
        assert exc.code == 2 and err.getvalue().count("\n") == 1, err.getvalue()
    except ValueError as exc:
        assert str(exc) and "\n" not in str(exc).splitlines()[0]


def test_surge_needs_two_seeds_for_its_standard_errors(tmp_path, capsys):
    err = _one_line_exit_2(capsys, lambda: EXPERIMENTS["surge"].main(
        ["--quick", "--seeds", "1", "--out", str(tmp_path)]))
    assert "seeds=1 is outside the allowed range [2, " in err
    assert not (tmp_path / ".cache").exists()
