"""The kernel API unit checks (``tests/kernels_driver/ef_kernel_checks.c``): build, run, expect.

The C application calls a few kernels directly: with inconsistent arguments (each logs its
status), and on requantization parameters and accumulators that no TFLite model produces (see
tests/requant_cases.py), plus QUANTIZE / DEQUANTIZE on ties, huge values and NaN. This module
writes its data header (parameter structs through the registry's ``CStruct`` mirrors of
``ef_nn_types.h``), builds it with the firmware template for any target (``host`` included, so
the host and the emulated cores run the same code) and gives the expected results.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from kernels_harness import CACHE, DRIVER_DIR
from requant_cases import (
    REQUANT_EDGES,
    AccCases,
    acc_kernel_cases,
    expected_outputs,
    requant_expected,
    requant_inputs,
    requant_params,
)

from edgefact.export.ops import Dims
from edgefact.export.ops.base import c_value
from edgefact.export.ops.conv import ConvParams, DwConvParams
from edgefact.export.ops.fully_connected import FcParams
from edgefact.export.ops.quantize import RequantizeParams
from edgefact.firmware.build import build_firmware
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources
from edgefact.fsutil import atomic_write_text
from edgefact.targets import get_target
from edgefact.targets.runners import get_runner
from edgefact.targets.runners.base import RunResult

SOURCE = DRIVER_DIR / "ef_kernel_checks.c"
ROWS = 6  # samples per requantization case

#: status of every argument check (metric "status_<name>"), as ef_nn.h documents it
EXPECTED_STATUS = {
    "conv_ok": 0,
    "conv_bad_dims": -2,  # EF_ERR_DIMS
    "conv_bad_activation": -3,  # EF_ERR_PARAM
    "conv_no_scratch": -1,  # EF_ERR_NULL
    "conv_null_scratch_buf": -1,
    "conv_small_scratch": -5,  # EF_ERR_SCRATCH
    "conv_misaligned_scratch": -5,
    "conv_2x2_ok": 0,
    "conv_2x2_no_scratch": -1,
    "conv_2x2_small_scratch": -5,
    "conv_2x2_misaligned_scratch": -5,
    "conv_2x2_dilated_ok": 0,
    "conv_2x2_dilated_small_scratch": -5,
    "conv_2x2_dilated_zero_dilation": -3,  # EF_ERR_PARAM (ef_conv_dilated_s8's check)
    "conv_2x2_undilated_entry_dilated": -4,  # EF_ERR_UNSUPPORTED (ef_conv_s8 refuses a dilation)
    "conv_1x1_on_3x3": -4,  # EF_ERR_UNSUPPORTED
    "dw_3x3_on_5x5": -4,
    "dw_5x5_generic_ok": 0,
    "dw_px_on_5x5": -4,
    "dw_px_mult4_ok": 0,
    "dw_px_mult2": -4,  # the multiplier entry: a multiple of 4 only
    "dw_px_mult1": -4,
    "dw_px_on_mult4": -4,  # the multiplier-1 entry
    "dw_px_any_mult2_ok": 0,  # the any-multiplier entry: ch_mult >= 2, 3x3
    "dw_px_any_mult4_ok": 0,
    "dw_px_any_mult1": -4,
    "dw_px_any_5x5": -4,
    "dw_px_dil_5x5_ok": 0,  # the dilated pixel entry: odd filters >= 3, multiplier 1, stride 1
    "dw_px_dil_3x7_ok": 0,
    "dw_px_dil_even": -4,
    "dw_px_dil_mult4": -4,
    "dw_px_dil_s2": -4,
    "dw_dot_dil_ok": 0,  # the dilated dot entry: >= 4 outputs, even channels, multiplier 1
    "dw_dot_dil_1px": -4,
    "dw_dot_dil_odd": -4,
    "dw_dot_dil_mult4": -4,
    "dw_dot_m1_ok": 0,  # the undilated dot entries: multiplier 1 / > 1, each refusing the other's
    "dw_dot_on_m2": -4,
    "dw_dot_mult_m2_ok": 0,
    "dw_dot_mult_on_m1": -4,
    "arg_max_ok": 0,
    "arg_max_bad_width": -3,  # output_bytes neither 4 nor 8
    "arg_min_bad_dims": -2,
    "arg_max_null_input": -1,
    "requantize_s8_s16_bad_shift": -3,  # shift outside [-31, 30]
    "requantize_s16_s8_negative_size": -2,
}

QF_SCALE, QF_ZERO_POINT = np.float32(0.05), -3
DQ_SCALES = (np.float32(0.0123457), np.float32(3.1e-5), np.float32(17.25))
DQ_ZERO_POINT = 7


def _bits(x: np.ndarray | np.floating) -> np.ndarray:
    return np.asarray(x, np.float32).view(np.uint32)


def quantize_input() -> np.ndarray:
    """Float values for ef_quantize_f32_s8: ties and near-ties of x / scale, huge values, +-0, NaN."""
    q = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, -0.49999997, 126.5, -127.5, 1e9, -1e9,
                  3.0e38, 254.6, -300.2, 0.0, -0.0], np.float32)
    x = (q * QF_SCALE).astype(np.float32)
    return np.concatenate([x, np.random.default_rng(2).uniform(-9, 9, 200).astype(np.float32),
                           np.array([np.nan], np.float32)])


def quantize_expected(x: np.ndarray) -> np.ndarray:
    """TFLite's QUANTIZE: round(x / scale) half away from zero, in float division, + zp, saturated
    (NaN gives the zero point)."""
    ratio = (x / QF_SCALE).astype(np.float32).astype(np.float64)
    want = np.where(np.isnan(ratio), 0, np.sign(ratio) * np.floor(np.abs(np.nan_to_num(ratio)) + 0.5))
    want = np.clip(np.clip(want, -1e6, 1e6) + QF_ZERO_POINT, -128, 127).astype(np.int8)
    want[np.isnan(ratio)] = QF_ZERO_POINT
    return want


def dequantize_expected(q: np.ndarray, scale: np.float32) -> np.ndarray:
    """TFLite's DEQUANTIZE: float(double(scale) * (q - zp))."""
    return (np.float64(scale) * (q.astype(np.float64) - DQ_ZERO_POINT)).astype(np.float32)


