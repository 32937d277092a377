"""The command-line conventions shared by every experiment (DESIGN.md, "Results, figures, CLI").

Standard flags: ``--quick``, ``--backend {numpy,numba,cupy}``, ``--seeds N``, ``--out DIR``,
``--no-cache``. Any usage error or ``ValueError`` is printed as one line on stderr with exit code 2
and no traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from simlab.backends import BACKENDS


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


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


def standard_parser(name: str, description: str, default_seeds: int = 10) -> Parser:
    parser = Parser(prog=f"python -m experiments.{name}", description=description)
    parser.add_argument("--quick", action="store_true", help="a small version (tests, CI)")
    parser.add_argument("--backend", choices=BACKENDS, default="numba",
                        help="simulation backend (default: numba)")
    parser.add_argument("--seeds", type=positive_int, default=default_seeds,
                        help=f"runs per configuration (default {default_seeds})")
    parser.add_argument("--out", type=Path, default=Path("figures"),
                        help="output folder (default: figures/)")
    parser.add_argument("--no-cache", action="store_true",
                        help="recompute even if a results file with the same config exists")
    return parser


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
