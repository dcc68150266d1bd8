"""`edgefact targets`: the cores and boards as a table."""

from __future__ import annotations

import json

import click

from edgefact.common_cli import CONTEXT, examples, opt
from edgefact.targets import all_targets
from edgefact.units import format_bytes


@click.command(name="targets", context_settings=CONTEXT)
@opt("--json", dest="as_json", is_flag=True, help="Print JSON instead of a table.")
@examples("edgefact targets", "edgefact targets --json | jq '.[].name'")
def targets_cmd(as_json: bool) -> None:
    """List the cores and boards edgefact can build for (`--target` takes any NAME)."""
    ts = all_targets()
    if as_json:
        click.echo(json.dumps([t.as_dict() | {"description": t.description, "unit": t.unit}
                               for t in ts.values()], indent=2))
        return
    rows = [("NAME", "KIND", "CORE", "EMULATOR", "CLOCK", "FLASH", "RAM", "DESCRIPTION")]
    for t in ts.values():
        rows.append((t.name, t.kind, t.core, t.qemu_machine or "native",
                     f"{t.clock_hz / 1e6:g} MHz" if t.clock_hz else "-",
                     format_bytes(t.flash_bytes, "-"), format_bytes(t.ram_bytes, "-"), t.description))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    click.echo("\nBoards build for and run on their core's emulator; their flash/RAM are the budgets "
               "checked at build time and their clock gives time estimates.")
