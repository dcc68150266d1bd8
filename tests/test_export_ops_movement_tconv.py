"""TRANSPOSE_CONV (edgefact.export.ops.tconv, ef_transpose_conv_s8).

Bit-exactness with TFLM (3x3 / 2x2 / 4x4 / 5x3 filters, strides 1, 2 and 3x2, SAME with even and
odd outputs, VALID, with and without bias, fused RELU) runs through the ``tconv_*`` OPMODEL_CASES
in tests/test_firmware_kernels_ops.py and tests/test_firmware_kernels_qemu.py. Here: the cases are what they are
named after, the layer's figures and padding, and the kernel's argument checks.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from opmodels import OPMODEL_CASES, get_opmodel

from edgefact.export.lowering import lower
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources

TCONV_CASES = sorted(c for c in OPMODEL_CASES if c.startswith("tconv_"))


@pytest.mark.parametrize("case", TCONV_CASES)
def test_cases_are_what_they_say(case: str) -> None:
    p = OPMODEL_CASES[case].params
    m = load_tflite(get_opmodel(case))
    (op,) = m.operators
    o = op.options
    assert (o["stride_h"], o["stride_w"], o["padding"]) == (*p["strides"], p["padding"])
    assert o["fused_activation_function"] == p["act"]
    assert (len(op.inputs) > 3 and op.inputs[3] >= 0) == p["bias"]
    assert m.tensor(op.inputs[1]).shape == (p["cout"], p["kh"], p["kw"], p["cin"])
    layer = lower(m).layers[0]
    assert layer.macs == p["h"] * p["w"] * p["kh"] * p["kw"] * p["cin"] * p["cout"]
    assert layer.output_shape == (1, *p["out"], p["cout"])


def test_padding_is_the_convolution_from_output_to_input() -> None:
    # 3x3 stride 2 SAME, 8x10 output: a convolution of 8x10 to 4x5 pads 0 top / 0 left (odd on
    # the bottom / right); 9x9 from 5x5 pads 1 / 1
    assert lower(load_tflite(get_opmodel("tconv_3x3_s2_same_relu"))).layers[0].args.params.padding == (0, 0)
    assert lower(load_tflite(get_opmodel("tconv_3x3_s2_same_odd"))).layers[0].args.params.padding == (1, 1)
    assert lower(load_tflite(get_opmodel("tconv_2x2_s2_valid"))).layers[0].args.params.padding == (0, 0)


def test_kernel_checks_its_arguments(tmp_path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc missing: apt install gcc")
    src = tmp_path / "t.c"
    src.write_text(r'''#include <stdio.h>
#include "ef_nn.h"
int main(void)
{
    /* 1x1 input of one channel, 2x2 filter, stride 2: the output is the filter times the input */
    const int8_t in[1] = {3}, filt[4] = {1, -2, 3, -4};
    const int32_t bias[1] = {10}, mult[1] = {1 << 30}, shift[1] = {1}, badshift[1] = {40};
    const ef_per_channel_quant q = {mult, shift}, bad_q = {mult, badshift};
    const ef_dims din = {1, 1, 1, 1}, df = {1, 2, 2, 1}, dout = {1, 2, 2, 1}, dbig = {1, 17, 2, 1}, dout2 = {1, 2, 2, 2};
    const ef_conv_params p = {1, -5, {2, 2}, {0, 0}, {1, 1}, {-128, 127}};
    const ef_conv_params dil = {1, -5, {2, 2}, {0, 0}, {2, 1}, {-128, 127}};
    const ef_conv_params s0 = {1, -5, {0, 2}, {0, 0}, {1, 1}, {-128, 127}};
    int8_t out[4];
    printf("%d", (int)ef_transpose_conv_s8(&p, &q, &din, in, &df, filt, bias, &dout, out));
    for (int i = 0; i < 4; ++i) printf(" %d", out[i]);
    printf("\n%d %d %d %d %d %d\n", (int)ef_transpose_conv_s8(&dil, &q, &din, in, &df, filt, bias, &dout, out),
           (int)ef_transpose_conv_s8(&s0, &q, &din, in, &df, filt, bias, &dout, out),
           (int)ef_transpose_conv_s8(&p, &bad_q, &din, in, &df, filt, bias, &dout, out),
           (int)ef_transpose_conv_s8(&p, &q, &din, in, &dbig, filt, bias, &dout, out),
           (int)ef_transpose_conv_s8(&p, &q, &din, in, &df, filt, bias, &dout2, out),
           (int)ef_transpose_conv_s8(&p, &q, &din, in, &df, filt, bias, &dout, 0));
    return 0;
}
''')
    exe = tmp_path / "t"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{kernel_include_dir()}", str(src),
                        *map(str, kernel_sources()), "-lm", "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    # (3 + 1) * w + 10, times 2^30 / 2^31 * 2^1 = 1, minus 5
    assert lines[0].split() == ["0", "9", "-3", "17", "-11"]
    assert lines[1].split() == ["-4", "-3", "-3", "-4", "-2", "-1"]  # dilation, stride 0, shift, 17x2 filter, channels, NULL
