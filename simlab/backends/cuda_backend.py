"""The CUDA backend (numba.cuda kernels on CuPy arrays): not built yet; see issue 10."""
from __future__ import annotations


def run(spec):
    raise ValueError("backend='cuda' is not available in this version of simlab; use "
                     "backend='numba' or 'numpy'")
