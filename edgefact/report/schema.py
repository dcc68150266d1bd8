"""The versioned ``report.json`` schema (``edgefact.report/1``) and its validator.

The JSON Schema shipped next to this module (``report.schema.json``, draft 2020-12) is the single
source of truth. :func:`validate_report` checks a report with the ``jsonschema`` library and turns
its first error into an :class:`EdgefactError` that names the offending field
(``report.layers[2].macs: expected a value >= 0, got -5``). A few rules JSON Schema cannot say
(unique layer indices, shares summing to at most 1, footprint components summing to the
totals) are checked afterwards.

:data:`REPORT_SCHEMA` is the one spelling of the schema id: producers write it, the shipped schema
carries it as ``$id`` and as the ``schema`` field's ``const``.

:func:`derive_fields` fills the values computed from others (share, MACs per count, estimated ms,
totals) so every producer computes them the same way.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterable
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from edgefact.errors import EdgefactError
from edgefact.units import UNIT_DEVICE, UNIT_EMULATED, UNIT_HOST

REPORT_SCHEMA = "edgefact.report/1"
SCHEMA_FILE = "report.schema.json"

# Units a report's counts may be in (edgefact.units); the firmware/runner decides which one applies.
UNIT_INSTRUCTIONS = UNIT_EMULATED
UNIT_CYCLES = UNIT_DEVICE
UNIT_NS = UNIT_HOST


#: shares may sum to slightly more than 1 when per-layer cycles and the total come from different runs
SHARE_SUM_TOLERANCE = 1.02


class ReportSchemaError(EdgefactError):
    """A report does not follow ``edgefact.report/1``; the message names the field."""


@functools.lru_cache(maxsize=1)
def load_json_schema() -> dict[str, Any]:
    """The JSON Schema document shipped with the package."""
    text = resources.files("edgefact.report").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


# Producers build reports in Python before writing JSON: a tuple is as good as a list there.
_ReportValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "array", lambda _checker, value: isinstance(value, list | tuple)),
)


@functools.lru_cache(maxsize=1)
def _validator() -> Any:
    schema = load_json_schema()
    Draft202012Validator.check_schema(schema)  # a broken shipped schema is a bug, not a bad report
    return _ReportValidator(schema)


def _describe(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{json.dumps(key)}]"


def _field(parts: Iterable[str | int]) -> str:
    path = "report"
    for key in parts:
        path = _join(path, key)
    return path


def _expected(err: ValidationError) -> str:
    """What the failing keyword wanted, in words."""
    kw, want, schema = err.validator, err.validator_value, err.schema
    if kw == "type":
        names = [want] if isinstance(want, str) else list(want)
        bound = f" >= {schema['minimum']}" if isinstance(schema, dict) and "minimum" in schema else ""
        return " or ".join(names) + bound
    if kw == "const":
        return _describe(want)
    if kw == "enum":
        return "one of " + ", ".join(_describe(v) for v in want)
    if kw == "minimum":
        return f"a value >= {want}"
    if kw == "maximum":
        return f"a value <= {want}"
    if kw == "exclusiveMinimum":
        return f"a value > {want}"
    if kw == "minLength":
        return "a non-empty string" if want == 1 else f"a string of at least {want} characters"
    if kw == "pattern":
        return f"a string matching {want}"
    return err.message


def _schema_error(err: ValidationError) -> ReportSchemaError:
    """The report error for jsonschema's error: the field's path first, then what was wrong."""
    path = _field(err.absolute_path)
    see = f"(see docs/report-schema.md, schema {REPORT_SCHEMA})"
    inst = err.instance
    if err.validator == "required" and isinstance(inst, dict):
        missing = next((k for k in err.validator_value if k not in inst), "?")
        return ReportSchemaError(f"{_join(path, missing)}: required field is missing {see}")
    if err.validator == "additionalProperties" and isinstance(inst, dict) and isinstance(err.schema, dict):
        props = err.schema.get("properties", {})
        extra = next((k for k in inst if k not in props), "?")
        return ReportSchemaError(f"{_join(path, extra)}: unknown field (valid: {', '.join(sorted(props))})")
    return ReportSchemaError(f"{path}: expected {_expected(err)}, got {_describe(inst)} {see}")


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
    err = best_match(_validator().iter_errors(d))
    if err is not None:
        raise _schema_error(err)
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
    _check_footprint(d)


def _check_footprint(d: dict[str, Any]) -> None:
    """The components of ``footprint.flash`` / ``footprint.ram`` add up to the ELF's totals."""
    fp = d.get("footprint")
    if not fp:
        return
    totals = d["totals"]
    for part, total_key in (("flash", "flash_bytes"), ("ram", "ram_bytes")):
        total = totals.get(total_key)
        got = sum(fp[part].values())
        if total is not None and got != total:
            raise ReportSchemaError(
                f"report.footprint.{part}: components sum to {got} B but report.totals.{total_key} is "
                f"{total} B; every byte of the ELF belongs to exactly one component"
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
