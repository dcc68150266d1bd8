"""report.json schema: accepts a complete report, rejects broken ones naming the field (via jsonschema)."""

from __future__ import annotations

import copy
import json

import pytest
from report_samples import sample_report

from edgefact.errors import EdgefactError
from edgefact.report.schema import (
    REPORT_SCHEMA,
    ReportSchemaError,
    derive_fields,
    load_json_schema,
    load_report,
    validate_report,
)


def test_complete_report_is_valid() -> None:
    validate_report(sample_report())


def test_minimal_report_is_valid() -> None:
    r = sample_report()
    for key in ("memory", "bitexact", "accuracy", "stages"):
        del r[key]
    r["layers"] = [{"index": 0, "op": "CONV_2D", "macs": 10}]
    r["totals"] = {"macs": 10}
    validate_report(r)


def test_shipped_json_schema_is_the_versioned_one() -> None:
    s = load_json_schema()
    assert s["$id"] == REPORT_SCHEMA
    assert s["properties"]["schema"]["const"] == REPORT_SCHEMA


def _broken(mutate) -> dict:
    r = sample_report()
    mutate(r)
    return r


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda r: r.pop("target"), "report.target"),
        (lambda r: r.__setitem__("schema", "something/1"), "report.schema"),
        (lambda r: r["layers"][2].__setitem__("macs", -5), "report.layers[2].macs"),
        (lambda r: r["layers"][1].__setitem__("macs", "many"), "report.layers[1].macs"),
        (lambda r: r["layers"][0].pop("op"), "report.layers[0].op"),
        (lambda r: r["target"].__setitem__("kind", "fpga"), "report.target.kind"),
        (lambda r: r.__setitem__("unit", "seconds"), "report.unit"),
        (lambda r: r["accuracy"].__setitem__("int8", 89.3), "report.accuracy.int8"),
        (lambda r: r["model"]["input"].__setitem__("shape", [1, "28"]), "report.model.input.shape[1]"),
        (lambda r: r["memory"]["flash_sections"].__setitem__(".text", -1), 'report.memory.flash_sections[".text"]'),
        (lambda r: r["stages"][1].__setitem__("cached", "yes"), "report.stages[1].cached"),
        (lambda r: r.__setitem__("created", "yesterday"), "report.created"),
        (lambda r: r["totals"].__setitem__("macs", True), "report.totals.macs"),
        (lambda r: r["layers"][3].__setitem__("index", 0), "report.layers[3].index"),
        (lambda r: r["layers"][0].__setitem__("share", 0.99), "report.layers[*].share"),
    ],
)
def test_broken_report_names_the_field(mutate, field: str) -> None:
    with pytest.raises(ReportSchemaError) as info:
        validate_report(_broken(mutate))
    assert str(info.value).startswith(field + ":"), str(info.value)
    assert isinstance(info.value, EdgefactError)


def test_newer_schema_version_is_refused_with_advice() -> None:
    with pytest.raises(ReportSchemaError, match="edgefact.report/2.*regenerate"):
        validate_report(sample_report(schema="edgefact.report/2"))


def test_load_report_reads_a_directory(tmp_path) -> None:
    (tmp_path / "report.json").write_text(json.dumps(sample_report()))
    assert load_report(tmp_path)["model"]["name"] == "fmnist_dws"
    with pytest.raises(EdgefactError, match="no report.json"):
        load_report(tmp_path / "nope")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "report.json").write_text("{not json")
    with pytest.raises(EdgefactError, match="not valid JSON"):
        load_report(tmp_path / "bad")


def test_derive_fields_computes_share_ratio_and_estimate() -> None:
    r = sample_report()
    for layer in r["layers"]:
        for key in ("share", "macs_per_count", "est_ms"):
            del layer[key]
    for key in ("params", "weight_bytes", "est_ms"):
        del r["totals"][key]
    d = derive_fields(r)
    validate_report(d)
    conv = d["layers"][0]
    assert conv["share"] == pytest.approx(401234 / 830000)
    assert conv["macs_per_count"] == pytest.approx(112896 / 401234)
    assert conv["est_ms"] == pytest.approx(401234 / 216e3)
    assert d["totals"]["params"] == 160 + 160 + 544 + 0 + 330
    assert d["totals"]["est_ms"] == pytest.approx(830000 / 216e3)
    # no clock: no estimate
    r2 = copy.deepcopy(r)
    r2["target"]["clock_hz"] = None
    assert "est_ms" not in derive_fields(r2)["layers"][0]
    # host timings are not instruction counts: no estimate even with a clock
    r3 = copy.deepcopy(r)
    r3["unit"] = "ns (host)"
    assert derive_fields(r3)["layers"][0].get("est_ms") is None


def test_validator_understands_every_keyword_of_the_shipped_schema() -> None:
    """Every keyword of the shipped schema is one whose failure the error message puts in words, and
    none is a typo (JSON Schema validators, jsonschema included, silently ignore unknown keywords)."""
    supported = {"$schema", "$id", "$defs", "$ref", "title", "description", "type", "const", "enum", "required",
                 "properties", "additionalProperties", "items", "minimum", "maximum", "exclusiveMinimum",
                 "minLength", "pattern"}
    seen: set[str] = set()

    def walk(node, in_props: bool = False) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not in_props:
                    seen.add(key)
                walk(value, in_props=(key in ("properties", "$defs") and not in_props))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(load_json_schema())
    assert seen <= supported, seen - supported


def test_shipped_schema_is_valid_draft_2020_12() -> None:
    from jsonschema import Draft202012Validator

    schema = load_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_python_tuples_count_as_arrays() -> None:
    r = sample_report()
    r["model"]["input"]["shape"] = tuple(r["model"]["input"]["shape"])
    r["layers"] = tuple(r["layers"])
    validate_report(r)
    r["model"]["input"]["shape"] = (1, "28")
    with pytest.raises(ReportSchemaError, match=r"^report\.model\.input\.shape\[1\]: expected integer"):
        validate_report(r)


def test_unknown_field_of_a_closed_object_is_named() -> None:
    """An ``additionalProperties: false`` error names the unexpected key, not the object."""
    from jsonschema import Draft202012Validator

    from edgefact.report.schema import _schema_error

    closed = Draft202012Validator({"type": "object", "properties": {"a": {}}, "additionalProperties": False})
    (err,) = closed.iter_errors({"a": 1, "b": 2})
    assert str(_schema_error(err)) == "report.b: unknown field (valid: a)"


def test_non_object_report_is_refused() -> None:
    with pytest.raises(ReportSchemaError, match="^report: expected a JSON object, got list"):
        validate_report([])
