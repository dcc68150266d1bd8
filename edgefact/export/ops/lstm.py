"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8): TFLite Micro's integer LSTM ("8x8->16"), ``ef_lstm_s8``.

Int8 input, output and weights, int32 biases, an int8 hidden state and an int16 cell state, both
variable tensors: persistent state (``Graph.state``; TFLM resets the hidden state to its zero
point and the cell state to 0) that the kernel updates at every time step, so a streaming model
keeps them between invocations. TFLM's kernel reads neither the converter's five intermediate
tensors nor a gate's own scale: every gate is Q3.12 before its activation and Q0.15 after. Its
Prepare, mirrored here:

- per gate, the input and recurrent products are two FULLY_CONNECTED layers with int16 outputs of
  scale 2^-12: ``QuantizeMultiplier(double(s_in) * double(s_w) / 2^-12)`` (the gate bias on the
  input product only, the recurrent one has none);
- forget x cell -> cell: ``2^-15 * s_cell / s_cell``; input x cell gate -> cell: ``2^-30 / s_cell``;
  tanh(cell) x output -> hidden: ``2^-30 / s_hidden`` (each product of scales in double);
- the cell state's power of two ``p = round(log2 s_cell)`` sets tanh(cell)'s input shift
  ``12 + p`` (TFLite's int16 TANH: multiplier 3 and a right shift when negative);
- the cell clip ``int16(clamp(clip / s_cell))``, 0 for none.

The variants TFLM refuses (CIFG, peephole, projection, layer norm) are refused here too.
MACs = batches * steps * 4 * units * (input_size + units).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgefact.export import quant
from edgefact.export.ir import Layer
from edgefact.export.ops.base import CStruct, Emission, EmitContext, LowerContext, OpDef
from edgefact.export.ops.registry import register
from edgefact.export.tflite_model import Operator, Tensor

KERNEL = "ef_lstm_s8"
#: TFLite's input positions of the gates in the kernel's order (forget, input, cell, output)
INPUT_WEIGHTS = (2, 1, 3, 4)
RECURRENT_WEIGHTS = (6, 5, 7, 8)
BIASES = (13, 12, 14, 15)
HIDDEN_STATE, CELL_STATE = 18, 19
#: optional inputs of the LSTM variants TFLM's integer kernel does not run
_VARIANTS = {9: "peephole", 10: "peephole", 11: "peephole", 16: "projection", 17: "projection",
             20: "layer norm", 21: "layer norm", 22: "layer norm", 23: "layer norm"}
GATE_SCALE = 2.0 ** -12  # gates before their activation (Q3.12)
ACT_SCALE = 2.0 ** -15  # after it (Q0.15)


@dataclass(frozen=True)
class LstmParams(CStruct):
    """ef_lstm_params."""

    C_TYPE: ClassVar[str] = "ef_lstm_params"
    batches: int
    time_steps: int
    input_size: int
    units: int
    time_major: int
    input_offset: int
    hidden_zero_point: int
    cell_tanh_multiplier: int
    cell_tanh_shift: int
    cell_clip: int
    input_multiplier: tuple[int, int, int, int]
    input_shift: tuple[int, int, int, int]
    recurrent_multiplier: tuple[int, int, int, int]
    recurrent_shift: tuple[int, int, int, int]
    forget_multiplier: int
    forget_shift: int
    update_multiplier: int
    update_shift: int
    hidden_multiplier: int
    hidden_shift: int


def _scale(t: Tensor) -> float:
    assert t.quantization is not None
    return float(np.float32(t.quantization.scales[0]))


def cell_tanh_input(cell_scale: float) -> tuple[int, int]:
    """tanh(cell)'s (multiplier, right shift) for TFLite's int16 TANH: TFLM's left shift
    ``15 + log2(s_cell) - 3``; a negative one becomes multiplier 3 and a right shift."""
    power = int(round(math.log(np.float32(cell_scale)) / math.log(2.0)))  # CheckedLog2's rounding
    left = 15 + power - 3
    return (3, -left) if left < 0 else (0, left)


def quantized_cell_clip(cell_clip: float, cell_scale: float) -> int:
    """TFLM's ``static_cast<int16_t>(min(max(clip / s_cell, -32768), 32767))`` (truncation); 0: none."""
    if cell_clip <= 0:
        return 0
    return int(min(max(float(np.float32(cell_clip)) / float(np.float32(cell_scale)), -32768.0), 32767.0))


def lstm_params(batches: int, steps: int, n_input: int, units: int, time_major: bool, s_in: float, zp_in: int,
                w_in: list[float], w_rec: list[float], s_hidden: float, zp_hidden: int, s_cell: float,
                cell_clip: float) -> LstmParams:
    """The kernel's parameters from the scales (float32 values, as the file holds them)."""
    q_in = [quant.quantize_multiplier(float(s_in) * float(w) / GATE_SCALE) for w in w_in]
    q_rec = [quant.quantize_multiplier(float(s_hidden) * float(w) / GATE_SCALE) for w in w_rec]
    fm, fs = quant.quantize_multiplier(ACT_SCALE * float(s_cell) / float(s_cell))
    um, us = quant.quantize_multiplier(ACT_SCALE * ACT_SCALE / float(s_cell))
    hm, hs = quant.quantize_multiplier(ACT_SCALE * ACT_SCALE / float(s_hidden))
    tm, ts = cell_tanh_input(s_cell)
    return LstmParams(batches, steps, n_input, units, int(time_major), -zp_in, zp_hidden, tm, ts,
                      quantized_cell_clip(cell_clip, s_cell),
                      tuple(m for m, _ in q_in), tuple(s for _, s in q_in),  # type: ignore[arg-type]
                      tuple(m for m, _ in q_rec), tuple(s for _, s in q_rec),  # type: ignore[arg-type]
                      fm, fs, um, us, hm, hs)


@register
class UnidirectionalSequenceLstm(OpDef):
    name = "UNIDIRECTIONAL_SEQUENCE_LSTM"
    kernel_names = (KERNEL,)
    constraints = ("int8 input/output and weights (per tensor, symmetric), int32 biases, int8 hidden and int16 "
                   "cell state (variable tensors kept between invocations), tanh cell gate, cell clip, "
                   "batch or time major; no CIFG, peephole, projection or layer norm (TFLM's integer kernel)")

    def lower(self, ctx: LowerContext, op: Operator) -> Layer:
        if len(op.inputs) != 24:
            raise ctx.fail(op, f"{len(op.inputs)} inputs; UNIDIRECTIONAL_SEQUENCE_LSTM has 24")
        if op.inputs[1] < 0:
            raise ctx.fail(op, "no input-gate weights (CIFG); TFLM's integer LSTM does not run CIFG")
        for pos, what in _VARIANTS.items():
            if op.inputs[pos] >= 0:
                raise ctx.fail(op, f"input {pos} is given: a {what} LSTM, which TFLM's integer LSTM does not run")
        wi = [ctx.const(op, p, "weight") for p in INPUT_WEIGHTS]
        wr = [ctx.const(op, p, "weight") for p in RECURRENT_WEIGHTS]
        bs = [ctx.const(op, p, "bias") for p in BIASES]
        if any(t is None for t in (*wi, *wr, *bs)):
            raise ctx.fail(op, "a gate's weights or bias are missing")
        for pos in (HIDDEN_STATE, CELL_STATE):
            st = ctx.model.tensors[op.inputs[pos]]
            if not st.is_variable:
                raise ctx.fail(op, f"the state '{st.name}' is not a variable tensor")
        layer = ctx.base(op, KERNEL, [op.inputs[0], op.inputs[HIDDEN_STATE], op.inputs[CELL_STATE]])
        inp, hid, cell = (ctx.tensors[i] for i in layer.inputs)
        out = ctx.tensors[layer.output]
        weights = [t for t in (*wi, *wr) if t is not None]
        biases = [t for t in bs if t is not None]
        types = (inp.type_name, weights[0].type_name, biases[0].type_name, hid.type_name, cell.type_name,
                 out.type_name)
        if (types != ("INT8", "INT8", "INT32", "INT8", "INT16", "INT8") or any(t.type_name != "INT8" for t in weights)
                or any(t.type_name != "INT32" for t in biases)):
            raise ctx.fail(op, f"types {list(types)} (input, weights, biases, hidden state, cell state, output); "
                               "supported: int8, int8, int32, int8, int16, int8")
        for t in weights:
            q = t.quantization
            if q is None or q.per_channel or int(q.zero_points[0]) != 0:
                raise ctx.fail(op, f"weights '{t.name}' need one (per-tensor) scale and zero point 0")
        time_major = bool(op.options.get("time_major", False))
        if len(inp.shape) != 3 or len(out.shape) != 3:
            raise ctx.fail(op, f"input {list(inp.shape)} and output {list(out.shape)} must be 3-D")
        steps, batches = inp.shape[:2] if time_major else inp.shape[1::-1]
        n_input, units = inp.shape[2], wi[0].shape[0]  # type: ignore[union-attr]
        if (any(t.shape != (units, n_input) for t in wi if t is not None)
                or any(t.shape != (units, units) for t in wr if t is not None)
                or any(t.size != units for t in biases) or out.shape != (*inp.shape[:2], units)
                or math.prod(hid.shape) != batches * units or math.prod(cell.shape) != batches * units):
            raise ctx.fail(op, f"shapes do not match {batches} batches x {steps} steps x {n_input} inputs x "
                               f"{units} units")
        act = op.options.get("fused_activation_function", "TANH")
        if act != "TANH":  # TFLM asserts on anything else (the schema cannot say SIGMOID)
            raise ctx.fail(op, f"cell gate activation {act}; TFLM's integer LSTM takes TANH")
        clip = float(op.options.get("cell_clip", 0.0))
        if clip < 0:
            raise ctx.fail(op, f"cell clip {clip} (must be >= 0)")
        layer.args = lstm_params(batches, steps, n_input, units, time_major, np.float32(inp.scale), inp.zero_point,
                                 [_scale(t) for t in wi if t is not None], [_scale(t) for t in wr if t is not None],
                                 np.float32(hid.scale), hid.zero_point, np.float32(cell.scale), clip)
        w_in = np.concatenate([t.data for t in wi if t is not None])
        w_rec = np.concatenate([t.data for t in wr if t is not None])
        bias = np.concatenate([t.data.reshape(-1) for t in biases])
        layer.consts.update(input_weights=w_in, recurrent_weights=w_rec, bias=bias)
        layer.const_names.update(input_weights=wi[0].name, recurrent_weights=wr[0].name,  # type: ignore[union-attr]
                                 bias=biases[0].name)
        layer.describe = f"{units} units, {steps} steps, {n_input} inputs{', time major' if time_major else ''}"
        layer.macs = batches * steps * 4 * units * (n_input + units)
        layer.params = int(w_in.size + w_rec.size + bias.size)
        layer.weight_bytes = int(w_in.nbytes + w_rec.nbytes + bias.nbytes)
        return layer

    def emit(self, layer: Layer, pos: int, em: EmitContext) -> Emission:
        a: LstmParams = layer.args
        e = Emission()
        e.decls += a.c_define(f"{layer.sym}_params")
        em.check_size(layer, layer.inputs[0], (a.batches, a.time_steps, a.input_size))
        em.check_size(layer, layer.inputs[1], (a.batches, a.units))
        em.check_size(layer, layer.inputs[2], (a.batches, a.units))
        em.check_size(layer, layer.output, (a.batches, a.time_steps, a.units))
        wi = em.const_array(layer, "input_weights", layer.consts["input_weights"], "int8_t", "input_weights")
        wr = em.const_array(layer, "recurrent_weights", layer.consts["recurrent_weights"], "int8_t",
                            "recurrent_weights")
        bias = em.const_array(layer, "bias", layer.consts["bias"], "int32_t", "bias")
        x, h, c = em.ptr(layer.inputs[0], False), em.ptr(layer.inputs[1], True), em.ptr(layer.inputs[2], True)
        y = em.ptr(layer.output, True)
        e.calls = [f"st = {KERNEL}(&{layer.sym}_params, {x}, {wi}, {wr}, {bias},", f"        {h}, {c}, {y});"]
        return e
