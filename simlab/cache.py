"""Results on disk: a per-cell, content-addressed, checksummed store, and atomic result files.

A *cell* is one unit of work (one ``simulate`` call of a sweep, one theory table, …) whose result
is an ``xarray.Dataset``. ``CellStore`` keeps every finished cell in its own file

    ROOT/<key>.<checksum>.nc

* ``key`` = SHA-256 of the JSON of (the cell function's name, the cell's resolved configuration,
  the hash of the code the cell can run: ``code_hash_for(function, cell)``). Changing an argument,
  or any byte of that code, gives a new key: old results are never served for new code.

  **The code a cell can run** is walked from the cell function (``simlab._source.CodeWalk``): its
  own module's file; every function and class of ``simlab``/``experiments`` that its code
  references, through globals, attribute loads on modules (``simlab.simulate``), imports inside
  functions, registries and containers, transitively (each contributes its module's file); a
  module used as a value contributes its import closure; third-party code contributes nothing.
  The classes of ours among the objects the cell holds (a sweep cell's problem and optimizer)
  are walked too. Nothing else counts: an edit to ``plotting.py`` or ``lm/`` keeps the cells of
  the toy experiments, whose cell functions never reach them, while an edit to an
  ``experiments/_peaks.py`` helper a cell calls recomputes that cell. Modules are named by their
  real name (``__main__`` resolved through ``__spec__``), so ``python -m experiments.X`` and
  ``python -m experiments.all --only X`` share every cell.
* ``checksum`` = SHA-256 (first 16 hex digits) of the file's bytes. A file whose bytes no longer
  match its name (overwritten in place, truncated, bit rot) is deleted on load and the cell is
  recomputed.
* Writes are atomic: the bytes go to ``ROOT/.<key>.<host>.<pid>.<random>.tmp``, are fsync'ed, made
  mode 0644 and renamed into place with ``os.replace``; a reader sees the whole file or none.
  ``clean_stale()`` removes temporary files left by a killed writer (its pid is gone on this host,
  or the file is older than a day).

``save_dataset`` / ``load_dataset`` write and read the one results file an experiment exports
(``figures/<name>.nc``): atomic, mode 0644, not rewritten when its bytes would not change, and
carrying a checksum of its own variables in ``attrs["checksum"]``.

netCDF3 (xarray's scipy engine, no extra dependency) has no bool or 64-bit integers: bools are
stored as int8 and int64 as int32, flagged in the variable's attributes and restored on load.
"""
from __future__ import annotations

import functools
import errno
import hashlib
import io
import json
import os
import secrets
import shutil
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from ._source import code_modules, is_ours, modules_hash, real_module_name

ENGINE = "scipy"
FILE_MODE = 0o644
STALE_AFTER_S = 24 * 3600.0
_CHECKSUM_DIGITS = 16


# ------------------------------------------------------------------------------------------------
# Keys
# ------------------------------------------------------------------------------------------------

def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "config") and callable(obj.config):
        return obj.config()
    raise TypeError(f"cannot hash configuration value {obj!r} of type {type(obj).__name__}; "
                    "allowed: JSON data, numpy arrays/scalars, or objects with a config() method")


def config_json(config) -> str:
    """The canonical JSON text of ``config`` (keys sorted, numpy values and ``config()``-objects
    resolved); a TypeError names a value that has no stable text."""
    return json.dumps(config, sort_keys=True, default=_jsonable, allow_nan=True)


def config_key(config, digits: int = 32) -> str:
    """A stable hex SHA-256 prefix of ``config_json(config)``."""
    return hashlib.sha256(config_json(config).encode()).hexdigest()[:digits]


# ------------------------------------------------------------------------------------------------
# Encoding for netCDF3
# ------------------------------------------------------------------------------------------------

def _encodable(ds: xr.Dataset) -> xr.Dataset:
    """netCDF3 (scipy) has no bool or int64: store bools as int8, int64 as int32 (flagged)."""
    ds = ds.copy()
    for name in list(ds.variables):
        var = ds[name]
        if var.dtype == bool:
            ds[name] = var.astype(np.int8).assign_attrs(simlab_dtype="bool")
        elif var.dtype in (np.int64, np.uint64):
            values = var.values
            if values.size and (values.min() < np.iinfo(np.int32).min
                                or values.max() > np.iinfo(np.int32).max):
                raise ValueError(f"variable {name!r} has integers outside the int32 range, which "
                                 "netCDF3 cannot store; store them as float64")
            ds[name] = var.astype(np.int32).assign_attrs(simlab_dtype=str(var.dtype))
    return ds


