"""Stage execution with content-addressed caching.

Each stage of a build writes its artifacts into ``DIR/<stage>/`` together with ``manifest.json``:
the content hashes of its input files, its options, the versions of the tools it used, the hashes
of its outputs and its duration. A rerun computes the same key; when it matches the manifest and
every recorded output still has its recorded hash, the stage is skipped and says so.

A stage runs in a temporary directory that replaces ``DIR/<stage>/`` only when the stage succeeds,
so an interrupted or failed stage never leaves a half-written artifact behind.

The stages of ``edgefact build`` are declared as data in :data:`STAGES`: one :class:`StageSpec`
per stage with the artifacts it reads and writes, the build options its result depends on and
the tools it runs. :func:`plan` picks the chain for a configuration; the chain, the stage count
of the ``[i/N]`` lines and the options part of every cache key all come from these descriptions.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import click

import edgefact
from edgefact.errors import EdgefactError
from edgefact.fsutil import atomic_output_dir, atomic_write_text
from edgefact.hashing import digest, file_sha256, files_digest
from edgefact.pipeline.config import BuildConfig

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def tree_sha256(path: Path) -> str:
    """Hash of a file, or of every file below a directory (names and contents)."""
    if path.is_file():
        return file_sha256(path)
    return files_digest(sorted(q for q in path.rglob("*") if q.is_file()), root=path)


@functools.cache
def code_fingerprint() -> str:
    """Hash of edgefact's own sources: a change to the code invalidates cached stages."""
    root = Path(edgefact.__file__).parent
    parts: list[str | bytes] = [edgefact.__version__]
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.suffix in {".py", ".c", ".h", ".ld", ".S", ".toml", ".json"}:
            parts += [str(p.relative_to(root)), p.read_bytes()]
    return digest(parts)


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


@dataclass(frozen=True)
class SharedCache:
    """A content-addressed stage cache shared by many builds (hook for ``edgefact sweep``).

    A stage then lives in ``dir/<stage>/<key>/`` instead of ``DIR/<stage>/`` and the build's
    ``DIR/<stage>`` becomes a symbolic link to it, so every build whose stage has the same key
    (same input contents, options, tools and code) reuses one run of it. ``code`` pins the code
    fingerprint of the keys: the worker processes of one sweep key their stages by the code
    version of the process that planned the sweep.
    """

    dir: Path
    code: str | None = None


