"""C generator: IR + memory plan -> model_data.c/.h, model.c/.h and plan.txt.

The output is meant to be read: ``model.c`` has one kernel call per layer, in execution order,
each preceded by a comment with the op, shapes and MACs and wrapped in EF_PROFILE_BEGIN/END;
parameter structs use designated initializers; constants live in ``model_data.c`` with a comment
naming the layer, tensor and shape. Activations live in one static, aligned arena at offsets
fixed by :mod:`edgefact.export.memplan`; the model input and output are the caller's buffers.

Every pointer and size passed to a kernel is checked here, at generation time, against the tensor
shapes and the plan (a mismatch is a generator bug and raises before any C is written).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.ir import Graph, Layer, lower
from edgefact.export.memplan import MemoryPlan, format_plan
from edgefact.export.packing import PackedTensor, pack_and_plan
from edgefact.export.tflite_model import TFLiteModel, load_tflite
from edgefact.fsutil import atomic_write_text

DATA_ALIGN = 16
_CTYPE = {"INT8": "int8_t", "FLOAT32": "float"}


@dataclass
class GeneratedModel:
    graph: Graph
    plan: MemoryPlan
    files: dict[str, Path]
    arena_bytes: int
    const_bytes: int  # bytes of const data emitted in model_data.c
    input_type: str
    output_type: str
    packed: dict[int, PackedTensor] | None = None  # layer position -> packed filter (edgefact.export.packing)

    @property
    def num_regions(self) -> int:
        """EF_PROFILE regions used: one per layer plus one per unpacked filter."""
        return len(self.graph.layers) + len(self.packed or {})

    @property
    def sources(self) -> list[Path]:
        return [self.files["model.c"], self.files["model_data.c"]]


def _dims(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    s = (1,) * (4 - len(shape)) + tuple(shape)
    return s[0], s[1], s[2], s[3]


def _cfloat(x: float) -> str:
    return f"{float(np.float32(x))!r}f" if np.isfinite(x) else "0.0f"


def _short(name: str, limit: int = 70) -> str:
    name = name.split(";")[0].replace("*/", "* /")
    return name if len(name) <= limit else "..." + name[-(limit - 3):]


def _shape_str(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


class _Writer:
    def __init__(self, graph: Graph, plan: MemoryPlan, model_name: str, target_name: str,
                 profile_base: int = 0) -> None:
        self.g = graph
        self.profile_base = profile_base
        self.plan = plan
        self.name = model_name
        self.target = target_name
        self.data_c: list[str] = []
        self.data_h: list[str] = []
        self.const_bytes = 0
        self.in_t = graph.inputs[0]
        self.out_t = graph.outputs[0]
        self.pre: dict[int, list[str]] = {}  # layer position -> unpack statements run before the layer

    # ---- constants -------------------------------------------------------------------------

    def const_array(self, layer: Layer, role: str, arr: np.ndarray, ctype: str, what: str) -> str:
        sym = f"ef_l{layer.index}_{role}"
        flat = np.ascontiguousarray(arr).reshape(-1)
        src = layer.const_names.get(role)
        comment = (f"/* layer {layer.index} {layer.op} ({layer.name}): {what} [{_shape_str(tuple(arr.shape))}] "
                   f"{ctype}" + (f", tensor '{_short(src, 60)}'" if src else "") + " */")
        self.data_h.append(f"extern const {ctype} {sym}[{flat.size}];")
        rows = []
        vals = flat.tolist()
        per_line = 16 if ctype == "int8_t" else 8
        for i in range(0, len(vals), per_line):
            rows.append("    " + ", ".join(str(int(v)) for v in vals[i:i + per_line]) + ",")
        self.data_c += [comment, f"const {ctype} {sym}[{flat.size}] EF_MODEL_ALIGNED = {{", *rows, "};", ""]
        self.const_bytes += int(flat.size) * np.dtype(arr.dtype).itemsize
        return sym

    def filter_ref(self, pos: int, layer: Layer, what: str) -> str:
        """The filter argument: a const array, or (packed) the arena buffer ``ef_unpack_s8`` fills."""
        p: PackedTensor | None = layer.attrs.get("packed")
        if p is None:
            return self.const_array(layer, "filter", layer.consts["filter"], "int8_t", what)
        L = f"L{layer.index}"
        note = (f"{_shape_str(p.shape)} {what} packed, K={p.max_distinct} -> {p.bits}-bit indices, {p.num_luts} LUT(s); "
                f"{p.stored_bytes} bytes instead of {p.original_bytes} (saves {p.saved_bytes})")
        idx = self.const_array(layer, "filter_idx", p.packed, "uint8_t", f"{what} indices [{note}]")
        lut = self.const_array(layer, "filter_lut", p.luts, "int8_t", f"{what} LUTs ({1 << p.bits} entries each)")
        b = self.plan.buffers[self.plan.unpacked[pos]]
        if b.size < p.num_elements or b.offset is None:
            raise EdgefactError(f"generator bug: unpack buffer of {layer.name} is {b.size} < {p.num_elements} bytes")
        self.pre[pos] = [f"static const ef_unpack_params {L}_unpack = {{.outer = {p.outer}, .channels = "
                         f"{p.channels}, .inner = {p.inner}, .bits = {p.bits}, .num_luts = {p.num_luts}}};",
                         f"st = ef_unpack_s8(&{L}_unpack, {idx}, {lut}, EF_ARENA_I8({b.offset}));"]
        return f"EF_ARENA_I8({b.offset})"

    # ---- pointers --------------------------------------------------------------------------

    def ptr(self, tensor: int, writable: bool) -> str:
        buf = self.plan.buffer_of(tensor)
        ctype = _CTYPE[self.g.tensors[tensor].type_name]
        if buf.kind in ("input", "output"):
            if writable and buf.kind == "input":
                raise EdgefactError(f"generator bug: tensor {tensor} would be written into the model input")
            base = "in" if buf.kind == "input" else "out"
            item = 4 if self.g.tensors[tensor].type_name == "FLOAT32" else 1
            return f"({base} + {buf.io_offset // item})" if buf.io_offset else base
        assert buf.offset is not None
        if self.g.tensors[tensor].nbytes > buf.size or buf.offset + buf.size > self.plan.arena_bytes:
            raise EdgefactError(f"generator bug: tensor {tensor} does not fit its arena buffer")
        if ctype == "int8_t":
            return f"EF_ARENA_I8({buf.offset})"
        return f"EF_ARENA_F32({buf.offset})"

    def scratch(self, pos: int, layer: Layer) -> str:
        if pos not in self.plan.scratch:
            return "NULL"
        b = self.plan.buffers[self.plan.scratch[pos]]
        if b.size < layer.scratch_bytes:
            raise EdgefactError(f"generator bug: scratch of {layer.name} is {b.size} < {layer.scratch_bytes} bytes")
        return f"EF_ARENA_I8({b.offset})"

    def check_size(self, layer: Layer, tensor: int, dims: tuple[int, ...]) -> None:
        n = int(np.prod(dims))
        t = self.g.tensors[tensor]
        if n * (4 if t.type_name == "FLOAT32" else 1) != t.nbytes:
            raise EdgefactError(f"generator bug: {layer.name} passes {n} elements for tensor '{t.name}' "
                                f"of {t.nbytes} bytes")

    # ---- layers ----------------------------------------------------------------------------

    def layer(self, pos: int, layer: Layer) -> tuple[list[str], list[str]]:
        """Return (file-scope declarations, statements in ef_model_run) for one layer."""
        L = f"L{layer.index}"
        a = layer.attrs
        decl: list[str] = []
        ins = [self.ptr(t, False) for t in layer.inputs]
        out = self.ptr(layer.output, True)
        act = a.get("activation")
        act_s = f"{{{act[0]}, {act[1]}}}" if act else ""
        calls: list[str]

        def dims_decl(suffix: str, shape: tuple[int, ...]) -> str:
            n, h, w, c = _dims(shape)
            decl.append(f"static const ef_dims {L}_{suffix} = {{{n}, {h}, {w}, {c}}};")
            return f"&{L}_{suffix}"

        if layer.op in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            filt = self.filter_ref(pos, layer, "filter")
            bias = (self.const_array(layer, "bias", layer.consts["bias"], "int32_t", "bias")
                    if "bias" in layer.consts else "NULL")
            mult = self.const_array(layer, "multiplier", layer.consts["multiplier"], "int32_t", "requant multiplier")
            shift = self.const_array(layer, "shift", layer.consts["shift"], "int32_t", "requant shift")
            (sh, sw), (ph, pw) = a["stride"], a["padding"]
            ptype = "ef_conv_params" if layer.op == "CONV_2D" else "ef_dw_conv_params"
            decl += [f"static const {ptype} {L}_params = {{",
                     f"    .input_offset = {a['input_offset']},",
                     f"    .output_offset = {a['output_offset']},"]
            if layer.op == "DEPTHWISE_CONV_2D":
                decl.append(f"    .ch_mult = {a['ch_mult']},")
            decl += [f"    .stride = {{{sh}, {sw}}},", f"    .padding = {{{ph}, {pw}}},",
                     "    .dilation = {1, 1},", f"    .activation = {act_s},", "};",
                     f"static const ef_per_channel_quant {L}_quant = {{{mult}, {shift}}};"]
            d_in = dims_decl("input_dims", layer.input_shapes[0])
            d_f = dims_decl("filter_dims", a["filter_shape"])
            d_out = dims_decl("output_dims", layer.output_shape)
            self.check_size(layer, layer.inputs[0], layer.input_shapes[0])
            self.check_size(layer, layer.output, layer.output_shape)
            if layer.op == "CONV_2D":
                calls = [f"st = ef_conv_s8(&{L}_params, &{L}_quant, {d_in}, {ins[0]}, {d_f}, {filt}, {bias},",
                         f"                {d_out}, {out}, {self.scratch(pos, layer)});"]
            else:
                calls = [f"st = ef_depthwise_conv_s8(&{L}_params, &{L}_quant, {d_in}, {ins[0]}, {d_f}, {filt},",
                         f"                          {bias}, {d_out}, {out});"]
        elif layer.op == "FULLY_CONNECTED":
            filt = self.filter_ref(pos, layer, "weights")
            bias = (self.const_array(layer, "bias", layer.consts["bias"], "int32_t", "bias")
                    if "bias" in layer.consts else "NULL")
            decl += [f"static const ef_fc_params {L}_params = {{",
                     f"    .input_offset = {a['input_offset']},", f"    .filter_offset = {a['filter_offset']},",
                     f"    .output_offset = {a['output_offset']},", f"    .activation = {act_s},", "};"]
            mult, shift = layer.consts["multiplier"], layer.consts["shift"]
            if layer.kernel == "ef_fully_connected_per_channel_s8":
                m = self.const_array(layer, "multiplier", mult, "int32_t", "requant multiplier")
                s = self.const_array(layer, "shift", shift, "int32_t", "requant shift")
                decl.append(f"static const ef_per_channel_quant {L}_quant = {{{m}, {s}}};")
            else:
                decl.append(f"static const ef_per_tensor_quant {L}_quant = {{{int(mult[0])}, {int(shift[0])}}};")
            b, d, u = a["batches"], a["depth"], a["units"]
            d_in = dims_decl("input_dims", (b, 1, 1, d))
            d_f = dims_decl("filter_dims", (u, 1, 1, d))
            d_out = dims_decl("output_dims", (b, 1, 1, u))
            self.check_size(layer, layer.inputs[0], (b, d))
            self.check_size(layer, layer.output, (b, u))
            calls = [f"st = {layer.kernel}(&{L}_params, &{L}_quant, {d_in}, {ins[0]}, {d_f}, {filt}, {bias},",
                     f"        {d_out}, {out});"]
        elif layer.op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            (sh, sw), (ph, pw), (fh, fw) = a["stride"], a["padding"], a["filter"]
            decl += [f"static const ef_pool_params {L}_params = {{",
                     f"    .stride = {{{sh}, {sw}}},", f"    .padding = {{{ph}, {pw}}},",
                     f"    .filter = {{{fh}, {fw}}},", f"    .activation = {act_s},", "};"]
            d_in = dims_decl("input_dims", layer.input_shapes[0])
            d_out = dims_decl("output_dims", layer.output_shape)
            calls = [f"st = {layer.kernel}(&{L}_params, {d_in}, {ins[0]}, {d_out}, {out});"]
        elif layer.op == "MEAN":
            decl += [f"static const ef_mean_params {L}_params = {{",
                     f"    .input_offset = {a['input_offset']},", f"    .output_offset = {a['output_offset']},",
                     f"    .multiplier = {a['multiplier']},", f"    .shift = {a['shift']},",
                     f"    .activation = {act_s},", "};"]
            d_in = dims_decl("input_dims", layer.input_shapes[0])
            n, _, _, c = _dims(layer.input_shapes[0])
            d_out = dims_decl("output_dims", (n, 1, 1, c))
            self.check_size(layer, layer.output, (n, c))
            calls = [f"st = ef_mean_hw_s8(&{L}_params, {d_in}, {ins[0]}, {d_out}, {out});"]
        elif layer.op in ("ADD", "MUL"):
            if layer.op == "ADD":
                p = a["add"]
                decl += [f"static const ef_add_params {L}_params = {{",
                         f"    .input1_offset = {p.input1_offset},", f"    .input2_offset = {p.input2_offset},",
                         f"    .output_offset = {p.output_offset},", f"    .left_shift = {p.left_shift},",
                         f"    .input1_multiplier = {p.input1_multiplier},", f"    .input1_shift = {p.input1_shift},",
                         f"    .input2_multiplier = {p.input2_multiplier},", f"    .input2_shift = {p.input2_shift},",
                         f"    .output_multiplier = {p.output_multiplier},", f"    .output_shift = {p.output_shift},",
                         f"    .activation = {act_s},", "};"]
            else:
                p = a["mul"]
                decl += [f"static const ef_mul_params {L}_params = {{",
                         f"    .input1_offset = {p.input1_offset},", f"    .input2_offset = {p.input2_offset},",
                         f"    .output_offset = {p.output_offset},",
                         f"    .output_multiplier = {p.output_multiplier},", f"    .output_shift = {p.output_shift},",
                         f"    .activation = {act_s},", "};"]
            if a.get("broadcast"):
                d1 = dims_decl("input1_dims", layer.input_shapes[0])
                d2 = dims_decl("input2_dims", layer.input_shapes[1])
                d_out = dims_decl("output_dims", layer.output_shape)
                calls = [f"st = {layer.kernel}(&{L}_params, {d1}, {ins[0]}, {d2}, {ins[1]}, {d_out}, {out});"]
            else:
                size = int(np.prod(layer.output_shape))
                calls = [f"st = {layer.kernel}(&{L}_params, {ins[0]}, {ins[1]}, {out}, {size});"]
        elif layer.op in ("RELU", "RELU6"):
            size = int(np.prod(layer.output_shape))
            decl.append(f"static const ef_activation {L}_act = {act_s};")
            calls = []
            if "inplace_input" not in a:
                calls.append(f"memcpy({out}, {ins[0]}, {size});")
            calls.append(f"st = ef_clamp_s8(&{L}_act, {out}, {size});")
        elif layer.op == "RESHAPE":
            if a.get("copy"):
                calls = [f"memcpy({out}, {ins[0]}, {self.g.tensors[layer.output].nbytes});"]
            else:
                if self.plan.tensor_buffer[layer.inputs[0]] != self.plan.tensor_buffer[layer.output]:
                    raise EdgefactError(f"generator bug: {layer.name} is not aliased")
                calls = []  # same bytes, new shape: nothing to do
        elif layer.op == "PAD":
            b, e = a["before"], a["after"]
            decl += [f"static const ef_pad_params {L}_params = {{",
                     f"    .before = {{{b[0]}, {b[1]}, {b[2]}, {b[3]}}},",
                     f"    .after = {{{e[0]}, {e[1]}, {e[2]}, {e[3]}}},",
                     f"    .pad_value = {a['pad_value']},", "};"]
            d_in = dims_decl("input_dims", layer.input_shapes[0])
            d_out = dims_decl("output_dims", layer.output_shape)
            calls = [f"st = ef_pad_s8(&{L}_params, {d_in}, {ins[0]}, {d_out}, {out});"]
        elif layer.op == "CONCATENATION":
            parts = a["parts"]
            rows = [f"    {{{ins[i]}, {p['channels']}, {p['requantize']}, {p['input_offset']}, "
                    f"{p['multiplier']}, {p['shift']}}}," for i, p in enumerate(parts)]
            calls = [f"const ef_concat_input {L}_inputs[{len(parts)}] = {{", *rows, "};",
                     f"st = ef_concat_c_s8({L}_inputs, {len(parts)}, {a['outer']}, {a['output_offset']}, {out});"]
        elif layer.op == "SOFTMAX":
            p = a["softmax"]
            decl += [f"static const ef_softmax_params {L}_params = {{",
                     f"    .input_multiplier = {p.input_multiplier},",
                     f"    .input_left_shift = {p.input_left_shift},", f"    .diff_min = {p.diff_min},", "};"]
            calls = [f"st = ef_softmax_s8(&{L}_params, {ins[0]}, {a['rows']}, {a['depth']}, {out});"]
        elif layer.op == "QUANTIZE":
            size = int(np.prod(layer.output_shape))
            if layer.kernel == "ef_quantize_f32_s8":
                calls = [f"st = ef_quantize_f32_s8({ins[0]}, {out}, {size}, {_cfloat(a['scale'])}, {a['zero_point']});"]
            else:
                decl += [f"static const ef_requantize_params {L}_params = {{",
                         f"    .input_offset = {a['input_offset']},", f"    .output_offset = {a['output_offset']},",
                         f"    .multiplier = {a['multiplier']},", f"    .shift = {a['shift']},", "};"]
                calls = [f"st = ef_requantize_s8(&{L}_params, {ins[0]}, {out}, {size});"]
        elif layer.op == "DEQUANTIZE":
            size = int(np.prod(layer.output_shape))
            calls = [f"st = ef_dequantize_s8_f32({ins[0]}, {out}, {size}, {_cfloat(a['scale'])}, {a['zero_point']});"]
        else:  # lower() rejects anything else
            raise EdgefactError(f"generator bug: no C emitter for {layer.op}")
        return decl, calls

    def io_macros(self) -> str:
        if len(self.g.inputs) == 1 and len(self.g.outputs) == 1:
            return ""
        lines = ["", "/* Several inputs/outputs: offsets (in elements) inside `in` / `out`. */"]
        for kind, idx in (("INPUT", self.g.inputs), ("OUTPUT", self.g.outputs)):
            off = 0
            for i, t in enumerate(idx):
                ti = self.g.tensors[t]
                size = int(np.prod(ti.shape))
                lines += [f"#define EF_MODEL_{kind}{i}_OFFSET {off}", f"#define EF_MODEL_{kind}{i}_SIZE {size}",
                          f"#define EF_MODEL_{kind}{i}_SCALE {_cfloat(ti.scale)}",
                          f"#define EF_MODEL_{kind}{i}_ZERO_POINT ({ti.zero_point})"]
                off += size
        return "\n".join(lines) + "\n"

    # ---- files -----------------------------------------------------------------------------

    def render(self) -> dict[str, str]:
        g, plan = self.g, self.plan
        tin, tout = g.tensors[self.in_t], g.tensors[self.out_t]
        in_c, out_c = _CTYPE[tin.type_name], _CTYPE[tout.type_name]
        head = (f"/* Generated by edgefact from {self.name} (sha256 {g.model.sha256[:16]}...) for target "
                f"{self.target}.\n * Do not edit: regenerate with `edgefact convert`. */")
        decls: list[str] = []
        body: list[str] = []
        n_layers = len(g.layers)
        for pos, layer in enumerate(g.layers):
            d, c = self.layer(pos, layer)
            summary = layer.summary().replace("*/", "* /")
            if d:
                decls += [f"/* layer {layer.index}: {layer.op} {_short(layer.attrs.get('tensor_name', ''))} */", *d, ""]
            body.append(f"    /* {layer.index}: {summary} */")
            if pos in self.pre:  # expand packed weights, profiled on their own
                rid = self.profile_base + n_layers + sorted(self.pre).index(pos)
                body.append(f'    EF_PROFILE_BEGIN({rid}, "unpack_{layer.name}");')
                body += ["    " + line for line in self.pre[pos]]
                body.append(f"    EF_PROFILE_END({rid});")
                body.append(f"    if (st != EF_OK) return {pos + 1};")
            if not c:
                body.append("    /* no code: the output aliases the input buffer */")
                body.append("")
                continue
            body.append(f'    EF_PROFILE_BEGIN({self.profile_base + pos}, "{layer.name}");')
            body += ["    " + line for line in c]
            body.append(f"    EF_PROFILE_END({self.profile_base + pos});")
            if any("st = " in line for line in c):
                body.append(f"    if (st != EF_OK) return {pos + 1};")
            body.append("")

        ins, outs = _dims(tin.shape), _dims(tout.shape)
        model_h = f"""{head}
