"""edgefact sweep without running anything: spec expansion, the merged stage graph, the analysis
(fronts, delivered MAC saving, recommendations) and where ``ray`` may be imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from edgefact.errors import EdgefactError
from edgefact.pipeline.sweep import plan_sweep
from edgefact.pipeline.sweep.spec import (
    SweepSpec,
    expand,
    load_sweep_file,
    parse_factorize,
    parse_variant_text,
)
from edgefact.pipeline.sweep_cli import parse_size, sweep_cmd
from edgefact.report.sweep import Budget, delivered_shares, pareto_fronts, recommend

ROOT = Path(__file__).resolve().parents[1]
BASE = {"model": "cnn", "dataset": "digits", "cluster": 0}


def test_factorize_values_carry_their_parameters() -> None:
    assert parse_factorize("lowrank") == {"factorize": "lowrank"}
    assert parse_factorize("lowrank:rank=4,energy=0.8") == {"factorize": "lowrank", "rank": 4, "energy": 0.8}
    assert parse_factorize({"method": "dictionary", "atoms": 3}) == {"factorize": "dictionary", "atoms": 3}
    with pytest.raises(EdgefactError, match="unknown parameter"):
        parse_factorize("lowrank:bogus=1")
    assert parse_variant_text("factorize=grouped,groups=4,target=cortex-m7") == {
        "factorize": "grouped", "groups": 4, "target": "cortex-m7"}


def test_cross_product_then_explicit_variants_with_names() -> None:
    spec = SweepSpec(base=BASE, axes={"factorize": ["none", "lowrank:rank=2"], "cluster": [0, 8],
                                      "cluster_mode": ["per-tensor"]},
                     variants=[{"factorize": "grouped", "groups": 4, "target": "cortex-m7"}])
    vs = expand(spec)
    assert [v.name for v in vs] == ["base-k0-pt", "base-k8-pt", "lowrank-r2-k0-pt", "lowrank-r2-k8-pt",
                                    "grouped-g4-cortex-m7"]
    assert vs[3].overrides == {"factorize": "lowrank", "rank": 2, "cluster": 8, "cluster_per_channel": False}
    assert expand(SweepSpec(base=BASE))[0].name == "base"
    with pytest.raises(EdgefactError, match="not a build option"):
        expand(SweepSpec(axes={"colour": ["red"]}))


def test_sweep_file_is_checked(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[sweep]\nworkers = 2\n[base]\nmodel = "cnn"\n[axes]\ntarget = ["cortex-m4", "cortex-m7"]\n'
                 '[[variant]]\nfactorize = "spatial"\n')
    spec = load_sweep_file(f)
    assert spec.run == {"workers": 2} and len(expand(spec)) == 3
    f.write_text("[sweep]\nworkerz = 2\n")
    with pytest.raises(EdgefactError, match="workerz"):
        load_sweep_file(f)
    f.write_text('[base]\nnot_an_option = 1\n')
    with pytest.raises(EdgefactError, match="not_an_option"):
        load_sweep_file(f)


def test_graph_merges_equal_stages_and_flags_duplicates_and_invalid(tmp_path: Path) -> None:
    spec = SweepSpec(base=BASE, axes={"factorize": ["none", "lowrank", "spatial"], "cluster": [0, 8],
                                      "target": ["cortex-m4", "cortex-m7"]},
                     variants=[{"factorize": "none", "rank": 3, "cluster": 0, "target": "cortex-m4"},
                               {"factorize": "magic"}, {"target": "no-such-board"}])
    variants, graph = plan_sweep(spec, tmp_path)
    counts = graph.counts()
    # one training, one run per factorization, clustering once per trained/factorized model,
    # onnx/tflite once per model, a deploy per (model, target) and a report per distinct variant
    assert counts == {"train": 1, "factorize": 2, "cluster": 3, "onnx": 6, "tflite": 6, "deploy-cortex-m4": 6,
                      "deploy-cortex-m7": 6, "report": 12}
    status = {pv.variant.name: pv.status for pv in graph.variants}
    assert status["base-r3-k0-cortex-m4"] == "duplicate"
    assert next(pv.same_as for pv in graph.variants if pv.status == "duplicate") == "base-k0-cortex-m4"
    invalid = [pv for pv in graph.variants if pv.status == "invalid"]
    assert len(invalid) == 2 and "magic" in invalid[0].error and "no-such-board" in invalid[1].error
    train = next(n for n in graph.nodes.values() if n.stage == "train")
    assert len(train.variants) == 12 and train.training and not train.deps
    ids = list(graph.nodes)
    assert all(ids.index(d) < ids.index(n.id) for n in graph.nodes.values() for d in n.deps)


def _row(name: str, target: str, factorize: str, acc: float, macs: int, count: int, flash: int, ram: int,
         core: str = "cortex-m4", est_ms: float | None = None) -> dict:
    return {"name": name, "status": "ok", "options": {"model": "cnn", "factorize": factorize, "target": target},
            "figures": {"unit": "instructions (emulated)", "accuracy": {"int8": acc},
                        "target": {"name": target, "core": core},
                        "totals": {"macs": macs, "count": count, "flash_bytes": flash, "ram_bytes": ram,
                                   "est_ms": est_ms}}}


ROWS = [_row("base", "cortex-m4", "none", 0.90, 1000, 4000, 300, 100),
        _row("lowrank", "cortex-m4", "lowrank", 0.88, 500, 3000, 200, 100),
        _row("spatial", "cortex-m4", "spatial", 0.80, 600, 3500, 250, 120),
        {"name": "broken", "status": "failed", "options": {"target": "cortex-m4"}, "error": "boom"}]


def test_fronts_delivered_share_and_recommendation() -> None:
    fronts = pareto_fronts(ROWS)
    assert fronts["cortex-m4"]["latency"] == ["lowrank", "base"] and fronts["cortex-m4"]["latency_axis"] == "count"
    assert fronts["cortex-m4"]["ram"] == ["base"]
    shares = {d["variant"]: d for d in delivered_shares(ROWS)}
    assert shares["lowrank"]["mac_saving"] == pytest.approx(0.5)
    assert shares["lowrank"]["count_saving"] == pytest.approx(0.25)
    assert shares["lowrank"]["delivered"] == pytest.approx(0.5)
    assert shares["spatial"]["delivered"] == pytest.approx(0.125 / 0.4)
    assert recommend(ROWS, Budget())["cortex-m4"]["variant"] == "base"
    assert recommend(ROWS, Budget(max_flash=250))["cortex-m4"]["variant"] == "lowrank"
    # --fit: ms at the board's clock for variants of its core; 3000 instructions at 1 MHz = 3 ms
    fit = Budget(max_ms=3.2, max_flash=1 << 20, max_ram=1 << 20, board="b", board_core="cortex-m4",
                 board_clock_hz=1e6)
    rec = recommend(ROWS, fit)["cortex-m4"]
    assert rec["variant"] == "lowrank" and rec["ms"] == pytest.approx(3.0)
    assert "4.00 ms > 3.2 ms" in rec["excluded"]["base"]
    other_core = recommend([_row("m7", "cortex-m7", "none", 0.9, 1000, 4000, 300, 100, core="cortex-m7")], fit)
    assert other_core["cortex-m7"] == {"variant": None, "candidates": 0,
                                       "excluded": {"m7": "built for cortex-m7, b is a cortex-m4"}}
    none = recommend(ROWS, Budget(max_flash=100))["cortex-m4"]
    assert none["variant"] is None and len(none["excluded"]) == 3


def test_sizes() -> None:
    assert parse_size("512K") == 512 * 1024 and parse_size("1.5MiB") == 3 * 512 * 1024 and parse_size("77") == 77
    with pytest.raises(EdgefactError):
        parse_size("lots")


def test_cli_dry_run_lists_variants(tmp_path: Path) -> None:
    res = CliRunner().invoke(sweep_cmd, ["--dry-run", "--set", "model=cnn", "--set", "cluster=0", "--factorize",
                                         "none", "--factorize", "lowrank", "-t", "cortex-m4", "-t", "cortex-m7",
                                         "-o", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "4 variants, 10 distinct stages (1 train, 2 onnx, 2 tflite" in res.output and "lowrank-cortex-m7" in res.output
    assert not (tmp_path / "sweep.json").exists()


def test_ray_is_imported_only_by_the_sweep() -> None:
    offenders = []
    for path in (ROOT / "edgefact").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "ray" or n.startswith("ray.") for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders and all(p.startswith("edgefact/pipeline/sweep/") for p in offenders), offenders


def test_progress_counts_and_live_panel() -> None:
    import io

    from edgefact.pipeline.sweep.backends import RunState
    from edgefact.pipeline.sweep.graph import Node
    from edgefact.pipeline.sweep.progress import SweepProgress, status_line

    nodes = {"t": Node("t", "train", "train", [], "a", {}, ["a", "b"], training=True),
             "ra": Node("ra", "report", "report", ["t"], "a", {}, ["a"], final=True),
             "rb": Node("rb", "report", "report", ["t"], "b", {}, ["b"], final=True)}
    state = RunState(nodes, slots=2)
    state.start("t", {"host": "h", "pid": 1, "time": 0.0})
    state.finish("t", {"id": "t", "stage": "train", "variant": "a", "ok": True, "cached": False, "seconds": 8.0,
                       "wall_seconds": 8.0})
    state.start("ra", {"host": "h", "pid": 2, "time": 1e12})
    state.finish("rb", {"id": "rb", "stage": "report", "variant": "b", "ok": False, "error": "boom"})
    line = status_line(state)
    assert "variants 0/2 done, 1 running, 1 failed" in line and "tasks 2/3 (1 run, 0 cached, 1 failed)" in line
    buf = io.StringIO()
    with SweepProgress(buf, live=True) as progress:
        progress.console.force_terminal = True
        progress(state)
    text = buf.getvalue()
    assert "report" in text and "FAILED: boom" in text and "running report" in text and "pid 2" in text


def test_address_without_a_cluster_fails_fast(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = CliRunner().invoke(sweep_cmd, ["--set", "model=cnn", "-t", "cortex-m4", "--address", f"127.0.0.1:{port}",
                                         "-o", str(tmp_path)])
    assert isinstance(res.exception, EdgefactError) and "no Ray cluster at 127.0.0.1" in str(res.exception)


def test_stage_runner_shared_cache_and_stop_after(tmp_path: Path) -> None:
    from edgefact.pipeline.stages import SharedCache, StageRunner, StopAfterStage

    calls: list[str] = []

    def stage(tmp: Path) -> dict:
        calls.append("ran")
        (tmp / "out.txt").write_text("artifact")
        return {"n": 1}

    shared = SharedCache(tmp_path / "cache", code="pinned")
    first = StageRunner(tmp_path / "a", shared=shared, echo=lambda s: None)
    r1 = first.run("step", stage, options={"x": 1}, outputs=("out.txt",))
    second = StageRunner(tmp_path / "b", shared=shared, stop_after="step", echo=lambda s: None)
    with pytest.raises(StopAfterStage) as stop:
        second.run("step", stage, options={"x": 1}, outputs=("out.txt",))
    r2 = stop.value.result
    assert calls == ["ran"] and not r1.cached and r2.cached and r2.dir == r1.dir and r2.info == {"n": 1}
    assert r1.dir.parent == tmp_path / "cache" / "step"
    for out in ("a", "b"):
        link = tmp_path / out / "step"
        assert link.is_symlink() and link.resolve() == r1.dir.resolve()
    # another code version is another key: the stage runs again into its own cache entry
    other = StageRunner(tmp_path / "c", shared=SharedCache(tmp_path / "cache", code="other"), echo=lambda s: None)
    r3 = other.run("step", stage, options={"x": 1}, outputs=("out.txt",))
    assert calls == ["ran", "ran"] and r3.dir != r1.dir
