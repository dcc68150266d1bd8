"""Lower a TFLite model to the graph IR (:mod:`edgefact.export.ir`) through the operator registry.

The driver here owns what every operator shares: activation tensors (int8, float32 at the model
boundary; the other types of :mod:`edgefact.export.dtypes` only for the entries that declare them
in ``OpDef.tensor_types``), constants, fused activations as clamp ranges, and the error messages naming the
operator, its index and its output tensor. Each operator's own lowering, kernel choice and
scratch size live in its registry entry (:mod:`edgefact.export.ops`).

State kept between invocations -- variable tensors (``is_variable``) and resource variables
(:mod:`edgefact.export.ops.state`) -- is collected here as ``Graph.state``: one
:class:`~edgefact.export.ir.StateVar` per variable, whose TensorInfo every operator touching it
shares, so the memory planner can give it persistent storage.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from edgefact.errors import UnsupportedOpError
from edgefact.export import quant
from edgefact.export.dtypes import COMMON_TYPES, DTYPES, TYPE_FIX
from edgefact.export.fusion import fuse_tables
from edgefact.export.ir import FoldedOp, Graph, Layer, StateVar, TensorInfo, scale_zp
from edgefact.export.ops import get_op, supported_ops
from edgefact.export.ops.conv import fold_space_to_batch
from edgefact.export.ops.folding import FOLD_ONLY, fold
from edgefact.export.ops.state import STATE_TYPES, ResourceVar, resolve_resources
from edgefact.export.pad_fold import fold_pads
from edgefact.export.shift_layout import group_shift_channels
from edgefact.export.tflite_checks import dynamic_beyond_batch
from edgefact.export.tflite_model import Operator, Tensor, TFLiteModel

if TYPE_CHECKING:
    from edgefact.targets import Target


class _Lowering:
    """The :class:`~edgefact.export.ops.base.LowerContext` handed to the registry entries."""

    def __init__(self, model: TFLiteModel, target: Target | None) -> None:
        self.model = model
        self.target = target
        self.tensors: dict[int, TensorInfo] = {}
        self.folded: dict[int, np.ndarray] = {}  # tensor -> value computed at generation time
        self.shapes: dict[int, tuple[int, ...]] = {}  # tensor -> shape inferred where the file has placeholders
        self.resources: dict[int, ResourceVar] = {}  # VAR_HANDLE output -> its resource variable
        self.state: dict[int, StateVar] = {}  # tensor standing for a variable's bytes -> the variable

    def fail(self, op: Operator, why: str) -> UnsupportedOpError:
        out = f"output '{self.model.tensors[op.outputs[0]].name}'" if op.outputs else "no output"
        return UnsupportedOpError(f"operator {op.index} ({op.name}, {out}): {why}")

    def act(self, op: Operator, out: Tensor) -> tuple[int, int]:
        scale, zp = scale_zp(out)
        act = op.options.get("fused_activation_function", "NONE")
        if act not in quant.ACTIVATIONS:
            raise self.fail(op, f"fused activation {act}; supported: {', '.join(quant.ACTIVATIONS)}")
        return quant.activation_range(act, scale, zp)

    def activation_tensor(self, idx: int, op: Operator) -> TensorInfo:
        t = self.model.tensors[idx]
        if t.is_variable or idx in self.resources:
            return self.state_tensor(idx, op)
        if t.is_constant or idx in self.folded:
            raise self.fail(op, f"constant tensor '{t.name}' used as an activation input; "
                                "only weights and biases may be constants")
        if idx not in self.tensors:
            d = DTYPES.get(t.type_name)
            if d is None:
                raise self.fail(op, f"tensor '{t.name}' has type {t.type_name}; {TYPE_FIX}")
            scale, zp = scale_zp(t)
            if t.type_name in ("INT8", "UINT8", "INT16") and t.quantization is None:
                raise self.fail(op, f"{d.lower} tensor '{t.name}' has no quantization parameters")
            shape = self.shapes.get(idx, t.shape)
            nbytes = int(np.prod(shape, dtype=np.int64)) * d.size
            self.tensors[idx] = TensorInfo(idx, t.name, shape, t.type_name, scale, zp, nbytes)
        return self.tensors[idx]

    def check_types(self, op: Operator, layers: list[Layer], allowed: tuple[str, ...]) -> None:
        """Refuse a layer touching a tensor whose type its entry does not take (int8 and float32
        always; ``OpDef.tensor_types`` beyond them), naming the tensor; state is the entries' own."""
        for layer in layers:
            for i in [*layer.inputs, layer.output]:
                t = self.tensors.get(i)
                if t is None or i in self.state or t.type_name in COMMON_TYPES or t.type_name in allowed:
                    continue
                takes = ", ".join(x.lower() for x in (*COMMON_TYPES, *allowed))
                raise self.fail(op, f"tensor '{t.name}' is {t.type_name}; {op.name} takes {takes} tensors. "
                                    f"{TYPE_FIX}")

    def state_tensor(self, idx: int, op: Operator) -> TensorInfo:
        """The TensorInfo of persistent state: a variable tensor, or for a VAR_HANDLE output the
        variable's value (one TensorInfo per variable, however many handles name it)."""
        var = self.resources.get(idx)
        if var is not None:
            key = next(i for i, v in self.resources.items() if v is var)  # its first handle
            if key not in self.tensors:
                self.tensors[key] = TensorInfo(key, var.name, var.shape, var.type_name, var.scale, var.zero_point,
                                               var.nbytes)
                self.state[key] = StateVar(var.name, key, var.init)
            return self.tensors[key]
        if idx not in self.tensors:
            t = self.model.tensors[idx]
            if t.type_name not in STATE_TYPES:
                raise self.fail(op, f"variable tensor '{t.name}' has type {t.type_name}; supported: "
                                    f"{', '.join(STATE_TYPES)}")
            scale, zp = scale_zp(t)
            self.tensors[idx] = TensorInfo(idx, t.name, t.shape, t.type_name, scale, zp, t.nbytes)
            self.state[idx] = StateVar(t.name, idx, None, zp if t.type_name == "INT8" else 0)
        return self.tensors[idx]

    def const(self, op: Operator, pos: int, what: str) -> Tensor | None:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            return None
        t = self.model.tensors[op.inputs[pos]]
        if op.inputs[pos] in self.folded:
            return dataclasses.replace(t, data=self.folded[op.inputs[pos]])
        if not t.is_constant:
            raise self.fail(op, f"the {what} '{t.name}' is not a constant; edgefact needs constant {what}s")
        return t

    def base(self, op: Operator, kernel: str, inputs: list[int]) -> Layer:
        ins = [self.activation_tensor(i, op) for i in inputs]
        out = self.activation_tensor(op.outputs[0], op)
        return Layer(index=op.index, op=op.name, name=f"{op.name.lower()}_{op.index}", kernel=kernel,
                     inputs=list(inputs), output=out.index, input_shapes=[t.shape for t in ins],
                     output_shape=out.shape, tensor_name=out.name.split(";")[0])

    def base_for(self, op: Operator, kernel: str, inputs: list[int], output: int, part: int) -> Layer:
        """Like :meth:`base` for output ``output`` of a several-output operator (layer ``<op>_<i>_<part>``)."""
        ins = [self.activation_tensor(i, op) for i in inputs]
        out = self.activation_tensor(output, op)
        return Layer(index=op.index, op=op.name, name=f"{op.name.lower()}_{op.index}_{part}", kernel=kernel,
                     inputs=list(inputs), output=out.index, input_shapes=[t.shape for t in ins],
                     output_shape=out.shape, tensor_name=out.name.split(";")[0], part=part)

    def require_int8(self, op: Operator, layer: Layer) -> None:
        for i in [*layer.inputs, layer.output]:
            if self.tensors[i].type_name != "INT8":
                raise self.fail(op, f"tensor '{self.tensors[i].name}' is {self.tensors[i].type_name}; "
                                    f"{op.name} is supported with int8 tensors only")

    def lower(self) -> Graph:
        m = self.model
        init = {int(op.options.get("init_subgraph_index", 0)) for op in m.operators if op.name == "CALL_ONCE"}
        if set(range(1, m.subgraph_count)) - init:
            raise UnsupportedOpError(f"the model has {m.subgraph_count} subgraphs; edgefact supports one "
                                     "subgraph plus CALL_ONCE initialisation subgraphs (no control flow)")
        layers: list[Layer] = []
        folded: list[FoldedOp] = []
        rewritten, fused = fold_space_to_batch(m)
        for s2b, conv, b2s in fused:
            for k, what in ((s2b, "SPACE_TO_BATCH_ND"), (b2s, "BATCH_TO_SPACE_ND")):
                out = m.operators[k].outputs[0]
                folded.append(FoldedOp(k, f"{what} (into a PAD and the dilated operator {conv})",
                                       (m.tensors[out].name,), (m.tensors[out].shape,)))
        rewritten, pads = fold_pads(rewritten)
        for pad in pads:
            out = rewritten.tensors[pad.outputs[0]]
            folded.append(FoldedOp(pad.index, "PAD (into the padding of the convolution reading it)", (out.name,),
                                   (out.shape,)))
        self.model = m = group_shift_channels(rewritten)[0]  # shift layers' channels in tap order
        self.resources = resolve_resources(self)
        for op in m.operators:
            if self.try_fold(op):
                folded.append(FoldedOp(op.index, op.name, tuple(m.tensors[t].name for t in op.outputs),
                                       tuple(tuple(self.folded[t].shape) for t in op.outputs)))
                continue
            if op.name in FOLD_ONLY:
                raise self.fail(op, f"{op.name} of a computed tensor; edgefact evaluates {op.name} only when "
                                    "its inputs are constants or static shapes (constant folding)")
            self.infer_shapes(op)
            entry = get_op(op.name)
            if entry is None:
                out_name = m.tensors[op.outputs[0]].name if op.outputs else "?"
                raise UnsupportedOpError(
                    f"unsupported operator {op.name} at index {op.index} (output '{out_name}'); "
                    f"supported: {', '.join(supported_ops())}. Change the model to avoid it")
            if len(op.outputs) != 1 and not entry.multi_output:
                raise self.fail(op, f"{len(op.outputs)} outputs; {op.name} is supported with one output")
            lowered = entry.lower(self, op)
            lowered = lowered if isinstance(lowered, list) else [lowered]
            self.check_types(op, lowered, entry.tensor_types)
            layers += lowered
        for i in m.inputs:
            if i not in self.tensors:
                self.tensors[i] = self.activation_tensor(i, m.operators[0])
        return Graph(m, self.tensors, layers, list(m.inputs), list(m.outputs), folded, list(self.state.values()))

    def shape_of(self, idx: int) -> tuple[int, ...]:
        return self.shapes.get(idx, self.model.tensors[idx].shape)

    def infer_shapes(self, op: Operator) -> None:
        """Shapes the converter left as placeholders (dynamic beyond the batch dimension), for the
        shape-only operators; batch 1 throughout, as on the device."""
        m = self.model
        if not op.outputs or not dynamic_beyond_batch(m.tensors[op.outputs[0]]):
            return
        src = self.shape_of(op.inputs[0])
        size = int(np.prod(src, dtype=np.int64))
        if op.name == "RESHAPE":
            spec = self.folded.get(op.inputs[1]) if len(op.inputs) > 1 and op.inputs[1] >= 0 else None
            if spec is None and len(op.inputs) > 1 and op.inputs[1] >= 0:
                spec = m.tensors[op.inputs[1]].data
            dims = [int(d) for d in (spec if spec is not None else op.options.get("new_shape", []))]
            if dims.count(-1) > 1:
                raise self.fail(op, f"RESHAPE to {dims}: more than one unknown dimension")
            if -1 in dims:
                known = int(np.prod([d for d in dims if d != -1], dtype=np.int64)) or 1
                dims[dims.index(-1)] = size // known
            shape = tuple(dims)
        elif op.name == "EXPAND_DIMS":
            axis_v = self.folded.get(op.inputs[1], m.tensors[op.inputs[1]].data)
            if axis_v is None:
                raise self.fail(op, "the axis tensor must be constant")
            axis = int(np.asarray(axis_v).reshape(-1)[0])
            dims = list(src)
            dims.insert(axis % (len(dims) + 1), 1)
            shape = tuple(dims)
        elif op.name == "SQUEEZE":
            sq = [int(a) % len(src) for a in op.options.get("squeeze_dims", [])] or [i for i, d in enumerate(src)
                                                                                     if d == 1]
            shape = tuple(d for i, d in enumerate(src) if i not in sq)
        else:
            raise self.fail(op, f"output '{m.tensors[op.outputs[0]].name}' has a run-time shape "
                                f"{list(m.tensors[op.outputs[0]].shape_signature or ())}; edgefact needs static "
                                "shapes (convert with a fixed input shape)")
        if int(np.prod(shape, dtype=np.int64)) != size:
            raise self.fail(op, f"{op.name} of {list(src)} to {list(shape)} changes the element count")
        self.shapes[op.outputs[0]] = shape

    def try_fold(self, op: Operator) -> bool:
        """Evaluate ``op`` now when its result depends only on constants and static shapes."""
        m = self.model
        values = [None if i < 0 else (self.folded[i] if i in self.folded else m.tensors[i].data) for i in op.inputs]
        outs = fold(op, values, m)
        if outs is None:
            return False
        if len(outs) != len(op.outputs):
            raise self.fail(op, f"{len(op.outputs)} outputs, folding gave {len(outs)}")
        for t, v in zip(op.outputs, outs, strict=True):
            if t in m.outputs:
                raise self.fail(op, "a model output that is a constant; edgefact needs outputs computed from "
                                    "the inputs")
            self.folded[t] = v
        return True


def lower(model: TFLiteModel, target: Target | None = None) -> Graph:
    """Lower a loaded TFLite model to the IR, choosing each layer's kernel for ``target`` (None:
    any target). Raises UnsupportedOpError naming the operator, its index and the supported list."""
    graph = fuse_tables(_Lowering(model, target).lower())  # x -> LOGISTIC -> MUL(x, .) etc.: one table
    for what, idx in (("inputs", graph.inputs), ("outputs", graph.outputs)):
        types = {graph.tensors[t].type_name for t in idx}
        if len(types) > 1:
            raise UnsupportedOpError(f"the model's {what} mix types {sorted(types)}; ef_model_run() passes all "
                                     f"{what} in one buffer, so they must share one type")
    return graph
