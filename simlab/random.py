"""Counter-based random numbers, bit-for-bit the same on every backend (numpy, numba, CUDA).

Each run r owns a 64-bit key ``keys[r]`` (``run_keys``). Every random number a run needs is a pure
function of (key, step, slot):

    bits = splitmix64(key ^ splitmix64(step · 2^32 + slot)),     u = (bits >> 11) · 2^-53 ∈ [0, 1)

so every backend draws the *same* mini-batches and noise, whatever the thread count or the order in
which runs are processed. splitmix64 is Steele, Lea & Flood (2014); used as a counter hash like
this it passes BigCrush (Salmon et al. 2011 discuss counter-based generators).

Normals (``standard_normal``) come from Box–Muller on two such uniforms, but with the logarithm and
the cosine evaluated *here*, with +, −, ×, ÷ and √ only (all correctly rounded in IEEE 754): libm,
numpy's SIMD kernels and CUDA's libdevice each round log1p and cos differently in the last bit, and
a draw must not depend on which of them ran it. log uses an exact power-of-two split and the atanh
series of ``simlab.portable_math``, cos an exact octant reduction and Taylor polynomials; both are
accurate to a few ulps.

Samplers:
- ``batch_with_replacement``: B indices, each min(⌊u·n⌋, n − 1);
- ``batch_without_replacement``: Floyd's algorithm (Bentley & Floyd 1987), B distinct indices,
  uniform over all B-subsets, O(B²) time and no O(n) work — independent B-subsets at every step;
- ``epoch_permutation``: random reshuffling (multi-epoch training): epoch e visits the data in the
  order of a Fisher–Yates permutation drawn from the key's epoch stream, B consecutive indices per
  step, ⌊n/B⌋ steps per epoch (the last incomplete batch is dropped, as ``drop_last=True``).

Each sampler exists twice from one specification: vectorized over runs on numpy arrays (the
reference backend) and as a per-run scalar loop writing into a buffer (``*_into``, plain Python
that numba and numba.cuda compile unchanged); tests assert the two draw identical indices.
Functions that take ``sqrt`` use the module-level name, which compiled backends rebind to
``math.sqrt``.
"""
from __future__ import annotations

import numpy as np
from numpy import sqrt

from .portable_math import LN2_HI, LN2_LO, SQRT2, log_series

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_S50 = np.uint64(50)
_ONE = np.uint64(1)
_TWO = np.uint64(2)
_TWO53 = np.uint64(1 << 53)
_LOW50 = np.uint64((1 << 50) - 1)
_INV53 = 1.0 / 9007199254740992.0          # 2^-53
_INV50 = 1.0 / 1125899906842624.0          # 2^-50
#: Stream tag of the epoch permutations (kept apart from the per-step batch and noise draws).
EPOCH_STREAM = np.uint64(0xD1B54A32D192ED03)

# cos/sin on [0, π/4]: Taylor coefficients up to a^20/20! and a^21/21! (error < 1e-19).
_PI_4 = 0.7853981633974483
_COS_C = (1.0, -1.0 / 2, 1.0 / 24, -1.0 / 720, 1.0 / 40320, -1.0 / 3628800, 1.0 / 479001600,
          -1.0 / 87178291200, 1.0 / 20922789888000, -1.0 / 6402373705728000,
          1.0 / 2432902008176640000)
_SIN_C = (1.0, -1.0 / 6, 1.0 / 120, -1.0 / 5040, 1.0 / 362880, -1.0 / 39916800,
          1.0 / 6227020800, -1.0 / 1307674368000, 1.0 / 355687428096000,
          -1.0 / 121645100408832000, 1.0 / 51090942171709440000)


def splitmix64(x):
    """The splitmix64 finaliser of ``x + golden``; uint64 in, uint64 out (wrapping arithmetic)."""
    z = x + _GOLDEN
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def random_bits(key, step, slot):
    """The 64 random bits of (key, step, slot); all uint64, broadcasting."""
    return splitmix64(key ^ splitmix64((step << _S32) + slot))


def uniform(key, step, slot):
    """A float64 in [0, 1) that depends only on (key, step, slot); all uint64, broadcasting."""
    return (random_bits(key, step, slot) >> _S11) * _INV53


def _log_one_minus(k):
    """ln(1 − k·2^-53) for the 53-bit integer k (uint64) with ×, ÷, + only (module docstring).

    x = 2^53 − k ∈ [1, 2^53] is split exactly as x = m·2^e with m ∈ [√½, √2) by comparisons with
    powers of two; then ln(1 − u) = (e − 53) ln 2 + 2 atanh((m − 1)/(m + 1))."""
    m = (_TWO53 - k) * 1.0
    e = m * 0.0
    big = (m >= 4294967296.0) * 1.0
    m = m * (1.0 + big * (2.0 ** -32 - 1.0))
    e = e + 32.0 * big
    big = (m >= 65536.0) * 1.0
    m = m * (1.0 + big * (2.0 ** -16 - 1.0))
    e = e + 16.0 * big
    big = (m >= 256.0) * 1.0
    m = m * (1.0 + big * (2.0 ** -8 - 1.0))
    e = e + 8.0 * big
    big = (m >= 16.0) * 1.0
    m = m * (1.0 + big * (2.0 ** -4 - 1.0))
    e = e + 4.0 * big
    big = (m >= 4.0) * 1.0
    m = m * (1.0 + big * (2.0 ** -2 - 1.0))
    e = e + 2.0 * big
    big = (m >= 2.0) * 1.0
    m = m * (1.0 + big * (2.0 ** -1 - 1.0))
    e = e + big
    big = (m > SQRT2) * 1.0
    m = m * (1.0 - 0.5 * big)
    e = e + big - 53.0
    return e * LN2_HI + (e * LN2_LO + log_series(m))


