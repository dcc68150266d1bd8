"""UNIDIRECTIONAL_SEQUENCE_LSTM int8 (TFLM's integer LSTM: int8 weights and hidden state, int16
cell state, both variable tensors kept between invocations): bit-exact with TFLM running the same
stream of invocations in order on one interpreter, on the host and on the four emulated cores.

The models are small Keras LSTMs converted with the stock TFLiteConverter (``tests/lstm_models.py``,
cached, converted in a child process): several sequence lengths down to one step per invocation
(streaming), odd sizes (the dot products' tails), batch 2, time major, and a cell clip written
into the converted options. The sigmoid / tanh table of the kernel is checked against values
recovered from TFLM's own int16 TANH.
"""

from __future__ import annotations

import re
from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from lstm_models import CONFIGS, _with_cell_clip, lstm_model_path
from shared_paths import require_arm_tools
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

from edgefact.errors import UnsupportedOpError
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.lowering import lower
from edgefact.export.ops.lstm import LstmParams, cell_tanh_input, quantized_cell_clip
from edgefact.export.reference import run_tflm, tflm_arena_bytes
from edgefact.export.tflite_model import load_tflite
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources

N_CALLS = 24  # invocations in one stream


def _model(name: str) -> bytes:
    try:
        return lstm_model_path(name).read_bytes()
    except RuntimeError as exc:  # the converter crashed in its child process
        pytest.fail(str(exc))


def _stream(model: bytes, n: int, seed: int) -> np.ndarray:
    shape = load_tflite(model).tensors[load_tflite(model).inputs[0]].shape
    x = np.random.default_rng(seed).integers(-128, 128, (n, *shape[1:]) if shape[0] == 1 else (n, *shape),
                                             dtype=np.int8)
    x[0], x[1] = 127, -128
    return x


