"""L2_NORMALIZATION (edgefact.export.ops.normalize, ef_l2_normalization_s8).

Bit-exactness with TFLM (image rows, a vector, a zero point far from 0 whose all-minimum sample
is a row of zero points: the inverse square root's special case) runs through the ``l2norm_*``
OPMODEL_CASES in tests/test_firmware_kernels_ops.py and tests/test_firmware_kernels_qemu.py. Here: the fixed output
quantization of the cases, the degenerate rows and the kernel's argument checks.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from opmodels import OPMODEL_CASES, get_opmodel

from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources


@pytest.mark.parametrize("case", sorted(c for c in OPMODEL_CASES if c.startswith("l2norm_")))
def test_output_quantization_is_tflites(case: str) -> None:
    m = load_tflite(get_opmodel(case))
    q = m.tensor(m.operators[0].outputs[0]).quantization
    assert q is not None and (float(q.scales[0]), int(q.zero_points[0])) == (1.0 / 128.0, 0)
    if case == "l2norm_offset":  # the all-minimum input sample is a row of zero points
        qi = m.tensor(m.operators[0].inputs[0]).quantization
        assert qi is not None and int(qi.zero_points[0]) == -128


def test_degenerate_rows_and_argument_checks(tmp_path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc missing: apt install gcc")
    src = tmp_path / "t.c"
    src.write_text(r'''#include <stdio.h>
#include "ef_nn.h"
int main(void)
{
    /* zero point 5: a row of zero points (sum 0), a single step (sum 1), and [3, 4] * k */
    const int8_t in[9] = {5, 5, 5, 5, 6, 5, 8, 9, 5};
    int8_t out[9];
    printf("%d", (int)ef_l2_normalization_s8(-5, in, 3, 3, out));
    for (int i = 0; i < 9; ++i) printf(" %d", out[i]);
    printf("\n%d %d %d %d\n", (int)ef_l2_normalization_s8(-5, in, 0, 3, out),
           (int)ef_l2_normalization_s8(-5, in, 1, 70000, out), (int)ef_l2_normalization_s8(-200, in, 3, 3, out),
           (int)ef_l2_normalization_s8(-5, 0, 3, 3, out));
    return 0;
}
''')
    exe = tmp_path / "t"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{kernel_include_dir()}", str(src),
                        *map(str, kernel_sources()), "-lm", "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    # 3/5 and 4/5 at scale 1/128: 76.8 and 102.4
    assert lines[0].split() == ["0", "0", "0", "0", "0", "127", "0", "77", "102", "0"]
    assert lines[1].split() == ["-2", "-2", "-3", "-1"]
