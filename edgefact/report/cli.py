"""``edgefact compare DIR1 DIR2 ...`` (runs side by side, the first as baseline) and ``edgefact report``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from edgefact.common_cli import CONTEXT, examples, make_output, opt, output_options
from edgefact.report.compare import (
    comparison_data,
    comparison_table,
    default_out_dir,
    diffs,
    layer_diff_table,
    load_variants,
    mixed_warning,
    write_compare,
)
from edgefact.report.render import format_table


@click.command(name="compare", context_settings=CONTEXT)
@click.argument("dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@opt("--out", dest="out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
     help="Folder for compare.html/png/csv/json.  [default: compare/ beside the runs]")
@click.option("--no-plot", is_flag=True, help="No compare.html/png (still compare.csv/json).")
@opt("--baseline", type=click.Path(path_type=Path), default=None, metavar="DIR",
     help="The run the others are compared against (moved first; added when not among DIRS).  "
          "[default: the first DIR]")
@click.option("--layers", "show_layers", is_flag=True,
              help="Also print the per-layer diff of every run against the first (the baseline).")
@output_options
@examples("edgefact compare build-m4 build-m55",
          "edgefact compare base lowrank lowrank-k16 --layers",
          "edgefact compare m4 m55 m7 --baseline m55 --layers        # per-layer diff against m55",
          "edgefact compare runs/* --json --out cmp/")
def compare_cmd(dirs: tuple[Path, ...], out_dir: Path | None, no_plot: bool, show_layers: bool, quiet: bool,
                verbose: bool, as_json: bool, baseline: Path | None = None) -> None:
    """Compare build directories (each holding a report.json): accuracy, MACs, instructions, flash, RAM.

    The first run is the baseline: the others get their speed-up, flash and RAM ratios and the
    delivered share of their MAC saving (measured saving / promised saving). A `*` marks the Pareto
    fronts (accuracy vs instructions and vs flash; without accuracy, instructions vs flash and vs RAM).
    """
    from edgefact.progress import use_output

    with use_output(make_output(quiet, verbose, as_json)) as out:
        if baseline is not None:  # any two runs: the chosen one first
            dirs = (baseline, *(d for d in dirs if Path(d).resolve() != Path(baseline).resolve()))
        variants = load_variants(dirs)
        warn = mixed_warning(variants)
        if warn:
            out.warn(warn)
        target = out_dir or default_out_dir(list(dirs))
        for path in write_compare(variants, target, plot=not no_plot):
            out.info(f"wrote {path}")
        text = [comparison_table(variants),
                "* = on the Pareto front (no other variant is both at least as good and at least as cheap)"]
        if show_layers:
            for label, d in diffs(variants).items():
                text.append(f"\n{label} vs {variants[0].label}:")
                text.append("the layers do not align: no per-layer diff" if d is None
                            else format_table(*layer_diff_table(d)))
        out.result("\n".join(text), comparison_data(variants))


@click.command(name="report", context_settings=CONTEXT)
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--no-write", is_flag=True, help="Only print; do not rewrite report.md/report.html.")
@opt("--json", dest="as_json", is_flag=True, help="Print the validated report.json instead of the Markdown.")
@examples("edgefact report build", "edgefact report build/report-cortex-m4/report.json --no-write")
def report_cmd(path: Path, no_write: bool, as_json: bool = False) -> None:
    """Validate a build's report.json, print its Markdown summary and re-render report.md/html.

    PATH is a build directory or a report.json file.
    """
    from edgefact.report.render import render_markdown, write_reports
    from edgefact.report.schema import load_report

    report = load_report(path)
    click.echo(json.dumps(report, indent=2) if as_json else render_markdown(report))
    if not no_write:
        out = path if path.is_dir() else path.parent
        for p in write_reports(report, out)[1:]:
            click.echo(f"wrote {p}", err=True)
