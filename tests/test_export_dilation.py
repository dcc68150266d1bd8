"""Dilated convolutions: CONV_2D with its real taps and the dilation in the kernel's parameters,
depthwise as zero-inserted filters, and TFLite's space-to-batch form folded.

- every dilated per-op model (conv and depthwise, SAME / VALID, multiplier 2, dilation 2 and 3)
  generates the conv's 3x3 filter with its dilation (tests/test_export_conv_dilated_grouped.py has
  more) or a larger zero-inserted depthwise filter, reports the true MACs, and is bit-exact with TFLM
  (the per-op host and emulator tests run them too);
- a model written as SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND (built here by editing a
  converted model, since today's converter fuses the pattern itself) is folded into one dilated
  zero-point PAD and one dilated convolution, the two data-movement operators reported as folded,
  and bit-exact with LiteRT running the three operators (which equals TFLM's fused dilated
  operator; TFLM's own SPACE_TO_BATCH_ND pads with stale arena bytes).
"""

from __future__ import annotations

import flatbuffers
import numpy as np
import pytest
from opmodels import get_opmodel, random_inputs

from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.lowering import lower
from edgefact.export.ops.conv import dilate_filter
from edgefact.export.reference import run_litert_ref, run_tflm
from edgefact.export.tflite_model import load_tflite

DILATED = {"conv_3x3_d2_same": 2, "conv_3x3_d2_valid": 2, "dw_3x3_d2_same": 2, "dw_3x3_d3_valid_m2": 3}


def test_dilate_filter_inserts_zeros() -> None:
    f = np.arange(1, 1 + 2 * 3 * 2 * 1, dtype=np.int8).reshape(2, 3, 2, 1)
    d = dilate_filter(f, 2, 3)
    assert d.shape == (2, 5, 4, 1)
    assert np.array_equal(d[:, ::2, ::3, :], f)
    assert np.count_nonzero(d) == np.count_nonzero(f)
    assert dilate_filter(f, 1, 1) is f


@pytest.mark.parametrize("case", sorted(DILATED))
def test_dilated_layers(case: str, tmp_path) -> None:
    model = get_opmodel(case)
    layer = lower(load_tflite(model)).layers[0]
    d = DILATED[case]
    assert f"dilation {d}x{d}" in layer.describe
    # CONV_2D: the real 3x3 taps, the dilation in the parameters; depthwise: a zero-inserted filter
    k_eff = 3 if layer.op == "CONV_2D" else 2 * d + 1
    assert (layer.args.filter_dims.h, layer.args.filter_dims.w) == (k_eff, k_eff)
    assert layer.args.params.dilation == ((d, d) if layer.op == "CONV_2D" else (1, 1))
    taps = 9 * (layer.args.filter_dims.c if layer.op == "CONV_2D" else 1)
    out = layer.output_shape
    assert layer.macs == out[1] * out[2] * out[3] * taps  # the real taps, not the zero ones
    xs = random_inputs(model, 60, seed=4)
    got = run_host_batch(generate_c(model, tmp_path / "gen"), xs[0])
    assert np.array_equal(np.asarray(got).reshape(-1), run_tflm(model, xs)[0].reshape(-1))


