"""The four LM experiments on the experiment harness: each --quick run works end to end and a rerun
is a pure cache hit (0 cells computed); report and plot read only the results file; an interrupted
run resumes with only its unfinished cells; a cell's key separates devices, thread counts and tiers;
``--help`` states the real defaults; bad input is one line and exit code 2; ``experiments.all``
lists the LM rows, and skips them without torch."""
from __future__ import annotations

import contextlib
import importlib
import io
import re
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="simlab.lm needs the 'lm' extra (torch)")

from experiments import all as run_all  # noqa: E402
from experiments._harness import REPO_FIGURES  # noqa: E402
from simlab.cache import load_dataset  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = ["lm_gap", "lm_surge", "lm_betas", "lm_bsi"]
MODULES = {name: importlib.import_module(f"experiments.{name}") for name in EXPERIMENTS}


pytestmark = pytest.mark.usefixtures("lm_token_cache")   # tests/conftest.py


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """name → (out folder, printed output, RunResult) of one cold --quick run, made once."""
    done = {}

    def run(name):
        if name not in done:
            out = tmp_path_factory.mktemp(name)
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                result = MODULES[name].EXPERIMENT.run(["--quick", "--out", str(out)], progress=False)
            done[name] = (out, printed.getvalue(), result)
        return done[name]
    return run


@pytest.mark.parametrize("name", EXPERIMENTS)
@pytest.mark.slow
def test_quick_run_then_a_pure_cache_hit(name, quick, capsys):
    """The rerun computes 0 cells, prints the report of the stored file and redraws the figure from
    it — byte for byte, even after another experiment's style changed rcParams (experiments.all)."""
    import matplotlib

    from simlab import plotting
    out, printed, first = quick(name)
    claim_lines = [line for line in printed.splitlines() if line.startswith("lm.")]
    assert claim_lines and all(": smoke:" in line for line in claim_lines)   # verdicts via decide
    assert not re.search(r"AGREES|DISAGREES|CONSISTENT|: (holds|fails|depends|outside)\b", printed)
    assert first.dataset.attrs["bigram_xent"] < first.dataset.attrs["unigram_xent"]
    table = MODULES[name].summary_table(first.dataset)          # docs/lm.md's generated table
    assert f"{first.dataset.attrs['bigram_xent']:.3f}" in table and table.count("\n|") >= 2
    png, nc = out / f"{name}.png", out / f"{name}.nc"
    assert png.stat().st_size > 10_000 and nc.is_file()
    assert png.stat().st_mode & 0o777 == 0o644
    drawn = png.read_bytes()
    stored = len(list((out / ".cache").glob("*.nc")))
    assert first.stats.reused == [] and len(first.stats.computed) == stored > 0
    mtime = nc.stat().st_mtime_ns

    png.unlink()
    with matplotlib.rc_context():
        plotting.style()
        assert MODULES[name].main(["--quick", "--out", str(out)]) == 0
    again = capsys.readouterr().out
    assert "(cached)" in again and f"all {stored} cells loaded from cache" in again and " 0 computed" in again
    assert nc.stat().st_mtime_ns == mtime                       # nothing new to write
    assert MODULES[name].EXPERIMENT.report(load_dataset(nc)) in again   # printed from the file
    assert png.read_bytes() == drawn


@pytest.mark.slow
def test_interrupted_run_resumes_with_only_its_unfinished_cells(quick, tmp_path, monkeypatch):
    """Ctrl-C in the 3rd training run of lm_bsi --quick: the 2 finished runs are in the cache, the
    rerun computes exactly the other 2 runs and the 2 Theorem 1 rows, and its results file equals
    an uninterrupted run's byte for byte."""
    from experiments import _lm_cells, lm_bsi
    real, calls = _lm_cells.train, []

    def interrupted(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_lm_cells, "train", interrupted)
    argv = ["--quick", "--out", str(tmp_path)]
    with pytest.raises(KeyboardInterrupt):
        lm_bsi.EXPERIMENT.run(argv, progress=False)
    done = {p.name.split(".")[0] for p in (tmp_path / ".cache").glob("*.nc")}
    assert len(done) == 2 and not (tmp_path / "lm_bsi.nc").exists()

    monkeypatch.setattr(_lm_cells, "train", real)
    with contextlib.redirect_stdout(io.StringIO()):
        resumed = lm_bsi.EXPERIMENT.run(argv, progress=False)
    assert set(resumed.stats.reused) == done
    assert len(resumed.stats.computed) == 4 and set(resumed.stats.computed).isdisjoint(done)
    reference, _, fresh = quick("lm_bsi")
    assert len(fresh.stats.computed) == 6
    assert (tmp_path / "lm_bsi.nc").read_bytes() == (reference / "lm_bsi.nc").read_bytes()


