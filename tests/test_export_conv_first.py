"""The generator's side of 3x3 first layers with 1 or 2 input channels (``ef_conv_first_c12_s8``).

- the kernel is chosen on Cortex-M4/M7/M33 (no scratch), Cortex-M55 keeps ``ef_conv_first_s8``'s
  Helium body (1 channel: ``ef_conv_first_c1_s8``, tests/test_export_conv_first_c1.py), a target-less build ``ef_conv_s8`` (with both as alternatives); 3-channel layers
  stay on ``ef_conv_first_s8``;
- the table (``edgefact/export/ops/conv_first.py``) decoded word by word as the kernel's header
  documents it gives TFLite's requantization exactly (the doubled accumulator, the SMMLAR
  rounding constant, the sign term in the high word), on random windows, ties and extreme offsets;
- a layer whose accumulator could reach 2^29 is refused; the table replaces the filter, bias and
  requantization arrays in the generated data, and the filter is never packed.

The per-op host and emulator tests run every ``conv_first12_*`` case of tests/opmodels.py (and the
other 1-2 channel 3x3 cases) on this kernel as an alternative; one emulator deploy checks the
report's ``kernel`` where the generator picks it.
"""

from __future__ import annotations

import numpy as np
import pytest
from opmodels import OPMODEL_CASES, get_opmodel

from edgefact.export import quant
from edgefact.export.codegen import generate_c
from edgefact.export.lowering import lower
from edgefact.export.ops import get_op
from edgefact.export.ops.conv import FIRST_C1, _first_c1_applies, _first_c12_applies
from edgefact.export.ops.conv_first import KERNEL, first_c12_table, words_per_channel
from edgefact.export.packing import apply_packing
from edgefact.export.tflite_model import load_tflite
from edgefact.pipeline.deploy import deploy_tflite
from edgefact.targets import get_target

C12 = sorted(n for n in OPMODEL_CASES if n.startswith("conv_first12_"))


@pytest.mark.parametrize("case", C12)
def test_kernel_choice(case: str) -> None:
    model = load_tflite(get_opmodel(case))
    c1 = _first_c1_applies(lower(model).layers[0])  # 1 channel: Helium's ef_conv_first_c1_s8
    for core, want in (("cortex-m4", KERNEL), ("cortex-m7", KERNEL), ("cortex-m33", KERNEL),
                       ("cortex-m55", FIRST_C1 if c1 else "ef_conv_first_s8")):
        layer = lower(model, target=get_target(core)).layers[0]
        assert layer.kernel == want, core
        assert layer.scratch_bytes == (0 if want == KERNEL else 4 * 9 * layer.args.filter_dims.c)
    layer = lower(model).layers[0]
    assert layer.kernel == "ef_conv_s8"
    assert set(get_op("CONV_2D").kernels(layer)) == {"ef_conv_s8", "ef_conv_first_s8", KERNEL} | (
        {FIRST_C1} if c1 else set())


def test_three_channels_stay_on_the_first_kernel() -> None:
    layer = lower(load_tflite(get_opmodel("conv_first_c3_o4_same")), target=get_target("cortex-m4")).layers[0]
    assert layer.kernel == "ef_conv_first_s8"
    assert KERNEL not in get_op("CONV_2D").kernels(layer)


