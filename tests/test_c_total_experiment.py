"""Issue 4: ``python -m experiments.c_total --quick`` writes its files, redraws from cache, < 30 s."""
import time

import numpy as np
import pytest

from simlab.cache import load_dataset

from experiments import c_total


@pytest.mark.slow
def test_quick_run_writes_files_and_second_run_uses_cache(tmp_path, capsys):
    t0 = time.time()
    assert c_total.main(["--quick", "--out", str(tmp_path)]) == 0
    first = time.time() - t0
    for ext in ("png", "pdf", "nc"):
        assert (tmp_path / f"c_total.{ext}").is_file()
    out = capsys.readouterr().out
    assert "0.508187" in out and "2.684160" in out and "1.001503" in out and "computed" in out
    assert first < 30
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
