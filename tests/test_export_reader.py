"""TFLite reader: every tensor of the MLPerf Tiny models as LiteRT sees it; bad bytes rejected."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from shared_paths import MLPERF_DIR

from edgefact.errors import MalformedModelError
from edgefact.export.tflite_model import load_tflite

MLPERF = sorted(MLPERF_DIR.glob("*.tflite"))


@pytest.mark.parametrize("path", MLPERF, ids=lambda p: p.stem)
def test_round_trip_matches_litert(path: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    model = load_tflite(path)
    interp = Interpreter(model_path=str(path))
    details = interp.get_tensor_details()
    assert len(details) == len(model.tensors)
    n_const = 0
    for d in details:
        t = model.tensors[d["index"]]
        assert t.name == d["name"]
        assert t.shape == tuple(int(x) for x in d["shape"])
        assert t.dtype == np.dtype(d["dtype"])
        qp = d["quantization_parameters"]
        if len(qp["scales"]) == 0:
            assert t.quantization is None
        else:
            assert t.quantization is not None
            np.testing.assert_array_equal(t.quantization.scales, qp["scales"])
            zps = np.broadcast_to(qp["zero_points"], t.quantization.scales.shape)
            np.testing.assert_array_equal(t.quantization.zero_points, zps)
            assert t.quantization.quantized_dimension == qp["quantized_dimension"]
        if t.is_constant:
            n_const += 1
            np.testing.assert_array_equal(t.data, interp.get_tensor(d["index"]))
    assert n_const > 0
    ops = model.operators
    assert [model.tensors[i].name for i in model.inputs] == [d["name"] for d in interp.get_input_details()]
    assert [model.tensors[i].name for i in model.outputs] == [d["name"] for d in interp.get_output_details()]
    assert {op.name for op in ops} <= {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD",
                                       "AVERAGE_POOL_2D", "RESHAPE", "SOFTMAX"}


def test_options_decoded() -> None:
    model = load_tflite(MLPERF_DIR / "kws_dscnn_int8.tflite")
    conv = model.operators[0]
    assert conv.name == "CONV_2D"
    assert conv.options["padding"] in ("SAME", "VALID")
    assert conv.options["stride_h"] == 2 and conv.options["fused_activation_function"] == "RELU"
    dw = model.operators[1]
    assert dw.name == "DEPTHWISE_CONV_2D" and dw.options["depth_multiplier"] == 1


@pytest.mark.parametrize("path", MLPERF, ids=lambda p: p.stem)
def test_truncated_rejected(path: Path) -> None:
    data = path.read_bytes()
    rng = np.random.default_rng(1)
    cuts = {0, 3, 7, 9, 100, len(data) // 2, len(data) - 1} | {int(c) for c in rng.integers(8, len(data), 12)}
    for cut in sorted(cuts):
        with pytest.raises(MalformedModelError):
            load_tflite(data[:cut])


def test_random_bytes_rejected(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    header = MLPERF[0].read_bytes()[:8]
    for _ in range(20):
        junk = rng.integers(0, 256, int(rng.integers(1, 4000)), dtype=np.uint8).tobytes()
        with pytest.raises(MalformedModelError, match="TFLite"):
            load_tflite(junk)
        with pytest.raises(MalformedModelError):
            load_tflite(header + junk)  # right identifier, garbage tables
    with pytest.raises(MalformedModelError, match="not found"):
        load_tflite(tmp_path / "missing.tflite")
