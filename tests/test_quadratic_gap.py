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
    return {"dataset": run.dataset, "cached": run.cached}


@pytest.fixture(scope="module")
def retuned(tmp_path_factory):
    out = tmp_path_factory.mktemp("quadratic_gap_retuned")
    return qg.EXPERIMENT.run(["--quick", "--protocol", "retuned", "--batch-sizes", "1,3,9",
                              "--seeds", "5", "--out", str(out)], progress=False).dataset


def _final_median(result, optimizer, hessian, batch_size):
    cell = dict(optimizer=optimizer, hessian=hessian, batch_size=batch_size)
    if "dataset" in result:                                  # a stored (compact) result
        return float(result["dataset"]["final_median"].sel(**cell))
    return float(result["selected"]["loss"].isel(step=-1).sel(**cell).median("seed"))


@pytest.mark.slow
def test_quick_writes_png_pdf_and_keyed_results(paper, out_dir):
    assert not paper["cached"]
    for ext in ("png", "pdf", "nc"):
        assert (out_dir / f"quadratic_gap.{ext}").stat().st_size > 0
    stored = load_dataset(out_dir / "quadratic_gap.nc")
    assert stored.attrs["cache_key"]
    assert stored["final_loss"].dims == ("optimizer", "hessian", "batch_size", "lr_index", "seed")
    assert stored["final_loss"].dtype == np.float32
    assert "loss" not in stored and "w_final" not in stored     # compact: no trajectories
    assert stored["panel_loss"].sizes["quantile"] == 3
    assert list(stored["batch_size"].values) == [1, 3, 9]
    assert int(stored["step"].values[-1]) == 500


@pytest.mark.slow
def test_paper_protocol_tunes_at_homogeneous_b1_and_holds_lr_fixed(paper):
    chosen = paper["dataset"]["chosen_lr"]
    # the reference's picks at homogeneous B = 1 (gap_quadratic.md §4 B′), held at every cell
    for o, lr in {"sgd": 1e-4, "signum": 1e-2, "adam": 3e-2}.items():
        assert np.all(chosen.sel(optimizer=o).values == lr), o


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
    ratios = qg.gap_ratios(paper["dataset"])
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


# -- the measure functions of the claims (experiments/claims.py) on stored quick results ----------

def _log_median(ds, optimizer, hessian, batch_size, lr_index):
    final = ds["final_loss"].sel(optimizer=optimizer, hessian=hessian, batch_size=batch_size)
    return float(np.median(np.log10(final.isel(lr_index=lr_index).values.astype(float))))


def test_measure_batch_gain_paper_protocol_holds_the_lr_fixed(paper):
    from simlab.verdict import Prediction, decide
    ds = paper["dataset"]
    m = qg.measure_batch_gain(ds, "adam", "heterogeneous")
    index = int(ds["chosen_lr_index"].sel(optimizer="adam", hessian="homogeneous", batch_size=1))
    assert list(m.fixed_lr) == [index, index]                 # the lr of homogeneous B = 1
    assert m.metric.shape == (2, 3, ds.sizes["seed"])
    v = decide(m, Prediction("sign", sign=1), resamples=200)
    expected = (_log_median(ds, "adam", "heterogeneous", 1, index)
                - _log_median(ds, "adam", "heterogeneous", 9, index))
    assert v.value == pytest.approx(expected, abs=1e-6)
    assert v.status == "holds"                               # ~4 decades: a clear sign


def test_measure_batch_gain_retuned_selects_each_cells_best_lr(retuned):
    from simlab.verdict import Prediction, decide
    m = qg.measure_batch_gain(retuned, "sgd", "heterogeneous")
    assert m.fixed_lr is None and m.metric.shape[1] == len(qg.RETUNED_GRIDS["sgd"])
    v = decide(m, Prediction("below", threshold=1.0), resamples=200)
    best = [min(_log_median(retuned, "sgd", "heterogeneous", b, i) for i in range(19))
            for b in (1, 9)]
    assert v.value == pytest.approx(best[0] - best[1], abs=1e-6)
    # retuned, SGD gains far more than a decade from B = 1 to the full batch
    assert v.value > 2.0


def test_measure_gap_heterogeneity_combines_four_cells(paper):
    ds = paper["dataset"]
    m = qg.measure_gap_heterogeneity(ds, batch_size=9)
    assert m.contrast == (1.0, -1.0, -1.0, 1.0) and len(m.settings) == 4
    from simlab.verdict import Prediction, decide
    v = decide(m, Prediction("sign", sign=1), resamples=200)
    ratio = qg.gap_ratios(ds)
    assert v.value == pytest.approx(np.log10(ratio["heterogeneous"] / ratio["homogeneous"]),
                                     abs=1e-5)


def test_measure_final_median_is_the_log_of_the_reported_median(paper):
    ds = paper["dataset"]
    m = qg.measure_final_median(ds, "adam", "heterogeneous", 3)
    assert m.value == pytest.approx(np.log10(float(ds["final_median"].sel(
        optimizer="adam", hessian="heterogeneous", batch_size=3))), abs=1e-6)
    assert len(m.samples) == qg.BOOTSTRAP and np.all(np.isfinite(m.samples))


def test_quick_results_give_smoke_verdicts_only(paper, retuned):
    from experiments.verdicts import verdict_lines
    for ds in (paper["dataset"], retuned):
        lines = verdict_lines(ds).splitlines()
        assert lines and all(": smoke" in line for line in lines), lines


def test_final_table_block_is_read_from_the_dataset(paper):
    ds = paper["dataset"]
    table = qg.final_table(ds).splitlines()
    rows = [line for line in table if line.startswith("| het") or line.startswith("| hom")]
    assert len(rows) == ds.sizes["hessian"] * ds.sizes["batch_size"]
    med = float(ds["final_median"].sel(optimizer="adam", hessian="heterogeneous", batch_size=3))
    assert f"{med:.3g}" in next(r for r in rows if r.startswith("| het | 3 |"))
