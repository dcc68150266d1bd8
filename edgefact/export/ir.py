"""Lower a TFLite model to a small graph IR the C generator walks.

Each :class:`Layer` is one TFLite operator with everything the kernel call needs resolved ahead of
time: shapes, TFLite's exact padding, strides, the fused activation as a clamp range in the
quantized domain, and the requantization multipliers/shifts (computed by
:mod:`edgefact.export.quant`, which mirrors TFLite's arithmetic). It also carries the desktop-style
figures per layer (MACs, parameters, weight bytes) that reports put next to the measured ones.

MACs: CONV_2D = H_out*W_out*kh*kw*(C_in/groups)*C_out, DEPTHWISE = H_out*W_out*kh*kw*C*mult,
FULLY_CONNECTED = batches*in*out; other ops count 0 MACs (they do no multiply-accumulate work
on weights).

Not done: recognising a "shift" DEPTHWISE_CONV_2D (one-hot kernels that only re-index the input)
to replace it with a copy. TFLite requantizes even a one-hot kernel (scale of the weight times the
input scale over the output scale), so the replacement is exact only when that product is an
exact power-of-two identity; the generic depthwise kernel is used instead, which is bit-exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError, UnsupportedOpError
from edgefact.export import quant
from edgefact.export.tflite_model import Operator, Tensor, TFLiteModel

SUPPORTED_OPS: tuple[str, ...] = (
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD",
    "MUL", "MEAN", "PAD", "RESHAPE", "CONCATENATION", "SOFTMAX", "QUANTIZE", "DEQUANTIZE", "RELU",
    "RELU6",
)


@dataclass
class TensorInfo:
    """An activation tensor (never a constant): what the memory planner places."""

    index: int
    name: str
    shape: tuple[int, ...]
    type_name: str  # "INT8" or "FLOAT32" (float only at the model boundary)
    scale: float
    zero_point: int
    nbytes: int


@dataclass
class Layer:
    index: int  # operator index in the .tflite
    op: str
    name: str
    kernel: str  # C function that implements it ("" for RESHAPE: an alias, no call)
    inputs: list[int]  # activation tensor indices read
    output: int  # activation tensor index written
    input_shapes: list[tuple[int, ...]]
    output_shape: tuple[int, ...]
    attrs: dict[str, Any] = field(default_factory=dict)
    consts: dict[str, np.ndarray] = field(default_factory=dict)  # filter, bias, multiplier, shift
    const_names: dict[str, str] = field(default_factory=dict)  # role -> TFLite tensor name
    macs: int = 0
    params: int = 0
    weight_bytes: int = 0
    scratch_bytes: int = 0
    inplace_ok: tuple[int, ...] = ()  # input positions whose buffer the output may reuse

    def summary(self) -> str:
        """One-line description used in comments and plan listings."""
        ins = ", ".join("x".join(str(d) for d in s) for s in self.input_shapes)
        out = "x".join(str(d) for d in self.output_shape)
        extra = self.attrs.get("describe", "")
        return f"{self.op} [{ins}] -> [{out}]" + (f" {extra}" if extra else "") + f", {self.macs} MACs"


@dataclass
class Graph:
    model: TFLiteModel
    tensors: dict[int, TensorInfo]
    layers: list[Layer]
    inputs: list[int]
    outputs: list[int]

    @property
    def total_macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def total_params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def total_weight_bytes(self) -> int:
        return sum(layer.weight_bytes for layer in self.layers)


# --------------------------------------------------------------------------------------------
# TFLite arithmetic helpers
# --------------------------------------------------------------------------------------------


def compute_padding(in_size: int, filter_size: int, stride: int, dilation: int, padding: str) -> tuple[int, int, int]:
    """Output size and (before, after) padding exactly as TFLite's ComputePaddingHeightWidth."""
    eff = (filter_size - 1) * dilation + 1
    if padding == "SAME":
        out = (in_size + stride - 1) // stride
    elif padding == "VALID":
        out = (in_size - eff + stride) // stride
    else:
        raise EdgefactError(f"unknown padding '{padding}' (expected SAME or VALID); re-export the model")
    total = max(0, (out - 1) * stride + eff - in_size)
    before = total // 2
    return out, before, total - before