#ifndef EF_MODEL_H
#define EF_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

/* Input: {_shape_str(tin.shape)} {tin.type_name}, real = {float(np.float32(tin.scale))!r} * (q - {tin.zero_point}) */
#define EF_MODEL_INPUT_N {ins[0]}
#define EF_MODEL_INPUT_H {ins[1]}
#define EF_MODEL_INPUT_W {ins[2]}
#define EF_MODEL_INPUT_C {ins[3]}
#define EF_MODEL_NUM_INPUTS {len(g.inputs)}
#define EF_MODEL_INPUT_SIZE {sum(int(np.prod(g.tensors[t].shape)) for t in g.inputs)}
#define EF_MODEL_INPUT_SCALE {_cfloat(tin.scale)}
#define EF_MODEL_INPUT_ZERO_POINT ({tin.zero_point})
typedef {in_c} ef_model_input_t;

/* Output: {_shape_str(tout.shape)} {tout.type_name}, real = {float(np.float32(tout.scale))!r} * (q - {tout.zero_point}) */
#define EF_MODEL_OUTPUT_N {outs[0]}
#define EF_MODEL_OUTPUT_H {outs[1]}
#define EF_MODEL_OUTPUT_W {outs[2]}
#define EF_MODEL_OUTPUT_C {outs[3]}
#define EF_MODEL_NUM_OUTPUTS {len(g.outputs)}
#define EF_MODEL_OUTPUT_SIZE {sum(int(np.prod(g.tensors[t].shape)) for t in g.outputs)}
#define EF_MODEL_OUTPUT_SCALE {_cfloat(tout.scale)}
#define EF_MODEL_OUTPUT_ZERO_POINT ({tout.zero_point})
typedef {out_c} ef_model_output_t;
{self.io_macros()}
/* Activations: one static arena, planned ahead of time (see plan.txt). */
#define EF_MODEL_ARENA_SIZE {plan.arena_bytes}
#define EF_MODEL_NUM_LAYERS {n_layers}
#define EF_MODEL_MACS {g.total_macs}

