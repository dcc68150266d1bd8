"""edgefact compare: Pareto front and the command on real report files (engineer E)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from report_samples import sample_report

from edgefact.cli import cli
from edgefact.report.compare import load_variants, pareto_front


def test_pareto_front_basic() -> None:
    # cost, accuracy
    pts = [(100, 0.90), (50, 0.88), (60, 0.85), (200, 0.95), (200, 0.93), (50, 0.80), (None, 0.99), (10, None)]
    # (60, .85) is dominated by (50, .88); (200, .93) by (200, .95); (50, .80) by (50, .88)
    assert pareto_front(pts) == [1, 0, 3]


def test_pareto_front_keeps_ties_and_single_points() -> None:
    assert pareto_front([(5, 0.5), (5, 0.5)]) == [0, 1]
    assert pareto_front([(5, 0.5)]) == [0]
    assert pareto_front([]) == []
    assert pareto_front([(1, 0.1), (2, 0.2), (3, 0.3)]) == [0, 1, 2]
    assert pareto_front([(3, 0.1), (2, 0.2), (1, 0.3)]) == [2]


def _variant_dir(root, name: str, acc: float, count: int, flash: int):
    d = root / name
    d.mkdir()
    r = sample_report()
    r["accuracy"]["device"] = acc
    r["totals"]["count"] = count
    r["totals"]["flash_bytes"] = flash
    r["model"]["name"] = name
    (d / "report.json").write_text(json.dumps(r))
    return d


@pytest.fixture
def variant_dirs(tmp_path):
    return [
        _variant_dir(tmp_path, "baseline", 0.91, 2_000_000, 90_000),
        _variant_dir(tmp_path, "dws", 0.89, 830_000, 60_000),
        _variant_dir(tmp_path, "dws_k16", 0.885, 830_000, 40_000),
        _variant_dir(tmp_path, "lowrank", 0.87, 900_000, 70_000),  # dominated on both axes
    ]


def test_compare_command_prints_table_and_writes_plot(variant_dirs, tmp_path) -> None:
    out = tmp_path / "cmp"
    res = CliRunner().invoke(cli, ["compare", *map(str, variant_dirs), "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip().strip("|").split("|")]
            for line in res.output.splitlines() if line.startswith("| ") and "variant" not in line}
    assert rows["baseline"][2] == "91.0% (device)" and rows["baseline"][4] == "2,000,000"
    # front on accuracy vs instructions: baseline, dws (dws_k16 ties on count but is less accurate)
    assert [rows[n][7] for n in ("baseline", "dws", "dws_k16", "lowrank")] == ["*", "*", "", ""]
    # front on accuracy vs flash: baseline, dws, dws_k16
    assert [rows[n][8] for n in ("baseline", "dws", "dws_k16", "lowrank")] == ["*", "*", "*", ""]
    assert (out / "compare.png").read_bytes()[:4] == b"\x89PNG"
    page = (out / "compare.html").read_text()
    assert "data:image/png;base64," in page and "lowrank" in page


def test_compare_reports_a_missing_report(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(cli, ["compare", str(tmp_path / "empty"), "--no-plot"])
    assert res.exit_code != 0
    assert "no report.json" in str(res.exception)


def test_mixed_units_are_flagged(variant_dirs) -> None:
    r = json.loads((variant_dirs[0] / "report.json").read_text())
    r["unit"] = "cycles (device)"
    (variant_dirs[0] / "report.json").write_text(json.dumps(r))
    from edgefact.report.compare import comparison_table, mixed_warning

    variants = load_variants(variant_dirs)
    assert "different units" in mixed_warning(variants)
    assert "mixed units" in comparison_table(variants)
