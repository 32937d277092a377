"""Experiment (c) of issue 12: BSI-Adam and √B-scaled Adam in a noise-dominated regime beside the
high-SNR one (``experiments.bsi_adam --quick``)."""
import numpy as np
import pytest

from experiments import bsi_adam as exp
from simlab.cache import load_dataset

pytestmark = pytest.mark.slow          # a --quick run of bsi_adam


def test_regimes_are_what_they_claim():
    # max_i E[g_i]^2 / Var[g_B,i] at w0: high-SNR above 1 at B_max, noise-dominated far below 1
    assert exp.snr_at_start(exp.REGIMES["high_snr"], 128) > 1.0
    assert exp.snr_at_start(exp.REGIMES["noise_dominated"], 128) < 0.05


def test_quick_run_has_both_regimes_and_seed_noise_bounds(tmp_path, capsys):
    assert exp.main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "regime high_snr" in out and "regime noise_dominated" in out
    ds = load_dataset(tmp_path / "bsi_adam.nc")
    assert set(ds.regime.values) == {"high_snr", "noise_dominated"}
    assert np.all(np.isfinite(ds.spread.values)) and np.all(ds.spread_seed_noise.values >= 0)
