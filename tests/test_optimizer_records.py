"""Today's optimizers, as chains of transforms, reproduce the numbers of the table of rules they
replaced bit for bit: the loss records (numpy and numba) and final iterates (numba) of every
optimizer × problem × sampling of ``tests/data/make_optimizer_records.py``, stored from main
(5bb6628) in ``tests/data/optimizer_records.npz`` (the bias-corrected Adam family regenerated
when β^t became ``portable_math.int_power``: ≤ 3.5e-15 relative change, see that script)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("make_optimizer_records",
                                               DATA / "make_optimizer_records.py")
records = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(records)
STORED = np.load(DATA / "optimizer_records.npz")
CASES = list(records.cases())
_PROBLEMS: dict = {}


def test_fixture_covers_every_case():
    assert len(CASES) == 77            # 7 problem × sampling pairs × 11 optimizers
    for pname, sampling, oname in CASES:
        for backend in ("numpy", "numba"):
            assert f"{pname}/{sampling}/{oname}/{backend}/loss" in STORED.files


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("pname,sampling,oname", CASES, ids="/".join)
def test_bit_for_bit_as_on_main(pname, sampling, oname, backend):
    if pname not in _PROBLEMS:
        _PROBLEMS[pname] = records.PROBLEMS[pname]()
    ds = records.run(pname, sampling, oname, backend, _PROBLEMS[pname])
    key = f"{pname}/{sampling}/{oname}/{backend}"
    np.testing.assert_array_equal(ds.loss.values, STORED[key + "/loss"])
    if backend == "numba":
        np.testing.assert_array_equal(ds.w_final.values, STORED[key + "/w_final"])