def _space_to_batch_form(data: bytes) -> bytes:
    """The dilated CONV_2D of ``data`` rewritten as SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    m = s.ModelT.InitFromPackedBuf(data, 0)
    g = m.subgraphs[0]
    conv = g.operators[0]
    d = conv.builtinOptions.dilationHFactor
    x, y = g.tensors[conv.inputs[0]], g.tensors[conv.outputs[0]]
    n, h, w, c = x.shape
    _, oh, ow, oc = y.shape
    k = g.tensors[conv.inputs[1]].shape[1]
    pad = (k - 1) * d // 2  # SAME, odd kernel: the same before and after

    def add_buffer(arr: np.ndarray) -> int:
        b = s.BufferT()
        b.data = np.frombuffer(arr.tobytes(), np.uint8)
        m.buffers.append(b)
        return len(m.buffers) - 1

    def add_tensor(name: str, shape: list[int], ttype: int, buffer: int = 0, like: object = None) -> int:
        t = s.TensorT()
        t.name, t.shape, t.type, t.buffer = name.encode(), np.array(shape, np.int32), ttype, buffer
        t.quantization = getattr(like, "quantization", None)
        g.tensors.append(t)
        return len(g.tensors) - 1

    def add_code(op: str) -> int:
        code = getattr(s.BuiltinOperator, op)
        oc_ = s.OperatorCodeT()
        oc_.builtinCode, oc_.deprecatedBuiltinCode, oc_.version = code, min(code, 127), 1
        m.operatorCodes.append(oc_)
        return len(m.operatorCodes) - 1

    # as TensorFlow writes it: pad so the padded size divides by the block, crop the extra rows
    eh, ew = (-(h + 2 * pad)) % d, (-(w + 2 * pad)) % d
    hp, wp = h + 2 * pad + eh, w + 2 * pad + ew
    block = add_tensor("block", [2], s.TensorType.INT32, add_buffer(np.array([d, d], np.int32)))
    pads = add_tensor("pads", [2, 2], s.TensorType.INT32,
                      add_buffer(np.array([[pad, pad + eh], [pad, pad + ew]], np.int32)))
    crops = add_tensor("crops", [2, 2], s.TensorType.INT32, add_buffer(np.array([[0, eh], [0, ew]], np.int32)))
    assert (oh, ow) == (h, w)
    mid_in = add_tensor("s2b", [n * d * d, hp // d, wp // d, c], x.type, like=x)
    mid_out = add_tensor("conv", [n * d * d, hp // d - k + 1, wp // d - k + 1, oc], y.type, like=y)
    s2b = s.OperatorT()
    s2b.opcodeIndex, s2b.inputs, s2b.outputs = add_code("SPACE_TO_BATCH_ND"), [conv.inputs[0], block, pads], [mid_in]
    s2b.builtinOptionsType, s2b.builtinOptions = s.BuiltinOptions.SpaceToBatchNDOptions, s.SpaceToBatchNDOptionsT()
    b2s = s.OperatorT()
    b2s.opcodeIndex, b2s.inputs, b2s.outputs = add_code("BATCH_TO_SPACE_ND"), [mid_out, block, crops], [conv.outputs[0]]
    b2s.builtinOptionsType, b2s.builtinOptions = s.BuiltinOptions.BatchToSpaceNDOptions, s.BatchToSpaceNDOptionsT()
    conv.inputs = np.array([mid_in, *conv.inputs[1:]], np.int32)
    conv.outputs = np.array([mid_out], np.int32)
    conv.builtinOptions.dilationHFactor = conv.builtinOptions.dilationWFactor = 1
    conv.builtinOptions.padding = s.Padding.VALID
    g.operators = [s2b, conv, b2s]
    b = flatbuffers.Builder(len(data) + 4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_space_to_batch_pattern_folds_into_one_dilated_conv(tmp_path) -> None:
    data = _space_to_batch_form(get_opmodel("conv_3x3_d2_same"))
    model = load_tflite(data)
    assert model.op_names() == ["SPACE_TO_BATCH_ND", "CONV_2D", "BATCH_TO_SPACE_ND"]
    gen = generate_c(data, tmp_path / "gen")
    # the PAD the pattern becomes pads with the zero point: folded into the convolution's padding
    assert [la.op for la in gen.graph.layers] == ["CONV_2D"]
    zp = int(load_tflite(data).tensors[0].quantization.zero_points[0])
    assert zp != 0 and "dilation 2x2" in gen.graph.layers[0].describe and "PAD folded" in gen.graph.layers[0].describe
    assert sorted(f.op.split()[0] for f in gen.graph.folded) == ["BATCH_TO_SPACE_ND", "PAD", "SPACE_TO_BATCH_ND"]
    xs = random_inputs(data, 60, seed=9)
    got = np.asarray(run_host_batch(gen, xs[0]))
    # LiteRT runs the three operators as TFLite defines them (padding with the zero point) and
    # agrees with TFLM's fused dilated operator; TFLM's own SPACE_TO_BATCH_ND pads with whatever
    # its arena held before, so it is not the reference for this form
    want = run_litert_ref(data, xs)[0]
    assert np.array_equal(want, run_tflm(get_opmodel("conv_3x3_d2_same"), xs)[0])
    assert np.array_equal(got.reshape(-1), want.reshape(-1))


def test_dilated_depthwise_takes_the_pixel_phases_on_the_dsp_cores() -> None:
    """A dilated 3x3 depthwise layer with multiplier 1 runs ef_depthwise_conv_3x3_px_dilated_s8 on
    M4/M7/M33 where its phases are short (the ring of ef_depthwise_conv_3x3_dilated_s8 pays its
    line set-up per phase: 28x28 at dilation 2, 0.272 against 0.326 MAC/instr), the ring where
    they are long with whole 4-output steps (48x48: 0.335 against 0.330), each the other's
    alternative; a multiplier keeps the ring; channels off the 4-channel groups or a shift outside
    the asm loops' range keep the ring. On the Helium core ef_depthwise_conv_3x3_dot_dilated_s8 (even
    channels, a stored window row of <= 62 pixels, right shifts), else the ring's Helium window."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from kernels_harness import case_model

    from edgefact.export.ops import get_op
    from edgefact.export.ops.conv import (
        DILATED,
        DOT_DIL,
        PX_DIL,
        _dw_dot_dilated_applies,
        _dw_px_dilated_faster,
    )
    from edgefact.targets import get_target

    def layer(case: str, core: str):
        return lower(load_tflite(case_model(case)), target=get_target(core)).layers[0]

    for case in ("xdwpd_c8_d2_15x13_same_relu", "xdwpd_c12_d4_11x9_same", "dwd_3x3_d3_same_c8_16x18"):
        for core in ("cortex-m4", "cortex-m7", "cortex-m33"):
            la = layer(case, core)
            assert la.kernel == PX_DIL, (case, core, la.kernel)
            assert DILATED in get_op("DEPTHWISE_CONV_2D").kernels(la)
        m55 = layer(case, "cortex-m55")
        assert m55.kernel == DOT_DIL and PX_DIL in get_op("DEPTHWISE_CONV_2D").kernels(m55), (case, m55.kernel)
        assert DOT_DIL in get_op("DEPTHWISE_CONV_2D").kernels(la)  # an alternative on the DSP cores
    m2 = layer("dwd_3x3_d2_m2_same_c5_12x12", "cortex-m4")  # a multiplier: not the pixel phases
    assert m2.kernel != PX_DIL and PX_DIL not in get_op("DEPTHWISE_CONV_2D").kernels(m2)
    odd = layer("dwd_3x3_d2_same_c13_14x12", "cortex-m4")  # 13 channels: a scalar tail, the ring kept
    assert odd.kernel == DILATED and PX_DIL in get_op("DEPTHWISE_CONV_2D").kernels(odd)
    odd55 = layer("dwd_3x3_d2_same_c13_14x12", "cortex-m55")  # no channel pairs: the Helium window
    assert odd55.kernel == DILATED and DOT_DIL not in get_op("DEPTHWISE_CONV_2D").kernels(odd55)
    # the dot kernel's window: a stored row of dw * ceil((out_w + 2 dw) / dw) <= 62 pixels
    wide = layer("xdwdd_c2_d2_40x30_same_relu", "cortex-m55")
    assert wide.kernel == DOT_DIL and _dw_dot_dilated_applies(wide)
    a = wide.args
    for ow, fits in ((58, True), (59, False)):
        dims = type(a.input_dims)(1, 8, ow, 2)
        wide.args = type(a)(a.params, dims, a.filter_dims, dims, a.groups, a.padding_after)
        assert _dw_dot_dilated_applies(wide) == fits, ow
    for c, fits in ((2978, True), (2980, False)):  # tap 7's filter offset (2 * 2 * 5 + 2) * c within 16 bits
        dims = type(a.input_dims)(1, 8, 16, c)  # (16 wide: the fill's 7 * 2 * c offsets are smaller)
        wide.args = type(a)(a.params, dims, type(a.filter_dims)(1, 5, 5, c), dims, a.groups, a.padding_after)
        assert _dw_dot_dilated_applies(wide) == fits, c
    wide.args = a
    wide.consts["shift"] = wide.consts["shift"].copy()
    wide.consts["shift"][1] = 0
    assert not _dw_dot_dilated_applies(wide)
    la = layer("xdwpd_c8_d2_15x13_same_relu", "cortex-m4")
    assert _dw_px_dilated_faster(la, "cortex-m4")
    la.consts["shift"] = la.consts["shift"].copy()
    la.consts["shift"][5] = -1  # off the asm loops' requantization
    assert not _dw_px_dilated_faster(la, "cortex-m4")
    # the phase rule: a 48x48 layer at dilation 2 has 24 x 24 phases (the ring), 40x40 20 x 20
    la = layer("xdwpd_c8_d2_15x13_same_relu", "cortex-m4")
    for hw, px in ((48, False), (40, True), (28, True)):
        a = la.args
        dims = type(a.input_dims)(1, hw, hw, 8)
        la.args = type(a)(a.params, dims, a.filter_dims, dims, a.groups, a.padding_after)
        assert _dw_px_dilated_faster(la, "cortex-m4") == px, hw
