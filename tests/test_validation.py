"""Bad input fails early and clearly: one test per case, each a ValueError whose message names the
argument (and, where there is one, the allowed range); a CLI error is one line with exit code 2."""
import math

import numpy as np
import pytest

import simlab
from experiments._cli import run_cli, standard_parser
from simlab import optim, problems

TOY = problems.block_quadratic("heterogeneous", seed=0)


def simulate(**overrides):
    kwargs = dict(problem=TOY, optimizer=optim.sgd(), lr=1e-4, batch_size=2, steps=5, seeds=2)
    kwargs.update(overrides)
    return simlab.simulate(**kwargs)


def test_valid_call_runs():
    assert simulate().loss.shape == (1, 2, 6)


def test_wrong_kind():
    with pytest.raises(ValueError, match=r"kind='transformer' is not one of 'heterogeneous', "
                                         r"'homogeneous'"):
        problems.block_quadratic("transformer")


def test_batch_larger_than_n_without_replacement_names_the_limit_and_alternatives():
    with pytest.raises(ValueError) as info:
        simulate(batch_size=10)
    message = str(info.value)
    assert "batch_size=10" in message and "[1, 9]" in message
    assert "with_replacement" in message and "replicate" in message


def test_negative_lr():
    with pytest.raises(ValueError, match=r"lr=-0\.001 is outside the allowed range \[0, inf\)"):
        simulate(lr=[1e-3, -1e-3])


def test_nan_lr():
    with pytest.raises(ValueError, match="lr=nan"):
        simulate(lr=math.nan)


@pytest.mark.parametrize("value", [1.0, -0.01, 1.5])
def test_beta_outside_unit_interval(value):
    with pytest.raises(ValueError, match=rf"b1={value!r} is outside the allowed range \[0.0, 1.0\)"):
        optim.adam(b1=value)


def test_non_symmetric_hessian():
    h = np.diag([1.0, 2.0, 3.0])
    h[0, 1] = 0.5
    with pytest.raises(ValueError, match="hessian is not symmetric"):
        problems.gaussian_quadratic(h, np.eye(3), np.ones(3))


def test_indefinite_hessian():
    h = np.diag([1.0, -2.0, 3.0])
    with pytest.raises(ValueError, match="hessian is not positive semi-definite"):
        problems.gaussian_quadratic(h, np.eye(3), np.ones(3))


@pytest.mark.parametrize("steps", [0, -3])
def test_steps_not_positive(steps):
    with pytest.raises(ValueError, match=rf"steps={steps} is outside the allowed range \[1, inf\]"):
        simulate(steps=steps)


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend='jax' is not one of"):
        simulate(backend="jax")


@pytest.mark.parametrize("seeds", [0, -1])
def test_seeds_not_positive(seeds):
    with pytest.raises(ValueError, match=rf"seeds={seeds} is outside the allowed range \[1, inf\]"):
        simulate(seeds=seeds)


def test_microbatch_not_dividing_batch_size():
    with pytest.raises(ValueError, match="microbatch=2 must divide batch_size=3"):
        simulate(optimizer=optim.bsi_adam(), batch_size=3, microbatch=2)


def test_bad_sampling_name():
    with pytest.raises(ValueError, match="sampling='shuffled' is not one of"):
        simulate(sampling="shuffled")


@pytest.mark.parametrize("bad", [9, -1])
def test_batch_indices_out_of_range(bad):
    idx = np.zeros((5, 2, 2), dtype=np.int64)
    idx[3, 1, 0] = bad
    with pytest.raises(ValueError, match=r"batch_indices has entries outside the allowed range "
                                         r"\[0, 8\]"):
        simulate(batch_indices=idx)


def test_cli_value_error_is_one_line_and_exit_code_2(capsys):
    parser = standard_parser("dummy", "a test experiment")

    def main(args):
        simulate(steps=0)

    assert run_cli(parser, main, ["--quick"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "steps=0" in err and "Traceback" not in err


@pytest.mark.parametrize("argv", [["--seeds", "0"], ["--backend", "jax"]])
def test_cli_usage_error_is_one_line_and_exit_code_2(argv, capsys):
    parser = standard_parser("dummy", "a test experiment")
    with pytest.raises(SystemExit) as info:
        run_cli(parser, lambda args: None, argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and argv[0] in err


@pytest.mark.parametrize("overrides", [dict(batch_size=10), dict(lr=-1.0), dict(steps=0),
                                       dict(seeds=0), dict(sampling="shuffled")],
                         ids=["batch_size", "lr", "steps", "seeds", "sampling"])
def test_errors_are_raised_before_the_backend_runs(overrides, monkeypatch):
    import importlib
    module = importlib.import_module("simlab.simulate")
    calls = []
    monkeypatch.setattr(module, "get_backend", lambda name: lambda spec: calls.append(spec))
    with pytest.raises(ValueError):
        simulate(**overrides)
    assert calls == []
