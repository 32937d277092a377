"""Every module of simlab and experiments imports and says what it is (a docstring).

The fast tier (``python -m pytest -m "not slow"``) deselects the end-to-end tests; this table keeps
every module in it, so an edit that breaks an import is caught by the fast tier too.
"""
import ast
import importlib
import pkgutil
from pathlib import Path

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


# ------------------------------------------------------------------------------------------------
# The import graph: data flows top to bottom (DESIGN.md), so no simlab module imports, directly or
# through others, a module that imports it.
# ------------------------------------------------------------------------------------------------

SIMLAB_ROOT = Path(simlab.__file__).parent


def _simlab_modules() -> dict:
    """{module name: file} of every simlab module (packages by their __init__)."""
    out = {}
    for path in SIMLAB_ROOT.rglob("*.py"):
        parts = ("simlab",) + path.relative_to(SIMLAB_ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def import_graph(modules: dict, top_level_only: bool = False) -> dict:
    """{module: the simlab modules it imports}, read from the source with ``ast``: every import
    statement (inside functions too — a deferred import is still a dependency), or only the
    module-level ones. ``from P import x`` counts as P.x where that is a module, else P; the
    implicit import of a parent package is not counted."""
    graph = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        nodes = tree.body if top_level_only else ast.walk(tree)
        targets = set()
        for node in nodes:
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = (package[:len(package) - node.level + 1] if node.level else [])
                prefix = ".".join(base + ([node.module] if node.module else []))
                found = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in modules else prefix
                         for a in node.names]
            else:
                continue
            for target in found:
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    targets.add(target)
        graph[name] = targets
    return graph


def cycles(graph: dict) -> list:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


@pytest.mark.parametrize("top_level_only", [True, False], ids=["module level", "all imports"])
def test_no_import_cycle_among_simlab_modules(top_level_only):
    graph = import_graph(_simlab_modules(), top_level_only)
    assert len(graph) > 50 and "simlab.backends.interface" in graph["simlab.simulate"]
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    """The CUDA backend used to import simlab.simulate, which imports the backends."""
    graph = import_graph(_simlab_modules())
    graph["simlab.backends.cuda_backend"].add("simlab.simulate")
    assert any({"simlab.simulate", "simlab.backends", "simlab.backends.cuda_backend"} <= set(c)
               for c in cycles(graph))
