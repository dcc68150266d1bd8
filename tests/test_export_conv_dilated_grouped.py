"""The generator's side of dilated CONV_2D and grouped 1x1 convolutions.

- a dilated CONV_2D keeps its kh x kw filter and passes the dilation to ``ef_conv_dilated_s8``
  (``ef_conv_s8``'s bodies gathering only the real taps; a kernel of its own, so firmware without a
  dilated layer does not link the dilated window builders): the generated parameters carry the
  dilation (h != w too), the filter array holds the real taps only, the report's ``kernel`` is
  ``ef_conv_dilated_s8`` (``ef_conv_s8`` refuses a dilation) and the run is bit-exact with TFLM;
  where the real taps' window fits ``ef_conv_2x2_s8`` (kh*kw*c <= 288, c % 4 == 0) the DSP cores run
  its dilated entry ``ef_conv_2x2_dilated_s8`` (with its table scratch), an alternative everywhere;
  a dilated 1x1 (where the dilation changes nothing) stays on the 1x1 kernels;
- a grouped 1x1 with 4-20 (a multiple of 4) input channels per group runs ``ef_conv_1x1_short_s8``
  on Cortex-M4/M7/M33 and with 4-16 on Cortex-M55 (``ef_conv_s8`` elsewhere and for other widths), with ``ef_conv_s8`` as its
  alternative and never the ungrouped ``ef_conv_1x1_s8``.

The per-op host and emulator tests run every ``conv_dil_*`` / ``conv_g1x1_*`` case of
tests/opmodels.py on the kernels chosen here and on their alternatives.
"""

from __future__ import annotations

import pytest
from opmodels import OPMODEL_CASES, OpSpec, get_opmodel

from edgefact.export.codegen import generate_c
from edgefact.export.lowering import lower
from edgefact.export.ops import get_op
from edgefact.export.ops.conv import SHORT_1X1_MVE_MAX_C
from edgefact.export.tflite_model import load_tflite
from edgefact.pipeline.deploy import deploy_tflite
from edgefact.targets import get_target

DILATED = sorted(n for n in OPMODEL_CASES if n.startswith("conv_dil_") and "_1x1_" not in n)
GROUPED_1X1 = sorted(n for n in OPMODEL_CASES if n.startswith("conv_g1x1_"))


def _dilation(spec: OpSpec) -> tuple[int, int]:
    d = spec.params["dilation"]
    return (d, d) if isinstance(d, int) else (int(d[0]), int(d[1]))


