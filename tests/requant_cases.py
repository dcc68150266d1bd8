"""Inputs for the requantization tests: (x, multiplier, shift) triples over the extremes of
TFLite's MultiplyByQuantizedMultiplier, and kernel calls whose int32 accumulators are chosen
values (so the requantization inside DEPTHWISE_CONV_2D / FULLY_CONNECTED sees the whole int32
range, not just sums of small products). Shared by tests/test_kernels_requant.py (host, against
edgefact.export.quant) and tests/test_kernels_qemu.py (the same calls on the emulated cores)."""

from __future__ import annotations

import numpy as np
from kernels_harness import S8, S32, KernelCall

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


def acc_kernel_cases(n_samples: int, channels: int = 509, seed: int = 9) -> list[tuple[str, KernelCall, np.ndarray]]:
    """A DEPTHWISE_CONV_2D 3x3 (1x1 input, padding 1: only the centre tap) and a per-channel
    FULLY_CONNECTED (depth 1) whose accumulators are bias + input: biases at the requantization's
    extremes and rounding midpoints, one multiplier/shift per channel (left and right shifts,
    negative and small multipliers included). Inputs: 0, +-1, +-2, extremes (the midpoints are
    hit at input 0)."""
    rng = np.random.default_rng(seed)
    mult, shift, acc, fixed = _channel_params(rng, channels)
    base = np.array([0, 1, -1, 2, -128, 127, -2, 5], np.int64)
    x = np.resize(base, n_samples).reshape(n_samples, 1)
    w = np.where(fixed, 0, 1).astype(np.int8)
    bias = acc.astype(np.int32)
    out_off = 3
    f = np.zeros((1, 3, 3, channels), np.int8)
    f[0, 1, 1] = w
    arrays_dw = [(S8, f), (S32, bias), (S32, mult.astype(np.int32)), (S32, shift.astype(np.int32))]
    dw_params = [1, 1, 1, channels, 1, 3, 3, channels, 1, 1, 1, channels, 0, out_off, 1, 1, 1, 1, 1, -128, 127]
    dw = KernelCall("DW_3X3", dw_params, arrays_dw, channels)
    x_dw = np.repeat(x, channels, axis=1).astype(np.int8)
    fc_arrays = [(S8, w.reshape(channels, 1)), (S32, bias), (S32, mult.astype(np.int32)), (S32, shift.astype(np.int32))]
    fc_params = [1, 1, 1, 1, channels, 1, 1, 1, 1, 1, 1, channels, 0, 0, out_off, -128, 127]
    fc = KernelCall("FC_PC", fc_params, fc_arrays, channels)
    return [("xrqacc_dw", dw, x_dw), ("xrqacc_fc", fc, x.astype(np.int8))]


def expected_outputs(call: KernelCall, x: np.ndarray) -> np.ndarray:
    """What the calls of acc_kernel_cases must output (quant.requantize of bias + weight * input)."""
    w = call.arrays[0][1]
    w = w[0, 1, 1] if call.op == "DW_3X3" else w[:, 0]
    bias, mult, shift = (call.arrays[k][1] for k in (1, 2, 3))
    out_off = call.params[13] if call.op == "DW_3X3" else call.params[14]
    out = np.empty((x.shape[0], bias.size), np.int8)
    for i in range(x.shape[0]):
        xi = x[i] if call.op == "DW_3X3" else np.repeat(x[i], bias.size)
        for c in range(bias.size):
            a = int(bias[c]) + int(w[c]) * int(xi[c])
            out[i, c] = quant.requantize(a, int(mult[c]), int(shift[c]), out_off)
    return out
