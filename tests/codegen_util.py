"""Helpers shared by the codegen tests: model paths and a model mutator for error cases."""

from __future__ import annotations

from pathlib import Path

from shared_paths import MLPERF_DIR

MLPERF = {p.stem.replace("_int8", ""): p for p in sorted(MLPERF_DIR.glob("*.tflite"))}


def replace_op(model_bytes: bytes, op_index: int, new_op: str) -> bytes:
    """Return a copy of the model where operator ``op_index`` uses builtin ``new_op`` instead.

    Goes through the flatbuffer object API (unpack, edit, pack), so the result is a well-formed
    .tflite that only differs in that operator's code.
    """
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    m = s.ModelT.InitFromPackedBuf(model_bytes, 0)
    code = getattr(s.BuiltinOperator, new_op)
    op = m.subgraphs[0].operators[op_index]
    new_code = s.OperatorCodeT()
    new_code.builtinCode = code
    new_code.deprecatedBuiltinCode = min(code, 127)
    new_code.version = 1
    m.operatorCodes.append(new_code)
    op.opcodeIndex = len(m.operatorCodes) - 1
    op.builtinOptionsType = 0
    op.builtinOptions = None
    b = flatbuffers.Builder(len(model_bytes) + 1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


# ---- zoo models as int8 TFLite ----------------------------------------------------------------
# Same recipe and cache keys as engineer C's export tests (tests/test_export_tflite.py), so the
# conversion of each zoo model happens once for both test files, in whichever runs first.

ROOT = Path(__file__).resolve().parents[1]
ZOO_CACHE = ROOT / ".cache" / "test_export"
ZOO_SHAPES = {"resnet8": (3, 16, 16)}
ZOO_WIDTH = 0.5


def _export_code_hash() -> str:
    import hashlib

    import edgefact.export.onnx_export as onnx_export_mod
    import edgefact.export.tflite_convert as tc

    h = hashlib.sha256()
    for mod in (tc, onnx_export_mod):
        h.update(Path(mod.__file__).read_bytes())
    return h.hexdigest()


def fashion_mnist_test(n: int):  # -> (x normalized NCHW float32, calibration NCHW float32)
    from edgefact.export import tflite_convert as tc
    from edgefact.pipeline.data import load_dataset, normalize

    ds = load_dataset("fashion-mnist", max_train=2000, max_test=max(n, 10))
    calib = tc.select_calibration(normalize(ds.x_train, ds.mean, ds.std), ds.y_train, 64)
    return normalize(ds.x_test[:n], ds.mean, ds.std), calib


def zoo_tflite_path(name: str, work_dir: Path) -> Path:
    """The cached int8 .tflite of zoo model ``name`` (width 0.5, seed 0), converting it if needed."""
    import hashlib
    import json

    import numpy as np
    import torch

    from edgefact.export import tflite_convert as tc
    from edgefact.export.onnx_export import export_onnx
    from edgefact.models.layers import harden_shifts
    from edgefact.models.zoo import build_model

    shape = ZOO_SHAPES.get(name, (1, 28, 28))
    torch.manual_seed(0)
    model = build_model(name, shape, 10, width=ZOO_WIDTH).eval()
    harden_shifts(model)
    onnx_path = work_dir / f"{name}.onnx"
    export_onnx(model, shape, onnx_path)
    if shape[0] == 1:
        calib = fashion_mnist_test(10)[1]
    else:
        calib = np.random.default_rng(1).standard_normal((32, *shape)).astype(np.float32)
    key = hashlib.sha256(onnx_path.read_bytes() + calib.tobytes() + _export_code_hash().encode()).hexdigest()[:20]
    out = ZOO_CACHE / f"{name}-{key}.tflite"
    if not out.is_file():
        ZOO_CACHE.mkdir(parents=True, exist_ok=True)
        res = tc.convert_to_int8_tflite(onnx_path, calib, out, min_agreement=0.0)
        (ZOO_CACHE / f"{name}-{key}.json").write_text(json.dumps({"ops": res.ops, "agreement": res.agreement}))
    return out


def sal2_shiftnet_tflite_path(work_dir: Path, width: float = 0.5) -> Path:
    """The cached int8 .tflite of the zoo ShiftNet with SAL2 shifts (``keep=2``, seed 0): each shift
    kernel's weights drawn from +-U(0.4, 1.6) before hardening (an untrained SAL2 keeps weights of
    1.0, both taps of a channel equal), calibrated on Fashion-MNIST."""
    import hashlib

    import torch

    from edgefact.export import tflite_convert as tc
    from edgefact.export.onnx_export import export_onnx
    from edgefact.models.layers import ShiftConv, harden_shifts
    from edgefact.models.zoo import build_model

    shape = (1, 28, 28)
    torch.manual_seed(0)
    model = build_model("shiftnet", shape, 10, width=width, keep=2).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, ShiftConv):
                mag = 0.4 + 1.2 * torch.rand(m.weight.shape, generator=gen)
                m.weight.copy_(mag * torch.where(torch.rand(m.weight.shape, generator=gen) < 0.5, -1.0, 1.0))
    harden_shifts(model)
    onnx_path = work_dir / "shiftnet_sal2.onnx"
    export_onnx(model, shape, onnx_path)
    calib = fashion_mnist_test(10)[1]
    key = hashlib.sha256(onnx_path.read_bytes() + calib.tobytes() + _export_code_hash().encode()).hexdigest()[:20]
    out = ZOO_CACHE / f"shiftnet_sal2-{key}.tflite"
    if not out.is_file():
        ZOO_CACHE.mkdir(parents=True, exist_ok=True)
        tc.convert_to_int8_tflite(onnx_path, calib, out, min_agreement=0.0)
    return out
