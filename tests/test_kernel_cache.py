"""numba's disk cache never serves machine code compiled from old source.

The kernel lives in ``backends/numba_backend.py`` but is compiled from ``transforms.py``, ``random.py``,
``problems/`` and ``sde/``; numba alone would only notice edits to the first. In a copy of the
package: warm the cache, edit a transform (Adam's), and check in a new process that the result changed,
that numpy and numba still agree, and that the cache is used again once the edit is compiled."""
from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import simlab
from simlab.backends import _numba_cache

PACKAGE = Path(simlab.__file__).resolve().parent

RUN = textwrap.dedent("""
    import json, simlab
    from simlab import optim, problems
    from simlab.backends import numba_backend as nb
    prob = problems.block_quadratic("heterogeneous", seed=0)
    opt = optim.adam(0.9, 0.99)
    fast = simlab.simulate(prob, opt, [1e-2], 3, 30, 2, backend="numba").loss.values
    ref = simlab.simulate(prob, opt, [1e-2], 3, 30, 2, backend="numpy").loss.values
    stats = nb.simulate_block.stats
    print(json.dumps({"fast": fast.tolist(), "ref": ref.tolist(),
                      "hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values())}))
""")


def _run(root: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), NUMBA_CACHE_DIR="")
    env.pop("NUMBA_CACHE_DIR")
    out = subprocess.run([sys.executable, "-c", RUN], cwd=root, env=env, capture_output=True,
                         text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_editing_a_rule_recompiles_the_kernel(tmp_path):
    shutil.copytree(PACKAGE, tmp_path / "simlab", ignore=shutil.ignore_patterns("__pycache__"))
    first = _run(tmp_path)
    again = _run(tmp_path)
    assert again["hits"] >= 1 and again["misses"] == 0          # the cache works at all
    assert again["fast"] == first["fast"]

    rules = tmp_path / "simlab" / "transforms.py"
    source = rules.read_text()
    old = "return -s[0] * m / (sqrt(v) * s[1] + h.eps), m, v"
    assert old in source
    rules.write_text(source.replace(old, "return -0.5 * s[0] * m / (sqrt(v) * s[1] + h.eps), m, v"))
    edited = _run(tmp_path)
    assert edited["misses"] >= 1                                 # recompiled, not served stale
    assert edited["fast"] != first["fast"]                       # the edit took effect
    for got, want in zip(edited["fast"][0], edited["ref"][0]):
        assert all(abs(a - b) <= 1e-12 * abs(b) for a, b in zip(got, want))
    assert _run(tmp_path)["misses"] == 0                         # and is cached from then on


def test_modules_outside_the_source_stamp_compile_nothing():
    """The stamp leaves out ``_numba_cache.EXCLUDED`` for speed; that is only safe while none of
    those modules is compiled: none may import numba."""
    for entry in _numba_cache.EXCLUDED:
        path = PACKAGE / entry
        if not path.exists():
            continue
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            tree = ast.parse(file.read_text())
            imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                        if isinstance(node, ast.Import) for alias in node.names}
            imported |= {(node.module or "").split(".")[0] for node in ast.walk(tree)
                         if isinstance(node, ast.ImportFrom)}
            assert "numba" not in imported, file
