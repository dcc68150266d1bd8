"""Build configuration: defaults, ``edgefact.toml`` files and CLI overrides.

Every option of ``edgefact build`` is a field of :class:`BuildConfig` and a key of the TOML file
(``[build]`` table or top level). Precedence: CLI > config file > defaults.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.targets.runners.options import option_keys, split_runner_values

FACTORIZE_METHODS = ("none", "spatial", "lowrank", "dictionary", "depthwise", "grouped")
PACK_POLICIES = ("auto", "always", "never")


@dataclass
class BuildConfig:
    """All options of one build. Field docs double as the config-file reference (docs/build.md)."""

    target: str = "cortex-m7"
    """Core or board name (``edgefact targets``)."""
    model: str = ""
    """Zoo name, a training checkpoint (.pt), an .onnx or an .tflite; empty = the default zoo model."""
    dataset: str = "fashion-mnist"
    factorize: str = "none"
    """Factorization applied to the trained model: one of FACTORIZE_METHODS."""
    rank: int | None = None
    """Rank for spatial/lowrank factorization (None = chosen by ``energy``)."""
    energy: float = 0.9
    max_ratio: float = 0.5
    """Energy-chosen spatial/lowrank ranks and default dictionary atom counts keep at most this share
    of a layer's weights (and so of its MACs), after the rounding to ``round_ranks``; 1 = no cap."""
    round_ranks: int | None = None
    """Round energy-chosen ranks up to this channel multiple (None = the target's fast-kernel multiple:
    4 on DSP cores, 8 on Helium, 1 on the host; 1 = no rounding)."""
    atoms: int | None = None
    """Dictionary atoms per input channel for ``dictionary`` (None = h*w/2, fewer where a layer would
    keep more than ``max_ratio`` of its weights)."""
    groups: int = 2
    """Groups for ``grouped`` factorization."""
    cluster: int = 16
    """k-means clusters per layer (0 = no clustering)."""
    cluster_per_channel: bool = True
    epochs: float = 0.0
    """Training epochs (0 = the default model's recommended setting)."""
    finetune_epochs: float = 1.0
    """Fine-tuning epochs after factorization and after clustering."""
    batch_size: int = 128
    lr: float = 0.0
    """Learning rate (0 = the model's recommended setting)."""
    width: float = 1.0
    seed: int = 0
    train_samples: int = 0
    """Use only this many training samples (0 = all); for quick runs and tests."""
    calib_samples: int = 300
    min_agreement: float = 0.98
    eval_samples: int = 100
    """Test samples run on the device for on-device accuracy (0 = skip)."""
    bitexact_inputs: int = 8
    opt: str = "-O2"
    runner: str = ""
    """Runner (qemu, host, gdb, serial, pyocd); empty = the target's default."""
    pack: str = "auto"
    """Clustered weights in flash as small indices + look-up tables: auto, always or never."""
    runner_options: dict[str, Any] = field(default_factory=dict)
    """Runner options by their keys (``port``, ``baud``, ``gdb_server``, ``probe``...): top-level keys of
    the config file and CLI flags, from the runners' one option schema (``edgefact.targets.runners.options``)."""
    bench_runs: int = 1
    timeout: float = 300.0
    no_run: bool = False
    out: str = "build"
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Names and ranges, before any work: a NaN or an infinite epoch count, a zero batch or a
        negative timeout is refused here, naming the option, not seconds into training."""
        if self.factorize not in FACTORIZE_METHODS:
            raise EdgefactError(
                f"unknown factorization '{self.factorize}': choose one of {', '.join(FACTORIZE_METHODS)}"
            )
        if self.cluster < 0 or self.cluster == 1 or self.cluster > 256:
            raise EdgefactError(f"-k/--clusters must be 0 (off) or between 2 and 256, got {self.cluster}")
        if self.pack not in PACK_POLICIES:
            raise EdgefactError(f"unknown pack policy '{self.pack}': choose one of {', '.join(PACK_POLICIES)}")
        if not 0.0 < self.min_agreement <= 1.0:
            raise EdgefactError(f"min_agreement must be in (0, 1], got {self.min_agreement}")
        if self.epochs < 0 or self.finetune_epochs < 0:
            raise EdgefactError("epochs must not be negative")
        for name, (low, low_open, high) in _RANGES.items():
            value = getattr(self, name)
            if value is None:
                continue
            bad = (isinstance(value, float) and not math.isfinite(value)) or value < low or \
                (low_open and value == low) or (high is not None and value > high)
            if bad:
                want = f"{'>' if low_open else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
                kind = "an integer" if isinstance(value, int) else "a finite number"
                raise EdgefactError(f"build option {_flag(name)} must be {kind} {want}, got {value!r}")


#: (lower bound, bound excluded, upper bound or None) of the numeric options (None = unset is fine)
_RANGES: dict[str, tuple[float, bool, float | None]] = {
    "rank": (1, False, None), "energy": (0, True, 1), "max_ratio": (0, True, 1), "round_ranks": (1, False, None), "atoms": (1, False, None),
    "groups": (1, False, None), "epochs": (0, False, None), "finetune_epochs": (0, False, None),
    "batch_size": (1, False, None), "lr": (0, False, None), "width": (0, True, None), "seed": (0, False, None),
    "train_samples": (0, False, None), "calib_samples": (1, False, None), "min_agreement": (0, True, 1),
    "eval_samples": (0, False, None), "bitexact_inputs": (1, False, None), "bench_runs": (1, False, None),
    "timeout": (0, True, None),
}


def _flag(name: str) -> str:
    """How a user wrote an option: its flag and its config key."""
    flag = {"cluster": "--clusters", "cluster_per_channel": "--cluster-mode"}.get(name, "--" + name.replace("_", "-"))
    return f"{flag} ({name} in edgefact.toml)"


def config_keys() -> list[str]:
    return [f.name for f in dataclasses.fields(BuildConfig) if f.name not in ("extra", "runner_options")]


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read an ``edgefact.toml``; unknown keys are an error naming the valid ones."""
    p = Path(path)
    if not p.is_file():
        raise EdgefactError(f"config file not found: {p}")
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise EdgefactError(f"config file {p}: cannot read it ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EdgefactError(f"config file {p} is not UTF-8 text (byte {exc.start}, line {line}): save it as "
                            "UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EdgefactError(f"config file {p} is not valid TOML: {exc}") from None
    table = data.get("build", data)
    if not isinstance(table, dict):
        raise EdgefactError(f"config file {p}: 'build' must be a table ([build] followed by its keys), "
                            f"got {type(table).__name__} ({table!r})")
    if "build" in data and len(data) > 1:
        others = sorted(k for k in data if k != "build")
        raise EdgefactError(f"config file {p}: key(s) {', '.join(others)} outside the [build] table; move them "
                            "into it (or drop the [build] header)")
    valid = set(config_keys()) | set(option_keys())
    unknown = sorted(k.replace("-", "_") for k in table if k.replace("-", "_") not in valid)
    if unknown:
        raise EdgefactError(
            f"unknown key(s) in {p}: {', '.join(unknown)}; valid keys: {', '.join(sorted(valid))}"
        )
    return {k.replace("-", "_"): v for k, v in table.items()}


def make_config(file_values: dict[str, Any] | None, cli_values: dict[str, Any]) -> BuildConfig:
    """Merge defaults < config file < CLI (CLI values of None mean 'not given')."""
    values: dict[str, Any] = {}
    types = {f.name: f.type for f in dataclasses.fields(BuildConfig)}
    for source in (file_values or {}, {k: v for k, v in cli_values.items() if v is not None}):
        for key, value in source.items():
            if key not in types and key not in option_keys():
                raise EdgefactError(f"unknown build option '{key}'")
            values[key] = value
    values, runner_values = split_runner_values(values)
    try:
        cfg = BuildConfig(**values, runner_options=runner_values)
    except TypeError as exc:
        raise EdgefactError(f"bad build configuration: {exc}") from None
    _coerce(cfg)
    cfg.validate()
    return cfg


#: the value types of the fields, from their annotations (a field defaulting to None is checked too)
_SCALARS = {"int": int, "float": float, "str": str, "bool": bool}


def _field_type(f: dataclasses.Field[Any]) -> tuple[type, bool] | None:
    """(value type, None allowed) of a scalar field; None for the dict fields."""
    parts = [t.strip() for t in str(f.type).split("|")]
    optional = "None" in parts
    names = [t for t in parts if t != "None"]
    if len(names) != 1 or names[0] not in _SCALARS:
        return None
    return _SCALARS[names[0]], optional


def _coerce(cfg: BuildConfig) -> None:
    """Coerce TOML values (ints for floats) and reject wrong types with the key's name, every
    field included (``rank = "x"`` as well as ``epochs = "many"``)."""
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if f.name in ("extra", "runner_options"):
            if not isinstance(value, dict):
                raise EdgefactError(f"build option '{f.name}' must be a table, got {type(value).__name__}")
            continue
        ft = _field_type(f)
        if ft is None:
            continue
        expected, optional = ft
        if value is None:
            if optional:
                continue
            raise EdgefactError(f"build option '{f.name}' must be {expected.__name__}, got nothing")
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            setattr(cfg, f.name, float(value))
        elif not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
            raise EdgefactError(
                f"build option '{f.name}' must be {expected.__name__}"
                f"{' (or left unset)' if optional else ''}, got {type(value).__name__} ({value!r})"
            )
