"""Content hashing for every cache key in edgefact (object cache, firmware link cache, stages).

Bottom layer: imports nothing from edgefact, so any package may use it.

:func:`digest` hashes a *sequence* of parts, each prefixed with its length, so that the split
between parts is part of the key (``["ab", "c"]`` and ``["a", "bc"]`` differ) -- plain
concatenation would let two different flag lists collide.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

_CHUNK = 1 << 20


def digest(parts: Iterable[str | bytes]) -> str:
    """sha256 hex digest of length-prefixed parts (str parts are UTF-8 encoded)."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of a file's bytes, read in chunks (large checkpoints, data sets)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def files_digest(paths: Iterable[Path], root: Path | None = None) -> str:
    """One digest over files' names and contents, in the order given.

    A file is named by its path relative to ``root`` when given (so a copied tree hashes the
    same as the original), else by its file name.
    """
    parts: list[str] = []
    for p in paths:
        parts.append(str(p.relative_to(root)) if root is not None else p.name)
        parts.append(file_sha256(p))
    return digest(parts)


__all__ = ["digest", "file_sha256", "files_digest"]
