"""scripts/compare_factorizations: per-method fine-tune epochs (issue 11, deliver 5: each
factorization fine-tuned long enough to converge) and the table's fine-tune column."""

from __future__ import annotations

import click
import pytest
from script_module import load_script


def _module():  # noqa: ANN202
    return load_script("compare_factorizations")


def test_method_epochs_parse_and_refuse_clearly() -> None:
    cf = _module()
    assert cf._method_epochs("grouped=24, depthwise=12.5") == {"grouped": 24.0, "depthwise": 12.5}
    assert cf._method_epochs("") == {}
    for bad, says in (("grouped", "METHOD=EPOCHS"), ("cnn=3", "one of spatial"), ("grouped=x", "number"),
                      ("grouped=-1", "number")):
        with pytest.raises(click.BadParameter, match=says):
            cf._method_epochs(bad)
    assert cf.FULL_METHOD_EPOCHS["grouped"] > cf.FULL["finetune_epochs"]


def _report(count: int, macs: int, stages: list[dict]) -> dict:
    return {"totals": {"count": count, "macs": macs, "params": 10, "deployable_flash_bytes": 2048},
            "accuracy": {"float": 0.9, "int8": 0.89, "device": 0.9, "device_samples": 500}, "stages": stages,
            "layers": []}


def test_table_shows_each_methods_fine_tune_epochs_and_time() -> None:
    cf = _module()
    base = {"cortex-m4": _report(1000, 2000, [{"name": "train", "seconds": 169.4, "cached": False}])}
    var = {"cortex-m4": _report(600, 1000, [{"name": "train", "seconds": 0.0, "cached": True},
                                            {"name": "factorize", "seconds": 581.2, "cached": False}])}
    rows = [cf._row("none", base, base, ["cortex-m4"]), cf._row("grouped", var, base, ["cortex-m4"], 24.0)]
    assert rows[1]["finetune_epochs"] == 24.0 and rows[1]["train_seconds"] == 581.2
    assert rows[0]["finetune_epochs"] is None and rows[0]["train_seconds"] == 169.4
    lines = cf._table(rows, ["cortex-m4"]).splitlines()
    assert lines[0].endswith("| fine-tune |")
    assert lines[2].endswith("| – | –, 169 s |")  # the baseline: its training time
    assert lines[3].endswith("| 0.80 | 24 ep, 581 s |")  # delivered (1 - 0.6) / (1 - 0.5)
    assert lines[3].startswith("| grouped | ")


def test_full_budget_options_name_the_method_row() -> None:
    """--full's lowrank is capped at --max-ratio 0.55 (0.49x of the cnn's MACs) and fine-tuned 12
    epochs; the row says so, and the options reach only that method's builds."""
    cf = _module()
    assert cf.FULL_METHOD_OPTIONS["lowrank"] == cf.FULL_METHOD_OPTIONS["dictionary"] == ("--max-ratio", "0.55")
    assert cf.FULL_METHOD_EPOCHS["lowrank"] == 12.0 and cf.FULL_METHOD_EPOCHS["dictionary"] == 24.0
    assert "none" not in cf.FULL_METHOD_OPTIONS  # the baseline refuses factorization options
    base = {"cortex-m4": _report(1000, 2000, [])}
    var = {"cortex-m4": _report(600, 1000, [])}
    rows = [cf._row("none", base, base, ["cortex-m4"]),
            cf._row("lowrank", var, base, ["cortex-m4"], 12.0, cf.FULL_METHOD_OPTIONS["lowrank"])]
    assert rows[1]["options"] == ["--max-ratio", "0.55"]
    lines = cf._table(rows, ["cortex-m4"]).splitlines()
    assert lines[3].startswith("| lowrank `--max-ratio 0.55` | ")
    assert lines[2].startswith("| none (baseline) | ")
