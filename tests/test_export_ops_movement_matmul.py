"""BATCH_MATMUL (edgefact.export.ops.matmul, ef_batch_matmul_s8).

Bit-exactness with TFLM (3-D and 4-D, adj_x, adj_y, a broadcast batch, a constant right operand)
runs through the ``bmm_*`` OPMODEL_CASES in tests/test_firmware_kernels_ops.py and
tests/test_firmware_kernels_qemu.py. Here: the cases are what they are named after, the strides the layer
passes, and the kernel's refusal of reads outside its operands.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from opmodels import OPMODEL_CASES, get_opmodel

from edgefact.export.lowering import lower
from edgefact.export.ops.matmul import batch_strides
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources

BMM_CASES = sorted(c for c in OPMODEL_CASES if c.startswith("bmm_"))


@pytest.mark.parametrize("case", BMM_CASES)
def test_cases_are_what_they_say(case: str) -> None:
    p = OPMODEL_CASES[case].params
    m = load_tflite(get_opmodel(case))
    (op,) = m.operators
    assert (bool(op.options.get("adj_x")), bool(op.options.get("adj_y"))) == (p["adj_x"], p["adj_y"])
    assert m.tensor(op.inputs[1]).is_constant == p["const"]
    layer = lower(m).layers[0]
    a = layer.args.params
    assert layer.macs == a.rows * a.depth * a.cols * a.batch[0] * a.batch[1] * a.batch[2] * a.batch[3]
    assert len(layer.inputs) == (1 if p["const"] else 2)


def test_broadcast_and_adjoint_strides() -> None:
    assert batch_strides((1, 1, 5, 3), (1, 2)) == [0, 0]
    assert batch_strides((2, 3, 4, 5), (2, 3)) == [60, 20]
    assert batch_strides((4, 5), (2, 3)) == [0, 0]
    a = lower(load_tflite(get_opmodel("bmm_bcast"))).layers[0].args.params
    assert (a.batch, a.lhs_batch_stride, a.rhs_batch_stride) == ((1, 1, 1, 2), (0, 0, 0, 20), (0, 0, 0, 0))
    a = lower(load_tflite(get_opmodel("bmm_adj_x"))).layers[0].args.params  # lhs [1, 6, 5] read as 5 x 6
    assert (a.rows, a.depth, a.lhs_row_stride, a.lhs_depth_stride) == (5, 6, 1, 5)
    a = lower(load_tflite(get_opmodel("bmm_4d_adj_y"))).layers[0].args.params  # rhs [.., 4, 7] read as 7 x 4
    assert (a.depth, a.cols, a.rhs_depth_stride, a.rhs_col_stride) == (7, 4, 1, 7)


def test_kernel_refuses_reads_outside_the_operands(tmp_path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc missing: apt install gcc")
    src = tmp_path / "t.c"
    src.write_text(r'''#include <stdio.h>
#include "ef_nn.h"
int main(void)
{
    /* [2 x 3] x [3 x 2], offsets 1 / -1, multiplier 2^30 shift 1 (x 1) */
    const int8_t l[6] = {1, 2, 3, 4, 5, 6}, r[6] = {1, 0, 0, 1, 2, 2};
    ef_batch_matmul_params p = {1, -1, 3, 1 << 30, 1, {-128, 127}, 2, 3, 2, 3, 1, 2, 1,
                                {1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    int8_t out[4];
    printf("%d", (int)ef_batch_matmul_s8(&p, l, 6, r, 6, out));
    for (int i = 0; i < 4; ++i) printf(" %d", out[i]);
    const int s0 = ef_batch_matmul_s8(&p, l, 5, r, 6, out);
    p.batch[3] = 2;
    p.rhs_batch_stride[3] = 1; /* the second batch would read r[6] */
    const int s1 = ef_batch_matmul_s8(&p, l, 6, r, 6, out);
    p.rhs_batch_stride[3] = 0;
    p.shift = 40;
    const int s2 = ef_batch_matmul_s8(&p, l, 6, r, 6, out);
    printf("\n%d %d %d %d\n", s0, s1, s2, (int)ef_batch_matmul_s8(&p, 0, 6, r, 6, out));
    return 0;
}
''')
    exe = tmp_path / "t"
    r = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", f"-I{kernel_include_dir()}", str(src),
                        *map(str, kernel_sources()), "-lm", "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.splitlines()
    # (l + 1) = [[2, 3, 4], [5, 6, 7]], (r - 1) = [[0, -1], [-1, 0], [1, 1]]: [[1, 2], [1, 2]], + 3
    assert lines[0].split() == ["0", "4", "5", "4", "5"]
    assert lines[1].split() == ["-2", "-2", "-3", "-1"]
