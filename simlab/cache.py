"""Content-addressed results: key = hash of the resolved configuration; atomic writes.

A results file is an ``xarray.Dataset`` in netCDF (scipy engine) whose attributes carry
``cache_key`` and ``complete = 1``. It is written to a temporary file in the same folder,
flushed to disk and moved into place with ``os.replace``, so a reader sees either the old file or
the new one, never half of one. A file whose key differs, that is unreadable or that lacks the
completion mark is ignored and recomputed.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import xarray as xr

ENGINE = "scipy"


def _jsonable(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if hasattr(obj, "config"):
        return obj.config()
    raise TypeError(f"cannot hash configuration value {obj!r}")


def config_key(config: dict) -> str:
    """A stable 16-hex-digit SHA-256 prefix of the JSON of ``config`` (keys sorted)."""
    text = json.dumps(config, sort_keys=True, default=_jsonable)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _encodable(ds: xr.Dataset) -> xr.Dataset:
    """netCDF3 (scipy) has no bool or int64: store bools as int8, int64 as int32 (flagged)."""
    ds = ds.copy()
    for name in list(ds.variables):
        var = ds[name]
        if var.dtype == bool:
            ds[name] = var.astype(np.int8).assign_attrs(simlab_dtype="bool")
        elif var.dtype == np.int64 or var.dtype == np.uint64:
            ds[name] = var.astype(np.int32).assign_attrs(simlab_dtype=str(var.dtype))
    return ds


def _decoded(ds: xr.Dataset) -> xr.Dataset:
    for name in list(ds.variables):
        kind = ds[name].attrs.get("simlab_dtype")
        if kind is not None:
            attrs = {k: v for k, v in ds[name].attrs.items() if k != "simlab_dtype"}
            ds[name] = ds[name].astype(kind).assign_attrs(attrs)
    return ds


def save_dataset(ds: xr.Dataset, path, key: str | None = None) -> Path:
    """Write ``ds`` to ``path`` atomically (temporary file + fsync + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = _encodable(ds)
    out.attrs = {**ds.attrs, "complete": 1}
    if key is not None:
        out.attrs["cache_key"] = key
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        out.to_netcdf(tmp, engine=ENGINE)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_dataset(path, key: str | None = None) -> xr.Dataset | None:
    """The dataset at ``path`` if it is complete (and has cache key ``key``), else None."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        ds = xr.load_dataset(path, engine=ENGINE)
    except Exception:          # unreadable or truncated: treat as absent, it will be rewritten
        return None
    if int(ds.attrs.get("complete", 0)) != 1:
        return None
    if key is not None and ds.attrs.get("cache_key") != key:
        return None
    return _decoded(ds)


def cached(path, config: dict, compute: Callable[[], xr.Dataset], use_cache: bool = True):
    """Return (dataset, was_cached): the stored result for ``config`` or ``compute()`` saved."""
    key = config_key(config)
    if use_cache:
        ds = load_dataset(path, key)
        if ds is not None:
            return ds, True
    ds = compute()
    ds.attrs["config"] = json.dumps(config, sort_keys=True, default=_jsonable)
    save_dataset(ds, path, key)
    return load_dataset(path, key), False
