"""Data movement as strided views (edgefact.export.ops.slicing, ef_strided_copy_s8).

The per-op bit-exactness against TFLM (STRIDED_SLICE with negative strides and shrink masks,
SPLIT / SPLIT_V / UNPACK along every axis, TRANSPOSE, DEPTH_TO_SPACE / SPACE_TO_DEPTH with
blocks 2 and 3) runs through the OPMODEL_CASES of tests/opmodels.py in tests/test_firmware_kernels_ops.py
(host) and tests/test_firmware_kernels_qemu.py (the four cores). Here: the view arithmetic itself, the
kernel's refusal of a view outside its input, and that the lowering really runs these operators
(not a fold) with views the kernel copies by rows.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from opmodels import get_opmodel

from edgefact.errors import EdgefactError
from edgefact.export.lowering import lower
from edgefact.export.ops.slicing import MAX_DIMS, strided_slice_index, strided_view
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources


def _apply(p, x: np.ndarray) -> np.ndarray:
    """What ef_strided_copy_s8 computes, in NumPy."""
    flat = x.reshape(-1)
    idx = np.full(p.extent[:p.ndims], p.offset, dtype=np.int64)
    for k in range(p.ndims):
        shape = [1] * p.ndims
        shape[k] = p.extent[k]
        idx = idx + (np.arange(p.extent[k]) * p.stride[k]).reshape(shape)
    return flat[idx].reshape(-1)


@pytest.mark.parametrize("make", [
    lambda a: a[:, ::-1, 1:7:2, ::-2],
    lambda a: a[0, 2, :, 3:1:-1],
    lambda a: np.transpose(a, (0, 3, 1, 2)),
    lambda a: np.split(a, [2, 3], axis=3)[1],
    lambda a: a.reshape(1, 7, 8, 1, 2, 2).transpose(0, 1, 3, 2, 4, 5),  # DEPTH_TO_SPACE, block 2
])
def test_views_reproduce_numpy(make) -> None:
    a = np.arange(7 * 8 * 4).reshape(1, 7, 8, 4)
    want = make(a)
    p = strided_view(want)
    assert len(p.extent) == len(p.stride) == MAX_DIMS
    assert np.array_equal(_apply(p, a), want.reshape(-1))


def test_contiguous_dims_merge_into_rows() -> None:
    a = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    p = strided_view(a[:, 1:3])  # rows of 2 * 4 * 5 contiguous values, two of them
    assert (p.ndims, p.extent[:2], p.stride[:2], p.offset) == (2, (2, 40), (60, 1), 20)
    p = strided_view(a)  # the whole tensor: one row
    assert (p.ndims, p.extent[0], p.stride[0]) == (1, 120, 1)


def test_non_affine_maps_and_too_many_dims_are_refused() -> None:
    with pytest.raises(EdgefactError, match="not a strided view"):
        strided_view(np.array([0, 1, 3]))
    x = np.arange(2 ** 7).reshape((2,) * 7)
    with pytest.raises(EdgefactError, match="at most 6"):
        strided_view(x.transpose(6, 5, 4, 3, 2, 1, 0))


def test_strided_slice_masks_follow_tflite() -> None:
    a = np.arange(60).reshape(3, 4, 5)
    opts = dict(begin_mask=0b001, end_mask=0b100, shrink_axis_mask=0b010)
    got = strided_slice_index(a, np.array([2, 1, -2]), np.array([3, 9, 0]), np.array([1, 1, -1]), opts)
    assert np.array_equal(got, a[:, 1, -2::-1])
    with pytest.raises(EdgefactError, match="stride 0"):
        strided_slice_index(a, np.array([0]), np.array([1]), np.array([0]), {})


@pytest.mark.parametrize("case,views", [("strided_slice_negative", 1), ("split_v_c", 3), ("unpack_h", 3),
                                        ("depth_to_space_b3", 1)])
def test_lowered_as_copies(case: str, views: int) -> None:
    graph = lower(load_tflite(get_opmodel(case)))
    assert not graph.folded
    assert [layer.kernel for layer in graph.layers] == ["ef_strided_copy_s8"] * views
    if case == "split_v_c":  # channel slices of [1, 5, 3, 10]: rows of 2 and 7 bytes per pixel, then every 10th
        got = [(p.ndims, p.extent[:p.ndims], p.stride[:p.ndims], p.offset)
               for p in (layer.args.params for layer in graph.layers)]
        assert got == [(2, (15, 2), (10, 1), 0), (2, (15, 7), (10, 1), 2), (1, (15,), (10,), 9)]


def test_kernel_refuses_views_outside_the_input(tmp_path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc missing: apt install gcc")
    src = tmp_path / "t.c"
    src.write_text(r'''#include <stdio.h>
#include "ef_nn.h"
int main(void)
{
    int8_t in[24], out[24];
    for (int i = 0; i < 24; ++i) in[i] = (int8_t)i;
    ef_strided_copy_params ok = {2, {3, 4, 1, 1, 1, 1}, {-8, 2, 0, 0, 0, 0}, 17};   /* rows 17,9,1 */
    ef_strided_copy_params low = {2, {3, 4, 1, 1, 1, 1}, {-8, 2, 0, 0, 0, 0}, 15};  /* reaches -1 */
    ef_strided_copy_params high = {1, {24, 1, 1, 1, 1, 1}, {1, 0, 0, 0, 0, 0}, 1};  /* reaches 24 */
    ef_strided_copy_params zero = {1, {0, 1, 1, 1, 1, 1}, {1, 0, 0, 0, 0, 0}, 0};
    ef_strided_copy_params deep = {7, {1, 1, 1, 1, 1, 1}, {1, 0, 0, 0, 0, 0}, 0};
    printf("%d", (int)ef_strided_copy_s8(&ok, in, 24, out));
    for (int i = 0; i < 12; ++i) printf(" %d", out[i]);
    printf("\n%d %d %d %d %d\n", (int)ef_strided_copy_s8(&low, in, 24, out),
           (int)ef_strided_copy_s8(&high, in, 24, out), (int)ef_strided_copy_s8(&zero, in, 24, out),
           (int)ef_strided_copy_s8(&deep, in, 24, out), (int)ef_strided_copy_s8(&ok, 0, 24, out));
    return 0;
}
''')
    exe = tmp_path / "t"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{kernel_include_dir()}", str(src),
                        *map(str, kernel_sources()), "-lm", "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    assert lines[0].split() == ["0", "17", "19", "21", "23", "9", "11", "13", "15", "1", "3", "5", "7"]
    assert lines[1].split() == ["-2", "-2", "-2", "-2", "-1"]
