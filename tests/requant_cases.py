"""Inputs for the requantization tests: (x, multiplier, shift) triples over the extremes of
TFLite's MultiplyByQuantizedMultiplier, requantization parameters at its extremes, and kernel
calls whose int32 accumulators are chosen values (so the requantization inside
DEPTHWISE_CONV_2D / FULLY_CONNECTED sees the whole int32 range, not just sums of small products).
Shared by tests/test_firmware_kernels_requant.py (host, against edgefact.export.quant) and
tests/test_firmware_kernels_qemu.py (the same calls on the emulated cores), through tests/kernel_checks.py."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edgefact.export import quant

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
EDGE_X = [I32_MIN, I32_MIN + 1, -(2**30) - 1, -(2**30), -65537, -256, -3, -2, -1, 0, 1, 2, 3, 255,
          65536, 2**30 - 1, 2**30, I32_MAX - 1, I32_MAX]
EDGE_M = [0, 1, 2, 12345, 2**29, 2**30 - 1, 2**30, 2**30 + 1, 1518500250, I32_MAX - 1, I32_MAX,
          -1, -(2**30), I32_MIN + 1, I32_MIN]


def triples(n_random: int = 400_000, seed: int = 5) -> np.ndarray:
    """(N, 3) int32: every edge x x edge multiplier x shift in [-31, 30], random values, and exact
    ties of both roundings (multiplier 2^30 and 3 * 2^29, x at a rounding midpoint)."""
    rng = np.random.default_rng(seed)
    shifts = np.arange(-31, 31)
    g = np.array(np.meshgrid(EDGE_X, EDGE_M, shifts, indexing="ij"), dtype=np.int64).reshape(3, -1).T
    r = np.empty((n_random, 3), np.int64)
    r[:, 0] = rng.integers(I32_MIN, I32_MAX, n_random, endpoint=True)
    small = rng.random(n_random) < 0.3  # accumulators of real layers: a few thousand
    r[small, 0] = rng.integers(-40000, 40000, int(small.sum()))
    kind = rng.random(n_random)
    r[:, 1] = np.where(kind < 0.75, rng.integers(2**30, 2**31, n_random),
                       np.where(kind < 0.9, rng.integers(0, 2**30, n_random),
                                rng.integers(I32_MIN, 0, n_random)))
    r[:, 2] = np.where(rng.random(n_random) < 0.7, rng.integers(-31, 0, n_random), rng.integers(-31, 31, n_random))
    # ties: with m = 2^30 the high multiply is x / 2 (a tie for odd x); x = 2 * t with
    # t = q * 2^r + 2^(r-1) is a tie of the rounding shift by r
    n_t = n_random // 4
    t = np.empty((n_t, 3), np.int64)
    rr = rng.integers(1, 32, n_t)
    q = rng.integers(-(2**20), 2**20, n_t)
    x = (2 * (q * (1 << rr) + (1 << (rr - 1))) + rng.integers(-1, 2, n_t))
    x = np.where((x < I32_MIN) | (x > I32_MAX), rng.integers(-3, 4, n_t) * (1 << rr), x)
    t[:, 0] = np.clip(x, I32_MIN, I32_MAX)
    t[:, 1] = np.where(rng.random(n_t) < 0.7, 2**30, 3 * 2**29)
    t[:, 2] = -rr
    return np.concatenate([g, r, t]).astype(np.int32)


def _channel_params(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per channel: multiplier, shift, accumulator centre, and whether the input is ignored (weight 0:
    the accumulator is the bias alone, so INT32_MIN / INT32_MAX themselves are reachable)."""
    mult = np.empty(n, np.int64)
    shift = np.where(rng.random(n) < 0.6, rng.integers(-20, 0, n), rng.integers(-31, 31, n))
    acc = np.empty(n, np.int64)
    fixed = np.zeros(n, bool)
    for c in range(n):
        k = c % 10
        mult[c] = (int(rng.integers(2**30, 2**31)) if k < 6 else
                   [int(rng.integers(1, 2**30)), 2**30, I32_MAX, int(rng.integers(I32_MIN, 0))][k - 6])
        s = int(shift[c])
        if c % 17 == 0:
            fixed[c] = True
            acc[c] = EDGE_X[(c // 17) % len(EDGE_X)]
            continue
        if mult[c] == 2**30 and s < 0:  # a tie of the rounding shift, landing in the int8 range
            r = -s
            q = int(rng.integers(-100, 100)) if r < 23 else int(rng.integers(-1, 1))
            acc[c] = 2 * (q * 2**r + 2 ** (r - 1))
        elif mult[c] > 0 and s <= 0:
            real = mult[c] * 2.0 ** (s - 31)
            acc[c] = int(rng.uniform(-140, 140) / real)
        else:  # left shifts wrap: any accumulator
            acc[c] = int(rng.integers(I32_MIN, I32_MAX))
        acc[c] = min(max(acc[c], I32_MIN + 128), I32_MAX - 128)
    return mult, shift, acc, fixed


@dataclass(frozen=True)
class AccCases:
    """A DEPTHWISE_CONV_2D 3x3 (1x1 input, padding 1: only the centre tap) and a per-channel
    FULLY_CONNECTED (depth 1) over the same channels, whose accumulators are bias + weight * input."""

    weights: np.ndarray  # int8 per channel: the centre tap / the FC weight (0: the bias alone)
    bias: np.ndarray  # int32 per channel
    multiplier: np.ndarray  # int32 per channel
    shift: np.ndarray  # int32 per channel
    x: np.ndarray  # (n_samples, 1) int8: the FC input; the depthwise input repeats it per channel
    output_offset: int = 3

    @property
    def channels(self) -> int:
        return int(self.bias.size)

    @property
    def dw_input(self) -> np.ndarray:
        return np.repeat(self.x, self.channels, axis=1).astype(np.int8)

    @property
    def dw_filter(self) -> np.ndarray:
        f = np.zeros((1, 3, 3, self.channels), np.int8)
        f[0, 1, 1] = self.weights
        return f


def acc_kernel_cases(n_samples: int, channels: int = 509, seed: int = 9) -> AccCases:
    """Biases at the requantization's extremes and rounding midpoints, one multiplier/shift per
    channel (left and right shifts, negative and small multipliers included). Inputs: 0, +-1, +-2,
    extremes (the midpoints are hit at input 0)."""
    rng = np.random.default_rng(seed)
    mult, shift, acc, fixed = _channel_params(rng, channels)
    base = np.array([0, 1, -1, 2, -128, 127, -2, 5], np.int64)
    x = np.resize(base, n_samples).reshape(n_samples, 1).astype(np.int8)
    return AccCases(np.where(fixed, 0, 1).astype(np.int8), acc.astype(np.int32), mult.astype(np.int32),
                    shift.astype(np.int32), x)


def expected_outputs(c: AccCases) -> np.ndarray:
    """What both kernels of :func:`acc_kernel_cases` must output, (n_samples, channels):
    quant.requantize of bias + weight * input."""
    out = np.empty((c.x.shape[0], c.channels), np.int8)
    for i in range(c.x.shape[0]):
        for ch in range(c.channels):
            a = int(c.bias[ch]) + int(c.weights[ch]) * int(c.x[i, 0])
            out[i, ch] = quant.requantize(a, int(c.multiplier[ch]), int(c.shift[ch]), c.output_offset)
    return out


#: (multiplier, shift, input offset): the extremes of MultiplyByQuantizedMultiplier for the vector
#: requantization (MVE): largest left/right shifts, left shifts that wrap, multipliers at both ends of
#: [2^30, 2^31), and the saturating INT32_MIN * INT32_MIN product (-2 << 30 with multiplier -2^31).
REQUANT_EDGES = [
    (2**31 - 1, 30, 0), (2**30, 30, -1), (2**31 - 1, -31, 127), (2**30, -31, -127), (1518500250, 0, 5),
    (-(2**31), 30, 126), (-(2**31), -1, 0), (-1234567891, 3, -64), (1, 12, 128), (1717986918, -20, 77),
]


def requant_params(n_random: int = 60, seed: int = 11) -> list[tuple[str, tuple[int, int, int, int]]]:
    """(name, (input offset, output offset, multiplier, shift)) for ef_requantize_s8: the edges of
    REQUANT_EDGES (output offset 3), then QuantizeMultiplier of random scale ratios in
    [1e-4, 300] with random offsets."""
    out = [(f"xrequant_{k}", (off, 3, m, s)) for k, (m, s, off) in enumerate(REQUANT_EDGES)]
    rng = np.random.default_rng(seed)
    for k in range(n_random):
        real = float(np.exp(rng.uniform(math.log(1e-4), math.log(300.0))))
        m, s = quant.quantize_multiplier(real)
        in_off, out_off = int(rng.integers(-127, 129)), int(rng.integers(-128, 128))
        out.append((f"xrequant_rand_{k}", (in_off, out_off, m, s)))
    return out


def requant_inputs(n_samples: int, seed: int = 3) -> np.ndarray:
    """(n_samples, 257) int8: every int8 value then a random one per row (257 values, so the
    4-lane vector loop has a predicated tail)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([np.tile(np.arange(-128, 128, dtype=np.int8), (n_samples, 1)),
                           rng.integers(-128, 128, (n_samples, 1), dtype=np.int8)], axis=1)


def requant_expected(x: np.ndarray, params: tuple[int, int, int, int]) -> np.ndarray:
    """quant.requantize of every value of ``x`` (the Python model of ef_requantize_s8)."""
    in_off, out_off, m, s = params
    table = np.array([quant.requantize(v + in_off, m, s, out_off) for v in range(-128, 128)], np.int8)
    return table[x.astype(np.int64) + 128]
