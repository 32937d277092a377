"""simlab.cache: content-addressed cell files — keys, checksums, atomic 0644 writes, stale
temporaries, writability; and simlab.cells.run_cells reusing exactly the stored cells."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlab import optim, problems
from simlab.cache import (CellStore, check_writable, clean_stale, config_key, load_dataset,
                          save_dataset)
from simlab.cells import CellStats, run_cells

ROOT = Path(__file__).resolve().parents[1]


def square_cell(spec: dict) -> xr.Dataset:
    """A cheap, deterministic cell: x² on a grid of ``spec["n"]`` points times ``spec["scale"]``."""
    x = np.linspace(0.0, 1.0, spec["n"])
    return xr.Dataset({"y": ("x", spec["scale"] * x ** 2), "ok": ("x", x > 0.5),
                       "count": ((), np.int64(spec["n"]))}, coords={"x": x})


SPECS = [{"n": 2000, "scale": float(s)} for s in range(6)]


def _cell_files(root: Path) -> list[Path]:
    return sorted(root.glob("*.nc"))


def test_roundtrip_keeps_dtypes_and_values(tmp_path):
    store = CellStore(tmp_path, code_hash="code-1")
    ds = square_cell(SPECS[1])
    key = store.key(square_cell, SPECS[1])
    store.save(key, ds, SPECS[1])
    back = store.load(key)
    xr.testing.assert_identical(back, ds)
    assert back["ok"].dtype == bool and back["count"].dtype == np.int64


def test_files_are_mode_0644_whatever_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        store = CellStore(tmp_path / "cells", code_hash="c")
        path = store.save(store.key(square_cell, SPECS[0]), square_cell(SPECS[0]))
        exported, _ = save_dataset(square_cell(SPECS[0]), tmp_path / "out.nc")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
    assert exported.stat().st_mode & 0o777 == 0o644


def test_in_place_corruption_is_detected_and_the_cell_recomputed(tmp_path):
    store = CellStore(tmp_path, code_hash="c")
    first = run_cells(square_cell, SPECS, store=store, progress=False)
    victim = store.key(square_cell, SPECS[3])
    (path,) = tmp_path.glob(f"{victim}.*.nc")
    size = path.stat().st_size
    with open(path, "r+b") as fh:                # overwrite 4 KiB inside the file, in place
        fh.seek(size // 3)
        fh.write(np.random.default_rng(0).bytes(4096))
    assert path.stat().st_size >= size
    assert store.load(victim) is None and not path.exists()
    stats = CellStats()
    again = run_cells(square_cell, SPECS, store=store, progress=False, stats=stats)
    assert stats.computed == [victim]
    assert len(stats.reused) == len(SPECS) - 1
    for a, b in zip(first, again):
        xr.testing.assert_identical(a, b)


def test_truncated_and_misnamed_files_are_never_read(tmp_path):
    store = CellStore(tmp_path, code_hash="c")
    key = store.key(square_cell, SPECS[0])
    path = store.save(key, square_cell(SPECS[0]))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])                     # half a file under its name
    assert store.load(key) is None
    (tmp_path / f"{key}.0000000000000000.nc").write_bytes(data)  # whole file, wrong checksum
    assert store.load(key) is None
    assert _cell_files(tmp_path) == []


def test_the_code_hash_is_part_of_the_key(tmp_path):
    old, new = CellStore(tmp_path, code_hash="old"), CellStore(tmp_path, code_hash="new")
    run_cells(square_cell, SPECS, store=old, progress=False)
    stats = CellStats()
    run_cells(square_cell, SPECS, store=new, progress=False, stats=stats)
    assert len(stats.computed) == len(SPECS) and stats.reused == []
    assert old.key(square_cell, SPECS[0]) != new.key(square_cell, SPECS[0])


def test_default_code_hash_covers_the_code_the_cell_can_run(tmp_path):
    from simlab._source import code_modules
    from simlab.cache import code_hash_for
    from simlab.sweep import run_cell

    reached = code_modules(run_cell, extra_modules=[run_cell.__module__])
    assert {"simlab.sweep", "simlab.simulate", "simlab.optim", "simlab.backends.numba_backend",
            "simlab.backends.per_run", "simlab.problems.quadratic"} <= set(reached)
    assert not {m for m in reached if m.startswith(("simlab.lm", "simlab.theory"))}
    assert "simlab.plotting" not in reached and "simlab.cache" not in reached
    here = code_hash_for(square_cell)                          # this test module's own file
    assert len(here) == 64 and here != code_hash_for(run_cell)
    assert here == code_hash_for(square_cell, {"n": 3})        # plain data adds no code


def test_reuse_false_recomputes_and_overwrites(tmp_path):
    store = CellStore(tmp_path, code_hash="c")
    run_cells(square_cell, SPECS[:2], store=store, progress=False)
    stats = CellStats()
    run_cells(square_cell, SPECS[:2], store=store, progress=False, reuse=False, stats=stats)
    assert len(stats.computed) == 2 and stats.reused == []
    assert len(_cell_files(tmp_path)) == 2                      # one file per cell, not two


def test_stale_temporary_of_a_killed_writer_is_removed(tmp_path):
    """A real writer killed with SIGKILL in the middle of writing leaves its temporary file;
    the next ``prepare`` removes it (its pid is gone) and keeps a live writer's."""
    script = ("import os, sys, time, socket\n"
              "p = os.path.join(sys.argv[1], f'.abc.nc.{socket.gethostname()}.{os.getpid()}.1234abcd.tmp')\n"
              "fh = open(p, 'wb'); fh.write(b'CDF half'); fh.flush()\n"
              "print('writing', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "writing"
    live = tmp_path / f".mine.nc.{socket.gethostname()}.{os.getpid()}.00000000.tmp"
    live.write_bytes(b"in progress")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    (stale,) = [p for p in tmp_path.glob(".abc.nc.*.tmp")]
    removed = CellStore(tmp_path, code_hash="c").prepare()
    assert removed == [stale] and not stale.exists() and live.exists()


def test_old_temporaries_from_other_hosts_expire(tmp_path):
    other = tmp_path / ".x.nc.otherhost.123.deadbeef.tmp"
    other.write_bytes(b"")
    assert clean_stale(tmp_path) == []                          # another host's, fresh: kept
    old = time.time() - 2 * 86400
    os.utime(other, (old, old))
    assert clean_stale(tmp_path) == [other]


@pytest.mark.parametrize("make_bad", [
    lambda tmp: tmp / "a_file" / "sub",                         # a regular file on the path
    lambda tmp: Path("/proc/simlab-cannot-create-here"),
], ids=["under-a-file", "procfs"])
def test_unwritable_folder_is_a_value_error_naming_it(tmp_path, make_bad):
    (tmp_path / "a_file").write_text("x")
    bad = make_bad(tmp_path)
    with pytest.raises(ValueError, match=r"out='.*' is not writable: .*allowed: a folder"):
        check_writable(bad, "out")


def test_exported_file_checksum_catches_changed_numbers(tmp_path):
    ds = square_cell(SPECS[2])
    path, written = save_dataset(ds, tmp_path / "r.nc", key="k")
    assert written and load_dataset(path, key="k") is not None
    assert save_dataset(ds, path, key="k") == (path, False)     # same bytes: not rewritten
    raw = xr.load_dataset(path, engine="scipy")
    raw["y"].values[3] = 1.4e306                                # a "valid" file, wrong numbers
    raw.to_netcdf(path, engine="scipy")
    assert load_dataset(path) is None


def test_config_key_resolves_objects_and_rejects_opaque_values():
    a = {"optimizer": optim.adam(0.9, 0.99), "problem": problems.nqm(dim=3), "n": np.int64(3)}
    b = {"n": 3, "problem": problems.nqm(dim=3), "optimizer": optim.adam(0.9, 0.99)}
    assert config_key(a) == config_key(b)
    assert config_key(a) != config_key({**b, "optimizer": optim.adam(0.9, 0.999)})
    with pytest.raises(TypeError, match="cannot hash configuration value .*object"):
        config_key({"thing": object()})


def test_bad_executor_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="executor=42 must be None, a map-like callable"):
        run_cells(square_cell, SPECS, executor=42, progress=False)


