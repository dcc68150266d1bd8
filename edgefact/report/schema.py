"""The versioned ``report.json`` schema (``edgefact.report/1``) and its validator.

The JSON Schema shipped next to this module (``report.schema.json``) is the single source of truth;
:func:`validate_report` interprets the subset of JSON Schema it uses (type, const, enum, required,
properties, additionalProperties, items, minimum/maximum, exclusiveMinimum, minLength, pattern,
local ``$ref``) so no extra package is needed, and names the offending field in its error
(``report.layers[2].macs: expected integer >= 0, got -5``). A few rules JSON Schema cannot say
(unique layer indices, shares summing to at most 1) are checked afterwards.

:func:`derive_fields` fills the values computed from others (share, MACs per count, estimated ms,
totals) so every producer computes them the same way.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from importlib import resources
from typing import Any

from edgefact.errors import EdgefactError

REPORT_SCHEMA = "edgefact.report/1"
SCHEMA_FILE = "report.schema.json"

# Units a report's counts may be in; the firmware/runner decides which one applies.
UNIT_INSTRUCTIONS = "instructions (emulated)"
UNIT_CYCLES = "cycles (device)"
UNIT_NS = "ns (host)"


#: shares may sum to slightly more than 1 when per-layer cycles and the total come from different runs
SHARE_SUM_TOLERANCE = 1.02


class ReportSchemaError(EdgefactError):
    """A report does not follow ``edgefact.report/1``; the message names the field."""


@functools.lru_cache(maxsize=1)
def load_json_schema() -> dict[str, Any]:
    """The JSON Schema document shipped with the package."""
    text = resources.files("edgefact.report").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list, tuple),
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "null": (type(None),),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("number", "integer") and isinstance(value, bool):
        return False  # JSON booleans are not numbers, Python's are
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES[name])


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _resolve(ref: str, root: dict[str, Any]) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref supported, got {ref}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def _check(value: Any, schema: dict[str, Any], path: str, root: dict[str, Any]) -> None:
    """Raise ReportSchemaError at the first violation under ``path``."""
    if "$ref" in schema:
        schema = _resolve(schema["$ref"], root)

    def fail(expected: str) -> None:
        raise ReportSchemaError(
            f"{path}: expected {expected}, got {_describe(value)} "
            f"(see docs/report-schema.md, schema {REPORT_SCHEMA})"
        )

    if "const" in schema and value != schema["const"]:
        fail(_describe(schema["const"]))
    if "enum" in schema and value not in schema["enum"]:
        fail("one of " + ", ".join(_describe(v) for v in schema["enum"]))
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(value, t) for t in names):
            bound = ""
            if "minimum" in schema:
                bound = f" >= {schema['minimum']}"
            fail(" or ".join(names) + bound)
    if value is None:
        return
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            fail(f"a value >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            fail(f"a value <= {schema['maximum']}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            fail(f"a value > {schema['exclusiveMinimum']}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            fail("a non-empty string")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            fail(f"a string matching {schema['pattern']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise ReportSchemaError(
                    f"{path}.{key}: required field is missing (see docs/report-schema.md, "
                    f"schema {REPORT_SCHEMA})"
                )
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if not isinstance(key, str):
                raise ReportSchemaError(f"{path}: keys must be strings, got {_describe(key)}")
            if key in props:
                _check(item, props[key], _join(path, key), root)
            elif extra is False:
                raise ReportSchemaError(f"{_join(path, key)}: unknown field (valid: {', '.join(sorted(props))})")
            elif isinstance(extra, dict):
                _check(item, extra, _join(path, key), root)
    if isinstance(value, list | tuple) and "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{path}[{i}]", root)


def validate_report(d: Any) -> None:
    """Check ``d`` against ``edgefact.report/1``; raise :class:`ReportSchemaError` naming the field."""
    if not isinstance(d, dict):
        raise ReportSchemaError(f"report: expected a JSON object, got {type(d).__name__}")
    schema_id = d.get("schema")
    if isinstance(schema_id, str) and schema_id.startswith("edgefact.report/") and schema_id != REPORT_SCHEMA:
        raise ReportSchemaError(
            f"report.schema: this edgefact reads {REPORT_SCHEMA}, the report is {schema_id}; "
            "regenerate the report with this version (edgefact build) or use the matching edgefact"
        )
    root = load_json_schema()
    _check(d, root, "report", root)
    seen: dict[int, int] = {}
    share_sum = 0.0
    for pos, layer in enumerate(d["layers"]):
        idx = int(layer["index"])
        if idx in seen:
            raise ReportSchemaError(
                f"report.layers[{pos}].index: {idx} already used by report.layers[{seen[idx]}]; "
                "layer indices must be unique"
            )
        seen[idx] = pos
        share_sum += layer.get("share") or 0.0
    if share_sum > SHARE_SUM_TOLERANCE:
        raise ReportSchemaError(
            f"report.layers[*].share: shares sum to {share_sum:.4f} > 1; a share is the layer's "
            "count divided by the total count"
        )


def load_report(path: Any) -> dict[str, Any]:
    """Read and validate a report.json; a missing or malformed file raises EdgefactError."""
    from pathlib import Path

    p = Path(path)
    if p.is_dir():
        p = p / "report.json"
    if p.is_file() and p.suffix != ".json":
        raise EdgefactError(f"{p}: not a build directory or a report.json; pass the folder `edgefact build --out` wrote")
    if not p.is_file():
        raise EdgefactError(
            f"{p}: no report.json here; run `edgefact build --out {p.parent}` first or pass a build directory"
        )
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EdgefactError(f"{p}: not valid JSON ({exc}); regenerate it with `edgefact build`") from None
    try:
        validate_report(d)
    except ReportSchemaError as exc:
        raise ReportSchemaError(f"{p}: {exc}") from None
    return d


def derive_fields(report: dict[str, Any]) -> dict[str, Any]:
    """Return a copy with the computed fields filled in where missing.

    Per layer: ``share`` (count / total count), ``macs_per_count``, ``est_ms`` (only when the target
    has a clock: count / clock, i.e. one instruction or cycle per clock tick -- an *estimate* under
    emulation). Totals: sums of ``macs``, ``params``, ``weight_bytes``, ``count`` over the layers when
    absent, and ``est_ms``. Existing values are kept.
    """
    r = copy.deepcopy(report)
    layers = r.setdefault("layers", [])
    totals = r.setdefault("totals", {})
    for key in ("macs", "params", "weight_bytes", "count"):
        vals = [layer.get(key) for layer in layers]
        if totals.get(key) is None and layers and all(v is not None for v in vals):
            total = sum(vals)
            totals[key] = int(total) if all(float(v).is_integer() for v in vals) else total
    totals.setdefault("macs", 0)
    clock = (r.get("target") or {}).get("clock_hz")
    unit = r.get("unit")
    counts_cycles = unit in (UNIT_INSTRUCTIONS, UNIT_CYCLES)
    layer_count_sum = sum(layer.get("count") or 0 for layer in layers)
    # On a board, layer cycle counts come from one run and the total is the minimum over runs: the
    # layers may add up to slightly more than the total. Never let the shares exceed 1.
    denom = max(totals.get("count") or 0, layer_count_sum)
    for layer in layers:
        count = layer.get("count")
        if count is None:
            continue
        if layer.get("share") is None and denom:
            layer["share"] = min(1.0, count / denom)
        if layer.get("macs_per_count") is None and count > 0:
            layer["macs_per_count"] = layer.get("macs", 0) / count
        if layer.get("est_ms") is None and clock and counts_cycles:
            layer["est_ms"] = 1000.0 * count / clock
    if totals.get("est_ms") is None and clock and counts_cycles and totals.get("count"):
        totals["est_ms"] = 1000.0 * totals["count"] / clock
    return r
