"""C generator: IR + memory plan -> model_data.c/.h, model.c/.h and plan.txt.

The output is meant to be read: ``model.c`` has one kernel call per layer, in execution order,
each preceded by a comment with the op, shapes and MACs and wrapped in EF_PROFILE_BEGIN/END;
parameter structs use designated initializers; constants live in ``model_data.c`` with a comment
naming the layer, tensor and shape. Activations live in one static, aligned arena at offsets
fixed by :mod:`edgefact.export.memplan`; the model input and output are the caller's buffers.

Every pointer and size passed to a kernel is checked here, at generation time, against the tensor
shapes and the plan (a mismatch is a generator bug and raises before any C is written).

A model with state kept between invocations (``Graph.state``) also gets a static state region
next to the arena, ``<prefix>_reset()`` writing every variable's initial value (TFLM's: zeros or
the zero point, the CALL_ONCE subgraph's constants) and a first-invocation call of it in
``<prefix>_run``; models without state generate exactly the same files as before.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edgefact.errors import EdgefactError
from edgefact.export.dtypes import dtype
from edgefact.export.ir import Graph, Layer, TensorInfo
from edgefact.export.lowering import lower
from edgefact.export.memplan import MemoryPlan, format_plan
from edgefact.export.ops import Emission, get_op
from edgefact.export.ops.quantize import c_float as _cfloat
from edgefact.export.packing import PackedTensor, pack_and_plan
from edgefact.export.tflite_model import TFLiteModel, load_tflite
from edgefact.fsutil import write_files_atomically

if TYPE_CHECKING:
    from edgefact.targets import Target

DATA_ALIGN = 16
DEFAULT_PREFIX = "ef_model"


def _ctype(type_name: str) -> str:
    return dtype(type_name).ctype


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



def _meaning(t: TensorInfo) -> str:
    """How a boundary tensor's values read, for the header comment."""
    if t.type_name in ("INT32", "INT64") and t.scale == 0:
        return " (not quantized: integer values, e.g. ARG_MAX indices)"
    return f", real = {float(np.float32(t.scale))!r} * (q - {t.zero_point})"


def _short(name: str, limit: int = 70) -> str:
    name = name.split(";")[0].replace("*/", "* /")
    return name if len(name) <= limit else "..." + name[-(limit - 3):]


def _shape_str(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) if shape else "scalar"


