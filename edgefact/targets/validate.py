"""The one validator of target TOML data: cores, boards and a board's ``[hardware]`` table.

Every check names the file (``where``), the key and the fix, and raises the caller's error class
(:class:`TargetDataError` for the registry, ``BoardPortError`` for a board's real-part port), so a
malformed file reads the same whichever table holds the mistake.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from edgefact.errors import EdgefactError

MEMORY_USES = ("code", "data", "vectors", "stack")


class TargetDataError(EdgefactError):
    """A target TOML file is malformed."""


@dataclass(frozen=True)
class MemoryRegion:
    """One memory bank (of the emulated machine, or of a real part), as used by its linker script."""

    name: str
    origin: int
    length: int
    use: str  # "code" | "data" | "vectors" | "stack"


def load_toml(text: str, where: str, error: type[EdgefactError] = TargetDataError) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{where}: invalid TOML: {exc}") from None


class Table:
    """Typed access to one TOML table; every failure names ``where`` and the key."""

    def __init__(self, data: Any, where: str, error: type[EdgefactError] = TargetDataError,
                 hint: str = "to the file") -> None:
        if not isinstance(data, dict):
            raise error(f"{where}: must be a table, got {data!r}")
        self.data: dict[str, Any] = data
        self.where = where
        self.error = error
        self.hint = hint

    def __contains__(self, key: str) -> bool:
        return key in self.data

    def fail(self, message: str) -> EdgefactError:
        return self.error(f"{self.where}: {message}")

    def req(self, key: str, typ: type | tuple[type, ...]) -> Any:
        if key not in self.data:
            raise self.fail(f"missing key '{key}'; add `{key} = ...` {self.hint}")
        val = self.data[key]
        if not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
            tname = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
            raise self.fail(f"'{key}' must be {tname}, got {val!r}")
        return val

    def opt(self, key: str, typ: type | tuple[type, ...], default: Any = None) -> Any:
        return self.req(key, typ) if key in self.data else default

    def positive(self, key: str) -> int:
        val = int(self.req(key, int))
        if val <= 0:
            raise self.fail(f"'{key}' must be positive, got {val}")
        return val

    def choice(self, key: str, valid: Sequence[str], what: str | None = None) -> str:
        val = str(self.req(key, str))
        if val not in valid:
            raise self.fail(f"{what or key} '{val}' unknown; valid: {', '.join(valid)}")
        return val

    def strings(self, key: str) -> tuple[str, ...]:
        vals = self.req(key, list)
        if not all(isinstance(v, str) for v in vals):
            raise self.fail(f"'{key}' must be a list of strings")
        return tuple(vals)

    def sub(self, key: str, label: str | None = None) -> Table:
        return Table(self.req(key, dict), f"{self.where} [{label or key}]", self.error, self.hint)

    def items(self, key: str, label: str) -> list[Table]:
        """The tables of an array of tables (``[[label]]``), each named by its index."""
        return [Table(m, f"{self.where} [[{label}]] #{i}", self.error, self.hint)
                for i, m in enumerate(self.req(key, list))]

    def regions(self, key: str, label: str) -> tuple[MemoryRegion, ...]:
        """``[[label]]`` memory regions; a "code" and a "data" region are required."""
        mems = []
        for m in self.items(key, label):
            use = m.req("use", str)
            if use not in MEMORY_USES:
                raise m.fail(f"use '{use}' unknown; valid: {', '.join(MEMORY_USES)}")
            mems.append(MemoryRegion(m.req("name", str), m.req("origin", int), m.req("length", int), use))
        for need in ("code", "data"):
            if not any(m.use == need for m in mems):
                raise self.fail(f"needs a [[{label}]] region with use = \"{need}\"")
        return tuple(mems)


__all__ = ["MEMORY_USES", "MemoryRegion", "Table", "TargetDataError", "load_toml"]
