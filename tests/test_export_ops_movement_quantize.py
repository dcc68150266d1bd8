"""QUANTIZE / DEQUANTIZE at any position (edgefact.export.ops.quantize).

The per-op cases of tests/opmodels.py put them at the model boundary (float in / out); here they
sit inside int8 graphs built with the schema's object API: a float tensor between a DEQUANTIZE
and a QUANTIZE lives in the arena, an int8 -> int8 QUANTIZE (a table look-up) follows a
float-boundary QUANTIZE, a DEQUANTIZE output that is a model output while the graph goes on. Each
model is bit-exact with TFLM on the host (floats compared by their bits). Types the generator does
not take (float16, int4) and pairs QUANTIZE does not convert (uint8 -> uint8) are refused with the
tensor named; the uint8 / int16 conversions it does are tests/test_export_ops_boundary_types.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from kernels_harness import differences
from tflite_builder import _buffer, _op, _opcode, _quant, _tensor, pack, s

from edgefact.errors import UnsupportedOpError
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.lowering import lower
from edgefact.export.reference import run_tflm
from edgefact.export.tflite_model import load_tflite

I8, F32, I16, U8 = s.TensorType.INT8, s.TensorType.FLOAT32, s.TensorType.INT16, s.TensorType.UINT8
B = s.BuiltinOperator
SHAPE = [1, 6, 5, 4]


def _chain(types: list[int], quants: list[tuple[float, int] | None], ops: list[int],
           outputs: list[int] | None = None) -> bytes:
    """tensors t0 -> op0 -> t1 -> op1 -> ... (one-input ops), t0 the model input."""
    tensors = [_tensor(f"t{i}", SHAPE, t, i + 1, None if q is None else _quant([q[0]], [q[1]]))
               for i, (t, q) in enumerate(zip(types, quants, strict=True))]
    codes = sorted(set(ops))
    sg = s.SubGraphT()
    sg.tensors = tensors
    sg.inputs = [0]
    sg.outputs = outputs or [len(types) - 1]
    sg.operators = [_op(codes.index(code), [i], [i + 1], 0, None) for i, code in enumerate(ops)]
    sg.name = b"main"
    m = s.ModelT()
    m.version = 3
    m.subgraphs = [sg]
    m.buffers = [_buffer(None) for _ in range(len(types) + 1)]
    m.operatorCodes = [_opcode(c) for c in codes]
    return pack(m)


def _inputs(model: bytes, n: int = 60) -> np.ndarray:
    t = load_tflite(model).tensors[0]
    rng = np.random.default_rng(1)
    if t.type_name == "FLOAT32":
        return rng.uniform(-9.0, 9.0, (n, *SHAPE[1:])).astype(np.float32)
    x = rng.integers(-128, 128, (n, *SHAPE[1:]), dtype=np.int8)
    x[0], x[1] = -128, 127
    return x


CHAINS = {
    # int8 -> float (arena) -> int8 on another scale
    "dequantize_quantize_inside": ([I8, F32, I8], [(0.05, -3), None, (0.031, 7)], [B.DEQUANTIZE, B.QUANTIZE]),
    # float -> int8 -> int8 (requantized, a table look-up) -> float
    "quantize_requantize_dequantize": ([F32, I8, I8, F32], [None, (0.07, 2), (0.02, -100), None],
                                       [B.QUANTIZE, B.QUANTIZE, B.DEQUANTIZE]),
    # int8 -> int8 -> float -> int8 -> int8
    "requantize_around_float": ([I8, I8, F32, I8, I8], [(0.05, 0), (0.1, 5), None, (0.013, -20), (0.2, 1)],
                                [B.QUANTIZE, B.DEQUANTIZE, B.QUANTIZE, B.QUANTIZE]),
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_quantize_dequantize_inside_the_graph_are_bitexact(name: str, tmp_path) -> None:
    model = _chain(*CHAINS[name])
    x = _inputs(model)
    ref = run_tflm(model, x)
    ref = ref if isinstance(ref, list) else [ref]
    gen = generate_c(model, tmp_path / "gen")
    got = run_host_batch(gen, x)
    got = got if isinstance(got, list) else [got]
    problems = differences(name, ref, got)
    assert not problems, "\n".join(problems)
    assert len(gen.graph.layers) == len(CHAINS[name][2])


@pytest.mark.parametrize("types,what", [([s.TensorType.FLOAT16, I8], "FLOAT16"), ([I8, s.TensorType.INT4], "INT4"),
                                        ([U8, U8], "UINT8")])
def test_other_types_are_refused_naming_the_tensor(types: list[int], what: str) -> None:
    model = _chain(types, [(0.05, 0), (0.05, 0)], [B.QUANTIZE])
    with pytest.raises(UnsupportedOpError, match=rf"QUANTIZE.*'t[01]'.*{what}"):
        lower(load_tflite(model))