def _repack(m: object) -> bytes:
    b = flatbuffers.Builder(4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")  # type: ignore[attr-defined]
    return bytes(b.Output())


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_lstm_stream_is_bit_exact_with_tflm_on_the_host(case: str, tmp_path: Path) -> None:
    model = _model(case)
    x = _stream(model, N_CALLS, 1)
    ref = run_tflm(model, x)[0]
    assert len(np.unique(ref)) > 16  # a live signal, not a saturated or constant one
    gen = generate_c(model, tmp_path)
    assert [layer.kernel for layer in gen.graph.layers] == ["ef_lstm_s8"]
    assert len(gen.graph.state) == 2 and gen.plan.state_bytes > 0  # hidden and cell state
    assert gen.arena_bytes + gen.plan.state_bytes <= tflm_arena_bytes(model)
    a: LstmParams = gen.graph.layers[0].args
    cfg = CONFIGS[case]
    assert (a.batches, a.time_steps, a.input_size, a.units, a.time_major) == (
        cfg.batch, cfg.steps, cfg.features, cfg.units, int(cfg.time_major))
    y = run_host_batch(gen, x)
    assert np.array_equal(y, ref), f"{int((y != ref).sum())} of {ref.size} values differ"


def test_lstm_state_carries_the_stream() -> None:
    """TFLM's outputs depend on the earlier invocations, so the comparisons above test the state."""
    model = _model("stream_f7_u9")
    x = _stream(model, 6, 2)
    in_order = run_tflm(model, x)[0]
    fresh = np.concatenate([run_tflm(model, x[i:i + 1])[0] for i in range(len(x))])
    assert np.array_equal(in_order[0], fresh[0]) and not np.array_equal(in_order[1:], fresh[1:])


def test_lstm_cell_clip_is_live() -> None:
    """The clipped model's cell state does reach the clip (TFLM's outputs change without it), and
    the clip and tanh(cell) shift come from a cell scale other than 2^-15."""
    model = _model("clip_batch2")
    x = _stream(model, 8, 3)
    unclipped = _with_cell_clip(model, 0.0)
    assert not np.array_equal(run_tflm(model, x)[0], run_tflm(unclipped, x)[0])
    a: LstmParams = lower(load_tflite(model)).layers[0].args
    assert 0 < a.cell_clip < 32767 and (a.cell_tanh_multiplier, a.cell_tanh_shift) != (3, 3)
    assert lower(load_tflite(unclipped)).layers[0].args.cell_clip == 0


def test_lstm_parameter_helpers() -> None:
    assert cell_tanh_input(2.0 ** -15) == (3, 3)  # tanh((3x + 4) >> 3)
    assert cell_tanh_input(2.0 ** -12) == (0, 0) and cell_tanh_input(2.0 ** -11) == (0, 1)
    assert quantized_cell_clip(0.0, 2.0 ** -15) == 0 and quantized_cell_clip(10.0, 2.0 ** -15) == 32767
    assert quantized_cell_clip(0.25, 2.0 ** -14) == 4096 and quantized_cell_clip(1e-4, 2.0 ** -15) == 3


def _int16_unary_model(op: int, in_scale: float, n: int) -> bytes:
    def q(scale: float) -> object:
        t = s.QuantizationParametersT()
        t.scale, t.zeroPoint, t.quantizedDimension = [float(scale)], [0], 0
        return t

    tensors = []
    for k, (name, scale) in enumerate((("x", in_scale), ("y", 2.0 ** -15))):
        t = s.TensorT()
        t.name, t.shape, t.type, t.quantization, t.buffer = name.encode(), [1, n], s.TensorType.INT16, q(scale), k + 1
        tensors.append(t)
    o = s.OperatorT()
    o.opcodeIndex, o.inputs, o.outputs = 0, [0], [1]
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.operators, sg.name = tensors, [0], [1], [o], b"main"
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = op
    code.version = 1
    m = s.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, [code], [sg], [s.BufferT() for _ in range(3)]
    return _repack(m)


def test_sigmoid_table_is_tflms() -> None:
    """TFLM's int16 TANH at input scale ~1/6144 computes (x * 16384 + 4096) >> 13 = 2x, so every
    x = 128 m lands on table entry m with no interpolation: tanh = T[m] - 32768. Entry 255 is
    never hit there (it saturates); it is the interpolation end of entry 254."""
    from tflite_micro.python.tflite_micro import runtime

    scale = np.float32(1 / 6144)
    while float(scale) * 12288 * 8192 < 16384:  # TFLM's multiplier int(scale * 12288 * 2^13) must be 16384
        scale = np.nextafter(scale, np.float32(1))
    x = np.arange(-32768, 32768, dtype=np.int16)
    it = runtime.Interpreter.from_bytes(_int16_unary_model(s.BuiltinOperator.TANH, float(scale), x.size),
                                        arena_size=1 << 20)
    it.set_input(x.reshape(1, -1), 0)
    it.invoke()
    y = it.get_output(0).reshape(-1).astype(np.int64)
    want = [int(y[32768 + 128 * m]) + 32768 for m in range(255)]
    # entry 255: the step d = T[255] - T[254] that TFLM's interpolation over 2x = 254 * 256 + ut shows
    ut = np.arange(0, 256, 2)
    seen = y[32768 + 128 * 254 + ut // 2] + 32768 - want[254]
    steps = [d for d in range(1024) if np.array_equal((ut * d + 128) >> 8, seen)]
    assert len(steps) == 1
    want.append(want[254] + steps[0])
    src = (Path(kernel_sources()[0]).parent / "ef_lstm_s8.c").read_text()
    body = re.search(r"ef_sigmoid_table_u16\[256\] = \{(.*?)\};", src, flags=re.S)
    assert body is not None
    got = [int(v) for v in re.findall(r"\d+", body.group(1))]
    assert got == want


def test_lstm_params_struct_mirrors_the_header() -> None:
    from dataclasses import fields

    text = (kernel_include_dir() / "ef_nn_types.h").read_text()
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    body = re.search(r"typedef struct\s*\{([^{}]*)\}\s*ef_lstm_params\s*;", text, flags=re.S)
    assert body is not None
    names = [re.sub(r"\[.*\]", "", d.strip()).split()[-1] for d in body.group(1).split(";") if d.strip()]
    assert names == [f.name for f in fields(LstmParams)]


def test_lstm_variants_tflm_does_not_run_are_refused() -> None:
    m = s.ModelT.InitFromPackedBuf(bytearray(_model("seq5_f3_u4")), 0)
    op = m.subgraphs[0].operators[0]
    inputs = list(op.inputs)
    op.inputs = [inputs[0], -1, *inputs[2:]]  # CIFG: no input gate
    with pytest.raises(UnsupportedOpError, match="CIFG"):
        lower(load_tflite(_repack(m)))
    op.inputs = inputs
    m.subgraphs[0].tensors[inputs[19]].isVariable = False  # the cell state passed in by the caller
    m.subgraphs[0].inputs = [*m.subgraphs[0].inputs, inputs[19]]
    with pytest.raises(UnsupportedOpError, match="not a variable tensor"):
        lower(load_tflite(_repack(m)))


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("core", ["cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"])
def test_lstm_streams_are_bit_exact_on_the_cores(core: str, tmp_path: Path) -> None:
    from edgefact.pipeline.deploy import deploy_many

    require_arm_tools()
    models = [(case, lstm_model_path(case), _stream(_model(case), 8, 4)) for case in sorted(CONFIGS)]
    res = deploy_many(models, core, tmp_path / "out", timeout_s=180)
    assert {name: r["equal"] for name, r in res.items()} == {case: True for case in CONFIGS}
