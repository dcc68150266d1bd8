"""The scalar requantization helpers (ef_requantize, its fast path for every kernel, and
ef_requantize_any) against edgefact.export.quant's model of TFLite's MultiplyByQuantizedMultiplier,
over the extremes of x, multiplier and shift, random values and exact rounding ties; and the
requantization inside the depthwise / fully-connected kernels on chosen int32 accumulators."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import kernel_checks
import numpy as np
import pytest
from kernels_harness import CACHE, DRIVER_DIR
from requant_cases import expected_outputs, triples

from edgefact.export import quant
from edgefact.firmware.kernels import kernel_headers, kernel_include_dir

CHECK_SRC = DRIVER_DIR / "ef_requant_check.c"


def _build_check(tmp_path) -> str:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    h = hashlib.sha256(CHECK_SRC.read_bytes())
    for p in kernel_headers():
        h.update(p.read_bytes())
    out = CACHE / f"requant-{h.hexdigest()[:16]}"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = tmp_path / "ef_requant_check"
        subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", f"-I{kernel_include_dir()}",
                        str(CHECK_SRC), "-o", str(tmp)], check=True, capture_output=True, text=True)
        shutil.copy(tmp, out)
    return str(out)


def test_c_requantize_bit_exact_over_int32(tmp_path) -> None:
    t = triples()
    (tmp_path / "in.bin").write_bytes(t.astype("<i4").tobytes())
    subprocess.run([_build_check(tmp_path), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True)
    got = np.frombuffer((tmp_path / "out.bin").read_bytes(), "<i4").reshape(-1, 3)
    assert got.shape[0] == t.shape[0]
    want = np.array([quant.multiply_by_quantized_multiplier(int(x), int(m), int(s)) for x, m, s in t.tolist()],
                    np.int64)
    for col, name in ((0, "ef_requantize"), (1, "ef_requantize_any"), (2, "ef_rq_chan_apply")):
        bad = np.nonzero(got[:, col] != want)[0]
        assert bad.size == 0, (name, [(t[i].tolist(), int(got[i, col]), int(want[i])) for i in bad[:5]])
    # the inputs really reach both roundings' ties, negative multipliers and saturation
    assert (t[:, 1] == 2**30).sum() > 50_000 and (t[:, 1] < 0).sum() > 30_000
    assert ((t[:, 0] == -(2**31)) & (t[:, 1] == -(2**31))).any()
    # the per-channel form (column 2) applies to most of them (multiplier >= 0, shift in [-23, -2])
    assert ((t[:, 1] >= 0) & (t[:, 2] <= -2) & (t[:, 2] >= -23)).sum() > 250_000


def test_kernel_requantization_on_int32_accumulators() -> None:
    """ef_depthwise_conv_3x3_s8 and ef_fully_connected_per_channel_s8 on chosen accumulators
    (tests/kernels_driver/ef_kernel_checks.c, on the host)."""
    acc = kernel_checks.checks().acc
    want = expected_outputs(acc)
    outs = kernel_checks.outputs(kernel_checks.host_run())
    for name in ("xrqacc_dw", "xrqacc_fc"):
        got = np.frombuffer(outs[name], np.int8).reshape(want.shape)
        assert np.array_equal(got, want), (name, np.argwhere(got != want)[:5].tolist())
        # the targeted accumulators land mostly inside the int8 range (not all clamped)
        assert ((got > -128) & (got < 127)).mean() > 0.5, name
