"""Content hashes of the code a computation can run, so that nothing computed by old code is ever
served, and nothing is recomputed because unrelated code changed.

Two consumers: the results cache (``simlab.cache``: a cell's key holds the hash of the code its
cell function can run) and the numba backend's on-disk kernel cache (``backends/_numba_cache.py``:
a compiled kernel is reused only while the source it was compiled from is unchanged). Both hash
file *contents* (not modification times) under *module names* (not paths), so a checkout, a copy,
a touch without an edit or another way of launching the same code keeps the caches valid.

**The code an object can run** (``CodeWalk``) is found by walking references, starting from the
object (a cell function, a kernel):

* a function defined in one of *our* modules (``simlab``, ``experiments``, and the module of the
  function the walk starts from) → its module's file, and every global its code objects (nested
  ones included) reference; a global module followed by attribute loads (``simlab.simulate``,
  ``optim.adam``) is resolved to the attribute itself; imports inside the function
  (``from .numba_backend import run``) are resolved the same way; closure cells, defaults and
  ``__wrapped__`` functions too;
* a class of ours → its module's file, its bases and everything in its namespace (methods,
  properties, static and class methods);
* a module of ours used as a value (not resolved to an attribute) → its *import closure*: the
  module and every module of ours whose objects it holds, transitively;
* containers (dict, list, tuple, set), ``functools.partial`` and instances of our classes → their
  contents; numba dispatchers → their Python function;
* anything of a third party (``np``, ``math``, ``xr``) → nothing: its version is not our source.

A module ``__main__`` (``python -m experiments.c_total``) is named by its real name (from
``__spec__``, else from its file's path below an entry of ``sys.path``), so the code hash does not
depend on how the code was launched. The walk is static: code reached only by a name built at run
time (``getattr(module, name)`` with a computed name, ``importlib.import_module(f"...")``) is not
seen; simlab's code does not dispatch that way.
"""
from __future__ import annotations

import ast
import dis
import functools
import hashlib
import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Callable, Iterable

#: The top-level packages whose source is "ours" (hashed); everything else is a third party.
OUR_PACKAGES = ("simlab", "experiments")


# ------------------------------------------------------------------------------------------------
# Module names and files
# ------------------------------------------------------------------------------------------------

def _name_from_path(path: Path) -> str | None:
    """The dotted module name of ``path`` below the longest ``sys.path`` entry holding it."""
    best = None
    for entry in sys.path:
        try:
            base = Path(entry or ".").resolve()
            rel = path.relative_to(base)
        except (ValueError, OSError):
            continue
        if best is None or len(rel.parts) < len(best.parts):
            best = rel
    if best is None:
        return None
    parts = list(best.with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) or None


def module_name(module: types.ModuleType) -> str:
    """``module.__name__``, except that ``__main__`` is named by what it really is
    (``experiments.c_total`` under ``python -m experiments.c_total``)."""
    name = module.__name__
    if name != "__main__":
        return name
    spec = getattr(module, "__spec__", None)
    if spec is not None and spec.name and spec.name != "__main__":
        return spec.name
    file = getattr(module, "__file__", None)
    resolved = _name_from_path(Path(file).resolve()) if file else None
    return resolved or name


def real_module_name(name: str | None) -> str:
    """``module_name`` of the module called ``name`` in ``sys.modules`` (``name`` if absent)."""
    module = sys.modules.get(name or "")
    return module_name(module) if module is not None else (name or "")


def is_ours(name: str | None) -> bool:
    if name == "__main__":
        name = real_module_name(name)
    return bool(name) and any(name == p or name.startswith(p + ".") for p in OUR_PACKAGES)


@functools.lru_cache(maxsize=None)
def _file_digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def modules_hash(modules: dict[str, str]) -> str:
    """SHA-256 over ``{module name: file}``: the sorted names and the bytes of their files."""
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(f"{name}\0{_file_digest(modules[name])}\0".encode())
    return digest.hexdigest()


# ------------------------------------------------------------------------------------------------
# The walk
# ------------------------------------------------------------------------------------------------

_ATTRIBUTE_LOADS = frozenset({"LOAD_ATTR", "LOAD_METHOD"})


