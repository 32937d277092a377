"""Every module of simlab and experiments imports and says what it is (a docstring).

The fast tier (``python -m pytest -m "not slow"``) deselects the end-to-end tests; this table keeps
every module in it, so an edit that breaks an import is caught by the fast tier too.
"""
import importlib
import pkgutil

import pytest

import experiments
import simlab

MODULES = sorted(m.name for pkg in (simlab, experiments)
                 for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."))


def test_the_table_holds_every_package():
    assert {"simlab.simulate", "simlab.sweep", "simlab.lm.train", "simlab.backends.cuda_backend",
            "experiments._harness", "experiments.quadratic_gap", "experiments.lm_gap"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_module_imports_and_has_a_docstring(name):
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == "torch":
            pytest.skip("needs the lm extra (torch)")
        raise
    assert (module.__doc__ or "").strip(), f"{name} has no docstring"


def test_every_file_a_module_cites_is_in_the_repository():
    """Docstrings cited a DESIGN.md that the repository does not have; every cited docs/ page or
    top-level .md file must exist."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    missing = set()
    for package in ("simlab", "experiments"):
        for path in (root / package).rglob("*.py"):
            text = path.read_text()
            for cited in re.findall(r"\b(?:docs/[\w/.-]+\.md|[A-Z][A-Z_]+\.md)\b", text):
                if not (root / cited).exists():
                    missing.add(f"{path.relative_to(root)}: {cited}")
    assert not missing, sorted(missing)


def test_help_does_not_import_pyplot():
    """``--help`` is read before any figure is drawn: matplotlib.pyplot (~0.4 s, a third of the
    time an experiment takes to print its usage) is imported only when a figure is made."""
    import subprocess
    import sys
    from pathlib import Path
    code = ("import sys, runpy\n"
            "sys.argv = ['bsi_adam', '--help']\n"
            "try:\n"
            "    runpy.run_module('experiments.bsi_adam', run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "print('PYPLOT', 'matplotlib.pyplot' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage:" in proc.stdout
    assert "PYPLOT False" in proc.stdout
