"""LOG_SOFTMAX (edgefact.export.ops.normalize, ef_log_softmax_s8, internal/ef_fixedpoint.h).

Bit-exactness with TFLM (a classifier row, image rows, an input range wide enough that
differences fall below the representable range) runs through the ``log_softmax_*``
OPMODEL_CASES in tests/test_firmware_kernels_ops.py and tests/test_firmware_kernels_qemu.py. Here: the parameters
against their definition, the fixed-point logarithm against log(), and the argument checks.
"""

from __future__ import annotations

import math
import shutil
import subprocess

import pytest
from opmodels import OPMODEL_CASES, get_opmodel

from edgefact.export import quant
from edgefact.export.ops.normalize import log_softmax_params
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources


@pytest.mark.parametrize("case", sorted(c for c in OPMODEL_CASES if c.startswith("log_softmax_")))
def test_output_quantization_is_tflites(case: str) -> None:
    m = load_tflite(get_opmodel(case))
    q = m.tensor(m.operators[0].outputs[0]).quantization
    assert q is not None and (float(q.scales[0]), int(q.zero_points[0])) == (16.0 / 256.0, 127)


@pytest.mark.parametrize("scale", [0.01, 0.0473, 0.3, 1.7])
def test_params(scale: float) -> None:
    p = log_softmax_params(scale)
    m, s = quant.preprocess_softmax_scaling(1.0, scale, 5)
    assert (p.input_multiplier, p.input_left_shift) == (m, s)
    # the reverse divisor undoes the input rescaling: divisor * 2^shift ~ 2^(31 - s) / m
    assert p.reverse_scaling_left_shift <= 0
    real = p.reverse_scaling_divisor / 2.0 ** 31 * 2.0 ** p.reverse_scaling_left_shift
    assert real == pytest.approx(2.0 ** (31 - s) / m, rel=1e-8)
    assert p.diff_min == -quant.calculate_input_radius(5, s)


def test_fixed_point_log_and_argument_checks(tmp_path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc missing: apt install gcc")
    src = tmp_path / "t.c"
    src.write_text(r'''#include <stdio.h>
#include "ef_nn.h"
#include "internal/ef_fixedpoint.h"
int main(void)
{
    const double xs[6] = {1.0, 1.5, 2.0, 10.0, 100.0, 4000.0};
    for (int i = 0; i < 6; ++i) {
        const int32_t q12 = (int32_t)(xs[i] * (1 << 19));
        printf("%.6f ", ef_fx_log_q12_to_q5(q12) / (double)(1 << 26));
    }
    const ef_log_softmax_params p = {1 << 30, 20, 1 << 30, -1, -100}, bad = {1 << 30, 20, 1 << 30, 1, -100};
    int8_t in[4] = {0, 0, 0, 0}, out[4];
    printf("\n%d %d %d %d\n", (int)ef_log_softmax_s8(&p, in, 1, 4, out), (int)ef_log_softmax_s8(&p, in, 1, 5000, out),
           (int)ef_log_softmax_s8(&bad, in, 1, 4, out), (int)ef_log_softmax_s8(&p, 0, 1, 4, out));
    return 0;
}
''')
    exe = tmp_path / "t"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{kernel_include_dir()}", str(src),
                        *map(str, kernel_sources()), "-lm", "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    got = [float(v) for v in lines[0].split()]
    assert got == pytest.approx([math.log(x) for x in (1.0, 1.5, 2.0, 10.0, 100.0, 4000.0)], abs=1e-4)
    assert lines[1].split() == ["0", "-2", "-3", "-1"]
