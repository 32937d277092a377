"""The command-line conventions shared by every experiment (DESIGN.md, "Results, figures, CLI").

Flags every experiment takes: ``--quick``, ``--out DIR``, ``--cache-dir DIR``, ``--no-cache``,
``--scheduler ADDRESS``, ``--workers N``; and, only where the experiment honours them,
``--seeds N`` and ``--backend`` (choices: ``simlab.backends.BACKENDS``). Help texts state the real
defaults, for the full run and for ``--quick``. Any usage error or ``ValueError`` is printed as one
line on stderr with exit code 2 and no traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from simlab.backends import BACKENDS

FIGURES = Path("figures")
QUICK_FIGURES = FIGURES / "_quick"
RESULTS = Path("results")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message.splitlines()[0] if message else 'error'}\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is outside the allowed range [1, inf)")
    return value


def int_list(text: str) -> list[int]:
    """'1,2,4' or '1-9' (inclusive) → list of positive ints."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part[1:]:
            a, b = part.split("-", 1)
            lo, hi = positive_int(a), positive_int(b)
            if hi < lo:
                raise argparse.ArgumentTypeError(f"empty range {part!r}")
            out.extend(range(lo, hi + 1))
        else:
            out.append(positive_int(part))
    return out


def standard_parser(name: str, description: str, seeds: tuple[int, int] | None = (10, 10),
                    backend: str | None = "numba") -> Parser:
    """The shared flags. ``seeds``: (full-run default, --quick default), or None when the
    experiment has no seed count to set; ``backend``: the default, or None when nothing it
    computes depends on a simulation backend."""
    parser = Parser(prog=f"python -m experiments.{name}", description=description,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"a small version (tests, CI), written to {QUICK_FIGURES}/ unless "
                             "--out says otherwise")
    if backend is not None:
        parser.add_argument("--backend", choices=BACKENDS, default=backend,
                            help=f"simulation backend (default: {backend})")
    if seeds is not None:
        full, quick = seeds
        parser.add_argument("--seeds", type=positive_int, default=None, metavar="N",
                            help=f"runs per configuration (default {full}; --quick: {quick})")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help=f"output folder (default: results in {RESULTS}/, figures in "
                             f"{FIGURES}/; --quick: both in {QUICK_FIGURES}/)")
    parser.add_argument("--cache-dir", type=Path, default=None, metavar="DIR",
                        help="folder of the per-cell results cache (default OUT/.cache/)")
    parser.add_argument("--no-cache", action="store_true",
                        help="recompute every cell even if a stored result with the same "
                             "configuration and code exists")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run the cells on this Dask scheduler (e.g. tcp://host:8786); "
                             "needs simlab[dist]")
    parser.add_argument("--workers", type=positive_int, default=None, metavar="N",
                        help="run the cells on a local Dask cluster of N worker processes")
    if seeds is not None:
        parser.set_defaults(_seed_defaults=seeds)
    return parser


def resolved_seeds(args) -> int | None:
    """--seeds as given, else the full-run or --quick default of the parser."""
    defaults = getattr(args, "_seed_defaults", None)
    if defaults is None:
        return None
    if args.seeds is not None:
        return args.seeds
    return defaults[1] if args.quick else defaults[0]


def run_cli(parser: Parser, main: Callable, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and call ``main(args)``; a ValueError becomes one line and exit code 2."""
    args = parser.parse_args(argv)
    try:
        main(args)
    except ValueError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"{parser.prog}: error: {message}", file=sys.stderr)
        return 2
    return 0
