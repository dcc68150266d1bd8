"""The generator's precondition for the 3x3 depthwise kernel with a depth multiplier (its Helium
window path) matches the kernel's: a line step whose 16-bit gather offsets cannot overflow."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from edgefact.export.ops.base import Dims
from edgefact.export.ops.conv import DW_MULT_MAX_STEP, ConvArgs, DwConvParams, _dw3x3_mult_applies

SRC = Path(__file__).resolve().parent.parent / "edgefact" / "firmware" / "kernels" / "src" / "ef_depthwise_conv_3x3_s8.c"


def _define(name: str) -> str:
    m = re.search(rf"#define {name} (.+?)(?:/\*|$)", SRC.read_text(), re.M)
    assert m, name
    return m.group(1).strip()


def test_step_limit_is_the_kernels() -> None:
    seg, seg2 = int(_define("DW_SEG").split()[0]), int(_define("DW_SEG2").split()[0])
    reach = max(seg + 2, 2 * seg2 + 1) - 1  # a segment's window entries span this many line steps
    assert _define("DW_MULT_MAX_STEP") == f"(65535 / {reach})"
    assert reach * DW_MULT_MAX_STEP <= 65535 < reach * (DW_MULT_MAX_STEP + 1)  # every offset fits 16 bits


def _args(w: int, c: int, mult: int = 2) -> ConvArgs:
    p = DwConvParams(0, 0, mult, (1, 1), (1, 1), (1, 1), (-128, 127))
    return ConvArgs(p, Dims(1, 8, w, c), Dims(1, 3, 3, c * mult), Dims(1, 8, w, c * mult), 1, (1, 1))


def test_selection_stops_at_the_limit() -> None:
    shifts = -np.ones(1, np.int32)
    assert _dw3x3_mult_applies(_args(9, DW_MULT_MAX_STEP), shifts)  # wide layer: the step is the channels
    assert not _dw3x3_mult_applies(_args(9, DW_MULT_MAX_STEP + 1), shifts)
    assert not _dw3x3_mult_applies(_args(9, 16), np.zeros(1, np.int32))  # a left shift: not this path