def _scale_zp(t: Tensor) -> tuple[float, int]:
    if t.quantization is None:
        return 0.0, 0
    return float(t.quantization.scales[0]), int(t.quantization.zero_points[0])


def _shape4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """NHWC view of a tensor of rank <= 4 (leading dims padded with 1)."""
    if len(shape) > 4:
        raise EdgefactError(f"tensor of rank {len(shape)} {list(shape)}: edgefact handles rank <= 4")
    s = (1,) * (4 - len(shape)) + tuple(shape)
    return s[0], s[1], s[2], s[3]


def _prod(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 1


# --------------------------------------------------------------------------------------------
# Lowering
# --------------------------------------------------------------------------------------------


class _Lowering:
    def __init__(self, model: TFLiteModel) -> None:
        self.m = model
        self.tensors: dict[int, TensorInfo] = {}

    def fail(self, op: Operator, why: str) -> UnsupportedOpError:
        return UnsupportedOpError(f"operator {op.index} ({op.name}, output '{self.m.tensors[op.outputs[0]].name}'): "
                                  f"{why}")

    def act(self, op: Operator, out: Tensor) -> tuple[int, int]:
        scale, zp = _scale_zp(out)
        act = op.options.get("fused_activation_function", "NONE")
        if act not in quant.ACTIVATIONS:
            raise self.fail(op, f"fused activation {act}; supported: {', '.join(quant.ACTIVATIONS)}")
        return quant.activation_range(act, scale, zp)

    def activation_tensor(self, idx: int, op: Operator) -> TensorInfo:
        t = self.m.tensors[idx]
        if t.is_constant:
            raise self.fail(op, f"constant tensor '{t.name}' used as an activation input; "
                                "only weights and biases may be constants")
        if idx not in self.tensors:
            if t.type_name not in ("INT8", "FLOAT32"):
                raise self.fail(op, f"tensor '{t.name}' has type {t.type_name}; the generator supports int8 "
                                    "activations (float32 only at the model boundary). Convert with "
                                    "full-integer int8 quantization")
            scale, zp = _scale_zp(t)
            if t.type_name == "INT8" and t.quantization is None:
                raise self.fail(op, f"int8 tensor '{t.name}' has no quantization parameters")
            self.tensors[idx] = TensorInfo(idx, t.name, t.shape, t.type_name, scale, zp, t.nbytes)
        return self.tensors[idx]

    def const(self, op: Operator, pos: int, what: str) -> Tensor | None:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            return None
        t = self.m.tensors[op.inputs[pos]]
        if not t.is_constant:
            raise self.fail(op, f"the {what} '{t.name}' is not a constant; edgefact needs constant {what}s")
        return t

    def lower(self) -> Graph:
        if self.m.subgraph_count != 1:
            raise UnsupportedOpError(f"the model has {self.m.subgraph_count} subgraphs; edgefact supports "
                                     "single-subgraph models (no control flow)")
        layers: list[Layer] = []
        for op in self.m.operators:
            if op.name not in SUPPORTED_OPS:
                out_name = self.m.tensors[op.outputs[0]].name if op.outputs else "?"
                raise UnsupportedOpError(
                    f"unsupported operator {op.name} at index {op.index} (output '{out_name}'); "
                    f"supported: {', '.join(SUPPORTED_OPS)}. Change the model to avoid it")
            if len(op.outputs) != 1:
                raise self.fail(op, f"{len(op.outputs)} outputs; edgefact supports single-output operators")
            layers.append(getattr(self, "op_" + op.name.lower())(op))
        for i in self.m.inputs:
            if i not in self.tensors:
                self.tensors[i] = self.activation_tensor(i, self.m.operators[0])
        return Graph(self.m, self.tensors, layers, list(self.m.inputs), list(self.m.outputs))

    def base(self, op: Operator, kernel: str, inputs: list[int]) -> Layer:
        ins = [self.activation_tensor(i, op) for i in inputs]
        out = self.activation_tensor(op.outputs[0], op)
        base_name = out.name.split(";")[0]
        return Layer(index=op.index, op=op.name, name=f"{op.name.lower()}_{op.index}", kernel=kernel,
                     inputs=list(inputs), output=out.index, input_shapes=[t.shape for t in ins],
                     output_shape=out.shape, attrs={"tensor_name": base_name})

    def require_int8(self, op: Operator, layer: Layer) -> None:
        for i in [*layer.inputs, layer.output]:
            if self.tensors[i].type_name != "INT8":
                raise self.fail(op, f"tensor '{self.tensors[i].name}' is {self.tensors[i].type_name}; "
                                    f"{op.name} is supported with int8 tensors only")

    # ---- convolutions ----------------------------------------------------------------------

    def _conv_common(self, op: Operator, depthwise: bool) -> Layer:
        layer = self.base(op, "ef_depthwise_conv_s8" if depthwise else "ef_conv_s8", [op.inputs[0]])
        self.require_int8(op, layer)
        filt = self.const(op, 1, "filter")
        bias = self.const(op, 2, "bias")
        assert filt is not None
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        n, h, w, c = _shape4(inp.shape)
        o = op.options
        dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
        if (dh, dw) != (1, 1):
            raise self.fail(op, f"dilation {dh}x{dw}; supported: dilation 1")
        sh, sw = int(o["stride_h"]), int(o["stride_w"])
        fo, kh, kw, fi = filt.shape
        oh, pt, pb = compute_padding(h, kh, sh, 1, o["padding"])
        ow, pl, pr = compute_padding(w, kw, sw, 1, o["padding"])
        on, ohh, oww, oc = _shape4(out.shape)
        if (ohh, oww) != (oh, ow):
            raise self.fail(op, f"output {out.shape} disagrees with the computed {oh}x{ow}")
        if depthwise:
            mult = int(o.get("depth_multiplier", 1)) or oc // c
            if oc != c * mult or fi != oc:
                raise self.fail(op, f"depthwise filter {filt.shape} does not match input channels {c}")
            layer.attrs.update(ch_mult=oc // c)
            layer.macs = oh * ow * kh * kw * oc * n
            describe = f"{kh}x{kw} dw x{oc // c}"
        else:
            if c % fi != 0 or oc % (c // fi) != 0:
                raise self.fail(op, f"filter {filt.shape} does not divide input channels {c} into groups")
            groups = c // fi
            layer.attrs.update(groups=groups)
            layer.macs = n * oh * ow * kh * kw * fi * oc
            describe = f"{kh}x{kw}" + (f" groups={groups}" if groups > 1 else "")
        layer.attrs.update(stride=(sh, sw), padding=(pt, pl), padding_after=(pb, pr), kernel_hw=(kh, kw),
                           input_offset=-inp.zero_point, output_offset=out.zero_point,
                           activation=self.act(op, self.m.tensors[out.index]),
                           describe=f"{describe} s{sh} {o['padding']}"
                           f" {o.get('fused_activation_function', 'NONE').lower()}",
                           filter_shape=tuple(filt.shape))
        fq = filt.quantization
        if fq is None or filt.type_name != "INT8":
            raise self.fail(op, f"filter '{filt.name}' must be int8 with quantization parameters")
        if np.any(fq.zero_points != 0):
            raise self.fail(op, "filter zero points must be 0 (symmetric int8 weights)")
        mult, shift = self.multipliers(op, inp.scale, fq.scales, out.scale, oc)
        layer.consts["filter"] = filt.data
        layer.const_names["filter"] = filt.name
        if bias is not None:
            if bias.type_name != "INT32":
                raise self.fail(op, f"bias '{bias.name}' is {bias.type_name}; int32 biases are supported")
            layer.consts["bias"] = bias.data
            layer.const_names["bias"] = bias.name
        layer.consts["multiplier"] = mult
        layer.consts["shift"] = shift
        layer.params = int(filt.data.size) + (int(bias.data.size) if bias is not None else 0)
        layer.weight_bytes = int(filt.data.nbytes) + (int(bias.data.nbytes) if bias is not None else 0)
        if not depthwise:
            from edgefact.firmware import kernels

            layer.scratch_bytes = kernels.buffer_size("CONV_2D", kernel_h=kh, kernel_w=kw, filter_c=fi, input_c=c)
        return layer

    def multipliers(self, op: Operator, s_in: float, s_w: np.ndarray, s_out: float,
                    channels: int) -> tuple[np.ndarray, np.ndarray]:
        m, s = quant.per_channel_multipliers(s_in, s_w, s_out, channels)
        return np.asarray(m, dtype=np.int32), np.asarray(s, dtype=np.int32)

    def op_conv_2d(self, op: Operator) -> Layer:
        return self._conv_common(op, depthwise=False)

    def op_depthwise_conv_2d(self, op: Operator) -> Layer:
        return self._conv_common(op, depthwise=True)

    def op_fully_connected(self, op: Operator) -> Layer:
        filt = self.const(op, 1, "weight")
        bias = self.const(op, 2, "bias")
        assert filt is not None
        layer = self.base(op, "ef_fully_connected_s8", [op.inputs[0]])
        self.require_int8(op, layer)
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        units, depth = filt.shape
        total = _prod(inp.shape)
        if total % depth:
            raise self.fail(op, f"input {inp.shape} is not a multiple of the weight depth {depth}")
        batches = total // depth
        fq = filt.quantization
        if fq is None or filt.type_name != "INT8":
            raise self.fail(op, f"weight '{filt.name}' must be int8 with quantization parameters")
        mult, shift = self.multipliers(op, inp.scale, fq.scales, out.scale, len(fq.scales))
        if len(fq.scales) > 1:
            layer.kernel = "ef_fully_connected_per_channel_s8"
        layer.consts.update(filter=filt.data, multiplier=mult, shift=shift)
        layer.const_names["filter"] = filt.name
        if bias is not None:
            layer.consts["bias"] = bias.data
            layer.const_names["bias"] = bias.name
        layer.attrs.update(batches=batches, depth=depth, units=units, input_offset=-inp.zero_point,
                           filter_offset=-int(fq.zero_points[0]), output_offset=out.zero_point,
                           activation=self.act(op, self.m.tensors[out.index]),
                           describe=op.options.get("fused_activation_function", "NONE").lower())
        layer.macs = batches * depth * units
        layer.params = int(filt.data.size) + (int(bias.data.size) if bias is not None else 0)
        layer.weight_bytes = int(filt.data.nbytes) + (int(bias.data.nbytes) if bias is not None else 0)
        return layer

    # ---- pooling / reductions --------------------------------------------------------------

    def _pool(self, op: Operator, kernel: str) -> Layer:
        layer = self.base(op, kernel, [op.inputs[0]])
        self.require_int8(op, layer)
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            raise self.fail(op, "input and output quantization differ; TFLite pooling keeps them equal")
        o = op.options
        n, h, w, c = _shape4(inp.shape)
        kh, kw = int(o["filter_height"]), int(o["filter_width"])
        sh, sw = int(o["stride_h"]), int(o["stride_w"])
        oh, pt, _ = compute_padding(h, kh, sh, 1, o["padding"])
        ow, pl, _ = compute_padding(w, kw, sw, 1, o["padding"])
        if _shape4(out.shape)[1:3] != (oh, ow):
            raise self.fail(op, f"output {out.shape} disagrees with the computed {oh}x{ow}")
        layer.attrs.update(stride=(sh, sw), padding=(pt, pl), filter=(kh, kw),
                           activation=self.act(op, self.m.tensors[out.index]),
                           describe=f"{kh}x{kw} s{sh} {o['padding']}")
        return layer

    def op_average_pool_2d(self, op: Operator) -> Layer:
        return self._pool(op, "ef_avgpool_s8")

    def op_max_pool_2d(self, op: Operator) -> Layer:
        return self._pool(op, "ef_maxpool_s8")

    def op_mean(self, op: Operator) -> Layer:
        axes_t = self.m.tensors[op.inputs[1]]
        if axes_t.data is None:
            raise self.fail(op, "the axis tensor must be constant")
        layer = self.base(op, "ef_mean_hw_s8", [op.inputs[0]])
        self.require_int8(op, layer)
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        axes = sorted(int(a) % len(inp.shape) for a in np.ravel(axes_t.data))
        if len(inp.shape) != 4 or axes != [1, 2]:
            raise self.fail(op, f"MEAN over axes {axes} of a {len(inp.shape)}-D tensor; supported: MEAN over "
                                "H and W (axes [1, 2]) of a 4-D NHWC tensor")
        in_off, out_off, mult, shift = quant.mean_params(inp.scale, inp.zero_point, out.scale, out.zero_point)
        layer.attrs.update(input_offset=in_off, output_offset=out_off, multiplier=mult,
                           shift=shift, activation=(-128, 127), describe="over H,W")
        return layer

    # ---- element-wise ----------------------------------------------------------------------

    def _binary_inputs(self, op: Operator) -> list[int]:
        for i in op.inputs[:2]:
            if self.m.tensors[i].is_constant:
                raise self.fail(op, f"constant operand '{self.m.tensors[i].name}'; edgefact supports "
                                    f"{op.name} of two computed tensors")
        return [op.inputs[0], op.inputs[1]]

    def op_add(self, op: Operator) -> Layer:
        layer = self.base(op, "ef_add_s8", self._binary_inputs(op))
        self.require_int8(op, layer)
        a, b = (self.tensors[i] for i in layer.inputs)
        out = self.tensors[layer.output]
        p = quant.add_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point,
                             op.options.get("fused_activation_function", "NONE"))
        layer.attrs.update(add=p, activation=(p.act_min, p.act_max),
                           describe=op.options.get("fused_activation_function", "NONE").lower())
        self._elementwise(layer, a, b, out)
        return layer

    def op_mul(self, op: Operator) -> Layer:
        layer = self.base(op, "ef_mul_s8", self._binary_inputs(op))
        self.require_int8(op, layer)
        a, b = (self.tensors[i] for i in layer.inputs)
        out = self.tensors[layer.output]
        p = quant.mul_params(a.scale, a.zero_point, b.scale, b.zero_point, out.scale, out.zero_point,
                             op.options.get("fused_activation_function", "NONE"))
        layer.attrs.update(mul=p, activation=(p.act_min, p.act_max),
                           describe=op.options.get("fused_activation_function", "NONE").lower())
        self._elementwise(layer, a, b, out)
        return layer

    def _elementwise(self, layer: Layer, a: TensorInfo, b: TensorInfo, out: TensorInfo) -> None:
        if a.shape == b.shape == out.shape:
            layer.attrs["broadcast"] = False
            layer.inplace_ok = (0, 1)
        else:
            if max(len(a.shape), len(b.shape)) > 4:
                raise UnsupportedOpError(f"operator {layer.index} ({layer.op}): broadcasting beyond 4-D")
            layer.attrs["broadcast"] = True
            layer.kernel += "_broadcast"
            layer.kernel = layer.kernel.replace("_s8_broadcast", "_broadcast_s8")

    def op_relu(self, op: Operator) -> Layer:
        return self._clamp(op, "RELU")

    def op_relu6(self, op: Operator) -> Layer:
        return self._clamp(op, "RELU6")

    def _clamp(self, op: Operator, act: str) -> Layer:
        layer = self.base(op, "ef_clamp_s8", [op.inputs[0]])
        self.require_int8(op, layer)
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            raise self.fail(op, "a standalone activation that changes quantization is not supported")
        layer.attrs.update(activation=quant.activation_range(act, out.scale, out.zero_point), describe=act.lower())
        layer.inplace_ok = (0,)
        return layer

    # ---- data movement ---------------------------------------------------------------------

    def op_reshape(self, op: Operator) -> Layer:
        layer = self.base(op, "", [op.inputs[0]])
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        if (inp.nbytes, inp.type_name, inp.scale, inp.zero_point) != (out.nbytes, out.type_name, out.scale,
                                                                      out.zero_point):
            raise self.fail(op, "RESHAPE that changes size or quantization")
        layer.attrs["alias"] = True
        layer.inplace_ok = (0,)
        return layer

    def op_pad(self, op: Operator) -> Layer:
        pads_t = self.m.tensors[op.inputs[1]]
        if pads_t.data is None:
            raise self.fail(op, "the paddings tensor must be constant")
        layer = self.base(op, "ef_pad_s8", [op.inputs[0]])
        self.require_int8(op, layer)
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        pads = np.asarray(pads_t.data, dtype=np.int64).reshape(-1, 2)
        pads = np.concatenate([np.zeros((4 - len(pads), 2), dtype=np.int64), pads])
        layer.attrs.update(before=tuple(int(v) for v in pads[:, 0]), after=tuple(int(v) for v in pads[:, 1]),
                           pad_value=out.zero_point,
                           describe=f"pad {pads[:, 0].tolist()}/{pads[:, 1].tolist()}")
        if (inp.scale, inp.zero_point) != (out.scale, out.zero_point):
            raise self.fail(op, "PAD that changes quantization")
        return layer

    def op_concatenation(self, op: Operator) -> Layer:
        for i in op.inputs:
            if self.m.tensors[i].is_constant:
                raise self.fail(op, f"constant input '{self.m.tensors[i].name}'")
        layer = self.base(op, "ef_concat_c_s8", list(op.inputs))
        self.require_int8(op, layer)
        out = self.tensors[layer.output]
        axis = int(op.options.get("axis", -1)) % len(out.shape)
        if axis != len(out.shape) - 1:
            raise self.fail(op, f"concatenation along axis {axis}; supported: the channel (last) axis")
        parts = []
        for i in layer.inputs:
            t = self.tensors[i]
            same = (t.scale, t.zero_point) == (out.scale, out.zero_point)
            m, s = (0, 0) if same else quant.requantize_params(t.scale, t.zero_point, out.scale, out.zero_point)[2:]
            parts.append({"channels": t.shape[-1], "requantize": 0 if same else 1, "input_offset": -t.zero_point,
                          "multiplier": m, "shift": s})
        layer.attrs.update(parts=parts, outer=_prod(out.shape[:-1]), output_offset=out.zero_point,
                           describe=f"axis {axis}")
        return layer

    def op_softmax(self, op: Operator) -> Layer:
        layer = self.base(op, "ef_softmax_s8", [op.inputs[0]])
        self.require_int8(op, layer)
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        if abs(out.scale - 1.0 / 256.0) > 1e-9 or out.zero_point != -128:
            raise self.fail(op, "int8 SOFTMAX output must have scale 1/256 and zero point -128 (TFLite's rule)")
        beta = float(op.options.get("beta", 1.0))
        p = quant.softmax_params(inp.scale, beta)
        layer.attrs.update(softmax=p, rows=_prod(inp.shape[:-1]), depth=inp.shape[-1], describe=f"beta {beta:g}")
        return layer

    def op_quantize(self, op: Operator) -> Layer:
        layer = self.base(op, "", [op.inputs[0]])
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        if out.type_name != "INT8":
            raise self.fail(op, f"QUANTIZE to {out.type_name}; supported: to int8")
        if inp.type_name == "FLOAT32":
            layer.kernel = "ef_quantize_f32_s8"
            layer.attrs.update(scale=out.scale, zero_point=out.zero_point, describe="float32 -> int8")
        else:
            layer.kernel = "ef_requantize_s8"
            in_off, out_off, m, s = quant.requantize_params(inp.scale, inp.zero_point, out.scale, out.zero_point)
            layer.attrs.update(input_offset=in_off, output_offset=out_off, multiplier=m, shift=s,
                               describe="int8 -> int8")
        return layer

    def op_dequantize(self, op: Operator) -> Layer:
        layer = self.base(op, "ef_dequantize_s8_f32", [op.inputs[0]])
        inp, out = self.tensors[op.inputs[0]], self.tensors[layer.output]
        if inp.type_name != "INT8" or out.type_name != "FLOAT32":
            raise self.fail(op, f"DEQUANTIZE {inp.type_name} -> {out.type_name}; supported: int8 -> float32")
        layer.attrs.update(scale=inp.scale, zero_point=inp.zero_point, describe="int8 -> float32")
        return layer


def lower(model: TFLiteModel) -> Graph:
    """Lower a loaded TFLite model to the IR; raises UnsupportedOpError naming op, index and the list."""
    graph = _Lowering(model).lower()
    for what, idx in (("inputs", graph.inputs), ("outputs", graph.outputs)):
        types = {graph.tensors[t].type_name for t in idx}
        if len(types) > 1:
            raise UnsupportedOpError(f"the model's {what} mix types {sorted(types)}; ef_model_run() passes all "
                                     f"{what} in one buffer, so they must share one type")
    return graph
