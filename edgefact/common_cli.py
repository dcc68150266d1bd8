"""The one option vocabulary of every ``edgefact`` subcommand.

The same thing has the same option everywhere: name, short flag, type and help (``VOCABULARY``;
``tests/test_cli_options.py`` walks every command and checks it). Commands build their options
from the factories below instead of spelling them again. Older spellings stay accepted as
secondary names where they were public (``--max-train-samples``, ``--data``, ``--cluster``...),
never as the primary one.

Defaults are shown one way, click's ``[default: X]`` (``show_default=True`` with the real default;
``edgefact build`` tells a typed option from a default by click's parameter source, so a config
file still fills what was not typed).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

class FiniteFloatRange(click.FloatRange):
    """click's FloatRange that also refuses NaN and infinities (``--epochs nan`` passes a plain
    FloatRange, whose bounds compare false with NaN)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        v = super().convert(value, param, ctx)
        if isinstance(v, float) and not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return v



@dataclass(frozen=True)
class Term:
    """One concept of the vocabulary: its canonical long flag, short flag and click type name."""

    flag: str
    short: str | None
    type: str  # click ParamType.name ("integer", "float", "text", "choice", "boolean", ...)
    help: str


#: canonical flag -> term. A command option with one of these names must match it.
VOCABULARY: dict[str, Term] = {t.flag: t for t in (
    Term("--target", "-t", "text", "Core or board (see `edgefact targets`)."),
    Term("--model", "-m", "text", "Zoo name (see `edgefact models`), checkpoint (.pt), .onnx or .tflite."),
    Term("--dataset", "-d", "text", "fashion-mnist, mnist-5k, digits, an .npz file or an image folder."),
    Term("--out", "-o", "text", "Output file or directory."),
    Term("--clusters", "-k", "integer", "k-means clusters (shared values) per table, 0 = no clustering."),
    Term("--cluster-mode", None, "choice", "One centroid table per output channel or one per tensor."),
    Term("--epochs", None, "float", "Epochs; fractions train part of an epoch."),
    Term("--finetune-epochs", None, "float", "Fine-tuning epochs after factorization and clustering."),
    Term("--batch-size", None, "integer", "Samples per optimizer step."),
    Term("--lr", None, "float", "Peak learning rate (cosine schedule)."),
    Term("--seed", None, "integer", "Random seed (weights, data order, calibration subset)."),
    Term("--train-samples", None, "integer", "Train on the first N training samples only (0 = all)."),
    Term("--calib-samples", None, "integer", "Training samples that calibrate the int8 ranges."),
    Term("--min-agreement", None, "float", "Fail when float and int8 top-1 predictions agree on fewer test samples."),
    Term("--eval-samples", None, "integer", "Test samples to evaluate on."),
    Term("--runner", None, "text", "How to run the firmware: qemu, host, gdb, serial or pyocd.  [default: the target's]"),
    Term("--timeout", None, "float", "Seconds before a run is declared hung."),
    Term("--opt", None, "text", "Compiler optimization flag."),
    Term("--pack", None, "choice", "Clustered weights as 1/2/4-bit indices + look-up tables (docs/packing.md)."),
    Term("--width", None, "float", "Width multiplier of the zoo model."),
    Term("--quiet", "-q", "boolean", "Only warnings, errors and the result."),
    Term("--verbose", "-v", "boolean", "Also the details (tables of each stage, tool output)."),
    Term("--json", None, "boolean", "Print the result as JSON on stdout."),
    Term("--config", None, "text", "edgefact.toml to read options from (command-line options win)."),
    Term("--threads", None, "integer", "Torch threads.  [default: min(2, CPUs)]"),
    Term("--baseline", None, "text", "The build a run is compared against (its ratios and delivered MAC saving)."),
)}

#: spellings that used to be primary names and now are secondary aliases only
OLD_SPELLINGS = {"--max-train-samples": "--train-samples", "--max-train": "--train-samples", "--data": "--dataset",
                 "--cluster": "--clusters", "--mode": "--cluster-mode"}

CLUSTER_MODES = ("per-channel", "per-tensor")
PACK_POLICIES = ("auto", "always", "never")

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


def _complete_targets(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from edgefact.targets import target_names

    return [n for n in target_names() if n.startswith(incomplete)]


def _complete_models(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    if "." in incomplete or "/" in incomplete:
        return [click.shell_completion.CompletionItem(incomplete, type="file")]
    from edgefact.models.zoo import list_models

    return [n for n in list_models() if n.startswith(incomplete)]


def opt(flag: str, *extra_names: str, dest: str | None = None, help: str | None = None,
        **kw: Any) -> Callable[[F], F]:
    """A click option for a vocabulary term: canonical flag and short flag, then ``extra_names``
    (old spellings), the term's help unless ``help`` adds to it, and ``kw`` for click."""
    term = VOCABULARY[flag]
    names = [flag, *([term.short] if term.short else []), *extra_names]
    if dest:
        names.append(dest)
    text = help if help is not None else term.help
    if flag == "--target":
        kw.setdefault("shell_complete", _complete_targets)
    if flag == "--model":
        kw.setdefault("shell_complete", _complete_models)
    return click.option(*names, help=text, **kw)


def output_options(func: F) -> F:
    """``-q/--quiet``, ``-v/--verbose`` and ``--json``, as keyword arguments quiet, verbose, as_json."""
    func = opt("--json", dest="as_json", is_flag=True, default=False)(func)
    func = opt("--verbose", is_flag=True, default=False)(func)
    return opt("--quiet", is_flag=True, default=False)(func)


def make_output(quiet: bool, verbose: bool, as_json: bool = False) -> Any:
    """The :class:`edgefact.progress.Output` for these flags (``--quiet`` and ``--verbose`` conflict)."""
    from edgefact.errors import EdgefactError
    from edgefact.progress import NORMAL, QUIET, VERBOSE, Output

    if quiet and verbose:
        raise EdgefactError("--quiet and --verbose contradict each other: give one of them")
    return Output(QUIET if quiet else VERBOSE if verbose else NORMAL, json_mode=as_json)


def examples(*lines: str) -> Callable[[F], F]:
    """Append an ``Examples:`` block (kept verbatim by click) to a command's help."""

    def deco(func: F) -> F:
        doc = inspect.cleandoc(func.__doc__ or "")
        block = "\n".join(f"  {line}" for line in lines)
        func.__doc__ = f"{doc}\n\n\b\nExamples:\n{block}\n"
        return func

    return deco


__all__ = ["CLUSTER_MODES", "CONTEXT", "OLD_SPELLINGS", "PACK_POLICIES", "VOCABULARY", "Term", "examples",
           "make_output", "opt", "output_options"]
