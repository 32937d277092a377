"""The design of the four LM experiments' default sizes (issue 17): the paper's set-up in lm_gap,
enough seeds and lr grids for the verdict rule, the "past the bigram level" assumption checked at
every point of a comparison, and a budget plan within an hour on the 2-core machine."""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import xarray as xr

pytest.importorskip("torch", reason="simlab.lm needs the 'lm' extra (torch)")

from experiments import _lm  # noqa: E402

EXPERIMENTS = ["lm_gap", "lm_surge", "lm_betas", "lm_bsi"]


pytestmark = pytest.mark.usefixtures("lm_token_cache")   # tests/conftest.py


def default_config(name: str, argv=()) -> dict:
    module = importlib.import_module(f"experiments.{name}")
    return module.EXPERIMENT.resolve(module.EXPERIMENT.parse(list(argv)))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_default_and_gpu_sizes_have_at_least_five_seeds(name):
    sizes = importlib.import_module(f"experiments.{name}").SIZES
    assert sizes["cpu"]["seeds"] >= 5 and sizes["cuda"]["seeds"] >= 5
    assert default_config(name)["seeds"] == sizes["cpu"]["seeds"]


def test_lm_gap_default_runs_are_the_papers_set_up_and_beyond():
    """Every run: global-norm clipping at 1, warmup + cosine, the same steps at every B; Adam and
    AdamW β = (0.9, 0.95); no weight decay except AdamW's; SGD with momentum 0.9 and Signum beside."""
    from experiments import lm_gap
    config = default_config("lm_gap")
    specs = [spec["train"] for _, spec in lm_gap.runs(config)]
    assert {t["clip"] for t in specs} == {1.0}
    assert {t["schedule"] for t in specs} == {"warmup_cosine"} and {t["warmup"] for t in specs} == {0.1}
    assert len({t["steps"] for t in specs}) == 1                          # fixed steps across B
    by_opt = {o: [t for t in specs if t["optimizer"] == o] for o in ("sgd", "adam", "signum", "adamw")}
    assert all(by_opt.values())
    for o in ("adam", "adamw"):
        assert {tuple(t["betas"]) for t in by_opt[o]} == {(0.9, 0.95)}
    assert {t["weight_decay"] for o in ("sgd", "adam", "signum") for t in by_opt[o]} == {0.0}
    assert {t["weight_decay"] for t in by_opt["adamw"]} == {0.1}
    assert {t["momentum"] for t in by_opt["sgd"]} == {0.9}
    assert len(config["size"]["batch_sizes"]) >= 3


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "signum", "adamw"])
def test_lm_gap_lr_grids_let_the_rule_check_x3_and_a_third(optimizer):
    """≥ 4 points (5 where no run showed a point far from the optimum: lm_gap.TRIMMED_LRS), ratio
    ≤ √10 between neighbours: the points nearest ×3 and ×1/3 of an interior best lr lie within the
    factor 1.5 the verdict rule asks for; a trimmed grid starts one step above the lr it dropped."""
    from experiments import lm_gap
    grid = np.asarray(lm_gap.SIZES["cpu"]["lrs"][optimizer])
    ratios = grid[1:] / grid[:-1]
    assert len(grid) >= (4 if optimizer in lm_gap.TRIMMED_LRS else 5)
    assert np.all(ratios > 1) and np.all(ratios <= np.sqrt(10) * 1.001)
    if optimizer in lm_gap.TRIMMED_LRS:
        assert np.isclose(grid[0] / lm_gap.TRIMMED_LRS[optimizer][0], np.sqrt(10), rtol=1e-3)
    for best in grid[1:-1]:
        for target in (best * 3, best / 3):
            assert np.min(np.abs(np.log(grid / target))) <= np.log(1.5)


def _gap_dataset(best_loss: dict, bigram=2.25, unigram=3.0) -> xr.Dataset:
    """best_loss: optimizer → losses at B = 4, 16, 64 (budget "steps")."""
    opts = list(best_loss)
    data = np.array([[best_loss[o] for o in opts]])
    return xr.Dataset({"best_loss": (("budget", "optimizer", "batch_size"), data)},
                      coords={"budget": ["steps"], "optimizer": opts, "batch_size": [4, 16, 64]},
                      attrs={"bigram_xent": bigram, "unigram_xent": unigram})


@pytest.mark.parametrize("losses, optimizer, outside_at", [
    ({"sgd": [2.2, 2.4, 2.6], "adam": [2.1, 2.0, 1.9], "signum": [3, 3, 3]}, "adam", None),
    # the better optimizer is above the bigram level at B = 4: a comparison point it does not pass,
    # though every other point (and the overall best) is far below it
    ({"sgd": [2.4, 2.6, 2.8], "adam": [2.3, 2.0, 1.9], "signum": [2.0, 2.0, 2.0]}, "adam", "B = 4"),
    ({"sgd": [2.2, 2.4, 2.6], "adam": [2.1, 2.0, 1.9], "signum": [2.1, 2.3, 2.4]}, "signum", "B = 64"),
    ({"sgd": [2.2, 2.4, 2.6], "adam": [2.1, 2.0, np.inf], "signum": [3, 3, 3]}, "adam", "B = 64"),
])
def test_lm_gap_is_outside_where_any_compared_point_is_not_past_bigram(losses, optimizer, outside_at):
    from experiments import lm_gap
    sentence = lm_gap.check_trained(_gap_dataset(losses), budget="steps", optimizer=optimizer)
    if outside_at is None:
        assert sentence is None
    else:
        assert sentence.startswith("not trained past the bigram level at ") and outside_at in sentence
        assert "bigram entropy 2.250" in sentence


