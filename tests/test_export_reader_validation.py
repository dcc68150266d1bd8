"""The validating TFLite reader: each defect of issue 13 as a small file, rejected with one
MalformedModelError naming the tensor or operator; zero / NaN / inf scales in the quantization
math raise QuantizationError naming the scale."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from shared_paths import MLPERF_DIR
from tflite_builder import one_op_model, pack, s, small_model, unpack

from edgefact.errors import EdgefactError, MalformedModelError
from edgefact.export import quant
from edgefact.export.tflite_model import load_tflite


def _edited(edit: Callable[[Any], None]) -> bytes:
    m = small_model()
    edit(m)
    return pack(m)


def _rejects(data: bytes, *needles: str) -> str:
    with pytest.raises(MalformedModelError) as info:
        load_tflite(data)
    msg = str(info.value)
    for n in needles:
        assert n in msg, msg
    return msg


def _tensors(m: Any) -> list[Any]:
    return m.subgraphs[0].tensors


def _ops(m: Any) -> list[Any]:
    return m.subgraphs[0].operators


def test_small_model_and_mlperf_load() -> None:
    model = load_tflite(pack(small_model()))
    assert model.op_names() == ["CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"]
    assert model.operators[0].options_type == "Conv2DOptions"
    for path in sorted(MLPERF_DIR.glob("*.tflite")):
        assert load_tflite(path).operators


# ---- dims and ranks ------------------------------------------------------------------------

def test_constant_with_negative_dim_is_malformed_not_valueerror() -> None:
    def edit(m: Any) -> None:
        _tensors(m)[1].shape = [4, 3, -3, -3]  # same element count as the buffer: reshape would fail
    _rejects(_edited(edit), "tensor 1 'conv/w'", "dimension -3")


@pytest.mark.parametrize("shape, needle", [([1, 0, 8, 4], "dimension 0"), ([1, -8, 8, 4], "dimension -8"),
                                           ([1, 65536, 65536, 4], "elements"),
                                           ([1, 1, 1, 1, 1, 1, 1, 1, 1], "rank 9")])
def test_activation_dims_bounded(shape: list[int], needle: str) -> None:
    def edit(m: Any) -> None:
        _tensors(m)[3].shape = shape
    _rejects(_edited(edit), "tensor 3 'conv/out'", needle)


def test_activation_dim_inconsistent_with_operator() -> None:
    def edit(m: Any) -> None:
        _tensors(m)[3].shape = [1, 65536, 8, 4]
    _rejects(_edited(edit), "operator 0 (CONV_2D)", "give 8x8")


def test_rank0_input_rejected() -> None:
    def edit(m: Any) -> None:
        _tensors(m)[0].shape = []
    _rejects(_edited(edit), "model input tensor 0 'input'", "rank 0")


# ---- strings ---------------------------------------------------------------------------------

def test_invalid_utf8_custom_code() -> None:
    def edit(m: Any) -> None:
        code = s.OperatorCodeT()
        code.builtinCode = s.BuiltinOperator.CUSTOM
        code.deprecatedBuiltinCode = s.BuiltinOperator.CUSTOM
        code.customCode = b"\xff\xfeop"
        code.version = 1
        m.operatorCodes.append(code)
        _ops(m)[4].opcodeIndex = len(m.operatorCodes) - 1
    _rejects(_edited(edit), "operator 4 (CUSTOM) custom code", "UTF-8")


def test_invalid_utf8_tensor_name() -> None:
    def edit(m: Any) -> None:
        _tensors(m)[2].name = b"bias\xc3"
    _rejects(_edited(edit), "tensor 2 name", "UTF-8")


def test_oversized_string_length_not_silently_cut() -> None:
    data = bytearray(pack(small_model()))
    at = data.index(b"conv/w\x00")
    assert struct.unpack_from("<I", data, at - 4)[0] == len("conv/w")
    struct.pack_into("<I", data, at - 4, 0x7FFF0000)
    _rejects(bytes(data), "truncated or corrupted")


# ---- buffers ---------------------------------------------------------------------------------

def _external(m: Any, offset: int, size: int) -> None:
    m.buffers[1].data = None
    m.buffers[1].offset = offset
    m.buffers[1].size = size


def test_external_buffer_into_header_rejected() -> None:
    _rejects(_edited(lambda m: _external(m, 2, 108)), "buffer 1", "header")


def test_external_buffer_past_end_rejected() -> None:
    _rejects(_edited(lambda m: _external(m, 100, 1 << 40)), "buffer 1", "ends at byte")


def test_external_buffer_after_flatbuffer_accepted() -> None:
    m = small_model()
    weights = np.arange(108, dtype=np.int8).reshape(4, 3, 3, 3)
    _external(m, 1 << 40, 108)  # placeholder of the same width, to learn the flatbuffer's size
    base = pack(m)
    m.buffers[1].offset = len(base) + 16  # data appended after the flatbuffer, as TFLite's large-model writer does
    packed = pack(m)
    assert len(packed) == len(base)
    model = load_tflite(packed + bytes(16) + weights.tobytes())
    np.testing.assert_array_equal(model.tensors[1].data, weights)


def test_constant_buffer_wrong_size() -> None:
    def edit(m: Any) -> None:
        m.buffers[2].data = m.buffers[2].data[:-4]
    _rejects(_edited(edit), "tensor 2 'conv/b'", "needs 16 bytes")


@pytest.mark.parametrize("what", ["buffer", "opcode", "input", "output"])
def test_indices_out_of_range(what: str) -> None:
    def edit(m: Any) -> None:
        if what == "buffer":
            _tensors(m)[1].buffer = 99
        elif what == "opcode":
            _ops(m)[1].opcodeIndex = 42
        elif what == "input":
            _ops(m)[1].inputs = [77]
        else:
            m.subgraphs[0].outputs = [123]
    _rejects(_edited(edit), {"buffer": "buffer 99", "opcode": "opcode 42", "input": "tensor 77",
                             "output": "tensor 123"}[what])


# ---- graph -------------------------------------------------------------------------------------

def test_graph_cycle_rejected() -> None:
    def edit(m: Any) -> None:
        _ops(m)[1].inputs = [6]  # the pool reads the reshape's output, which reads the pool's
    _rejects(_edited(edit), "operator 1 (AVERAGE_POOL_2D)", "cycle")


def test_tensor_never_produced_rejected() -> None:
    def edit(m: Any) -> None:
        t = _tensors(m)
        t.append(s.TensorT())
        t[-1].name, t[-1].shape, t[-1].type, t[-1].buffer = b"orphan", [1, 8, 8, 4], s.TensorType.INT8, 0
        _ops(m)[1].inputs = [len(t) - 1]
    _rejects(_edited(edit), "tensor 11 'orphan'", "neither a model input")


@pytest.mark.parametrize("field, needle", [("operators", "no operators"), ("inputs", "no inputs"),
                                           ("outputs", "no outputs")])
def test_empty_graph_parts(field: str, needle: str) -> None:
    _rejects(_edited(lambda m: setattr(m.subgraphs[0], field, [])), needle)


def test_duplicated_output_rejected() -> None:
    _rejects(_edited(lambda m: setattr(m.subgraphs[0], "outputs", [10, 10])), "listed twice")


def test_output_written_twice_rejected() -> None:
    _rejects(_edited(lambda m: setattr(_ops(m)[1], "outputs", [3])), "operator 1", "already produced")


def test_output_not_produced_rejected() -> None:
    _rejects(_edited(lambda m: setattr(m.subgraphs[0], "outputs", [1])), "model output tensor 1",
             "not produced")


def test_op_without_output_rejected() -> None:
    _rejects(_edited(lambda m: setattr(_ops(m)[4], "outputs", [])), "operator 4 (SOFTMAX)", "no output")


def test_missing_required_input_rejected() -> None:
    _rejects(_edited(lambda m: setattr(_ops(m)[0], "inputs", [0, -1, 2])), "operator 0 (CONV_2D)", "needs 2")


# ---- builtin options -----------------------------------------------------------------------------

@pytest.mark.parametrize("op_index, name", [(0, "CONV_2D"), (1, "AVERAGE_POOL_2D")])
def test_missing_builtin_options(op_index: int, name: str) -> None:
    def edit(m: Any) -> None:
        _ops(m)[op_index].builtinOptionsType = 0
        _ops(m)[op_index].builtinOptions = None
    _rejects(_edited(edit), f"operator {op_index} ({name})", "no builtin options")


def test_wrong_options_table() -> None:
    def edit(m: Any) -> None:
        _ops(m)[0].builtinOptionsType = s.BuiltinOptions.Pool2DOptions
        _ops(m)[0].builtinOptions = s.Pool2DOptionsT()
    _rejects(_edited(edit), "operator 0 (CONV_2D)", "Pool2DOptions instead of Conv2DOptions")


@pytest.mark.parametrize("field, value, needle", [("strideH", 0, "stride_h = 0"), ("strideW", -2, "stride_w = -2"),
                                                  ("padding", 7, "padding has the unknown value 7"),
                                                  ("fusedActivationFunction", 99, "unknown value 99")])
def test_bad_option_values(field: str, value: int, needle: str) -> None:
    def edit(m: Any) -> None:
        setattr(_ops(m)[0].builtinOptions, field, value)
    _rejects(_edited(edit), "operator 0 (CONV_2D)", needle)


def test_pool_window_larger_than_input() -> None:
    def edit(m: Any) -> None:
        _ops(m)[1].builtinOptions.filterHeight = 20
    _rejects(_edited(edit), "operator 1 (AVERAGE_POOL_2D)", "does not fit")


# ---- quantization ------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [math.nan, math.inf, -0.5])
def test_bad_tensor_scale_rejected_by_reader(scale: float) -> None:
    def edit(m: Any) -> None:
        _tensors(m)[3].quantization.scale = [scale]
    _rejects(_edited(edit), "tensor 3 'conv/out'", "scale")


def test_per_channel_scale_count_mismatch() -> None:
    def edit(m: Any) -> None:
        _tensors(m)[1].quantization.scale = [0.1, 0.2, 0.3]
        _tensors(m)[1].quantization.zeroPoint = [0, 0, 0]
    _rejects(_edited(edit), "tensor 1 'conv/w'", "3 per-channel scales")


def test_zero_point_out_of_range() -> None:
    def edit(m: Any) -> None:
        _tensors(m)[3].quantization.zeroPoint = [300]
    _rejects(_edited(edit), "tensor 3", "zero point 300")


@pytest.mark.parametrize("call", [
    lambda: quant.per_channel_multipliers(0.5, [0.1], 0.0),
    lambda: quant.requantize_params(0.5, 0, 0.0, 0),
    lambda: quant.mean_params(0.5, 0, 0.0, 0),
    lambda: quant.mul_params(0.5, 0, 0.5, 0, 0.0, 0),
    lambda: quant.add_params(0.0, 0, 0.0, 0, 0.1, 0),
    lambda: quant.add_params(0.1, 0, 0.1, 0, 0.0, 0),
    lambda: quant.activation_range("RELU", 0.0, 0),
    lambda: quant.softmax_params(0.0),
    lambda: quant.sub_params(0.1, 0, 0.1, 0, 0.0, 0),
    lambda: quant.squared_difference_params(0.1, 0, 0.1, 0, 0.0, 0),
    lambda: quant.squared_difference_params(0.1, 0, 0.1, 0, 1e-50, 0),
    lambda: quant.prelu_params(0.1, 0, 0.1, 0, 0.0, 0),
], ids=["conv", "requantize", "mean", "mul", "add-inputs", "add-output", "relu", "softmax", "sub",
        "squared-difference", "squared-difference-float32", "prelu"])
def test_zero_scale_is_quantization_error(call: Callable[[], Any]) -> None:
    with pytest.raises(quant.QuantizationError, match="scale") as info:
        call()
    assert "re-export" in str(info.value)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_scale_is_quantization_error(bad: float) -> None:
    for call in (lambda: quant.per_channel_multipliers(bad, [0.1], 0.5),
                 lambda: quant.per_channel_multipliers(0.5, [bad], 0.5),
                 lambda: quant.requantize_params(bad, 0, 0.5, 0),
                 lambda: quant.mul_params(0.5, 0, bad, 0, 0.5, 0),
                 lambda: quant.add_params(bad, 0, 0.1, 0, 0.1, 0),
                 lambda: quant.activation_range("RELU6", bad, 0),
                 lambda: quant.softmax_params(bad)):
        with pytest.raises(quant.QuantizationError, match="finite"):
            call()
    assert issubclass(quant.QuantizationError, EdgefactError)


def test_tiny_scale_overflowing_float32_is_quantization_error() -> None:
    with pytest.raises(quant.QuantizationError, match="too small"):
        quant.activation_range("RELU6", 1e-44, 0)


def test_valid_scales_unchanged() -> None:
    # Values computed before the checks were added (they mirror TFLite bit-exactly).
    assert quant.per_channel_multipliers(0.02, [0.01, 0.0], 0.05) == ([1099511603, 0], [-7, 0])
    assert quant.add_params(0.05, -128, 0.04, 3, 0.06, 1).output_multiplier == 1789569707
    assert quant.softmax_params(0.1) == quant.SoftmaxParams(1717986918, 23, -248)
    assert quant.activation_range("RELU6", 0.05, -128) == (-128, -8)


def test_reader_loads_round_trip_of_unpack() -> None:
    data = pack(small_model())
    assert pack(unpack(data)) == data


def test_unexpected_reader_failure_still_malformed(monkeypatch: pytest.MonkeyPatch) -> None:
    from edgefact.export import tflite_model

    def broken(*_: Any) -> Any:
        raise KeyError("boom")
    monkeypatch.setattr(tflite_model, "_tensor", broken)
    with pytest.raises(MalformedModelError, match="reader failed on it .KeyError"):
        load_tflite(pack(small_model()))
    with pytest.raises(KeyError):
        tflite_model._load(pack(small_model()))  # the fuzz tests see the bug itself


def test_dilation_options_keep_the_schema_names() -> None:
    """``dilationHFactor`` reads as ``dilation_h_factor`` (the schema's name, the one the lowering
    reads): a dilated convolution is lowered as dilated (or refused), never compiled as undilated."""
    from edgefact.errors import UnsupportedOpError
    from edgefact.export.lowering import lower

    def edit(m: Any) -> None:
        _ops(m)[0].builtinOptions.dilationHFactor = 2
        _ops(m)[0].builtinOptions.dilationWFactor = 2
    model = load_tflite(_edited(edit))
    assert model.operators[0].options["dilation_h_factor"] == 2
    assert model.operators[0].options["dilation_w_factor"] == 2
    try:
        layer = lower(model).layers[0]
    except UnsupportedOpError as exc:
        assert "dilation 2x2" in str(exc)
    else:
        assert "dilation 2x2" in layer.describe


# ---- per-operator shape rules of PAD, MEAN, SOFTMAX ------------------------------------------------

def _pad(pads: np.ndarray, out_shape: list[int]) -> bytes:
    return pack(one_op_model(s.BuiltinOperator.PAD, [1, 4, 4, 2], out_shape, [pads]))


def test_pad_checks() -> None:
    ok = np.array([[0, 0], [1, 1], [2, 0], [0, 0]], dtype=np.int32)
    assert load_tflite(_pad(ok, [1, 6, 6, 2])).op_names() == ["PAD"]
    _rejects(_pad(ok, [1, 6, 7, 2]), "operator 0 (PAD)", "paddings")
    _rejects(_pad(np.array([1, 1, 1], dtype=np.int32), [1, 6, 6, 2]), "operator 0 (PAD)", "expected [4, 2]")
    _rejects(_pad(-ok, [1, 2, 2, 2]), "operator 0 (PAD)", "paddings")
    _rejects(_pad(np.zeros((5, 2), dtype=np.int32), [1, 4, 4, 2]), "operator 0 (PAD)", "expected [4, 2]")


def _mean(axes: np.ndarray, in_shape: list[int], out_shape: list[int]) -> bytes:
    opts = s.ReducerOptionsT()
    opts.keepDims = True
    return pack(one_op_model(s.BuiltinOperator.MEAN, in_shape, out_shape, [axes], s.BuiltinOptions.ReducerOptions,
                             opts))


def test_mean_checks() -> None:
    axes = np.array([1, 2], dtype=np.int32)
    assert load_tflite(_mean(axes, [1, 4, 4, 2], [1, 1, 1, 2])).op_names() == ["MEAN"]
    _rejects(_mean(np.array([1, 7], dtype=np.int32), [1, 4, 4, 2], [1, 1, 1, 2]), "operator 0 (MEAN)", "axis 7")
    opts = s.ReducerOptionsT()
    m = one_op_model(s.BuiltinOperator.MEAN, [], [], [axes], s.BuiltinOptions.ReducerOptions, opts)
    _rejects(_fed_by_reshape(m), "operator 1 (MEAN)", "rank 0")
    _rejects(_mean(axes.astype(np.int8), [1, 4, 4, 2], [1, 1, 1, 2]), "axis tensor", "INT8")


def _fed_by_reshape(m: Any) -> bytes:
    """The one-op model with its input made by a RESHAPE of a new [1] model input (a rank-0
    intermediate cannot be a model input, which is checked first)."""
    sg = m.subgraphs[0]
    src = s.TensorT()
    src.name, src.shape, src.type, src.buffer = b"src", [1], s.TensorType.INT8, 0
    src.quantization = sg.tensors[0].quantization
    sg.tensors.append(src)
    reshape = s.OperatorT()
    reshape.opcodeIndex, reshape.inputs, reshape.outputs = len(m.operatorCodes), [len(sg.tensors) - 1], [0]
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.RESHAPE
    code.version = 1
    m.operatorCodes.append(code)
    sg.operators.insert(0, reshape)
    sg.inputs = [len(sg.tensors) - 1]
    return pack(m)


def test_softmax_rank0_rejected() -> None:
    m = one_op_model(s.BuiltinOperator.SOFTMAX, [], [], opt_type=s.BuiltinOptions.SoftmaxOptions,
                     opts=s.SoftmaxOptionsT(), out_scale=1 / 256)
    _rejects(_fed_by_reshape(m), "operator 1 (SOFTMAX)", "rank 0")


@pytest.mark.parametrize("name", ["MINIMUM", "MAXIMUM", "SQUARED_DIFFERENCE", "PRELU", "SUB", "STRIDED_SLICE"])
def test_operator_arity(name: str) -> None:
    """Found by scripts/fuzz: a MINIMUM with one input reached the lowering as an IndexError."""
    data = pack(one_op_model(getattr(s.BuiltinOperator, name), [1, 4], [1, 4]))
    _rejects(data, f"operator 0 ({name})", "needs")
