"""The operator registry: TFLite builtin name -> its :class:`~edgefact.export.ops.base.OpDef`."""

from __future__ import annotations

from edgefact.errors import EdgefactError
from edgefact.export.ops.base import OpDef

_OPS: dict[str, OpDef] = {}


def register(cls: type[OpDef]) -> type[OpDef]:
    """Class decorator: register one instance of an operator entry under its ``name``."""
    if cls.name in _OPS:
        raise EdgefactError(f"operator {cls.name} registered twice")
    _OPS[cls.name] = cls()
    return cls


def get_op(name: str) -> OpDef | None:
    """The entry of a TFLite builtin operator, or None when edgefact does not support it."""
    return _OPS.get(name)


def supported_ops() -> tuple[str, ...]:
    """Every supported operator, in registration order (grouped by family)."""
    return tuple(_OPS)


def all_ops() -> dict[str, OpDef]:
    return dict(_OPS)
