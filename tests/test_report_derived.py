"""Delivered share of a MAC saving, per run and per layer, against hand-computed values."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner
from report_samples import factorized_sample, sample_report

from edgefact.cli import cli
from edgefact.report.compare import baseline_ratios, comparison_data, load_variants
from edgefact.report.derived import align_layers, delivered_share, layer_diffs, run_ratios


def test_delivered_share_by_hand() -> None:
    # MACs halve (promised saving 50 %), instructions fall by 30 %: 60 % of the promise delivered
    assert delivered_share(0.5, 0.7) == pytest.approx(0.6)
    assert delivered_share(0.5, 0.5) == pytest.approx(1.0)
    assert delivered_share(0.5, 1.1) == pytest.approx(-0.2)  # slower despite fewer MACs
    assert delivered_share(1.0, 0.9) is None  # nothing promised (clustering keeps the MACs)
    assert delivered_share(None, 0.9) is None


def _factorized(base: dict) -> dict:
    return factorized_sample(base)


def _with_act(r: dict) -> dict:
    r = copy.deepcopy(r)
    r["layers"][2]["activation_bytes"] = 9408
    return r


def test_per_layer_alignment_and_ratios_by_hand() -> None:
    base = _with_act(sample_report())
    var = _factorized(base)
    assert align_layers(base["layers"], var["layers"]) == [(0, [0]), (1, [1]), (2, [2, 3]), (3, [4]), (4, [5])]
    d = {x.index: x for x in layer_diffs(var, base)}
    conv = d[2]
    assert conv.variant_ops == ["CONV_2D", "CONV_2D"]
    # MACs (12,544 + 25,088) / 100,352 = 0.375; counts 100,000 / 180,500; weights 280 / 640; act. 10,976 / 9,408
    assert conv.ratios.mac_ratio == pytest.approx(0.375)
    assert conv.ratios.count_ratio == pytest.approx(100000 / 180500)
    assert conv.ratios.flash_ratio == pytest.approx(280 / 640)
    assert conv.ratios.arena_ratio == pytest.approx(10976 / 9408)
    assert conv.ratios.delivered == pytest.approx((1 - 100000 / 180500) / 0.625)  # 0.7136...
    assert conv.ratios.speedup == pytest.approx(1.805)
    for i in (0, 1, 4):  # untouched layers: ratios of 1, nothing promised
        assert d[i].ratios.mac_ratio == pytest.approx(1.0) and d[i].ratios.delivered is None
    assert d[3].ratios.mac_ratio is None and d[3].ratios.count_ratio == pytest.approx(1.0)  # MEAN: 0 MACs


def test_whole_run_ratios_by_hand() -> None:
    base = sample_report()
    var = _factorized(base)
    r = run_ratios(var, base)
    mac_ratio = (241792 - 100352 + 37632) / 241792
    count_ratio = (830000 - 80500) / 830000
    assert r.mac_ratio == pytest.approx(mac_ratio)
    assert r.count_ratio == pytest.approx(count_ratio)
    assert r.flash_ratio == pytest.approx(50000 / 61234)
    assert r.arena_ratio == pytest.approx(1.0)
    assert r.delivered == pytest.approx((1 - count_ratio) / (1 - mac_ratio))


def test_layers_that_do_not_align_give_no_diff() -> None:
    base = sample_report()
    other = copy.deepcopy(base)
    other["layers"][-1]["output_shape"] = [1, 12]
    assert layer_diffs(other, base) is None


def test_compare_command_reports_delivered_share_and_exports(tmp_path) -> None:
    base, var = sample_report(), _factorized(sample_report())
    dirs = []
    for name, r in (("base", base), ("lowrank", var)):
        d = tmp_path / "runs" / name
        d.mkdir(parents=True)
        (d / "report.json").write_text(json.dumps(r))
        dirs.append(d)
    res = CliRunner(mix_stderr=False).invoke(cli, ["compare", *map(str, dirs), "--layers"])
    assert res.exit_code == 0, res.stderr
    out = tmp_path / "runs" / "compare"  # beside the runs by default
    for name in ("compare.html", "compare.png", "compare.csv", "compare.json"):
        assert (out / name).is_file()
    data = json.loads((out / "compare.json").read_text())
    want = run_ratios(var, base)
    assert data["runs"][1]["delivered"] == pytest.approx(want.delivered)
    assert data["runs"][1]["speedup"] == pytest.approx(830000 / 749500)
    assert data["layers"]["lowrank"][2]["delivered"] == pytest.approx((1 - 100000 / 180500) / 0.625)
    row = next(line for line in res.stdout.splitlines() if line.startswith("| lowrank"))
    assert "1.11×" in row and f"{100 * want.delivered:.0f}%" in row
    assert "2× CONV_2D" in res.stdout  # the per-layer diff
    csv_text = (out / "compare.csv").read_text()
    assert csv_text.splitlines()[0].startswith("label,") and "lowrank" in csv_text
    assert baseline_ratios(load_variants(dirs))[0].delivered is None
    res = CliRunner(mix_stderr=False).invoke(cli, ["compare", *map(str, dirs), "--json", "--no-plot", "-o",
                                                   str(tmp_path / "j")])
    assert json.loads(res.stdout)["baseline"] == "base"
    # any two runs: --baseline picks the one the others are diffed against
    res = CliRunner(mix_stderr=False).invoke(cli, ["compare", *map(str, dirs), "--baseline", str(dirs[1]), "--json",
                                                   "--no-plot", "-o", str(tmp_path / "k")])
    data = json.loads(res.stdout)
    assert data["baseline"] == "lowrank" and [r["label"] for r in data["runs"]] == ["lowrank", "base"]
    assert data["runs"][1]["speedup"] == pytest.approx(749500 / 830000)


def test_fronts_without_accuracy_and_model_warning(tmp_path) -> None:
    dirs = []
    for name, count, flash, ram in (("a", 100, 300, 50), ("b", 200, 100, 60), ("c", 300, 400, 70)):
        r = sample_report()
        del r["accuracy"]
        r["totals"].update(count=count, flash_bytes=flash, ram_bytes=ram)
        if name == "c":
            r["model"]["input"]["shape"] = [1, 32, 32, 3]
        d = tmp_path / name
        d.mkdir()
        (d / "report.json").write_text(json.dumps(r))
        dirs.append(d)
    data = comparison_data(load_variants(dirs))
    assert data["fronts_use_accuracy"] is False
    assert [run["front_count"] for run in data["runs"]] == [True, True, False]  # c is dominated by a
    assert "different models" in data["warning"]
    res = CliRunner(mix_stderr=False).invoke(cli, ["compare", *map(str, dirs), "-o", str(tmp_path / "o")])
    assert res.exit_code == 0 and "different models" in res.stderr
    page = (tmp_path / "o" / "compare.html").read_text()
    assert "<table>" in page and "<pre>" not in page and "latency vs flash" not in page  # the title is in the PNG


def test_a_derived_runs_report_shows_its_baseline(tmp_path) -> None:
    from edgefact.report.derived import baseline_section
    from edgefact.report.render import render_html, render_markdown, summary_line, write_reports

    base, var = sample_report(), factorized_sample()
    var["baseline"] = baseline_section(var, base, "runs/base")
    write_reports(var, tmp_path)  # validates
    md = render_markdown(var)
    want = run_ratios(var, base)
    assert "## Against the baseline" in md and f"{100 * want.delivered:.0f}%" in md
    assert "2× CONV_2D" in md and f"{100 * (1 - 100000 / 180500) / 0.625:.0f}%" in md
    assert f"{1 / want.count_ratio:.2f}× vs baseline" in summary_line(var)
    assert "Against the baseline" in render_html(var)