# --- properties ----------------------------------------------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 6),
                         st.floats(allow_nan=False), st.text(max_size=8))
configs = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=12)


@given(configs)
def test_key_is_a_function_of_the_content_only(config):
    def reordered(value):
        if isinstance(value, dict):
            return {k: reordered(value[k]) for k in reversed(list(value))}
        if isinstance(value, list):
            return [reordered(v) for v in value]
        return value

    assert config_key(config) == config_key(reordered(config))
    assert config_key({"wrapped": config}) != config_key({"wrapped": [config]})


arrays = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=n, max_size=n),
    st.lists(st.booleans(), min_size=n, max_size=n),
    st.lists(st.integers(-2 ** 31, 2 ** 31 - 1), min_size=n, max_size=n)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrays, st.integers(0, 10 ** 9), st.binary(min_size=1, max_size=64))
def test_any_dataset_round_trips_and_any_byte_change_is_caught(tmp_path, data, where, garbage):
    floats, bools, ints = data
    ds = xr.Dataset({"f": ("i", np.array(floats)), "b": ("i", np.array(bools)),
                     "n": ("i", np.array(ints, dtype=np.int64))})
    store = CellStore(tmp_path / str(where), code_hash="p")
    key = store.key(square_cell, {"case": where})
    path = store.save(key, ds)
    xr.testing.assert_identical(store.load(key), ds)
    data_bytes = bytearray(path.read_bytes())
    at = where % len(data_bytes)
    chunk = garbage[: len(data_bytes) - at]
    if bytes(data_bytes[at:at + len(chunk)]) == chunk:
        return                                                  # nothing changed
    data_bytes[at:at + len(chunk)] = chunk
    path.write_bytes(bytes(data_bytes))
    assert store.load(key) is None
