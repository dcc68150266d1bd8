"""``edgefact build``: the whole chain with cached stages (see :mod:`edgefact.pipeline.build`)."""

from __future__ import annotations

from typing import Any

import click

from edgefact.pipeline.config import FACTORIZE_METHODS, load_config_file, make_config
from edgefact.targets.option_cli import runner_click_options


@click.command(name="build")
@click.option("--target", "-t", default=None, help="Core or board (see `edgefact targets`). [cortex-m7]")
@click.option("--model", "-m", default=None,
              help="Zoo name, training checkpoint (.pt), .onnx or .tflite. [the default zoo model]")
@click.option("--tflite", "tflite", type=click.Path(dir_okay=False), default=None,
              help="Shortcut for --model MODEL.tflite: skip training and conversion.")
@click.option("--dataset", "-d", default=None, help="fashion-mnist, mnist-5k, digits, an .npz or an image folder.")
@click.option("--factorize", type=click.Choice(FACTORIZE_METHODS), default=None, help="Factorization method. [none]")
@click.option("--rank", type=int, default=None, help="Rank for spatial/lowrank (default: by --energy).")
@click.option("--energy", type=float, default=None, help="Singular-value energy kept by spatial/lowrank. [0.9]")
@click.option("--atoms", type=int, default=None, help="Dictionary atoms per input channel.")
@click.option("--groups", type=int, default=None, help="Groups for --factorize grouped. [2]")
@click.option("--cluster", "-k", type=int, default=None, help="k-means clusters per layer, 0 = off. [16]")
@click.option("--cluster-per-channel/--cluster-per-tensor", default=None, help="Centroid tables per output channel or per tensor.")
@click.option("--epochs", type=float, default=None, help="Training epochs (0 = the model's default).")
@click.option("--finetune-epochs", type=float, default=None, help="Fine-tuning epochs after factorize/cluster. [1]")
@click.option("--batch-size", type=int, default=None)
@click.option("--lr", type=float, default=None)
@click.option("--width", type=float, default=None, help="Width multiplier of the zoo model. [1.0]")
@click.option("--seed", type=int, default=None)
@click.option("--train-samples", type=int, default=None, help="Train on this many samples only (0 = all).")
@click.option("--calib-samples", type=int, default=None, help="Calibration samples for int8 conversion. [300]")
@click.option("--min-agreement", type=float, default=None, help="Minimum float/int8 top-1 agreement. [0.98]")
@click.option("--eval-samples", type=int, default=None, help="Test samples run on the device. [100]")
@click.option("--bitexact-inputs", type=int, default=None, help="Random inputs checked against TFLM. [8]")
@click.option("--opt", default=None, help="Compiler optimization flag. [-O2]")
@click.option("--runner", default=None, help="qemu, host, gdb, serial or pyocd (default: the target's).")
@click.option("--pack", type=click.Choice(["auto", "always", "never"]), default=None,
              help="Store clustered weights as indices + look-up tables. [auto]")
@runner_click_options()
@click.option("--bench-runs", type=int, default=None, help="Timed runs on the device. [1]")
@click.option("--timeout", type=float, default=None, help="Run timeout in seconds. [300]")
@click.option("--no-run", is_flag=True, default=None, help="Build the firmware but do not run it.")
@click.option("--out", "-o", default=None, help="Output directory. [build]")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="edgefact.toml with any of these options (CLI wins).")
@click.option("--force", multiple=True, help="Re-run this stage even if cached (repeatable).")
def build_cmd(config_path: str | None, tflite: str | None, force: tuple[str, ...], **options: Any) -> None:
    """Train, factorize, cluster, export, generate C, build, run on the target and report.

    Every stage caches its artifact in the output directory; a rerun skips the stages whose
    inputs did not change. The last line is a summary you can paste.
    """
    from edgefact.pipeline.build import run_build

    if tflite:
        options["model"] = tflite
    file_values = load_config_file(config_path) if config_path else None
    cfg = make_config(file_values, options)
    run_build(cfg, force=force)
