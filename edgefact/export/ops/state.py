"""State kept between invocations: resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE,
CALL_ONCE) as TFLite Micro runs them.

A resource variable is named by VAR_HANDLE's (container, shared name); every VAR_HANDLE with the
same name, in any subgraph, is the same variable. TFLM allocates its bytes when the first
ASSIGN_VARIABLE is prepared, zeroed, and keeps them across ``invoke()`` calls; CALL_ONCE runs its
initialisation subgraph on the first invocation only. Here the variable is one buffer of the
memory plan's persistent state region (:class:`~edgefact.export.ir.StateVar`, outside the reused
arena): READ_VARIABLE copies it to its output, ASSIGN_VARIABLE copies its value into it, and the
initialisation subgraph -- which converters write as constants assigned to variables -- is
evaluated here, at generation time, into the values ``<prefix>_reset()`` writes (the generated
``<prefix>_run`` calls it on its first invocation). VAR_HANDLE and CALL_ONCE emit no code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edgefact.errors import UnsupportedOpError
from edgefact.export.ir import Layer, scale_zp
from edgefact.export.ops.base import Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator, Tensor, TFLiteModel, load_subgraph

#: value types a resource variable may hold (those the generated code has a C type for)
STATE_TYPES = ("INT8", "INT16", "INT32", "FLOAT32")


@dataclass
class ResourceVar:
    """One resource variable: its name, the type and shape of its value, its initial value."""

    name: str
    type_name: str = ""
    shape: tuple[int, ...] = ()
    scale: float = 0.0
    zero_point: int = 0
    init: np.ndarray | None = None  # assigned by CALL_ONCE's subgraph; None: zeros
    nbytes: int = 0


def _text(v: object) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes | bytearray) else str(v)


def _key(op: Operator) -> str:
    """A variable's name: VAR_HANDLE's ``container/shared_name`` (the shared name alone without one)."""
    container = _text(op.options.get("container") or b"")
    name = _text(op.options.get("shared_name") or b"")
    return f"{container}/{name}" if container else name


class _Resolver:
    """Finds every resource variable of a model, its value type and its initial value."""

    def __init__(self, ctx: LowerContext) -> None:
        self.ctx = ctx
        self.vars: dict[str, ResourceVar] = {}
        self.handles: dict[int, ResourceVar] = {}  # main-subgraph resource tensor -> its variable

    def value(self, op: Operator, var: ResourceVar, t: Tensor, where: str) -> None:
        """Record (or check) the type and shape of a value read from or assigned to ``var``."""
        if t.type_name not in STATE_TYPES:
            raise self.ctx.fail(op, f"resource variable '{var.name}' holds {t.type_name} values; supported: "
                                    f"{', '.join(STATE_TYPES)}")
        scale, zp = scale_zp(t)
        if not var.type_name:
            var.type_name, var.shape, var.scale, var.zero_point = t.type_name, t.shape, scale, zp
            var.nbytes = t.nbytes
        elif (var.type_name, var.nbytes) != (t.type_name, t.nbytes):
            raise self.ctx.fail(op, f"resource variable '{var.name}' is {var.type_name} of {var.nbytes} bytes, "
                                    f"but {where} has {t.type_name} {list(t.shape)}; edgefact needs one type "
                                    "and size per variable")

    def init_subgraph(self, op: Operator, index: int) -> None:
        """Evaluate CALL_ONCE's subgraph: constants assigned to variables, nothing else."""
        sub: TFLiteModel = load_subgraph(self.ctx.model, index)
        local: dict[int, ResourceVar] = {}
        for o in sub.operators:
            if o.name == "VAR_HANDLE":
                local[o.outputs[0]] = self.vars.setdefault(_key(o), ResourceVar(_key(o)))
            elif o.name == "ASSIGN_VARIABLE" and o.inputs[0] in local and sub.tensors[o.inputs[1]].is_constant:
                var, t = local[o.inputs[0]], sub.tensors[o.inputs[1]]
                self.value(op, var, t, f"its initial value '{t.name}'")
                assert t.data is not None
                var.init = np.array(t.data, copy=True)
            else:
                raise self.ctx.fail(op, f"its initialisation subgraph {index} runs {o.name} (operator {o.index}); "
                                        "edgefact evaluates initialisation subgraphs that assign constants to "
                                        "resource variables (VAR_HANDLE, ASSIGN_VARIABLE of a constant)")

    def resolve(self) -> dict[int, ResourceVar]:
        m = self.ctx.model
        used = False  # a variable was read or assigned: a later CALL_ONCE would run after that
        for op in m.operators:
            if op.name == "CALL_ONCE":
                if used:
                    raise self.ctx.fail(op, "CALL_ONCE after a variable was read or assigned; edgefact runs "
                                            "initialisation subgraphs before the first operator")
                self.init_subgraph(op, int(op.options.get("init_subgraph_index", 0)))
            elif op.name == "VAR_HANDLE":
                self.handles[op.outputs[0]] = self.vars.setdefault(_key(op), ResourceVar(_key(op)))
            elif op.name in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
                used = True
                var = self.handles.get(op.inputs[0])
                if var is None:
                    raise self.ctx.fail(op, f"resource '{m.tensors[op.inputs[0]].name}' does not come from a "
                                            "VAR_HANDLE of this subgraph")
                t = m.tensors[op.outputs[0] if op.name == "READ_VARIABLE" else op.inputs[1]]
                self.value(op, var, t, f"'{t.name}'")
        return self.handles


