"""Packing of clustered weights: Python round trips (all index widths, odd sizes, both channel
axes, per-channel and per-tensor tables), the layout choice and policy, and the C decoder
``ef_unpack_s8`` compiled for the host against the Python layout."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgefact.errors import EdgefactError
from edgefact.export import packing
from edgefact.export.packing import (
    PackedTensor,
    index_bits,
    pack_bits,
    pack_weights,
    unpack_bits,
    unpack_weights,
)
from edgefact.firmware.kernels import kernel_include_dir

SRC = Path(packing.__file__).resolve().parents[1] / "firmware" / "kernels" / "src" / "ef_unpack_s8.c"

# (shape, channel axis): CONV_2D [O, kh, kw, I], FC [units, depth], DEPTHWISE [1, kh, kw, C], odd sizes
SHAPES = [((7, 3, 3, 5), 0), ((5, 13), 0), ((1, 3, 3, 7), 3), ((3, 1, 1, 1), 0), ((1, 5, 3, 11), 3),
          ((9, 1, 1, 3), 0), ((2, 17), 0)]


def clustered(shape: tuple[int, ...], axis: int, k: int, rng: np.random.Generator,
              shared: bool = False) -> np.ndarray:
    """Random int8 tensor with at most ``k`` distinct values per channel (one set if ``shared``)."""
    w = np.empty(shape, dtype=np.int8)
    moved = np.moveaxis(w, axis, 0)
    common = rng.choice(np.arange(-128, 128), size=k, replace=False)
    for c in range(moved.shape[0]):
        vals = common if shared else rng.choice(np.arange(-128, 128), size=k, replace=False)
        moved[c] = rng.choice(vals, size=moved[c].shape)
    return w


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@pytest.mark.parametrize("n", [1, 3, 7, 8, 9, 31, 64, 101])
def test_pack_bits_round_trip(bits: int, n: int) -> None:
    rng = np.random.default_rng(bits * 1000 + n)
    idx = rng.integers(0, 1 << bits, n).astype(np.uint8)
    packed = pack_bits(idx, bits)
    assert packed.size == (n * bits + 7) // 8
    np.testing.assert_array_equal(unpack_bits(packed, bits, n), idx)


def test_pack_bits_layout_is_little_endian_in_each_byte() -> None:
    # element 0 in the low bits: what ef_unpack_s8 assumes
    assert pack_bits(np.array([1, 2, 3, 0]), 2).tolist() == [1 | 2 << 2 | 3 << 4]
    assert pack_bits(np.array([0xA, 0x5, 0x3]), 4).tolist() == [0x5A, 0x03]
    assert pack_bits(np.array([1, 0, 0, 0, 0, 0, 0, 1, 1]), 1).tolist() == [0x81, 0x01]


@pytest.mark.parametrize("shape,axis", SHAPES)
@pytest.mark.parametrize("k,bits", [(1, 1), (2, 1), (3, 2), (4, 2), (5, 4), (9, 4), (16, 4)])
def test_weights_round_trip(shape: tuple[int, ...], axis: int, k: int, bits: int) -> None:
    rng = np.random.default_rng(hash((shape, k)) % 2**32)
    per_ch = int(np.prod(shape)) // shape[axis]
    w = clustered(shape, axis, min(k, per_ch) if k > per_ch else k, rng)
    for per_channel in (None, True):
        p = pack_weights(w, axis, per_channel=per_channel)
        assert p is not None
        np.testing.assert_array_equal(unpack_weights(p), w)
        if per_channel:
            assert p.bits <= bits
        assert p.packed_bytes == (w.size * p.bits + 7) // 8
        assert p.saved_bytes == w.size - p.packed_bytes - p.lut_bytes
        if per_channel:
            assert p.num_luts == shape[axis] and p.lut_bytes == shape[axis] << p.bits


def test_more_than_16_values_per_channel_is_not_packable() -> None:
    rng = np.random.default_rng(1)
    w = clustered((4, 3, 3, 4), 0, 17, rng)
    assert pack_weights(w, 0) is None
    assert index_bits(17) == 8 and index_bits(16) == 4 and index_bits(3) == 2 and index_bits(2) == 1


def test_layout_choice_per_tensor_table_when_smaller() -> None:
    rng = np.random.default_rng(2)
    w = clustered((32, 3, 3, 8), 0, 16, rng, shared=True)  # one set of 16 values for all channels
    p = pack_weights(w, 0)
    assert p is not None and p.num_luts == 1 and p.lut_bytes == 16
    q = pack_weights(w, 0, per_channel=True)
    assert q is not None and q.num_luts == 32 and q.stored_bytes > p.stored_bytes
    np.testing.assert_array_equal(unpack_weights(p), w)
    # different values per channel: the union does not fit 4 bits, per-channel tables it is
    w2 = clustered((32, 3, 3, 8), 0, 16, rng)
    p2 = pack_weights(w2, 0)
    assert p2 is not None and p2.num_luts == 32 and p2.bits == 4


def test_rejects_non_int8_and_bad_axis() -> None:
    with pytest.raises(EdgefactError, match="int8"):
        pack_weights(np.zeros((2, 2), dtype=np.float32), 0)
    with pytest.raises(EdgefactError, match="axis"):
        pack_weights(np.zeros((2, 2), dtype=np.int8), 5)
    with pytest.raises(EdgefactError, match="auto, always, never"):
        packing.check_policy("sometimes")


class _FakeArgs:
    def __init__(self, batches: int) -> None:
        self.batches = batches


class _FakeLayer:
    def __init__(self, op: str, batches: int = 1) -> None:
        self.op = op
        self.args = _FakeArgs(batches)


def test_policy_decisions() -> None:
    rng = np.random.default_rng(3)
    big = pack_weights(clustered((64, 1, 1, 64), 0, 16, rng), 0)  # 4096 B -> 2048 + 1024
    small = pack_weights(clustered((4, 3, 3, 1), 0, 9, rng), 0)  # 36 B -> 18 + 64: grows
    fc = pack_weights(clustered((10, 64), 0, 4, rng), 0)  # 640 B -> 160 + 40
    assert big is not None and small is not None and fc is not None
    conv = _FakeLayer("CONV_2D")
    assert packing.decide(conv, big, "auto") and packing.decide(conv, big, "always")
    assert not packing.decide(conv, big, "never")
    assert small.saved_bytes < 0 and not packing.decide(conv, small, "auto") and packing.decide(conv, small, "always")
    assert not packing.decide(_FakeLayer("FULLY_CONNECTED"), fc, "auto")  # batch 1: decode ~ the FC itself
    assert packing.decide(_FakeLayer("FULLY_CONNECTED", batches=8), fc, "auto")
    assert not packing.decide(conv, None, "always")


# ---- the C decoder on the host ---------------------------------------------------------------------


class _Params(ctypes.Structure):
    _fields_ = [(f, ctypes.c_int32) for f in ("outer", "channels", "inner", "bits", "num_luts")]


@pytest.fixture(scope="module")
def c_unpack(tmp_path_factory: pytest.TempPathFactory):  # -> ctypes function
    if shutil.which("gcc") is None:
        pytest.fail("gcc is missing: sudo apt-get install gcc")
    lib = tmp_path_factory.mktemp("unpack") / "libefunpack.so"
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC",
                    f"-I{kernel_include_dir()}", str(SRC), "-o", str(lib)], check=True)
    fn = ctypes.CDLL(str(lib)).ef_unpack_s8
    fn.restype = ctypes.c_int
    return fn


def _run_c(fn, p: PackedTensor, params: _Params | None = None) -> tuple[int, np.ndarray]:
    out = np.full(p.num_elements + 8, 99, dtype=np.int8)  # sentinel tail: no writes past the end
    packed = np.ascontiguousarray(p.packed)
    luts = np.ascontiguousarray(p.luts)
    prm = params or _Params(p.outer, p.channels, p.inner, p.bits, p.num_luts)
    st = fn(ctypes.byref(prm), packed.ctypes.data_as(ctypes.c_void_p), luts.ctypes.data_as(ctypes.c_void_p),
            out.ctypes.data_as(ctypes.c_void_p))
    assert (out[p.num_elements:] == 99).all()
    return st, out[:p.num_elements].reshape(p.shape)


@pytest.mark.parametrize("shape,axis", SHAPES + [((13, 2, 3, 3), 0), ((1, 3, 3, 64), 3), ((64, 1, 1, 64), 0)])
@pytest.mark.parametrize("k", [2, 3, 16])
@pytest.mark.parametrize("per_channel", [True, False])
def test_c_unpack_matches_python(c_unpack, shape: tuple[int, ...], axis: int, k: int, per_channel: bool) -> None:
    rng = np.random.default_rng(hash((shape, k, per_channel)) % 2**32)
    w = clustered(shape, axis, k, rng, shared=not per_channel)
    p = pack_weights(w, axis, per_channel=per_channel)
    assert p is not None
    st, got = _run_c(c_unpack, p)
    assert st == 0
    np.testing.assert_array_equal(got, w)


def test_c_unpack_rejects_bad_parameters(c_unpack) -> None:
    w = clustered((4, 3), 0, 4, np.random.default_rng(5))
    p = pack_weights(w, 0, per_channel=True)
    assert p is not None
    assert _run_c(c_unpack, p, _Params(1, 4, 3, 3, 4))[0] == -3  # 3-bit indices: EF_ERR_PARAM
    assert _run_c(c_unpack, p, _Params(1, 4, 3, 2, 2))[0] == -3  # 2 tables for 4 channels
    assert _run_c(c_unpack, p, _Params(1, 0, 3, 2, 1))[0] == -2  # EF_ERR_DIMS
    prm = _Params(1, 4, 3, 2, 4)
    assert c_unpack(ctypes.byref(prm), None, None, None) == -1  # EF_ERR_NULL
