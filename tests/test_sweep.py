"""simlab.sweep: the gathered Dataset, lr selection rule, executors and early validation."""
import numpy as np
import pytest
import xarray as xr

import simlab
from simlab import optim, problems, schedules
from simlab.sweep import Sweep, best_lr, lr_scores, select_lr

STEPS = 30


@pytest.fixture(scope="module")
def probs():
    return {k: problems.block_quadratic(k, 0) for k in ("homogeneous", "heterogeneous")}


@pytest.fixture(scope="module")
def opts():
    return {"sgd": optim.sgd(0.9, ema=True), "adam": optim.adam(0.9, 0.9, 1e-8, False)}


@pytest.fixture(scope="module")
def sweep(probs, opts):
    # SGD's grid is shorter than Adam's, so the lr axis is NaN-padded for SGD.
    return Sweep(probs, opts, {"sgd": [1e-4, 1e-3], "adam": [1e-3, 1e-2, 1e-1]}, [1, 4],
                 STEPS, seeds=3, schedule=schedules.warmup_cosine(0.1), record_every=10)


@pytest.fixture(scope="module")
def result(sweep):
    return sweep.run(progress=False)


def test_dataset_dims_coords_and_padding(result):
    assert result["loss"].dims == ("optimizer", "hessian", "batch_size", "lr_index", "seed", "step")
    assert list(result["optimizer"].values) == ["sgd", "adam"]
    assert list(result["hessian"].values) == ["homogeneous", "heterogeneous"]
    assert list(result["batch_size"].values) == [1, 4]
    assert list(result["step"].values) == [0, 10, 20, 30]
    np.testing.assert_array_equal(result["lr_value"].sel(optimizer="adam").values, [1e-3, 1e-2, 1e-1])
    sgd_lrs = result["lr_value"].sel(optimizer="sgd").values
    np.testing.assert_array_equal(sgd_lrs[:2], [1e-4, 1e-3])
    assert np.isnan(sgd_lrs[2])
    assert np.all(np.isnan(result["loss"].sel(optimizer="sgd", lr_index=2).values))
    assert not result["diverged"].sel(optimizer="sgd", lr_index=2).values.any()
    assert np.all(np.isfinite(result["loss"].sel(optimizer="adam").values))


def test_each_cell_equals_a_direct_simulate_call(result, probs, opts):
    direct = simlab.simulate(probs["heterogeneous"], opts["adam"], [1e-3, 1e-2, 1e-1], 4, STEPS,
                             3, schedule=schedules.warmup_cosine(0.1), record_every=10)
    cell = result.sel(optimizer="adam", hessian="heterogeneous", batch_size=4)
    np.testing.assert_array_equal(cell["loss"].values, direct["loss"].values)
    np.testing.assert_array_equal(cell["w_final"].values, direct["w_final"].values)


def test_simulate_and_sweep_share_one_layout_and_every_lr_helper(result, probs, opts):
    """``simulate`` and ``Sweep`` label lrs alike (dim lr_index, coordinate lr_value), so
    lr_scores / best_lr / select_lr give the same answer on a direct call and on its sweep cell."""
    direct = simlab.simulate(probs["heterogeneous"], opts["adam"], [1e-3, 1e-2, 1e-1], 4, STEPS,
                             3, schedule=schedules.warmup_cosine(0.1), record_every=10)
    cell = result.sel(optimizer="adam", hessian="heterogeneous", batch_size=4)
    for name in ("loss", "diverged", "w_final"):
        assert direct[name].dims == cell[name].dims
    assert direct["lr_value"].dims == cell["lr_value"].dims == ("lr_index",)
    assert "lr_value" in direct.coords and "lr_value" in result.coords
    np.testing.assert_array_equal(direct["lr_value"].values, [1e-3, 1e-2, 1e-1])
    np.testing.assert_array_equal(lr_scores(direct).values, lr_scores(cell).values)
    chosen_direct, chosen_cell = best_lr(direct), best_lr(cell)
    for name in ("lr_index", "lr", "score", "all_diverged"):
        assert chosen_direct[name].item() == chosen_cell[name].item()
    picked = select_lr(direct, chosen_direct["lr_index"])
    assert picked["loss"].dims == ("seed", "step")
    assert float(picked["lr"]) == float(chosen_direct["lr"])
    np.testing.assert_array_equal(picked["loss"].values,
                                  select_lr(cell, chosen_cell["lr_index"])["loss"].values)
    assert float(select_lr(direct, 2)["lr"]) == 1e-1