@pytest.mark.parametrize("case", DILATED)
def test_dilated_conv_keeps_its_taps_and_dilation(case: str) -> None:
    spec = OPMODEL_CASES[case]
    p = spec.params
    kh, kw, fi = p["kh"], p["kw"], p["cin"] // p["groups"]
    table = fi % 4 == 0 and kh * kw * fi <= 288  # ef_conv_2x2_dilated_s8's window (fast requantization aside)
    for target in (None, get_target("cortex-m4"), get_target("cortex-m7"), get_target("cortex-m55")):
        layer = lower(load_tflite(get_opmodel(case)), target=target).layers[0]
        dsp = target is not None and target.core != "cortex-m55"
        takes = table and layer.kernel == "ef_conv_2x2_dilated_s8"
        assert takes == (table and dsp), (case, target, layer.kernel)
        assert layer.kernel == ("ef_conv_2x2_dilated_s8" if takes else "ef_conv_dilated_s8")
        assert set(get_op("CONV_2D").kernels(layer)) == (
            {"ef_conv_dilated_s8", "ef_conv_2x2_dilated_s8"} if table else {"ef_conv_dilated_s8"})
        assert layer.args.params.dilation == _dilation(spec)
        assert (layer.args.filter_dims.h, layer.args.filter_dims.w, layer.args.filter_dims.c) == (kh, kw, fi)
        assert layer.consts["filter"].shape == (p["cout"], kh, kw, fi)  # no zero-inserted taps
        pairs = p["cout"] // p["groups"] // 2
        k = kh * kw * fi
        assert layer.scratch_bytes == (max(4 * k, 4 * min(pairs, 2048 // (k + 10)) * (k + 10)) if takes else 4 * k)
        out = layer.output_shape
        assert layer.macs == out[1] * out[2] * out[3] * kh * kw * fi
        assert "as a" not in layer.describe  # no "(as a 5x5 filter)"


def test_dilated_conv_is_emitted_with_its_dilation(tmp_path) -> None:
    case = "conv_dil_3x2_d2x3_c12_o7_s2_same"
    gen = generate_c(get_opmodel(case), tmp_path / "gen", target=get_target("cortex-m4"))
    code = (tmp_path / "gen" / "model.c").read_text()
    assert ".dilation = {2, 3}," in code and "st = ef_conv_2x2_dilated_s8(" in code and "ef_conv_s8(" not in code
    gen55 = generate_c(get_opmodel(case), tmp_path / "gen55", target=get_target("cortex-m55"))
    assert "st = ef_conv_dilated_s8(" in (tmp_path / "gen55" / "model.c").read_text()
    assert gen55.graph.layers[0].kernel == "ef_conv_dilated_s8"
    data = (tmp_path / "gen" / "model_data.c").read_text()
    layer = gen.graph.layers[0]
    n_filter = 7 * 3 * 2 * 12
    assert int(layer.consts["filter"].size) == n_filter and f"[{n_filter}]" in data


def test_dilated_conv_report_kernel_and_bitexact(tmp_path) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(get_opmodel("conv_dil_3x3_d2_c8_o6_same"))
    rep = deploy_tflite(model, "host", tmp_path / "run", n_random=3, write_report=False)
    assert rep["bitexact"]["equal"]
    (row,) = (r for r in rep["layers"] if r["op"] == "CONV_2D")
    assert row["kernel"] == "ef_conv_dilated_s8"
    assert row["weight_bytes"] == 6 * 3 * 3 * 8 + 4 * 6  # the real taps and the biases


def test_dilated_1x1_stays_on_the_1x1_kernels() -> None:
    model = load_tflite(get_opmodel("conv_dil_1x1_d2_c8_o5"))
    assert model.operators[0].options["dilation_h_factor"] == 2
    for core, kernel in (("cortex-m55", "ef_conv_1x1_short_s8"), ("cortex-m4", "ef_conv_1x1_short_s8")):
        layer = lower(model, target=get_target(core)).layers[0]
        assert layer.kernel == kernel and layer.args.params.dilation == (1, 1)


@pytest.mark.parametrize("case", GROUPED_1X1)
def test_grouped_1x1_kernel_choice(case: str) -> None:
    model = load_tflite(get_opmodel(case))
    fi = OPMODEL_CASES[case].params["cin"] // OPMODEL_CASES[case].params["groups"]
    fast = fi in (4, 8, 12, 16, 20)
    # Helium: the short 1x1 takes any depth up to SHORT_1X1_MVE_MAX_C (4 pixels x 4 channels per step,
    # 16 bytes of each pixel at a time), so the M55 picks it for every grouped 1x1 here
    mve = 1 <= fi <= SHORT_1X1_MVE_MAX_C
    table = fi % 4 == 0 and 4 <= fi <= 64  # ef_conv_1x1_2x2_s8 takes it (DSP), picked from 12 per group
    for core in ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"):
        layer = lower(model, target=get_target(core)).layers[0]
        want = "ef_conv_1x1_short_s8" if (mve if core == "cortex-m55" else fast) else "ef_conv_s8"
        if core != "cortex-m55" and table and fi >= 12:
            want = "ef_conv_1x1_2x2_s8"
        assert layer.kernel == want, (core, layer.kernel)
        kernels = get_op("CONV_2D").kernels(layer)
        assert "ef_conv_1x1_s8" not in kernels
        expected = ({"ef_conv_1x1_short_s8", "ef_conv_s8"} if fast or mve else {"ef_conv_s8"}) | (
            {"ef_conv_1x1_2x2_s8"} if table else set())
        if layer.kernel == "ef_conv_1x1_2x2_s8":  # chosen over the short 1x1, which is then not offered
            expected = {"ef_conv_1x1_2x2_s8", "ef_conv_s8"}
        assert set(kernels) == expected
        assert layer.scratch_bytes == (4 * fi if layer.kernel == "ef_conv_s8" else 0)


def test_space_to_batch_form_folds_into_a_dilated_conv_with_real_taps(tmp_path) -> None:
    from test_export_dilation import _space_to_batch_form

    data = _space_to_batch_form(get_opmodel("conv_3x3_d2_same"))
    layers = [la for la in lower(load_tflite(data)).layers if la.op == "CONV_2D"]
    assert len(layers) == 1
    conv = layers[0]
    assert conv.kernel == "ef_conv_dilated_s8" and conv.args.params.dilation == (2, 2)
    assert (conv.args.filter_dims.h, conv.args.filter_dims.w) == (3, 3)
    assert conv.consts["filter"].shape == (5, 3, 3, 3)  # conv_3x3_d2_same: 3 -> 5 channels, no zero taps


#: windowed convolutions and whether ef_conv_2x2_s8 takes them on the DSP cores (window depth
#: kh*kw*c <= 288 per group, c % 4 == 0), with the scratch it asks for: one group's channel pairs
#: of widened filter table, (kh*kw*c + 10) words each, at most 2048 words of whole pairs
TABLE_CASES = {
    # case: (takes it, scratch bytes on the DSP cores)
    "xconv_3x1_c16_o20_same_relu6": (True, 4 * 10 * (48 + 10)),
    "xconv_g2_1x3_c16_o10_s2": (True, 4 * 2 * (24 + 10)),  # 5 outputs per group: 2 pairs + the C channel
    "conv_3x3_c16_o37_same": (True, 4 * (2048 // 154) * 154),  # 18 pairs, 13 per chunk
    "conv_3x3_c8_o1_same": (True, 4 * 72),  # no pair: ef_conv_s8's two columns are larger
    "xconv_1x5_c32_o6_same": (True, 4 * 3 * (160 + 10)),
    "xconv_3x3_c32_o6_same": (True, 4 * 3 * (288 + 10)),
    "conv_5x5_c16_o5_same": (False, 4 * 400),  # 400 deep (over 288): ef_conv_s8
    "conv_3x1_same": (False, 4 * 18),  # 6 channels: not a multiple of 4
}


@pytest.mark.parametrize("case", sorted(TABLE_CASES))
def test_windowed_conv_table_kernel_choice(case: str) -> None:
    from kernels_harness import EXTRA_CASES, case_model

    takes, scratch = TABLE_CASES[case]
    assert case in EXTRA_CASES or case in OPMODEL_CASES
    model = load_tflite(case_model(case))
    for core in ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"):
        layer = lower(model, target=get_target(core)).layers[0]
        dsp = core != "cortex-m55"
        assert layer.kernel == ("ef_conv_2x2_s8" if takes and dsp else "ef_conv_s8"), (core, layer.kernel)
        assert ("ef_conv_2x2_s8" in get_op("CONV_2D").kernels(layer)) == takes  # an alternative everywhere
        assert layer.scratch_bytes == (scratch if takes and dsp else 4 * layer.args.filter_dims.h
                                       * layer.args.filter_dims.w * layer.args.filter_dims.c)


#: unpadded 1x1 convolutions: the DSP 1x1 kernels up to 64 input channels per group, the table
#: conv from 68 to 288 (ef_conv_1x1_s8's DSP loop widens every filter word per pixel pair), the
#: 1x1 kernel beyond; (kernel on the DSP cores, scratch bytes there)
POINTWISE_CASES = {
    "xconv_1x1_c32_o8_relu6": ("ef_conv_1x1_2x2_s8", 0),
    "xconv_1x1_c68_o6": ("ef_conv_2x2_s8", 4 * 3 * (68 + 10)),
    "xconv_1x1_c128_o9_s2_relu6": ("ef_conv_2x2_s8", 4 * 4 * (128 + 10)),  # 9 outputs: 4 pairs + the C channel
    "xconv_1x1_c516_o3": ("ef_conv_1x1_s8", 0),  # 516 deep: over the unrolled loop
    "xconv_1x1_c33_o8_s2_relu6": ("ef_conv_1x1_s8", 0),  # not a multiple of 4
}


@pytest.mark.parametrize("case", sorted(POINTWISE_CASES))
def test_deep_pointwise_conv_takes_the_table_kernel_on_the_dsp_cores(case: str) -> None:
    from kernels_harness import EXTRA_CASES, case_model

    kernel, scratch = POINTWISE_CASES[case]
    assert case in EXTRA_CASES
    model = load_tflite(case_model(case))
    for core in ("cortex-m4", "cortex-m33", "cortex-m55"):
        layer = lower(model, target=get_target(core)).layers[0]
        if core == "cortex-m55":
            assert layer.kernel != "ef_conv_2x2_s8" and layer.scratch_bytes == 0
        else:
            assert (layer.kernel, layer.scratch_bytes) == (kernel, scratch), core
        kernels = get_op("CONV_2D").kernels(layer)
        assert ("ef_conv_2x2_s8" in kernels) == (kernel == "ef_conv_2x2_s8")  # an alternative everywhere
        assert "ef_conv_1x1_s8" in kernels
