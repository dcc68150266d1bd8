"""int8 TFLite conversion: every zoo model -> builtin int8 ops only, NHWC, no TRANSPOSE, per-channel
filters; the op lists docs/export.md gives for the factorized layers; loud failures.

Conversions are cached under .cache/test_export keyed by the ONNX bytes, the calibration data and
the converter's source, so a warm run only re-checks the files.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import edgefact.export.onnx_export as onnx_export_mod
import edgefact.export.tflite_convert as tc
from edgefact.errors import EdgefactError, UnsupportedOpError
from edgefact.export.onnx_export import export_onnx
from edgefact.export.tflite_model import TFLiteModel, load_tflite
from edgefact.models.layers import harden_shifts
from edgefact.models.zoo import build_model, list_models
from edgefact.pipeline.data import load_dataset, normalize

CACHE = Path(__file__).resolve().parents[1] / ".cache" / "test_export"
SHAPES = {"resnet8": (3, 16, 16)}  # one 3-channel model: the case where onnx2tf would fetch sample images


def _code_hash() -> str:
    h = hashlib.sha256()
    for mod in (tc, onnx_export_mod):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="session")
def calib_1ch() -> np.ndarray:
    ds = load_dataset("fashion-mnist", max_train=2000, max_test=10)
    return tc.select_calibration(normalize(ds.x_train, ds.mean, ds.std), ds.y_train, 64)


@pytest.fixture(scope="session")
def zoo_tflite(tmp_path_factory: pytest.TempPathFactory, calib_1ch: np.ndarray) -> Callable[[str], TFLiteModel]:
    """name -> converted (cached) int8 model of a zoo model at width 0.5."""
    done: dict[str, TFLiteModel] = {}
    work = tmp_path_factory.mktemp("zoo")

    def get(name: str) -> TFLiteModel:
        if name in done:
            return done[name]
        shape = SHAPES.get(name, (1, 28, 28))
        torch.manual_seed(0)
        model = build_model(name, shape, 10, width=0.5).eval()
        harden_shifts(model)
        onnx_path = work / f"{name}.onnx"
        export_onnx(model, shape, onnx_path)
        if shape[0] == 1:
            calib = calib_1ch
        else:
            calib = np.random.default_rng(1).standard_normal((32, *shape)).astype(np.float32)
        key = hashlib.sha256(onnx_path.read_bytes() + calib.tobytes() + _code_hash().encode()).hexdigest()[:20]
        out = CACHE / f"{name}-{key}.tflite"
        if not out.is_file():
            res = tc.convert_to_int8_tflite(onnx_path, calib, out, min_agreement=0.0)
            (CACHE / f"{name}-{key}.json").write_text(json.dumps({"ops": res.ops, "agreement": res.agreement}))
        done[name] = load_tflite(out)
        return done[name]

    return get


def _filter(m: TFLiteModel, op: Any) -> np.ndarray:
    return np.asarray(m.tensors[op.inputs[1]].data)


@pytest.mark.slow
@pytest.mark.parametrize("name", list_models())
def test_zoo_model_converts_to_builtin_int8(name: str, zoo_tflite: Callable[[str], TFLiteModel]) -> None:
    m = zoo_tflite(name)
    ops = m.op_names()
    assert "TRANSPOSE" not in ops and "CUSTOM" not in ops
    assert set(ops) <= {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MEAN", "PAD", "ADD", "MAX_POOL_2D",
                        "CONCATENATION", "AVERAGE_POOL_2D"}
    c, h, w = SHAPES.get(name, (1, 28, 28))
    inp, out = m.tensors[m.inputs[0]], m.tensors[m.outputs[0]]
    assert tuple(inp.shape) == (1, h, w, c) and inp.type_name == "INT8"
    assert tuple(out.shape) == (1, 10) and out.type_name == "INT8"
    # activations int8, biases int32, nothing float
    assert {t.type_name for t in m.tensors} <= {"INT8", "INT32"}
    assert ops.count("FULLY_CONNECTED") == 1 and ops[-1] == "FULLY_CONNECTED" and ops[-2] == "MEAN"
    tc.check_int8_model(m.model_bytes, (1, c, h, w))  # NHWC, per-channel filters, no Flex


@pytest.mark.slow
def test_depthwise_separable_op_list(zoo_tflite: Callable[[str], TFLiteModel]) -> None:
    m = zoo_tflite("dscnn")
    seq = " ".join(m.op_names())
    # stem conv (stride 2: explicit PAD + VALID), then per block DEPTHWISE_CONV_2D -> 1x1 CONV_2D
    assert re.fullmatch(r"PAD CONV_2D ((PAD )?DEPTHWISE_CONV_2D CONV_2D ){3}MEAN FULLY_CONNECTED", seq), seq
    for op in m.operators:
        if op.name == "DEPTHWISE_CONV_2D":
            f = _filter(m, op)
            assert f.shape[0] == 1 and f.shape[1:3] == (3, 3)
            assert op.options["depth_multiplier"] == 1 and f.shape[3] == m.tensors[op.inputs[0]].shape[3]
            nxt = m.operators[op.index + 1]
            assert nxt.name == "CONV_2D" and _filter(m, nxt).shape[1:3] == (1, 1)
            assert op.options["fused_activation_function"] == "RELU"


@pytest.mark.slow
def test_grouped_conv_op_list(zoo_tflite: Callable[[str], TFLiteModel]) -> None:
    m = zoo_tflite("resnext")
    grouped = []
    for op in m.operators:
        if op.name == "CONV_2D":
            cin = m.tensors[op.inputs[0]].shape[3]
            f = _filter(m, op)
            if f.shape[3] != cin:
                assert cin % f.shape[3] == 0
                grouped.append((cin // f.shape[3], f.shape))
    # one CONV_2D per grouped 3x3 (3 blocks, cardinality 4), filter holds C_in/groups input channels
    assert len(grouped) == 3 and all(g == 4 and s[1:3] == (3, 3) for g, s in grouped), grouped
    assert m.op_names().count("ADD") == 3 and "DEPTHWISE_CONV_2D" not in m.op_names()


@pytest.mark.slow
def test_spatially_separable_op_list(zoo_tflite: Callable[[str], TFLiteModel]) -> None:
    m = zoo_tflite("cnn-spatial")
    kernels = [tuple(_filter(m, op).shape[1:3]) for op in m.operators if op.name == "CONV_2D"]
    pairs = [(a, b) for a, b in zip(kernels, kernels[1:], strict=False) if a == (3, 1) and b == (1, 3)]
    assert len(pairs) >= 2, kernels  # k x 1 then 1 x k: two CONV_2D per factorized conv
    for i, op in enumerate(m.operators[:-1]):
        if op.name == "CONV_2D" and _filter(m, op).shape[1:3] == (3, 1):
            assert m.operators[i + 1].name == "CONV_2D" and op.options["fused_activation_function"] == "NONE"


@pytest.mark.slow
def test_shift_op_list(zoo_tflite: Callable[[str], TFLiteModel]) -> None:
    m = zoo_tflite("shiftnet")
    dw = [op for op in m.operators if op.name == "DEPTHWISE_CONV_2D"]
    assert len(dw) == 4
    for op in dw:
        f = _filter(m, op)  # [1, 3, 3, C]: one-hot kernel per channel, value 127 (1.0 at full scale)
        per_ch = f.reshape(9, -1)
        assert np.all((per_ch != 0).sum(axis=0) == 1) and np.all(per_ch.max(axis=0) == 127)
        assert op.options["fused_activation_function"] == "NONE"
        nxt = m.operators[op.index + 1]
        assert nxt.name == "CONV_2D" and _filter(m, nxt).shape[1:3] == (1, 1)


@pytest.mark.slow
def test_onnx2tf_never_fetches_sample_images(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import onnx2tf.onnx2tf as o2t

    def _forbidden() -> np.ndarray:
        raise AssertionError("onnx2tf tried to download its sample images")

    monkeypatch.setattr(o2t, "download_test_image_data", _forbidden)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU()).eval()
    onnx_path = tmp_path / "rgb.onnx"
    export_onnx(model, (3, 8, 8), onnx_path)
    sample = np.random.default_rng(0).standard_normal((4, 8, 8, 3)).astype(np.float32)
    tc.onnx_to_saved_model(onnx_path, tmp_path / "sm", sample, tmp_path / "log")
    assert (tmp_path / "sm" / "saved_model.pb").is_file()
    assert o2t.download_test_image_data is _forbidden  # restored after the call


def _tiny(extra: torch.nn.Module | None = None) -> torch.nn.Module:
    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.extra = extra or torch.nn.ReLU()
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.extra(self.conv(x)).mean(dim=(2, 3)))

    torch.manual_seed(0)
    return Tiny().eval()


class _Sin(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


@pytest.mark.slow
def test_unsupported_op_fails_loudly(tmp_path: Path) -> None:
    onnx_path = tmp_path / "sin.onnx"
    export_onnx(_tiny(_Sin()), (1, 8, 8), onnx_path)
    calib = np.random.default_rng(0).standard_normal((8, 1, 8, 8)).astype(np.float32)
    out = tmp_path / "sin.tflite"
    with pytest.raises(UnsupportedOpError) as exc:
        tc.convert_to_int8_tflite(onnx_path, calib, out)
    # the converter keeps SIN in float between DEQUANTIZE/QUANTIZE: the check names it
    assert "SIN runs in float" in str(exc.value) and "tf.math.sin" in str(exc.value)
    assert not out.exists()


def test_converter_error_names_op_and_layer() -> None:
    msg = (
        "Could not translate MLIR to FlatBuffer.<unknown>:0: error: loc(callsite(callsite(fused[\"Erf:\", "
        "\"model_1/tf.math.erf/Erf@__inference_<lambda>_161\"] at fused[\"PartitionedCall:\", \"x\"])): "
        "'tf.Erf' op is neither a custom op nor a flex op\n<unknown>:0: error: failed while converting: 'main'"
    )
    assert tc._unsupported_from_message(msg) == [
        "tf.Erf (layer 'model_1/tf.math.erf/Erf') has no TFLite builtin kernel (would need a Flex op)"
    ]


@pytest.mark.slow
def test_low_agreement_fails_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    onnx_path = tmp_path / "t.onnx"
    export_onnx(_tiny(), (1, 8, 8), onnx_path)
    x = np.random.default_rng(0).standard_normal((40, 1, 8, 8)).astype(np.float32)
    y = np.zeros(40, dtype=np.int64)
    real = tc.run_int8
    monkeypatch.setattr(tc, "run_int8", lambda b, xx: -real(b, xx))  # argmax becomes argmin
    out = tmp_path / "t.tflite"
    with pytest.raises(EdgefactError, match="agrees with the float model on only"):
        tc.convert_to_int8_tflite(onnx_path, x[:16], out, eval_data=(x, y), min_agreement=0.9)
    assert not out.exists()
    monkeypatch.setattr(tc, "run_int8", real)
    res = tc.convert_to_int8_tflite(onnx_path, x[:16], out, eval_data=(x, y), min_agreement=0.9)
    assert out.is_file() and res.agreement >= 0.9 and res.float_accuracy is not None
    assert res.ops == ["CONV_2D", "MEAN", "FULLY_CONNECTED"]


def test_calibration_selection_is_deterministic_and_balanced() -> None:
    x = np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1)
    y = np.repeat(np.arange(4), 25)
    a = tc.select_calibration(x, y, 20, seed=3)
    b = tc.select_calibration(x, y, 20, seed=3)
    assert np.array_equal(a, b) and len(a) == 20
    labels = y[a.reshape(-1).astype(int)]
    assert np.bincount(labels).tolist() == [5, 5, 5, 5]
    assert not np.array_equal(a, tc.select_calibration(x, y, 20, seed=4))


def test_input_errors(tmp_path: Path) -> None:
    with pytest.raises(EdgefactError, match="does not exist"):
        tc.convert_to_int8_tflite(tmp_path / "none.onnx", np.zeros((1, 1, 4, 4), np.float32), tmp_path / "o.tflite")
    onnx_path = tmp_path / "t.onnx"
    export_onnx(_tiny(), (1, 8, 8), onnx_path)
    with pytest.raises(EdgefactError, match="calibration data has shape"):
        tc.convert_to_int8_tflite(onnx_path, np.zeros((4, 1, 9, 9), np.float32), tmp_path / "o.tflite")


@pytest.mark.slow
def test_export_and_inspect_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from edgefact.cli import cli
    from edgefact.pipeline.checkpoint import save_checkpoint

    ds = load_dataset("digits")
    torch.manual_seed(0)
    model = build_model("dscnn", (1, 8, 8), 10, width=0.25)
    ckpt = save_checkpoint(tmp_path / "d.pt", model, "dscnn", {"input_shape": (1, 8, 8), "num_classes": 10,
                                                              "width": 0.25}, ds.meta())
    out = tmp_path / "d.tflite"
    r = CliRunner().invoke(cli, ["export", str(ckpt), "--to", "tflite", "--out", str(out), "--calib-samples", "50",
                                 "--min-agreement", "0", "--onnx-out", str(tmp_path / "d.onnx")])
    assert r.exit_code == 0, r.output
    assert out.is_file() and (tmp_path / "d.onnx").is_file()
    assert "calibrated on 50 training samples" in r.output and f"test split ({len(ds.y_test)} samples)" in r.output
    r = CliRunner().invoke(cli, ["inspect", str(out)])
    assert r.exit_code == 0, r.output
    assert "DEPTHWISE_CONV_2D" in r.output and "per-channel(dim 3)" in r.output and "input #0 [1, 8, 8, 1] INT8" in r.output
    r = CliRunner().invoke(cli, ["inspect", str(tmp_path / "d.onnx")])
    assert r.exit_code != 0 and "not a TFLite model" in str(r.exception)