def _decoded(ds: xr.Dataset) -> xr.Dataset:
    for name in list(ds.variables):
        kind = ds[name].attrs.get("simlab_dtype")
        if kind is not None:
            attrs = {k: v for k, v in ds[name].attrs.items() if k != "simlab_dtype"}
            restored = ds[name].astype(kind)
            restored.attrs = attrs
            ds[name] = restored
    return ds


def dataset_bytes(ds: xr.Dataset) -> bytes:
    """The netCDF3 bytes of ``ds`` (encoded as above)."""
    return bytes(_encodable(ds).to_netcdf(engine=ENGINE))


def dataset_from_bytes(data: bytes) -> xr.Dataset:
    return _decoded(xr.load_dataset(io.BytesIO(data), engine=ENGINE))


# ------------------------------------------------------------------------------------------------
# Atomic files
# ------------------------------------------------------------------------------------------------

def _temporary_name(stem: str) -> str:
    return f".{stem}.{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}.tmp"


class DiskFullError(OSError, ValueError):
    """No space left for a file simlab writes: names the file and the bytes it needs (a
    ValueError too, so that the command line reports it in one line with exit code 2)."""

    def __str__(self):
        return self.strerror


def write_atomic(path, data: bytes, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to ``path`` atomically: temporary file in the same folder, fsync, chmod
    ``mode``, ``os.replace``, fsync of the folder. A crash leaves the old file or the new one; a
    full disk leaves the old file and raises ``DiskFullError``."""
    path = Path(path)
    tmp = path.parent / _temporary_name(path.name)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)                    # the umask may have narrowed os.open's mode
        os.replace(tmp, path)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        raise DiskFullError(exc.errno, _disk_full_message(path, len(data))) from None
    finally:
        if tmp.exists():
            tmp.unlink()
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return path
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
    return path


def _disk_full_message(path: Path, needed: int) -> str:
    try:
        free = f"{shutil.disk_usage(path.parent).free} bytes free"
    except OSError:
        free = "free space unknown"
    return (f"no space left on the device to write {path}: it needs {needed} bytes ({free}); "
            "free some space or write elsewhere (--out / --cache-dir)")


def check_writable(folder, what: str = "out") -> Path:
    """Create ``folder`` if needed and prove it writable by writing and removing a temporary
    file; a ValueError ``{what}=<folder> is not writable: <reason>`` otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / _temporary_name("write-check")
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{what}={str(folder)!r} is not writable: {reason}; allowed: a folder "
                         "this user can create files in") from None
    return folder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder, older_than_s: float = STALE_AFTER_S) -> list[Path]:
    """Remove the temporary files of writers that died (``.*.<host>.<pid>.<hex>.tmp`` whose pid
    is gone on this host, or any such file older than ``older_than_s``); returns the removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    host, now, removed = socket.gethostname(), time.time(), []
    for tmp in folder.glob(".*.tmp"):
        parts = tmp.name[:-len(".tmp")].rsplit(".", 3)
        try:
            age = now - tmp.stat().st_mtime
        except FileNotFoundError:
            continue
        dead = False
        if len(parts) == 4 and parts[1] == host and parts[2].isdigit():
            dead = not _pid_alive(int(parts[2]))
        if dead or age > older_than_s:
            try:
                tmp.unlink()
                removed.append(tmp)
            except FileNotFoundError:
                pass
    return removed


@functools.lru_cache(maxsize=None)
def _function_modules(function: Callable) -> tuple:
    return tuple(sorted(code_modules(function, extra_modules=[function.__module__]).items()))


@functools.lru_cache(maxsize=None)
def _type_modules(cls: type) -> tuple:
    return tuple(sorted(code_modules(cls).items()))


def _types_of_ours(cell) -> set:
    """The classes of ours among ``cell`` and the objects it holds (containers, attributes)."""
    found, stack, seen = set(), [cell], set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None))):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(obj.values())
            continue
        if type(obj) in (list, tuple, set, frozenset):
            stack.extend(obj)
            continue
        cls = type(obj)
        if is_ours(getattr(cls, "__module__", None)) and cls not in found:
            found.add(cls)
            stack.extend(getattr(obj, "__dict__", {}).values())
            if isinstance(obj, tuple):
                stack.extend(obj)
    return found


def code_hash_for(function: Callable, cell=None) -> str:
    """The hash of the code that computing ``cell`` with ``function`` can run: the modules that
    ``function`` reaches (``simlab._source.CodeWalk``, the function's own module included) and
    those of the classes of ours among the objects ``cell`` holds (a sweep cell's problem and
    optimizer). Nothing else: an edit to a module neither of them reaches keeps the key."""
    modules = dict(_function_modules(function))
    for cls in _types_of_ours(cell) if cell is not None else ():
        modules.update(_type_modules(cls))
    return modules_hash(modules)


def function_name(function: Callable) -> str:
    """``module.qualname`` of a cell function (part of its cells' keys)."""
    return f"{real_module_name(function.__module__)}.{function.__qualname__}"


# ------------------------------------------------------------------------------------------------
# The per-cell store
# ------------------------------------------------------------------------------------------------

class CellStore:
    """Finished cells as content-addressed, checksummed files under ``root`` (see module doc).

    code_hash: the hash of the code that computes the cells, part of every key; default
    ``code_hash_for(function)`` of each cell's function (see the module docstring).
    """

    def __init__(self, root, code_hash: str | None = None):
        self.root = Path(root)
        self.code_hash = None if code_hash is None else str(code_hash)

    def __repr__(self):
        return f"CellStore({str(self.root)!r}, code_hash={self.code_hash!r})"

    def key(self, function: Callable, config, cell=None) -> str:
        """The key of the cell that ``function`` computes from ``config`` (``cell``: the object
        handed to ``function``, default ``config``, whose classes' code counts too; see
        ``code_hash_for``)."""
        cell = config if cell is None else cell
        code = code_hash_for(function, cell) if self.code_hash is None else self.code_hash
        return config_key({"function": function_name(function), "config": config, "code": code})

    def prepare(self) -> list[Path]:
        """Check that ``root`` is writable (ValueError otherwise); remove stale temporaries."""
        check_writable(self.root, "cache_dir")
        return clean_stale(self.root)

    def _files(self, key: str) -> list[Path]:
        return sorted(self.root.glob(f"{key}.*.nc"))

    def __contains__(self, key: str) -> bool:
        return self.load(key) is not None

    def load(self, key: str, sizes: dict | None = None) -> xr.Dataset | None:
        """The stored cell ``key``, or None if absent; a file whose bytes fail the checksum (or
        that cannot be parsed, or whose dims do not have the declared ``sizes``: dim → length)
        is deleted and None returned, so the cell is recomputed (a wrong-sized one with a
        warning naming the file)."""
        for path in self._files(key):
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                continue
            expected = path.name[len(key) + 1:-len(".nc")]
            ok = hashlib.sha256(data).hexdigest()[:_CHECKSUM_DIGITS] == expected
            ds = None
            if ok:
                try:
                    ds = dataset_from_bytes(data)
                except Exception:          # a checksum collision on garbage: treat as corrupt
                    ds = None
            if ds is None or ds.attrs.get("simlab_cell_key") != key:
                path.unlink(missing_ok=True)
                continue
            wrong = {d: (ds.sizes.get(d), n) for d, n in (sizes or {}).items()
                     if ds.sizes.get(d) != n}
            if wrong:
                path.unlink(missing_ok=True)
                found = ", ".join(f"{d}={got} (declared {n})" for d, (got, n) in wrong.items())
                warnings.warn(f"cache cell {path} does not fit its declared shape: {found}; "
                              "deleted, it is recomputed", RuntimeWarning, stacklevel=2)
                continue
            ds.attrs = {k: v for k, v in ds.attrs.items() if not k.startswith("simlab_cell_")}
            return ds
        return None

    def save(self, key: str, ds: xr.Dataset, config=None) -> Path:
        """Persist ``ds`` as cell ``key`` atomically (mode 0644); returns the file's path."""
        out = ds.copy()
        out.attrs = {**ds.attrs, "simlab_cell_key": key}
        if config is not None:
            out.attrs["simlab_cell_config"] = config_json(config)
        data = dataset_bytes(out)
        digest = hashlib.sha256(data).hexdigest()[:_CHECKSUM_DIGITS]
        self.root.mkdir(parents=True, exist_ok=True)
        path = write_atomic(self.root / f"{key}.{digest}.nc", data)
        for other in self._files(key):             # an older copy of the same cell
            if other != path:
                other.unlink(missing_ok=True)
        return path

    def keys(self) -> set[str]:
        """Keys of the cell files present (not verified)."""
        return {p.name.split(".", 1)[0] for p in self.root.glob("*.nc")} if self.root.is_dir() \
            else set()


# ------------------------------------------------------------------------------------------------
# An experiment's exported results file
# ------------------------------------------------------------------------------------------------

def variables_checksum(ds: xr.Dataset) -> str:
    """SHA-256 over every variable's name, dims and values (coordinates included)."""
    digest = hashlib.sha256()
    for name in sorted(ds.variables, key=str):
        var = ds.variables[name]
        digest.update(f"{name}|{var.dims}|".encode())
        values = np.asarray(var.values)
        if values.dtype.kind in "OUS":
            digest.update(json.dumps([str(v) for v in values.ravel()]).encode())
        else:
            if values.dtype.kind in "fc":          # one NaN (payloads and signs vary)
                values = np.where(np.isnan(values), np.nan, values)
            digest.update(str(values.dtype).encode() + str(values.shape).encode())
            digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def _export(ds: xr.Dataset, path, key: str | None) -> tuple[Path, bool, bytes]:
    path = Path(path)
    out = ds.copy()
    out.attrs = {**ds.attrs, "complete": 1, "checksum": variables_checksum(_encodable(ds))}
    if key is not None:
        out.attrs["cache_key"] = key
    data = dataset_bytes(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_bytes() == data:
            return path, False, data
    except OSError:
        pass
    write_atomic(path, data)
    return path, True, data


def save_dataset(ds: xr.Dataset, path, key: str | None = None) -> tuple[Path, bool]:
    """Write ``ds`` to ``path`` atomically with ``attrs["checksum"]`` (and ``cache_key``).
    Returns (path, written): an existing file with the same bytes is left untouched."""
    path, written, _ = _export(ds, path, key)
    return path, written


def export_dataset(ds: xr.Dataset, path, key: str | None = None) -> tuple[Path, xr.Dataset]:
    """``save_dataset``, returning (path, the Dataset read back from the bytes it wrote): exactly
    what ``load_dataset(path)`` gives, without reading ``path`` again — another process writing
    the same file meanwhile cannot swap its results for these."""
    path, _, data = _export(ds, path, key)
    return path, dataset_from_bytes(data)


def float32(ds: xr.Dataset, names=None) -> xr.Dataset:
    """``ds`` with its float64 data variables (``names``, default all; coordinates never) cast to
    float32: 7 significant digits, half the bytes of a shipped results file."""
    names = list(ds.data_vars) if names is None else list(names)
    missing = [n for n in names if n not in ds.data_vars]
    if missing:
        raise ValueError(f"names={missing!r} are not data variables of the Dataset "
                         f"(allowed: {sorted(map(str, ds.data_vars))})")
    return ds.assign({n: ds[n].astype(np.float32) for n in names if ds[n].dtype == np.float64})


def load_dataset(path, key: str | None = None) -> xr.Dataset | None:
    """The dataset at ``path`` if it is complete, its checksum holds (and its ``cache_key`` is
    ``key``, when given); None otherwise."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        raw = xr.load_dataset(path, engine=ENGINE)
    except Exception:          # unreadable or truncated: treat as absent
        return None
    if int(raw.attrs.get("complete", 0)) != 1:
        return None
    if "checksum" in raw.attrs and raw.attrs["checksum"] != variables_checksum(raw):
        return None
    if key is not None and raw.attrs.get("cache_key") != key:
        return None
    return _decoded(raw)