def _cos_two_pi(k):
    """cos(2π k·2^-53) for the 53-bit integer k (uint64), branch-free, with ×, + only.

    The top three bits of k give the octant; within it the angle is g·π/4 with g = f or 1 − f
    (exact), and cos(2πu) = ±cos(g π/4) or ±sin(g π/4)."""
    octant = k >> _S50
    f = (k & _LOW50) * _INV50
    odd = (octant & _ONE) * 1.0
    use_sin = (((octant + _ONE) >> _ONE) & _ONE) * 1.0
    negative = (((octant + _TWO) >> _TWO) & _ONE) * 1.0
    a = (f + odd * (1.0 - 2.0 * f)) * _PI_4
    a2 = a * a
    c = _COS_C[10]
    c = _COS_C[9] + a2 * c
    c = _COS_C[8] + a2 * c
    c = _COS_C[7] + a2 * c
    c = _COS_C[6] + a2 * c
    c = _COS_C[5] + a2 * c
    c = _COS_C[4] + a2 * c
    c = _COS_C[3] + a2 * c
    c = _COS_C[2] + a2 * c
    c = _COS_C[1] + a2 * c
    c = _COS_C[0] + a2 * c
    s = _SIN_C[10]
    s = _SIN_C[9] + a2 * s
    s = _SIN_C[8] + a2 * s
    s = _SIN_C[7] + a2 * s
    s = _SIN_C[6] + a2 * s
    s = _SIN_C[5] + a2 * s
    s = _SIN_C[4] + a2 * s
    s = _SIN_C[3] + a2 * s
    s = _SIN_C[2] + a2 * s
    s = _SIN_C[1] + a2 * s
    s = a * (_SIN_C[0] + a2 * s)
    return (s * use_sin + c * (1.0 - use_sin)) * (1.0 - 2.0 * negative)


def standard_normal(key, step, slot):
    """N(0, 1) by Box–Muller, √(−2 ln(1 − u₁)) cos(2π u₂), u₁, u₂ at slots 2·slot and 2·slot + 1."""
    slot = slot * _TWO
    k1 = random_bits(key, step, slot) >> _S11
    k2 = random_bits(key, step, slot + _ONE) >> _S11
    return sqrt(-2.0 * _log_one_minus(k1)) * _cos_two_pi(k2)


# ------------------------------------------------------------------------------------------------
# Run keys: the children of SeedSequence(seed), vectorized
# ------------------------------------------------------------------------------------------------

_M32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _XSHIFT = 0xCA01F9DD, 0x4973F715, 16
_POOL = 4


def _words(value: int) -> list[int]:
    out = []
    while value:
        out.append(value & _M32)
        value >>= 32
    return out or [0]


def run_keys(seed: int, n_runs: int) -> np.ndarray:
    """One 64-bit stream key per run: ``SeedSequence(seed).spawn(n_runs)[r].generate_state(1,
    uint64)``, computed for all r at once (a Python loop over SeedSequence children costs ~12 µs
    per run). The children's pool mixing (O'Neill's seed_seq_fe, as numpy implements it) depends
    on r only through its last entropy word, so the common part is computed once and the rest is
    vectorized; tests compare with numpy's SeedSequence."""
    from . import _checks
    seed = _checks.integer("seed", seed, lo=0)
    n_runs = _checks.integer("n_runs", n_runs, lo=1)
    run = _words(seed)
    if len(run) > _POOL or n_runs > 1 << 32:           # entropy longer than the pool: numpy's loop
        return np.array([c.generate_state(1, np.uint64)[0]
                         for c in np.random.SeedSequence(seed).spawn(n_runs)], dtype=np.uint64)
    run = run + [0] * (_POOL - len(run))
    state = {"hash": _INIT_A}

    def hashmix(value):
        value = (value ^ state["hash"]) & _M32
        state["hash"] = (state["hash"] * _MULT_A) & _M32
        value = (value * state["hash"]) & _M32
        return value ^ (value >> _XSHIFT)

    def mix(x, y):
        result = (_MIX_L * x - _MIX_R * y) & _M32
        return result ^ (result >> _XSHIFT)

    pool = [hashmix(word) for word in run]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    mask = np.uint64(_M32)
    shift = np.uint64(_XSHIFT)
    child = np.arange(n_runs, dtype=np.uint64)         # the spawn key (r,): one entropy word
    mixed = []
    for dst in range(_POOL):
        value = (child ^ np.uint64(state["hash"])) & mask
        state["hash"] = (state["hash"] * _MULT_A) & _M32
        value = (value * np.uint64(state["hash"])) & mask
        value = value ^ (value >> shift)
        result = (np.uint64(_MIX_L) * np.uint64(pool[dst]) - np.uint64(_MIX_R) * value) & mask
        mixed.append(result ^ (result >> shift))
    out = []
    hash_b = _INIT_B
    for i in range(2):
        value = mixed[i % _POOL] ^ np.uint64(hash_b)
        hash_b = (hash_b * _MULT_B) & _M32
        value = (value * np.uint64(hash_b)) & mask
        out.append(value ^ (value >> shift))
    return out[0] | (out[1] << np.uint64(32))