/* One inference: reads EF_MODEL_INPUT_SIZE values from `in`, writes EF_MODEL_OUTPUT_SIZE values
 * to `out` (the two must not overlap; several inputs/outputs lie back to back, see the
 * EF_MODEL_INPUTi_ and EF_MODEL_OUTPUTi_ macros). Returns 0, or 1 + the position of the failing
 * layer. */
int ef_model_run(const {in_c} *in, {out_c} *out);

#ifdef __cplusplus
}}
#endif
#endif /* EF_MODEL_H */
"""
        if plan.arena_bytes > 0:
            arena_decl = f"""/* The arena: {plan.arena_bytes} bytes (peak of live tensors {plan.peak_live_bytes} bytes). */
static int8_t ef_arena[EF_MODEL_ARENA_SIZE] EF_MODEL_ALIGNED;
#define EF_ARENA_I8(offset) (&ef_arena[(offset)])
#define EF_ARENA_F32(offset) ((float *)(void *)&ef_arena[(offset)])
"""
        else:
            arena_decl = "/* No arena: the layers read the caller's input and write its output directly. */\n"
        model_c = f"""{head}
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ef_nn.h"
#include "model.h"
#include "model_data.h"

#ifdef EF_MODEL_NO_PROFILE
#define EF_PROFILE_BEGIN(id, name) ((void)0)
#define EF_PROFILE_END(id) ((void)0)
#else
#include "ef_profile.h"
#if {self.profile_base} + EF_MODEL_NUM_LAYERS + {len(self.pre)} > EF_MAX_REGIONS
#error "more layers than profiling regions: build with a larger -DEF_MAX_REGIONS"
#endif
#endif

