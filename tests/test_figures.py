"""The figure rules of simlab.plotting: the backend is left alone at import, one tick format per
figure, titles that name the paper, legends where there are many series — and the defects of
issue 18 (sde's raw labels and shared η axis, bsi_adam's identical handles, lm_betas' missing
legend) checked on the real figures.

Every figure an experiment saves runs ``plotting.finish``, which warns ``FigureContractWarning``
on a broken rule; setup.cfg makes that warning an error, so every end-to-end test that draws a
figure (test_harness, test_*_experiment, test_lm_experiments, …) checks the rules too."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from simlab import plotting
from simlab.plotting import plt

ROOT = Path(__file__).resolve().parents[1]


# --- the backend ---------------------------------------------------------------------------

def _backend_after(code: str, mplbackend: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "DISPLAY", "WAYLAND_DISPLAY")}
    if mplbackend is not None:
        env["MPLBACKEND"] = mplbackend
    proc = subprocess.run([sys.executable, "-c", code + "; import matplotlib; "
                           "print(matplotlib.get_backend())"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("mplbackend", ["svg", "pdf", None])
def test_importing_plotting_and_experiments_leaves_the_backend_to_matplotlib(mplbackend):
    """A notebook (here: MPLBACKEND) keeps its backend after importing simlab.plotting and the
    experiment modules; Agg was forced before."""
    plain = _backend_after("import matplotlib.pyplot", mplbackend)
    with_simlab = _backend_after("import simlab.plotting, experiments.sde, experiments.lm_betas",
                                 mplbackend)
    assert with_simlab == plain
    if mplbackend is not None:
        assert with_simlab.lower() == mplbackend


@pytest.mark.slow
def test_the_command_line_draws_headless_whatever_mplbackend_says(tmp_path):
    """The CLI selects Agg itself: with a display-less environment and MPLBACKEND pointing at a
    backend that cannot write PNG, it still writes the PNG."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "svg"
    proc = subprocess.run([sys.executable, "-m", "experiments.c_total", "--quick", "--out",
                           str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "c_total.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- titles --------------------------------------------------------------------------------

@pytest.mark.parametrize("key, name", sorted(plotting.PAPERS.items()))
def test_paper_title_names_the_paper_first(key, name):
    fig = plt.figure()
    plotting.paper_title(fig, key, "Fig. 3", "what is shown")
    assert fig.get_suptitle() == f"{name}, Fig. 3: what is shown"
    plt.close(fig)


def test_paper_title_refuses_an_unknown_paper():
    fig = plt.figure()
    with pytest.raises(ValueError, match=r"paper='smith'.*sreckovic"):
        plotting.paper_title(fig, "smith", "Fig. 1", "x")
    plt.close(fig)


# --- one tick format -----------------------------------------------------------------------

@pytest.mark.parametrize("value, powers, plain", [
    (1e-3, "10⁻³", "0.001"),
    (2e5, "2·10⁵", "200000"),
    (-0.05, "−5·10⁻²", "−0.05"),
    (0.0, "0", "0"),
    (1.0, "10⁰", "1"),
    (2500.0, "2.5·10³", "2500"),
    (9.999e3, "10⁴", "9999"),
])
def test_number_labels(value, powers, plain):
    assert plotting.power_label(value) == powers
    assert plotting.plain_label(value) == plain


def _labels(axis) -> list[str]:
    locs = plotting._labelled_values(axis)
    return [t for t in axis.get_major_formatter().format_ticks(locs) if t]


def _two_log_panels(y_right):
    fig, (a, b) = plt.subplots(1, 2)
    a.plot([1, 100], [1, 100])
    a.set(xscale="log", yscale="log")
    b.plot([1, 100], y_right)
    b.set(xscale="log", yscale="log")
    return fig, a, b


@pytest.mark.parametrize("y_right, powers", [([1e-6, 1.0], True), ([0.01, 10.0], False)])
def test_one_notation_for_every_log_axis_of_a_figure(y_right, powers):
    """The left panel (1…100) alone would be plain; a right panel reaching 10⁻⁶ puts every log
    axis of the figure in powers of ten, so '10' never stands beside '10¹'."""
    fig, a, b = _two_log_panels(y_right)
    assert plotting.tick_format(fig) is powers
    texts = _labels(a.xaxis) + _labels(a.yaxis) + _labels(b.yaxis)
    assert texts
    power_form = re.compile(r"^−?(\d+(\.\d+)?·)?10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+$")
    assert all(bool(power_form.match(t)) is powers for t in texts), texts
    assert plotting.figure_problems(fig) == [f"title '' names none of the papers "
                                             f"{list(plotting.PAPERS.values())}"]
    plt.close(fig)


@pytest.mark.parametrize("ticks, expected", [
    ([0, 0.25, 0.5], ["0.00", "0.25", "0.50"]),
    ([-1, 0, 1], ["−1", "0", "1"]),
    ([0, 20000, 40000], ["0", "2·10⁴", "4·10⁴"]),
])
def test_linear_axes_use_one_number_of_decimals_and_never_e_notation(ticks, expected):
    fig, ax = plt.subplots()
    ax.plot(ticks, ticks)
    ax.set_xticks(ticks)
    ax.set_xlim(ticks[0], ticks[-1])
    plotting.tick_format(fig)
    assert _labels(ax.xaxis) == expected
    plt.close(fig)


def test_value_ticks_stay_plain_in_a_power_of_ten_figure():
    fig, ax = plt.subplots()
    ax.plot([1, 9, 81], [1e-6, 1e-3, 1.0])
    ax.set(xscale="log", yscale="log")
    plotting.value_ticks(ax, [1, 9, 81])
    assert plotting.tick_format(fig) is True
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "9", "81"]
    assert "10⁻³" in [t.get_text() for t in ax.get_yticklabels()]
    plt.close(fig)


def test_symlog_and_asinh_axes_label_zero_and_negative_decades():
    fig, (a, b) = plt.subplots(1, 2)
    for ax, scale in ((a, "symlog"), (b, "asinh")):
        ax.plot([0, 1], [-1e5, 1e5])
        ax.set_yscale(scale)
    ax.yaxis.set_major_locator(matplotlib.ticker.FixedLocator([-1e4, -100, 0, 100, 1e4]))
    assert plotting.tick_format(fig) is True
    assert _labels(b.yaxis) == ["−10⁴", "−10²", "0", "10²", "10⁴"]
    assert "0" in _labels(a.yaxis) and all("e" not in t for t in _labels(a.yaxis))
    plt.close(fig)


# --- the figure rules checked ----------------------------------------------------------------

def _lines(ax, n, labelled):
    x = np.arange(1, 4)
    for i in range(n):
        ax.plot(x, x * (i + 1), label=f"series {i}" if labelled else None)


def test_figure_problems_lists_every_broken_rule():
    fig, ax = plt.subplots()
    _lines(ax, plotting.LEGEND_FROM, labelled=False)
    ax.set_yscale("log")                      # matplotlib's own LogFormatterSciNotation
    problems = plotting.figure_problems(fig)
    assert any("names none of the papers" in p for p in problems)
    assert any(f"{plotting.LEGEND_FROM} series and no legend" in p for p in problems)
    assert any("not plotting.Ticks" in p for p in problems)
    plt.close(fig)


def test_figure_that_follows_the_rules_has_no_problems():
    fig, (a, b) = plt.subplots(1, 2)
    _lines(a, plotting.LEGEND_FROM, labelled=True)
    _lines(b, plotting.LEGEND_FROM, labelled=True)
    a.legend()                                # one legend that shows every label of both panels
    b.axhline(1.0)                            # a reference line is not a series
    plotting.paper_title(fig, "li", "Eq. 2", "x")
    plotting.tick_format(fig)
    assert plotting.figure_problems(fig) == []
    plt.close(fig)


def test_fewer_series_need_no_legend_but_more_do():
    fig, ax = plt.subplots()
    plotting.paper_title(fig, "wang", "Theorem 1", "x")
    _lines(ax, plotting.LEGEND_FROM - 1, labelled=False)
    plotting.tick_format(fig)
    assert plotting.figure_problems(fig) == []
    _lines(ax, 1, labelled=False)
    assert plotting.figure_problems(fig) == [f"axes '': {plotting.LEGEND_FROM} series and no legend"]
    plt.close(fig)


def test_save_figure_warns_about_a_broken_rule(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([1, 2], [1, 2])
    with pytest.warns(plotting.FigureContractWarning, match="names none of the papers"):
        plotting.save_figure(fig, tmp_path, "bad")
    fig, ax = plt.subplots()
    ax.plot([1, 2], [1, 2])
    plotting.paper_title(fig, "cattaneo", "Eq. 7", "x")
    with warnings.catch_warnings():
        warnings.simplefilter("error", plotting.FigureContractWarning)
        plotting.save_figure(fig, tmp_path, "good")
    assert (tmp_path / "good.png").is_file()


def test_the_test_suite_turns_a_broken_rule_into_an_error():
    with pytest.raises(plotting.FigureContractWarning):
        warnings.warn("x", plotting.FigureContractWarning)


# --- the figures of issue 18 -----------------------------------------------------------------

@pytest.fixture
def drawn(monkeypatch, tmp_path):
    """name → the matplotlib figures that experiment saves in a --quick run (captured before
    they are written and closed)."""
    from experiments import _lm

    def run(module_name, *extra):
        import importlib
        module = importlib.import_module(f"experiments.{module_name}")
        figures = []
        real_save, real_png = plotting.save_figure, _lm.save_png

        def save(fig, *a, **k):
            figures.append(fig)
            return real_save(fig, *a, **k)

        def save_png(fig, *a, **k):
            figures.append(fig)
            return real_png(fig, *a, **k)

        if hasattr(module, "save_figure"):
            monkeypatch.setattr(module, "save_figure", save)
        monkeypatch.setattr(_lm, "save_png", save_png)
        module.EXPERIMENT.run(["--quick", "--out", str(tmp_path / module_name), *extra],
                              progress=False)
        return figures
    return run


def _axes(fig, title):
    return next(ax for ax in fig.axes if ax.get_title() == title)


def test_sde_figure_has_readable_labels_and_one_eta_range_per_axes(drawn):
    (fig,) = drawn("sde", "--seeds", "4")
    sgd, sign = _axes(fig, "SGD: weak error vs η"), _axes(fig, "SignSGD: weak error vs η")
    assert sgd.get_xlim()[1] < 1e-4 < 1e-3 < sign.get_xlim()[0]     # no empty middle
    texts = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any("heterogeneous H, B = 3" in t for t in texts)
    assert not [t for t in texts if re.search(r"[a-z]_[a-z0-9]", t)], texts   # no sgd_het_B3
    assert "Srećković et al. 2025" in fig.get_suptitle()


def test_sde_model_labels_name_every_row():
    from experiments import sde
    labels = {row: sde.model_label(row) for row in sde.WEAK_ROWS}
    # one panel per optimizer (its title names it): rows of one panel stay distinguishable
    panels = {(row.split("_")[0], label) for row, label in labels.items()}
    assert len(panels) == len(labels)
    assert {row.split("_")[0] for row in labels} == {group for group, _ in sde.WEAK_PANELS}
    assert all("_" not in label for label in labels.values()), labels


def _handle_style(handle):
    return (handle.get_linestyle(), handle.get_marker(), handle.get_markerfacecolor())


def test_bsi_adam_solid_and_dashed_legend_handles_differ(drawn):
    (fig,) = drawn("bsi_adam", "--seeds", "4")
    legend = _axes(fig, "spread across batch sizes (10 % line dotted)").get_legend()
    styles = {text.get_text().split(",")[0]: _handle_style(handle)
              for text, handle in zip(legend.get_texts(), legend.legend_handles)}
    assert styles["BSI-Adam"][:2] != styles["Adam √B"][:2]            # line style and marker
    assert styles["BSI-Adam"][1] != styles["Adam √B"][1]


def test_lm_betas_overfitting_panel_has_a_legend(drawn):
    pytest.importorskip("torch")
    (fig,) = drawn("lm_betas")
    ax = _axes(fig, "overfitting: val loss along the runs")
    assert len(plotting._series(ax)) >= plotting.LEGEND_FROM and ax.get_legend() is not None
    texts = {t.get_text() for artist in ax.get_children()
             if isinstance(artist, matplotlib.legend.Legend) for t in artist.get_texts()}
    assert {"b=2", "b=16"} <= texts and any(t.startswith("β1/β2 = ") for t in texts)