class StopAfterStage(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a :class:`StageRunner` with ``stop_after`` once that stage is done (cached or run):
    a sweep runs a build's chain one stage per task."""

    def __init__(self, result: StageResult) -> None:
        super().__init__(result.name)
        self.result = result


class StageRunner:
    """Runs named stages into ``out_dir/<name>/``, skipping those whose key did not change."""

    def __init__(self, out_dir: Path, *, total: int | None = None, force: Iterable[str] = (),
                 echo: Callable[[str], None] | None = None, shared: SharedCache | None = None,
                 stop_after: str | None = None) -> None:
        self.out_dir = Path(out_dir)
        self.shared = shared
        self.stop_after = stop_after
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
            "code": (self.shared and self.shared.code) or code_fingerprint(),
            "options": options,
            "inputs": {k: tree_sha256(Path(v)) for k, v in sorted(inputs.items())},
            "tools": {t: tool_version(t) for t in sorted(set(tools))},
        }
        return digest([json.dumps(desc, sort_keys=True, default=str)]), desc

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
        for rel, recorded in data.get("outputs", {}).items():
            p = stage_dir / rel
            if not p.is_file() or file_sha256(p) != recorded:
                return None
        return data

    def run(self, name: str, fn: StageFn, *, inputs: dict[str, Path] | None = None,
            options: dict[str, Any] | None = None, tools: Iterable[str] = (),
            outputs: Iterable[str] = ()) -> StageResult:
        """Run ``fn(tmp_dir)`` unless cached; ``fn`` writes its artifacts into ``tmp_dir``, at
        least the files named in ``outputs`` (a stage that does not is an error, and not cached)."""
        inputs = inputs or {}
        options = options or {}
        index = len(self.results) + 1
        prefix = f"[{index}/{self.total}]" if self.total else f"[{index}]"
        key, desc = self.stage_key(name, inputs, options, tools)
        stage_dir = self.out_dir / name if self.shared is None else Path(self.shared.dir) / name / key[:24]
        cached = None if name in self.force else self._cached(stage_dir, key)
        if cached is not None:
            result = StageResult(name, stage_dir, True, 0.0, cached.get("info", {}))
            self._echo(f"{prefix} {name:<10} cached   (inputs unchanged; {cached.get('seconds', 0):.1f} s saved)")
            return self._finish(result)
        self._echo(f"{prefix} {name:<10} running ...")
        t0 = time.perf_counter()
        with atomic_output_dir(stage_dir) as tmp:
            info = fn(tmp) or {}
            missing = [o for o in outputs if not (tmp / o).is_file()]
            if missing:
                raise EdgefactError(f"stage {name} did not write {', '.join(missing)}")
            seconds = time.perf_counter() - t0
            written = {
                str(p.relative_to(tmp)): file_sha256(p)
                for p in sorted(tmp.rglob("*")) if p.is_file() and p.name != MANIFEST
            }
            manifest = {"key": key, **desc, "outputs": written, "seconds": round(seconds, 3),
                        "info": info, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "python": sys.version.split()[0]}
            atomic_write_text(tmp / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True, default=str))
        self._echo(f"{prefix} {name:<10} done     {seconds:6.1f} s")
        result = StageResult(name, stage_dir, False, seconds, info)
        return self._finish(result)

    def _finish(self, result: StageResult) -> StageResult:
        self.results.append(result)
        if self.shared is not None:  # DIR/<stage> -> the shared cache entry
            link = self.out_dir / result.name
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_dir() and not link.is_symlink():
                shutil.rmtree(link)
            tmp = link.with_name(f".{link.name}.link.{os.getpid()}")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(result.dir.resolve(), target_is_directory=True)
            os.replace(tmp, link)
        if result.name == self.stop_after:
            raise StopAfterStage(result)
        return result

    def summary(self) -> list[dict[str, Any]]:
        return [{"name": r.name, "seconds": round(r.seconds, 3), "cached": r.cached} for r in self.results]


def copy_into(src: Path, dst_dir: Path, name: str | None = None) -> Path:
    """Copy an input artifact into a stage directory (stages own their outputs)."""
    dst = dst_dir / (name or src.name)
    shutil.copyfile(src, dst)
    return dst


# -- the stages of `edgefact build`, as data ---------------------------------------------------

#: how ``--model`` enters the chain: a zoo name trains, a checkpoint is imported, an .onnx is
#: converted, an .tflite is deployed as it is
MODEL_KINDS = ("zoo", "checkpoint", "onnx", "tflite")
_TRAINED = frozenset({"zoo", "checkpoint"})
_ALL = frozenset(MODEL_KINDS)


