"""Two runs writing into one ``--out`` at once each report what they computed.

The report is made from the Dataset as the bytes a run wrote read back (``cache.export_dataset``),
not from ``OUT/<name>.nc`` read again: a second process may have replaced that file in between.
Here the second process runs to completion exactly in that gap — after the first has written its
results file and before it reports — and each must still print its own number of seeds."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import simlab

pytestmark = pytest.mark.slow      # real subprocesses: the whole suite's tier

ROOT = Path(simlab.__file__).resolve().parents[1]

#: Runs gap_knobs; the moment it has written OUT/gap_knobs.nc, runs the command in argv[2:] (the
#: second process, same --out) to completion, then carries on reporting.
FIRST = textwrap.dedent("""
    import subprocess, sys
    from pathlib import Path
    import simlab.cache as cache
    from experiments import gap_knobs

    write, second = cache.write_atomic, sys.argv[2:]

    def write_then_let_the_other_run(path, data, *args, **kwargs):
        out = write(path, data, *args, **kwargs)
        if Path(path).name == "gap_knobs.nc" and second:
            subprocess.run(second, check=True)
            second.clear()
        return out

    cache.write_atomic = write_then_let_the_other_run
    raise SystemExit(gap_knobs.main(["--quick", "--seeds", "3", "--out", sys.argv[1]]))
""")


def test_two_processes_into_one_out_each_report_their_own_results(tmp_path):
    out = tmp_path / "shared"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    second_log = tmp_path / "second.txt"
    second = [sys.executable, "-c",
              "import sys; from experiments import gap_knobs; "
              f"sys.stdout = open({str(second_log)!r}, 'w'); "
              f"raise SystemExit(gap_knobs.main(['--quick', '--seeds', '4', '--out', {str(out)!r}]))"]
    first = subprocess.run([sys.executable, "-c", FIRST, str(out), *second], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "median over 3 seeds" in first.stdout and "over 4 seeds" not in first.stdout
    assert "median over 4 seeds" in second_log.read_text()
    from simlab.cache import load_dataset

    stored = load_dataset(out / "gap_knobs.nc")          # the file holds one whole run: the last
    assert stored is not None and '"seeds": 4' in stored.attrs["config"]