def test_lm_bsi_is_outside_where_at_some_b_both_rules_stay_above_bigram():
    from experiments import lm_bsi
    loss = np.full((2, 1, 3, 2, 2), 2.0)                    # (rule, lr0, B, seed, samples)
    ds = xr.Dataset({"val_loss": (("rule", "lr0", "batch_size", "seed", "samples"), loss)},
                    coords={"rule": list(lm_bsi.RULES), "lr0": [3e-3], "batch_size": [2, 4, 8],
                            "seed": [0, 1], "samples": [0, 64]},
                    attrs={"bigram_xent": 2.25, "unigram_xent": 3.0})
    assert lm_bsi.check_trained(ds) is None
    ds.val_loss[:, 0, 0, :, -1] = 2.4                        # B = 2: both rules above bigram
    sentence = lm_bsi.check_trained(ds)
    assert sentence is not None and "B = 2 " in sentence and "B = 4" not in sentence


def _betas_dataset(best_step_last: bool = False) -> xr.Dataset:
    """A lm_betas-shaped results file: two b, the five pairs, lr factors 1/3, 1, 3, three seeds;
    (0.9, 0.999) better by 0.05 at its tuned lr (the middle one), the other pairs only at factor 1."""
    from experiments import lm_betas
    names = [f"{b1}/{b2}" for b1, b2 in lm_betas.BETAS]
    loss = np.full((2, 5, 3, 3), np.nan)
    loss[:, :, 1, :] = 2.10
    for k, pair in enumerate(lm_betas.BETAS):
        if pair in lm_betas.TUNED:
            loss[:, k, :, :] = np.array([2.20, 2.10, 2.30])[:, None]
    loss[:, names.index("0.9/0.999"), :, :] -= 0.05
    loss[:, :, :, 1] += 0.001                                # seeds differ a little
    step = np.full((2, 5, 3), 300.0 if not best_step_last else 720.0)
    return xr.Dataset(
        {"best_val_loss_lr": (("batch_size", "betas", "lr_factor", "seed"), loss),
         "best_val_loss": (("batch_size", "betas", "seed"), loss[:, :, 1, :]),
         "best_step": (("batch_size", "betas", "seed"), step),
         "curve_step": (("batch_size", "betas", "record"), np.broadcast_to(np.linspace(0, 720, 21), (2, 5, 21))),
         "lam": ("batch_size", [6.0, 0.3]), "lr": ("batch_size", [2e-3, 6e-3])},
        coords={"batch_size": [2, 32], "betas": names, "lr_factor": list(lm_betas.LR_FACTORS),
                "seed": [0, 1, 2]},
        attrs={"bigram_xent": 2.25, "unigram_xent": 3.0})


def test_lm_betas_tunes_the_compared_pairs_lr_and_holds_only_when_trained_to_overfitting():
    """The claims' pairs run at ×1/3, ×1 and ×3 of the paper's lr: the rule tunes each pair's lr
    (an interior best here) and checks the neighbours; a pair whose best validation loss comes at
    its last record (still improving) is outside the lemmas' setting."""
    from experiments import lm_betas
    from simlab.verdict import decide
    from experiments.claims import CLAIMS
    claim = next(c for c in CLAIMS if c.id == "lm.betas.beta2-small-b")
    ds = _betas_dataset()
    m = lm_betas.measure_betas(ds, **claim.args)
    assert m.fixed_lr is None and np.allclose(m.lrs, 2e-3 * np.array([1 / 3, 1, 3]))
    assert lm_betas.check_side(ds, **claim.args) is None
    verdict = decide(m, claim.prediction)
    assert verdict.status == "holds" and verdict.value == pytest.approx(-0.05, abs=1e-3)
    sentence = lm_betas.check_side(_betas_dataset(best_step_last=True), **claim.args)
    assert sentence.startswith("not trained to overfitting") and "3 of 3 seeds" in sentence
    beta1 = next(c for c in CLAIMS if c.id == "lm.betas.beta1-large-b")   # (0.999, 0.999): one lr
    assert lm_betas.measure_betas(ds, **beta1.args).fixed_lr is not None


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_the_plan_counts_the_cells_the_experiment_runs(name):
    """The budget plan (docs/lm.md) is computed from the same sizes the experiment runs."""
    module = importlib.import_module(f"experiments.{name}")
    config = default_config(name)
    planned = sum(n for _, n, _ in module.plan(config))
    if name == "lm_gap":
        ran = len({str(spec) for _, spec in module.runs(config)})
    elif name == "lm_surge":
        ran = 2 + len(module.further_steps(config))          # pretraining, noise probes, k-step runs
    else:
        ran = len(module.runs(config))
    assert planned == ran


def test_the_four_default_cpu_runs_are_planned_within_an_hour_on_two_cores():
    walls = {name: _lm.plan_table(name, cores=2)[1] for name in EXPERIMENTS}
    assert sum(walls.values()) <= 3600, walls
    assert all(w > 60 for w in walls.values())                # a plan of real work, not of nothing
