"""The ``edgefact`` command line.

Sub-commands live in the modules that implement them and are imported only when invoked, so
``edgefact targets`` does not pay for importing torch or TensorFlow.
"""

from __future__ import annotations

import importlib
import sys

import click

from edgefact import procs
from edgefact.errors import EdgefactError

# name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "targets": "edgefact.targets.cli:targets_cmd",
    "doctor": "edgefact.doctor:doctor_cmd",
    "run": "edgefact.firmware.cli:run_cmd",
    "memory": "edgefact.firmware.cli:memory_cmd",
    "models": "edgefact.models.cli:models_cmd",
    "train": "edgefact.pipeline.cli:train_cmd",
    "factorize": "edgefact.pipeline.cli:factorize_cmd",
    "cluster": "edgefact.pipeline.cluster_cli:cluster_cmd",
    "export": "edgefact.export.cli:export_cmd",
    "inspect": "edgefact.export.cli:inspect_cmd",
    "convert": "edgefact.export.convert_cli:convert_cmd",
    "ops": "edgefact.export.ops_cli:ops_cmd",
    "build": "edgefact.pipeline.build_cli:build_cmd",
    "init": "edgefact.pipeline.build_cli:init_cmd",
    "sweep": "edgefact.pipeline.sweep_cli:sweep_cmd",
    "compare": "edgefact.report.cli:compare_cmd",
    "report": "edgefact.report.cli:report_cmd",
    "flash": "edgefact.targets.board_cli:flash_cmd",
    "bench": "edgefact.targets.board_cli:bench_cmd",
}

HELP: dict[str, str] = {
    "targets": "List the cores and boards edgefact can build for.",
    "doctor": "Check toolchain, emulator, data sets and Python packages.",
    "run": "Build the firmware template (or a given app) for a target and run it.",
    "memory": "Flash/RAM report of a firmware ELF.",
    "models": "List the model zoo with params and MACs.",
    "train": "Train a zoo model on a data set.",
    "factorize": "Factorize a trained model's convolutions and fine-tune by distillation.",
    "cluster": "k-means weight sharing with fine-tuning.",
    "export": "Export a checkpoint to ONNX or full-integer int8 TFLite.",
    "inspect": "Show the operators and tensors of a .tflite model.",
    "convert": "Generate C for an int8 .tflite model.",
    "ops": "List the supported TFLite operators, their constraints and kernels.",
    "build": "The whole chain: train, factorize, cluster, export, C, firmware, run, report.",
    "init": "Write a commented edgefact.toml with every build option.",
    "sweep": "Build many variants (factorization x clustering x width x target) on Ray, with one shared cache.",
    "compare": "Compare build directories side by side.",
    "report": "Validate a report.json, print it and re-render report.md/html.",
    "flash": "Flash a firmware to a real board.",
    "bench": "Run a firmware on a board or emulator and report figures.",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, attr)
        except (ImportError, AttributeError):
            # Keep `edgefact --help` usable while a command is being developed; invoking it
            # reports what is missing.
            @click.command(name=cmd_name, help=HELP.get(cmd_name, ""))
            def _unavailable() -> None:
                raise EdgefactError(f"command '{cmd_name}' is not available: cannot import {target}")

            return _unavailable

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, HELP.get(name, "")) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgefact")
def cli() -> None:
    """edgefact: factorized CNNs onto microcontrollers, measured on the device."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning EdgefactError into a clean message and exit status 2.

    Ctrl-C, SIGTERM and SIGHUP kill every child process group at once and unwind (``finally``
    blocks run: temporary folders go, the ``--out`` lock is released); no child outlives the
    command (:mod:`edgefact.procs`).
    """
    previous = procs.install_signal_handlers()
    try:
        _main(argv)
    finally:
        # what is left of this command's children goes; later commands in this process (tests
        # calling main() in-process) may still start theirs: only a signal stops for good
        procs.kill_all(stop=False)
        procs.restore_signal_handlers(previous)


def _main(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, standalone_mode=False)
    except EdgefactError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except OSError as exc:
        from edgefact.fsutil import FS_FAULT_ERRNOS, describe_os_error

        if exc.errno not in FS_FAULT_ERRNOS:
            raise
        # read-only, full disk, a file where a folder should be...: one line, no traceback
        click.secho(f"error: {describe_os_error(exc)}", fg="red", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