def resolve_resources(ctx: LowerContext) -> dict[int, ResourceVar]:
    """Each VAR_HANDLE output of the main subgraph -> its variable (type, shape, initial value);
    raises UnsupportedOpError for what edgefact cannot run (a computed initial value, one variable
    used with two sizes)."""
    return _Resolver(ctx).resolve()


def _copy_layer(ctx: LowerContext, op: Operator, src: int, dst: int, name_of: int) -> Layer:
    ins, out = ctx.activation_tensor(src, op), ctx.activation_tensor(dst, op)
    if ins.nbytes != out.nbytes or ins.type_name != out.type_name:
        raise ctx.fail(op, f"{op.name} between {ins.type_name} {list(ins.shape)} and {out.type_name} "
                           f"{list(out.shape)}")
    return Layer(index=op.index, op=op.name, name=f"{op.name.lower()}_{op.index}", kernel="", inputs=[ins.index],
                 output=out.index, input_shapes=[ins.shape], output_shape=out.shape,
                 tensor_name=ctx.model.tensors[name_of].name.split(";")[0], describe="copy")


class _NoCode(OpDef):
    """Resolved at generation time (see the module docstring): no layer, no code."""

    multi_output = True  # lower() returns a (here empty) list of layers; CALL_ONCE has no output

    def lower(self, ctx: LowerContext, op: Operator) -> list[Layer]:
        return []

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        raise UnsupportedOpError(f"generator bug: {self.name} has no layer")


@register
class VarHandle(_NoCode):
    name = "VAR_HANDLE"
    constraints = "names a resource variable (no code); its bytes persist between invocations"


@register
class CallOnce(_NoCode):
    name = "CALL_ONCE"
    constraints = ("first operator, its subgraph assigns constants to resource variables: evaluated at "
                   "generation time, written by <prefix>_reset() (run on the first invocation)")


class _Copy(OpDef):
    constraints = "int8, int16, int32 or float32 values of one size per variable; a copy (memcpy)"

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        n = em.tensor(layer.output).nbytes
        x, y = em.ptr(layer.inputs[0], False), em.ptr(layer.output, True)
        return Emission(calls=[f"memcpy({y}, {x}, {n});"])


@register
class ReadVariable(_Copy):
    name = "READ_VARIABLE"

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        return _copy_layer(ctx, op, op.inputs[0], op.outputs[0], op.outputs[0])


@register
class AssignVariable(_Copy):
    name = "ASSIGN_VARIABLE"
    multi_output = True  # no output tensor: the layer writes the variable's persistent buffer

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        return _copy_layer(ctx, op, op.inputs[1], op.inputs[0], op.inputs[0])