def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def referenced_objects(function: types.FunctionType):
    """The objects ``function``'s code can reach by name: globals (a module followed by attribute
    loads resolved to the attribute), modules and names imported inside it. A name that cannot
    be resolved now (a builtin, an attribute missing) yields what it could resolve."""
    scope = function.__globals__
    package = scope.get("__package__") or None
    for code in _code_objects(function.__code__):
        instructions = list(dis.get_instructions(code))
        for i, ins in enumerate(instructions):
            if ins.opname == "LOAD_GLOBAL":
                if ins.argval not in scope:
                    continue
                obj = scope[ins.argval]
                j = i + 1
                while (isinstance(obj, types.ModuleType) and j < len(instructions)
                       and instructions[j].opname in _ATTRIBUTE_LOADS):
                    attr = instructions[j].argval
                    if hasattr(obj, attr):
                        obj = getattr(obj, attr)
                    elif is_ours(obj.__name__) and _is_module(f"{obj.__name__}.{attr}"):
                        obj = _import(f"{obj.__name__}.{attr}")     # a submodule not yet imported
                    else:
                        break
                    j += 1
                yield obj
            elif ins.opname == "IMPORT_NAME":
                yield from _imported(instructions, i, package)


def _imported(instructions, i, package):
    level = instructions[i - 2].argval if i >= 2 and instructions[i - 2].opname == "LOAD_CONST" \
        else 0
    name = "." * (level or 0) + (instructions[i].argval or "")
    try:
        absolute = importlib.util.resolve_name(name, package) if level else name
    except (ImportError, ValueError):
        return
    if not is_ours(absolute.split(".")[0]) and absolute.split(".")[0] not in OUR_PACKAGES:
        return
    module = _import(absolute)
    if module is None:
        return
    names = []
    for ins in instructions[i + 1:]:
        if ins.opname != "IMPORT_FROM":
            if ins.opname not in ("STORE_FAST", "STORE_NAME", "STORE_GLOBAL", "STORE_DEREF"):
                break
            continue
        names.append(ins.argval)
    if not names:
        yield module
    for attr in names:
        obj = getattr(module, attr, None)
        if obj is None:
            obj = _import(f"{absolute}.{attr}")
        yield module if obj is None else obj


def _import(name: str):
    """The module ``name`` (imported if it is not yet), or a stand-in holding only its file when
    it cannot be imported here (its code cannot run here either)."""
    if name in sys.modules:
        return sys.modules[name]
    try:
        return importlib.import_module(name)
    except Exception:
        try:
            spec = importlib.util.find_spec(name)
        except Exception:
            return None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return None
        stand_in = types.ModuleType(name)
        stand_in.__file__ = spec.origin
        return stand_in


@functools.lru_cache(maxsize=None)
def _static_imports(name: str, file: str, digest: str) -> tuple[str, ...]:
    is_package = Path(file).name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(Path(file).read_bytes())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            try:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""),
                                                   package) if node.level else node.module
            except (ImportError, ValueError):
                continue
            subs = {f"{base}.{a.name}" for a in node.names}
            subs = {m for m in subs if is_ours(base.split(".")[0]) and _is_module(m)}
            found |= subs
            if len(subs) < len(node.names):          # names defined in ``base`` itself
                found.add(base)
    return tuple(sorted(m for m in found if is_ours(m.split(".")[0])))


def _module_file(name: str) -> str | None:
    """The source file of module ``name``, without importing it (None if it has none)."""
    module = sys.modules.get(name)
    if module is not None and module.__name__ == name:
        return getattr(module, "__file__", None)
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec is not None and spec.origin and spec.origin.endswith(".py") \
        else None


