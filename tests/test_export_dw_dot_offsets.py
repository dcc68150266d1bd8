"""The Helium 9-tap dot kernels' 16-bit gather offsets bound the channel counts they take.

``ef_depthwise_conv_3x3_dot_s8`` (and its multiplier entry) fills its window with halfword gathers
whose 16-bit offsets reach (wx - 1) C, wx = min(in_w, wp - pad) the input pixels of a window row,
and gathers a channel's weights 7 OC apart; the dilated entry fills a residue's n = ceil(min(in_w,
wp0 - pad) / dw) pixels dw C apart. A layer past either bound used to be taken and computed wrong
(2 x 16 x 4,370: 20,505 mismatches; 4 x 30 x 2,342 at dilation 2: 44,309); ``dot_ok`` /
``dot_dil_ok`` and their generator mirrors now refuse it, and the layer runs another kernel.
"""

from __future__ import annotations

import hashlib
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest
from opmodels import OpSpec, build_opmodel

from edgefact.export.ops.base import Dims
from edgefact.export.ops.conv import DOT, DOT_DIL, ConvArgs, DwConvParams, _dw3x3_dot_applies
from edgefact.fsutil import atomic_write_bytes

ROOT = Path(__file__).resolve().parent.parent


def _args(h: int, w: int, c: int, mult: int = 1) -> ConvArgs:
    p = DwConvParams(0, 0, mult, (1, 1), (1, 1), (1, 1), (-128, 127))
    return ConvArgs(p, Dims(1, h, w, c), Dims(1, 3, 3, c * mult), Dims(1, h, w, c * mult), 1, (1, 1))


def test_undilated_dot_stops_at_its_fill_and_weight_offsets() -> None:
    right = -np.ones(1, np.int32)
    # 16 wide, SAME: wp = 18 columns, wx = min(16, 18 - 1) = 16 pixels, offsets up to 15 C
    assert _dw3x3_dot_applies(_args(2, 16, 4368), right)  # 15 * 4368 = 65,520
    assert not _dw3x3_dot_applies(_args(2, 16, 4370), right)  # 65,550
    # 4 wide: the fill's 3 C is small; the weights' 7 OC binds (OC = 2 C with a multiplier of 2)
    assert _dw3x3_dot_applies(_args(4, 4, 4680, mult=2), right)  # 7 * 9360 = 65,520
    assert not _dw3x3_dot_applies(_args(4, 4, 4682, mult=2), right)


def _model(h: int, w: int, c: int, dilation: int) -> Path:
    """The one-op model, converted once and cached under .cache (conversion is the slow part)."""
    spec = OpSpec("DEPTHWISE_CONV_2D", "dw", dict(h=h, w=w, c=c, mult=1, k=3, kh=3, kw=3, stride=1,
                                                  padding="SAME", act="RELU", dilation=dilation))
    name = f"dwdot_{h}x{w}x{c}_d{dilation}"
    key = hashlib.sha256(f"{version('tensorflow')}|{sorted(spec.params.items())}".encode()).hexdigest()[:16]
    path = ROOT / ".cache" / "kernels_models" / f"{name}-{key}.tflite"
    if not path.is_file():
        atomic_write_bytes(path, build_opmodel(name, spec))
    return path


@pytest.mark.parametrize(("shape", "kernel", "taken"), [
    ((2, 16, 4368, 1), DOT, True), ((2, 16, 4370, 1), DOT, False),
    ((4, 30, 2340, 2), DOT_DIL, True), ((4, 30, 2342, 2), DOT_DIL, False),
])
def test_wide_layers_at_the_bound_run_bit_exact_on_the_m55(tmp_path, shape, kernel, taken) -> None:
    from edgefact.pipeline.deploy import deploy_tflite

    rep = deploy_tflite(_model(*shape), "cortex-m55", tmp_path / "d", n_random=2, write_report=False)
    assert rep["bitexact"]["equal"], (shape, rep["bitexact"])
    ran = [r["kernel"] for r in rep["layers"] if r["op"] == "DEPTHWISE_CONV_2D"]
    assert (ran == [kernel]) == taken, (shape, ran)
