"""The claims registry and ``python -m experiments.verdicts``: every record resolves, the generated
files are checked against results/ (--check fails after editing a number in docs/verdicts.md, a
README block or a results file, and for a figure drawn from other results), a claim without results
is unresolved ("no results"), and bsi_adam's measure functions decide its stored results."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from experiments import claims, verdicts
from simlab.cache import load_dataset, save_dataset
from simlab.verdict import Estimate, Exact, Prediction, Tuned

ROOT = Path(__file__).resolve().parents[1]


def test_every_record_resolves():
    ids = [c.id for c in claims.CLAIMS]
    assert len(ids) == len(set(ids))
    for c in claims.CLAIMS:
        assert c.paper in claims.PAPERS and isinstance(c.prediction, Prediction)
        assert c.where and c.statement and c.assumptions
        fn = verdicts.load_function(c.measure)
        assert callable(fn) and fn.__name__.startswith("measure_") and fn.__doc__
        if c.outside:
            assert callable(verdicts.load_function(c.outside))


def run(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = verdicts.main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bsi_quick(tmp_path_factory):
    """bsi_adam --quick's results file (a stored Dataset, attrs quick = 1) and its figure."""
    from experiments import bsi_adam
    out = tmp_path_factory.mktemp("bsi")
    with contextlib.redirect_stdout(io.StringIO()):
        bsi_adam.EXPERIMENT.run(["--quick", "--out", str(out)], progress=False)
    return out


@pytest.fixture
def repo(tmp_path, bsi_quick):
    """A repository root holding one experiment's results (bsi_adam, marked as a full run), its
    figure drawn from them, a README with generated blocks, then generated once."""
    from experiments import bsi_adam
    root = tmp_path / "repo"
    (root / "results").mkdir(parents=True)
    ds = load_dataset(bsi_quick / "bsi_adam.nc")
    ds.attrs["quick"] = 0
    save_dataset(ds, root / "results" / "bsi_adam.nc")
    bsi_adam.EXPERIMENT.draw(load_dataset(root / "results" / "bsi_adam.nc"), root / "figures")
    (root / "README.md").write_text("# x\n\n<!-- generated:claims -->\n<!-- /generated:claims -->\n\n"
                                    "<!-- generated:verdicts:bsi_adam -->\nstale\n"
                                    "<!-- /generated:verdicts:bsi_adam -->\n")
    (root / "docs").mkdir()
    (root / "docs" / "bsi_adam.md").write_text(
        "Quoted in text, not a block: `<!-- generated:claims -->`.\n\n"
        "<!-- generated:table:bsi_adam:theorem_table -->\n<!-- /generated:table:bsi_adam:theorem_table -->\n")
    code, printed, _ = run(["--root", str(root)])
    assert code == 0 and "wrote docs/verdicts.md" in printed
    return root


def test_check_passes_on_consistent_files(repo):
    code, printed, err = run(["--root", str(repo), "--check"])
    assert code == 0, err
    assert "agree with results/" in printed
    readme = (repo / "README.md").read_text()
    assert "stale" not in readme and "`wang.thm1.kappa4`" in readme
    assert "| 1-4: BSI-Adam |" in (repo / "docs" / "bsi_adam.md").read_text()


def _replace_first_number(text: str, marker: str) -> str:
    i = text.index(marker)
    j = next(k for k in range(i, len(text)) if text[k].isdigit())
    return text[:j] + str((int(text[j]) + 1) % 10) + text[j + 1:]


@pytest.mark.parametrize("path,marker", [("docs/verdicts.md", "`wang.thm1.kappa4`) |"),
                                         ("README.md", "`wang.s5.bsi-invariant-high-snr`"),
                                         ("docs/bsi_adam.md", "| 1-4: BSI-Adam |")])
def test_check_fails_after_editing_a_generated_number(repo, path, marker):
    f = repo / path
    text = f.read_text()
    edited = _replace_first_number(text, marker)
    assert edited != text
    f.write_text(edited)
    code, _, err = run(["--root", str(repo), "--check"])
    assert code == 1 and "disagrees with results/" in err


def test_check_fails_after_editing_a_results_file(repo):
    """A results number changed (and the file rewritten with a valid checksum): the verdict table
    and the figure's recorded checksum both disagree."""
    path = repo / "results" / "bsi_adam.nc"
    ds = load_dataset(path)
    ds["theorem_slope"] = ds.theorem_slope + 0.5
    save_dataset(ds, path)
    code, _, err = run(["--root", str(repo), "--check"])
    assert code == 1
    assert "docs/verdicts.md disagrees" in err and "figures/bsi_adam.png was drawn from another" in err


def test_check_fails_for_a_corrupt_results_file_and_an_unstamped_figure(repo):
    path = repo / "results" / "bsi_adam.nc"
    path.write_bytes(path.read_bytes()[:-100])
    code, _, err = run(["--root", str(repo), "--check"])
    assert code == 1 and "checksum fails" in err
    from PIL import Image
    Image.new("RGB", (4, 4)).save(repo / "figures" / "bsi_adam.png")
    assert any("records no results checksum" in p for p in verdicts.figure_problems(repo))


