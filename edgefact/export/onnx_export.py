"""PyTorch -> ONNX export with a checker pass and an onnxruntime parity check.

The legacy TorchScript exporter (``dynamo=False``) is used on purpose: it writes clean graphs at
opsets 13-18 that onnx2tf converts without trouble, while the dynamo exporter always writes opset 18,
needs onnxscript, and its un-optimized output crashes onnx2tf 1.29 (see platform-facts.md).

The exported graph has a static batch of 1 (microcontroller inference), one input called
``input`` (N, C, H, W) and one output called ``output``.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.fsutil import atomic_output_path

DEFAULT_OPSET = 17
SUPPORTED_OPSETS = range(13, 19)
DEFAULT_TOLERANCE = 1e-4  # max |torch - onnxruntime| relative to the range of the torch outputs
INPUT_NAME = "input"
OUTPUT_NAME = "output"


@dataclass
class OnnxExportResult:
    """What was written and how well onnxruntime reproduces PyTorch on the check inputs."""

    path: Path
    opset: int
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    check_samples: int
    check_source: str  # "given" or "random"
    max_abs_diff: float
    output_range: float
    relative_diff: float  # max_abs_diff / output_range
    op_counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        ops = ", ".join(f"{k}x{v}" for k, v in sorted(self.op_counts.items()))
        return (
            f"ONNX opset {self.opset} -> {self.path}\n"
            f"  input {list(self.input_shape)}  output {list(self.output_shape)}\n"
            f"  ops: {ops}\n"
            f"  parity on {self.check_samples} {self.check_source} inputs: max |diff| {self.max_abs_diff:.3g}"
            f" (output range {self.output_range:.3g}, relative {self.relative_diff:.3g})"
        )


def _onnx_ops(model: Any) -> dict[str, int]:
    return dict(Counter(node.op_type for node in model.graph.node))


def _const_ints(model: Any, name: str) -> list[int] | None:
    from onnx import numpy_helper

    for init in model.graph.initializer:
        if init.name == name:
            return [int(v) for v in numpy_helper.to_array(init).reshape(-1)]
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output[0] == name:
            for a in node.attribute:
                if a.name == "value":
                    return [int(v) for v in numpy_helper.to_array(a.t).reshape(-1)]
    return None


def canonicalize_for_tflite(model: Any) -> int:
    """Rewrite graph patterns that onnx2tf converts badly; returns the number of rewrites.

    ``ReduceMean`` over the spatial axes (2, 3) of a 4-D tensor becomes ``GlobalAveragePool``
    (+ ``Flatten`` when keepdims=0). Same numbers, but onnx2tf 1.29 loses track of the NHWC layout
    when such a ReduceMean follows a residual ``Add`` and emits a TRANSPOSE back to NCHW before a
    MEAN; GlobalAveragePool always becomes a plain MEAN over H, W in NHWC.
    """
    import onnx
    from onnx import helper

    inferred = onnx.shape_inference.infer_shapes(model)
    ranks = {
        vi.name: len(vi.type.tensor_type.shape.dim)
        for vi in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]
    }
    new_nodes = []
    count = 0
    for node in model.graph.node:
        if node.op_type == "ReduceMean" and ranks.get(node.input[0]) == 4:
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            axes = attrs.get("axes")
            if axes is None and len(node.input) > 1 and node.input[1]:
                axes = _const_ints(model, node.input[1])
            keep = int(attrs.get("keepdims", 1))
            if axes is not None and sorted(int(a) % 4 for a in axes) == [2, 3]:
                out = node.output[0]
                if keep:
                    new_nodes.append(helper.make_node("GlobalAveragePool", [node.input[0]], [out], name=node.name))
                else:
                    mid = f"{out}__gap"
                    new_nodes.append(helper.make_node("GlobalAveragePool", [node.input[0]], [mid], name=node.name))
                    new_nodes.append(helper.make_node("Flatten", [mid], [out], name=f"{node.name}__flatten", axis=1))
                count += 1
                continue
        new_nodes.append(node)
    if count:
        del model.graph.node[:]
        model.graph.node.extend(new_nodes)
    return count


def run_onnx(path: str | os.PathLike[str], inputs: np.ndarray) -> np.ndarray:
    """Run an exported (batch-1) ONNX model sample by sample with onnxruntime on CPU."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    x = np.ascontiguousarray(inputs, dtype=np.float32)
    outs = [sess.run(None, {name: x[i : i + 1]})[0] for i in range(x.shape[0])]
    return np.concatenate(outs, axis=0)


