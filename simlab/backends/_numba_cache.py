"""numba's on-disk cache, made safe for simlab: a compiled kernel is reused only while every source
file it can have been compiled from is byte-for-byte unchanged.

numba keys a cached function by the source of the file that *defines* it. simlab's kernels are
defined in ``backends/numba_backend.py`` but compile code from ``optim.py`` (the rules),
``random.py``, ``problems/`` and ``sde/``; editing a rule there would leave numba serving the old
machine code. The locators installed here give every numba function defined in a simlab file the
*source stamp* ``tree_hash(EXCLUDED)``: the hash of all of simlab's Python source except the
modules listed in ``EXCLUDED``, which never compile (a test checks that none of them imports
numba). Any edit elsewhere invalidates every simlab kernel's cache; functions of other packages
are untouched.
"""
from __future__ import annotations

from pathlib import Path

from numba.core import caching

from .._source import PACKAGE_ROOT, tree_hash

#: simlab modules no compiled code is built from (pure Python/numpy/torch); edits there keep the
#: kernel cache.
EXCLUDED = ("lm", "theory", "plotting.py", "advise.py", "sweep.py", "cache.py")


def kernel_source_stamp() -> tuple:
    return ("simlab-source", tree_hash(EXCLUDED))


def _is_simlab_file(py_file) -> bool:
    try:
        Path(py_file).resolve().relative_to(PACKAGE_ROOT)
    except (ValueError, OSError):
        return False
    return True


class _SourceTreeStamp:
    """Mixin: for functions defined in simlab, the source stamp is the hash of simlab's source."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if not _is_simlab_file(py_file):
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return kernel_source_stamp()


def _stamped(base):
    return type(f"SimlabSourceTree{base.__name__.lstrip('_')}", (_SourceTreeStamp, base), {})


def install() -> None:
    """Put simlab's stamped locators in front of numba's own (idempotent)."""
    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
    if any(issubclass(c, _SourceTreeStamp) for c in impl._locator_classes):
        return
    names = ("UserProvidedCacheLocator", "_UserProvidedCacheLocator", "InTreeCacheLocator",
             "_InTreeCacheLocator", "UserWideCacheLocator", "_UserWideCacheLocator")
    bases = [getattr(caching, n) for n in names if hasattr(caching, n)]
    impl._locator_classes[:0] = [_stamped(b) for b in bases]
