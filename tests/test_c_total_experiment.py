"""Issue 4: ``python -m experiments.c_total --quick`` writes its files and redraws from cache."""
import numpy as np
import pytest

from simlab.cache import load_dataset

from experiments import c_total


@pytest.mark.slow
def test_quick_run_writes_files_and_second_run_uses_cache(tmp_path, capsys):
    assert c_total.main(["--quick", "--out", str(tmp_path)]) == 0
    for ext in ("png", "pdf", "nc"):
        assert (tmp_path / f"c_total.{ext}").is_file()
    out = capsys.readouterr().out
    assert "0.508187" in out and "2.684160" in out and "1.001503" in out and "computed" in out
    mtime = (tmp_path / "c_total.nc").stat().st_mtime_ns
    assert c_total.main(["--quick", "--out", str(tmp_path)]) == 0
    assert "loaded from cache" in capsys.readouterr().out
    assert (tmp_path / "c_total.nc").stat().st_mtime_ns == mtime
    ds = load_dataset(tmp_path / "c_total.nc")
    rel = np.abs(ds["check_measured"] - ds["check_closed_form"]) / np.abs(ds["check_closed_form"])
    assert ds.sizes["pair"] >= 3 and float(rel.max()) < 2e-6


def test_bad_flag_exits_2(capsys):
    try:
        code = c_total.main(["--seeds", "0"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1


def _quick_dataset(tmp_path):
    assert c_total.main(["--quick", "--out", str(tmp_path)]) == 0
    return load_dataset(tmp_path / "c_total.nc")


@pytest.mark.slow
def test_claim_measures_on_the_quick_result(tmp_path, capsys):
    from experiments.claims import CLAIMS
    from experiments.verdicts import evaluate
    from simlab.verdict import Exact, Prediction, decide
    ds = _quick_dataset(tmp_path)
    out = capsys.readouterr().out
    assert "cattaneo.l3.4.increasing: smoke" in out and ": holds" not in out
    assert c_total.measure_threshold(ds, "L3.4 incr. in b2 (b1=0.9) for lam >").value \
        == pytest.approx(0.508187, abs=1e-6)
    assert c_total.measure_threshold(ds, "L3.7 min d/db C1(b,b) on [0.5,1)").value \
        == pytest.approx(88 / 27, rel=1e-9)
    with pytest.raises(ValueError, match="name="):
        c_total.measure_threshold(ds, "L9.9")
    # Lemma 3.5's convex window: an interior minimum at λ = 1, 2; none at λ = 5 (increasing) or
    # 0.3 (decreasing), where the same measure is >= 0
    for lam, interior in ((1.0, True), (2.0, True), (5.0, False), (0.3, False)):
        assert (c_total.measure_convex_minimum(ds, lam).value < 0) is interior
    assert c_total.measure_convexity(ds, 1.0).value > 0
    # the App. A.1 check: the derived constants agree, the OCR's C1 (+2) is excluded
    assert c_total.measure_memory_check(ds).value < 1e-5
    assert c_total.measure_memory_check(ds, "ocr").value > 1e-2
    with pytest.raises(ValueError, match="reading"):
        c_total.measure_memory_check(ds, "other")
    # the rule decides them from the full (non-quick) reading of the same numbers
    assert decide(c_total.measure_memory_check(ds, "ocr"),
                  Prediction("below", threshold=1e-4)).status == "fails"
    for c in (c for c in CLAIMS if c.experiment == "c_total"):
        m = __import__("importlib").import_module("experiments.c_total")
        v = evaluate(c, ds)
        assert v.status == "smoke" and np.isfinite(v.value)
        assert isinstance(getattr(m, c.measure.split(":")[1])(ds, **c.args), Exact)
