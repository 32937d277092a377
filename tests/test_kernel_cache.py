"""numba's disk cache never serves machine code compiled from old source.

The kernel lives in ``backends/numba_backend.py`` but is compiled from ``transforms.py``, ``random.py``,
``problems/`` and ``sde/``; numba alone would only notice edits to the first. In a copy of the
package: warm the cache, edit a transform (Adam's), and check in a new process that the result changed,
that numpy and numba still agree, and that the cache is used again once the edit is compiled."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import simlab
from simlab.backends import _numba_cache

pytestmark = pytest.mark.slow          # numba kernels compiled in subprocesses

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


KERNELS = textwrap.dedent("""
    import json, sys, simlab
    from simlab import optim, problems
    from simlab.backends import numba_backend as nb
    prob = problems.block_quadratic("heterogeneous", seed=0)
    out = {}
    for name in sys.argv[1:]:
        before_hits = sum(nb.simulate_block.stats.cache_hits.values())
        before_misses = sum(nb.simulate_block.stats.cache_misses.values())
        simlab.simulate(prob, getattr(optim, name)(), [1e-2], 3, 5, 1, backend="numba")
        stats = nb.simulate_block.stats
        out[name] = {"hits": sum(stats.cache_hits.values()) - before_hits,
                     "misses": sum(stats.cache_misses.values()) - before_misses}
    print(json.dumps(out))
""")


def _kernels(root: Path, *optimizers) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", KERNELS, *optimizers], cwd=root, env=env,
                         capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def test_an_edit_recompiles_only_the_kernels_that_contain_it(tmp_path):
    """Edits to modules no kernel compiles (lm/, plotting.py, theory/) recompile nothing; an edit
    to Adam's rule recompiles the Adam kernel and no other."""
    shutil.copytree(PACKAGE, tmp_path / "simlab", ignore=shutil.ignore_patterns("__pycache__"))
    first = _kernels(tmp_path, "adam", "sgd")
    assert all(k["misses"] == 1 for k in first.values()), first

    package = tmp_path / "simlab"
    _append(package / "plotting.py", "\n# an edit\n")
    _append(package / "lm" / "model.py", "\n# an edit\n")
    _append(package / "theory" / "surge.py", "\nEDITED = 1\n")
    _append(package / "optim.py", "\n# an edit outside every rule\n")
    _append(package / "transforms.py", "\n# an edit outside every transform\n")
    unrelated = _kernels(tmp_path, "adam", "sgd")
    assert unrelated == {"adam": {"hits": 1, "misses": 0}, "sgd": {"hits": 1, "misses": 0}}

    rules = package / "transforms.py"
    old = "return -s[0] * m / (sqrt(v) * s[1] + h.eps), m, v"
    assert old in rules.read_text()
    rules.write_text(rules.read_text().replace(old, old.replace("h.eps", "(h.eps + 0.0)")))
    adam_edit = _kernels(tmp_path, "adam", "sgd")
    assert adam_edit == {"adam": {"hits": 0, "misses": 1}, "sgd": {"hits": 1, "misses": 0}}


def test_the_source_stamp_covers_the_engine_and_nothing_a_kernel_cannot_compile():
    """The stamp shared by every specialization is the engine's modules; optimizer rules,
    problems and SDE models enter per specialization; lm/, plotting, theory never."""
    from simlab.backends import numba_backend

    stamped = set(_numba_cache.kernel_modules(numba_backend.simulate_block.py_func))
    assert {"simlab.backends.numba_backend", "simlab.backends.per_run"} <= stamped
    assert not {m for m in stamped if m.startswith(("simlab.lm", "simlab.theory", "simlab.sde",
                                                    "simlab.problems"))}
    assert not stamped & {"simlab.plotting", "simlab.optim", "simlab.cache", "simlab.sweep"}


def test_a_specialization_is_stamped_by_the_code_registered_for_its_records():
    """Two optimizers → two stamps; the stamp of one signature holds its rule's source."""
    from numba import typeof

    from simlab import optim
    from simlab.backends.per_run import Discrete

    def stamp(opt):
        return _numba_cache.specialization_stamp((typeof(Discrete(opt.chain, 0.0, False, 0.0)),))

    assert stamp(optim.adam()) == stamp(optim.adam(b1=0.5))        # values are not code
    assert stamp(optim.adam()) != stamp(optim.sgd())
    assert stamp(optim.adamw()) != stamp(optim.adam())              # one more transform
    registered = _numba_cache.registrations(type(optim.adam().chain[0]))
    assert [name for name, _ in registered][0] == "simlab.transforms.TRANSFORMS"
