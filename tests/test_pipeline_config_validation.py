"""Options and edgefact.toml are checked by type and range before any work (issue 13, item 6).

Each case is a small reproducer from the issue: ``--epochs nan`` / ``inf`` (a traceback seconds
into training), ``rank = "x"`` (accepted: fields defaulting to None were not type-checked),
``timeout = -5``, ``bench_runs = 0``, ``bitexact_inputs = -2`` (checked 1 input and recorded -2),
a non-UTF-8 file and ``build = 3`` (tracebacks).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgefact.cli import cli
from edgefact.errors import EdgefactError
from edgefact.pipeline.config import BuildConfig, load_config_file, make_config


def _toml(tmp_path: Path, text: str | bytes) -> Path:
    f = tmp_path / "edgefact.toml"
    if isinstance(text, bytes):
        f.write_bytes(text)
    else:
        f.write_text(text)
    return f


@pytest.mark.parametrize("text, needles", [
    ('rank = "x"', ["rank", "int", "'x'"]),
    ('atoms = 2.5', ["atoms", "int"]),
    ('round_ranks = true', ["round_ranks", "int"]),
    ("rank = 0", ["--rank", ">= 1"]),
    ("timeout = -5", ["--timeout", "> 0", "-5"]),
    ("timeout = nan", ["--timeout", "finite"]),
    ("bench_runs = 0", ["--bench-runs", ">= 1"]),
    ("bitexact_inputs = -2", ["--bitexact-inputs", "-2"]),
    ("eval_samples = -1", ["--eval-samples"]),
    ("calib_samples = 0", ["--calib-samples"]),
    ("batch_size = 0", ["--batch-size", ">= 1"]),
    ("epochs = inf", ["--epochs", "finite"]),
    ("epochs = nan", ["--epochs", "finite"]),
    ("finetune_epochs = -inf", ["epochs"]),
    ("lr = nan", ["--lr", "finite"]),
    ("width = 0", ["--width", "> 0"]),
    ("energy = 1.5", ["--energy", "<= 1"]),
    ("max_ratio = 0", ["--max-ratio", "> 0"]),
    ("max_ratio = 2", ["--max-ratio", "<= 1"]),
    ("groups = 0", ["--groups"]),
    ('target = ["cortex-m4"]', ["target", "str", "list"]),
    ("no_run = 1", ["no_run", "bool"]),
    ('cluster = "16"', ["cluster", "int"]),
    ("build = 3", ["'build' must be a table", "int"]),
    ('build = "x"', ["'build' must be a table"]),
    ('epochs = 1\n[build]\ncluster = 4', ["epochs", "outside the [build] table"]),
])
def test_bad_values_are_refused_naming_the_key(tmp_path: Path, text: str, needles: list[str]) -> None:
    f = _toml(tmp_path, text)
    with pytest.raises(EdgefactError) as info:
        make_config(load_config_file(f), {})
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, msg


def test_non_utf8_config_names_the_file_and_the_byte(tmp_path: Path) -> None:
    f = _toml(tmp_path, b'[build]\ntarget = "cortex-m4"\n# caf\xe9\n')
    with pytest.raises(EdgefactError, match="not UTF-8") as info:
        load_config_file(f)
    assert str(f) in str(info.value) and "line 3" in str(info.value)


@pytest.mark.parametrize("args, needle", [
    (["--epochs", "nan"], "--epochs"),
    (["--epochs", "inf"], "--epochs"),
    (["--finetune-epochs", "nan"], "--finetune-epochs"),
    (["--lr", "inf"], "--lr"),
    (["--timeout", "inf"], "--timeout"),
    (["--timeout", "nan"], "--timeout"),
    (["--width", "nan"], "--width"),
])
def test_cli_non_finite_numbers_fail_before_the_first_stage(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "out"
    res = CliRunner(mix_stderr=False).invoke(cli, ["build", *args, "-o", str(out)])
    # refused by the option's type (a usage error naming it) or by BuildConfig.validate, never later
    if res.exit_code == 2 and not isinstance(res.exception, EdgefactError):
        assert needle in res.stderr and "not a finite number" in res.stderr, res.stderr
    else:
        assert isinstance(res.exception, EdgefactError), (res.exception, res.stderr)
        assert needle in str(res.exception)
    assert not out.exists()


def test_cli_refuses_bad_config_file_without_traceback(tmp_path: Path) -> None:
    f = _toml(tmp_path, "build = 3\n")
    res = CliRunner(mix_stderr=False).invoke(cli, ["build", "--config", str(f), "-o", str(tmp_path / "o")])
    assert isinstance(res.exception, EdgefactError) and "'build' must be a table" in str(res.exception)


def test_every_field_has_a_type_check() -> None:
    """A new option can not slip through untyped: every scalar field refuses a value of another type."""
    from edgefact.pipeline.config import _field_type

    for f in dataclasses.fields(BuildConfig):
        if f.name in ("extra", "runner_options"):
            continue
        assert _field_type(f) is not None, f"{f.name}: annotation {f.type!r} is not checked"
        wrong = [1, 2] if _field_type(f)[0] is not list else "x"  # type: ignore[index]
        with pytest.raises(EdgefactError, match=f.name):
            make_config({f.name: wrong}, {})


def test_valid_values_still_pass(tmp_path: Path) -> None:
    f = _toml(tmp_path, "[build]\nrank = 4\nfactorize = \"lowrank\"\nepochs = 2\ntimeout = 30\nbitexact_inputs = 3\n"
                        "round_ranks = 1\nenergy = 1.0\n")
    cfg = make_config(load_config_file(f), {})
    assert cfg.rank == 4 and cfg.epochs == 2.0 and cfg.timeout == 30.0 and cfg.bitexact_inputs == 3


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), 0.0, -5.0])
def test_runner_refuses_a_timeout_that_never_or_always_expires(timeout: float) -> None:
    """`edgefact run --timeout nan` (click's FloatRange lets NaN and inf through) hung forever."""
    from edgefact.targets.runners.base import run_streaming

    with pytest.raises(EdgefactError, match="--timeout must be a finite number"):
        run_streaming(["true"], timeout)


@pytest.mark.parametrize("argv", [["train", "--epochs", "nan"], ["cluster", "--epochs", "inf"],
                                  ["models", "--width", "nan"], ["build", "--epochs", "nan"],
                                  ["build", "--timeout", "-inf"]])
def test_non_finite_numbers_are_refused_by_every_command(argv: list[str]) -> None:
    from click.testing import CliRunner

    from edgefact.cli import cli

    r = CliRunner().invoke(cli, argv)
    assert r.exit_code == 2 and ("not a finite number" in r.output or "not in the range" in r.output), r.output
    assert "Traceback" not in r.output
