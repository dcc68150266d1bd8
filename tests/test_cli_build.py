"""`edgefact build` as a user meets it: early validation, clean non-terminal output, --json, init."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from report_deploys import KWS, need_tools

from edgefact.cli import cli
from edgefact.progress import Output, use_output


def _invoke(args: list[str], cwd: Path | None = None):
    runner = CliRunner(mix_stderr=False)
    if cwd is None:
        return runner.invoke(cli, args)
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(cli, args)


# -- validation before work ------------------------------------------------------------------

@pytest.mark.parametrize("args, needle", [
    (["--model", "resnet99"], "unknown model 'resnet99'"),
    (["--runner", "foo"], "unknown runner 'foo'"),
    (["-t", "cortex-m99"], "cortex-m99"),
    (["--dataset", "imagenet-1k"], "unknown data set 'imagenet-1k'"),
    (["--rank", "4"], "add --factorize"),
    (["--max-ratio", "0.4"], "add --factorize"),
    (["--factorize", "lowrank", "--max-ratio", "0"], "0"),
    (["-t", "cortex-m4", "-t", "cortex-m4"], "--target given twice"),
    (["-k", "1"], "-k/--clusters"),
    (["--min-agreement", "1.5"], "1.5"),
    (["-q", "-v"], "contradict"),
])
def test_bad_options_fail_before_the_first_stage(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "out"
    res = _invoke(["build", *args, "-o", str(out)])
    assert res.exit_code != 0
    message = str(res.exception) + res.stderr
    assert needle in message, message
    assert not out.exists()  # nothing started, nothing left behind
    assert "[1/" not in res.stderr


def test_model_files_are_checked_by_content(tmp_path: Path) -> None:
    fake = tmp_path / "random.tflite"
    fake.write_bytes(bytes(range(256)) * 4)
    res = _invoke(["build", "--tflite", str(fake), "-o", str(tmp_path / "o1")])
    assert res.exit_code != 0 and "is not a TFLite, ONNX or checkpoint file" in str(res.exception)
    onnx_named_tflite = tmp_path / "m.onnx"
    if KWS.is_file():
        onnx_named_tflite.write_bytes(KWS.read_bytes())
        res = _invoke(["build", "--model", str(onnx_named_tflite), "-o", str(tmp_path / "o2")])
        assert res.exit_code != 0 and "looks like a tflite file" in str(res.exception)
        res = _invoke(["build", "--tflite", str(KWS), "--model", "dscnn", "-o", str(tmp_path / "o3")])
        assert res.exit_code != 0 and "same option" in str(res.exception)
        res = _invoke(["build", "--tflite", str(KWS), "--factorize", "lowrank", "-o", str(tmp_path / "o4")])
        assert res.exit_code != 0 and "--factorize" in str(res.exception) and "tflite model" in str(res.exception)
    for name in ("o1", "o2", "o3", "o4"):
        assert not (tmp_path / name).exists()


def test_sniffing_model_files(tmp_path: Path) -> None:
    from edgefact.pipeline.build_cli import sniff_model_file

    (tmp_path / "a").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(8))
    (tmp_path / "b").write_bytes(b"PK\x03\x04" + bytes(12))
    (tmp_path / "c").write_bytes(b"\x08\x07\x12\x07pytorch")
    (tmp_path / "d").write_bytes(b"hello world, not a model")
    assert [sniff_model_file(tmp_path / n) for n in "abcd"] == ["tflite", "checkpoint", "onnx", None]


# -- output ----------------------------------------------------------------------------------

def test_without_a_terminal_one_line_per_stage_and_nothing_per_step() -> None:
    err = io.StringIO()
    out = Output(stream=err, live=False)
    with use_output(out):
        from edgefact.progress import progress_bar

        with progress_bar(500, "train") as bar:
            for _ in range(500):
                bar.label = "train loss 0.1"
                bar.update(1)
        for line in ("[1/3] train      running ...", "[1/3] train      done       12.0 s",
                     "[2/3] tflite     cached   (inputs unchanged; 3.0 s saved)", "a factorization table",
                     "note: no on-device accuracy"):
            out.echo(line)
    lines = err.getvalue().splitlines()
    assert lines == ["[1/3] train      done       12.0 s", "[2/3] tflite     cached   (inputs unchanged; 3.0 s saved)",
                     "note: no on-device accuracy"]


def test_in_a_terminal_a_live_bar_with_eta() -> None:
    err = io.StringIO()
    out = Output(stream=err, live=True)
    with use_output(out), out.bar(10, "train") as bar:
        out.stage_line("[1/2] train      running ...")
        for _ in range(10):
            bar.update(1)
    text = err.getvalue()
    assert "train" in text and "ETA" in text and "\x1b[" in text  # rich drew (and cleared) a live line


def test_whole_build_eta_from_the_last_run() -> None:
    out = Output(stream=io.StringIO(), live=False)
    out.expect(["train", "tflite", "deploy-cortex-m4", "report"], {"train": 60.0, "tflite": 30.0,
                                                                  "deploy-cortex-m4": 10.0, "report": 0.0})
    assert out.eta_text() == "~100 s left (as last time)"
    out.stage_line("[1/4] train      done       58.0 s")
    assert out.eta_text() == "~40 s left (as last time)"
    out.expect(["train", "tflite"], {"tflite": 30.0})
    assert out.eta_text() == "at least ~30 s left"
    out.expect(["train", "report"], {"report": 0.0})
    assert out.eta_text() == ""  # nothing known: no guess


def test_quiet_keeps_warnings_only() -> None:
    err = io.StringIO()
    out = Output(level=-1, stream=err)
    out.echo("[1/2] train      done        1.0 s")
    out.echo("warning: something")
    out.info("status")
    assert err.getvalue().splitlines() == ["warning: something"]


@pytest.fixture(scope="module")
def tflite_build(tmp_path_factory: pytest.TempPathFactory):
    """`edgefact build --tflite kws.tflite` without a terminal (CliRunner), then a cached rerun with --json."""
    need_tools()
    out = tmp_path_factory.mktemp("kws") / "b"
    args = ["build", "--tflite", str(KWS), "-t", "cortex-m4", "--eval-samples", "0", "--bitexact-inputs", "1",
            "-o", str(out)]
    first = _invoke(args)
    second = _invoke([*args, "--json", "--baseline", str(out)])  # itself as the baseline: ratios of 1
    return out, first, second


def test_tflite_build_prints_one_line_per_stage_and_the_summary_last(tflite_build) -> None:
    out, res, _ = tflite_build
    assert res.exit_code == 0, res.stderr + str(res.exception)
    err = res.stderr.splitlines()
    stage_lines = [line for line in err if re.match(r"\[\d/3\] ", line)]
    assert len(stage_lines) == 3  # tflite, deploy-cortex-m4, report: one line each, with durations
    assert all(" s" in line for line in stage_lines)
    assert len(err) <= 5, err  # plus the header line and at most one note
    assert not any("running" in line or "loss" in line for line in err)
    lines = res.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgefact kws_dscnn_int8 on cortex-m4: ")
    assert "deployable" in lines[0] and "fits cortex-m4" in lines[0]
    report = json.loads((out / "report.json").read_text())
    assert report["tools"]["arm-none-eabi-gcc"] and report["footprint"]["flash"]["harness"] > 0


def test_json_summary_on_stdout(tflite_build) -> None:
    _, _, res = tflite_build
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["target"] == "cortex-m4" and data["deployable"] is True and data["bitexact"] is True
    assert data["flash_bytes"] < data["elf_flash_bytes"] and data["count"] > data["macs"] / 4
    report = json.loads((tflite_build[0] / "report.json").read_text())
    base = report["baseline"]
    assert base["run"]["count_ratio"] == 1.0 and base["run"]["mac_ratio"] == 1.0 and base["run"]["delivered"] is None
    assert len(base["layers"]) == len(report["layers"])  # aligned one to one
    assert "## Against the baseline" in (tflite_build[0] / "report.md").read_text()


# -- config files ----------------------------------------------------------------------------

def test_init_writes_a_config_that_reads_back_and_is_picked_up(tmp_path: Path) -> None:
    from edgefact.pipeline.build_cli import config_template
    from edgefact.pipeline.config import BuildConfig, load_config_file, make_config

    text = config_template()
    assert text.count("\n# ") >= 10 and "[build]" in text
    f = tmp_path / "edgefact.toml"
    f.write_text(text)
    assert make_config(load_config_file(f), {}) == BuildConfig()
    runner = CliRunner(mix_stderr=False)
    with runner.isolated_filesystem(temp_dir=tmp_path) as d:
        assert runner.invoke(cli, ["init"]).exit_code == 0
        assert runner.invoke(cli, ["init"]).exit_code != 0  # no silent overwrite
        Path(d, "edgefact.toml").write_text('[build]\nmodel = "resnet99"\n')
        res = runner.invoke(cli, ["build", "-o", "never"])
        assert "using ./edgefact.toml" in res.stderr and "unknown model 'resnet99'" in str(res.exception)
        assert not Path(d, "never").exists()


def test_several_targets_build_in_turn_sharing_the_cache(tmp_path: Path) -> None:
    need_tools()
    out = tmp_path / "two"
    res = _invoke(["build", "--tflite", str(KWS), "-t", "cortex-m4", "-t", "cortex-m55", "--eval-samples", "0",
                   "--bitexact-inputs", "1", "-o", str(out)])
    assert res.exit_code == 0, res.stderr + str(res.exception)
    lines = res.stdout.splitlines()
    assert len(lines) == 2 and "on cortex-m4:" in lines[0] and "on cortex-m55:" in lines[1]
    assert (out / "report-cortex-m4" / "report.json").is_file() and (out / "report-cortex-m55" / "report.json").is_file()
    tflite_lines = [line for line in res.stderr.splitlines() if re.match(r"\[1/3\] tflite", line)]
    assert len(tflite_lines) == 2 and "cached" in tflite_lines[1]  # the second target reuses the copy