class _Writer:
    """Renders the four C files; the :class:`~edgefact.export.ops.base.EmitContext` of the
    registry entries (pointers, constants, scratch and size checks)."""

    def __init__(self, graph: Graph, plan: MemoryPlan, model_name: str, target_name: str,
                 prefix: str = DEFAULT_PREFIX, profile_base: int = 0) -> None:
        self.g = graph
        self.profile_base = profile_base
        self.plan = plan
        self.name = model_name
        self.target = target_name
        self.api = prefix  # entry point <api>_run, macros <API>_*
        self.up = prefix.upper()
        self.sym = "ef" if prefix == DEFAULT_PREFIX else prefix  # data arrays <sym>_l<i>_<role>
        self.header = "model" if prefix == DEFAULT_PREFIX else prefix  # <header>.h, <header>_data.h
        self.data_c: list[str] = []
        self.data_h: list[str] = []
        self.const_bytes = 0
        self.in_t = graph.inputs[0]
        self.out_t = graph.outputs[0]
        self.pre: dict[int, list[str]] = {}  # layer position -> unpack statements run before the layer

    # ---- EmitContext -----------------------------------------------------------------------

    def tensor(self, index: int) -> TensorInfo:
        return self.g.tensors[index]

    def aliased(self, a: int, b: int) -> bool:
        return self.plan.tensor_buffer[a] == self.plan.tensor_buffer[b]

    def const_array(self, layer: Layer, role: str, arr: np.ndarray, ctype: str, what: str) -> str:
        sym = f"{self.sym}_{layer.sym.lower()}_{role}"
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
        p: PackedTensor | None = layer.packed
        if p is None:
            return self.const_array(layer, "filter", layer.consts["filter"], "int8_t", what)
        L = layer.sym
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

    def ptr(self, tensor: int, writable: bool) -> str:
        buf = self.plan.buffer_of(tensor)
        d = dtype(self.g.tensors[tensor].type_name)
        ctype = d.ctype
        if buf.kind == "state":
            if self.g.tensors[tensor].nbytes > buf.size or buf.io_offset + buf.size > self.plan.state_bytes:
                raise EdgefactError(f"generator bug: variable {tensor} does not fit its state buffer")
            return f"EF_STATE({ctype}, {buf.io_offset})"
        if buf.kind in ("input", "output"):
            if writable and buf.kind == "input":
                raise EdgefactError(f"generator bug: tensor {tensor} would be written into the model input")
            base = "in" if buf.kind == "input" else "out"
            return f"({base} + {buf.io_offset // d.size})" if buf.io_offset else base
        assert buf.offset is not None
        if self.g.tensors[tensor].nbytes > buf.size or buf.offset + buf.size > self.plan.arena_bytes:
            raise EdgefactError(f"generator bug: tensor {tensor} does not fit its arena buffer")
        if ctype == "int8_t":
            return f"EF_ARENA_I8({buf.offset})"
        if ctype == "float":
            return f"EF_ARENA_F32({buf.offset})"
        return f"(({ctype} *)(void *)EF_ARENA_I8({buf.offset}))"

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
        if n * dtype(t.type_name).size != t.nbytes:
            raise EdgefactError(f"generator bug: {layer.name} passes {n} elements for tensor '{t.name}' "
                                f"of {t.nbytes} bytes")

    # ---- layers ----------------------------------------------------------------------------

    def layer(self, pos: int, layer: Layer) -> Emission:
        """File-scope declarations and statements in ef_model_run for one layer, from its entry."""
        entry = get_op(layer.op)
        if entry is None:  # lower() rejects anything else
            raise EdgefactError(f"generator bug: no registry entry for {layer.op}")
        return entry.emit(layer, pos, self)

    def io_macros(self) -> str:
        if len(self.g.inputs) == 1 and len(self.g.outputs) == 1:
            return ""
        lines = ["", "/* Several inputs/outputs: offsets (in elements) inside `in` / `out`. */"]
        for kind, idx in (("INPUT", self.g.inputs), ("OUTPUT", self.g.outputs)):
            off = 0
            for i, t in enumerate(idx):
                ti = self.g.tensors[t]
                size = int(np.prod(ti.shape))
                lines += [f"#define {self.up}_{kind}{i}_OFFSET {off}", f"#define {self.up}_{kind}{i}_SIZE {size}",
                          f"#define {self.up}_{kind}{i}_SCALE {_cfloat(ti.scale)}",
                          f"#define {self.up}_{kind}{i}_ZERO_POINT ({ti.zero_point})"]
                off += size
        return "\n".join(lines) + "\n"

    # ---- state kept between invocations -----------------------------------------------------

    def state_code(self) -> tuple[str, str, str]:
        """(model.h declarations, model.c definitions, first statement of ``<api>_run``) of the
        persistent state; three empty strings for a model without state."""
        plan, g = self.plan, self.g
        if not g.state:
            return "", "", ""
        sets = []
        for k, var in enumerate(g.state):
            b = plan.buffer_of(var.tensor)
            t = g.tensors[var.tensor]
            ctype = _ctype(t.type_name)
            what = f"/* {_short(var.name, 50)}: {_shape_str(t.shape)} {t.type_name} */"
            raw = None if var.init is None else np.ascontiguousarray(var.init, dtype=dtype(t.type_name).numpy)
            if raw is not None and raw.nbytes != t.nbytes:
                raise EdgefactError(f"generator bug: initial value of '{var.name}' has {raw.nbytes} bytes, "
                                    f"the variable {t.nbytes}")
            raw_bytes = None if raw is None else raw.reshape(-1).view(np.uint8)
            byte = (var.fill & 0xFF if raw_bytes is None else  # one repeated byte: a memset
                    int(raw_bytes[0]) if raw_bytes.size and np.all(raw_bytes == raw_bytes[0]) else None)
            if byte is not None:
                sets.append(f"    memset(EF_STATE(int8_t, {b.io_offset}), {byte}, {t.nbytes}); {what}")
                continue
            assert raw is not None
            sym = f"{self.sym}_state{k}_init"
            flat = raw.reshape(-1)
            fmt = (lambda v: _cfloat(float(v))) if t.type_name == "FLOAT32" else (lambda v: str(int(v)))
            if t.type_name == "FLOAT32" and not np.all(np.isfinite(flat)):
                raise EdgefactError(f"the initial value of variable '{var.name}' is not finite")
            self.data_h.append(f"extern const {ctype} {sym}[{flat.size}];")
            vals = [fmt(v) for v in flat.tolist()]
            rows = ["    " + ", ".join(vals[i:i + 8]) + "," for i in range(0, len(vals), 8)]
            self.data_c += [f"/* initial value of variable '{_short(var.name, 50)}' (CALL_ONCE) "
                            f"[{_shape_str(t.shape)}] {ctype} */",
                            f"const {ctype} {sym}[{flat.size}] EF_MODEL_ALIGNED = {{", *rows, "};", ""]
            self.const_bytes += int(raw.nbytes)
            sets.append(f"    memcpy(EF_STATE({ctype}, {b.io_offset}), {sym}, {t.nbytes}); {what}")
        header = f"""
/* State kept between invocations (variables): {plan.state_bytes} bytes outside the arena. */
#define {self.up}_STATE_SIZE {plan.state_bytes}

/* Puts every variable back to its initial value, as a freshly created TFLite Micro interpreter
 * holds it, to start a new stream. {self.api}_run() calls it on its first invocation. */
void {self.api}_reset(void);
"""
        defs = f"""
/* State kept between invocations: {plan.state_bytes} bytes, never reused (see plan.txt). */
static int8_t ef_state[{self.up}_STATE_SIZE] EF_MODEL_ALIGNED;
#define EF_STATE(type, offset) ((type *)(void *)&ef_state[(offset)])
static int ef_state_ready; /* 0 until {self.api}_reset() has run */

void {self.api}_reset(void)
{{
{chr(10).join(sets)}
    ef_state_ready = 1;
}}
"""
        return header, defs, f"    if (!ef_state_ready) {{\n        {self.api}_reset();\n    }}\n"

    # ---- files -----------------------------------------------------------------------------

    def render(self) -> dict[str, str]:
        g, plan = self.g, self.plan
        tin, tout = g.tensors[self.in_t], g.tensors[self.out_t]
        in_c, out_c = _ctype(tin.type_name), _ctype(tout.type_name)
        head = (f"/* Generated by edgefact from {self.name} (sha256 {g.model.sha256[:16]}...) for target "
                f"{self.target}.\n * Do not edit: regenerate with `edgefact convert`. */")
        decls: list[str] = []
        body: list[str] = []
        n_layers = len(g.layers)
        for pos, layer in enumerate(g.layers):
            em = self.layer(pos, layer)
            d, c = em.decls, em.calls
            summary = layer.summary().replace("*/", "* /")
            if d:
                decls += [f"/* layer {layer.index}: {layer.op} {_short(layer.tensor_name)} */", *d, ""]
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

        state_h, state_c, state_run = self.state_code()
        ins, outs = _dims(tin.shape), _dims(tout.shape)
        model_h = f"""{head}
#ifndef {self.up}_H
#define {self.up}_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {{
#endif

/* Input: {_shape_str(tin.shape)} {tin.type_name}{_meaning(tin)} */
#define {self.up}_INPUT_N {ins[0]}
#define {self.up}_INPUT_H {ins[1]}
#define {self.up}_INPUT_W {ins[2]}
#define {self.up}_INPUT_C {ins[3]}
#define {self.up}_NUM_INPUTS {len(g.inputs)}
#define {self.up}_INPUT_SIZE {sum(int(np.prod(g.tensors[t].shape)) for t in g.inputs)}
#define {self.up}_INPUT_SCALE {_cfloat(tin.scale)}
#define {self.up}_INPUT_ZERO_POINT ({tin.zero_point})
typedef {in_c} {self.api}_input_t;

/* Output: {_shape_str(tout.shape)} {tout.type_name}{_meaning(tout)} */
#define {self.up}_OUTPUT_N {outs[0]}
#define {self.up}_OUTPUT_H {outs[1]}
#define {self.up}_OUTPUT_W {outs[2]}
#define {self.up}_OUTPUT_C {outs[3]}
#define {self.up}_NUM_OUTPUTS {len(g.outputs)}
#define {self.up}_OUTPUT_SIZE {sum(int(np.prod(g.tensors[t].shape)) for t in g.outputs)}
#define {self.up}_OUTPUT_SCALE {_cfloat(tout.scale)}
#define {self.up}_OUTPUT_ZERO_POINT ({tout.zero_point})
typedef {out_c} {self.api}_output_t;
{self.io_macros()}
/* Activations: one static arena, planned ahead of time (see plan.txt). */
#define {self.up}_ARENA_SIZE {plan.arena_bytes}
#define {self.up}_NUM_LAYERS {n_layers}
#define {self.up}_MACS {g.total_macs}

/* One inference: reads {self.up}_INPUT_SIZE values from `in`, writes {self.up}_OUTPUT_SIZE values
 * to `out` (the two must not overlap; several inputs/outputs lie back to back, see the
 * {self.up}_INPUTi_ and {self.up}_OUTPUTi_ macros). Returns 0, or 1 + the position of the failing
 * layer. */
int {self.api}_run(const {in_c} *in, {out_c} *out);
{state_h}
#ifdef __cplusplus
}}
#endif
#endif /* {self.up}_H */
"""
        if plan.arena_bytes > 0:
            arena_decl = f"""/* The arena: {plan.arena_bytes} bytes (peak of live tensors {plan.peak_live_bytes} bytes). */
static int8_t ef_arena[{self.up}_ARENA_SIZE] EF_MODEL_ALIGNED;
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
#include "{self.header}.h"
#include "{self.header}_data.h"

#ifdef EF_MODEL_NO_PROFILE
#define EF_PROFILE_BEGIN(id, name) ((void)0)
#define EF_PROFILE_END(id) ((void)0)
#else
#include "ef_profile.h"
#if {self.profile_base} + {self.up}_NUM_LAYERS + {len(self.pre)} > EF_MAX_REGIONS
#error "more layers than profiling regions: build with a larger -DEF_MAX_REGIONS"
#endif
#endif

{arena_decl}{state_c}
{chr(10).join(decls)}
int {self.api}_run(const {in_c} *in, {out_c} *out)
{{
    ef_status st = EF_OK;

{state_run}{chr(10).join(body).rstrip()}
    (void)st;
    return 0;
}}
"""
        data_h = f"""{head}
#ifndef {self.up}_DATA_H
#define {self.up}_DATA_H

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

#endif /* {self.up}_DATA_H */
"""
        data_c = f"""{head}
#include <stdint.h>

#include "{self.header}_data.h"

{chr(10).join(self.data_c)}"""
        return {"model.h": model_h, "model.c": model_c, "model_data.h": data_h, "model_data.c": data_c}