def _array(ctype: str, name: str, values: np.ndarray, dims: str = "") -> str:
    flat = [str(int(v)) + ("u" if ctype == "uint32_t" else "") for v in np.asarray(values).reshape(-1)]
    rows = ",\n    ".join(", ".join(flat[i:i + 16]) for i in range(0, len(flat), 16))
    return f"static const {ctype} {name}{dims or f'[{len(flat)}]'} = {{\n    {rows}\n}};"


def _rows(ctype: str, name: str, values: np.ndarray) -> str:
    a = np.asarray(values)
    body = ",\n".join("    {" + ", ".join(str(int(v)) for v in row) + "}" for row in a.reshape(a.shape[0], -1))
    return f"static const {ctype} {name}[{a.shape[0]}][{a.reshape(a.shape[0], -1).shape[1]}] = {{\n{body}\n}};"


def _struct(value: object, name: str) -> str:
    return f"static const {value.C_TYPE} {name} = {c_value(value)};"  # type: ignore[attr-defined]


def data_header(acc: AccCases, rq: list[tuple[str, tuple[int, int, int, int]]], rq_in: np.ndarray) -> str:
    """ef_kernel_checks_data.h: every case's parameters, constants and inputs."""
    c = acc.channels
    act = (-128, 127)
    lines = ["/* Generated by tests/kernel_checks.py: data of tests/kernels_driver/ef_kernel_checks.c. */",
             "#ifndef EF_KERNEL_CHECKS_DATA_H", "#define EF_KERNEL_CHECKS_DATA_H", "",
             "#include <stdint.h>", "", '#include "ef_nn_types.h"', "",
             f"#define EF_CHK_ROWS {ROWS}", f"#define EF_CHK_RQ_NUM {len(rq)}", f"#define EF_CHK_RQ_LEN {rq_in.shape[1]}",
             "static const char *const ef_chk_rq_names[EF_CHK_RQ_NUM] = {"
             + ", ".join(f'"{n}"' for n, _ in rq) + "};",
             "static const ef_requantize_params ef_chk_rq_params[EF_CHK_RQ_NUM] = {"
             + ", ".join(c_value(RequantizeParams(*p)) for _, p in rq) + "};",
             _rows("int8_t", "ef_chk_rq_input", rq_in), "",
             f"#define EF_CHK_ACC_CH {c}",
             _array("int32_t", "ef_chk_acc_bias", acc.bias), _array("int32_t", "ef_chk_acc_mult", acc.multiplier),
             _array("int32_t", "ef_chk_acc_shift", acc.shift),
             _struct(DwConvParams(0, acc.output_offset, 1, (1, 1), (1, 1), (1, 1), act), "ef_chk_dw_params"),
             _struct(Dims(1, 1, 1, c), "ef_chk_dw_input_dims"), _struct(Dims(1, 3, 3, c), "ef_chk_dw_filter_dims"),
             _struct(Dims(1, 1, 1, c), "ef_chk_dw_output_dims"), _array("int8_t", "ef_chk_dw_filter", acc.dw_filter),
             _rows("int8_t", "ef_chk_dw_input", acc.dw_input),
             _struct(FcParams(0, 0, acc.output_offset, act), "ef_chk_fc_params"),
             _struct(Dims(1, 1, 1, 1), "ef_chk_fc_input_dims"), _struct(Dims(c, 1, 1, 1), "ef_chk_fc_filter_dims"),
             _struct(Dims(1, 1, 1, c), "ef_chk_fc_output_dims"), _array("int8_t", "ef_chk_fc_filter", acc.weights),
             _rows("int8_t", "ef_chk_fc_input", acc.x),
             _struct(ConvParams(0, acc.output_offset, (1, 1), (0, 0), (1, 1), act), "ef_chk_conv_params"), ""]
    qf = quantize_input()
    lines += [f"#define EF_CHK_QF_LEN {qf.size}", f"#define EF_CHK_QF_SCALE_BITS {int(_bits(QF_SCALE))}u",
              f"#define EF_CHK_QF_ZERO_POINT ({QF_ZERO_POINT})", _array("uint32_t", "ef_chk_qf_input_bits", _bits(qf)),
              "", f"#define EF_CHK_DQ_NUM {len(DQ_SCALES)}", "#define EF_CHK_DQ_LEN 256",
              f"#define EF_CHK_DQ_ZERO_POINT {DQ_ZERO_POINT}",
              "static const char *const ef_chk_dq_names[EF_CHK_DQ_NUM] = {"
              + ", ".join(f'"xdequantize_{k}"' for k in range(len(DQ_SCALES))) + "};",
              _array("uint32_t", "ef_chk_dq_scale_bits", _bits(np.array(DQ_SCALES))),
              _array("int8_t", "ef_chk_dq_input", np.arange(-128, 128)), "", "#endif", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class Checks:
    """The cases of one build and what each must output (bytes, as the firmware stores them)."""

    acc: AccCases
    rq: list[tuple[str, tuple[int, int, int, int]]]
    rq_input: np.ndarray

    def expected(self) -> dict[str, bytes]:
        """The Python model's outputs of every case but the REQUANT_EDGES: one of those (multiplier
        -2^31) saturates to INT32_MAX and then wraps when the C adds the output offset in int32,
        as TFLite's C++ would, where Python's integers do not; the edges are pinned across bodies
        instead (every core equals the host)."""
        edges = {f"xrequant_{k}" for k in range(len(REQUANT_EDGES))}
        want = {name: requant_expected(self.rq_input, p).tobytes() for name, p in self.rq if name not in edges}
        acc = expected_outputs(self.acc).tobytes()
        want["xrqacc_dw"] = want["xrqacc_dwp"] = want["xrqacc_fc"] = want["xrqacc_conv"] = acc
        want["xquantize"] = quantize_expected(quantize_input()).tobytes()
        want["xmaxpool_c20_act"], want["xmaxpool_c32"] = maxpool_expected()
        q = np.arange(-128, 128).astype(np.int8)
        for k, s in enumerate(DQ_SCALES):
            want[f"xdequantize_{k}"] = dequantize_expected(q, s).tobytes()
        return want

    @property
    def names(self) -> list[str]:
        """Every case, in the order the application runs them."""
        return [n for n, _ in self.rq] + ["xrqacc_dw", "xrqacc_dwp", "xrqacc_fc", "xrqacc_conv", "xmaxpool_c20_act",
                                          "xmaxpool_c32", "xquantize",
                                          *(f"xdequantize_{k}" for k in range(len(DQ_SCALES)))]


def maxpool_expected() -> tuple[bytes, bytes]:
    """ef_kernel_checks.c's two MAX_POOL_2D cases (2x2 windows, stride 2, on its pseudo-random
    6 x 10 input): 20 channels clamped to [-20, 50], 32 channels over the full range."""
    i = np.arange(6 * 10 * 32)
    x = ((i * 37 + (i >> 5) * 11) & 0xFF).astype(np.uint8).view(np.int8)

    def pool(c: int) -> np.ndarray:
        v = x[: 6 * 10 * c].reshape(3, 2, 5, 2, c)
        return v.max(axis=(1, 3))

    return np.clip(pool(20), -20, 50).astype(np.int8).tobytes(), pool(32).astype(np.int8).tobytes()


@cache
def checks() -> Checks:
    return Checks(acc_kernel_cases(ROWS), requant_params(), requant_inputs(ROWS))


def build(core: str, portable: bool = False, log_outputs: bool = False) -> Path:
    """The checks application built for ``core`` (``host`` or an emulated core)."""
    tag = core + ("-portable" if portable else "") + ("-outputs" if log_outputs else "")
    out = CACHE / "checks" / tag
    c = checks()
    atomic_write_text(out / "include" / "ef_kernel_checks_data.h", data_header(c.acc, c.rq, c.rq_input))
    defines: dict[str, str | int | None] = {"EF_BENCH_WARMUP": 0, "EF_BENCH_RUNS": 1,
                                            "EF_CHECKS_LOG_OUTPUTS": int(log_outputs)}
    if portable:
        defines["EF_NN_PORTABLE"] = 1
    return build_firmware(get_target(core), [SOURCE, *kernel_sources()], [out / "include", kernel_include_dir()],
                          out / "build", defines=defines)


def run(core: str, portable: bool = False, log_outputs: bool = False) -> RunResult:
    target = get_target(core)
    artifact = build(core, portable, log_outputs)
    result = get_runner("host" if target.is_host else "qemu").run(artifact, target, timeout_s=300)
    assert result.ok, f"{core}: exit {result.exit_status}: {result.raw_output[-2000:]}"
    return result


@cache
def host_run() -> RunResult:
    """The checks on the host, with every output logged (one run per test process)."""
    return run("host", log_outputs=True)


def metrics(result: RunResult) -> dict[str, int]:
    """Metric name -> value: "status_<check>" of the argument checks, "<case>" for a case whose
    kernel call failed (its status instead of a checksum)."""
    return {str(r.data["name"]): int(r.data["value"]) for r in result.log.of_type("metric")}


def statuses(result: RunResult) -> dict[str, int]:
    return {n.removeprefix("status_"): v for n, v in metrics(result).items() if n.startswith("status_")}


def outputs(result: RunResult) -> dict[str, bytes]:
    """Each case's logged output bytes (a build with log_outputs)."""
    return {name: struct.pack(f"{len(v)}b", *v) for name, v in result.log.outputs().items()}


def check_failures(result: RunResult, where: str, checksums: dict[str, str]) -> list[str]:
    """Every argument status of ``result`` that differs from EXPECTED_STATUS, and every case whose
    checksum differs from ``checksums`` (case -> CRC-32 hex)."""
    st, m = statuses(result), metrics(result)
    bad = [f"{where}: {n} returned {st.get(n)}, expected {s}" for n, s in EXPECTED_STATUS.items() if st.get(n) != s]
    got = result.log.checksums
    bad += [f"{where}: {n} checksum {got.get(n)} (kernel status {m.get(n, 0)}), expected {want}"
            for n, want in checksums.items() if got.get(n) != want]
    return bad
