"""SVDF int8 (int16 weights_time and activation state, a variable tensor kept between
invocations): bit-exact with TFLM running the same stream in order on one interpreter, on the host
over many steps and on the emulated cortex-m4 and cortex-m55.

The models are built with the flatbuffer object API (the TFLite converter writes SVDF only from
graphs with the legacy SVDF pattern): chains of SVDF layers with random weights and chosen scales,
including a fused RELU, which TFLM's int8 SVDF ignores (so outputs go negative), a batch of two,
memory 1 and a state that saturates int16.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import pytest
from shared_paths import require_arm_tools
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

from edgefact.errors import UnsupportedOpError
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.lowering import lower
from edgefact.export.reference import run_tflm, tflm_arena_bytes
from edgefact.export.tflite_model import load_tflite

N_STEPS = 48

#: case -> (layers as (input_size, num_filters, memory_size, rank), batch, state scale factor,
#: output scale factor, int8 state zero point or None for an int16 state)
CASES: dict[str, tuple[tuple[tuple[int, int, int, int], ...], int, float, float, int | None]] = {
    "stacked": (((10, 8, 6, 2), (4, 6, 5, 3)), 1, 1.0, 1.0, None),
    "batch2_rank1": (((7, 5, 4, 1),), 2, 1.0, 1.0, None),
    "memory1": (((6, 4, 1, 2),), 1, 1.0, 0.5, None),
    "state_saturates": (((12, 6, 3, 3),), 1, 0.2, 0.4, None),
    "wide": (((40, 64, 10, 4),), 1, 1.0, 2.0, None),  # long rows: the DSP / Helium dot products' main loops
    "s8_state": (((10, 8, 6, 2), (4, 6, 5, 3)), 1, 1.0, 1.0, -7),  # int8 weights_time and state
    "s8_state_wide": (((40, 64, 10, 4),), 2, 1.0, 2.0, 11),
}


def _q(scale: float, zp: int = 0) -> Any:
    t = s.QuantizationParametersT()
    t.scale, t.zeroPoint, t.quantizedDimension = [float(scale)], [int(zp)], 0
    return t


def svdf_model(layers: tuple[tuple[int, int, int, int], ...], batch: int = 1, state_factor: float = 1.0,
               out_factor: float = 1.0, state_zp: int | None = None, seed: int = 0) -> bytes:
    """A chain of int8 SVDF layers, each with its variable state, as .tflite bytes: int16
    weights_time and state, or (``state_zp`` given) int8 ones, the state with that zero point."""
    rng = np.random.default_rng(seed)
    buffers: list[Any] = [s.BufferT()]
    tensors: list[Any] = []

    def tensor(name: str, shape: list[int], ttype: int, quant: Any, data: np.ndarray | None = None,
               variable: bool = False) -> int:
        b = s.BufferT()
        if data is not None:
            b.data = list(np.ascontiguousarray(data).view(np.uint8).reshape(-1))
        buffers.append(b)
        t = s.TensorT()
        t.name, t.shape, t.type, t.quantization = name.encode(), list(shape), ttype, quant
        t.buffer, t.isVariable = len(buffers) - 1, variable
        tensors.append(t)
        return len(tensors) - 1

    T = s.TensorType
    x = first = tensor("input", [batch, layers[0][0]], T.INT8, _q(0.0213, -3))
    ops = []
    for k, (n_in, n_f, n_m, rank) in enumerate(layers):
        n_u = n_f // rank
        s_f, s_t, s_st = 0.0117 * (k + 1), 0.00031 / (k + 1), 0.00061 * (k + 1) * state_factor
        wf = tensor(f"svdf{k}/weights_feature", [n_f, n_in], T.INT8, _q(s_f),
                    rng.integers(-127, 128, (n_f, n_in), dtype=np.int8))
        if state_zp is None:
            wt = tensor(f"svdf{k}/weights_time", [n_f, n_m], T.INT16, _q(s_t),
                        rng.integers(-3000, 3000, (n_f, n_m)).astype(np.int16))
            state = tensor(f"svdf{k}/state", [batch, n_m * n_f], T.INT16, _q(s_st), variable=True)
        else:  # int8 values: ~1/25 of the int16 weights' range, a state scale ~256x coarser
            s_t, s_st = s_t * 25, s_st * 256
            wt = tensor(f"svdf{k}/weights_time", [n_f, n_m], T.INT8, _q(s_t),
                        rng.integers(-120, 121, (n_f, n_m)).astype(np.int8))
            state = tensor(f"svdf{k}/state", [batch, n_m * n_f], T.INT8, _q(s_st, state_zp), variable=True)
        bias = tensor(f"svdf{k}/bias", [n_u], T.INT32, _q(float(np.float32(s_st) * np.float32(s_t))),
                      rng.integers(-20000, 20000, n_u).astype(np.int32))
        y = tensor(f"svdf{k}/output", [batch, n_u], T.INT8, _q((0.2 + 0.05 * k) * out_factor, 5 - 3 * k))
        opts = s.SVDFOptionsT()
        opts.rank, opts.fusedActivationFunction = rank, s.ActivationFunctionType.RELU
        o = s.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = 0, [x, wf, wt, bias, state], [y]
        o.builtinOptionsType, o.builtinOptions = s.BuiltinOptions.SVDFOptions, opts
        ops.append(o)
        x = y
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators, sg.name = tensors, [first], [x], ops, b"main"
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.SVDF
    code.version = 3
    m = s.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [code], [sg], buffers
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _case(name: str) -> bytes:
    layers, batch, state_factor, out_factor, state_zp = CASES[name]
    return svdf_model(layers, batch, state_factor, out_factor, state_zp, seed=sorted(CASES).index(name))


def _stream(model: bytes, n: int, seed: int) -> np.ndarray:
    m = load_tflite(model)
    shape = m.tensors[m.inputs[0]].shape
    x = np.random.default_rng(seed).integers(-128, 128, (n, *shape[1:]) if shape[0] == 1 else (n, *shape),
                                             dtype=np.int8)
    x[0], x[1] = 127, -128
    return x


@pytest.mark.parametrize("case", sorted(CASES))
def test_svdf_stream_is_bit_exact_with_tflm_on_the_host(case: str, tmp_path: Path) -> None:
    model = _case(case)
    x = _stream(model, N_STEPS, 1)
    ref = run_tflm(model, x)[0]
    assert len(np.unique(ref)) > 8  # a live signal, not a saturated or constant one
    gen = generate_c(model, tmp_path)
    kernel = "ef_svdf_s8" if CASES[case][4] is None else "ef_svdf_s8_s8"
    assert [layer.kernel for layer in gen.graph.layers] == [kernel] * len(CASES[case][0])
    assert len(gen.graph.state) == len(CASES[case][0]) and gen.plan.state_bytes > 0
    assert gen.arena_bytes + gen.plan.state_bytes <= tflm_arena_bytes(model)
    y = run_host_batch(gen, x)
    assert np.array_equal(y, ref), f"{int((y != ref).sum())} of {ref.size} values differ"


def test_svdf_state_carries_the_stream() -> None:
    """TFLM's outputs depend on the earlier steps (so the bit-exactness above tests the state)."""
    model = _case("stacked")
    x = _stream(model, 4, 2)
    in_order = run_tflm(model, x)[0]
    fresh = np.concatenate([run_tflm(model, x[i:i + 1])[0] for i in range(len(x))])
    assert np.array_equal(in_order[0], fresh[0]) and not np.array_equal(in_order[1:], fresh[1:])