# ------------------------------------------------------------------------------------------------
# Samplers, vectorized over runs (the reference backend)
# ------------------------------------------------------------------------------------------------

def batch_with_replacement(keys, step, n: int, batch_size: int) -> np.ndarray:
    """(runs, B) indices drawn uniformly with replacement from range(n)."""
    keys = np.asarray(keys, dtype=np.uint64)[:, None]
    slots = np.arange(batch_size, dtype=np.uint64)[None, :]
    u = uniform(keys, np.uint64(step), slots)
    return np.minimum((u * n).astype(np.int64), n - 1)


def batch_without_replacement(keys, step, n: int, batch_size: int) -> np.ndarray:
    """(runs, B) distinct indices, a uniform B-subset of range(n) per run (Floyd's algorithm).

    For j = n − B, …, n − 1: draw t uniform in {0, …, j}; take t unless already taken, else j.
    The k-th draw uses slot k, so the sample is a function of (key, step) only.
    """
    keys = np.asarray(keys, dtype=np.uint64)
    out = np.empty((keys.shape[0], batch_size), dtype=np.int64)
    for k in range(batch_size):
        j = n - batch_size + k
        u = uniform(keys, np.uint64(step), np.full(keys.shape, k, dtype=np.uint64))
        t = np.minimum((u * (j + 1)).astype(np.int64), j)
        taken = (out[:, :k] == t[:, None]).any(axis=1)
        out[:, k] = np.where(taken, j, t)
    return out


def epoch_permutation(keys, epoch: int, n: int) -> np.ndarray:
    """(runs, n) permutation of range(n) for ``epoch``: Fisher–Yates from the last position down,
    position i swapped with t = min(⌊u_i (i + 1)⌋, i), u_i = uniform(key ^ EPOCH_STREAM, epoch, i)."""
    keys = np.asarray(keys, dtype=np.uint64) ^ EPOCH_STREAM
    perm = np.broadcast_to(np.arange(n, dtype=np.int64), (keys.shape[0], n)).copy()
    rows = np.arange(keys.shape[0])
    for i in range(n - 1, 0, -1):
        u = uniform(keys, np.uint64(epoch), np.full(keys.shape, i, dtype=np.uint64))
        t = np.minimum((u * (i + 1)).astype(np.int64), i)
        held = perm[rows, t].copy()
        perm[rows, t] = perm[:, i]
        perm[:, i] = held
    return perm


# ------------------------------------------------------------------------------------------------
# The same samplers for one run, writing into a buffer (compiled unchanged by numba and numba.cuda)
# ------------------------------------------------------------------------------------------------

def index_with_replacement(key, step, b, n):
    """Entry b of the with-replacement batch of ``step``: min(⌊u·n⌋, n − 1), u = uniform(key,
    step, b)."""
    u = uniform(key, np.uint64(step), np.uint64(b))
    return min(np.int64(u * n), n - 1)


def batch_with_replacement_into(out, start, stop, key, step, n):
    """out[start + b] = ``index_with_replacement(key, step, b, n)``, b < stop − start."""
    for b in range(stop - start):
        out[start + b] = index_with_replacement(key, step, b, n)


def batch_without_replacement_into(out, start, stop, key, step, n):
    """Floyd's algorithm into out[start:stop] (see ``batch_without_replacement``)."""
    batch = stop - start
    for k in range(batch):
        j = n - batch + k
        u = uniform(key, np.uint64(step), np.uint64(k))
        t = min(np.int64(u * (j + 1)), j)
        for i in range(k):
            if out[start + i] == t:
                t = j
                break
        out[start + k] = t


def epoch_permutation_into(perm, key, epoch):
    """perm[:] = the permutation of ``epoch_permutation`` for one run."""
    n = perm.shape[0]
    stream = key ^ EPOCH_STREAM
    for i in range(n):
        perm[i] = i
    for i in range(n - 1, 0, -1):
        u = uniform(stream, np.uint64(epoch), np.uint64(i))
        t = min(np.int64(u * (i + 1)), i)
        held = perm[t]
        perm[t] = perm[i]
        perm[i] = held