{arena_decl}
{chr(10).join(decls)}
int ef_model_run(const {in_c} *in, {out_c} *out)
{{
    ef_status st = EF_OK;

{chr(10).join(body).rstrip()}
    (void)st;
    return 0;
}}
"""
        data_h = f"""{head}
#ifndef EF_MODEL_DATA_H
#define EF_MODEL_DATA_H

#include <stdint.h>

#ifndef EF_MODEL_ALIGNED
#if defined(__GNUC__) || defined(__clang__)
#define EF_MODEL_ALIGNED __attribute__((aligned({DATA_ALIGN})))
#else
#define EF_MODEL_ALIGNED
#endif
#endif

/* Weights {self.const_bytes} bytes in total. */
{chr(10).join(self.data_h)}

#endif /* EF_MODEL_DATA_H */
"""
        data_c = f"""{head}
#include <stdint.h>

#include "model_data.h"

{chr(10).join(self.data_c)}"""
        return {"model.h": model_h, "model.c": model_c, "model_data.h": data_h, "model_data.c": data_c}


def layer_table(graph: Graph) -> str:
    rows = [f"{'#':>3} {'op':<18} {'input':<14} {'output':<14} {'MACs':>10} {'params':>8} {'weights B':>9}"]
    for layer in graph.layers:
        rows.append(f"{layer.index:>3} {layer.op:<18} {_shape_str(layer.input_shapes[0]):<14} "
                    f"{_shape_str(layer.output_shape):<14} {layer.macs:>10} {layer.params:>8} {layer.weight_bytes:>9}")
    rows.append(f"    total: {graph.total_macs} MACs, {graph.total_params} params, {graph.total_weight_bytes} weight bytes")
    return "\n".join(rows)


def _rename(text: str, prefix: str) -> str:
    """Give every global name of the generated code the prefix (several models in one firmware).

    ``ef_model_run`` -> ``<prefix>_run``, ``EF_MODEL_*`` -> ``<PREFIX>_*``, data arrays ``ef_l3_filter``
    -> ``<prefix>_l3_filter``, ``model.h`` -> ``<prefix>.h``. The build switches EF_MODEL_NO_PROFILE
    and EF_MODEL_ALIGNED keep their names (shared by all models).
    """
    up = prefix.upper()
    text = re.sub(r"\bef_l(\d+)_", rf"{prefix}_l\1_", text)
    text = text.replace("ef_model_", f"{prefix}_").replace("EF_MODEL_", f"{up}_")
    text = text.replace(f"{up}_NO_PROFILE", "EF_MODEL_NO_PROFILE").replace(f"{up}_ALIGNED", "EF_MODEL_ALIGNED")
    return text.replace('#include "model.h"', f'#include "{prefix}.h"').replace(
        '#include "model_data.h"', f'#include "{prefix}_data.h"')


def generate_c(model: TFLiteModel | str | os.PathLike[str] | bytes, out_dir: str | os.PathLike[str],
               target_name: str = "host", model_name: str | None = None,
               tflm_arena: int | None = None, prefix: str = "ef_model", profile_base: int = 0,
               pack: str = "auto") -> GeneratedModel:
    """Generate the C files for ``model`` into ``out_dir`` (written atomically, one by one).

    ``prefix`` (a C identifier) renames the entry point and every global symbol and macro, and the
    files (``<prefix>.c``, ``<prefix>_data.c`` ...), so several models can live in one firmware;
    ``profile_base`` offsets the EF_PROFILE region ids. ``GeneratedModel.files`` keeps the
    default keys ("model.c", "model_data.c", ...) whatever the file names.
    ``pack`` ("auto" | "always" | "never"): store clustered filters as small indices + LUTs,
    expanded into the arena before their layer (:mod:`edgefact.export.packing`; "auto" only where
    the arena does not grow); profile regions
    ``unpack_<layer>`` get ids after the layers' (``GeneratedModel.num_regions`` in all).
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", prefix):
        raise EdgefactError(f"symbol prefix {prefix!r} must be a lower-case C identifier (e.g. ef_kws)")
    if isinstance(model, TFLiteModel):
        m = model
        name = model_name or "model"
    else:
        m = load_tflite(model)
        name = model_name or (Path(model).name if not isinstance(model, bytes) else "model")
    graph = lower(m)
    packed, plan = pack_and_plan(graph, pack)
    w = _Writer(graph, plan, name, target_name, profile_base)
    texts = w.render()
    texts["plan.txt"] = (f"edgefact memory plan and layers of {name}\n\n{layer_table(graph)}\n\n"
                         f"{format_plan(plan, graph, tflm_arena)}\n")
    out = Path(out_dir)
    if prefix == "ef_model":
        files = {fname: atomic_write_text(out / fname, text) for fname, text in texts.items()}
    else:
        files = {fname: atomic_write_text(out / (fname.replace("model", prefix, 1) if fname != "plan.txt"
                                                 else f"{prefix}_plan.txt"), _rename(text, prefix))
                 for fname, text in texts.items()}
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    return GeneratedModel(graph, plan, files, plan.arena_bytes, w.const_bytes, tin.type_name, tout.type_name,
                          packed)


def describe(gen: GeneratedModel) -> dict[str, Any]:
    """Short machine-readable summary (used by the CLI and deploy)."""
    return {"layers": len(gen.graph.layers), "macs": gen.graph.total_macs, "params": gen.graph.total_params,
            "weight_bytes": gen.graph.total_weight_bytes, "const_bytes": gen.const_bytes,
            "arena_bytes": gen.arena_bytes, "files": {k: str(v) for k, v in gen.files.items()}}