def layer_table(graph: Graph) -> str:
    rows = [f"{'#':>3} {'op':<18} {'input':<14} {'output':<14} {'MACs':>10} {'params':>8} {'weights B':>9}"]
    for layer in graph.layers:
        rows.append(f"{layer.index:>3} {layer.op:<18} {_shape_str(layer.input_shapes[0]):<14} "
                    f"{_shape_str(layer.output_shape):<14} {layer.macs:>10} {layer.params:>8} {layer.weight_bytes:>9}")
    rows.append(f"    total: {graph.total_macs} MACs, {graph.total_params} params, {graph.total_weight_bytes} weight bytes")
    return "\n".join(rows)


def generate_c(model: TFLiteModel | str | os.PathLike[str] | bytes, out_dir: str | os.PathLike[str],
               target: Target | None = None, model_name: str | None = None,
               tflm_arena: int | None = None, prefix: str = DEFAULT_PREFIX, profile_base: int = 0,
               pack: str = "auto", kernels: dict[int, str] | None = None,
               before_write: Callable[[GeneratedModel], None] | None = None) -> GeneratedModel:
    """Generate the C files for ``model`` into ``out_dir`` (written together: a temporary folder
    moved into place once complete; ``before_write(gen)`` runs first and may refuse the model).

    ``target`` chooses each layer's kernel (None: code valid for any target; the kernel bodies
    are chosen when the library is compiled). ``prefix`` (a C identifier) names the entry point
    ``<prefix>_run``, the macros ``<PREFIX>_*``, the data arrays ``<prefix>_l<i>_*`` and the files
    (``<prefix>.c``, ``<prefix>_data.c`` ...), so several models can live in one firmware; the
    default ``ef_model`` keeps ``model.c`` / ``ef_model_run`` / ``ef_l<i>_*``. ``profile_base``
    offsets the EF_PROFILE region ids. ``GeneratedModel.files`` keeps the default keys
    ("model.c", "model_data.c", ...) whatever the file names.
    ``pack`` ("auto" | "always" | "never"): store clustered filters as small indices + LUTs,
    expanded into the arena before their layer (:mod:`edgefact.export.packing`; "auto" only where
    the arena does not grow); profile regions ``unpack_<layer>`` get ids after the layers'
    (``GeneratedModel.num_regions`` in all). ``kernels`` ({operator index: kernel name}) runs
    those layers on another kernel their registry entry allows (tests and benchmarks of the
    generic kernels on shapes that would get a specialised one).
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", prefix):
        raise EdgefactError(f"symbol prefix {prefix!r} must be a lower-case C identifier (e.g. ef_kws)")
    if isinstance(model, TFLiteModel):
        m = model
        name = model_name or "model"
    else:
        m = load_tflite(model)
        name = model_name or (Path(model).name if not isinstance(model, bytes) else "model")
    graph = lower(m, target)
    for layer in graph.layers:
        if kernels and layer.index in kernels:
            entry = get_op(layer.op)
            assert entry is not None
            entry.use_kernel(layer, kernels[layer.index])
    packed, plan = pack_and_plan(graph, pack)
    w = _Writer(graph, plan, name, target.name if target is not None else "any", prefix, profile_base)
    texts = w.render()
    folded = "".join(f"  folded at generation time: {f.summary()}\n" for f in graph.folded)
    texts["plan.txt"] = (f"edgefact memory plan and layers of {name}\n\n{layer_table(graph)}\n{folded}\n"
                         f"{format_plan(plan, graph, tflm_arena)}\n")
    out = Path(out_dir)
    stem = w.header
    names = {fname: (fname.replace("model", stem, 1) if fname != "plan.txt" or prefix == DEFAULT_PREFIX
                     else f"{prefix}_plan.txt") for fname in texts}
    files = {fname: out / name for fname, name in names.items()}
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    gen = GeneratedModel(graph, plan, files, plan.arena_bytes, w.const_bytes, tin.type_name, tout.type_name, packed)
    if before_write is not None:
        before_write(gen)  # e.g. the board fit check: a model that cannot fit writes nothing
    # all files or none: a full disk or an interrupt never leaves model.c without model_data.c
    write_files_atomically(out, {names[fname]: text for fname, text in texts.items()})
    return gen


def describe(gen: GeneratedModel) -> dict[str, Any]:
    """Short machine-readable summary (used by the CLI and deploy)."""
    return {"layers": len(gen.graph.layers), "macs": gen.graph.total_macs, "params": gen.graph.total_params,
            "weight_bytes": gen.graph.total_weight_bytes, "const_bytes": gen.const_bytes,
            "arena_bytes": gen.arena_bytes, "files": {k: str(v) for k, v in gen.files.items()}}
