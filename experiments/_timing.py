"""What a full run cost, recorded by the run itself: ``results/timing/<stem>.json``.

A full (non-``--quick``) run that computed at least one cell writes, next to its results file
(``OUT/timing/<stem>.json`` with ``--out OUT``), the wall time of the whole run and of its cells, how many cells it computed and
reused, the worker processes, the machine's cores and its load average (1 min) at the start and
at the end — so a wall time in the docs is generated from what the run measured, with the load it
ran under, not typed (``python -m experiments.verdicts`` renders the block ``timing:A,B,...``).
A run that computed nothing (every cell from the cache) leaves the file of the run that did.

The file sits beside ``results/<stem>.nc`` and is not part of it: results stay deterministic (a
``--jobs 2`` run writes the serial run's results byte for byte), timings do not.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import time
from pathlib import Path

from simlab.cache import write_atomic

SUBFOLDER = "timing"


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none)."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished children (the worker
    processes of ``--jobs``, once their pool is closed)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def record(results: Path, stem: str, *, wall_s: float, compute_s: float, computed: int,
           reused: int, jobs: int | None, load_start: float | None, started: float,
           load_end: float | None = None, note: str = "", cpu_s: float | None = None) -> Path | None:
    """Write ``results/timing/<stem>.json`` for a run that computed cells (else nothing).
    ``cpu_s``: the CPU seconds the run used (less sensitive to other load than the wall time)."""
    if computed == 0:
        return None
    entry = {"experiment_stem": stem, "wall_s": round(wall_s, 1), "compute_s": round(compute_s, 1),
             "cells_computed": computed, "cells_reused": reused, "jobs": jobs,
             "cores": os.cpu_count(), "load_start": load_start,
             "load_end": load_average() if load_end is None else load_end,
             "started_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime(started)),
             "machine": f"{platform.machine()}, Python {platform.python_version()}"}
    if cpu_s is not None:
        entry["cpu_s"] = round(cpu_s, 1)
    if note:
        entry["note"] = note
    path = Path(results) / SUBFOLDER / f"{stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(entry, indent=1) + "\n").encode())
    return path


def load(root: Path, stem: str) -> dict | None:
    path = Path(root) / "results" / SUBFOLDER / f"{stem}.json"
    return json.loads(path.read_text()) if path.exists() else None


def planned_wall_s(stem: str) -> float | None:
    """The planned wall seconds of an LM experiment's default CPU size (``experiments._lm``), or
    None for an experiment without a plan."""
    import importlib
    module = importlib.import_module(f"experiments.{stem}")
    if not hasattr(module, "plan"):
        return None
    from experiments._lm import plan_table
    return plan_table(stem)[1]


def table(root: Path, stems: list[str]) -> str:
    """The markdown block ``timing:<stems>``: one row per experiment's recorded run and a total."""
    lines = ["| experiment | cells computed (reused) | wall of the run | of which cells | CPU of the run "
             "(planned) | jobs | load avg (1 min) start → end | planned wall (idle cores) | run at (UTC) |",
             "|---|---|---|---|---|---|---|---|---|"]
    total, planned_total, complete, notes = 0.0, 0.0, True, []
    cpu_total, cpu_planned = 0.0, 0.0
    for stem in stems:
        t, plan = load(root, stem), planned_wall_s(stem)
        plan_s = "–" if plan is None else f"{plan / 60:.1f} min"
        planned_total += plan or 0.0
        if t is None:
            complete = False
            lines.append(f"| `{stem}` | not recorded | | | | | | {plan_s} | |")
            continue
        complete &= t["cells_reused"] == 0
        if t.get("note"):
            notes.append(f"`{stem}`: {t['note']}")
        total += t["wall_s"]
        cpu = t.get("cpu_s")
        planned_cpu = None if plan is None else plan * (t.get("cores") or 1)
        cpu_total += cpu or 0.0
        cpu_planned += planned_cpu or 0.0
        cpu_s = "–" if cpu is None else (f"{cpu:.0f} s" + ("" if planned_cpu is None else f" ({planned_cpu:.0f} s)"))
        lines.append(f"| `{stem}` | {t['cells_computed']} ({t['cells_reused']}) | "
                     f"{t['wall_s'] / 60:.1f} min | {t['compute_s'] / 60:.1f} min | {cpu_s} | {t['jobs']} | "
                     f"{t['load_start']} → {t['load_end']} | {plan_s} | {t['started_utc']} |")
    note = "" if complete else " (not every run computed all its cells: the total is a lower bound)"
    lines.append(f"| **total** | | **{total / 60:.1f} min**{note} | | {cpu_total:.0f} s ({cpu_planned:.0f} s) "
                 f"| | | {planned_total / 60:.1f} min | |")
    return "\n".join(lines + ([""] + notes if notes else []))
