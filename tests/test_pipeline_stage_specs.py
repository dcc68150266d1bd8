"""The build stages as data (edgefact.pipeline.stages.STAGES): the chain, the stage count and the
options part of every cache key come from the descriptions."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from edgefact.errors import EdgefactError
from edgefact.pipeline.build import Build
from edgefact.pipeline.config import BuildConfig, make_config
from edgefact.pipeline.stages import MODEL_KINDS, STAGES, StageRunner, StageSpec, plan

UPSTREAM = {"mean": [0.5], "std": [0.25], "kernel_costs": None}


def _names(cfg: BuildConfig, kind: str) -> list[str]:
    return [s.name for s in plan(cfg, kind)]


def test_chain_per_model_kind_and_options() -> None:
    cfg = make_config(None, {})  # defaults: no factorization, K=16 clustering
    assert _names(cfg, "zoo") == ["train", "cluster", "onnx", "tflite", "deploy", "report"]
    assert _names(cfg, "checkpoint") == ["import", "cluster", "onnx", "tflite", "deploy", "report"]
    assert _names(cfg, "onnx") == ["tflite", "deploy", "report"]
    assert _names(cfg, "tflite") == ["tflite", "deploy", "report"]
    assert [s.action for s in plan(cfg, "tflite")] == ["copy", "deploy", "report"]
    both = make_config(None, {"factorize": "lowrank", "cluster": 0})
    assert _names(both, "zoo") == ["train", "factorize", "onnx", "tflite", "deploy", "report"]
    full = make_config(None, {"factorize": "spatial"})
    assert _names(full, "checkpoint") == ["import", "factorize", "cluster", "onnx", "tflite", "deploy", "report"]
    with pytest.raises(EdgefactError, match="unknown model kind"):
        plan(cfg, "keras")


@pytest.mark.parametrize("kind", MODEL_KINDS)
@pytest.mark.parametrize("factorize,cluster", [("none", 0), ("depthwise", 0), ("none", 8), ("grouped", 4)])
def test_every_input_comes_from_an_earlier_stage(kind: str, factorize: str, cluster: int) -> None:
    cfg = make_config(None, {"factorize": factorize, "cluster": cluster})
    chain = plan(cfg, kind)
    assert len({s.name for s in chain}) == len(chain)  # one directory per stage
    assert chain[-1].action == "report" and not chain[-1].cached
    have = {"zoo": set(), "onnx": {"model.onnx"}}.get(kind, {"source"})
    for spec in chain:
        assert set(spec.inputs) <= have, (spec.name, spec.inputs, have)
        have |= set(spec.outputs)
    assert {"model.tflite", "deploy.json", "report.json"} <= have


def test_stage_count_and_directories_come_from_the_plan(tmp_path: Path) -> None:
    cfg = make_config(None, {"target": "host", "factorize": "spatial", "out": str(tmp_path)})
    b = Build(cfg, echo=lambda _s: None)
    assert [s.name for s in b.plan] == _names(cfg, "zoo") and b.runner.total == len(b.plan) == 7
    assert [s.dir_name(b.target.name) for s in b.plan][-2:] == ["deploy-host", "report"]
    assert b.device_runner.name == "host"
    b = Build(make_config(None, {"model": "m.tflite", "out": str(tmp_path)}), echo=lambda _s: None)
    assert b.runner.total == 3


def _other(value: Any, field: dataclasses.Field) -> Any:
    """A different value of a config field's type."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-x"
    if isinstance(value, dict):
        return {**value, "port": "/dev/ttyX"}
    return {"rank": 3, "atoms": 5, "round_ranks": 2}[field.name]  # the optional ints (None by default)


def _keys(cfg: BuildConfig) -> dict[tuple[str, str], str]:
    runner = StageRunner(Path("unused"))
    return {(s.name, s.action): runner.stage_key(s.name, {}, s.key_options(cfg, UPSTREAM), s.tools)[0]
            for s in STAGES}


@pytest.mark.parametrize("field", [f for f in dataclasses.fields(BuildConfig) if f.name != "extra"],
                         ids=lambda f: f.name)
def test_changed_option_rekeys_only_the_stages_that_declare_it(field: dataclasses.Field) -> None:
    base = BuildConfig()
    changed = dataclasses.replace(base, **{field.name: _other(getattr(base, field.name), field)})
    before, after = _keys(base), _keys(changed)
    rekeyed = {k for k in before if before[k] != after[k]}
    assert rekeyed == {(s.name, s.action) for s in STAGES if field.name in s.options}


def test_upstream_values_are_part_of_the_key_and_required() -> None:
    deploy = next(s for s in STAGES if s.action == "deploy")
    cfg = BuildConfig()
    opts = deploy.key_options(cfg, UPSTREAM)
    assert opts["mean"] == [0.5] and opts["target"] == cfg.target
    assert deploy.key_options(cfg, {**UPSTREAM, "target": "resolved"})["target"] == "resolved"
    with pytest.raises(EdgefactError, match="upstream values mean, std"):
        deploy.key_options(cfg, {})
    with pytest.raises(EdgefactError, match="no earlier stage wrote model.tflite"):
        deploy.key_inputs({"model.onnx": Path("m.onnx")})


def test_declared_outputs_must_be_written(tmp_path: Path) -> None:
    spec = StageSpec("s", "copy", frozenset({"zoo"}), outputs=("a.txt",))
    runner = StageRunner(tmp_path, echo=lambda _s: None)
    with pytest.raises(EdgefactError, match="stage s did not write a.txt"):
        runner.run(spec.name, lambda tmp: None, outputs=spec.outputs)
    assert not (tmp_path / "s").exists()  # a failed stage leaves nothing behind
    r = runner.run(spec.name, lambda tmp: (tmp / "a.txt").write_text("x") and None, outputs=spec.outputs)
    assert r.path("a.txt").read_text() == "x"
