"""``edgefact ops``: every supported TFLite operator, its constraints and the kernels it runs on."""

from __future__ import annotations

import json

import click

from edgefact.common_cli import CONTEXT
from edgefact.export.ops import all_ops


@click.command(name="ops", context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
def ops_cmd(as_json: bool) -> None:
    """List the TFLite operators the code generator supports.

    \b
    Example:
      edgefact ops
    """
    ops = all_ops()
    if as_json:
        click.echo(json.dumps([{"op": name, "constraints": e.constraints, "kernels": list(e.kernel_names)}
                               for name, e in ops.items()], indent=2))
        return
    width = max(len(n) for n in ops)
    click.echo(f"{len(ops)} operators (int8; float32 only at the model boundary)")
    for name, e in ops.items():
        kernels = ", ".join(e.kernel_names) or "(no kernel call: see above)"
        click.echo(f"{name:<{width}}  {e.constraints}")
        click.echo(f"{'':<{width}}  kernels: {kernels}")
