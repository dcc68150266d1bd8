"""``edgefact sweep``: build many variants on Ray (or in-process) with one shared stage cache."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from edgefact.common_cli import CONTEXT
from edgefact.errors import EdgefactError

_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmg]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str | int | None) -> int | None:
    """``524288``, ``512K``, ``512KiB``, ``1.5M`` -> bytes (K = 1024)."""
    if text is None or isinstance(text, int):
        return text
    m = _SIZE.match(str(text))
    if not m:
        raise EdgefactError(f"not a size: '{text}' (e.g. 524288, 512K, 1M)")
    scale = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def _set_values(items: tuple[str, ...]) -> dict[str, Any]:
    from edgefact.pipeline.sweep.spec import parse_scalar

    out: dict[str, Any] = {}
    for item in items:
        k, eq, v = item.partition("=")
        if not eq:
            raise EdgefactError(f"--set expects KEY=VALUE, got '{item}'")
        out[k.strip().replace("-", "_")] = parse_scalar(v.strip())
    return out


def _budget(fit: str | None, max_ms: float | None, max_flash: Any, max_ram: Any) -> Any:
    from edgefact.report.sweep import Budget
    from edgefact.targets import get_target

    if not fit:
        return Budget(max_ms=max_ms, max_flash=parse_size(max_flash), max_ram=parse_size(max_ram))
    board = get_target(fit)
    return Budget(max_ms=max_ms, max_flash=parse_size(max_flash) if max_flash is not None else board.flash_bytes,
                  max_ram=parse_size(max_ram) if max_ram is not None else board.ram_bytes, board=board.name,
                  board_core=board.core, board_clock_hz=board.clock_hz)


_AXES = ("model", "factorize", "rank", "energy", "atoms", "groups", "cluster", "cluster_mode", "pack", "width",
         "epochs", "target")


@click.command(name="sweep", context_settings=CONTEXT)
@click.argument("sweep_file", required=False, type=click.Path(dir_okay=False))
@click.option("--model", "-m", multiple=True, help="Axis: zoo name or model file (repeatable).")
@click.option("--factorize", multiple=True,
              help="Axis: none, spatial, lowrank, dictionary, depthwise, grouped, optionally with parameters: "
                   "lowrank:rank=4,energy=0.8 (repeatable).")
@click.option("--rank", multiple=True, type=int, help="Axis: rank for spatial/lowrank (repeatable).")
@click.option("--energy", multiple=True, type=float, help="Axis: singular-value energy kept (repeatable).")
@click.option("--atoms", multiple=True, type=int, help="Axis: dictionary atoms (repeatable).")
@click.option("--groups", multiple=True, type=int, help="Axis: groups for grouped (repeatable).")
@click.option("--clusters", "-k", "--cluster", "cluster", multiple=True, type=int,
              help="Axis: k-means clusters, 0 = off (repeatable).")
@click.option("--cluster-mode", multiple=True, type=click.Choice(["per-channel", "per-tensor"]),
              help="Axis: centroid tables per channel or per tensor (repeatable).")
@click.option("--pack", multiple=True, type=click.Choice(["auto", "always", "never"]), help="Axis (repeatable).")
@click.option("--width", multiple=True, type=float, help="Axis: width multiplier (repeatable).")
@click.option("--epochs", multiple=True, type=float, help="Axis: training epochs (repeatable).")
@click.option("--target", "-t", multiple=True, help="Axis: core or board (repeatable).")
@click.option("--variant", "variants", multiple=True,
              help="An explicit variant, e.g. 'factorize=grouped,groups=4,target=cortex-m7' (repeatable).")
@click.option("--set", "set_items", multiple=True, help="A build option for every variant, KEY=VALUE (repeatable).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="edgefact.toml with build options for every variant ([base] and --set win).")
@click.option("--out", "-o", default=None, help="Sweep directory. [sweep]")
@click.option("--cache", default=None,
              help="Shared stage cache (default OUT/cache); on a cluster a path every node sees.")
@click.option("--workers", "-j", type=int, default=None,
              help="At most N tasks at once (default: the machine's cores, or the cluster's).")
@click.option("--train-cpus", type=int, default=None, help="CPUs per training/fine-tuning task. [1]")
@click.option("--address", default=None, help="Ray cluster to use (default $RAY_ADDRESS, else a local Ray).")
@click.option("--local", is_flag=True, default=None, help="No Ray: run the same graph here, one stage at a time.")
@click.option("--fit", default=None, help="Recommend within this board's flash/RAM, ms at its clock.")
@click.option("--max-ms", type=float, default=None, help="Latency budget in ms (estimated at the clock).")
@click.option("--max-flash", default=None, help="Flash budget (bytes, or 512K, 1M).")
@click.option("--max-ram", default=None, help="RAM budget (bytes, or 256K).")
@click.option("--dry-run", is_flag=True, help="Print the variants and the stage graph, run nothing.")
def sweep_cmd(sweep_file: str | None, variants: tuple[str, ...], set_items: tuple[str, ...], config_path: str | None,
              dry_run: bool, **options: Any) -> None:
    """Build every variant of a sweep (cross product of the axes and/or explicit variants).

    Every variant is an ordinary `edgefact build` whose stages share one content-addressed cache:
    the baseline trains once, each factorization runs once, each (model, target) pair deploys once,
    and a rerun or an interrupted sweep only runs what is missing. Runs on Ray Core (a local Ray by
    default, --address for a cluster) or with --local in this process. Writes OUT/sweep.md,
    sweep.json and sweep.html: variants, Pareto fronts, delivered MAC savings and the
    recommendation per target. Exit status 1 when a variant failed.

    \b
    Examples:
      edgefact sweep --factorize none --factorize lowrank -k 0 -k 16 -t cortex-m4 -t cortex-m7 --local
      edgefact sweep sweep.toml --fit nucleo-l4r5zi
    """
    from edgefact.pipeline.config import load_config_file
    from edgefact.pipeline.sweep import SweepOptions, plan_sweep, run_sweep
    from edgefact.pipeline.sweep.progress import SweepProgress
    from edgefact.pipeline.sweep.spec import RUN_KEYS, SweepSpec, load_sweep_file, merge_cli
    from edgefact.report.sweep import summary_text

    spec = load_sweep_file(sweep_file) if sweep_file else SweepSpec()
    if config_path:
        spec.base = {**load_config_file(config_path), **spec.base}
    spec = merge_cli(spec, axes={k: options.pop(k) for k in _AXES}, variants=variants, base=_set_values(set_items))
    run = {k: v for k, v in spec.run.items() if k in RUN_KEYS}
    run.update({k: v for k, v in options.items() if v is not None})
    out = Path(run.get("out") or "sweep")
    variants_, graph = plan_sweep(spec, out)
    counts = graph.counts()
    click.echo(f"edgefact sweep: {len(variants_)} variants, {len(graph.nodes) - counts.get('report', 0)} distinct "
               f"stages ({', '.join(f'{n} {k}' for k, n in counts.items() if k != 'report')}), out {out}", err=True)
    for pv in graph.variants:
        note = {"invalid": f"  INVALID: {pv.error}", "duplicate": f"  same build as {pv.same_as}"}.get(pv.status, "")
        click.echo(f"  {pv.variant.name}{note}", err=True)
    if dry_run:
        return
    opts = SweepOptions(out=out, cache=Path(run["cache"]) if run.get("cache") else None,
                        workers=run.get("workers"), train_cpus=int(run.get("train_cpus") or 1),
                        address=run.get("address"), local=bool(run.get("local")),
                        budget=_budget(run.get("fit"), run.get("max_ms"), run.get("max_flash"), run.get("max_ram")))
    if opts.workers is not None and opts.workers < 1:
        raise EdgefactError("--workers must be at least 1")
    try:
        with SweepProgress() as progress:
            result = run_sweep(spec, opts, update=progress)
    except KeyboardInterrupt:
        click.echo(f"interrupted: what finished is in the cache ({opts.cache_dir}) and {out / 'sweep.md'}; "
                   "run the same command again to resume", err=True)
        sys.exit(130)
    click.echo(summary_text(result.doc))
    for line in _recommendations(result.doc):
        click.echo(line)
    click.echo(f"reports: {', '.join(str(p) for p in result.paths)}", err=True)
    if not result.ok:
        sys.exit(1)


def _recommendations(doc: dict[str, Any]) -> list[str]:
    from edgefact.report.sweep import recommendation_lines

    return ["recommended " + line.replace("**", "") for line in recommendation_lines(doc) if not line.startswith("(")]
