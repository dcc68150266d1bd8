"""Does a firmware fit its target's flash and RAM budget?

Two callers with the same rule and message: the pre-build estimate (generated model sizes plus a
code floor: "needs at least N bytes"), and, where a linked image exists, its measured sections
(``measured=True``: "N B > budget B"). A target without a budget (``None``) always fits.

Both callers pass *deployable* figures: the model, its kernels and runtime, without the test
harness (embedded evaluation inputs, their output buffers) and with the stack at its measured peak
(:mod:`edgefact.firmware.footprint`); the harness is what the benchmark needs, not the device.
"""

from __future__ import annotations

from edgefact.errors import ModelTooLargeError
from edgefact.targets import Target

ADVICE = ("Pick a target with more memory (`edgefact targets`) or shrink the model (factorize, cluster, "
          "smaller input)")


def fit_problems(target: Target, flash: int, ram: int, *, measured: bool = False) -> list[str]:
    """One line per budget exceeded, empty when both fit."""
    problems = []
    for what, need, have in (("flash", flash, target.flash_bytes), ("RAM", ram, target.ram_bytes)):
        if have is None or need <= have:
            continue
        problems.append(f"{what} {need} B > {have} B" if measured
                        else f"{what} needs at least {need} bytes but {target.name} has {have}")
    return problems


def check_fits(target: Target, flash: int, ram: int, what: str = "model", *, measured: bool = False) -> None:
    """Raise ModelTooLargeError naming both figures when ``flash``/``ram`` exceed the target's budget."""
    problems = fit_problems(target, flash, ram, measured=measured)
    if problems:
        raise ModelTooLargeError(f"{what} does not fit {target.name}: {'; '.join(problems)}. {ADVICE}")


__all__ = ["ADVICE", "check_fits", "fit_problems"]
