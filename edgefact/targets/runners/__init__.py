"""Runners: run a built firmware (emulator, host, debugger, serial) and collect its log."""

from edgefact.targets.runners.base import (
    FirmwareFaultError,
    Runner,
    RunResult,
    RunTimeoutError,
    default_runner_for,
    get_runner,
    register_runner,
    result_from_log,
)

__all__ = ["FirmwareFaultError", "RunResult", "RunTimeoutError", "Runner", "default_runner_for",
           "get_runner", "register_runner", "result_from_log"]
