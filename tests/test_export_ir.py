"""Graph IR: TFLite padding, MACs, unsupported-op errors."""

from __future__ import annotations

import numpy as np
import pytest
from codegen_util import MLPERF, replace_op

from edgefact.errors import UnsupportedOpError
from edgefact.export.ir import compute_padding
from edgefact.export.lowering import lower
from edgefact.export.ops import supported_ops
from edgefact.export.tflite_model import load_tflite


@pytest.mark.parametrize(("size", "k", "s", "pad", "want"), [
    (32, 3, 1, "SAME", (32, 1, 1)),
    (32, 3, 2, "SAME", (16, 0, 1)),  # TFLite puts the odd pixel at the bottom/right
    (49, 10, 2, "SAME", (25, 4, 5)),
    (10, 4, 2, "SAME", (5, 1, 1)),
    (11, 3, 2, "VALID", (5, 0, 0)),
    (8, 8, 8, "VALID", (1, 0, 0)),
    (7, 1, 2, "SAME", (4, 0, 0)),
])
def test_padding_as_tflite(size: int, k: int, s: int, pad: str, want: tuple[int, int, int]) -> None:
    assert compute_padding(size, k, s, 1, pad) == want


@pytest.mark.parametrize("name", sorted(MLPERF))
def test_macs_params_from_shapes(name: str) -> None:
    model = load_tflite(MLPERF[name])
    graph = lower(model)
    assert [layer.op for layer in graph.layers] == model.op_names()
    for layer, op in zip(graph.layers, model.operators, strict=True):
        out = model.tensors[op.outputs[0]].shape
        if op.name == "CONV_2D":
            oc, kh, kw, fi = model.tensors[op.inputs[1]].shape
            assert layer.macs == out[1] * out[2] * kh * kw * fi * oc
        elif op.name == "DEPTHWISE_CONV_2D":
            _, kh, kw, c = model.tensors[op.inputs[1]].shape
            assert layer.macs == out[1] * out[2] * kh * kw * c
        elif op.name == "FULLY_CONNECTED":
            units, depth = model.tensors[op.inputs[1]].shape
            assert layer.macs == units * depth
        else:
            assert layer.macs == 0
        consts = [model.tensors[i] for i in op.inputs if i >= 0 and model.tensors[i].is_constant]
        if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            assert layer.params == sum(t.size for t in consts)
            assert layer.weight_bytes == sum(t.nbytes for t in consts)
            mult, shift = layer.consts["multiplier"], layer.consts["shift"]
            nz = mult != 0
            assert np.all((mult[nz] >= 2**30) & (shift[nz] <= 31))
    expected = {"ic_resnet8": 12_501_632, "kws_dscnn": 2_656_768, "ad_fc_autoencoder": 264_192}
    assert graph.total_macs == expected[name]


def test_unsupported_op_names_op_index_and_list() -> None:
    data = replace_op(MLPERF["kws_dscnn"].read_bytes(), 12, "RFFT2D")
    model = load_tflite(data)
    assert model.operators[12].name == "RFFT2D"
    with pytest.raises(UnsupportedOpError) as exc:
        lower(model)
    msg = str(exc.value)
    assert "RFFT2D" in msg and "index 12" in msg
    for op in supported_ops():
        assert op in msg


def test_unsupported_op_cli_is_clean(tmp_path, capsys) -> None:
    from edgefact.cli import main

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(replace_op(MLPERF["kws_dscnn"].read_bytes(), 1, "SEGMENT_SUM"))
    with pytest.raises(SystemExit) as exc:
        main(["convert", str(bad), "--out", str(tmp_path / "c"), "--no-tflm"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "SEGMENT_SUM" in err and "index 1" in err and "Traceback" not in err
    assert not (tmp_path / "c" / "model.c").exists()