def test_executor_is_map_like_and_called_once_with_every_cell(sweep):
    calls = []

    def executor(fn, cells):
        cells = list(cells)
        calls.append(len(cells))
        return [fn(c) for c in reversed(cells)][::-1]       # any order inside, results in order

    ds = sweep.run(executor=executor, progress=False)
    assert calls == [2 * 2 * 2]
    xr.testing.assert_identical(ds, sweep.run(progress=False))


def _synthetic(final_losses, lr_value, diverged=None):
    """A one-cell sweep-shaped Dataset with the given (lr_index, seed) final losses."""
    final = np.asarray(final_losses, dtype=float)
    loss = np.stack([np.full_like(final, 100.0), final], axis=-1)[None]
    div = np.zeros(final.shape, bool) if diverged is None else np.asarray(diverged)
    return xr.Dataset(
        {"loss": (("optimizer", "lr_index", "seed", "step"), loss),
         "diverged": (("optimizer", "lr_index", "seed"), div[None]),
         "lr_value": (("optimizer", "lr_index"), np.asarray(lr_value, float)[None])},
        coords={"optimizer": ["x"], "lr_index": np.arange(final.shape[0]),
                "seed": np.arange(final.shape[1]), "step": [0, 10]})


def test_best_lr_uses_median_and_counts_diverged_runs_as_inf():
    inf = np.inf
    # lr 0: median 5; lr 1: best mean but 2 of 3 runs diverged → median +inf; lr 2: median 3.
    ds = _synthetic([[4, 5, 6], [0.1, inf, inf], [1, 3, 50]], [1e-3, 1e-2, 1e-1],
                    diverged=[[0, 0, 0], [0, 1, 1], [0, 0, 0]])
    chosen = best_lr(ds)
    assert int(chosen["lr_index"].sel(optimizer="x")) == 2
    assert float(chosen["lr"].sel(optimizer="x")) == 1e-1
    assert float(chosen["score"].sel(optimizer="x")) == 3.0
    assert np.isposinf(lr_scores(ds).sel(optimizer="x", lr_index=1))
    # the mean is pulled up by the 50 and the infs: lr 0 wins
    assert int(best_lr(ds, statistic="mean")["lr_index"].sel(optimizer="x")) == 0


def test_best_lr_never_picks_padding_and_flags_all_diverged():
    inf = np.inf
    padded = _synthetic([[2, 2], [1, 1], [np.nan, np.nan]], [1e-3, 1e-2, np.nan])
    assert int(best_lr(padded)["lr_index"].sel(optimizer="x")) == 1
    dead = _synthetic([[inf, inf], [inf, inf], [np.nan, np.nan]], [1e-3, 1e-2, np.nan],
                      diverged=[[1, 1], [1, 1], [0, 0]])
    chosen = best_lr(dead)
    assert bool(chosen["all_diverged"].sel(optimizer="x"))
    assert int(chosen["lr_index"].sel(optimizer="x")) == 0      # ties → smallest lr index