def _decode(tab: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(2 * bias, doubled filter [o, 3, 3, c], m, K, e) from the entries, by the kernel's layout."""
    w = tab.astype(np.int64) & 0xFFFFFFFF
    lo = ((w & 0xFFFF) ^ 0x8000) - 0x8000
    hi = ((w >> 16) ^ 0x8000) - 0x8000
    o = tab.shape[0]
    f = np.zeros((o, 3, 3, c), np.int64)
    b2 = tab[:, 0].astype(np.int64)
    if c == 1:
        for r in range(3):
            f[:, r, 0, 0], f[:, r, 2, 0] = lo[:, 1 + r], hi[:, 1 + r]
        f[:, 0, 1, 0], f[:, 1, 1, 0], f[:, 2, 1, 0] = lo[:, 4], hi[:, 4], lo[:, 5]
        assert np.all(hi[:, 5] == 0)
        m, k, e = tab[:, 6], tab[:, 7], tab[:, 8]
    else:
        for r in range(3):
            base = 1 + 3 * r
            f[:, r, 0, 0], f[:, r, 1, 0] = lo[:, base], hi[:, base]  # (q0, q2)
            f[:, r, 0, 1], f[:, r, 1, 1] = lo[:, base + 1], hi[:, base + 1]  # (q1, q3)
            f[:, r, 2, 0], f[:, r, 2, 1] = lo[:, base + 2], hi[:, base + 2]  # (q4, q5)
        k, m, e = tab[:, 10], tab[:, 11], tab[:, 12]
    return b2, f, m.astype(np.int64), k.astype(np.int64), e.astype(np.int64) & 0xFF


@pytest.mark.parametrize("c", [1, 2])
def test_table_arithmetic_is_tflite_requantization(c: int) -> None:
    rng = np.random.default_rng(c)
    o = 23
    filt = rng.integers(-127, 128, (o, 3, 3, c)).astype(np.int8)
    filt[0] = 127
    filt[1] = -128
    bias = rng.integers(-40000, 40000, o).astype(np.int32)
    shift = rng.integers(-23, -1, o).astype(np.int32)
    mult = rng.integers(1 << 30, 1 << 31, o).astype(np.int32)
    mult[:4] = 1 << 30  # power-of-two multipliers: rounding ties
    for out_off in (-128, 0, 127):
        tab = first_c12_table(filt, bias, mult, shift, out_off).reshape(o, words_per_channel(c))
        b2, f2, m, k, e = _decode(tab, c)
        assert np.array_equal(f2, 2 * filt.astype(np.int64)) and np.array_equal(b2, 2 * bias.astype(np.int64))
        assert np.array_equal(e, -shift.astype(np.int64))
        assert tab[-1, -1] < 0 and np.all(tab[:-1, -1] > 0)  # the last channel's end mark
        x = rng.integers(-255, 256, (200, 3, 3, c))  # x + input offset, any window
        x[0], x[1] = 255, -255
        acc2 = b2[None, :] + np.einsum("nrtc,ortc->no", x, f2)
        for n in range(0, 200, 7):
            for ch in range(o):
                a = int(acc2[n, ch])
                got = ((int(k[ch]) - (a < 0)) + ((a * int(m[ch]) + (1 << 31)) >> 32)) >> int(e[ch])
                want = quant.requantize(a // 2, int(mult[ch]), int(shift[ch]), out_off, -1 << 40, 1 << 40)
                assert got == want, (n, ch, a)


def test_large_accumulators_are_refused() -> None:
    model = load_tflite(get_opmodel("conv_first12_c1_o16_same_relu"))
    layer = lower(model, target=get_target("cortex-m4")).layers[0]
    layer.consts["bias"] = layer.consts["bias"].copy()
    assert _first_c12_applies(layer)
    layer.consts["bias"][3] = 1 << 29
    assert not _first_c12_applies(layer)


def test_table_replaces_the_filter_arrays(tmp_path) -> None:
    gen = generate_c(get_opmodel("conv_first12_c2_o7_s2_same_relu6"), tmp_path / "gen",
                     target=get_target("cortex-m4"), pack="always")
    code = (tmp_path / "gen" / "model.c").read_text()
    data = (tmp_path / "gen" / "model_data.c").read_text()
    assert f"st = {KERNEL}(" in code and "ef_unpack_s8" not in code and "L0_ctx" not in code
    assert "_table[91]" in data and "_filter[" not in data and "_multiplier[" not in data
    assert gen.graph.layers[0].packed is None
    assert not apply_packing(gen.graph, "always")


@pytest.mark.qemu
def test_report_kernel_on_cortex_m4(tmp_path) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(get_opmodel("conv_first12_c1_o7_s2_same"))
    rep = deploy_tflite(model, "cortex-m4", tmp_path / "run", n_random=2, write_report=False)
    assert rep["bitexact"]["equal"]
    (row,) = (r for r in rep["layers"] if r["op"] == "CONV_2D")
    assert row["kernel"] == KERNEL
