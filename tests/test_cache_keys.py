"""A cell's cache key covers exactly the code the cell can run (``simlab.cache.code_hash_for``).

In a copy of simlab and experiments, real experiments run in real processes: an edit to an
experiment helper a cell calls recomputes that cell (it used to be served stale); edits to
``plotting.py`` and ``lm/``, which no toy cell reaches, keep every cell; and ``python -m
experiments.X`` and ``python -m experiments.all --only X`` share their cells (they used to be keyed
by ``__main__`` and ``experiments.X``)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import experiments
import simlab
from simlab.cache import code_hash_for, function_name

pytestmark = pytest.mark.slow      # real subprocesses: the whole suite's tier

ROOT = Path(simlab.__file__).resolve().parents[1]


@pytest.fixture
def checkout(tmp_path):
    """A copy of the two packages to edit; returns its root."""
    for package in (simlab, experiments):
        source = Path(package.__file__).resolve().parent
        shutil.copytree(source, tmp_path / source.name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _run(root: Path, *argv) -> str:
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-m", *argv], cwd=root, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _counts(stdout: str) -> tuple[int, int]:
    """(computed, reused) from an experiment's status line."""
    hit = re.search(r"cache hit: all (\d+) cells", stdout)
    if hit:
        return 0, int(hit.group(1))
    computed = int(re.search(r"computed (\d+) cells", stdout).group(1))
    reused = re.search(r"(\d+) loaded from cache", stdout)
    return computed, int(reused.group(1)) if reused else 0


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_a_helper_edit_recomputes_and_plotting_or_lm_edits_reuse(checkout, tmp_path):
    argv = ["experiments.surge_target", "--quick",
            "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cells")]
    computed, reused = _counts(_run(checkout, *argv))
    assert computed >= 3 and reused == 0
    total = computed

    _append(checkout / "simlab" / "plotting.py", "\n# an edit no cell can run\n")
    for file in sorted((checkout / "simlab" / "lm").glob("*.py")):
        _append(file, "\n# an edit no toy cell can run\n")
    assert _counts(_run(checkout, *argv)) == (0, total)              # every cell reused

    peaks = checkout / "experiments" / "_peaks.py"
    old = "return (float(np.exp(-b / (2 * a))) if a < 0 else float(x[i])), True"
    assert old in peaks.read_text()
    peaks.write_text(peaks.read_text().replace(old, old.replace("return (", "return 2.0 * (")))
    computed, reused = _counts(_run(checkout, *argv))
    assert computed >= 1                                             # the peak cells, at least
    assert computed + reused == total


def test_python_m_and_experiments_all_share_their_cells(checkout, tmp_path):
    cells = tmp_path / "cells"
    flags = ["--quick", "--out", str(tmp_path / "out"), "--cache-dir", str(cells)]
    computed, _ = _counts(_run(checkout, "experiments.c_total", *flags))
    assert computed >= 1
    stored = sorted(p.name for p in cells.glob("*.nc"))
    table = _run(checkout, "experiments.all", "--only", "c_total", *flags)
    row = next(line for line in table.splitlines() if line.startswith("c_total"))
    assert row.split()[1:3] == ["0", str(computed)]                  # computed 0, reused all
    assert sorted(p.name for p in cells.glob("*.nc")) == stored       # no new cell file


def test_main_is_named_by_its_real_module(monkeypatch):
    """A cell function of ``__main__`` has the key of the module it really is."""
    import types

    from experiments import c_total

    main = types.ModuleType("__main__")
    main.__file__ = c_total.__file__
    main.__spec__ = c_total.__spec__
    source = Path(c_total.__file__).read_text().replace('if __name__ == "__main__":', "if False:")
    exec(compile(source, c_total.__file__, "exec"), main.__dict__)
    monkeypatch.setitem(sys.modules, "__main__", main)
    as_main = main.__dict__["table_cell"]
    assert as_main.__module__ == "__main__"
    assert function_name(as_main) == function_name(c_total.table_cell)
    assert code_hash_for(as_main) == code_hash_for(c_total.table_cell)
    main.__spec__ = None                                             # python experiments/x.py
    monkeypatch.setattr(sys, "path", [str(ROOT)] + sys.path)
    assert function_name(as_main) == "experiments.c_total.table_cell"


HASH = """
import sys
{imports}
from simlab.cache import code_hash_for
from simlab.sweep import run_cell
from experiments import surge_target
print(code_hash_for(surge_target.peak_cell), code_hash_for(run_cell))
"""


def test_the_code_hash_does_not_depend_on_what_else_the_process_imported():
    """A bare process and one that imported every experiment, plotting and the LM package first
    give every cell function the same code hash (submodule attributes of a package differ)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    everything = ("import simlab.plotting, simlab.advise, experiments.all, experiments.c_total, "
                  "experiments.sde, experiments.bsi_adam, experiments.implicit_bias\n"
                  "import importlib.util\n"
                  "if importlib.util.find_spec('torch'): import simlab.lm, experiments.lm_gap")
    got = [subprocess.run([sys.executable, "-c", HASH.format(imports=imports)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, check=True
                          ).stdout.split() for imports in ("", everything)]
    assert got[0] == got[1] and len(got[0]) == 2
