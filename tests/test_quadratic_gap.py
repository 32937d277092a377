"""python -m experiments.quadratic_gap: outputs, cache, CLI errors, and the orderings of issue 2
(Srećković et al. 2025, Fig. 17) on --quick-size runs with fixed seeds (numpy reference backend)."""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import quadratic_gap as qg
from simlab.cache import load_dataset

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--quick", "--backend", "numpy"]


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("quadratic_gap")


@pytest.fixture(scope="module")
def paper(out_dir):
    run = qg.EXPERIMENT.run(QUICK + ["--out", str(out_dir)], progress=False)
    selected, chosen = qg.choose_lrs(run.dataset, "paper")
    return {"dataset": run.dataset, "selected": selected, "chosen": chosen, "cached": run.cached}


def _final_median(result, optimizer, hessian, batch_size):
    final = result["selected"]["loss"].isel(step=-1)
    return float(final.sel(optimizer=optimizer, hessian=hessian, batch_size=batch_size)
                 .median("seed"))


@pytest.mark.slow
def test_quick_writes_png_pdf_and_keyed_results(paper, out_dir):
    assert not paper["cached"]
    for ext in ("png", "pdf", "nc"):
        assert (out_dir / f"quadratic_gap.{ext}").stat().st_size > 0
    stored = load_dataset(out_dir / "quadratic_gap.nc")
    assert stored.attrs["cache_key"]
    assert stored["loss"].dims == ("optimizer", "hessian", "batch_size", "lr_index", "seed", "step")
    assert list(stored["batch_size"].values) == [1, 3, 9]
    assert int(stored["step"].values[-1]) == 500


@pytest.mark.slow
def test_paper_protocol_tunes_at_homogeneous_b1_and_holds_lr_fixed(paper):
    chosen = paper["chosen"]
    assert chosen["hessian"].item() == "homogeneous" and int(chosen["batch_size"]) == 1
    # the reference's picks at homogeneous B = 1 (gap_quadratic.md §4 B′)
    assert {o: float(chosen["lr"].sel(optimizer=o)) for o in ("sgd", "signum", "adam")} == \
        {"sgd": 1e-4, "signum": 1e-2, "adam": 3e-2}
    assert paper["selected"]["lr"].dims == ("optimizer",)


@pytest.mark.parametrize("hessian, margin", [("homogeneous", 3.0), ("heterogeneous", 100.0)])
@pytest.mark.parametrize("optimizer", ["adam", "signum"])
@pytest.mark.slow
def test_adaptive_methods_improve_with_batch_size(paper, optimizer, hessian, margin):
    b1 = _final_median(paper, optimizer, hessian, 1)
    b9 = _final_median(paper, optimizer, hessian, 9)
    assert b9 * margin < b1, (optimizer, hessian, b1, b9)


@pytest.mark.parametrize("hessian", ["homogeneous", "heterogeneous"])
@pytest.mark.slow
def test_sgd_stays_within_a_factor_of_10_of_its_b1_value(paper, hessian):
    b1 = _final_median(paper, "sgd", hessian, 1)
    for b in (3, 9):
        ratio = _final_median(paper, "sgd", hessian, b) / b1
        assert 0.1 < ratio < 10.0, (hessian, b, ratio)


@pytest.mark.slow
def test_sgd_adam_gap_at_max_batch_is_much_larger_for_heterogeneous(paper):
    ratios = qg.gap_ratios(paper["selected"])
    assert ratios["heterogeneous"] > 1e4
    assert ratios["heterogeneous"] > 1e3 * ratios["homogeneous"], ratios


@pytest.mark.slow
def test_second_run_as_subprocess_only_redraws(paper, out_dir):
    before = (out_dir / "quadratic_gap.nc").stat().st_mtime_ns
    proc = subprocess.run([sys.executable, "-m", "experiments.quadratic_gap", *QUICK,
                           "--out", str(out_dir)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "cache hit" in proc.stdout
    assert "SGD/Adam median final-loss ratio at B=9" in proc.stdout
    assert (out_dir / "quadratic_gap.nc").stat().st_mtime_ns == before


def test_retuned_protocol_picks_per_cell_from_wide_grids():
    for name, grid in qg.RETUNED_GRIDS.items():
        assert len(grid) >= 10 and math.log10(max(grid) / min(grid)) >= 4 - 1e-9, name
    assert qg.output_name("retuned") == "quadratic_gap_retuned"
    args = qg.EXPERIMENT.parse(QUICK + ["--protocol", "retuned", "--batch-sizes", "1,9",
                                        "--seeds", "2"])
    ds = qg.build_sweep(qg.resolve_config(args)).run(progress=False)
    selected, chosen = qg.choose_lrs(ds, "retuned")
    assert chosen["lr_index"].dims == ("optimizer", "hessian", "batch_size")
    final = ds["loss"].isel(step=-1).median("seed")
    result = {"selected": selected}
    for o in ("sgd", "signum", "adam"):
        for h in ("homogeneous", "heterogeneous"):
            for b in (1, 9):
                best = float(final.sel(optimizer=o, hessian=h, batch_size=b).min())
                assert _final_median(result, o, h, b) == best
    # a wider grid lets SGD use a larger lr at full batch than at B = 1
    assert float(chosen["lr"].sel(optimizer="sgd", hessian="heterogeneous", batch_size=9)) > \
        float(chosen["lr"].sel(optimizer="sgd", hessian="heterogeneous", batch_size=1))


def test_replicate_sampling_allows_batches_past_nine():
    args = qg.EXPERIMENT.parse(["--sampling", "replicate", "--batch-sizes", "1,18"])
    config = qg.resolve_config(args)
    assert config["replicate"] == 2
    sweep = qg.build_sweep(config)
    sweep.validate()
    assert sweep.problems["heterogeneous"].n_samples == 18


@pytest.mark.parametrize("argv, needle", [
    (["--batch-sizes", "12"], "batch_size=12 is outside the allowed range [1, 9]"),
    (["--batch-sizes", "3,9"], "batch_sizes=[3, 9] must include 1 for protocol='paper'"),
    (["--hessian-seed", "-1"], "hessian_seed=-1 is outside the allowed range"),
])
def test_bad_values_are_one_line_and_exit_code_2(argv, needle, tmp_path, capsys):
    code = qg.main(QUICK + argv + ["--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())                     # failed before any work


@pytest.mark.parametrize("argv, needle", [
    (["--seeds", "0"], "--seeds: 0 is outside the allowed range [1, inf)"),
    (["--protocol", "best"], "--protocol: invalid choice: 'best'"),
    (["--sampling", "bootstrap"], "--sampling: invalid choice: 'bootstrap'"),
    (["--batch-sizes", "0"], "--batch-sizes: 0 is outside the allowed range"),
])
def test_bad_flags_are_one_line_and_exit_code_2(argv, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        qg.main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and needle in err


@pytest.mark.slow
def test_report_fits_100_columns_and_has_one_row_per_cell(paper):
    """The report was one 197-column table; now one block per optimizer, every line ≤ 100."""
    text = qg.report(paper["dataset"])
    assert max(len(line) for line in text.splitlines()) <= 100
    ds = paper["dataset"]
    rows = [line for line in text.splitlines() if line.split()[:1] in (["homogeneous"],
                                                                      ["heterogeneous"])]
    assert len(rows) == ds.sizes["optimizer"] * ds.sizes["hessian"] * ds.sizes["batch_size"]
    for label in ("SGD (EMA momentum)", "Signum", "Adam"):
        assert label in text.splitlines()
