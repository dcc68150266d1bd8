"""Several small models in one firmware per emulated core, each output's CRC-32 against a reference.

The per-op firmware of tests/test_firmware_kernels_qemu.py links every catalogue case; the tests of
one feature (ARG_MAX, the uint8 / int16 boundary) link only their own models, inputs they choose
(ties, saturation) and models the catalogue cannot hold (built with the schema's object API), so a
run on the four cores costs one small build each.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from kernels_harness import CACHE, GEN_ROOT

from edgefact.export.codegen import GeneratedModel, generate_c
from edgefact.firmware.build import build_firmware
from edgefact.firmware.kernels import kernel_include_dir, kernel_sources
from edgefact.pipeline.app import AppModel, flatten_inputs, np_type, write_app
from edgefact.targets import get_target
from edgefact.targets.runners import get_runner

CORES = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")


@dataclass(frozen=True)
class FwModel:
    """One model of the firmware: its bytes, its inputs (one array per model input) and the
    reference's outputs for them (one array per model output)."""

    name: str
    model: bytes
    inputs: list[np.ndarray]
    ref: list[np.ndarray]


def crc_of(ref: list[np.ndarray], type_name: str) -> str:
    """CRC-32 of outputs as the application stores them: a sample's outputs back to back."""
    n = len(ref[0])
    flat = np.concatenate([np.ascontiguousarray(r, dtype=np_type(type_name)).reshape(n, -1) for r in ref], axis=1)
    return f"{zlib.crc32(flat.tobytes()) & 0xFFFFFFFF:08x}"


def _key(models: list[FwModel]) -> str:
    h = hashlib.sha256()
    for m in models:
        h.update(m.name.encode() + m.model + b"".join(np.ascontiguousarray(x).tobytes() for x in m.inputs))
    return h.hexdigest()[:12]


def generate_all(models: list[FwModel], where: str) -> tuple[Path, list[GeneratedModel], list[AppModel]]:
    out = GEN_ROOT / where / _key(models)
    gens: list[GeneratedModel] = []
    apps: list[AppModel] = []
    base = 0
    for k, m in enumerate(models):
        prefix = f"ef_b{k}"
        gen = generate_c(m.model, out / "gen", model_name=re.sub(r"\W", "_", m.name), prefix=prefix,
                         profile_base=base)
        base += gen.num_regions
        gens.append(gen)
        apps.append(AppModel(gen, prefix, flatten_inputs(gen, m.inputs if len(m.inputs) > 1 else m.inputs[0]),
                             prefix, m.name))
    write_app(apps, out / "app", log_outputs=False)
    return out, gens, apps


def run_on_core(core: str, models: list[FwModel], where: str) -> list[str]:
    """Build and run the models on ``core`` under QEMU; one message per model whose output CRC
    differs from its reference's (empty: all bit-exact)."""
    out, gens, apps = generate_all(models, where)
    target = get_target(core)
    regions = sum(g.num_regions for g in gens)
    sources = [p for g in gens for p in g.sources]
    app = out / "app"
    elf = build_firmware(target, [*sources, app / "ef_app_model.c", app / "ef_app_inputs.c", *kernel_sources()],
                         [out / "gen", app, kernel_include_dir()], CACHE / where / out.name / core,
                         defines={"EF_MAX_REGIONS": max(64, regions), "EF_BENCH_WARMUP": 0, "EF_BENCH_RUNS": 1})
    result = get_runner("qemu").run(elf, target, timeout_s=600)
    assert result.ok, f"{core}: exit {result.exit_status}: {result.raw_output[-2000:]}"
    got = result.log.checksums
    bad = []
    for m, g, a in zip(models, gens, apps, strict=True):
        want = crc_of(m.ref, g.output_type)
        if got.get(a.prefix) != want:
            bad.append(f"{core}: {m.name}: CRC {got.get(a.prefix)}, the reference's {want}")
    return bad
