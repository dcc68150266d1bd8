"""``edgefact compare DIR1 DIR2 ...``: build variants side by side, with the Pareto front."""

from __future__ import annotations

from pathlib import Path

import click

from edgefact.report.compare import comparison_table, load_variants, mixed_warning, write_compare


@click.command(name="compare")
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder for compare.html and compare.png.")
@click.option("--no-plot", is_flag=True, help="Only print the table.")
def compare_cmd(dirs: tuple[Path, ...], out_dir: Path, no_plot: bool) -> None:
    """Compare build directories (each holding a report.json): accuracy, MACs, instructions, flash, RAM.

    A `*` marks the variants on the Pareto front of accuracy vs instructions and of accuracy vs flash.
    """
    variants = load_variants(dirs)
    warn = mixed_warning(variants)
    if warn:
        click.secho(warn, fg="yellow", err=True)
    click.echo(comparison_table(variants))
    click.echo("* = on the Pareto front (no other variant is both at least as accurate and at least as cheap)")
    if not no_plot:
        for path in write_compare(variants, out_dir):
            click.echo(f"wrote {path}")


@click.command(name="report")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--no-write", is_flag=True, help="Only print; do not rewrite report.md/report.html.")
def report_cmd(path: Path, no_write: bool) -> None:
    """Validate a build's report.json, print its Markdown summary and re-render report.md/html.

    PATH is a build directory or a report.json file.
    """
    from edgefact.report.render import render_markdown, write_reports
    from edgefact.report.schema import load_report

    report = load_report(path)
    click.echo(render_markdown(report))
    if not no_write:
        out = path if path.is_dir() else path.parent
        for p in write_reports(report, out)[1:]:
            click.echo(f"wrote {p}")
