"""report.md / report.html / report.json from a sample report (engineer E)."""

from __future__ import annotations

import base64
import json
import re

import pytest
from report_samples import sample_report

from edgefact.report.render import (
    PATH_WIDTH,
    fmt_ops,
    fmt_path,
    format_table,
    render_markdown,
    summary_line,
    write_reports,
)
from edgefact.report.schema import ReportSchemaError, validate_report


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    paths = write_reports(sample_report(), out)
    return out, paths


def test_write_reports_writes_three_files(written) -> None:
    out, paths = written
    assert [p.name for p in paths] == ["report.json", "report.md", "report.html"]
    data = json.loads((out / "report.json").read_text())
    validate_report(data)
    assert data["layers"][2]["macs"] == 100352
    assert not list(out.glob(".*tmp"))  # atomic writes leave no temporaries


def test_markdown_has_tables_and_final_line(written) -> None:
    md = (written[0] / "report.md").read_text()
    for heading in ("## Per layer", "## Memory", "## Accuracy", "## Stages"):
        assert heading in md
    header = next(line for line in md.splitlines() if line.startswith("|") and "MACs/instr" in line)
    for col in ("op", "MACs", "instructions", "share", "est. ms @216 MHz*"):
        assert col in header
    row = next(line for line in md.splitlines() if "DEPTHWISE_CONV_2D" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    # MACs, count, share, MACs per instruction and the estimate of that layer
    assert cells[2] == "28,224" and cells[3] == "210,000"
    assert cells[4] == "25.3%" and cells[5] == f"{28224 / 210000:.3f}"
    assert cells[6] == f"{210000 / 216e3:.3f}"
    # the wider details (kernel, shapes, weight and activation bytes) are a second table
    details = next(line for line in md.splitlines() if line.startswith("|") and "kernel" in line)
    for col in ("kernel", "shapes", "params", "weight B", "act. B"):
        assert col in details
    assert max(len(line) for line in md.splitlines() if line.startswith("|")) <= 100
    assert "estimate under emulation" in md
    assert "59.8 KiB" in md and "4.00 MiB" in md  # flash against its budget
    assert "100 samples; TFLite 89.0% on the same" in md and "81.4% – 93.7%" in md  # device, Wilson 95%
    last = md.strip().splitlines()[-2]
    assert last == summary_line(sample_report())
    assert "cortex-m7" in last and "89.0%" in last and "830,000 instructions" in last
    assert "est. 3.84 ms @ 216 MHz" in last and "flash 59.8 KiB" in last and "RAM 40.0 KiB" in last


def test_html_is_self_contained_with_four_plots(written) -> None:
    page = (written[0] / "report.html").read_text()
    assert "<table>" in page and "DEPTHWISE_CONV_2D" in page
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4
    for b64 in images:
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="https?://', page)


def test_cycles_on_a_board_are_not_labelled_estimates() -> None:
    r = sample_report(unit="cycles (device)")
    r["target"].update(kind="board", name="nucleo-f746zg", qemu_machine=None)
    md = render_markdown(r)
    assert "cycles" in md and "MACs/cycle" in md
    assert "estimate under emulation" not in md and "est." not in summary_line(r)
    assert "DWT" in md


def test_partial_report_renders_without_measurements(tmp_path) -> None:
    r = sample_report()
    for key in ("memory", "accuracy", "stages", "bitexact"):
        del r[key]
    for layer in r["layers"]:
        for key in ("count", "share", "macs_per_count", "est_ms"):
            del layer[key]
    r["totals"] = {"macs": 241792}
    write_reports(r, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "latency not measured" in md and "accuracy not measured" in md
    assert "<img" not in (tmp_path / "report.html").read_text()


def test_invalid_report_is_not_written(tmp_path) -> None:
    r = sample_report()
    r["layers"][0]["macs"] = -1
    with pytest.raises(ReportSchemaError, match=r"report.layers\[0\].macs"):
        write_reports(r, tmp_path)
    assert not (tmp_path / "report.json").exists()


def test_format_table_pads_and_aligns() -> None:
    t = format_table(["name", "n"], [["a", 1], ["long", 12345]])
    lines = t.splitlines()
    assert lines[0] == "| name |     n |"
    assert lines[1] == "|------|------:|"
    assert lines[3] == "| long | 12345 |"
    with pytest.raises(ValueError):
        format_table(["a", "b"], [["only one"]])


def test_report_command_validates_prints_and_rerenders(tmp_path) -> None:
    from click.testing import CliRunner

    from edgefact.cli import cli

    (tmp_path / "report.json").write_text(json.dumps(sample_report()))
    res = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "## Per layer" in res.output and summary_line(sample_report()) in res.output
    assert (tmp_path / "report.html").is_file() and (tmp_path / "report.md").read_text() in res.output
    broken = sample_report()
    broken["layers"][1]["op"] = ""
    (tmp_path / "report.json").write_text(json.dumps(broken))
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "report.json")])
    assert res.exit_code != 0 and "report.layers[1].op" in str(res.exception)


def test_terminal_summary_ends_with_the_paste_line() -> None:
    from edgefact.report.render import render_terminal

    text = render_terminal(sample_report())
    assert text.splitlines()[-1] == summary_line(sample_report())
    assert "DEPTHWISE_CONV_2D" in text and "accuracy: float 91.0%" in text and "device 89.0%" in text
    assert "bit-exact vs tflm: yes" in text and "| flash" in text


def test_accuracy_intervals_from_the_sample_size() -> None:
    from edgefact.report.render import fmt_pct, wilson_interval

    # Wilson 95 % interval, by hand for p = 0.89, n = 100: centre 0.8812, half-width 0.0615
    lo, hi = wilson_interval(0.89, 100)
    assert lo == pytest.approx(0.8137, abs=1e-3) and hi == pytest.approx(0.9375, abs=1e-3)
    r = sample_report()
    r["accuracy"]["test_samples"] = 10000
    md = render_markdown(r)
    lo, hi = wilson_interval(0.893, 10000)
    row = next(line for line in md.splitlines() if line.startswith("| int8"))
    assert f"{fmt_pct(lo)} – {fmt_pct(hi)}" in row and "10,000 samples" in row


def test_paths_and_op_runs_are_shortened_for_the_tables() -> None:
    assert fmt_path("/tmp/x/model.tflite") == "/tmp/x/model.tflite"
    deep = "/home/someone/a/very/deep/checkout/of/edgefact/runs/factorizations-full/cnn-grouped/model.tflite"
    short = fmt_path(deep)
    assert len(short) <= PATH_WIDTH and short.startswith("…/") and short.endswith("/cnn-grouped/model.tflite")
    assert fmt_path("/" + "x" * 80 + ".tflite").endswith("x.tflite")  # the file name is kept, however long
    assert fmt_ops(["CONV_2D", "CONV_2D", "CONV_2D"]) == "3× CONV_2D"
    assert fmt_ops(["DEPTHWISE_CONV_2D", "CONV_2D", "CONV_2D"]) == "DEPTHWISE_CONV_2D + 2× CONV_2D"
    assert fmt_ops([]) == "–"


def test_a_deep_model_path_keeps_the_summary_table_narrow() -> None:
    report = sample_report()
    report["model"]["path"] = "/" + "/".join(["deep-directory"] * 12) + "/model.tflite"
    md = render_markdown(report)
    assert max(len(line) for line in md.splitlines() if line.startswith("|")) <= 100
    row = next(line for line in md.splitlines() if line.startswith("| model"))
    assert "(…/deep-directory/deep-directory/model.tflite)" in row