def test_best_lr_per_cell_and_select_lr_broadcasts(result):
    chosen = best_lr(result)
    assert chosen["lr_index"].dims == ("optimizer", "hessian", "batch_size")
    final = result["loss"].isel(step=-1).median("seed")
    for o in ("sgd", "adam"):
        for h in ("homogeneous", "heterogeneous"):
            for b in (1, 4):
                scores = final.sel(optimizer=o, hessian=h, batch_size=b).values
                idx = int(chosen["lr_index"].sel(optimizer=o, hessian=h, batch_size=b))
                assert scores[idx] == np.nanmin(scores)
    # paper-style: tune at one cell, hold fixed everywhere
    tuned = best_lr(result.sel(hessian="homogeneous", batch_size=1))
    sel = select_lr(result, tuned["lr_index"])
    assert sel["loss"].dims == ("optimizer", "hessian", "batch_size", "seed", "step")
    for o in ("sgd", "adam"):
        i = int(tuned["lr_index"].sel(optimizer=o))
        np.testing.assert_array_equal(sel["loss"].sel(optimizer=o).values,
                                      result["loss"].sel(optimizer=o, lr_index=i).values)
        assert float(sel["lr"].sel(optimizer=o)) == float(result["lr_value"].sel(optimizer=o,
                                                                                lr_index=i))


def test_bad_batch_size_fails_before_any_cell_runs(probs, opts):
    sweep = Sweep(probs, opts, [1e-3], [1, 12], STEPS)
    ran = []

    def executor(fn, cells):
        ran.append(True)
        return map(fn, cells)

    with pytest.raises(ValueError, match=r"batch_size=12 is outside the allowed range \[1, 9\]"):
        sweep.run(executor=executor, progress=False)
    assert ran == []


@pytest.mark.parametrize("kwargs, match", [
    ({"lrs": [-1e-3]}, r"lrs=-0.001 is outside the allowed range"),
    ({"lrs": {"sgd": [1e-3]}}, r"lrs has no grid for optimizer\(s\) \['adam'\]"),
    ({"batch_sizes": []}, r"batch_sizes=\[\] must hold at least one"),
    ({"steps": 0}, r"steps=0 is outside the allowed range \[1, inf\]"),
    ({"seeds": 0}, r"seeds=0 is outside the allowed range \[1, inf\]"),
    ({"sampling": "bootstrap"}, r"sampling='bootstrap' is not one of"),
    ({"backend": "fortran"}, r"backend='fortran' is not one of"),
    ({"problems": {}}, r"problems=\{\} must be a non-empty mapping"),
])
def test_bad_sweep_arguments(probs, opts, kwargs, match):
    args = {"problems": probs, "optimizers": opts, "lrs": [1e-3], "batch_sizes": [1],
            "steps": STEPS, **kwargs}
    with pytest.raises(ValueError, match=match):
        Sweep(**args)


def test_bad_statistic_is_rejected(result):
    with pytest.raises(ValueError, match=r"statistic='mode' is not one of"):
        best_lr(result, statistic="mode")


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ANY = st.one_of(st.integers(-3, 12), st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=3), st.none(), st.booleans())


@settings(max_examples=80, deadline=None)
@given(lrs=st.one_of(st.lists(ANY, max_size=3), ANY,
                     st.dictionaries(st.sampled_from(["sgd", "adam", "x"]), st.lists(ANY, max_size=2),
                                     max_size=2)),
       batch_sizes=st.one_of(st.lists(ANY, max_size=3), st.just([1, 3])),
       steps=ANY, seeds=ANY, sampling=st.sampled_from(["without_replacement", "bootstrap", 3]),
       backend=st.sampled_from(["numpy", "numba", "fortran", None]))
def test_sweep_config_either_validates_or_names_the_bad_argument(probs, opts, lrs, batch_sizes,
                                                                 steps, seeds, sampling, backend):
    try:
        sweep = Sweep(probs, opts, lrs, batch_sizes, steps, seeds=seeds, sampling=sampling,
                      backend=backend)
        sweep.validate()
    except ValueError as exc:
        named = ("lrs", "batch_size", "steps", "seeds", "sampling", "backend", "lr")
        assert str(exc).startswith(named), str(exc)
        return
    config = sweep.config()                       # a valid sweep resolves to plain data
    assert config["steps"] == steps and config["seeds"] == seeds
    assert len(sweep.cells()) == len(opts) * len(probs) * len(batch_sizes)
