"""``edgefact export`` (checkpoint -> ONNX or int8 TFLite) and ``edgefact inspect`` (a .tflite)."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np

from edgefact.common_cli import CONTEXT, FiniteFloatRange, examples, opt
from edgefact.errors import EdgefactError
from edgefact.export.onnx_export import DEFAULT_OPSET, SUPPORTED_OPSETS
from edgefact.export.tflite_convert import DEFAULT_CALIB_SAMPLES, DEFAULT_MIN_AGREEMENT


@click.command(name="export", context_settings=CONTEXT)
@click.argument("checkpoint", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--to", "fmt", type=click.Choice(["onnx", "tflite"]), required=True, help="Output format.")
@opt("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Output file.")
@opt("--calib-samples", default=DEFAULT_CALIB_SAMPLES, show_default=True, type=click.IntRange(1),
     help="Training samples that calibrate the int8 ranges (class-balanced, fixed seed).")
@opt("--min-agreement", default=DEFAULT_MIN_AGREEMENT, show_default=True, type=FiniteFloatRange(0, 1))
@opt("--eval-samples", default=None, type=click.IntRange(1),
     help="Test samples for accuracy/agreement.  [default: the whole test split]")
@click.option("--opset", default=DEFAULT_OPSET, show_default=True,
              type=click.IntRange(SUPPORTED_OPSETS.start, SUPPORTED_OPSETS.stop - 1), help="ONNX opset.")
@click.option("--onnx-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --to tflite: also keep the intermediate ONNX file here.")
@opt("--dataset", "--data", dest="data", default=None, help="Data set name or path.  [default: the checkpoint's]")
@examples("edgefact export fm.pt --to tflite --out fm.tflite", "edgefact export fm.pt --to onnx --out fm.onnx")
def export_cmd(
    checkpoint: Path,
    fmt: str,
    out: Path,
    calib_samples: int,
    min_agreement: float,
    eval_samples: int | None,
    opset: int,
    onnx_out: Path | None,
    data: str | None,
) -> None:
    """Export a checkpoint to ONNX or to a checked full-integer int8 TFLite model."""
    from edgefact.pipeline import from_checkpoint as fc

    if fmt == "onnx":
        res = fc.export_onnx_from_checkpoint(checkpoint, out, opset=opset, data=data)
        click.echo(res.summary())
        return
    from edgefact.pipeline.checkpoint import load_checkpoint

    ckpt = load_checkpoint(checkpoint)
    ds = fc.dataset_for_checkpoint(ckpt, data)
    both = fc.export_model_to_tflite(
        ckpt.build_model(), ds, out, calib_samples, min_agreement, eval_samples, opset, onnx_path=onnx_out
    )
    click.echo(both.onnx.summary() if onnx_out else
               f"ONNX parity: max |diff| {both.onnx.max_abs_diff:.3g} (relative {both.onnx.relative_diff:.3g})")
    click.echo(both.tflite.summary())


def _fmt_quant(t: object) -> str:
    q = getattr(t, "quantization", None)
    if q is None or len(q.scales) == 0:
        return ""
    if len(q.scales) == 1:
        return f"scale {float(q.scales[0]):.6g} zp {int(q.zero_points[0])}"
    s = np.asarray(q.scales, dtype=np.float64)
    return f"per-channel(dim {q.quantized_dimension}) x{len(s)} scale {s.min():.3g}..{s.max():.3g}"


@click.command(name="inspect", context_settings=CONTEXT)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tensors/--no-tensors", default=True, show_default=True, help="Also list every tensor.")
@examples("edgefact inspect fm.tflite", "edgefact inspect --no-tensors build/tflite/model.tflite")
def inspect_cmd(model: Path, tensors: bool) -> None:
    """Show the operators and tensors of a .tflite model."""
    from edgefact.export.tflite_model import load_tflite

    if not model.is_file():
        raise EdgefactError(f"{model} does not exist: give a .tflite file (make one with `edgefact export --to tflite`)")
    m = load_tflite(model)
    click.echo(f"{model}: {len(model.read_bytes())} bytes, {len(m.operators)} operators, {len(m.tensors)} tensors, "
               f"schema v{m.version}, {m.subgraph_count} subgraph(s)")
    for role, idx in (("input", m.inputs), ("output", m.outputs)):
        for i in idx:
            t = m.tensors[i]
            click.echo(f"  {role} #{i} {list(t.shape)} {t.type_name} {_fmt_quant(t)}")
    click.echo("operators:")
    for op in m.operators:
        name = op.name if op.name != "CUSTOM" else f"CUSTOM({op.custom_code})"
        ins = " ".join(f"#{i}{list(m.tensors[i].shape)}" for i in op.inputs if i >= 0)
        outs = " ".join(f"#{i}{list(m.tensors[i].shape)}" for i in op.outputs)
        opts = ", ".join(f"{k}={v}" for k, v in op.options.items() if v not in (None, 0, False, "NONE"))
        click.echo(f"  {op.index:>3} {name:<20} {ins} -> {outs}" + (f"  ({opts})" if opts else ""))
    if tensors:
        click.echo("tensors:")
        for t in m.tensors:
            kind = "const" if t.is_constant else "act"
            click.echo(f"  #{t.index:<3} {t.type_name:<7} {str(list(t.shape)):<18} {kind:<5} {t.name[:60]}  {_fmt_quant(t)}")
