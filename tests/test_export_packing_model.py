"""Packed (clustered) weights in the generated firmware: a clustered MLPerf Tiny KWS model (every
filter snapped to at most 16/4/3/2 int8 values per output channel, so 4-, 2- and 1-bit indices all
occur) generated with pack="always" is bit-exact with TFLM on the host (>= 200 inputs) and on
the four emulated cores, stores exactly the bytes the packing saves less, and its decode shows up
as its own profiling region."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from codegen_util import MLPERF
from opmodels import random_inputs
from packing_util import clustered_model
from shared_paths import require_arm_tools

from edgefact.export import packing
from edgefact.export.codegen import generate_c
from edgefact.export.hostcheck import run_host_batch
from edgefact.export.reference import run_tflm
from edgefact.pipeline.deploy import deploy_many, deploy_tflite

N_HOST = 256


@pytest.fixture(scope="session")
def kws_clustered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, int]]:
    data, ks = clustered_model(MLPERF["kws_dscnn"], seed=0)
    path = tmp_path_factory.mktemp("packing") / "kws_dscnn_clustered.tflite"
    path.write_bytes(data)
    return path, ks


@pytest.fixture(scope="session")
def generated(kws_clustered, tmp_path_factory: pytest.TempPathFactory):  # -> {policy: GeneratedModel}
    path, _ = kws_clustered
    out = tmp_path_factory.mktemp("packing_gen")
    return {pol: generate_c(path, out / pol, pack=pol) for pol in ("never", "auto", "always")}


def test_every_filter_packed_with_the_expected_width(kws_clustered, generated) -> None:
    _, ks = kws_clustered
    gen = generated["always"]
    by_index = {gen.graph.layers[pos].index: p for pos, p in gen.packed.items()}
    assert set(by_index) == set(ks)  # every CONV/DW/FC filter
    widths = {p.bits for p in by_index.values()}
    assert widths == {1, 2, 4}
    for idx, k in ks.items():
        p = by_index[idx]
        assert p.max_distinct <= k if p.num_luts > 1 else True
        assert p.bits == {2: 1, 3: 2, 4: 2, 16: 4}[k] or p.num_luts == 1
    assert generated["never"].packed == {}


def test_auto_bounds_the_arena_growth(kws_clustered, generated, tmp_path: Path, monkeypatch) -> None:
    """KWS keeps two 8000-byte activations live at every layer, so any expanded filter raises the
    arena by its full size: at 1/4 byte of RAM per byte of flash saved, "auto" packs nothing.
    Allowing 1:1, it packs where it pays and the arena stays within the bound."""
    path, _ = kws_clustered
    never, auto = generated["never"], generated["auto"]
    assert auto.packed == {} and auto.arena_bytes == never.arena_bytes
    monkeypatch.setattr(packing, "AUTO_RAM_PER_FLASH", 1.0)
    gen = generate_c(path, tmp_path / "auto1", pack="auto")
    saved = sum(p.saved_bytes for p in gen.packed.values())
    assert gen.packed and set(gen.packed) < set(generated["always"].packed)
    assert all(p.saved_bytes >= 64 for p in gen.packed.values())
    assert never.arena_bytes < gen.arena_bytes <= never.arena_bytes + saved
    assert never.const_bytes - gen.const_bytes == saved > 8000
    x = random_inputs(path.read_bytes(), 32, 14)[0]
    np.testing.assert_array_equal(run_host_batch(gen, x), run_tflm(path, x)[0])


def test_flash_smaller_by_the_packing_savings(generated) -> None:
    never, always = generated["never"], generated["always"]
    saved = sum(p.saved_bytes for p in always.packed.values())
    assert never.const_bytes - always.const_bytes == saved > 9000
    # what model_data.c really holds: the packed arrays and no int8 copy of a packed filter
    text = always.files["model_data.c"].read_text()
    for pos, p in always.packed.items():
        idx = always.graph.layers[pos].index
        assert f"ef_l{idx}_filter[" not in text
        assert f"uint8_t ef_l{idx}_filter_idx[{p.packed_bytes}]" in text
        assert f"int8_t ef_l{idx}_filter_lut[{p.lut_bytes}]" in text
    # the arena grows by at most the largest expanded filter (one lives at a time)
    biggest = max(p.num_elements for p in always.packed.values())
    assert never.arena_bytes <= always.arena_bytes <= never.arena_bytes + biggest + 16
    code = always.files["model.c"].read_text()
    assert len(re.findall(r'EF_PROFILE_BEGIN\(\d+, "unpack_', code)) == len(always.packed)


def test_bitexact_with_tflm_on_host(kws_clustered, generated) -> None:
    path, _ = kws_clustered
    x = random_inputs(path.read_bytes(), N_HOST, 11)[0]
    x[0] = 127
    x[1] = -128
    ref = run_tflm(path, x)[0]
    assert len({r.tobytes() for r in ref}) > N_HOST // 8  # the outputs depend on the inputs
    np.testing.assert_array_equal(run_host_batch(generated["always"], x), ref)


def test_corrupted_packing_is_detected(kws_clustered, tmp_path: Path) -> None:
    """Negative control: one flipped index bit in model_data.c changes the outputs."""
    path, _ = kws_clustered
    gen = generate_c(path, tmp_path / "gen", pack="always")
    pos = max(gen.packed, key=lambda q: gen.packed[q].packed_bytes)
    idx = gen.graph.layers[pos].index
    data = gen.files["model_data.c"]
    text = data.read_text()
    head, _, rest = text.partition(f"ef_l{idx}_filter_idx[")
    body, sep, tail = rest.partition("};")
    first = re.search(r"\{\s*(\d+)", body)
    assert first is not None
    v = int(first.group(1))
    body = body[:first.start(1)] + str(v ^ 0xFF) + body[first.end(1):]  # other LUT entries
    data.write_text(head + f"ef_l{idx}_filter_idx[" + body + sep + tail)
    x = random_inputs(path.read_bytes(), 64, 12)[0]
    assert not np.array_equal(run_host_batch(gen, x), run_tflm(path, x)[0])


def _need_tools() -> None:
    require_arm_tools()


@pytest.mark.qemu
@pytest.mark.slow
def test_packed_model_on_m4_report(kws_clustered, tmp_path: Path) -> None:
    """Cortex-M4: bit-exact with TFLM, the linked model data shrinks by the savings, decode counted."""
    _need_tools()
    path, _ = kws_clustered
    rep = deploy_tflite(path, "cortex-m4", tmp_path / "m4", n_random=2, pack="always", log_outputs=True)
    assert rep["bitexact"]["equal"] is True and rep["bitexact"]["mismatches"] == 0
    never = generate_c(path, tmp_path / "never", pack="never")
    always = generate_c(path, tmp_path / "always", pack="always")
    int8_bytes = {layer.index: layer.weight_bytes for layer in never.graph.layers}
    packed_rows = [row for row in rep["layers"] if "packed" in row]
    assert len(packed_rows) == len(always.packed) == 10
    for row in packed_rows:
        decode = row["packed"]["decode_count"]
        assert 0 < decode < row["count"]
        if row["op"] == "CONV_2D":  # every weight used H_out*W_out times: the decode is small
            assert decode < 0.1 * (row["count"] - decode)
        assert row["weight_bytes"] == int8_bytes[row["index"]] - row["packed"]["saved_bytes"]
    # in the ELF: the model data symbols add up to what the generator says it wrote
    from elftools.elf.elffile import ELFFile

    with open(rep["artifacts"]["elf"], "rb") as f:
        syms = ELFFile(f).get_section_by_name(".symtab")
        sizes = {s.name: s["st_size"] for s in syms.iter_symbols() if re.fullmatch(r"ef_l\d+_\w+", s.name)}
    assert sum(sizes.values()) == always.const_bytes
    assert never.const_bytes - sum(sizes.values()) == sum(p.saved_bytes for p in always.packed.values())


@pytest.mark.qemu
@pytest.mark.slow
def test_packed_model_on_other_cores(kws_clustered, tmp_path: Path) -> None:
    """The decoder and the packed model on Cortex-M7, -M33 and -M55 (checksums vs TFLM)."""
    _need_tools()
    path, _ = kws_clustered
    x = random_inputs(path.read_bytes(), 2, 13)[0]
    for core in ("cortex-m7", "cortex-m33", "cortex-m55"):
        res = deploy_many([("kws_packed", path, x)], core, tmp_path / core, pack="always")
        assert res["kws_packed"]["equal"], (core, res)
