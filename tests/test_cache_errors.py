"""Two faults of the results cache end in simlab's own words, not a traceback.

* A full disk: ``write_atomic`` raises ``DiskFullError`` naming the file and the bytes it needs
  (the old file stays whole, no temporary is left); the command line prints it in one line with
  exit code 2. On a real 16 KiB tmpfs when this user may mount one, else with ``ENOSPC`` injected.
* A stored cell whose dims do not fit the sizes its cell declares (seen: "could not broadcast
  (13,3,51) into (13,10,51)" on every rerun until --no-cache) is deleted with a warning naming
  the file, and recomputed."""
from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import simlab
from simlab import cache, optim, problems
from simlab.cache import CellStore, DiskFullError, dataset_bytes, write_atomic
from simlab.cells import CellStats

ROOT = Path(simlab.__file__).resolve().parents[1]


@pytest.fixture
def full_disk(tmp_path):
    """A 16 KiB tmpfs (skips where mounting is not permitted)."""
    where = tmp_path / "tiny"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def _check_full_disk_write(folder: Path) -> None:
    target = folder / "cell.nc"
    write_atomic(target, b"old")
    with pytest.raises(DiskFullError) as info:
        write_atomic(target, b"x" * 1_000_000)
    message = str(info.value)
    assert str(target) in message and "1000000 bytes" in message and "\n" not in message
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, ValueError)
    assert target.read_bytes() == b"old"                        # the old file is whole
    assert sorted(p.name for p in folder.iterdir()) == ["cell.nc"]   # no temporary left


def test_a_full_disk_raises_one_error_naming_the_file_and_the_bytes(full_disk):
    _check_full_disk_write(full_disk)


def test_a_full_disk_injected(tmp_path, monkeypatch):
    """The same where no tmpfs can be mounted: the write fails with ENOSPC."""
    real = os.fdopen

    class Full:
        def __init__(self, fd, mode):
            self.file = real(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            if len(data) > 100:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.file.write(data)

        def __getattr__(self, name):
            return getattr(self.file, name)

    monkeypatch.setattr(cache.os, "fdopen", Full)
    _check_full_disk_write(tmp_path)


@pytest.mark.slow
def test_a_full_disk_ends_the_command_in_one_line_with_exit_code_2(full_disk):
    out = subprocess.run([sys.executable, "-m", "experiments.c_total", "--quick", "--out",
                          str(full_disk)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 2, out.stderr[-2000:]
    lines = [line for line in out.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert "no space left" in lines[0] and str(full_disk) in lines[0] and "bytes" in lines[0]


def _sweep(seeds):
    return simlab.Sweep(problems={"h": problems.block_quadratic("heterogeneous", seed=0)},
                        optimizers={"sgd": optim.sgd()}, lrs=[1e-2, 3e-2], batch_sizes=[1, 3],
                        steps=4, seeds=seeds, backend="numpy")


def test_a_cell_of_the_wrong_shape_is_deleted_with_a_warning_and_recomputed(tmp_path):
    store = CellStore(tmp_path / "cells")
    want = _sweep(seeds=5).run(store=store, progress=False)
    victim_cell = _sweep(seeds=5).cells()[1]
    victim = store.key(simlab.sweep.run_cell, victim_cell.config(), victim_cell)
    (old,) = store._files(victim)

    # a well-formed cell file under the victim's key (checksum and key attribute right) whose
    # data has 2 seeds instead of 5: only its shape gives it away
    wrong = simlab.sweep.run_cell(_sweep(seeds=2).cells()[1])
    wrong.attrs["simlab_cell_key"] = victim
    data = dataset_bytes(wrong)
    old.unlink()
    planted = store.root / f"{victim}.{hashlib.sha256(data).hexdigest()[:16]}.nc"
    planted.write_bytes(data)

    stats = CellStats()
    with pytest.warns(RuntimeWarning, match=f"{planted}.*seed=2 \\(declared 5\\)"):
        got = _sweep(seeds=5).run(store=store, progress=False, stats=stats)
    assert stats.computed == [victim] and len(stats.reused) == 1
    assert not planted.exists()
    np.testing.assert_array_equal(got.loss.values, want.loss.values)
    again = CellStats()
    _sweep(seeds=5).run(store=store, progress=False, stats=again)     # and then it is cached
    assert again.computed == [] and len(again.reused) == 2
