"""ONNX -> full-integer int8 TFLite: onnx2tf to a SavedModel, then TFLiteConverter.

Why this route: onnx2tf's own quantizer silently allows SELECT_TF_OPS (Flex) ops, while
``TFLiteConverter.from_saved_model`` restricted to ``TFLITE_BUILTINS_INT8`` fails loudly on any op
that has no int8 builtin kernel. Calibration uses real training samples that the caller passes in;
onnx2tf is never allowed to fetch its own sample images (it would download them for 3-channel
inputs): its downloader is replaced by one that returns our samples for the duration of the call.

After conversion the file is checked: int8 NHWC input, int8 output, builtin ops only, no TRANSPOSE,
per-channel quantized convolution filters. Then float (onnxruntime) and int8 (LiteRT) predictions
are compared on evaluation samples; a top-1 agreement under ``min_agreement`` is an error.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError, UnsupportedOpError
from edgefact.fsutil import atomic_write_bytes
from edgefact.stdio import capture_output

DEFAULT_CALIB_SAMPLES = 300
DEFAULT_MIN_AGREEMENT = 0.98
# Ops whose filter must be quantized per output channel, and the filter's channel axis.
_FILTER_OPS = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3}


@dataclass
class QuantInfo:
    shape: list[int]
    dtype: str
    scale: float
    zero_point: int


@dataclass
class ConversionResult:
    """The int8 model written, its op list and how it compares with the float model."""

    path: Path
    size_bytes: int
    ops: list[str]  # builtin op names in execution order
    input: QuantInfo
    output: QuantInfo
    calib_samples: int
    eval_samples: int
    eval_source: str  # "test split" (labels given) or "calibration" (no labels)
    float_accuracy: float | None
    int8_accuracy: float | None
    agreement: float
    seconds: float
    op_counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        ops = ", ".join(f"{k}x{v}" for k, v in sorted(self.op_counts.items()))
        lines = [
            f"int8 TFLite -> {self.path} ({self.size_bytes} bytes, {self.seconds:.1f} s)",
            f"  input {self.input.shape} {self.input.dtype} scale {self.input.scale:.6g} zp {self.input.zero_point}",
            f"  output {self.output.shape} {self.output.dtype} scale {self.output.scale:.6g} zp {self.output.zero_point}",
            f"  ops ({len(self.ops)}): {ops}",
            f"  calibrated on {self.calib_samples} training samples",
        ]
        if self.float_accuracy is not None and self.int8_accuracy is not None:
            lines.append(
                f"  {self.eval_source} ({self.eval_samples} samples): float accuracy {self.float_accuracy:.4f}, "
                f"int8 accuracy {self.int8_accuracy:.4f}, top-1 agreement {self.agreement:.4f}"
            )
        else:
            lines.append(f"  top-1 agreement float vs int8 on {self.eval_samples} {self.eval_source} samples: "
                         f"{self.agreement:.4f}")
        return "\n".join(lines)


def select_calibration(
    x: np.ndarray, y: np.ndarray | None = None, n: int = DEFAULT_CALIB_SAMPLES, seed: int = 0
) -> np.ndarray:
    """Pick ``n`` samples deterministically; with labels, round-robin over classes (balanced)."""
    x = np.asarray(x, dtype=np.float32)
    n = min(int(n), x.shape[0])
    if n <= 0:
        raise EdgefactError("no calibration samples: give --calib-samples >= 1 and a non-empty training set")
    rng = np.random.default_rng(seed)
    if y is None:
        idx = np.sort(rng.choice(x.shape[0], size=n, replace=False))
        return x[idx]
    y = np.asarray(y)
    pools = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    chosen: list[int] = []
    depth = 0
    while len(chosen) < n:
        for pool in pools:
            if depth < len(pool) and len(chosen) < n:
                chosen.append(int(pool[depth]))
        depth += 1
    return x[np.sort(np.asarray(chosen))]


def _log_tail(log_path: Path, lines: int = 12) -> str:
    try:
        text = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    keep = [ln for ln in text if ln.strip() and "computation_placer" not in ln]
    return "\n".join(keep[-lines:])


def _import_tf() -> Any:
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        with capture_output(os.devnull, python_streams=True):  # import-time CUDA/XLA registration noise
            import tensorflow  # noqa: F401
    import tensorflow as tf

    with contextlib.suppress(RuntimeError):  # already initialised
        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    return tf


def _write_saved_model(model: Any, out_dir: Path) -> None:
    import tensorflow as tf
    import tf_keras

    archive = tf_keras.export.ExportArchive()
    archive.add_endpoint(
        name="serving_default",
        fn=lambda *inputs: model(inputs),
        input_signature=[tf.TensorSpec(t.shape, t.dtype, t.name) for t in model.inputs],
    )
    archive.write_out(str(out_dir))


def onnx_to_saved_model(onnx_path: Path, out_dir: Path, sample_nhwc: np.ndarray, log_path: Path) -> None:
    """Run onnx2tf in-process into ``out_dir`` with its sample-image downloader replaced."""
    _import_tf()
    import onnx2tf
    import onnx2tf.onnx2tf as o2t_main

    samples = np.ascontiguousarray(sample_nhwc[:20], dtype=np.float32)

    def _no_download() -> np.ndarray:
        return samples

    saved_dl = o2t_main.download_test_image_data
    o2t_main.download_test_image_data = _no_download
    cwd = os.getcwd()
    try:
        os.chdir(out_dir.parent)  # onnx2tf writes helper files to the working directory
        with capture_output(log_path, python_streams=True):
            # disable_model_save: onnx2tf returns the Keras model before writing anything (it
            # would otherwise also convert float32 and float16 .tflite files we do not use);
            # the SavedModel is written below exactly as onnx2tf's signature-def route does.
            keras_model = onnx2tf.convert(
                input_onnx_file_path=str(onnx_path),
                output_folder_path=str(out_dir),
                output_signaturedefs=True,
                disable_model_save=True,
                non_verbose=True,
                verbosity="error",
            )
            _write_saved_model(keras_model, out_dir)
    except Exception as exc:
        raise EdgefactError(
            f"onnx2tf could not convert {onnx_path}: {type(exc).__name__}: {str(exc)[:400]}\n"
            f"{_log_tail(log_path)}\nThe ONNX node named in the log is the layer to change "
            "(onnx2tf supports standard conv/pool/linear graphs in NCHW)"
        ) from exc
    finally:
        os.chdir(cwd)
        o2t_main.download_test_image_data = saved_dl
    if not (out_dir / "saved_model.pb").is_file():
        raise EdgefactError(f"onnx2tf wrote no SavedModel for {onnx_path}:\n{_log_tail(log_path)}")


_NEEDS_FLEX = re.compile(r"'(tf\.\w+)' op is neither a custom op nor a flex op")
_LOC_LAYER = re.compile(r'fused\["(\w+):", "([^"@]+)')


def _unsupported_from_message(msg: str) -> list[str]:
    """The ops (and the TF layers that produced them) a converter error names as unsupported."""
    found: list[str] = []
    for line in msg.splitlines():
        m = _NEEDS_FLEX.search(line)
        if not m:
            continue
        loc = _LOC_LAYER.search(line)
        where = f" (layer '{loc.group(2)}')" if loc else ""
        item = f"{m.group(1)}{where} has no TFLite builtin kernel (would need a Flex op)"
        if item not in found:
            found.append(item)
    if not found:
        found = [ln.strip() for ln in msg.splitlines() if "error" in ln.lower()][:6]
    return found


def saved_model_to_int8(saved_dir: Path, calib_nhwc: np.ndarray, log_path: Path) -> bytes:
    """Full-integer quantization with per-channel weights and int8 input/output."""
    tf = _import_tf()

    def representative() -> Iterator[list[np.ndarray]]:
        for i in range(calib_nhwc.shape[0]):
            yield [calib_nhwc[i : i + 1]]

    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved_dir))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    conv._experimental_disable_per_channel = False  # per-channel is the default; keep it explicit
    try:
        with capture_output(log_path, python_streams=True):
            return bytes(conv.convert())
    except Exception as exc:
        detail = _unsupported_from_message(str(exc)) or [str(exc)[:600]]
        raise UnsupportedOpError(
            "TFLiteConverter (TFLITE_BUILTINS_INT8 only) rejected the model:\n  "
            + "\n  ".join(detail)
            + "\nReplace the named op/layer with one that has an int8 TFLite builtin "
            "(conv, depthwise conv, pooling, fully connected, add, relu/relu6, concat, pad)"
        ) from exc


def check_int8_model(model_bytes: bytes, nchw_shape: tuple[int, ...]) -> Any:
    """Check the converted file; return the parsed model (edgefact.export.tflite_model)."""
    from edgefact.export.tflite_model import load_tflite

    m = load_tflite(model_bytes)
    problems: list[str] = []
    for op in m.operators:
        out_name = m.tensors[op.outputs[0]].name if op.outputs else "?"
        if op.name == "CUSTOM" or (op.custom_code or "").startswith("Flex"):
            problems.append(
                f"op {op.index} is a custom/Flex op '{op.custom_code}' (produces tensor '{out_name}')"
            )
        elif op.name == "TRANSPOSE":
            problems.append(
                f"op {op.index} is TRANSPOSE (produces '{out_name}'): a layout change survived conversion; "
                "avoid reshapes/permutes of 4-D activations before the classifier"
            )
        if op.name in _FILTER_OPS and len(op.inputs) > 1:
            w = m.tensors[op.inputs[1]]
            q = w.quantization
            axis = _FILTER_OPS[op.name]
            n_ch = w.shape[axis] if len(w.shape) == 4 else 0
            if w.type_name != "INT8" or q is None:
                problems.append(f"op {op.index} {op.name} filter '{w.name}' is {w.type_name}, not int8")
            elif n_ch > 1 and (len(q.scales) != n_ch or q.quantized_dimension != axis):
                problems.append(
                    f"op {op.index} {op.name} filter '{w.name}' is not quantized per output channel "
                    f"({len(q.scales)} scales for {n_ch} channels)"
                )
    io_tensors = set(m.inputs) | set(m.outputs)
    for op in m.operators:
        floats = [
            m.tensors[i].name
            for i in (*op.inputs, *op.outputs)
            if i >= 0 and i not in io_tensors and m.tensors[i].type_name in ("FLOAT32", "FLOAT16")
        ]
        if floats:
            problems.append(
                f"op {op.index} {op.name} runs in float (tensor '{floats[0]}'): the converter kept it out of int8 "
                "because it has no int8 kernel; replace that layer"
            )
    for role, idx in (("input", m.inputs), ("output", m.outputs)):
        for i in idx:
            t = m.tensors[i]
            if t.type_name != "INT8":
                problems.append(f"model {role} '{t.name}' is {t.type_name}, expected INT8")
    if len(m.inputs) == 1 and len(nchw_shape) == 4:
        n, c, h, w = nchw_shape
        got = tuple(m.tensors[m.inputs[0]].shape)
        if got != (n, h, w, c):
            problems.append(f"model input shape {list(got)} is not NHWC {[n, h, w, c]} of ONNX {list(nchw_shape)}")
    if problems:
        raise UnsupportedOpError("the int8 TFLite model failed its checks:\n  " + "\n  ".join(problems))
    return m


def _quant_info(t: Any) -> QuantInfo:
    q = t.quantization
    scale = float(q.scales[0]) if q is not None and len(q.scales) else 0.0
    zp = int(q.zero_points[0]) if q is not None and len(q.zero_points) else 0
    return QuantInfo(shape=list(t.shape), dtype=t.type_name.lower(), scale=scale, zero_point=zp)


def run_int8(model_bytes: bytes, x_nchw: np.ndarray) -> np.ndarray:
    """Quantize float NCHW inputs, run the int8 model with LiteRT, return dequantized outputs."""
    from ai_edge_litert.interpreter import Interpreter

    with capture_output(os.devnull, python_streams=True):  # "Created TensorFlow Lite XNNPACK delegate" banner
        it = Interpreter(model_content=model_bytes, num_threads=1)
        it.allocate_tensors()
    inp = it.get_input_details()[0]
    out = it.get_output_details()[0]
    s_in, zp_in = inp["quantization"]
    s_out, zp_out = out["quantization"]
    x = np.transpose(np.asarray(x_nchw, dtype=np.float32), (0, 2, 3, 1))
    q = np.clip(np.round(x / s_in) + zp_in, -128, 127).astype(np.int8)
    res = []
    for i in range(q.shape[0]):
        it.set_tensor(inp["index"], q[i : i + 1])
        it.invoke()
        res.append(it.get_tensor(out["index"]).astype(np.float32))
    y = np.concatenate(res, axis=0)
    return (y - zp_out) * s_out


def convert_to_int8_tflite(
    onnx_path: str | os.PathLike[str],
    calib_data: np.ndarray,
    out_path: str | os.PathLike[str],
    *,
    eval_data: tuple[np.ndarray, np.ndarray] | np.ndarray | None = None,
    min_agreement: float = DEFAULT_MIN_AGREEMENT,
    work_dir: str | os.PathLike[str] | None = None,
) -> ConversionResult:
    """Convert a batch-1 NCHW ONNX model to a checked full-integer int8 ``.tflite`` at ``out_path``.

    ``calib_data``: (N, C, H, W) normalized float32 training samples (use :func:`select_calibration`).
    ``eval_data``: (x_test, y_test) for accuracy and agreement, or x alone for agreement only;
    without it agreement is measured on the calibration samples. ``out_path`` is written only when
    every check passes.
    """
    import onnx

    from edgefact.export.onnx_export import run_onnx

    t0 = time.time()
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise EdgefactError(f"ONNX file {onnx_path} does not exist; export it first with `edgefact export --to onnx`")
    if not 0.0 <= min_agreement <= 1.0:
        raise EdgefactError(f"min agreement {min_agreement} must be a fraction between 0 and 1 (e.g. 0.98)")
    try:
        onnx_model = onnx.load(str(onnx_path))
    except Exception as exc:
        raise EdgefactError(f"{onnx_path} is not a readable ONNX file ({exc}); re-export it") from exc
    dims = [d.dim_value for d in onnx_model.graph.input[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or 0 in dims:
        raise EdgefactError(
            f"ONNX input shape {dims} is not a static (1, C, H, W); export with edgefact export --to onnx"
        )
    calib = np.asarray(calib_data, dtype=np.float32)
    if calib.ndim != 4 or tuple(calib.shape[1:]) != tuple(dims[1:]):
        raise EdgefactError(
            f"calibration data has shape {list(calib.shape)}, expected (N, {dims[1]}, {dims[2]}, {dims[3]}) "
            "normalized float32 training samples"
        )
    calib_nhwc = np.ascontiguousarray(np.transpose(calib, (0, 2, 3, 1)))

    with tempfile.TemporaryDirectory(prefix="edgefact-tflite-", dir=work_dir) as tmp:
        tmp_dir = Path(tmp)
        log_path = tmp_dir / "convert.log"
        saved = tmp_dir / "saved_model"
        # onnx2tf rewrites the file it is given (onnxsim in place): convert a private copy so the
        # caller's .onnx (and any cache keyed on its hash) is left untouched
        onnx_copy = tmp_dir / "model.onnx"
        shutil.copyfile(onnx_path, onnx_copy)
        onnx_to_saved_model(onnx_copy, saved, calib_nhwc, log_path)
        model_bytes = saved_model_to_int8(saved, calib_nhwc, log_path)

    m = check_int8_model(model_bytes, tuple(dims))

    labels: np.ndarray | None = None
    if eval_data is None:
        x_eval, source = calib, "calibration"
    elif isinstance(eval_data, tuple):
        x_eval, labels = np.asarray(eval_data[0], dtype=np.float32), np.asarray(eval_data[1])
        source = "test split"
    else:
        x_eval, source = np.asarray(eval_data, dtype=np.float32), "evaluation"
    y_float = run_onnx(onnx_path, x_eval)
    y_int8 = run_int8(model_bytes, x_eval)
    p_float, p_int8 = y_float.argmax(axis=1), y_int8.argmax(axis=1)
    agreement = float(np.mean(p_float == p_int8))
    acc_f = float(np.mean(p_float == labels)) if labels is not None else None
    acc_q = float(np.mean(p_int8 == labels)) if labels is not None else None
    if agreement < min_agreement:
        raise EdgefactError(
            f"int8 model agrees with the float model on only {agreement:.2%} of {len(x_eval)} samples "
            f"(required {min_agreement:.2%}); calibrate on more samples (--calib-samples), check the "
            "input normalization, or lower --min-agreement if this loss is acceptable"
        )
    out_path = Path(out_path)
    atomic_write_bytes(out_path, model_bytes)
    ops = m.op_names()
    return ConversionResult(
        path=out_path,
        size_bytes=len(model_bytes),
        ops=ops,
        input=_quant_info(m.tensors[m.inputs[0]]),
        output=_quant_info(m.tensors[m.outputs[0]]),
        calib_samples=int(calib.shape[0]),
        eval_samples=int(x_eval.shape[0]),
        eval_source=source,
        float_accuracy=acc_f,
        int8_accuracy=acc_q,
        agreement=agreement,
        seconds=time.time() - t0,
        op_counts=dict(Counter(ops)),
    )
