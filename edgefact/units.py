"""Units of the figures edgefact reports, and the one byte-size formatter.

A run's counts are in exactly one of three units, decided by how the firmware was built and where
it ran: guest instructions under QEMU ``-icount`` (exact), DWT cycles on a real part, or
nanoseconds of a native host run. The strings are part of the log protocol (the firmware's hello
record carries ``EF_UNIT``) and of report.json, so they are defined once, here.
"""

from __future__ import annotations

UNIT_EMULATED = "instructions (emulated)"
UNIT_DEVICE = "cycles (device)"
UNIT_HOST = "ns (host)"
UNITS = (UNIT_EMULATED, UNIT_DEVICE, UNIT_HOST)
#: units whose counts turn into time at a clock frequency (an estimate for instructions)
CLOCKED_UNITS = (UNIT_EMULATED, UNIT_DEVICE)

#: 2**shift virtual ns per guest instruction under ``qemu -icount shift=10``: the timers then count
#: instructions exactly (see docs/targets.md)
ICOUNT_SHIFT = 10

KIB = 1024
MIB = 1024 * 1024


def format_bytes(n: int | float | None, missing: str = "–") -> str:
    """``512 B``, ``59.8 KiB``, ``4.00 MiB`` (binary prefixes); ``missing`` for an unknown size."""
    if n is None:
        return missing
    if n < KIB:
        return f"{int(n)} B"
    if n < MIB:
        return f"{n / KIB:.1f} KiB"
    return f"{n / MIB:.2f} MiB"


__all__ = ["CLOCKED_UNITS", "ICOUNT_SHIFT", "KIB", "MIB", "UNITS", "UNIT_DEVICE", "UNIT_EMULATED", "UNIT_HOST",
           "format_bytes"]
