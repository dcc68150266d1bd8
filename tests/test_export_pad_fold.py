"""A zero-point PAD in front of a convolution becomes the convolution's own padding
(edgefact/export/pad_fold.py); a PAD that cannot be folded stays a PAD.

Bit-exactness of every case against TFLM on the host and on the four cores is covered by the
kernel harness's ``xpad_*`` cases (tests/test_firmware_kernels_ops.py, _qemu.py); here: which
PADs fold, the padding the convolution gets, what the report and the memory plan show.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from kernels_harness import EXTRA_CASES, case_model

from edgefact.export import lowering
from edgefact.export.lowering import lower
from edgefact.export.memplan import plan_memory
from edgefact.export.ops.movement import PAD_VALUE
from edgefact.export.pad_fold import EXPLICIT_PADDING, conv_padding, fold_pads
from edgefact.export.tflite_model import load_tflite

FOLDED = {  # case -> the convolution's (top, bottom, left, right) after the fold
    "xpad_conv3x3_c1_s2": (1, 1, 1, 1),
    "xpad_conv3x3_c3_s2": (1, 1, 1, 1),
    "xpad_dw3x3_c13_s2": (1, 1, 1, 1),
    "xpad_dw3x3_c8_asym": (0, 1, 1, 0),
    "xpad_dw3x3_c16_s2_p1": (1, 1, 1, 1),  # the Helium gathered depthwise's strips at stride 2
    "xpad_dw3x3_c40_s2_tl": (1, 0, 1, 0),  # top / left only
    "xpad_conv3x3_c8_same": (2, 1, 1, 2),  # the PAD's (1, 0, 0, 1) plus SAME's 1 on every side
    "xpad_conv5x5_c4_s1": (2, 2, 2, 1),
}
KEPT = ("xpad_kept_too_much", "xpad_kept_two_readers")


def test_cases_cover_folded_and_kept() -> None:
    assert set(FOLDED) | set(KEPT) == {c for c in EXTRA_CASES if c.startswith("xpad_")}


@pytest.mark.parametrize("case", sorted(FOLDED))
def test_pad_folds_into_the_convolution(case: str) -> None:
    model = load_tflite(case_model(case))
    assert model.op_names()[0] == "PAD"
    graph = lower(model)
    assert [la.op for la in graph.layers] == [model.op_names()[1]]
    conv = graph.layers[0]
    top, bottom, left, right = FOLDED[case]
    assert conv.args.params.padding == (top, left) and conv.args.padding_after == (bottom, right)
    assert f"pad {top}/{bottom}/{left}/{right} (PAD folded)" in conv.describe
    assert conv.inputs == [model.inputs[0]]  # reads the unpadded input directly
    assert [f.op.split()[0] for f in graph.folded] == ["PAD"]
    assert graph.folded[0].shapes[0] == model.tensors[model.operators[0].outputs[0]].shape


@pytest.mark.parametrize("case", sorted(FOLDED))
def test_folding_shrinks_the_arena(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_tflite(case_model(case))
    folded = plan_memory(lower(model)).arena_bytes
    monkeypatch.setattr(lowering, "fold_pads", lambda m: (m, []))
    kept = lower(model)
    assert [la.op for la in kept.layers][0] == "PAD"
    assert folded < plan_memory(kept).arena_bytes


@pytest.mark.parametrize("case", KEPT)
def test_pads_the_kernels_cannot_take_stay(case: str) -> None:
    graph = lower(load_tflite(case_model(case)))
    assert graph.layers[0].op == "PAD" and not graph.folded
    assert "PAD folded" not in graph.layers[1].describe


def _with(model, pad_options=None, paddings=None):  # noqa: ANN001, ANN202 - test helper
    pad = model.operators[0]
    tensors = list(model.tensors)
    if paddings is not None:
        t = tensors[pad.inputs[1]]
        tensors[t.index] = dataclasses.replace(t, data=np.array(paddings, np.int32))
    ops = [dataclasses.replace(pad, options={**pad.options, **(pad_options or {})}), *model.operators[1:]]
    return dataclasses.replace(model, tensors=tensors, operators=ops)


def test_pad_with_another_value_or_on_channels_stays() -> None:
    model = load_tflite(case_model("xpad_conv3x3_c3_s2"))
    assert len(fold_pads(model)[1]) == 1
    zp = int(model.tensors[model.inputs[0]].quantization.zero_points[0])
    assert fold_pads(_with(model, {PAD_VALUE: zp - 1}))[1] == []  # not the zero point: not a no-op tap
    assert fold_pads(_with(model, paddings=[[0, 0], [1, 1], [1, 1], [0, 1]]))[1] == []
    assert fold_pads(_with(model, paddings=[[1, 0], [1, 1], [1, 1], [0, 0]]))[1] == []
    out = fold_pads(model)[0]
    assert out.op_names() == ["CONV_2D"] and out.operators[0].options[EXPLICIT_PADDING] == ((1, 1), (1, 1))
    assert len(out.tensors) == len(model.tensors)  # the padded tensor is simply no longer read


def test_pad_that_is_a_model_output_stays() -> None:
    model = load_tflite(case_model("xpad_conv3x3_c3_s2"))
    padded = model.operators[0].outputs[0]
    assert fold_pads(dataclasses.replace(model, outputs=(*model.outputs, padded)))[1] == []


def test_conv_padding_hand_values() -> None:
    assert conv_padding({"padding": "SAME"}, 0, 96, 3, 2, 1) == (48, 0, 1)  # TFLite's own rule
    assert conv_padding({"padding": "VALID"}, 0, 98, 3, 2, 1) == (48, 0, 0)
    explicit = {"padding": "VALID", EXPLICIT_PADDING: ((1, 1), (2, 0))}
    assert conv_padding(explicit, 0, 96, 3, 2, 1) == (48, 1, 1)
    assert conv_padding(explicit, 1, 9, 3, 1, 2) == (7, 2, 0)  # dilation 2: 5 taps wide
