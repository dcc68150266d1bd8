"""``edgefact convert``: int8 .tflite -> C (model.c/.h, model_data.c/.h, plan.txt).

Also ``deploy_options``: the click options ``edgefact build --tflite`` reuses to wrap
:func:`edgefact.pipeline.deploy.deploy_tflite`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edgefact.errors import EdgefactError


@click.command(name="convert")
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--target", "-t", "target", default="host", show_default=True,
              help="Core or board the code is for (`edgefact targets`); checked against its flash/RAM.")
@click.option("--out", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for model.c/.h, model_data.c/.h and plan.txt.")
@click.option("--tflm/--no-tflm", "with_tflm", default=True, show_default=True,
              help="Also measure TFLite Micro's arena for the same model and print it beside ours.")
@click.option("--pack", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
              help="Store clustered filters as 1/2/4-bit indices + int8 look-up tables, expanded before their "
                   "layer (auto: where it saves flash; see docs/packing.md).")
def convert_cmd(model: Path, target: str, out_dir: Path, with_tflm: bool, pack: str = "auto") -> None:
    """Generate C for the int8 MODEL (.tflite): one kernel call per layer and a static memory plan."""
    from edgefact.export.codegen import generate_c, layer_table
    from edgefact.export.tflite_model import load_tflite
    from edgefact.firmware.fit import check_fits
    from edgefact.pipeline.deploy import estimate_footprint
    from edgefact.targets import get_target

    if not model.is_file():
        raise EdgefactError(f"model file not found: {model} (give the path of an int8 .tflite file)")
    tgt = get_target(target)
    m = load_tflite(model)
    tflm = None
    if with_tflm:
        from edgefact.export.reference import OracleCrashError, tflm_arena_bytes

        try:
            tflm = tflm_arena_bytes(model)
        except OracleCrashError as exc:
            click.echo(f"warning: {exc}; generating C without the TFLM comparison", err=True)
    gen = generate_c(m, out_dir, target=tgt, model_name=model.name, tflm_arena=tflm, pack=pack)
    check_fits(tgt, *estimate_footprint(gen, 0), what=f"model {model.name}")
    click.echo(layer_table(gen.graph))
    click.echo("")
    line = f"arena: edgefact {gen.arena_bytes} bytes"
    if tflm is not None:
        line += f" | TFLM {tflm} bytes"
    click.echo(line + f"; weights {gen.const_bytes} bytes in flash")
    for pos, p in sorted((gen.packed or {}).items()):
        layer = gen.graph.layers[pos]
        click.echo(f"packed {layer.name}: K={p.max_distinct}, {p.bits}-bit indices, {p.num_luts} LUT(s), "
                   f"{p.stored_bytes} bytes instead of {p.original_bytes} (saves {p.saved_bytes})")
    for name in ("model.h", "model.c", "model_data.h", "model_data.c", "plan.txt"):
        click.echo(f"wrote {gen.files[name]}")


def deploy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Click options matching deploy_tflite's keyword arguments (for `edgefact build --tflite`)."""
    options = [
        click.option("--opt", default="-O2", show_default=True, help="Optimisation flag for the firmware build."),
        click.option("--runner", default=None, help="Runner (qemu, host, gdb, pyocd, serial); default by target."),
        click.option("--inputs", "n_random", default=4, show_default=True,
                     help="Number of random inputs embedded in the firmware and checked against TFLM."),
        click.option("--no-run", "no_run", is_flag=True, help="Build only; do not run or compare."),
    ]
    for opt in reversed(options):
        f = opt(f)
    return f
