"""Stage execution with content-addressed caching.

Each stage of a build writes its artifacts into ``DIR/<stage>/`` together with ``manifest.json``:
the content hashes of its input files, its options, the versions of the tools it used, the hashes
of its outputs and its duration. A rerun computes the same key; when it matches the manifest and
every recorded output still has its recorded hash, the stage is skipped and says so.

A stage runs in a temporary directory that replaces ``DIR/<stage>/`` only when the stage succeeds,
so an interrupted or failed stage never leaves a half-written artifact behind.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import click

import edgefact
from edgefact.fsutil import atomic_output_dir, atomic_write_text

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tree_sha256(path: Path) -> str:
    """Hash of a file, or of every file below a directory (names and contents)."""
    if path.is_file():
        return file_sha256(path)
    h = hashlib.sha256()
    for p in sorted(q for q in path.rglob("*") if q.is_file()):
        h.update(str(p.relative_to(path)).encode())
        h.update(file_sha256(p).encode())
    return h.hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """Hash of edgefact's own sources: a change to the code invalidates cached stages."""
    root = Path(edgefact.__file__).parent
    h = hashlib.sha256(edgefact.__version__.encode())
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in {".py", ".c", ".h", ".ld", ".S", ".toml", ".json"}:
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@functools.cache
def tool_version(tool: str) -> str:
    """Version of a Python distribution or a command-line tool (``gcc:arm-none-eabi-gcc``)."""
    if tool.startswith("cmd:"):
        cmd = tool[4:]
        try:
            out = subprocess.run([cmd, "--version"], capture_output=True, text=True, timeout=20)
            return (out.stdout or out.stderr).splitlines()[0].strip()
        except (OSError, subprocess.SubprocessError, IndexError):
            return "missing"
    try:
        return metadata.version(tool)
    except metadata.PackageNotFoundError:
        return "missing"


@dataclass
class StageResult:
    name: str
    dir: Path
    cached: bool
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.dir / name


StageFn = Callable[[Path], dict[str, Any] | None]


class StageRunner:
    """Runs named stages into ``out_dir/<name>/``, skipping those whose key did not change."""

    def __init__(self, out_dir: Path, *, total: int | None = None, force: Iterable[str] = (),
                 echo: Callable[[str], None] | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.total = total
        self.force = set(force)
        self.results: list[StageResult] = []
        self._echo = echo or (lambda s: click.echo(s, err=True))
        self._dirty = False  # once a stage re-runs, later stages' input hashes decide themselves

    def stage_key(self, name: str, inputs: dict[str, Path], options: dict[str, Any],
                  tools: Iterable[str]) -> tuple[str, dict[str, Any]]:
        desc = {
            "stage": name,
            "manifest_version": MANIFEST_VERSION,
            "code": code_fingerprint(),
            "options": options,
            "inputs": {k: tree_sha256(Path(v)) for k, v in sorted(inputs.items())},
            "tools": {t: tool_version(t) for t in sorted(set(tools))},
        }
        blob = json.dumps(desc, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest(), desc

    def _cached(self, stage_dir: Path, key: str) -> dict[str, Any] | None:
        manifest = stage_dir / MANIFEST
        if not manifest.is_file():
            return None
        try:
            data = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        if data.get("key") != key:
            return None
        for rel, digest in data.get("outputs", {}).items():
            p = stage_dir / rel
            if not p.is_file() or file_sha256(p) != digest:
                return None
        return data

    def run(self, name: str, fn: StageFn, *, inputs: dict[str, Path] | None = None,
            options: dict[str, Any] | None = None, tools: Iterable[str] = ()) -> StageResult:
        """Run ``fn(tmp_dir)`` unless cached; ``fn`` writes its artifacts into ``tmp_dir``."""
        inputs = inputs or {}
        options = options or {}
        index = len(self.results) + 1
        prefix = f"[{index}/{self.total}]" if self.total else f"[{index}]"
        stage_dir = self.out_dir / name
        key, desc = self.stage_key(name, inputs, options, tools)
        cached = None if name in self.force else self._cached(stage_dir, key)
        if cached is not None:
            result = StageResult(name, stage_dir, True, 0.0, cached.get("info", {}))
            self._echo(f"{prefix} {name:<10} cached   (inputs unchanged; {cached.get('seconds', 0):.1f} s saved)")
            self.results.append(result)
            return result
        self._echo(f"{prefix} {name:<10} running ...")
        t0 = time.perf_counter()
        with atomic_output_dir(stage_dir) as tmp:
            info = fn(tmp) or {}
            seconds = time.perf_counter() - t0
            outputs = {
                str(p.relative_to(tmp)): file_sha256(p)
                for p in sorted(tmp.rglob("*")) if p.is_file() and p.name != MANIFEST
            }
            manifest = {"key": key, **desc, "outputs": outputs, "seconds": round(seconds, 3),
                        "info": info, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "python": sys.version.split()[0]}
            atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True, default=str))
        self._echo(f"{prefix} {name:<10} done     {seconds:6.1f} s")
        result = StageResult(name, stage_dir, False, seconds, info)
        self.results.append(result)
        return result

    def summary(self) -> list[dict[str, Any]]:
        return [{"name": r.name, "seconds": round(r.seconds, 3), "cached": r.cached} for r in self.results]


def copy_into(src: Path, dst_dir: Path, name: str | None = None) -> Path:
    """Copy an input artifact into a stage directory (stages own their outputs)."""
    dst = dst_dir / (name or src.name)
    shutil.copyfile(src, dst)
    return dst
