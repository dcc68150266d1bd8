"""Where a firmware's flash and RAM go: the model, the kernels, the runtime, and the test harness.

The headline flash/RAM of an ELF (``arm-none-eabi-size``) includes what only the benchmark needs:
the embedded evaluation inputs and their output buffers, and a stack reserved far above what the
model uses. :func:`footprint_split` attributes every byte of the ELF to one component:

flash
    ``weights`` (filters, biases, requantization and look-up tables: the generated data file),
    ``code`` (generated model code and its parameter structs), ``kernels`` (the kernel library),
    ``runtime`` (startup, vector table, log and profiling, libc/libgcc, padding: every byte no
    component's symbol holds), ``harness`` (the test application and its embedded inputs).
RAM
    ``arena`` (the generated model's activation arena), ``stack`` (the reserved stack, of which
    ``peak_stack`` is measured), ``harness`` (output buffers of the embedded inputs), ``other``
    (every other static RAM: profiler regions, log buffer, .data, heap).

A symbol belongs to the component of the object file that defines it; the object files are those
``build_firmware`` keeps in ``BUILD/obj`` (``NN_<source stem>.o``), so the caller only says which
source stems are generated data, generated code, harness and kernels.

The *deployable* figures exclude the harness and count the stack at its measured peak
(or at its reservation when it was not measured): what the model needs on a device of its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.firmware.elf import memory_report

FLASH_PARTS = ("weights", "code", "kernels", "runtime", "harness")
RAM_PARTS = ("arena", "stack", "harness", "other")
_OBJ = re.compile(r"^\d+_(.+)\.o$")


@dataclass(frozen=True)
class Footprint:
    """Bytes per component; ``flash``/``ram`` sum to the ELF's own totals."""

    flash: dict[str, int]
    ram: dict[str, int]
    peak_stack: int | None

    @property
    def flash_total(self) -> int:
        return sum(self.flash.values())

    @property
    def ram_total(self) -> int:
        return sum(self.ram.values())

    @property
    def deployable_flash(self) -> int:
        """Flash without the test harness."""
        return self.flash_total - self.flash["harness"]

    @property
    def deployable_ram(self) -> int:
        """RAM without harness buffers, with the stack at its measured peak (reserved if unmeasured)."""
        stack = self.peak_stack if self.peak_stack is not None else self.ram["stack"]
        return self.ram_total - self.ram["harness"] - self.ram["stack"] + stack

    def as_dict(self) -> dict[str, Any]:
        """The ``footprint`` object of report.json."""
        return {"flash": dict(self.flash), "ram": dict(self.ram), "peak_stack_bytes": self.peak_stack,
                "deployable_flash_bytes": self.deployable_flash, "deployable_ram_bytes": self.deployable_ram}


def object_symbols(obj: str | os.PathLike[str]) -> set[str]:
    """Names of the functions and objects an object file defines (sized, in an allocated section);
    read with the one ELF reader, :func:`edgefact.firmware.elf.memory_report`."""
    try:
        return {s.name for s in memory_report(obj).symbols}
    except EdgefactError:
        return set()


def component_of_objects(obj_dir: Path, stems: dict[str, str]) -> dict[str, str]:
    """Symbol name -> component, from the object files in ``obj_dir`` whose source stem is in
    ``stems`` (stem -> component); the first object defining a name wins."""
    owner: dict[str, str] = {}
    for obj in sorted(obj_dir.glob("*.o")):
        m = _OBJ.match(obj.name)
        part = stems.get(m.group(1) if m else obj.stem)
        if part is None:
            continue
        for name in object_symbols(obj):
            owner.setdefault(name, part)
    return owner


def footprint_split(elf: str | os.PathLike[str], *, data_stems: Iterable[str], code_stems: Iterable[str],
                    harness_stems: Iterable[str], kernel_stems: Iterable[str],
                    peak_stack: int | None = None, obj_dir: Path | None = None) -> Footprint:
    """Split the ELF's flash and RAM by component (see the module docstring).

    ``obj_dir``: where the objects are (default: ``obj/`` beside the ELF).
    """
    rep = memory_report(elf, peak_stack)
    stems = {s: "kernels" for s in kernel_stems}
    stems |= {s: "code" for s in code_stems} | {s: "weights" for s in data_stems}
    stems |= {s: "harness" for s in harness_stems}
    owner = component_of_objects(obj_dir or Path(elf).parent / "obj", stems)
    kinds = {s.name: s.kind for s in rep.sections}
    flash = dict.fromkeys(FLASH_PARTS, 0)
    ram = dict.fromkeys(RAM_PARTS, 0)
    for sym in rep.symbols:
        kind = kinds.get(sym.section)
        part = owner.get(sym.name)
        if kind == "text" and part is not None:
            flash[part] += sym.size
        elif kind == "data":  # initialised data: its load image in flash, its copy in RAM
            if part is not None:
                flash[part] += sym.size
            ram["harness" if part == "harness" else "other"] += sym.size
        elif kind == "bss" and sym.section != ".stack":
            if part == "code" and "arena" in sym.name:
                ram["arena"] += sym.size
            elif part == "harness":
                ram["harness"] += sym.size
    flash["runtime"] = rep.flash_bytes - sum(v for k, v in flash.items() if k != "runtime")
    ram["stack"] = rep.stack_size or 0
    ram["other"] = rep.ram_bytes - ram["arena"] - ram["stack"] - ram["harness"]
    return Footprint(flash, ram, peak_stack)


__all__ = ["FLASH_PARTS", "RAM_PARTS", "Footprint", "component_of_objects", "footprint_split", "object_symbols"]
