"""Input validation shared by every public function.

Every check raises ``ValueError`` naming the argument, the value it got and the allowed range,
before any work starts (README.md, "Decisions the issues left open": Validation).
"""
from __future__ import annotations

import math
import os
from numbers import Integral, Real

import numpy as np


def _fmt(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    return repr(value)


def finite_real(name: str, value) -> float:
    """A finite real scalar."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise ValueError(f"{name}={_fmt(value)} must be a finite real number")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be finite")
    return value


def in_range(name: str, value, lo: float = -math.inf, hi: float = math.inf,
             lo_closed: bool = True, hi_closed: bool = True) -> float:
    """A finite real scalar in the interval given by ``lo``, ``hi`` and the closedness flags."""
    value = finite_real(name, value)
    ok_lo = value >= lo if lo_closed else value > lo
    ok_hi = value <= hi if hi_closed else value < hi
    if not (ok_lo and ok_hi):
        left = "[" if lo_closed else "("
        right = "]" if hi_closed else ")"
        raise ValueError(f"{name}={value!r} is outside the allowed range {left}{lo}, {hi}{right}")
    return value


def positive(name: str, value) -> float:
    """A finite real scalar > 0."""
    return in_range(name, value, 0.0, math.inf, lo_closed=False)


def nonnegative(name: str, value) -> float:
    return in_range(name, value, 0.0, math.inf)


def beta(name: str, value) -> float:
    """An exponential-averaging coefficient in [0, 1)."""
    return in_range(name, value, 0.0, 1.0, hi_closed=False)


def integer(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (not a bool) in [lo, hi]."""
    if isinstance(value, bool) or not isinstance(value, (Integral, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name}={_fmt(value)} must be an integer")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else str(lo)
        hi_s = "inf" if hi is None else str(hi)
        raise ValueError(f"{name}={value!r} is outside the allowed range [{lo_s}, {hi_s}]")
    return value


def boolean(name: str, value) -> bool:
    """A bool (or numpy bool); strings such as "False" and numbers are refused, not coerced."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={_fmt(value)} must be a bool (True or False)")
    return bool(value)


def choice(name: str, value, allowed) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, allowed))}")
    return value


def finite_array(name: str, value, ndim: int | None = None, shape: tuple | None = None,
                 dtype=np.float64) -> np.ndarray:
    """A finite float array, optionally of a given ndim or shape (None entries match anything)."""
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}={_fmt(value)} is not a numeric array ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = tuple("any" if s is None else s for s in shape)
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return arr


def symmetric_psd(name: str, matrix, strict: bool = False, rtol: float = 1e-10) -> np.ndarray:
    """A finite, square, symmetric, positive semi-definite (or definite if ``strict``) matrix."""
    arr = finite_array(name, matrix, ndim=2)
    if arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be square, got shape {arr.shape}")
    scale = max(float(np.max(np.abs(arr))), 1e-300)
    asym = float(np.max(np.abs(arr - arr.T)))
    if asym > rtol * scale:
        raise ValueError(f"{name} is not symmetric (max |A - A^T| = {asym:.3g}; "
                         f"allowed: {rtol:g} relative to max |A|)")
    diag = np.diag(arr)
    if np.count_nonzero(arr - np.diag(diag)) == 0:
        lo = float(diag.min())                   # diagonal: no O(d³) eigendecomposition
    else:
        lo = float(np.linalg.eigvalsh(0.5 * (arr + arr.T))[0])
    if strict and lo <= 0:
        raise ValueError(f"{name} is not positive definite (smallest eigenvalue {lo:.3g}); "
                         "it must be > 0")
    if lo < -rtol * scale * arr.shape[0]:
        raise ValueError(f"{name} is not positive semi-definite (smallest eigenvalue {lo:.3g}); "
                         "it must be >= 0")
    return arr


def real_or_array(name: str, value, lo: float = -math.inf, hi: float = math.inf,
                  lo_closed: bool = True, hi_closed: bool = True) -> np.ndarray:
    """A finite scalar or array whose every entry lies in the given interval."""
    arr = finite_array(name, value)
    ok = (arr >= lo if lo_closed else arr > lo) & (arr <= hi if hi_closed else arr < hi)
    if not np.all(ok):
        bad = arr[~ok].ravel()[0]
        left = "[" if lo_closed else "("
        right = "]" if hi_closed else ")"
        raise ValueError(f"{name} has value {bad!r} outside the allowed range {left}{lo}, {hi}{right}")
    return arr


def total_memory() -> int:
    """This machine's physical memory in bytes (a large number where it cannot be read)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 1 << 50


def memory(what: str, nbytes: float, hint: str = "") -> None:
    """Refuse, before any allocation, a request whose arrays would not fit in 80 % of memory."""
    limit = 0.8 * total_memory()
    if nbytes > limit:
        raise ValueError(f"{what} needs about {nbytes / 1e9:.3g} GB, more than the allowed "
                         f"{limit / 1e9:.3g} GB (80 % of this machine's memory){hint}")
