"""`python -m experiments.surge --quick`: files written, cache reused, errors are one line."""
import numpy as np
import pytest

from experiments import surge as exp
from experiments._peaks import log_parabola_argmin
from simlab.problems.sign_model import optimal_lr
from simlab.theory import surge


def test_problem_puts_b_noise_mid_range():
    prob = exp.coupled_problem()
    m = exp.model_at(prob, prob.w0)
    assert 10 < surge.noise_batch_eq14(m) < 100
    # equal |SNR| at w0 by construction
    np.testing.assert_allclose(np.abs(m.snr), exp.SNR0, rtol=1e-12)


def test_best_lr_refines_a_parabola():
    lrs = np.geomspace(1e-3, 1e-1, 21)
    loss = (np.log(lrs) - np.log(0.0123)) ** 2
    assert log_parabola_argmin(lrs, loss) == pytest.approx(0.0123, rel=1e-9)
    assert np.isnan(log_parabola_argmin(lrs, -np.log(lrs)))          # minimum at the edge


@pytest.mark.slow
def test_quick_run_writes_outputs_and_reuses_cache(tmp_path, capsys):
    argv = ["--quick", "--backend", "numpy", "--seeds", "64", "--out", str(tmp_path)]
    assert exp.main(argv) == 0
    first = capsys.readouterr().out
    for stem in ("surge_theory", "surge_simulated", "surge_tradeoff"):
        for ext in ("png", "pdf"):
            assert (tmp_path / f"{stem}.{ext}").stat().st_size > 1000
    assert (tmp_path / "surge.nc").is_file()
    assert "(cached)" not in first and "THEORY" in first and "TRADE-OFF" in first
    # one-step (k = 1) simulated SignSGD optimum peaks near the exact one-step peak
    assert "peak" in first
    assert exp.main(argv) == 0
    assert "(cached)" in capsys.readouterr().out


def test_cli_errors_are_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        exp.main(["--seeds", "0"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--seeds" in err
