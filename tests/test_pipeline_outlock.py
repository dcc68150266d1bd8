"""One build per output directory, and a report that holds its own model's data (issue 13, item 4).

A second ``edgefact build`` into a directory another build holds waits ``EDGEFACT_LOCK_WAIT``
seconds and fails with a message naming the directory and the other build; two different models
built into the same ``--out`` one after the other each get a report of their own model; a deploy
stage whose model is not the one the build converted is refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from opmodels import get_opmodel

from edgefact.cli import cli
from edgefact.errors import EdgefactError
from edgefact.fsutil import LOCK_NAME, directory_lock


def _invoke(args: list[str], env: dict[str, str] | None = None):
    return CliRunner(mix_stderr=False).invoke(cli, args, env=env)


def test_second_build_waits_then_names_the_directory_and_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""\
        import sys, time
        from edgefact.fsutil import directory_lock
        with directory_lock({str(out)!r}, what="test holder"):
            print("locked", flush=True)
            time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        res = _invoke(["build", "--tflite", str(tmp_path / "missing.tflite"), "-o", str(out)],
                      env={"EDGEFACT_LOCK_WAIT": "1.5"})
        # the model check comes first: a bad option fails without waiting
        assert res.exit_code != 0 and "does not exist" in str(res.exception)
        model = tmp_path / "m.tflite"
        model.write_bytes(get_opmodel("conv_1x1_s1"))
        t0 = time.monotonic()
        res = _invoke(["build", "--tflite", str(model), "-t", "host", "--eval-samples", "0", "-o", str(out)],
                      env={"EDGEFACT_LOCK_WAIT": "1.5"})
        waited = time.monotonic() - t0
        assert res.exit_code != 0
        assert isinstance(res.exception, EdgefactError), res.exception
        msg = str(res.exception)
        assert str(out) in msg and "another edgefact build is writing" in msg
        assert f"pid {holder.pid}" in msg  # the other build
        assert "\n" not in msg
        assert 1.4 <= waited < 30
        assert not (out / "tflite").exists()  # the refused build wrote nothing
    finally:
        holder.kill()
        holder.wait()


def test_lock_is_released_after_the_block_and_on_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), directory_lock(tmp_path / "o", wait_s=0):
        raise RuntimeError("boom")
    with directory_lock(tmp_path / "o", wait_s=0):  # free again
        pass
    assert (tmp_path / "o" / LOCK_NAME).exists()


def test_bad_lock_wait_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEFACT_LOCK_WAIT", "nan")
    with pytest.raises(EdgefactError, match="EDGEFACT_LOCK_WAIT"), directory_lock(tmp_path / "o"):
        pass


@pytest.fixture()
def two_models(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(get_opmodel("conv_1x1_s1"))
    b.write_bytes(get_opmodel("conv_3x3_s1_valid"))
    return a, b


def _host_build(model: Path, out: Path):
    return _invoke(["build", "--tflite", str(model), "-t", "host", "--eval-samples", "0", "--bitexact-inputs", "1",
                    "-o", str(out)])


def test_two_models_into_one_out_each_report_their_own(two_models: tuple[Path, Path], tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    import hashlib

    out = tmp_path / "out"
    for model in two_models:
        res = _host_build(model, out)
        assert res.exit_code == 0, res.stderr + str(res.exception)
        sha = hashlib.sha256(model.read_bytes()).hexdigest()
        for report_path in (out / "report.json", out / "report-host" / "report.json"):
            report = json.loads(report_path.read_text())
            assert report["model"]["sha256"] == sha
            assert report["model"]["name"] == model.stem
            assert report["config"]["model"] == str(model)
        deploy = json.loads((out / "deploy-host" / "manifest.json").read_text())
        assert deploy["inputs"]["model.tflite"] == sha  # the stage key holds the model's content hash


def test_a_deploy_of_another_model_is_refused(two_models: tuple[Path, Path], tmp_path: Path) -> None:
    """What two unlocked builds did: the deploy stage read the other build's .tflite."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not installed")
    from edgefact.pipeline.build import Build
    from edgefact.pipeline.config import make_config

    a, b = two_models
    out = tmp_path / "out"
    cfg = make_config(None, {"model": str(a), "target": "host", "eval_samples": 0, "bitexact_inputs": 1,
                             "out": str(out)})
    build = Build(cfg, echo=lambda _s: None)
    real_deploy = build._deploy

    def deploy_other(spec, inputs):  # type: ignore[no-untyped-def]
        other = tmp_path / "other"
        other.mkdir()
        shutil.copyfile(b, other / "model.tflite")
        return real_deploy(spec, {**inputs, "model.tflite": other / "model.tflite"})

    build._deploy = deploy_other  # type: ignore[method-assign]
    with pytest.raises(EdgefactError, match="another model"):
        build.run()
    assert not (out / "report.json").exists()
