"""The generator's side of Helium 1-channel 3x3 first layers (``ef_conv_first_c1_s8``).

- chosen on Cortex-M55 for every 1-channel ``ef_conv_first_s8`` layer whose strip row keeps the
  gathers' u8 offsets in range and whose biases (with the input offset folded in) fit the gathered
  vectors' spare lanes; an alternative elsewhere; 2-3 channel layers are untouched;
- too wide a row or an out-of-reach bias keeps ``ef_conv_first_s8``;
- the report of an emulator deploy names the kernel (bit-exact with TFLM).

The per-op host and emulator tests run every ``conv_first1_*`` / ``conv_first12_c1_*`` case of
tests/opmodels.py on this kernel as an alternative on every core (the DSP and portable builds run
``ef_conv_s8`` behind the same name).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from opmodels import OPMODEL_CASES, get_opmodel

from edgefact.export.lowering import lower
from edgefact.export.ops import get_op
from edgefact.export.ops.conv import FIRST_C1, _first_c1_applies
from edgefact.export.tflite_model import load_tflite
from edgefact.pipeline.deploy import deploy_tflite
from edgefact.targets import get_target

C1 = sorted(n for n in OPMODEL_CASES if n.startswith("conv_first1_"))


@pytest.mark.parametrize("case", C1)
def test_kernel_choice(case: str) -> None:
    model = load_tflite(get_opmodel(case))
    layer = lower(model, target=get_target("cortex-m55")).layers[0]
    assert layer.kernel == FIRST_C1
    assert layer.scratch_bytes == 4 * 9  # ef_conv_s8's, for its fallback
    for core in ("cortex-m4", "cortex-m7", "cortex-m33"):
        assert lower(model, target=get_target(core)).layers[0].kernel != FIRST_C1
    assert FIRST_C1 in get_op("CONV_2D").kernels(lower(model).layers[0])


def test_other_channel_counts_are_untouched() -> None:
    for case in ("conv_first12_c2_o16_same", "conv_first_c3_o4_same"):
        layer = lower(load_tflite(get_opmodel(case)), target=get_target("cortex-m55")).layers[0]
        assert layer.kernel == "ef_conv_first_s8"
        assert FIRST_C1 not in get_op("CONV_2D").kernels(layer)


def test_wide_rows_and_large_biases_are_refused() -> None:
    layer = lower(load_tflite(get_opmodel("conv_first1_c1_o5_w61_same_relu6")), target=get_target("cortex-m55"))
    layer = layer.layers[0]
    assert _first_c1_applies(layer)
    layer.args = dataclasses.replace(layer.args, output_dims=dataclasses.replace(layer.args.output_dims, w=62))
    assert not _first_c1_applies(layer)  # P = 64: 4 * 64 + 3 > 255
    layer = lower(load_tflite(get_opmodel("conv_first1_c1_o16_w5_same_relu")), target=get_target("cortex-m55"))
    layer = layer.layers[0]
    layer.consts["bias"] = layer.consts["bias"].copy()
    filt = np.asarray(layer.consts["filter"], dtype=np.int64).reshape(16, -1).sum(axis=1)
    b0 = int(layer.consts["bias"][2]) + layer.args.params.input_offset * int(filt[2])
    layer.consts["bias"][2] += 762 * 127 + 126 - b0  # q = 762: the largest
    assert _first_c1_applies(layer)
    layer.consts["bias"][2] += 1  # q = 763
    assert not _first_c1_applies(layer)


@pytest.mark.qemu
def test_report_kernel_on_cortex_m55(tmp_path) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(get_opmodel("conv_first1_c1_o20_w7_s2_same_relu6"))
    rep = deploy_tflite(model, "cortex-m55", tmp_path / "run", n_random=2, write_report=False)
    assert rep["bitexact"]["equal"]
    (row,) = (r for r in rep["layers"] if r["op"] == "CONV_2D")
    assert row["kernel"] == FIRST_C1
