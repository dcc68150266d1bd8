"""``edgefact build`` (the whole chain with cached stages, :mod:`edgefact.pipeline.build`) and
``edgefact init`` (a commented ``edgefact.toml``).

Everything a user typed is checked here, before the first stage starts (:func:`check_build`):
the model file's content, zoo names, the data set, target and runner names, conflicting options.
A build that fails leaves no empty output directory behind.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from edgefact.common_cli import (
    CLUSTER_MODES,
    CONTEXT,
    PACK_POLICIES,
    FiniteFloatRange,
    examples,
    make_output,
    opt,
    output_options,
)
from edgefact.errors import EdgefactError
from edgefact.pipeline.config import FACTORIZE_METHODS, BuildConfig, load_config_file, make_config
from edgefact.targets.option_cli import runner_click_options

#: the config file a build picks up from the current directory when no --config is given
LOCAL_CONFIG = "edgefact.toml"
_D = BuildConfig()


# -- early validation --------------------------------------------------------------------------

#: config fields whose flag is not the field name
_FLAG = {"cluster": "--clusters", "cluster_per_channel": "--cluster-mode"}


def sniff_model_file(path: Path) -> str | None:
    """'tflite', 'onnx', 'checkpoint' from a file's first bytes, None when it is none of them
    (TFLite's file identifier sits at offset 4, torch.save writes a zip archive or a pickle)."""
    head = path.read_bytes()[:16]
    if len(head) >= 8 and head[4:8] == b"TFL3":
        return "tflite"
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":  # torch.save: a zip archive or a pickle
        return "checkpoint"
    # an ONNX ModelProto starts with field 1 (ir_version, varint) or field 8 (opset) / 2..7 strings
    if head[:1] in (b"\x08", b"\x12", b"\x1a", b"\x22", b"\x2a", b"\x32", b"\x3a", b"\x42") and len(head) > 2:
        return "onnx"
    return None


def check_build(cfg: BuildConfig, given: dict[str, Any]) -> None:
    """Refuse a configuration before any work: file contents, names, conflicts (``given``: the
    options set on the command line or in the config file)."""
    from edgefact.pipeline.build import model_kind
    from edgefact.targets import get_target

    get_target(cfg.target)  # names the valid ones
    kind = model_kind(cfg.model)
    if kind == "zoo":
        from edgefact.models.zoo import list_models

        if cfg.model and cfg.model not in list_models():
            raise EdgefactError(f"unknown model '{cfg.model}': give a zoo name ({', '.join(list_models())}), "
                                "a .pt checkpoint, an .onnx or a .tflite file")
    else:
        path = Path(cfg.model).expanduser()
        if not path.is_file():
            raise EdgefactError(f"model file {path} does not exist: give a zoo name (`edgefact models`), a .pt "
                                "checkpoint, an .onnx or a .tflite file")
        found = sniff_model_file(path)
        if found != kind:
            what = f"looks like a {found} file" if found else "is not a TFLite, ONNX or checkpoint file"
            raise EdgefactError(f"{path} is named like a {kind} file but {what} (checked its first bytes); "
                                "give the right file or rename it")
        ignored = [k for k in ("factorize", "cluster", "cluster_per_channel", "epochs", "finetune_epochs", "width",
                               "lr", "batch_size") if k in given and kind in ("onnx", "tflite")]
        if kind == "tflite":
            ignored += [k for k in ("calib_samples", "min_agreement") if k in given]
        if "factorize" in given and kind == "checkpoint":
            ignored = [k for k in ignored if k != "factorize"]
        if ignored:
            flags = ", ".join(_FLAG.get(k, "--" + k.replace("_", "-")) for k in ignored)
            raise EdgefactError(f"{flags} cannot apply to a {kind} model (its training and conversion are done): "
                                "drop them, or start from a zoo name or a checkpoint")
    if kind in ("zoo", "checkpoint") or cfg.eval_samples > 0:
        _check_dataset(cfg.dataset)
    if cfg.runner:
        from edgefact.targets.runners import registered_runners

        if cfg.runner not in registered_runners():
            raise EdgefactError(f"unknown runner '{cfg.runner}': choose one of {', '.join(registered_runners())}")
    if cfg.factorize == "none" and any(k in given for k in ("rank", "energy", "max_ratio", "atoms", "groups",
                                                           "round_ranks")):
        raise EdgefactError("--rank/--energy/--max-ratio/--round-ranks/--atoms/--groups set the factorization: "
                            "add --factorize METHOD")


def _check_dataset(name: str) -> None:
    from edgefact.pipeline.data import BUILTIN_DATASETS

    if name in BUILTIN_DATASETS:
        return
    p = Path(name).expanduser()
    if p.suffix == ".npz" and p.is_file() or p.is_dir():
        return
    raise EdgefactError(f"unknown data set '{name}': use one of {', '.join(BUILTIN_DATASETS)}, an existing .npz file "
                        "or an image folder (one subfolder per class)")


# -- the command -------------------------------------------------------------------------------


@click.command(name="build", context_settings=CONTEXT)
@opt("--target", multiple=True, help="Core or board (see `edgefact targets`); repeat to build each in turn, "
     f"sharing the cached stages.  [default: {_D.target}]")
@opt("--model", default=None, help="Zoo name (see `edgefact models`), checkpoint (.pt), .onnx or .tflite.  "
     "[default: the default zoo model]")
@click.option("--tflite", "tflite", type=click.Path(dir_okay=False), default=None,
              help="Same as --model FILE.tflite: skip training and conversion.")
@opt("--dataset", default=_D.dataset, show_default=True)
@click.option("--factorize", type=click.Choice(FACTORIZE_METHODS), default=_D.factorize, show_default=True,
              help="Factorization method.")
@click.option("--rank", type=click.IntRange(1), default=None, help="Rank for spatial/lowrank.  [default: by --energy]")
@click.option("--energy", type=FiniteFloatRange(0, 1, min_open=True), default=_D.energy, show_default=True,
              help="Singular-value energy kept by spatial/lowrank.")
@click.option("--max-ratio", type=FiniteFloatRange(0, 1, min_open=True), default=_D.max_ratio, show_default=True,
              help="Energy-chosen spatial/lowrank ranks and default dictionary atom counts keep at most this share "
                   "of a layer's weights and MACs (after --round-ranks; 1: no cap).")
@click.option("--round-ranks", type=click.IntRange(1), default=None,
              help="Round energy-chosen ranks up to this channel multiple (1: off).  [default: the target's "
                   "fast-kernel multiple: 4 on DSP cores, 8 on Helium]")
@click.option("--atoms", type=click.IntRange(1), default=None, help="Dictionary atoms per input channel.  [default: h*w/2, fewer where "
              "a layer would keep more than --max-ratio]")
@click.option("--groups", type=click.IntRange(1), default=_D.groups, show_default=True,
              help="Groups for --factorize grouped.")
@opt("--clusters", "--cluster", dest="cluster", type=click.IntRange(0, 256), default=_D.cluster,
     show_default=True)
@opt("--cluster-mode", type=click.Choice(CLUSTER_MODES), default="per-channel", show_default=True)
@opt("--epochs", type=FiniteFloatRange(0), default=_D.epochs, show_default=True,
     help="Training epochs (0 = the model's recipe); fractions train part of an epoch.")
@opt("--finetune-epochs", type=FiniteFloatRange(0), default=_D.finetune_epochs, show_default=True)
@opt("--batch-size", type=click.IntRange(1), default=_D.batch_size, show_default=True)
@opt("--lr", type=FiniteFloatRange(0), default=_D.lr, show_default=True, help="Peak learning rate (0 = the model's recipe).")
@opt("--width", type=FiniteFloatRange(0, min_open=True), default=_D.width, show_default=True)
@opt("--seed", type=int, default=_D.seed, show_default=True)
@opt("--train-samples", type=click.IntRange(0), default=_D.train_samples, show_default=True)
@opt("--calib-samples", type=click.IntRange(1), default=_D.calib_samples, show_default=True)
@opt("--min-agreement", type=FiniteFloatRange(0, 1, min_open=True), default=_D.min_agreement,
     show_default=True)
@opt("--eval-samples", type=click.IntRange(0), default=_D.eval_samples, show_default=True,
     help="Test samples run on the device for on-device accuracy (0 = none).")
@click.option("--bitexact-inputs", type=click.IntRange(1), default=_D.bitexact_inputs, show_default=True,
              help="Random inputs checked against TFLM.")
@opt("--opt", default=_D.opt, show_default=True)
@opt("--runner", default=None)
@opt("--pack", type=click.Choice(PACK_POLICIES), default=_D.pack, show_default=True)
@runner_click_options()
@click.option("--bench-runs", type=click.IntRange(1), default=_D.bench_runs, show_default=True,
              help="Timed runs on the device (the fastest is reported).")
@opt("--timeout", type=FiniteFloatRange(0, min_open=True), default=_D.timeout, show_default=True)
@click.option("--no-run", is_flag=True, default=None, help="Build the firmware but do not run it.")
@opt("--out", default=_D.out, show_default=True, help="Output directory (one cached folder per stage).")
@opt("--config", dest="config_path", type=click.Path(dir_okay=False), default=None,
     help=f"edgefact.toml to read options from (command-line options win).  [default: ./{LOCAL_CONFIG} when present]")
@click.option("--force", multiple=True, metavar="STAGE", help="Re-run this stage even if cached (repeatable).")
@opt("--baseline", type=click.Path(path_type=Path), default=None, metavar="DIR",
     help="A build (or report.json) this run derives from, e.g. the unfactorized model: the report adds "
          "speed-up, MAC/flash/arena ratios and the delivered share of the MAC saving, per layer too.")
@output_options
@examples("edgefact build                                   # default model, fashion-mnist, cortex-m7",
          "edgefact build -t cortex-m4 -t cortex-m55 --factorize lowrank -k 16",
          "edgefact build --tflite kws.tflite -t nucleo-l4r5zi --json",
          "edgefact build -o runs/lr --factorize lowrank --baseline runs/base   # delivered MAC saving")
def build_cmd(config_path: str | None, tflite: str | None, force: tuple[str, ...], target: tuple[str, ...],
              cluster_mode: str | None, quiet: bool, verbose: bool, as_json: bool, baseline: Path | None = None,
              **options: Any) -> None:
    """Train, factorize, cluster, export, generate C, build, run on the target and report.

    Every stage caches its artifact in the output directory; a rerun skips the stages whose
    inputs did not change. Progress and notes go to stderr; stdout's last line is a summary you
    can paste (or its JSON with --json).
    """
    from edgefact.progress import use_output

    out = make_output(quiet, verbose, as_json)
    ctx = click.get_current_context()
    typed = {ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT}
    # a default shown in --help must not override the config file: pass only what was typed
    options = {k: (v if ctx.get_parameter_source(k) in typed else None) for k, v in options.items()}
    if ctx.get_parameter_source("cluster_mode") not in typed:
        cluster_mode = None
    with use_output(out):
        if tflite:
            if options.get("model"):
                raise EdgefactError("--tflite FILE and --model are the same option: give one of them")
            options["model"] = tflite
        if cluster_mode is not None:
            options["cluster_per_channel"] = cluster_mode == "per-channel"
        file_values = _config_values(config_path, out)
        given = {k for k, v in options.items() if v is not None} | set(file_values or {})
        targets = list(target) or [None]
        if len(set(targets)) != len(targets):
            raise EdgefactError(f"--target given twice: {', '.join(t for t in targets if t)}")
        configs = [make_config(file_values, {**options, "target": t}) for t in targets]
        if baseline is not None:
            from edgefact.report.schema import load_report

            load_report(baseline)  # a missing or invalid baseline fails now, not after the build
        for cfg in configs:
            check_build(cfg, given)
            if baseline is not None:
                cfg.extra["baseline"] = str(baseline)
        run_builds(configs, force)


def _config_values(config_path: str | None, out: Any) -> dict[str, Any] | None:
    if config_path:
        return load_config_file(config_path)
    local = Path(LOCAL_CONFIG)
    if local.is_file():
        out.info(f"note: using ./{LOCAL_CONFIG} (options given here win; --config FILE picks another)")
        return load_config_file(local)
    return None


def run_builds(configs: list[BuildConfig], force: tuple[str, ...]) -> None:
    """Run the builds in turn; a failed build leaves no output directory it created empty."""
    from edgefact.fsutil import describe_os_error, directory_lock
    from edgefact.pipeline.build import run_build

    for cfg in configs:
        out_dir = Path(cfg.out)
        existed = out_dir.exists()
        # one build per output directory: a second one waits, then fails naming this one
        with directory_lock(out_dir):
            try:
                try:
                    _expect_from_last_run(cfg, out_dir)
                    run_build(cfg, force=force)
                except OSError as exc:  # a full disk, a folder made read-only meanwhile...
                    raise EdgefactError(describe_os_error(exc, out_dir, "the build could not write")) from exc
            except BaseException:
                if not existed and out_dir.is_dir() and not any(out_dir.rglob("manifest.json")):
                    shutil.rmtree(out_dir, ignore_errors=True)
                raise


def _expect_from_last_run(cfg: BuildConfig, out_dir: Path) -> None:
    """Tell the output the stages of this build and how long each took last time (whole-build ETA)."""
    import json

    from edgefact.pipeline.build import model_kind
    from edgefact.pipeline.stages import plan
    from edgefact.progress import current
    from edgefact.targets import get_target

    target = get_target(cfg.target).name
    names = [s.dir_name(target) for s in plan(cfg, model_kind(cfg.model))]
    seconds: dict[str, float] = {}
    for name in names:
        try:
            seconds[name] = float(json.loads((out_dir / name / "manifest.json").read_text())["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    seconds.setdefault("report", 0.0)  # written in no time, and never cached
    current().expect(names, seconds)


# -- edgefact init -----------------------------------------------------------------------------


def config_template() -> str:
    """A commented edgefact.toml with every build option at its default."""
    import ast
    import inspect

    from edgefact.pipeline import config as config_mod

    docs: dict[str, str] = {}
    tree = ast.parse(inspect.getsource(config_mod.BuildConfig))
    body = tree.body[0].body  # type: ignore[attr-defined]
    for node, nxt in zip(body, body[1:], strict=False):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
            docs[node.target.id] = " ".join(str(nxt.value.value).split())  # type: ignore[union-attr]
    lines = ["# edgefact.toml: options of `edgefact build` (command-line options win).",
             "# `edgefact build` reads ./edgefact.toml when present, or the file given with --config.",
             "# Keys are the long options without the leading --, with _ for -: e.g. calib_samples.",
             "[build]"]
    for f in dataclasses.fields(BuildConfig):
        if f.name in ("extra", "runner_options"):
            continue
        value = getattr(_D, f.name)
        if f.name in docs:
            lines.append(f"# {docs[f.name]}")
        text = "true" if value is True else "false" if value is False else \
            f'"{value}"' if isinstance(value, str) else repr(value)
        lines.append(f"# {f.name} = {text}" if value is None else f"{f.name} = {text}")
    return "\n".join(lines) + "\n"


@click.command(name="init", context_settings=CONTEXT)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), default=Path(LOCAL_CONFIG))
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@examples("edgefact init && edgefact build", "edgefact init configs/m4.toml && edgefact build --config configs/m4.toml")
def init_cmd(path: Path, force: bool) -> None:
    """Write a commented edgefact.toml with every build option at its default."""
    from edgefact.fsutil import atomic_write_text

    if path.exists() and not force:
        raise EdgefactError(f"{path} exists: edit it, or pass --force to overwrite it")
    atomic_write_text(path, config_template())
    load_config_file(path)  # what we write must read back
    click.echo(f"wrote {path}")