@pytest.mark.slow
def test_worker_processes_give_the_serial_results_bit_for_bit(quick, tmp_path, monkeypatch):
    """lm_gap --quick with --jobs 2: its cells run in 2 spawned worker processes (the training
    function is broken in this process, so a cell computed here would fail), and the results file
    equals the serial run's byte for byte."""
    from experiments import _lm_cells, lm_gap
    serial, _, first = quick("lm_gap")

    def not_here(*args, **kwargs):
        raise AssertionError("a cell ran in the parent process")

    monkeypatch.setattr(_lm_cells, "train", not_here)
    with contextlib.redirect_stdout(io.StringIO()):
        spread = lm_gap.EXPERIMENT.run(["--quick", "--jobs", "2", "--out", str(tmp_path)], progress=False)
    assert len(spread.stats.computed) == len(first.stats.computed) > 2 and not spread.stats.reused
    assert "jobs" not in spread.config                      # how the work was spread is not a result
    assert (tmp_path / "lm_gap.nc").read_bytes() == (serial / "lm_gap.nc").read_bytes()


def _flip(path, positions=(0, 1_000_003, 4_000_000)):
    raw = bytearray(path.read_bytes())
    for i in positions:
        raw[i] ^= 0xFF
    path.write_bytes(bytes(raw))


