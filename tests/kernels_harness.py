"""Run the C kernel library on the host, one TFLite operator at a time, for the per-op tests.

The kernels are compiled once per source content into a small driver
(``tests/kernels_driver/ef_kernel_driver.c``) cached under ``.cache/kernels_driver/<hash>/``.
:func:`run_model` executes a (small) int8 .tflite op by op with the kernels: every op is lowered
to a kernel call here, with its parameters computed by :mod:`edgefact.export.quant` (independently
of the code generator's IR, so these tests pin the kernels and the quantization math by
themselves), and each op runs over the whole batch of samples in one driver process.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgefact.export import quant
from edgefact.export.ops import Dims
from edgefact.export.ops.conv import conv_scratch_bytes
from edgefact.export.tflite_model import Operator, TFLiteModel, load_tflite
from edgefact.firmware.kernels import kernel_headers, kernel_include_dir, kernel_sources

ROOT = Path(__file__).resolve().parent.parent
DRIVER_DIR = Path(__file__).resolve().parent / "kernels_driver"
DRIVER_SRC = DRIVER_DIR / "ef_kernel_driver.c"
RUNNER_SRC = DRIVER_DIR / "ef_kernel_runner.c"
CACHE = ROOT / ".cache" / "kernels_driver"

OPCODES = {
    "CONV": 1, "DW": 2, "FC": 3, "FC_PC": 4, "AVGPOOL": 5, "MAXPOOL": 6, "MEAN": 7, "ADD": 8,
    "ADD_BC": 9, "MUL": 10, "MUL_BC": 11, "CONCAT": 12, "PAD": 13, "SOFTMAX": 14, "QUANTIZE": 15,
    "DEQUANTIZE": 16, "REQUANT": 17, "CLAMP": 18, "CONV_1X1": 19, "DW_3X3": 20,
}
S8, S32, F32 = 0, 1, 2
_NP = {S8: np.int8, S32: np.int32, F32: np.float32}


def build_driver(cc: str = "gcc", extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the driver + kernels (cached by source content and flags)."""
    srcs = [DRIVER_SRC, RUNNER_SRC, *kernel_sources()]
    headers = kernel_headers() + sorted(DRIVER_DIR.glob("*.h"))
    h = hashlib.sha256(" ".join([cc, *extra_flags]).encode())
    for p in srcs + headers:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    out = CACHE / h.hexdigest()[:16] / "ef_kernel_driver"
    if out.is_file():
        return out
    if shutil.which(cc) is None:
        raise RuntimeError(f"{cc} not found: apt install gcc")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp.{out.name}")
    cmd = [cc, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", *extra_flags,
           f"-I{kernel_include_dir()}", f"-I{DRIVER_DIR}", *map(str, srcs), "-lm", "-o", str(tmp)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    tmp.replace(out)
    return out


@dataclass
class KernelCall:
    """One driver invocation: an op code, int parameters, constant arrays, output description."""

    op: str
    params: list[int]
    arrays: list[tuple[int, np.ndarray]] = field(default_factory=list)
    out_elems: int = 0
    out_kind: int = S8
    scratch: int = 0


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def case_blob(call: KernelCall, inputs: list[np.ndarray]) -> bytes:
    """The case file of ``call`` over N samples (layout: tests/kernels_driver/ef_kernel_runner.c)."""
    n = inputs[0].shape[0]
    parts = [b"EFKT", struct.pack("<ii", OPCODES[call.op], len(call.params)),
             struct.pack(f"<{len(call.params)}i", *call.params), struct.pack("<i", len(call.arrays))]
    for kind, arr in call.arrays:
        a = np.ascontiguousarray(arr, dtype=_NP[kind]).reshape(-1)
        parts.append(struct.pack("<ii", kind, a.size))
        parts.append(_pad4(a.tobytes()))
    kinds = [F32 if x.dtype == np.float32 else S8 for x in inputs]
    parts.append(struct.pack("<ii", n, len(inputs)))
    for x, k in zip(inputs, kinds, strict=True):
        parts.append(struct.pack("<ii", int(np.prod(x.shape[1:])), k))
    parts.append(struct.pack("<iii", call.out_elems, call.out_kind, call.scratch))
    flat = [np.ascontiguousarray(x, dtype=_NP[k]).reshape(n, -1) for x, k in zip(inputs, kinds, strict=True)]
    for i in range(n):
        for x in flat:
            parts.append(_pad4(x[i].tobytes()))
    return b"".join(parts)


def run_call(driver: Path, call: KernelCall, inputs: list[np.ndarray]) -> np.ndarray:
    """Run ``call`` over N samples (``inputs``: one (N, ...) array per kernel input)."""
    n = inputs[0].shape[0]
    with tempfile.TemporaryDirectory(prefix="efk") as d:
        case, out = Path(d) / "case.bin", Path(d) / "out.bin"
        case.write_bytes(case_blob(call, inputs))
        r = subprocess.run([str(driver), str(case), str(out)], capture_output=True, text=True)
        if r.returncode != 0:
            raise AssertionError(f"kernel driver failed for {call.op}: {r.stderr.strip()}")
        data = np.frombuffer(out.read_bytes(), dtype=_NP[call.out_kind])
    return data.reshape(n, call.out_elems)


# ---- lowering TFLite ops to kernel calls (independent of edgefact.export.ir) -----------------

def _dims(shape: tuple[int, ...]) -> list[int]:
    s = (1,) * (4 - len(shape)) + tuple(shape)
    return [int(v) for v in s]


def _sz(m: TFLiteModel, t: int) -> tuple[float, int]:
    q = m.tensor(t).quantization
    return (float(q.scales[0]), int(q.zero_points[0])) if q is not None else (0.0, 0)


def _same_pad(in_size: int, k: int, stride: int, padding: str) -> tuple[int, int]:
    """(output size, top/left padding) as TFLite computes them (dilation 1)."""
    out = (in_size + stride - 1) // stride if padding == "SAME" else (in_size - k + stride) // stride
    total = max(0, (out - 1) * stride + k - in_size)
    return out, total // 2


def _act(m: TFLiteModel, op: Operator) -> list[int]:
    s, z = _sz(m, op.outputs[0])
    return list(quant.activation_range(op.options.get("fused_activation_function", "NONE"), s, z))


def lower(m: TFLiteModel, op: Operator, variant: str = "") -> KernelCall:
    """Kernel call for one operator. ``variant``: "" calls the generic kernel for every shape,
    "1x1" / "3x3" call the specialised kernel (the shape must meet its preconditions),
    "specialised" calls it where the preconditions hold, as the generator does."""
    o = op.options
    name = op.name
    x = m.tensor(op.inputs[0])
    y = m.tensor(op.outputs[0])
    out_elems = int(np.prod(y.shape))
    s_in, zp_in = _sz(m, op.inputs[0])
    s_out, zp_out = _sz(m, op.outputs[0])
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = m.tensor(op.inputs[1])
        b = m.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        _, h, wd, c = _dims(x.shape)
        _, kh, kw, _ = w.shape
        sh, sw = o["stride_h"], o["stride_w"]
        oh, ph = _same_pad(h, kh, sh, o["padding"])
        ow, pw = _same_pad(wd, kw, sw, o["padding"])
        assert (oh, ow) == tuple(y.shape[1:3])
        oc = y.shape[-1]
        mult, shift = quant.per_channel_multipliers(s_in, w.quantization.scales, s_out, oc)
        arrays = [(S8, w.data), (S32, b.data if b is not None else np.zeros(0, np.int32)),
                  (S32, np.array(mult)), (S32, np.array(shift))]
        head = _dims(x.shape) + list(w.shape) + _dims(y.shape)
        if name == "CONV_2D":
            pointwise = (kh, kw) == (1, 1) and w.shape[-1] == c and (ph, pw) == (0, 0)
            one = variant == "1x1" or (variant == "specialised" and pointwise)
            call = KernelCall("CONV_1X1" if one else "CONV",
                              head + [-zp_in, zp_out, sh, sw, ph, pw] + _act(m, op), arrays, out_elems)
            # the kernel this call runs: the generic one takes the generic path on 1x1 shapes too
            call.scratch = conv_scratch_bytes("ef_conv_1x1_s8" if one else "ef_conv_s8", Dims.of(tuple(w.shape)))
            return call
        dw3x3 = (kh, kw) == (3, 3) and oc == c and ph <= 1 and pw <= 1
        return KernelCall("DW_3X3" if variant == "3x3" or (variant == "specialised" and dw3x3) else "DW",
                          head + [-zp_in, zp_out, oc // c, sh, sw, ph, pw] + _act(m, op), arrays, out_elems)
    if name == "FULLY_CONNECTED":
        w = m.tensor(op.inputs[1])
        b = m.tensor(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        units, depth = w.shape
        batches = int(np.prod(x.shape)) // depth
        per_channel = len(w.quantization.scales) > 1
        mult, shift = quant.per_channel_multipliers(s_in, w.quantization.scales, s_out,
                                                    units if per_channel else None)
        zp_w = int(w.quantization.zero_points[0])
        arrays = [(S8, w.data), (S32, b.data if b is not None else np.zeros(0, np.int32)),
                  (S32, np.array(mult)), (S32, np.array(shift))]
        params = [batches, 1, 1, depth, units, 1, 1, depth, batches, 1, 1, units,
                  -zp_in, -zp_w, zp_out] + _act(m, op)
        return KernelCall("FC_PC" if per_channel else "FC", params, arrays, out_elems)
    if name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        _, h, wd, _ = _dims(x.shape)
        fh, fw = o["filter_height"], o["filter_width"]
        sh, sw = o["stride_h"], o["stride_w"]
        _, ph = _same_pad(h, fh, sh, o["padding"])
        _, pw = _same_pad(wd, fw, sw, o["padding"])
        params = _dims(x.shape) + _dims(y.shape) + [sh, sw, ph, pw, fh, fw] + _act(m, op)
        return KernelCall("AVGPOOL" if name == "AVERAGE_POOL_2D" else "MAXPOOL", params, [], out_elems)
    if name == "MEAN":
        axes = sorted(int(a) % 4 for a in m.tensor(op.inputs[1]).data.reshape(-1))
        assert axes == [1, 2], axes
        d = _dims(x.shape)
        in_off, out_off, mult, shift = quant.mean_params(s_in, zp_in, s_out, zp_out)
        params = d + [d[0], 1, 1, d[3], in_off, out_off, mult, shift, -128, 127]
        return KernelCall("MEAN", params, [], out_elems)
    if name in ("ADD", "MUL"):
        s2, zp2 = _sz(m, op.inputs[1])
        act = o.get("fused_activation_function", "NONE")
        d1, d2, do = _dims(x.shape), _dims(m.tensor(op.inputs[1]).shape), _dims(y.shape)
        bc = not (d1 == d2 == do)
        if name == "ADD":
            p = quant.add_params(s_in, zp_in, s2, zp2, s_out, zp_out, act)
            vals = [p.input1_offset, p.input2_offset, p.output_offset, p.left_shift, p.input1_multiplier,
                    p.input1_shift, p.input2_multiplier, p.input2_shift, p.output_multiplier, p.output_shift,
                    p.act_min, p.act_max]
        else:
            q = quant.mul_params(s_in, zp_in, s2, zp2, s_out, zp_out, act)
            vals = [q.input1_offset, q.input2_offset, q.output_offset, q.output_multiplier, q.output_shift,
                    q.act_min, q.act_max]
        return KernelCall(name + ("_BC" if bc else ""), d1 + d2 + do + vals, [], out_elems)
    if name == "CONCATENATION":
        axis = o.get("axis", -1)
        assert axis in (-1, len(y.shape) - 1), axis
        outer = int(np.prod(y.shape[:-1]))
        params = [len(op.inputs), outer, zp_out]
        for t in op.inputs:
            s, z = _sz(m, t)
            same = (s, z) == (s_out, zp_out)
            _, _, mm, sh = quant.requantize_params(s, z, s_out, zp_out)
            params += [m.tensor(t).shape[-1], 0 if same else 1, -z, mm, sh]
        return KernelCall("CONCAT", params, [], out_elems)
    if name == "PAD":
        pads = m.tensor(op.inputs[1]).data.reshape(-1, 2)
        pads = np.concatenate([np.zeros((4 - len(pads), 2), np.int64), pads])
        params = _dims(x.shape) + _dims(y.shape) + [int(v) for v in pads[:, 0]] + [int(v) for v in pads[:, 1]]
        return KernelCall("PAD", params + [zp_out], [], out_elems)
    if name == "SOFTMAX":
        p = quant.softmax_params(s_in, float(o.get("beta", 1.0)))
        depth = x.shape[-1]
        return KernelCall("SOFTMAX", [out_elems // depth, depth, p.input_multiplier, p.input_left_shift,
                                      p.diff_min], [], out_elems)
    if name == "QUANTIZE":
        if x.type_name == "FLOAT32":
            bits = struct.unpack("<i", struct.pack("<f", s_out))[0]
            return KernelCall("QUANTIZE", [out_elems, bits, zp_out], [], out_elems)
        in_off, out_off, mm, sh = quant.requantize_params(s_in, zp_in, s_out, zp_out)
        return KernelCall("REQUANT", [out_elems, in_off, out_off, mm, sh], [], out_elems)
    if name == "DEQUANTIZE":
        bits = struct.unpack("<i", struct.pack("<f", s_in))[0]
        return KernelCall("DEQUANTIZE", [out_elems, bits, zp_in], [], out_elems, F32)
    raise NotImplementedError(name)


def run_model(model: bytes, inputs: list[np.ndarray], driver: Path, variant: str = "",
              trace: list[tuple[KernelCall, list[np.ndarray], np.ndarray]] | None = None) -> list[np.ndarray]:
    """Execute the model op by op with the kernels; one (N, ...) array per model output.
    ``trace`` (if given) receives ``(call, inputs, output)`` of every kernel call."""
    m = load_tflite(model)
    n = inputs[0].shape[0]
    values: dict[int, np.ndarray] = {}
    for t, x in zip(m.inputs, inputs, strict=True):
        values[t] = x.reshape(n, -1)
    for op in m.operators:
        if op.name == "RESHAPE":
            values[op.outputs[0]] = values[op.inputs[0]]
            continue
        call = lower(m, op, variant)
        ins = [values[t] for t in op.inputs if t >= 0 and not m.tensor(t).is_constant]
        values[op.outputs[0]] = run_call(driver, call, ins)
        if trace is not None:
            trace.append((call, ins, values[op.outputs[0]]))
    outs = []
    for t in m.outputs:
        shape = m.tensor(t).shape
        outs.append(values[t].reshape(n, *(shape[1:] if shape and shape[0] == 1 else shape)))
    return outs


def lsb_diff(a: np.ndarray, b: np.ndarray) -> int:
    """Largest absolute difference (0 = bit-exact)."""
    if a.dtype.kind == "f":
        return 0 if np.array_equal(a.view(np.int32), b.view(np.int32)) else math.inf  # type: ignore[return-value]
    return int(np.max(np.abs(a.astype(np.int32) - b.astype(np.int32)))) if a.size else 0


# ---- extra one-op models for kernel paths the shared catalogue does not reach ---------------

def _conv_spec(h: int, w: int, cin: int, cout: int, k: int, stride: int, padding: str, act: str,
               groups: int) -> dict[str, object]:
    return dict(h=h, w=w, cin=cin, cout=cout, kh=k, kw=k, stride=stride, padding=padding, act=act, groups=groups)


#: Filter depth a multiple of 4 with odd output channel counts: the SMLAD column path, the
#: 4-channel 1x1 path and their tails (tests/opmodels.py has even counts / odd depths there).
EXTRA_CONV_CASES: dict[str, dict[str, object]] = {
    "xconv_3x3_c8_o5_same": _conv_spec(7, 7, 8, 5, 3, 1, "SAME", "NONE", 1),
    "xconv_g2_3x3_c16_o6_s2_relu": _conv_spec(9, 8, 16, 6, 3, 2, "SAME", "RELU", 2),
    "xconv_5x5_c4_o3_valid_relu6": _conv_spec(9, 9, 4, 3, 5, 1, "VALID", "RELU6", 1),
    "xconv_g4_3x3_c16_o4_valid": _conv_spec(6, 7, 16, 4, 3, 1, "VALID", "NONE", 4),
    # two output pixels per pass (DSP): pairs straddling rows (odd width, even count), exact channel
    # pairs, and a single output pixel (only the odd-pixel tail)
    "xconv_3x3_c4_o2_w5_relu": _conv_spec(6, 5, 4, 2, 3, 1, "SAME", "RELU", 1),
    "xconv_3x3_c12_o3_1px_valid": _conv_spec(3, 3, 12, 3, 3, 1, "VALID", "NONE", 1),
    # depth not a multiple of 4 but the flattened column is (the flat DSP column with no C tail)
    # (>= 12 output channels: EF_CONV_FLAT_MIN_CHANNELS), and a ResNet-style 3-channel first layer
    "xconv_4x4_c1_o13_s2": _conv_spec(9, 6, 1, 13, 4, 2, "SAME", "NONE", 1),
    "xconv_3x3_c3_o16_relu": _conv_spec(7, 7, 3, 16, 3, 1, "SAME", "RELU", 1),
    # 1x1 with depth % 4 == 0: four output channels per pass, then the pair and single tails
    "xconv_1x1_c8_o7": _conv_spec(5, 6, 8, 7, 1, 1, "SAME", "NONE", 1),
    "xconv_1x1_c16_o6_s2_relu": _conv_spec(7, 7, 16, 6, 1, 2, "VALID", "RELU", 1),
    # 1x1 through the 2-pixel engine (depth <= 64, stack columns): odd pixel and channel counts;
    # depth 68 keeps the four-channel path straight from the input
    "xconv_1x1_c12_o5_odd_relu6": _conv_spec(5, 3, 12, 5, 1, 1, "VALID", "RELU6", 1),
    "xconv_1x1_c68_o6": _conv_spec(3, 3, 68, 6, 1, 1, "SAME", "NONE", 1),
}

#: 3x3 depthwise with channels a multiple of 4: the SMLABB/SMLATT 4-channel path (interior and
#: border taps); tests/opmodels.py's 3x3 multiplier-1 cases have 5 and 6 channels.
EXTRA_DW_CASES: dict[str, dict[str, object]] = {
    "xdw_3x3_c8_s1_same": dict(h=7, w=5, c=8, mult=1, k=3, stride=1, padding="SAME", act="NONE"),
    "xdw_3x3_c16_s2_same_relu6": dict(h=9, w=6, c=16, mult=1, k=3, stride=2, padding="SAME", act="RELU6"),
    "xdw_3x3_c4_s2_valid_relu": dict(h=8, w=9, c=4, mult=1, k=3, stride=2, padding="VALID", act="RELU"),
    # MVE: 8 channels as int16 lanes, then a predicated 4-lane tail (13 = 8 + 4 + 1)
    "xdw_3x3_c13_s1_same_relu": dict(h=5, w=6, c=13, mult=1, k=3, stride=1, padding="SAME", act="RELU"),
    # DSP ring path: one pixel (padding on every side), lines along columns (out h > out w) with
    # stride 2 and an odd channel count, pad after only (SAME, even size), no padding, and rows
    # wider than the ring (the fallback loops, C % 4 == 0 and odd)
    "xdw_3x3_c7_1px_same": dict(h=1, w=1, c=7, mult=1, k=3, stride=1, padding="SAME", act="NONE"),
    "xdw_3x3_c3_s2_same_tall": dict(h=13, w=3, c=3, mult=1, k=3, stride=2, padding="SAME", act="NONE"),
    "xdw_3x3_c5_s2_same_even": dict(h=6, w=8, c=5, mult=1, k=3, stride=2, padding="SAME", act="RELU"),
    "xdw_3x3_c2_s1_valid_tall": dict(h=9, w=4, c=2, mult=1, k=3, stride=1, padding="VALID", act="NONE"),
    "xdw_3x3_c8_s1_same_wide": dict(h=3, w=66, c=8, mult=1, k=3, stride=1, padding="SAME", act="NONE"),
    "xdw_3x3_c3_s2_same_wide": dict(h=2, w=121, c=3, mult=1, k=3, stride=2, padding="SAME", act="NONE"),
}
EXTRA_CASES = [*EXTRA_CONV_CASES, *EXTRA_DW_CASES]


def extra_opmodel(case_id: str) -> bytes:
    """Build (through tests/opmodels.py's converter and checks) and cache an extra case."""
    from importlib.metadata import version

    from opmodels import OpSpec, build_opmodel, check_opmodel

    from edgefact.fsutil import atomic_write_bytes

    if case_id in EXTRA_CONV_CASES:
        spec = OpSpec("CONV_2D", "conv", dict(EXTRA_CONV_CASES[case_id]))
    else:
        spec = OpSpec("DEPTHWISE_CONV_2D", "dw", dict(EXTRA_DW_CASES[case_id]))
    key = hashlib.sha256(f"1|{version('tensorflow')}|{case_id}|{sorted(spec.params.items())}".encode())
    path = ROOT / ".cache" / "kernels_models" / f"{case_id}-{key.hexdigest()[:16]}.tflite"
    if path.is_file():
        return path.read_bytes()
    model = build_opmodel(case_id, spec)
    check_opmodel(case_id, spec, model)
    atomic_write_bytes(path, model)
    return model
