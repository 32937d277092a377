"""numba's on-disk cache, made exact for simlab: a compiled kernel is reused while, and only while,
the source it was compiled from is byte-for-byte unchanged.

numba keys a cached function by the file that *defines* it, and keeps one index per function whose
entries are keyed by ``_index_key(signature, codegen)``. simlab's kernel is defined in
``backends/numba_backend.py`` but compiles code from ``per_run.py`` and — chosen by the *types* of
the records it is called with — the functions registered for those types (the optimizer rules of
``optim.RULES``, the problem and dynamics operations of ``kernel_ops``) and what they call. So a
kernel's cache entry is stamped in two parts (``KernelCache``):

* **the source stamp** (one per kernel; a mismatch empties its index): the modules its code
  reaches *without entering a registry* — ``simlab._source.CodeWalk`` from the kernel function,
  stopping at every registry (a module-level dict of a simlab module keyed by classes). For
  ``simulate_block``: ``numba_backend``, ``per_run``, ``kernel_ops`` (and the packages above
  them). Edits to ``lm/``, ``plotting.py``, ``theory/``, ``optim.py``, ``random.py`` … leave it
  alone.
* **the specialization stamp** (one more component of every index key): for each record class in
  the signature (nested NamedTuples included, e.g. ``Discrete.hyper``), the class's fields and the
  source of every function registered for it in any registry — found by scanning the loaded
  simlab modules for dicts keyed by classes, so a new table (e.g. optimizer transforms) counts
  without a change here — and, recursively, of the functions of ours those call (constants they
  read by value, arrays by their bytes, modules of ours by their bytes; ``random.py``'s samplers
  enter this way, through ``per_run.discrete_step``). An edit to Adam's rule changes the key of
  the specializations whose signature holds ``AdamHyper`` and no other.

A record class of ours that no registry knows contributes its whole module's bytes (a kernel may
reach code through it that this scan cannot see). Entries compiled from old code stay in the index
(numba does not prune it) but are never served: no key of the current code points at them.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import sys
import types

import numpy as np
from numba.core import caching, types as nbtypes

from .._source import CodeWalk, _file_digest, is_ours, module_name, modules_hash, \
    referenced_objects


def is_registry(obj) -> bool:
    """A dict keyed by classes (``optim.RULES``, ``kernel_ops.PROBLEM_OPS`` …)."""
    return isinstance(obj, dict) and bool(obj) and all(isinstance(k, type) for k in obj)


# ------------------------------------------------------------------------------------------------
# The source stamp: what every specialization of a kernel compiles
# ------------------------------------------------------------------------------------------------

def kernel_modules(kernel) -> dict[str, str]:
    """``{module name: file}`` that ``kernel`` (a Python function) reaches outside registries."""
    return dict(CodeWalk(opaque=is_registry).walk(kernel).modules)


@functools.lru_cache(maxsize=None)
def kernel_source_stamp(kernel) -> tuple:
    return ("simlab-kernel", modules_hash(kernel_modules(kernel)))


# ------------------------------------------------------------------------------------------------
# The specialization stamp: what the record types of one signature add
# ------------------------------------------------------------------------------------------------

def record_classes(numba_type, found=None) -> set:
    """The NamedTuple classes in ``numba_type`` (a signature tuple, a record, a tuple …)."""
    found = set() if found is None else found
    if isinstance(numba_type, (tuple, list)):
        for t in numba_type:
            record_classes(t, found)
        return found
    cls = getattr(numba_type, "instance_class", None)
    if isinstance(cls, type):
        found.add(cls)
    if isinstance(numba_type, nbtypes.BaseTuple):
        for t in numba_type.types:
            record_classes(t, found)
    return found


def registries() -> list[tuple[str, dict]]:
    """``[(name, registry)]``: every registry of a loaded simlab module."""
    out = []
    for name, module in sorted(sys.modules.items()):
        if module is None or name == "__main__" or not is_ours(name):
            continue
        out += [(f"{name}.{attr}", value) for attr, value in sorted(vars(module).items())
                if is_registry(value)]
    return out


def registrations(cls: type, tables=None) -> list[tuple[str, object]]:
    """``[(registry name, entry)]`` for ``cls`` in every registry of a loaded simlab module."""
    return [(name, table[cls]) for name, table in (tables or registries()) if cls in table]


def _entry_parts(entry) -> list[tuple[str, object]]:
    if isinstance(entry, types.FunctionType):
        return [("", entry)]
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        return [(f.name, getattr(entry, f.name)) for f in dataclasses.fields(entry)]
    if isinstance(entry, tuple) and hasattr(entry, "_fields"):
        return list(zip(entry._fields, entry))
    return sorted(vars(entry).items()) if hasattr(entry, "__dict__") else [("", entry)]


def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return repr(obj)


def _class_layout(cls: type) -> str:
    """What compiled code sees of a class: a record's fields, their annotations and defaults
    (the source of any other class)."""
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return repr((cls._fields, getattr(cls, "__annotations__", {}),
                     getattr(cls, "_field_defaults", {})))
    return _source(cls)


def _describe(obj, seen: set, digest) -> None:
    """Feed ``digest`` with what ``obj`` contributes to compiled code (see the module doc)."""
    if isinstance(obj, (bool, int, float, complex, str, bytes, type(None))):
        digest.update(f"const {obj!r}\0".encode())
        return
    if isinstance(obj, np.ndarray):
        digest.update(f"array {obj.dtype} {obj.shape}\0".encode() + obj.tobytes())
        return
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, tuple):
        for item in obj:
            _describe(item, seen, digest)
        return
    if is_registry(obj):
        return                         # entered per record type, by ``specialization_stamp``
    py_func = getattr(obj, "py_func", None)
    if isinstance(py_func, types.FunctionType):
        obj = py_func
    if isinstance(obj, types.FunctionType) and is_ours(obj.__module__):
        digest.update(f"function {module_name(sys.modules[obj.__module__])}.{obj.__qualname__}\0"
                      f"{_source(obj)}\0".encode())
        for ref in referenced_objects(obj):
            _describe(ref, seen, digest)
        for cell in obj.__closure__ or ():
            _describe(cell.cell_contents, seen, digest)
        for default in obj.__defaults__ or ():
            _describe(default, seen, digest)
        return
    if isinstance(obj, type) and is_ours(obj.__module__):
        digest.update(f"class {obj.__module__}.{obj.__qualname__}\0{_class_layout(obj)}\0"
                      .encode())
        return
    if isinstance(obj, types.ModuleType) and is_ours(obj.__name__):
        file = getattr(obj, "__file__", None)
        digest.update(f"module {module_name(obj)} {_file_digest(file) if file else ''}\0"
                      .encode())
        return
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    digest.update(f"other {getattr(obj, '__module__', '')}.{name}\0".encode())


@functools.lru_cache(maxsize=None)
def specialization_stamp(signature) -> str:
    """The hash of the registered code the record types of ``signature`` select (computed once
    per signature and process)."""
    digest = hashlib.sha256()
    seen: set = set()
    tables = registries()
    for cls in sorted(record_classes(signature), key=lambda c: f"{c.__module__}.{c.__qualname__}"):
        if not is_ours(cls.__module__):
            continue
        _describe(cls, seen, digest)
        entries = registrations(cls, tables)
        if not entries:
            _describe(sys.modules[cls.__module__], seen, digest)
        for registry, entry in entries:
            digest.update(f"registered in {registry}\0".encode())
            for field, value in _entry_parts(entry):
                digest.update(f"{field}=\0".encode())
                _describe(value, seen, digest)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------
# numba's cache with both stamps
# ------------------------------------------------------------------------------------------------

class _KernelStamp:
    """Locator mixin: the source stamp of a kernel is ``kernel_source_stamp``, not its file's
    modification time."""

    @classmethod
    def from_function(cls, py_func, py_file):
        locator = super().from_function(py_func, py_file)
        if locator is not None:
            locator._kernel = py_func
        return locator

    def get_source_stamp(self):
        return kernel_source_stamp(self._kernel)


_IMPL = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
_LOCATORS = [type(f"Kernel{base.__name__.lstrip('_')}", (_KernelStamp, base), {})
             for base in _IMPL._locator_classes]


class _KernelCacheImpl(caching.CompileResultCacheImpl):
    _locator_classes = _LOCATORS


class KernelCache(caching.FunctionCache):
    """numba's per-function disk cache, stamped by ``kernel_source_stamp`` and keyed per
    signature by ``specialization_stamp`` as well (see the module docstring)."""
    _impl_class = _KernelCacheImpl

    def _index_key(self, sig, codegen):
        return super()._index_key(sig, codegen) + (specialization_stamp(sig),)


def cache_kernel(dispatcher):
    """Give ``dispatcher`` (a ``numba.njit`` function made without ``cache=True``) the disk cache
    ``KernelCache``; returns it."""
    dispatcher._cache = KernelCache(dispatcher.py_func)
    return dispatcher