def export_onnx(
    model: Any,
    input_shape: tuple[int, ...] | list[int],
    path: str | os.PathLike[str],
    opset: int = DEFAULT_OPSET,
    check_inputs: Any = None,
    tolerance: float = DEFAULT_TOLERANCE,
    check_samples: int = 16,
    canonicalize: bool = True,
) -> OnnxExportResult:
    """Export ``model`` (a torch.nn.Module) to ONNX at ``path`` and check it.

    ``input_shape`` is (C, H, W) or (1, C, H, W). ``check_inputs`` (N, C, H, W float32, real test
    samples) are run through both PyTorch and onnxruntime; without them ``check_samples``
    deterministic random inputs are used. The export fails (and ``path`` is left untouched) when
    the ONNX checker rejects the graph or the outputs differ by more than ``tolerance`` relative
    to the range of the PyTorch outputs. ``canonicalize`` applies :func:`canonicalize_for_tflite`
    (checked by the same parity test).
    """
    import onnx
    import torch

    if opset not in SUPPORTED_OPSETS:
        raise EdgefactError(
            f"ONNX opset {opset} is not supported; choose one of "
            f"{SUPPORTED_OPSETS.start}..{SUPPORTED_OPSETS.stop - 1} (default {DEFAULT_OPSET})"
        )
    shape = tuple(int(d) for d in input_shape)
    if len(shape) == 3:
        shape = (1, *shape)
    if len(shape) != 4 or shape[0] != 1 or min(shape) <= 0:
        raise EdgefactError(
            f"input shape {list(input_shape)} is not (C, H, W) or (1, C, H, W); give the model's "
            "single-sample input shape, e.g. (1, 28, 28)"
        )

    if check_inputs is None:
        rng = np.random.default_rng(0)
        x_check = rng.standard_normal((check_samples, *shape[1:])).astype(np.float32)
        source = "random"
    else:
        x_check = np.asarray(
            check_inputs.detach().cpu().numpy() if isinstance(check_inputs, torch.Tensor) else check_inputs,
            dtype=np.float32,
        )
        if x_check.ndim == 3:
            x_check = x_check[None]
        if tuple(x_check.shape[1:]) != shape[1:]:
            raise EdgefactError(
                f"check inputs have shape {list(x_check.shape)} but the model input is {list(shape)}; "
                "pass samples of the model's input shape (N, C, H, W)"
            )
        source = "given"

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ref = model(torch.from_numpy(x_check)).detach().cpu().numpy()
        path = Path(path)
        with atomic_output_path(path) as tmp:
            buf = io.StringIO()
            with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
                warnings.simplefilter("ignore")
                try:
                    torch.onnx.export(
                        model,
                        (torch.zeros(shape),),
                        str(tmp),
                        opset_version=opset,
                        dynamo=False,
                        input_names=[INPUT_NAME],
                        output_names=[OUTPUT_NAME],
                        do_constant_folding=True,
                    )
                except Exception as exc:  # torch raises many types; report the layer-level cause
                    raise EdgefactError(
                        f"torch.onnx.export failed at opset {opset}: {exc}. Check that the model "
                        "uses only standard layers (Conv2d, BatchNorm2d, ReLU, Linear, pooling) or try "
                        "another --opset"
                    ) from exc
            onnx_model = onnx.load(str(tmp))
            if canonicalize and canonicalize_for_tflite(onnx_model):
                onnx.save(onnx_model, str(tmp))
            try:
                onnx.checker.check_model(onnx_model, full_check=True)
            except onnx.checker.ValidationError as exc:
                raise EdgefactError(f"the exported ONNX graph is invalid: {exc}") from exc
            out = run_onnx(tmp, x_check)
            if out.shape != ref.shape:
                raise EdgefactError(
                    f"onnxruntime output shape {list(out.shape)} differs from PyTorch {list(ref.shape)}"
                )
            max_abs = float(np.max(np.abs(out.astype(np.float64) - ref))) if ref.size else 0.0
            out_range = float(np.max(ref) - np.min(ref)) if ref.size else 0.0
            rel = max_abs / max(out_range, 1e-12)
            if rel > tolerance:
                raise EdgefactError(
                    f"ONNX parity check failed: max |torch - onnxruntime| = {max_abs:.3g} is "
                    f"{rel:.3g} of the output range {out_range:.3g} (limit {tolerance:g}); the model "
                    "probably uses an op that exports differently in ONNX (e.g. adaptive pooling with "
                    "uneven sizes); replace it or try another --opset"
                )
            ops = _onnx_ops(onnx_model)
            out_shape = tuple(int(d.dim_value) for d in onnx_model.graph.output[0].type.tensor_type.shape.dim)
    finally:
        model.train(was_training)
    return OnnxExportResult(
        path=path,
        opset=opset,
        input_shape=shape,
        output_shape=out_shape,
        check_samples=int(x_check.shape[0]),
        check_source=source,
        max_abs_diff=max_abs,
        output_range=out_range,
        relative_diff=rel,
        op_counts=ops,
    )
