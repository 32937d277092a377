"""Content hashes of simlab's own source, so that nothing computed by old code is ever served.

Two consumers: the numba backend's on-disk kernel cache (``backends/_numba_cache.py``), whose
compiled machine code must be thrown away when any source it was compiled from changes, and the
results cache (``simlab.cache``), whose cells must be recomputed when the code that computed them
changes. Both hash file *contents* (not modification times), so a checkout, a copy or a touch
without an edit keeps the caches valid.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Iterable

PACKAGE_ROOT = Path(__file__).resolve().parent


def files_hash(paths: Iterable[Path], root: Path = PACKAGE_ROOT) -> str:
    """SHA-256 (hex) over the sorted relative paths and the bytes of ``paths``."""
    digest = hashlib.sha256()
    for path in sorted(Path(p).resolve() for p in paths):
        try:
            name = path.relative_to(root).as_posix()
        except ValueError:
            name = path.as_posix()
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def python_files(root: Path = PACKAGE_ROOT, exclude: Iterable[str] = ()) -> list[Path]:
    """Every ``*.py`` file below ``root`` except those under the relative paths in ``exclude``."""
    skip = tuple(root / e for e in exclude)
    return [p for p in root.rglob("*.py")
            if "__pycache__" not in p.parts and not any(p == s or s in p.parents for s in skip)]


@functools.lru_cache(maxsize=None)
def tree_hash(exclude: tuple[str, ...] = ()) -> str:
    """The hash of simlab's Python source (minus ``exclude``), computed once per process."""
    return files_hash(python_files(PACKAGE_ROOT, exclude))
