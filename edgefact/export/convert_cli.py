"""``edgefact convert``: int8 .tflite -> C (model.c/.h, model_data.c/.h, plan.txt).

Also ``deploy_options``: the click options ``edgefact build --tflite`` reuses to wrap
:func:`edgefact.pipeline.deploy.deploy_tflite`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from edgefact.common_cli import CONTEXT, examples, make_output, opt, output_options
from edgefact.errors import EdgefactError
from edgefact.fsutil import check_output_dir, os_errors_as_one_line


@click.command(name="convert", context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@opt("--target", default="host", show_default=True,
     help="Core or board the code is for (see `edgefact targets`); checked against its flash/RAM.")
@opt("--out", dest="out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
     help="Folder for model.c/.h, model_data.c/.h and plan.txt.")
@click.option("--tflm/--no-tflm", "with_tflm", default=True, show_default=True,
              help="Also measure TFLite Micro's arena for the same model and print it beside ours.")
@opt("--pack", type=click.Choice(["auto", "always", "never"]), default="auto", show_default=True,
     help="Store clustered filters as 1/2/4-bit indices + int8 look-up tables, expanded before their "
          "layer (auto: where it saves flash; see docs/packing.md).")
@output_options
@examples("edgefact convert fm.tflite -o gen/", "edgefact convert kws.tflite -t cortex-m55 -o gen-m55/ --json")
def convert_cmd(model: Path, target: str, out_dir: Path, with_tflm: bool, pack: str = "auto", quiet: bool = False,
                verbose: bool = False, as_json: bool = False) -> None:
    """Generate C for the int8 MODEL (.tflite): one kernel call per layer and a static memory plan."""
    from edgefact.export.codegen import generate_c, layer_table
    from edgefact.export.lowering import lower
    from edgefact.export.tflite_model import load_tflite
    from edgefact.firmware.fit import check_fits
    from edgefact.pipeline.deploy import estimate_footprint
    from edgefact.progress import use_output
    from edgefact.targets import get_target

    if not model.is_file():
        raise EdgefactError(f"model file not found: {model} (give the path of an int8 .tflite file)")
    if model.read_bytes()[4:8] != b"TFL3":
        raise EdgefactError(f"{model} is not a TFLite flatbuffer (no TFL3 identifier in its first bytes): "
                            "give an int8 .tflite file")
    tgt = get_target(target)
    check_output_dir(out_dir)  # a file, a path under a file, read-only: refused before any work
    with use_output(make_output(quiet, verbose, as_json)) as out:
        m = load_tflite(model)
        lower(m, tgt)  # what the generator refuses (an operator, a tensor type) is said before TFLM runs
        tflm = None
        if with_tflm:
            from edgefact.export.reference import tflm_arena_bytes

            tflm = tflm_arena_bytes(model)
        with os_errors_as_one_line(out_dir, "cannot write the C files"):  # e.g. a full disk
            # the fit check runs before anything is written; the five files arrive together
            gen = generate_c(m, out_dir, target=tgt, model_name=model.name, tflm_arena=tflm, pack=pack,
                             before_write=lambda g: check_fits(tgt, *estimate_footprint(g, 0),
                                                               what=f"model {model.name}"))
        line = f"arena: edgefact {gen.arena_bytes} bytes"
        if tflm is not None:
            line += f" | TFLM {tflm} bytes"
        summary = line + f"; weights {gen.const_bytes} bytes in flash"
        packed = []
        for pos, p in sorted((gen.packed or {}).items()):
            layer = gen.graph.layers[pos]
            packed.append({"layer": layer.name, "k": p.max_distinct, "bits": p.bits, "luts": p.num_luts,
                           "stored_bytes": p.stored_bytes, "original_bytes": p.original_bytes})
            out.info(f"packed {layer.name}: K={p.max_distinct}, {p.bits}-bit indices, {p.num_luts} LUT(s), "
                     f"{p.stored_bytes} bytes instead of {p.original_bytes} (saves {p.saved_bytes})")
        files = {name: str(gen.files[name]) for name in ("model.h", "model.c", "model_data.h", "model_data.c",
                                                        "plan.txt")}
        for path in files.values():
            out.info(f"wrote {path}")
        data = {"model": str(model), "target": tgt.name, "arena_bytes": gen.arena_bytes, "tflm_arena_bytes": tflm,
                "weight_bytes": gen.const_bytes, "packed": packed, "files": files,
                "layers": [{"index": la.index, "op": la.op, "kernel": la.kernel or None, "macs": la.macs}
                           for la in gen.graph.layers]}
        if not quiet and not as_json:
            click.echo(layer_table(gen.graph) + "\n")
        out.result(summary, data)


def deploy_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Click options matching deploy_tflite's keyword arguments (for `edgefact build --tflite`)."""
    options = [
        click.option("--opt", default="-O2", show_default=True, help="Optimisation flag for the firmware build."),
        click.option("--runner", default=None, help="Runner (qemu, host, gdb, pyocd, serial); default by target."),
        click.option("--inputs", "n_random", type=click.IntRange(1), default=4, show_default=True,
                     help="Number of random inputs embedded in the firmware and checked against TFLM."),
        click.option("--no-run", "no_run", is_flag=True, help="Build only; do not run or compare."),
    ]
    for option in reversed(options):
        f = option(f)
    return f
