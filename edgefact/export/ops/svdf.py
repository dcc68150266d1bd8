"""SVDF (int8): a rank-``rank`` singular value decomposition filter over the last ``memory_size``
steps of a stream, TFLite Micro's integer SVDF (``ef_svdf_s8``).

Inputs: the int8 input ``[batches, input_size]``, int8 ``weights_feature [num_filters,
input_size]``, int16 ``weights_time [num_filters, memory_size]``, the int32 bias ``[num_units]``
and the int16 activation state ``[batches, memory_size * num_filters]``, a variable tensor: it is
persistent state (``Graph.state``, zeros at the start as TFLM resets it) that the kernel updates
in place at every invocation. The two requantizations are TFLM's: ``input x feature / state``
and ``state x time / output``, each scale ratio computed in float32 as TFLM's Prepare does, then
``QuantizeMultiplier``. TFLM's int8 SVDF applies no fused activation, so none is applied here.
MACs = batches * num_filters * (input_size + memory_size). TFLM instantiates its kernel for
int16 (weights_time and state both int16: ``ef_svdf_s8``) and int8 (both int8, the state with a
zero point: ``ef_svdf_s8_s8``, whose feature value is clamped before the zero point is added, as
in the TFLM the oracle ships; see the kernel).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator, Tensor

KERNEL = "ef_svdf_s8"
KERNEL_S8_STATE = "ef_svdf_s8_s8"
#: (weights_time, state) types -> the kernel and the C type of weights_time
_VARIANTS = {("INT16", "INT16"): (KERNEL, "int16_t"), ("INT8", "INT8"): (KERNEL_S8_STATE, "int8_t")}


@dataclass(frozen=True)
class SvdfParams(CStruct):
    """ef_svdf_params."""

    C_TYPE: ClassVar[str] = "ef_svdf_params"
    batches: int
    input_size: int
    num_filters: int
    memory_size: int
    rank: int
    input_offset: int
    state_offset: int
    output_offset: int
    feature_multiplier: int
    feature_shift: int
    time_multiplier: int
    time_shift: int


def _scale(t: Tensor) -> np.float32:
    assert t.quantization is not None
    return np.float32(t.quantization.scales[0])


def effective_scales(s_in: np.float32, s_feature: np.float32, s_time: np.float32, s_state: np.float32,
                     s_out: np.float32) -> tuple[float, float]:
    """TFLM's two scale ratios: products and quotients of float32 scales in float32, then double."""
    return (float(np.float32(np.float32(s_in * s_feature) / s_state)),
            float(np.float32(np.float32(s_state * s_time) / s_out)))


@register
class Svdf(OpDef):
    name = "SVDF"
    kernel_names = (KERNEL, KERNEL_S8_STATE)
    constraints = ("int8 input/output, int8 weights_feature, int32 bias, int16 weights_time with an int16 "
                   "activation state or int8 with int8 (a variable tensor kept between invocations), any "
                   "rank and batch")

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        if len(op.inputs) != 5:
            raise ctx.fail(op, f"{len(op.inputs)} inputs; SVDF has input, weights_feature, weights_time, bias "
                               "and activation state")
        wf, wt = ctx.const(op, 1, "weights_feature"), ctx.const(op, 2, "weights_time")
        bias = ctx.const(op, 3, "bias")
        st_t = ctx.model.tensors[op.inputs[4]]
        if wf is None or wt is None:
            raise ctx.fail(op, "no weights_feature or weights_time")
        if bias is None:
            raise ctx.fail(op, "no bias; TFLM's int8 SVDF needs one (its Prepare reads the bias scale)")
        if not st_t.is_variable:
            raise ctx.fail(op, f"the activation state '{st_t.name}' is not a variable tensor")
        layer = ctx.base(op, KERNEL, [op.inputs[0], op.inputs[4]])
        inp, state, out = ctx.tensors[op.inputs[0]], ctx.tensors[op.inputs[4]], ctx.tensors[layer.output]
        types = (inp.type_name, wf.type_name, wt.type_name, bias.type_name, state.type_name, out.type_name)
        variant = _VARIANTS.get((wt.type_name, state.type_name))
        if types[:2] != ("INT8", "INT8") or types[3] != "INT32" or types[5] != "INT8" or variant is None:
            raise ctx.fail(op, f"types {list(types)} (input, weights_feature, weights_time, bias, state, output); "
                               "supported: int8, int8, int16 (or int8), int32, int16 (or int8), int8")
        layer.kernel = variant[0]
        for t in (wf, wt):
            if t.quantization is None or t.quantization.per_channel:
                raise ctx.fail(op, f"'{t.name}' needs one (per-tensor) scale")
        if len(inp.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2 or len(out.shape) != 2:
            raise ctx.fail(op, "SVDF needs 2-D input, weights and output")
        batches, n_input = inp.shape
        n_filter, n_memory = wt.shape
        rank = int(op.options.get("rank", 0))
        if rank < 1 or n_filter % rank or wf.shape != (n_filter, n_input):
            raise ctx.fail(op, f"rank {rank} with weights_feature {list(wf.shape)} and weights_time {list(wt.shape)}")
        n_unit = n_filter // rank
        if out.shape != (batches, n_unit) or state.shape != (batches, n_memory * n_filter) or bias.size != n_unit:
            raise ctx.fail(op, f"output {list(out.shape)}, state {list(state.shape)} or bias {list(bias.shape)} "
                               f"do not match {batches} batches x {n_unit} units x {n_memory} memory")
        e1, e2 = effective_scales(np.float32(inp.scale), _scale(wf), _scale(wt), np.float32(state.scale),
                                  np.float32(out.scale))
        (m1, s1), (m2, s2) = quant.quantize_multiplier(e1), quant.quantize_multiplier(e2)
        layer.args = SvdfParams(batches, n_input, n_filter, n_memory, rank, -inp.zero_point, state.zero_point,
                                out.zero_point, m1, s1, m2, s2)
        layer.consts.update(weights_feature=wf.data, weights_time=wt.data, bias=bias.data)
        layer.const_names.update(weights_feature=wf.name, weights_time=wt.name, bias=bias.name)
        layer.describe = f"rank {rank}, memory {n_memory}, {n_filter} filters"
        layer.macs = batches * n_filter * (n_input + n_memory)
        layer.params = int(wf.data.size + wt.data.size + bias.data.size)
        layer.weight_bytes = int(wf.data.nbytes + wt.data.nbytes + bias.data.nbytes)
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: SvdfParams = layer.args
        e = Emission()
        e.decls += a.c_define(f"{layer.sym}_params")
        em.check_size(layer, layer.inputs[0], (a.batches, a.input_size))
        em.check_size(layer, layer.inputs[1], (a.batches, a.num_filters, a.memory_size))
        em.check_size(layer, layer.output, (a.batches, a.num_filters // a.rank))
        wf = em.const_array(layer, "weights_feature", layer.consts["weights_feature"], "int8_t", "weights_feature")
        wt_ctype = "int16_t" if layer.kernel == KERNEL else "int8_t"
        wt = em.const_array(layer, "weights_time", layer.consts["weights_time"], wt_ctype, "weights_time")
        bias = em.const_array(layer, "bias", layer.consts["bias"], "int32_t", "bias")
        x, state, y = em.ptr(layer.inputs[0], False), em.ptr(layer.inputs[1], True), em.ptr(layer.output, True)
        e.calls = [f"st = {layer.kernel}(&{layer.sym}_params, {x}, {wf}, {wt}, {bias},", f"        {state}, {y});"]
        return e