def test_svdf_ignores_the_fused_activation_like_tflm() -> None:
    ref = run_tflm(_case("stacked"), _stream(_case("stacked"), 16, 3))[0]
    assert ref.min() < 5 - 3  # below the last layer's zero point although every layer says RELU


def test_svdf_state_must_be_a_variable_tensor() -> None:
    """A state passed in by the caller (a second model input) is refused with the reason."""
    m = s.ModelT.InitFromPackedBuf(bytearray(_case("memory1")), 0)
    sg = m.subgraphs[0]
    state = sg.operators[0].inputs[4]
    sg.tensors[state].isVariable = False
    sg.inputs = [*sg.inputs, state]
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    with pytest.raises(UnsupportedOpError, match="not a variable tensor"):
        lower(load_tflite(bytes(b.Output())))


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m55"])
def test_svdf_streams_are_bit_exact_on_the_cores(core: str, tmp_path: Path) -> None:
    from edgefact.pipeline.deploy import deploy_many

    require_arm_tools()
    models = []
    for case in sorted(CASES):
        path = tmp_path / f"{case}.tflite"
        path.write_bytes(_case(case))
        models.append((case, path, _stream(path.read_bytes(), 12, 4)))
    res = deploy_many(models, core, tmp_path / "out", timeout_s=180)
    assert {name: r["equal"] for name, r in res.items()} == {case: True for case in CASES}