@dataclass(frozen=True)
class StageSpec:
    """One stage of the build chain.

    ``inputs`` / ``optional_inputs`` / ``outputs`` are artifact names: a stage reads the artifact
    the latest earlier stage wrote under that name (``source``: the ``--model`` file itself) and
    its cache key hashes their contents. ``options`` are the :class:`~edgefact.pipeline.config.BuildConfig`
    fields its result depends on, ``upstream`` values that earlier stages computed (e.g. the
    input normalization); both go into the key, nothing else does. ``enabled`` switches an
    optional stage on for a configuration; ``per_target`` stages live in ``<name>-<target>/``;
    ``cached`` is False for the final report, which is always written.
    """

    name: str
    action: str  # the Build method that runs it: train, copy, factorize, cluster, onnx, convert, deploy, report
    kinds: frozenset[str]
    inputs: tuple[str, ...] = ()
    optional_inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    upstream: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    enabled: Callable[[BuildConfig], bool] | None = None
    per_target: bool = False
    cached: bool = True

    def applies(self, cfg: BuildConfig, kind: str) -> bool:
        return kind in self.kinds and (self.enabled is None or bool(self.enabled(cfg)))

    def dir_name(self, target_name: str) -> str:
        return f"{self.name}-{target_name}" if self.per_target else self.name

    def key_inputs(self, artifacts: Mapping[str, Path]) -> dict[str, Path]:
        """The input files of this stage among the artifacts so far (a missing required one is a bug)."""
        missing = [a for a in self.inputs if a not in artifacts]
        if missing:
            raise EdgefactError(f"stage {self.name}: no earlier stage wrote {', '.join(missing)}")
        return {a: Path(artifacts[a]) for a in (*self.inputs, *self.optional_inputs) if a in artifacts}

    def key_options(self, cfg: BuildConfig, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The options part of the cache key: the declared config fields (``values`` overrides a
        field by its resolved form, e.g. the chosen runner's options) and upstream values."""
        values = values or {}
        missing = [u for u in self.upstream if u not in values]
        if missing:
            raise EdgefactError(f"stage {self.name}: upstream values {', '.join(missing)} not computed")
        opts = {o: values[o] if o in values else getattr(cfg, o) for o in self.options}
        return opts | {u: values[u] for u in self.upstream}


_SEED_OPTIONS = ("seed", "train_samples", "batch_size", "dataset")

STAGES: tuple[StageSpec, ...] = (
    StageSpec("train", "train", frozenset({"zoo"}), outputs=("model.pt",),
              options=("model", "width", "epochs", "lr", *_SEED_OPTIONS), tools=("torch",)),
    StageSpec("import", "copy", frozenset({"checkpoint"}), inputs=("source",), outputs=("model.pt",)),
    StageSpec("factorize", "factorize", _TRAINED, inputs=("model.pt",), outputs=("model.pt", "factorize.json"),
              options=("factorize", "rank", "energy", "max_ratio", "round_ranks", "atoms", "groups", "finetune_epochs",
                       *_SEED_OPTIONS),
              upstream=("kernel_costs",), tools=("torch",), enabled=lambda cfg: cfg.factorize != "none"),
    StageSpec("cluster", "cluster", _TRAINED, inputs=("model.pt",), outputs=("model.pt", "cluster.json"),
              options=("cluster", "cluster_per_channel", "finetune_epochs", *_SEED_OPTIONS),
              tools=("torch", "scikit-learn"), enabled=lambda cfg: cfg.cluster > 0),
    StageSpec("onnx", "onnx", _TRAINED, inputs=("model.pt",), outputs=("model.onnx",), options=("dataset",),
              tools=("torch", "onnx", "onnxruntime")),
    StageSpec("tflite", "convert", frozenset({"zoo", "checkpoint", "onnx"}), inputs=("model.onnx",),
              optional_inputs=("model.pt",), outputs=("model.tflite",),
              options=("calib_samples", "min_agreement", "dataset", "seed", "train_samples"),
              tools=("tensorflow", "onnx2tf", "ai-edge-litert")),
    StageSpec("tflite", "copy", frozenset({"tflite"}), inputs=("source",), outputs=("model.tflite",)),
    StageSpec("deploy", "deploy", _ALL, inputs=("model.tflite",), outputs=("deploy.json",),
              options=("target", "opt", "runner", "runner_options", "no_run", "pack", "bench_runs", "eval_samples",
                       "bitexact_inputs", "dataset"),
              upstream=("mean", "std"), tools=("cmd:arm-none-eabi-gcc", "cmd:qemu-system-arm", "tflite-micro"),
              per_target=True),
    StageSpec("report", "report", _ALL, inputs=("deploy.json",), outputs=("report.json", "report.md", "report.html"),
              cached=False),
)


def plan(cfg: BuildConfig, kind: str, stages: Iterable[StageSpec] = STAGES) -> list[StageSpec]:
    """The chain of stages for a configuration and ``--model`` kind, in order."""
    if kind not in MODEL_KINDS:
        raise EdgefactError(f"unknown model kind '{kind}': one of {', '.join(MODEL_KINDS)}")
    return [s for s in stages if s.applies(cfg, kind)]