def test_missing_results_are_unresolved_and_the_json_lists_every_claim(repo):
    code, printed, _ = run(["--root", str(repo), "--json"])
    data = json.loads(printed)
    assert [c["id"] for c in data["claims"]] == [c.id for c in claims.CLAIMS]
    for c in data["claims"]:
        assert c["status"] in verdicts.STATUSES
        if c["experiment"] != "bsi_adam":
            assert c["status"] == "unresolved" and c["reason"] == "no results"
    stored = json.loads((repo / "results" / "verdicts.json").read_text())
    assert stored == data
    assert sum(sum(v.values()) for v in data["counts"].values()) == len(claims.CLAIMS)


def test_unknown_readme_block_fails_the_check(repo):
    (repo / "README.md").write_text("<!-- generated:nope -->\n<!-- /generated:nope -->\n")
    code, _, err = run(["--root", str(repo), "--check"])
    assert code == 1 and "'nope' has no generator" in err


@pytest.mark.parametrize("claim", [c for c in claims.CLAIMS if c.experiment == "bsi_adam"],
                         ids=lambda c: c.id)
def test_bsi_adam_measures_on_a_stored_quick_result(claim, bsi_quick):
    """Each bsi_adam measure returns its kind of measurement from the stored quick Dataset, and
    the quick Dataset's verdict is smoke; the same numbers decided as a full run hold."""
    ds = load_dataset(bsi_quick / "bsi_adam.nc")
    m = verdicts.load_function(claim.measure)(ds, **claim.args)
    assert isinstance(m, (Tuned, Estimate, Exact)) and np.isfinite(m.value)
    assert verdicts.evaluate(claim, ds).status == "smoke"
    assert verdicts.evaluate(claim, ds, quick=False).status == "holds"


def test_reports_print_verdicts_only_through_decide(bsi_quick):
    from experiments import bsi_adam
    text = bsi_adam.report(load_dataset(bsi_quick / "bsi_adam.nc"))
    lines = [line for line in text.splitlines() if line.startswith("wang.")]
    assert len(lines) == len([c for c in claims.CLAIMS if c.experiment == "bsi_adam"])
    assert all(": smoke:" in line for line in lines)
    import re
    assert not re.search(r"AGREES|DISAGREES|: (holds|fails|depends|unresolved|outside)\b", text)


def test_redraw_reproduces_the_stamped_figure(repo):
    from experiments import all as run_all
    from simlab.plotting import figure_stamp
    png = repo / "figures" / "bsi_adam.png"
    drawn = png.read_bytes()
    png.unlink()
    with contextlib.redirect_stdout(io.StringIO()):
        assert run_all.redraw(results=repo / "results", out=repo / "figures") == 0
    assert png.read_bytes() == drawn
    stem, checksum = figure_stamp(png)
    assert stem == "bsi_adam" and checksum == load_dataset(repo / "results" / "bsi_adam.nc").attrs[
        "checksum"]


def test_toy_numbers_come_from_results(repo, tmp_path):
    from experiments import _toy, bsi_adam
    toy = _toy.bsi_adam(repo / "results")
    ds = load_dataset(repo / "results" / "bsi_adam.nc")
    assert toy["theorem_slopes"][0] == pytest.approx(float(ds.theorem_slope.sel(pair="1-4:bsi")))
    assert toy["spread_adam"] == pytest.approx(
        bsi_adam.measure_spread(ds, "adam", "high_snr", toy["lr0"]).value)
    missing = _toy.bsi_adam(tmp_path)
    assert np.isnan(missing["spread_bsi"]) and missing["source"].endswith("not available")
    assert np.isnan(_toy.quadratic_gap(tmp_path)["log10_ratio"]).all()


def test_float32_casts_only_what_is_asked():
    import xarray as xr

    from simlab.cache import float32
    ds = xr.Dataset({"a": ("x", np.arange(3.0)), "b": ("x", np.arange(3.0)),
                     "i": ("x", np.arange(3))}, coords={"x": np.arange(3.0)})
    out = float32(ds, ["a"])
    assert out.a.dtype == np.float32 and out.b.dtype == np.float64 and out.x.dtype == np.float64
    assert float32(ds).b.dtype == np.float32 and float32(ds).i.dtype == ds.i.dtype
    with pytest.raises(ValueError, match="names"):
        float32(ds, ["zz"])


@pytest.mark.parametrize("tokens,h1,h2", [
    (np.frombuffer(b"ab" * 500, np.uint8), np.log(2), 0.0),         # b follows a, a follows b
    (np.frombuffer(b"aaaa", np.uint8), 0.0, 0.0),
    (np.random.default_rng(0).integers(0, 4, 200_000).astype(np.uint8), np.log(4), np.log(4)),
])
def test_ngram_entropies(tokens, h1, h2):
    from simlab.lm.data import ngram_entropies
    got1, got2 = ngram_entropies(tokens)
    assert got1 == pytest.approx(h1, abs=1e-3) and got2 == pytest.approx(h2, abs=1e-3)
    with pytest.raises(ValueError, match="tokens"):
        ngram_entropies(np.zeros((2, 2), np.uint8))


def test_a_report_on_a_run_without_the_claims_points_says_unresolved_not_a_traceback():
    """``quadratic_gap --batch-sizes 1`` has no B = 9: its report's claims read unresolved."""
    from experiments.verdicts import load_results, verdict_lines
    ds = load_results(Path(__file__).resolve().parents[1] / "results" / "quadratic_gap_retuned.nc")
    lines = verdict_lines(ds.sel(batch_size=[1]))
    assert "unresolved" in lines and "lacks what the claim compares" in lines
    assert "Traceback" not in lines
