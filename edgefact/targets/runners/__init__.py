"""Runners: run a built firmware (emulator, host, debugger, serial) and collect its log.

The built-in runner classes register here; each declares its :class:`RunnerCapabilities`, which
is all the rest of edgefact asks of a runner (never its name).
"""

from pathlib import Path
from typing import Any

from edgefact.firmware.boards import check_image
from edgefact.firmware.build import build_info
from edgefact.targets import Target
from edgefact.targets.runners.base import (
    FLASH_RUNNER,
    FirmwareFaultError,
    Runner,
    RunResult,
    RunTimeoutError,
    default_runner_for,
    get_runner,
    register_runner,
    registered_runners,
    result_from_log,
    runner_capabilities,
    runner_class,
)
from edgefact.targets.runners.capabilities import RunnerCapabilities, RunnerOption
from edgefact.targets.runners.gdb import GdbRunner
from edgefact.targets.runners.host import HostRunner
from edgefact.targets.runners.options import option_keys, public_options, runner_options, split_runner_values
from edgefact.targets.runners.pyocd import PyocdRunner
from edgefact.targets.runners.qemu import QemuRunner
from edgefact.targets.runners.serial import SerialRunner

#: the built-in runner classes (each registered under its ``name`` by ``@register_runner``)
BUILTIN_RUNNERS: tuple[type[Runner], ...] = (QemuRunner, HostRunner, GdbRunner, PyocdRunner, SerialRunner)


def check_elf_for_runner(elf: str | Path, target: Target, runner: str, **options: Any) -> None:
    """Refuse an image built for the other world than the run (see ``firmware.boards.check_image``):
    decided by the runner's capabilities with these options (gdb with a server talks to a board)."""
    caps = runner_capabilities(runner, options)
    check_image(build_info(elf), elf, target, real_part=caps.needs_real_part, emulator=caps.needs_emulator)


__all__ = ["BUILTIN_RUNNERS", "FLASH_RUNNER", "FirmwareFaultError", "RunResult", "RunTimeoutError", "Runner", "RunnerCapabilities",
           "RunnerOption", "check_elf_for_runner", "default_runner_for", "get_runner", "option_keys",
           "public_options", "register_runner", "registered_runners", "result_from_log", "runner_capabilities",
           "runner_class", "runner_options", "split_runner_values"]
