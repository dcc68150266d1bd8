"""uint8 and int16 tensors at QUANTIZE / DEQUANTIZE, at the model boundary and inside the graph.

What users of ``inference_input_type=tf.uint8`` bring: the converter's conv classifiers with a
uint8 input (a QUANTIZE uint8 -> int8 first) and an int8, uint8 (a QUANTIZE int8 -> uint8 last) or
ARG_MAX output (the op models ``u8_classifier_*`` of tests/opmodels.py). The converter does not
write int16 model I/O, so the int16 chains (int8 -> int16 -> int8 round trips, int16 model inputs
and outputs, int16 -> int16 and DEQUANTIZE int16 -> float) are built with the schema's object API,
as are the uint8 ones at the edges of their range (the zero-point-128 shift TFLM special-cases).
Each is bit-exact with TFLM on the host and on the four emulated cores; ``edgefact convert`` and
the deployment report take a uint8 model, and a type the generator does not have (float16) is one
line naming the tensor and the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from kernels_harness import Variant, case_model, differences, gen_dir, generate, run_on_host
from multimodel_fw import CORES, FwModel, run_on_core
from opmodels import random_inputs
from tflite_builder import _buffer, _op, _opcode, _quant, _tensor, pack, s

from edgefact.cli import cli
from edgefact.errors import UnsupportedOpError
from edgefact.export.lowering import lower
from edgefact.export.reference import run_tflm
from edgefact.export.tflite_model import load_tflite

I8, U8, I16, F32 = s.TensorType.INT8, s.TensorType.UINT8, s.TensorType.INT16, s.TensorType.FLOAT32
B = s.BuiltinOperator
SHAPE = [1, 5, 3, 7]

U8_CASES = ("u8_classifier_i8", "u8_classifier_u8", "u8_classifier_argmax")


def _chain(types: list[int], quants: list[tuple[float, int] | None], ops: list[int]) -> bytes:
    """t0 -> op0 -> t1 -> op1 -> ... (one-input operators), t0 the model input, the last the output."""
    tensors = [_tensor(f"t{i}", SHAPE, t, i + 1, None if q is None else _quant([q[0]], [q[1]]))
               for i, (t, q) in enumerate(zip(types, quants, strict=True))]
    codes = sorted(set(ops))
    sg = s.SubGraphT()
    sg.tensors, sg.inputs, sg.outputs, sg.name = tensors, [0], [len(types) - 1], b"main"
    sg.operators = [_op(codes.index(code), [i], [i + 1], 0, None) for i, code in enumerate(ops)]
    m = s.ModelT()
    m.version, m.subgraphs = 3, [sg]
    m.buffers = [_buffer(None) for _ in range(len(types) + 1)]
    m.operatorCodes = [_opcode(c) for c in codes]
    return pack(m)


CHAINS = {
    # int8 -> int16 -> int8 on other scales (the round trip of an int16 section)
    "i8_i16_i8": ([I8, I16, I8], [(0.05, -3), (0.0004, 0), (0.031, 7)], [B.QUANTIZE, B.QUANTIZE]),
    # an int16 model input and output around int8, a coarse int16 scale that saturates
    "i16_in_i8": ([I16, I8], [(0.0011, 0), (0.07, -2)], [B.QUANTIZE]),
    "i8_i16_out_saturating": ([I8, I16], [(0.9, 4), (0.00002, 0)], [B.QUANTIZE]),
    # int16 -> int16 requantization, then DEQUANTIZE int16 -> float
    "i16_i16_f32": ([I16, I16, F32], [(0.0007, 0), (0.0013, 0), None], [B.QUANTIZE, B.DEQUANTIZE]),
    # int8 -> int16 -> float inside an int8-input model
    "i8_i16_f32": ([I8, I16, F32], [(0.02, 5), (0.0005, 0), None], [B.QUANTIZE, B.DEQUANTIZE]),
    # uint8 in, int8 in between, uint8 out (other scales); the same-scale zero point 128 shift
    "u8_i8_u8": ([U8, I8, U8], [(0.02, 131), (0.03, -1), (0.017, 120)], [B.QUANTIZE, B.QUANTIZE]),
    "u8_i8_shift128": ([U8, I8], [(0.0078, 128), (0.0078, 0)], [B.QUANTIZE]),
    "i8_u8_shift128": ([I8, U8], [(0.0123, -5), (0.0123, 123)], [B.QUANTIZE]),
}


def _chain_inputs(model: bytes, n: int, seed: int) -> list[np.ndarray]:
    return random_inputs(model, n, seed)  # the whole integer range, the first two all-min / all-max


def _check_host(name: str, model: bytes, xs: list[np.ndarray]) -> None:
    ref = run_tflm(model, xs)
    gen = generate(model, gen_dir("boundary", name, Variant()), Variant())
    got = run_on_host(gen, xs)
    problems = differences(name, ref, got)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_int16_uint8_chains_bitexact_on_host(name: str) -> None:
    model = _chain(*CHAINS[name])
    graph = lower(load_tflite(model))
    names = {B.QUANTIZE: "QUANTIZE", B.DEQUANTIZE: "DEQUANTIZE"}
    assert [layer.op for layer in graph.layers] == [names[o] for o in CHAINS[name][2]]
    _check_host(name, model, _chain_inputs(model, 300, seed=2))


@pytest.mark.parametrize("case", U8_CASES)
def test_uint8_input_models_bitexact_on_host(case: str) -> None:
    model = case_model(case)
    graph = lower(load_tflite(model))
    tin = graph.tensors[graph.inputs[0]]
    assert tin.type_name == "UINT8" and graph.layers[0].kernel == "ef_lut_s8"
    _check_host(case, model, random_inputs(model, 200, seed=4))


@pytest.mark.parametrize("core", CORES)
def test_boundary_types_bitexact_on_core(core: str) -> None:
    models = []
    for case in U8_CASES:
        model = case_model(case)
        xs = random_inputs(model, 6, seed=21)
        models.append(FwModel(case, model, xs, run_tflm(model, xs)))
    for name in sorted(CHAINS):
        model = _chain(*CHAINS[name])
        xs = _chain_inputs(model, 6, seed=22)
        models.append(FwModel(name, model, xs, run_tflm(model, xs)))
    bad = run_on_core(core, models, "boundary")
    assert not bad, "\n".join(bad)


def test_unconvertible_pairs_are_refused_naming_the_tensors() -> None:
    with pytest.raises(UnsupportedOpError, match=r"QUANTIZE UINT8 -> INT16 \(tensor 't0' -> 't1'\); supported"):
        lower(load_tflite(_chain([U8, I16], [(0.1, 128), (0.001, 0)], [B.QUANTIZE])))
    with pytest.raises(UnsupportedOpError, match=r"DEQUANTIZE UINT8 -> FLOAT32 \(tensor 't0'\)"):
        lower(load_tflite(_chain([U8, F32], [(0.1, 128), None], [B.DEQUANTIZE])))
    # an int16 tensor reaching an operator other than QUANTIZE / DEQUANTIZE
    with pytest.raises(UnsupportedOpError, match=r"operator 1 \(ABS.*'t1'.*INT16"):
        lower(load_tflite(_chain([I8, I16, I16], [(0.1, 0), (0.001, 0), (0.001, 0)], [B.QUANTIZE, B.ABS])))


def test_convert_cli_takes_a_uint8_model(tmp_path: Path) -> None:
    src = tmp_path / "u8.tflite"
    src.write_bytes(case_model("u8_classifier_u8"))
    res = CliRunner(mix_stderr=False).invoke(cli, ["convert", str(src), "-o", str(tmp_path / "c"), "--json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    header = Path(data["files"]["model.h"]).read_text()
    assert "typedef uint8_t ef_model_input_t;" in header and "typedef uint8_t ef_model_output_t;" in header
    assert [la["kernel"] for la in data["layers"]][0] == "ef_lut_s8"


def test_convert_cli_refuses_float16_in_one_line(tmp_path: Path) -> None:
    src = tmp_path / "f16.tflite"
    src.write_bytes(_chain([s.TensorType.FLOAT16, I8], [None, (0.05, 0)], [B.QUANTIZE]))
    res = CliRunner(mix_stderr=False).invoke(cli, ["convert", str(src), "-o", str(tmp_path / "c")])
    assert res.exit_code != 0
    text = (res.stderr or "") + str(res.exception or "")
    line = next(ln for ln in text.splitlines() if "FLOAT16" in ln)
    assert "'t0'" in line and "full-integer int8 quantization" in line and "inference_input_type" in line
    assert not (tmp_path / "c").exists()


def test_deploy_report_of_a_uint8_model(tmp_path: Path) -> None:
    """The whole deployment on an emulated core: uint8 inputs embedded, uint8 outputs logged and
    compared with TFLM, the report naming the boundary types."""
    from edgefact.pipeline.deploy import deploy_tflite

    src = tmp_path / "u8.tflite"
    src.write_bytes(case_model("u8_classifier_u8"))
    rep = deploy_tflite(src, "cortex-m4", tmp_path / "d", n_random=3)
    assert rep["bitexact"]["equal"] is True and rep["bitexact"]["inputs"] == 3
    assert rep["model"]["input"]["dtype"] == "uint8" and rep["model"]["output"]["dtype"] == "uint8"
    assert rep["model"]["input"]["zero_point"] == load_tflite(src.read_bytes()).tensors[0].quantization.zero_points[0]
    outs = np.load(tmp_path / "d" / "outputs.npy")
    assert outs.dtype == np.uint8 and outs.shape == (3, 6)


def test_deploy_report_of_an_argmax_output(tmp_path: Path) -> None:
    from edgefact.pipeline.deploy import deploy_tflite

    src = tmp_path / "am.tflite"
    src.write_bytes(case_model("u8_classifier_argmax"))
    rep = deploy_tflite(src, "cortex-m55", tmp_path / "d", n_random=4)
    assert rep["bitexact"]["equal"] is True
    assert rep["model"]["output"]["dtype"] == "int32" and rep["model"]["output"]["scale"] is None
    outs = np.load(tmp_path / "d" / "outputs.npy")
    assert outs.dtype == np.int32 and outs.shape == (4,) and ((outs >= 0) & (outs < 6)).all()


def test_build_cli_takes_a_uint8_model_with_an_argmax_head(tmp_path: Path) -> None:
    """`edgefact build --tflite` end to end: uint8 input, ARG_MAX (int32 class) output, bit-exact
    on the emulated core, the report naming both types."""
    src = tmp_path / "u8.tflite"
    src.write_bytes(case_model("u8_classifier_argmax"))
    res = CliRunner(mix_stderr=False).invoke(cli, ["build", "--tflite", str(src), "-t", "cortex-m4", "--eval-samples",
                                                   "0", "--bitexact-inputs", "2", "-o", str(tmp_path / "o"), "--json"])
    assert res.exit_code == 0, res.stderr + str(res.exception)
    assert json.loads(res.stdout)["bitexact"] is True
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert report["model"]["input"]["dtype"] == "uint8" and report["model"]["output"]["dtype"] == "int32"
    assert report["bitexact"]["equal"] is True and report["bitexact"]["inputs"] == 2
