"""What a sweep explores: the base build options, the axes and the explicit variants.

A sweep file (``SWEEP.toml``)::

    [sweep]                 # how to run it (every key also a CLI option)
    out = "sweep"           # sweep.md/json/html, variants/<name>/, logs/
    cache = ""              # the shared stage cache (default <out>/cache)
    workers = 2
    fit = "nucleo-l4r5zi"   # recommend per target within this board's budgets

    [base]                  # build options every variant shares (keys of edgefact.toml)
    dataset = "digits"
    train_samples = 2000

    [axes]                  # the cross product of these values
    factorize = ["none", "lowrank", "spatial:rank=2", {method = "dictionary", atoms = 4}]
    cluster = [0, 16]
    target = ["cortex-m4", "cortex-m7"]

    [[variant]]             # explicit variants, added to the product (or alone)
    factorize = "grouped"
    groups = 4

An axis is any build option (``model``, ``rank``, ``energy``, ``atoms``, ``groups``, ``cluster``,
``pack``, ``width``, ``epochs``, ``target``...) plus ``cluster_mode`` (``per-channel`` /
``per-tensor``). A ``factorize`` value may carry its parameters: ``"lowrank:rank=4,energy=0.8"``
or an inline table with ``method``.
"""

from __future__ import annotations

import dataclasses
import itertools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.pipeline.config import config_keys
from edgefact.targets.runners.options import option_keys

#: keys of the ``[sweep]`` table
RUN_KEYS = ("out", "cache", "workers", "train_cpus", "address", "local", "fit", "max_ms", "max_flash", "max_ram")


def _factorize_params() -> tuple[str, ...]:
    """The factorization's own parameters, from the build's stage table: the options the factorize
    stage declares that neither training nor clustering declares (rank, energy, atoms, groups...)."""
    from edgefact.pipeline.stages import STAGES

    shared = {o for s in STAGES if s.action in ("train", "cluster") for o in s.options}
    spec = next(s for s in STAGES if s.action == "factorize")
    return tuple(o for o in spec.options if o not in shared and o != "factorize")


#: factorization parameters that a ``factorize`` value may carry
FACTORIZE_PARAMS = _factorize_params()
#: axes that are not build options but spell one
ALIASES = {"cluster_mode": "cluster_per_channel"}
_CLUSTER_MODES = {"per-channel": True, "per-tensor": False}


@dataclass
class SweepSpec:
    """The parsed sweep: options shared by all variants, the axes and the explicit variants."""

    base: dict[str, Any] = field(default_factory=dict)
    axes: dict[str, list[Any]] = field(default_factory=dict)
    variants: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)


@dataclass
class Variant:
    """One point of the sweep: its name and the build options it sets on top of the base."""

    name: str
    overrides: dict[str, Any]

    def options(self, base: Mapping[str, Any]) -> dict[str, Any]:
        return {**base, **self.overrides}


def _build_keys() -> set[str]:
    return (set(config_keys()) | set(option_keys())) - {"out"}


def _norm_key(key: str) -> str:
    return key.replace("-", "_")


def parse_factorize(value: Any) -> dict[str, Any]:
    """``"lowrank"``, ``"lowrank:rank=4,energy=0.8"`` or ``{method=..., rank=...}`` -> build options."""
    if isinstance(value, Mapping):
        table = {_norm_key(k): v for k, v in value.items()}
        method = table.pop("method", None)
        if not isinstance(method, str):
            raise EdgefactError(f"factorize table {dict(value)} needs a 'method' (e.g. method = \"lowrank\")")
        params = table
    elif isinstance(value, str):
        method, _, rest = value.partition(":")
        params = {}
        for item in filter(None, (p.strip() for p in rest.split(","))):
            k, eq, v = item.partition("=")
            if not eq:
                raise EdgefactError(f"factorize value '{value}': parameters are key=value, got '{item}'")
            params[_norm_key(k.strip())] = parse_scalar(v.strip())
    else:
        raise EdgefactError(f"factorize value {value!r} must be a string or a table")
    unknown = sorted(set(params) - set(FACTORIZE_PARAMS))
    if unknown:
        raise EdgefactError(f"factorize '{method}': unknown parameter(s) {', '.join(unknown)}; "
                            f"valid: {', '.join(FACTORIZE_PARAMS)}")
    return {"factorize": method.strip(), **params}


