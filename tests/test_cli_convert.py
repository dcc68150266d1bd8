"""`edgefact convert` and `edgefact report` output modes: a table by default, JSON with --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_deploys import KWS
from report_samples import sample_report

from edgefact.cli import cli


@pytest.mark.skipif(not KWS.is_file(), reason="MLPerf Tiny model missing")
def test_convert_json_and_quiet(tmp_path: Path) -> None:
    runner = CliRunner(mix_stderr=False)
    res = runner.invoke(cli, ["convert", str(KWS), "-o", str(tmp_path / "c"), "--no-tflm", "--json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["target"] == "host" and data["arena_bytes"] > 0 and Path(data["files"]["model.c"]).is_file()
    assert [la["kernel"] for la in data["layers"]][:2] == ["ef_conv_s8", "ef_depthwise_conv_3x3_s8"]
    res = runner.invoke(cli, ["convert", str(KWS), "-o", str(tmp_path / "c"), "--no-tflm", "-q"])
    assert res.exit_code == 0 and res.stdout.splitlines() == [res.stdout.strip()]  # the one summary line
    assert res.stdout.startswith("arena: edgefact") and res.stderr == ""
    res = runner.invoke(cli, ["convert", str(KWS), "-o", str(tmp_path / "c"), "--no-tflm"])
    assert "DEPTHWISE_CONV_2D" in res.stdout and "wrote" in res.stderr  # the layer table is the result


def test_convert_refuses_a_file_that_is_not_tflite(tmp_path: Path) -> None:
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"\x00" * 64)
    res = CliRunner(mix_stderr=False).invoke(cli, ["convert", str(bad), "-o", str(tmp_path / "c")])
    assert res.exit_code != 0 and "not a TFLite flatbuffer" in str(res.exception)
    assert not (tmp_path / "c").exists()


def test_report_json(tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text(json.dumps(sample_report()))
    res = CliRunner(mix_stderr=False).invoke(cli, ["report", str(tmp_path), "--json", "--no-write"])
    assert res.exit_code == 0 and json.loads(res.stdout)["model"]["name"] == "fmnist_dws"
