"""Theoretical occupancy: how many blocks of a kernel a streaming multiprocessor keeps resident.

A block stays resident while the SM has registers, threads, block slots and shared memory for it
(the CUDA occupancy calculator's rules): registers are allocated per warp in units of
``register_unit`` (⌈regs × 32 / unit⌉ × unit per warp), warps by register file are rounded down
to whole blocks; shared memory per block is rounded up to ``shared_unit`` after adding the 1 KiB
the runtime reserves per block (compute capability ≥ 8.0). ``SM`` holds the limits of one SM;
``H100`` those of compute capability 9.0 (NVIDIA CUDA C++ Programming Guide, "Compute
Capabilities", table of technical specifications: 64 K 32-bit registers, 2048 threads, 32 blocks,
228 KiB shared memory per SM; register allocation unit 256 per warp).
"""
from __future__ import annotations

import math
from typing import NamedTuple

WARP = 32


class SM(NamedTuple):
    """The resource limits of one streaming multiprocessor."""
    registers: int = 65536
    max_threads: int = 2048
    max_blocks: int = 32
    register_unit: int = 256
    shared_memory: int = 228 * 1024
    shared_reserved: int = 1024
    shared_unit: int = 128


H100 = SM()


def blocks_per_sm(registers: int, threads_per_block: int, shared_per_block: int = 0,
                  sm: SM = H100) -> int:
    """The number of blocks of ``threads_per_block`` threads, ``registers`` registers a thread and
    ``shared_per_block`` bytes of static shared memory that one SM keeps resident."""
    if registers < 1 or threads_per_block < 1 or shared_per_block < 0:
        raise ValueError(f"registers={registers}, threads_per_block={threads_per_block} must be "
                         f">= 1 and shared_per_block={shared_per_block} >= 0")
    warps = math.ceil(threads_per_block / WARP)
    per_warp = math.ceil(registers * WARP / sm.register_unit) * sm.register_unit
    by_registers = (sm.registers // per_warp) // warps
    by_threads = sm.max_threads // (warps * WARP)
    shared = math.ceil((shared_per_block + sm.shared_reserved) / sm.shared_unit) * sm.shared_unit
    by_shared = sm.shared_memory // shared
    return min(by_registers, by_threads, sm.max_blocks, by_shared)


def occupancy(registers: int, threads_per_block: int, shared_per_block: int = 0,
              sm: SM = H100) -> float:
    """Resident threads over the SM's maximum (``blocks_per_sm`` × threads / max threads)."""
    blocks = blocks_per_sm(registers, threads_per_block, shared_per_block, sm)
    return blocks * threads_per_block / sm.max_threads


def device_sm(device) -> SM:
    """The ``SM`` limits of a numba.cuda device (attributes it does not expose: ``H100``'s)."""
    def attribute(name, default):
        try:
            return int(getattr(device, name))
        except Exception:          # an attribute this driver or numba-cuda does not expose
            return default
    return SM(registers=attribute("MAX_REGISTERS_PER_MULTIPROCESSOR", H100.registers),
              max_threads=attribute("MAX_THREADS_PER_MULTIPROCESSOR", H100.max_threads),
              max_blocks=attribute("MAX_BLOCKS_PER_MULTIPROCESSOR", H100.max_blocks),
              shared_memory=attribute("MAX_SHARED_MEMORY_PER_MULTIPROCESSOR",
                                      H100.shared_memory))
