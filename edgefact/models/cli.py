"""``edgefact models``: the zoo with parameters and MACs for a given input."""

from __future__ import annotations

import click

from edgefact.common_cli import CONTEXT, FiniteFloatRange, examples, opt
from edgefact.models.zoo import DEFAULT_MODEL, build_model, list_models, model_summary, parse_shape


@click.command(name="models", context_settings=CONTEXT)
@click.option("--input", "input_text", default="1x28x28", show_default=True, help="Input shape CxHxW.")
@click.option("--classes", "num_classes", default=10, show_default=True, type=click.IntRange(1),
              help="Number of classes.")
@opt("--width", default=1.0, show_default=True, type=FiniteFloatRange(0, min_open=True))
@click.option("--layers", "show_layers", default=None, metavar="MODEL", help="Also print the per-layer table of MODEL.")
@examples("edgefact models", "edgefact models --input 3x32x32 --layers resnet8")
def models_cmd(input_text: str, num_classes: int, width: float, show_layers: str | None) -> None:
    """List the model zoo with params (BatchNorm folded) and MACs for one input."""
    import torch

    from edgefact.models.ops import count_ops

    torch.set_num_threads(1)
    shape = parse_shape(input_text)
    click.echo(f"input {'x'.join(map(str, shape))}, {num_classes} classes, width {width:g}")
    click.echo(f"{'model':13} {'params':>9} {'MACs':>11} {'peak act':>9}  description")
    for name in list_models():
        rep = count_ops(build_model(name, shape, num_classes, width), shape)
        mark = " (default)" if name == DEFAULT_MODEL else ""
        click.echo(
            f"{name:13} {rep.deploy_params:9d} {rep.total_macs:11d} {rep.peak_activation_elems:9d}  {model_summary(name)}{mark}"
        )
    if show_layers:
        click.echo("")
        click.echo(count_ops(build_model(show_layers, shape, num_classes, width), shape).table())
