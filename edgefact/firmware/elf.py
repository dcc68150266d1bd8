"""Everything edgefact reads from a firmware ELF (pyelftools): the flash/RAM report, symbols, the vector table.

The flash/RAM report matches ``arm-none-eabi-size``.

Classification is that of ``size`` in Berkeley format: allocated read-only sections are *text*,
allocated writable PROGBITS are *data*, allocated NOBITS are *bss*. Then

* flash = text + data (every allocated PROGBITS, including the .data load image),
* static RAM = data + bss (the .bss, .heap and .stack sections of the template are NOBITS).

The measured peak stack comes from the run log (painted stack), not from the ELF.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from edgefact.errors import EdgefactError


@dataclass(frozen=True)
class SectionInfo:
    name: str
    address: int
    size: int
    kind: str  # "text" | "data" | "bss"


@dataclass(frozen=True)
class SymbolInfo:
    name: str
    address: int
    size: int
    kind: str  # "func" | "object"
    section: str


@dataclass
class MemoryReport:
    path: str
    text: int
    data: int
    bss: int
    sections: list[SectionInfo] = field(default_factory=list)
    symbols: list[SymbolInfo] = field(default_factory=list)  # largest first
    stack_size: int | None = None
    peak_stack: int | None = None

    @property
    def flash_bytes(self) -> int:
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        return self.data + self.bss

    def largest(self, n: int = 10) -> list[SymbolInfo]:
        return self.symbols[:n]

    def as_dict(self, n_symbols: int = 10) -> dict[str, Any]:
        """The ``memory`` object of report.json (plus totals)."""
        return {
            "flash_bytes": self.flash_bytes,
            "ram_bytes": self.ram_bytes,
            "text": self.text, "data": self.data, "bss": self.bss,
            "stack_size": self.stack_size,
            "peak_stack_bytes": self.peak_stack,
            "flash_sections": {s.name: s.size for s in self.sections if s.kind in ("text", "data")},
            "ram_sections": {s.name: s.size for s in self.sections if s.kind in ("data", "bss")},
            "largest_symbols": [{"name": s.name, "size": s.size, "kind": s.kind, "section": s.section}
                                for s in self.largest(n_symbols)],
        }

    def format(self, n_symbols: int = 10) -> str:
        lines = [f"{self.path}",
                 f"  flash      {self.flash_bytes:>10} B   (text {self.text} + data load image {self.data})",
                 f"  static RAM {self.ram_bytes:>10} B   (data {self.data} + bss/heap/stack {self.bss})"]
        if self.stack_size is not None:
            lines.append(f"  stack      {self.stack_size:>10} B   reserved")
        if self.peak_stack is not None:
            lines.append(f"  peak stack {self.peak_stack:>10} B   measured (painted stack)")
        lines.append("  sections:")
        for s in self.sections:
            lines.append(f"    {s.name:<16} {s.kind:<5} 0x{s.address:08x} {s.size:>10}")
        if self.symbols:
            lines.append("  largest symbols:")
            for sym in self.largest(n_symbols):
                lines.append(f"    {sym.size:>10}  {sym.kind:<6} {sym.section:<10} {sym.name}")
        return "\n".join(lines)


def memory_report(elf: str | os.PathLike[str], peak_stack: int | None = None) -> MemoryReport:
    """Read ``elf`` and classify its sections and symbols."""
    path = Path(elf)
    try:
        f = path.open("rb")
    except OSError as exc:
        raise EdgefactError(f"cannot open ELF {path}: {exc.strerror}; build the firmware first") from None
    with f:
        try:
            ef = ELFFile(f)
            sections = list(ef.iter_sections())
        except ELFError as exc:
            raise EdgefactError(f"{path} is not a valid ELF file ({exc}); pass the firmware .elf") from None
        text = data = bss = 0
        infos: list[SectionInfo] = []
        names: dict[int, str] = {}
        stack_size = None
        for i, s in enumerate(sections):
            flags = s["sh_flags"]
            if not flags & SH_FLAGS.SHF_ALLOC or s["sh_size"] == 0:
                continue
            size = s["sh_size"]
            if s["sh_type"] == "SHT_NOBITS":
                kind = "bss"
                bss += size
            elif flags & SH_FLAGS.SHF_WRITE:
                kind = "data"
                data += size
            else:
                kind = "text"
                text += size
            infos.append(SectionInfo(s.name, s["sh_addr"], size, kind))
            names[i] = s.name
            if s.name == ".stack":
                stack_size = size
        syms: list[SymbolInfo] = []
        symtab = ef.get_section_by_name(".symtab")
        if symtab is not None:
            seen: set[tuple[str, int]] = set()
            for sym in symtab.iter_symbols():
                st = sym["st_info"]["type"]
                if st not in ("STT_FUNC", "STT_OBJECT") or sym["st_size"] == 0:
                    continue
                shndx = sym["st_shndx"]
                if not isinstance(shndx, int) or shndx not in names:
                    continue
                key = (sym.name, sym["st_value"])
                if key in seen:
                    continue
                seen.add(key)
                syms.append(SymbolInfo(sym.name, sym["st_value"] & ~1 if st == "STT_FUNC" else sym["st_value"],
                                       sym["st_size"], "func" if st == "STT_FUNC" else "object", names[shndx]))
        syms.sort(key=lambda s: (-s.size, s.name))
    return MemoryReport(path=str(path), text=text, data=data, bss=bss, sections=infos, symbols=syms,
                        stack_size=stack_size, peak_stack=peak_stack)


def symbolize(elf: str | os.PathLike[str], address: int) -> str | None:
    """Name of the function containing ``address`` (Thumb bit ignored), or None."""
    try:
        rep = memory_report(elf)
    except EdgefactError:
        return None
    address &= ~1
    for s in rep.symbols:
        if s.kind == "func" and s.address <= address < s.address + s.size:
            return s.name
    return None


def parse_stack_usage(su_text: str) -> dict[str, tuple[int, str]]:
    """Parse a gcc ``-fstack-usage`` file: function -> (bytes, qualifier e.g. "static")."""
    out: dict[str, tuple[int, str]] = {}
    for line in su_text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        func = parts[0].rsplit(":", 1)[-1]
        out[func] = (int(parts[1]), parts[2].strip())
    return out


#: where the vector table lives in edgefact firmware (section names, in order of preference)
VECTOR_SECTIONS = (".vectors", ".isr_vector", ".vector_table")


def vector_table(elf: str | os.PathLike[str]) -> tuple[int, int]:
    """(initial SP, reset handler address) from the ELF's vector table."""
    try:
        with open(elf, "rb") as f:
            ef = ELFFile(f)
            sec = next((ef.get_section_by_name(n) for n in VECTOR_SECTIONS if ef.get_section_by_name(n)), None)
            if sec is None:  # the lowest allocated, loaded section
                cands = [s for s in ef.iter_sections()
                         if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_type"] == "SHT_PROGBITS"]
                if not cands:
                    raise EdgefactError(f"{elf}: no loadable sections; is it a firmware ELF?")
                sec = min(cands, key=lambda s: s["sh_addr"])
            data = sec.data()[:8]
    except (ELFError, OSError) as exc:
        raise EdgefactError(f"{elf}: cannot read the ELF ({exc}); rebuild the firmware") from None
    if len(data) < 8:
        raise EdgefactError(f"{elf}: vector table too short")
    return int.from_bytes(data[:4], "little"), int.from_bytes(data[4:8], "little")


def symbol_address(elf: str | os.PathLike[str], name: str, *, function: bool = False) -> int | None:
    """Address of symbol ``name`` (with ``function``: only a function, Thumb bit cleared), or None.

    A file that is not an ELF (e.g. a raw image) has no symbols: None.
    """
    try:
        with open(elf, "rb") as f:
            for sec in ELFFile(f).iter_sections():
                if isinstance(sec, SymbolTableSection):
                    for sym in sec.get_symbol_by_name(name) or []:
                        if function and sym["st_info"]["type"] != "STT_FUNC":
                            continue
                        return int(sym["st_value"]) & (~1 if function else ~0)
    except (ELFError, OSError):
        return None
    return None


def function_symbols(elf: str | os.PathLike[str], names: Sequence[str]) -> list[str]:
    """Which of ``names`` are function symbols of ``elf`` (in the order of ``names``)."""
    return [n for n in names if symbol_address(elf, n, function=True) is not None]


__all__ = ["VECTOR_SECTIONS", "MemoryReport", "SectionInfo", "SymbolInfo", "function_symbols", "memory_report",
           "parse_stack_usage", "symbol_address", "symbolize", "vector_table"]