@pytest.mark.slow
def test_a_corrupted_token_file_never_gives_wrong_numbers(quick, tmp_path, monkeypatch, capsys):
    """Bytes flipped in the token file (same size): the run rebuilds it and gives the clean run's
    results byte for byte; with the package's text altered as well, it stops with the one-line
    CorpusError before any work (no results, no cached cell); once the package is repaired, the
    rerun gives the clean results again — nothing wrong was cached."""
    from experiments import lm_gap
    from simlab.lm import data
    clean = (quick("lm_gap")[0] / "lm_gap.nc").read_bytes()
    path = data.token_file("bible")
    good = path.read_bytes()

    _flip(path)
    assert lm_gap.main(["--quick", "--out", str(tmp_path / "a")]) == 0
    assert path.read_bytes() == good
    assert (tmp_path / "a" / "lm_gap.nc").read_bytes() == clean
    capsys.readouterr()

    _flip(path)
    real = data._build
    monkeypatch.setattr(data, "_build", lambda corpus: real(corpus).replace(b"God", b"Dog", 1))
    assert lm_gap.main(["--quick", "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sha256" in err and "differs from the pinned" in err
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").rglob("*.nc"))

    monkeypatch.setattr(data, "_build", real)
    assert lm_gap.main(["--quick", "--out", str(tmp_path / "b")]) == 0
    assert path.read_bytes() == good
    assert (tmp_path / "b" / "lm_gap.nc").read_bytes() == clean


def test_a_cell_key_names_device_threads_and_tier(monkeypatch):
    """The same run requested on cuda, with 2 threads or at another tier has other keys, so a GPU
    cell is never served for a CPU request."""
    from experiments import _lm_cells, lm_gap
    from simlab.cache import CellStore
    store = CellStore("unused")

    def keys(argv):
        config = lm_gap.resolve(lm_gap.EXPERIMENT.parse(argv))
        specs = [spec for _, spec in lm_gap.runs(config)]
        return config, {store.key(_lm_cells.train_cell, spec) for spec in specs}, specs

    threads = torch.get_num_threads()
    try:
        config, cpu, specs = keys(["--quick"])
        assert {s["device"] for s in specs} == {"cpu"} and {s["tier"] for s in specs} == {"quick"}
        assert all(s["corpus_sha256"] == config["corpus_sha256"] and s["torch"] == torch.__version__
                   for s in specs)
        _, two_threads, _ = keys(["--quick", "--threads", "2"])
        monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
        config, cuda, specs = keys(["--quick", "--device", "cuda"])
        assert config["device"] == "cuda" and {s["train"]["device"] for s in specs} == {"cuda"}
    finally:
        torch.set_num_threads(threads)
    assert len(cpu) == len(cuda) == len(two_threads)
    assert cpu.isdisjoint(cuda) and cpu.isdisjoint(two_threads)
    _, full, _ = keys([])
    assert cpu.isdisjoint(full)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_help_states_the_real_defaults_and_only_honoured_flags(name, capsys):
    experiment = MODULES[name].EXPERIMENT
    with pytest.raises(SystemExit):
        experiment.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    match = re.search(r"--seeds N seeds per configuration \(default (\d+); --device cuda: (\d+); "
                      r"--quick: (\d+)\)", text)
    assert match, text
    assert int(match[1]) == experiment.resolve(experiment.parse([]))["seeds"]
    assert int(match[2]) == MODULES[name].SIZES["cuda"]["seeds"]
    assert int(match[3]) == experiment.resolve(experiment.parse(["--quick"]))["seeds"]
    assert "--backend" not in text                       # torch, not a simulation backend
    for flag in ("--device {cpu,cuda}", "--corpus {bible,shakespeare}", "--threads N", "--jobs N", "--cache-dir",
                 "--no-cache", "--scheduler", "--workers"):
        assert flag in text


@pytest.mark.parametrize("argv, message", [
    (["--device", "tpu"], "device='tpu' is not one of 'cpu', 'cuda'"),
    (["--corpus", "homer"], "corpus='homer' is not one of"),
    (["--out", str(REPO_FIGURES)], "holds the committed full-run figures"),
    (["--threads", str(2 ** 40)], "threads=1099511627776 is outside the allowed range [1, 1024]"),
])
def test_bad_input_is_one_line_and_exit_2(argv, message, tmp_path, capsys):
    from experiments import lm_gap
    assert lm_gap.main(["--quick", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())                  # refused before any work


@pytest.mark.parametrize("value, message", [
    ("abc", "SIMLAB_LM_THREADS='abc' must be an integer in the allowed range [1, 1024]"),
    ("0", "SIMLAB_LM_THREADS=0 is outside the allowed range [1, 1024]"),
    (str(2 ** 40), "SIMLAB_LM_THREADS=1099511627776 is outside the allowed range [1, 1024]"),
])
def test_bad_thread_variable_is_one_line_and_exit_2(value, message, tmp_path, capsys, monkeypatch):
    from experiments import lm_gap
    threads = torch.get_num_threads()
    monkeypatch.setenv("SIMLAB_LM_THREADS", value)
    assert lm_gap.main(["--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())                  # refused before any work
    assert torch.get_num_threads() == threads            # nothing was set


@pytest.mark.slow
def test_cli_usage_error_from_a_shell(tmp_path):
    res = subprocess.run([sys.executable, "-m", "experiments.lm_bsi", "--seeds", "0", "--out", str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "outside the allowed range" in res.stderr


@pytest.mark.slow
def test_experiments_all_lists_an_lm_experiment_with_its_cells_and_headline(quick, capsys):
    out, _, first = quick("lm_surge")
    assert run_all.main(["--quick", "--only", "lm_surge", "--out", str(out)]) == 0
    table = capsys.readouterr().out.split("experiment ")[-1]
    n = len(first.stats.computed)
    ds = first.dataset                          # a measured scale, or "undefined" with its reason
    scale = (r"[\d.]+" if ds.attrs["b_noise"] > 0 else
             r"undefined \(GᵀHG estimate \S+ ± \S+ ≤ 0, \d+ probes\)")
    assert ds.attrs["b_noise"] > 0 or (ds.attrs["ghg"] <= 0 and "inf" not in table)
    assert re.search(rf"lm_surge\s+0\s+{n}\s+[\d.]+\s+B_noise {scale}, B_simple", table), table
    assert re.search(rf"total\s+0\s+{n}\s", table), table


@pytest.mark.slow
def test_experiments_all_skips_the_lm_rows_without_torch(tmp_path):
    script = ("import sys; sys.modules['torch'] = None\n"
              "from experiments import all as run_all\n"
              f"raise SystemExit(run_all.main(['--quick', '--only', 'lm_gap', 'lm_bsi', '--out', {str(tmp_path)!r}]))")
    res = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert len(re.findall(r"lm_(gap|bsi)\s+-\s+-\s+0\.0\s+skipped: needs torch", res.stdout)) == 2, res.stdout
    assert not list(tmp_path.glob("*.nc"))
