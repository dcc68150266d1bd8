"""RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (edgefact.export.ops.resize).

Bit-exactness with TFLM (up and down by non-integer factors; plain, align_corners and
half_pixel_centers) runs through the ``resize_*`` OPMODEL_CASES in tests/test_firmware_kernels_ops.py and
tests/test_firmware_kernels_qemu.py. Here: that those cases really carry the options they are named after,
the nearest-neighbour tables on known values, and the kernels' argument checks.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from opmodels import OPMODEL_CASES, get_opmodel

from edgefact.export.ops.resize import nearest_indices
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources

RESIZE_CASES = sorted(c for c in OPMODEL_CASES if c.startswith("resize_"))


@pytest.mark.parametrize("case", RESIZE_CASES)
def test_cases_carry_their_options(case: str) -> None:
    spec = OPMODEL_CASES[case]
    m = load_tflite(get_opmodel(case))
    op = next(o for o in m.operators if o.name == spec.op)
    assert bool(op.options.get("align_corners")) == spec.params["align"]
    assert bool(op.options.get("half_pixel_centers")) == spec.params["half"]
    assert m.tensor(op.outputs[0]).shape[1:3] == tuple(spec.params["size"])


def test_the_configurations_cover_both_directions_and_every_convention() -> None:
    seen = set()
    for case in RESIZE_CASES:
        p = OPMODEL_CASES[case].params
        up = p["size"][0] > p["shape"][1]
        seen.add((p["method"], up, p["align"], p["half"]))
    for method in ("nearest", "bilinear"):
        assert {(method, True, False, False), (method, False, False, True), (method, True, True, False),
                (method, False, True, False)} <= seen


def test_nearest_indices() -> None:
    assert nearest_indices(4, 7, False, False).tolist() == [0, 0, 1, 1, 2, 2, 3]  # floor(v * 4/7)
    assert nearest_indices(5, 8, True, False).tolist() == [0, 1, 1, 2, 2, 3, 3, 4]  # round(v * 4/7)
    assert nearest_indices(9, 5, False, True).tolist() == [0, 2, 4, 6, 8]  # floor((v + .5) * 1.8)
    assert nearest_indices(3, 1, True, False).tolist() == [0]
    assert np.all(nearest_indices(2, 9, False, True) <= 1)


def test_kernels_check_their_arguments(tmp_path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc missing: apt install gcc")
    src = tmp_path / "t.c"
    src.write_text(r'''#include <stdio.h>
#include "ef_nn.h"
int main(void)
{
    int8_t in[2 * 3 * 2] = {-128, 127, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, out[4 * 2 * 2];
    const ef_dims din = {1, 2, 3, 2}, dout = {1, 4, 2, 2}, dbad = {1, 4, 2, 3};
    const int32_t rows[4] = {0, 0, 1, 1}, cols[2] = {2, 0}, badcols[2] = {3, 0};
    printf("%d", (int)ef_resize_nearest_s8(&din, in, rows, cols, &dout, out));
    for (int i = 0; i < 16; ++i) printf(" %d", out[i]);
    const ef_resize_params plain = {0, 0}, both = {1, 1};
    printf("\n%d %d %d %d %d\n", (int)ef_resize_nearest_s8(&din, in, rows, badcols, &dout, out),
           (int)ef_resize_nearest_s8(&din, in, rows, cols, &dbad, out),
           (int)ef_resize_bilinear_s8(&both, &din, in, &dout, out),
           (int)ef_resize_bilinear_s8(&plain, &din, in, &dbad, out),
           (int)ef_resize_bilinear_s8(&plain, &din, 0, &dout, out));
    return 0;
}
''')
    exe = tmp_path / "t"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{kernel_include_dir()}", str(src),
                        *map(str, kernel_sources()), "-lm", "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    assert lines[0].split() == ["0", "2", "3", "-128", "127", "2", "3", "-128", "127",
                                "8", "9", "4", "5", "8", "9", "4", "5"]
    assert lines[1].split() == ["-3", "-2", "-3", "-2", "-1"]