def _is_module(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def static_imports(name: str, file: str) -> tuple[str, ...]:
    """The modules of ours that the source of module ``name`` (at ``file``) imports, anywhere in
    it. (Importing them runs the packages above them too; ``CodeWalk`` adds those packages'
    files, not their imports: a package's ``__init__`` defines names, it computes nothing.)"""
    return _static_imports(name, str(file), _file_digest(str(file)))


class CodeWalk:
    """The modules of ours (name → file) whose code the walked objects can run (module docstring).

    opaque(obj) → True stops the walk at ``obj`` (the kernel stamp does not enter registries).
    extra_modules: further module names counted as ours (the module a walk starts from).
    """

    def __init__(self, opaque: Callable[[object], bool] | None = None,
                 extra_modules: Iterable[str] = ()):
        self.opaque = opaque or (lambda obj: False)
        self.extra = set(extra_modules)
        self.modules: dict[str, str] = {}
        self._seen: set[int] = set()
        self._closed: set[str] = set()
        self._keep: list = []          # keep walked objects alive, so that their ids stay unique

    def ours(self, name: str | None) -> bool:
        return is_ours(name) or (name in self.extra) or (real_module_name(name) in self.extra)

    def hash(self) -> str:
        return modules_hash(self.modules)

    def add_module(self, module: types.ModuleType) -> None:
        """``module``'s file and those of the packages above it (their ``__init__`` runs first)."""
        self._add(module_name(module), getattr(module, "__file__", None))

    def _add(self, name: str, file: str | None) -> None:
        while file is not None and name not in self.modules:
            self.modules[name] = str(Path(file).resolve())
            name = name.rpartition(".")[0]
            file = _module_file(name) if name else None

    def import_closure(self, module: types.ModuleType) -> None:
        """``module`` and every module of ours its source imports (``static_imports``),
        transitively. Read from the source, not from the module's namespace, whose submodule
        attributes depend on what else this process happened to import."""
        self.add_module(module)
        todo = [module_name(module)]
        while todo:
            name = todo.pop()
            if name in self._closed:
                continue
            self._closed.add(name)
            file = _module_file(name)
            if file is None:
                continue
            self._add(name, file)
            todo += [m for m in static_imports(name, file) if self.ours(m)]

    def walk(self, obj) -> "CodeWalk":
        stack = [obj]
        while stack:
            item = stack.pop()
            if isinstance(item, (str, bytes, int, float, complex, bool, type(None))):
                continue
            if id(item) in self._seen or self.opaque(item):
                continue
            self._seen.add(id(item))
            self._keep.append(item)
            stack.extend(self._children(item))
        return self

    def _children(self, obj) -> list:
        if isinstance(obj, types.ModuleType):
            if self.ours(obj.__name__):
                self.import_closure(obj)
            return []
        if isinstance(obj, types.FunctionType):
            if not self.ours(obj.__module__):
                return [obj.__wrapped__] if hasattr(obj, "__wrapped__") else []
            self.add_module(sys.modules[obj.__module__])
            out = list(referenced_objects(obj))
            out += [c.cell_contents for c in (obj.__closure__ or ()) if _filled(c)]
            out += list(obj.__defaults__ or ()) + list((obj.__kwdefaults__ or {}).values())
            if hasattr(obj, "__wrapped__"):
                out.append(obj.__wrapped__)
            return out
        if isinstance(obj, types.MethodType):
            return [obj.__func__, obj.__self__]
        if isinstance(obj, type):
            if not self.ours(obj.__module__):
                return []
            module = sys.modules.get(obj.__module__)
            if module is not None:
                self.add_module(module)
            return [b for b in obj.__bases__ if b is not object] + list(vars(obj).values())
        if isinstance(obj, (staticmethod, classmethod)):
            return [obj.__func__]
        if isinstance(obj, property):
            return [obj.fget, obj.fset, obj.fdel]
        if isinstance(obj, functools.cached_property):
            return [obj.func]
        if isinstance(obj, functools.partial):
            return [obj.func, *obj.args, *obj.keywords.values()]
        if isinstance(obj, dict):
            return list(obj.keys()) + list(obj.values())
        if isinstance(obj, (list, tuple, set, frozenset)):
            out = list(obj)
            if type(obj) not in (list, tuple, set, frozenset):        # a NamedTuple of ours
                out.append(type(obj))
            return out
        py_func = getattr(obj, "py_func", None)                       # a numba dispatcher
        if isinstance(py_func, types.FunctionType):
            return [py_func]
        cls = type(obj)
        if self.ours(getattr(cls, "__module__", None)):
            return [cls] + list(getattr(obj, "__dict__", {}).values())
        return []


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def code_modules(*objects, opaque=None, extra_modules: Iterable[str] = ()) -> dict[str, str]:
    """``{module name: file}`` of the code ``objects`` can run (see the module docstring)."""
    walk = CodeWalk(opaque, extra_modules)
    for obj in objects:
        walk.walk(obj)
    return dict(walk.modules)
