"""What a runner can do, declared on its class (as Zephyr's west runners declare ``RunnerCaps``).

Code outside ``edgefact.targets.runners`` asks these questions instead of testing a runner's name:
are the counts exact instructions (so warm-up runs are useless)? does the image have to be built
for the real part? can it flash? which options does it take (the CLI flags, the config-file keys
and the build's runner options are all generated from :class:`RunnerOption`)?
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from edgefact.units import UNIT_DEVICE

#: where the firmware runs: the target's emulator (QEMU), natively on this machine, or a real board
RunsOn = Literal["emulator", "native", "board"]
#: how the log leaves the firmware
LogTransport = Literal["uart", "semihosting", "rtt", "stdout"]


@dataclass(frozen=True)
class RunnerOption:
    """One option a runner's constructor takes.

    ``name`` is the constructor keyword. ``public`` options are also CLI flags (``flag``, default
    ``--name-with-dashes``) and config-file / build keys (``key``, default ``name``); the key is
    distinct across runners (pyOCD's ``pack`` is ``pyocd_pack``: ``pack`` is a build option).
    """

    name: str
    type: type
    default: Any = None
    help: str = ""
    choices: tuple[str, ...] = ()
    public: bool = True
    key: str = ""
    flag: str = ""
    #: the run cannot start without it (error names the flag and this example)
    required_example: str = ""

    @property
    def config_key(self) -> str:
        return self.key or self.name

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.config_key.replace("_", "-")


@dataclass(frozen=True)
class RunnerCapabilities:
    """The declared abilities of one runner class."""

    runs_on: RunsOn
    #: counts are exact guest instructions (QEMU -icount): identical runs, caches play no part
    exact_counts: bool
    can_flash: bool
    log_transports: tuple[LogTransport, ...]
    #: unit of the counts of a firmware built for this runner (the firmware's hello record decides)
    unit: str
    options: tuple[RunnerOption, ...] = ()
    #: an option that, when given, points the runner at a board instead of its own emulator
    #: (gdb: ``gdb_server``); see :meth:`resolve`
    attach_option: str | None = None

    @property
    def needs_real_part(self) -> bool:
        """The image must be built for the real part (``build_firmware(..., hardware=True)``)."""
        return self.runs_on == "board"

    @property
    def needs_emulator(self) -> bool:
        return self.runs_on == "emulator"

    def option(self, name: str) -> RunnerOption | None:
        return next((o for o in self.options if o.name == name), None)

    def resolve(self, options: Mapping[str, Any]) -> RunnerCapabilities:
        """The capabilities of a run with ``options`` (an attach option moves it to a board)."""
        if self.attach_option is not None and options.get(self.attach_option) is not None:
            return replace(self, runs_on="board", exact_counts=False, unit=UNIT_DEVICE, attach_option=None)
        return self


__all__ = ["LogTransport", "RunnerCapabilities", "RunnerOption", "RunsOn"]