def parse_scalar(text: str) -> Any:
    """A CLI value as TOML would read it: int, float, bool or string."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def expand_assignment(key: str, value: Any) -> dict[str, Any]:
    """One axis value (or one explicit-variant key) as the build options it sets."""
    key = _norm_key(key)
    if key == "factorize":
        return parse_factorize(value)
    if key == "cluster_mode":
        if value not in _CLUSTER_MODES:
            raise EdgefactError(f"cluster_mode must be per-channel or per-tensor, got {value!r}")
        return {"cluster_per_channel": _CLUSTER_MODES[value]}
    if key not in _build_keys():
        raise EdgefactError(f"'{key}' is not a build option; valid axes: "
                            f"{', '.join(sorted(_build_keys() | set(ALIASES)))}")
    return {key: value}


def load_sweep_file(path: str | Path) -> SweepSpec:
    """Read ``SWEEP.toml``; unknown tables or keys are errors naming the valid ones."""
    p = Path(path)
    if not p.is_file():
        raise EdgefactError(f"sweep file not found: {p}")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise EdgefactError(f"sweep file {p} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"sweep", "base", "axes", "variant"})
    if unknown:
        raise EdgefactError(f"unknown table(s) in {p}: {', '.join(unknown)}; valid: [sweep], [base], [axes], [[variant]]")
    run = {_norm_key(k): v for k, v in data.get("sweep", {}).items()}
    bad = sorted(set(run) - set(RUN_KEYS))
    if bad:
        raise EdgefactError(f"unknown key(s) in [sweep] of {p}: {', '.join(bad)}; valid: {', '.join(RUN_KEYS)}")
    base = {_norm_key(k): v for k, v in data.get("base", {}).items()}
    bad = sorted(set(base) - _build_keys())
    if bad:
        raise EdgefactError(f"unknown build option(s) in [base] of {p}: {', '.join(bad)}")
    axes: dict[str, list[Any]] = {}
    for k, v in data.get("axes", {}).items():
        values = v if isinstance(v, list) else [v]
        if not values:
            raise EdgefactError(f"axis '{k}' in {p} has no values")
        axes[_norm_key(k)] = values
    variants = data.get("variant", [])
    if not isinstance(variants, list):
        raise EdgefactError(f"[[variant]] in {p} must be an array of tables")
    spec = SweepSpec(base=base, axes=axes, variants=[dict(v) for v in variants], run=run)
    expand(spec)  # reject bad keys now, with the file's name at hand
    return spec


def parse_variant_text(text: str) -> dict[str, Any]:
    """``--variant "factorize=lowrank,rank=4,target=cortex-m4"`` -> a variant table."""
    out: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        k, eq, v = item.partition("=")
        if not eq:
            raise EdgefactError(f"--variant '{text}': items are key=value, got '{item}'")
        k = _norm_key(k.strip())
        if k in FACTORIZE_PARAMS:
            out[k] = parse_scalar(v.strip())
        else:
            out[k] = v.strip() if k in ("factorize", "cluster_mode", "target", "model", "pack") else parse_scalar(v.strip())
    return out


def merge_cli(spec: SweepSpec, *, axes: Mapping[str, Sequence[Any]], variants: Sequence[str],
              base: Mapping[str, Any]) -> SweepSpec:
    """CLI axes replace the file's axis of the same name; CLI variants are added; ``--set`` wins over [base]."""
    merged = dataclasses.replace(spec, base={**spec.base, **base}, axes=dict(spec.axes),
                                 variants=list(spec.variants))
    for k, values in axes.items():
        if values:
            merged.axes[_norm_key(k)] = list(values)
    merged.variants += [parse_variant_text(v) for v in variants]
    return merged


def _value_label(key: str, value: Any) -> str:
    if key == "factorize":
        return str(value)
    if key == "cluster":
        return f"k{value}"
    if key == "cluster_per_channel":
        return "pc" if value else "pt"
    short = {"rank": "r", "energy": "e", "atoms": "a", "groups": "g", "width": "w", "epochs": "ep"}
    if key in short:
        return f"{short[key]}{value:g}" if isinstance(value, float) else f"{short[key]}{value}"
    if key in ("model", "target"):
        return Path(str(value)).stem if key == "model" else str(value)
    return f"{key}{value}"


def variant_name(overrides: Mapping[str, Any]) -> str:
    """A file-name-safe label from the options a variant sets, in a fixed order."""
    order = ["model", "factorize", *FACTORIZE_PARAMS, "cluster", "cluster_per_channel", "pack", "width", "epochs",
             "target"]
    keys = [k for k in order if k in overrides] + sorted(k for k in overrides if k not in order)
    parts = [_value_label(k, overrides[k]) for k in keys if not (k == "factorize" and overrides[k] == "none")]
    if overrides.get("factorize") == "none":
        parts.insert(1 if "model" in overrides else 0, "base")
    name = "-".join(str(p) for p in parts) or "base"
    return "".join(c if c.isalnum() or c in "-_.+" else "_" for c in name)


def expand(spec: SweepSpec) -> list[Variant]:
    """The variants of a sweep: the cross product of the axes, then the explicit list.

    With neither, one variant: the base options. Names repeat only when two variants set the
    same options; the later one gets a ``-2`` suffix (the graph then finds them to be one build).
    """
    points: list[dict[str, Any]] = []
    if spec.axes:
        keys = list(spec.axes)
        for combo in itertools.product(*(spec.axes[k] for k in keys)):
            over: dict[str, Any] = {}
            for k, v in zip(keys, combo, strict=True):
                over.update(expand_assignment(k, v))
            points.append(over)
    for table in spec.variants:
        over = {}
        for k, v in table.items():
            over.update(expand_assignment(k, v))
        points.append(over)
    if not points:
        points.append({})
    variants: list[Variant] = []
    seen: dict[str, int] = {}
    for over in points:
        name = variant_name(over)
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            name = f"{name}-{seen[name]}"
        variants.append(Variant(name, over))
    return variants
