"""Content-addressed object cache shared by every firmware build (and every test session).

Each translation unit is looked up under a *source key*: the compiler (path and version), the full
flag list (cpu flags, optimisation, defines) and the source's path and bytes. The include
directories are not part of it, so a kernel compiled for one firmware is reused by the next one
whose generated model lives elsewhere. Under a source key sit one or more entries, each one object
(plus its ``.su`` stack-usage file) and the headers gcc reported in its depfile (``-MMD``) with
their sha256. An entry is reused only when every one of its headers, looked up again through the
*current* search path (the source's directory, then the include directories in order), still
exists with the same bytes: a changed header, a header shadowed by a new one earlier in the path
or a header that went away all miss. System headers (newlib, arm_acle.h...) belong to the
compiler, whose version is in the key.

Writes are atomic (temporary file + ``os.replace``) and the dependency list is written last, so
concurrent builds in several processes can share the directory. The cache lives in
``$EDGEFACT_CACHE/obj``, else ``<repo>/.cache/obj`` for a source checkout, else
``~/.cache/edgefact/obj``; deleting it is always safe.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

from edgefact import procs
from edgefact.hashing import digest, file_sha256

RunFn = Callable[[list[str], str], None]


def object_cache_dir() -> Path:
    """Where compiled objects are cached (see the module docstring)."""
    env = os.environ.get("EDGEFACT_CACHE")
    if env:
        return Path(env) / "obj"
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file() and os.access(repo, os.W_OK):
        return repo / ".cache" / "obj"
    return Path.home() / ".cache" / "edgefact" / "obj"


def compiler_id(cc: str) -> list[str]:
    """The compiler part of every source key: its name and the first line of ``cc --version``
    (asked once per process and compiler: the compiler does not change under a running edgefact)."""
    return list(_compiler_id(cc))


@functools.lru_cache(maxsize=16)
def _compiler_id(cc: str) -> tuple[str, ...]:
    proc = procs.run([cc, "--version"], capture_output=True, text=True)
    return (cc, *proc.stdout.splitlines()[:1])


def parse_depfile(text: str) -> list[Path]:
    """The prerequisites of a gcc ``-MMD`` depfile (first rule only; escaped spaces kept)."""
    body = text.replace("\\\n", " ")
    rule = body.split("\n", 1)[0]
    _, _, deps = rule.partition(": ")
    words = deps.replace("\\ ", "\0").split()
    return [Path(os.path.normpath(w.replace("\0", " "))) for w in words]


def _atomic_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


class ObjectCache:
    """Compile-or-reuse for single translation units; thread-safe, counts hits and compiles."""

    def __init__(self, root: Path, tool_id: Sequence[str]) -> None:
        self.root = root
        self.tool_id = list(tool_id)
        self._hashes: dict[Path, str | None] = {}
        self._lock = threading.Lock()
        self.compiled: list[str] = []
        self.hits: list[str] = []

    def _file_hash(self, p: Path) -> str | None:
        with self._lock:
            if p in self._hashes:
                return self._hashes[p]
        try:
            h: str | None = file_sha256(p)
        except OSError:
            h = None
        with self._lock:
            self._hashes[p] = h
        return h

    @staticmethod
    def _search(src: Path, incs: Sequence[Path]) -> list[Path]:
        return [src.parent, *incs]

    def _resolve(self, name: str, search: Sequence[Path]) -> Path | None:
        if os.path.isabs(name):
            return Path(name)
        for d in search:
            c = d / name
            if c.is_file():
                return c
        return None

    def _name_for(self, dep: Path, search: Sequence[Path]) -> str:
        """``dep`` relative to the first search directory through which it is found, else absolute."""
        for d in search:
            try:
                rel = dep.relative_to(d)
            except ValueError:
                continue
            if self._resolve(str(rel), search) == dep:
                return str(rel)
        return str(dep)

    def compile(self, cc: str, src: Path, flags: Sequence[str], incs: Sequence[Path], obj: Path,
                run: RunFn) -> bool:
        """Produce ``obj`` (and its ``.su``) for ``src``; True if it came from the cache."""
        skey = digest([*self.tool_id, "\0flags", *flags, "\0src", str(src), src.read_bytes()])
        entry_dir = self.root / skey[:2] / skey
        search = self._search(src, incs)
        su_out = obj.with_suffix(".su")
        if entry_dir.is_dir():
            for manifest in sorted(entry_dir.glob("*.deps")):
                try:
                    deps = json.loads(manifest.read_text())["deps"]
                except (OSError, ValueError, KeyError):
                    continue
                ok = True
                for name, sha in deps:
                    p = self._resolve(name, search)
                    if p is None or self._file_hash(p) != sha:
                        ok = False
                        break
                if not ok:
                    continue
                stem = manifest.with_suffix("")
                cached_o, cached_su = stem.with_suffix(".o"), stem.with_suffix(".su")
                try:
                    _atomic_copy(cached_o, obj)
                    if cached_su.is_file():
                        _atomic_copy(cached_su, su_out)
                    else:
                        su_out.unlink(missing_ok=True)
                except OSError:
                    continue  # entry pruned concurrently: compile instead
                with self._lock:
                    self.hits.append(src.name)
                return True

        depfile = obj.with_suffix(".d")
        su_out.unlink(missing_ok=True)
        run([cc, *flags, *(f"-I{i}" for i in incs), "-MMD", "-MF", str(depfile), "-c", str(src), "-o", str(obj)],
            f"compiling {src.name}")
        with self._lock:
            self.compiled.append(src.name)
        deps = []
        for d in parse_depfile(depfile.read_text()):
            if d in (src, obj):
                continue
            sha = self._file_hash(d)
            if sha is None:
                return False  # a dependency vanished meanwhile: do not cache this object
            deps.append((self._name_for(d, search), sha))
        okey = digest([skey, *(f"{n}\0{h}" for n, h in deps)])
        try:
            entry_dir.mkdir(parents=True, exist_ok=True)
            stem = entry_dir / okey[:32]
            _atomic_copy(obj, stem.with_suffix(".o"))
            if su_out.is_file():
                _atomic_copy(su_out, stem.with_suffix(".su"))
            tmp = stem.with_name(f".{stem.name}.{uuid.uuid4().hex}.tmp")
            tmp.write_text(json.dumps({"source": str(src), "deps": deps}, indent=1))
            os.replace(tmp, stem.with_suffix(".deps"))
        except OSError:
            pass  # a read-only or full cache only costs speed
        return False


__all__ = ["ObjectCache", "compiler_id", "object_cache_dir", "parse_depfile"]
