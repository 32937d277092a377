"""Results on disk: a per-cell, content-addressed, checksummed store, and atomic result files.

A *cell* is one unit of work (one ``simulate`` call of a sweep, one theory table, …) whose result
is an ``xarray.Dataset``. ``CellStore`` keeps every finished cell in its own file

    ROOT/<key>.<checksum>.nc

* ``key`` = SHA-256 of the JSON of (the cell function's name, the cell's resolved configuration,
  the hash of the source code that computes it: ``simlab._source.tree_hash()``, plus the bytes of
  the function's own module when it lives outside simlab, e.g. an experiment). Changing an
  argument, or any byte of that source, gives a new key: old results are never served for new
  code.
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
import hashlib
import io
import json
import os
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

from ._source import PACKAGE_ROOT, files_hash, tree_hash

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


def write_atomic(path, data: bytes, mode: int = FILE_MODE) -> Path:
    """Write ``data`` to ``path`` atomically: temporary file in the same folder, fsync, chmod
    ``mode``, ``os.replace``, fsync of the folder. A crash leaves the old file or the new one."""
    path = Path(path)
    tmp = path.parent / _temporary_name(path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)                    # the umask may have narrowed os.open's mode
        os.replace(tmp, path)
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
def _module_code_hash(module_file: str | None) -> str:
    if module_file is None:
        return tree_hash()
    path = Path(module_file).resolve()
    if PACKAGE_ROOT in path.parents:
        return tree_hash()
    return hashlib.sha256((tree_hash() + files_hash([path])).encode()).hexdigest()


def code_hash_for(function: Callable) -> str:
    """The hash of the code behind ``function``: simlab's source, plus the function's own module
    file when that lies outside simlab (an experiment's cell functions)."""
    module = sys.modules.get(getattr(function, "__module__", None) or "")
    return _module_code_hash(getattr(module, "__file__", None))


def function_name(function: Callable) -> str:
    """``module.qualname`` of a cell function (part of its cells' keys)."""
    return f"{function.__module__}.{function.__qualname__}"


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

    def key(self, function: Callable, config) -> str:
        """The key of the cell that ``function`` computes from ``config``."""
        code = code_hash_for(function) if self.code_hash is None else self.code_hash
        return config_key({"function": function_name(function), "config": config, "code": code})

    def prepare(self) -> list[Path]:
        """Check that ``root`` is writable (ValueError otherwise); remove stale temporaries."""
        check_writable(self.root, "cache_dir")
        return clean_stale(self.root)

    def _files(self, key: str) -> list[Path]:
        return sorted(self.root.glob(f"{key}.*.nc"))

    def __contains__(self, key: str) -> bool:
        return self.load(key) is not None

    def load(self, key: str) -> xr.Dataset | None:
        """The stored cell ``key``, or None if absent; a file whose bytes fail the checksum (or
        that cannot be parsed) is deleted and None returned, so the cell is recomputed."""
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


def save_dataset(ds: xr.Dataset, path, key: str | None = None) -> tuple[Path, bool]:
    """Write ``ds`` to ``path`` atomically with ``attrs["checksum"]`` (and ``cache_key``).
    Returns (path, written): an existing file with the same bytes is left untouched."""
    path = Path(path)
    out = ds.copy()
    out.attrs = {**ds.attrs, "complete": 1, "checksum": variables_checksum(_encodable(ds))}
    if key is not None:
        out.attrs["cache_key"] = key
    data = dataset_bytes(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.read_bytes() == data:
            return path, False
    except OSError:
        pass
    write_atomic(path, data)
    return path, True


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
