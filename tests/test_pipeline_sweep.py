"""edgefact sweep end to end on a tiny budget: Ray started by edgefact with 2 workers, a failing
variant, a worker killed mid-task, a rerun from the cache (in-process, --local) and --address
against a two-node Ray cluster on 127.0.0.1. Every test shuts its Ray down.

The tests share one stage cache (module scope) in order: the first sweep computes every stage
once, the later ones reuse what they can. The code fingerprint of the cache keys is this test
process's, pinned for the workers, so other edits to the tree during the run do not matter.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# a Ray started here listens on 127.0.0.1 only (read by ray when it is first imported)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

from edgefact.pipeline.sweep import SweepOptions, SweepResult, run_sweep  # noqa: E402
from edgefact.pipeline.sweep.spec import SweepSpec  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.qemu]

ray = pytest.importorskip("ray")

TINY = {"model": "cnn", "dataset": "digits", "width": 0.5, "train_samples": 300, "epochs": 1.0,
        "finetune_epochs": 0.5, "batch_size": 32, "cluster": 0, "eval_samples": 16, "bitexact_inputs": 1,
        "calib_samples": 50, "min_agreement": 0.5}
FOUR = SweepSpec(base=TINY, axes={"factorize": ["none", "lowrank"], "target": ["cortex-m4", "cortex-m7"]},
                 # the same build as base-cortex-m4 (rank means nothing without a factorization)
                 variants=[{"factorize": "none", "rank": 3, "target": "cortex-m4"}])


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sweep-cache")


def _sweep(spec: SweepSpec, out: Path, cache: Path, **kw: Any) -> SweepResult:
    try:
        return run_sweep(spec, SweepOptions(out=out, cache=cache, **{k: v for k, v in kw.items() if k != "update"}),
                         update=kw.get("update"))
    finally:
        assert not ray.is_initialized(), "the sweep must shut down the Ray it started"


def _cache_entries(cache: Path) -> dict[str, list[Path]]:
    return {d.name: sorted(e for e in d.iterdir() if not e.name.startswith(".")) for d in cache.iterdir()
            if d.is_dir()}


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory, cache: Path) -> SweepResult:
    return _sweep(FOUR, tmp_path_factory.mktemp("four"), cache, workers=2)


def test_four_variants_on_local_ray_compute_each_stage_once(four: SweepResult, cache: Path) -> None:
    doc = four.doc
    assert doc["backend"]["mode"] == "ray" and doc["backend"]["workers"] == 2
    assert doc["counts"] == {"variants": 5, "ok": 4, "failed": 0, "duplicate": 1, "interrupted": 0}
    # the stage cache's manifests: one training, one factorization, a model conversion per model
    # and a deploy per (model, target), each computed by this sweep
    entries = _cache_entries(cache)
    assert {k: len(v) for k, v in entries.items()} == {"train": 1, "factorize": 1, "onnx": 2, "tflite": 2,
                                                       "deploy-cortex-m4": 2, "deploy-cortex-m7": 2}
    manifests = [json.loads((e / "manifest.json").read_text()) for es in entries.values() for e in es]
    assert len({m["key"] for m in manifests}) == 10
    stage_recs = [n["record"] for n in doc["nodes"] if not n["final"]]
    assert len(stage_recs) == 10 and all(r["ok"] and not r["cached"] for r in stage_recs)
    assert doc["stages"]["computed"] == 10 and doc["stages"]["cached"] == 0
    # every variant is an ordinary build: its directory links each stage into the shared cache,
    # and its own build found every stage there
    ok = [v for v in doc["variants"] if v["status"] == "ok"]
    trains = {(Path(v["out"]) / "train").resolve() for v in ok}
    assert trains == {entries["train"][0].resolve()}
    for v in ok:
        report = json.loads((Path(v["report_dir"]) / "report.json").read_text())
        assert all(s["cached"] for s in report["stages"] if s["name"] != "report"), report["stages"]
        assert v["figures"]["totals"]["count"] > 0 and v["figures"]["bitexact"] is True
    dup = next(v for v in doc["variants"] if v["status"] == "duplicate")
    assert dup["same_as"] == "base-cortex-m4"
    # the answers
    assert {d["variant"] for d in doc["analysis"]["delivered"]} == {"lowrank-cortex-m4", "lowrank-cortex-m7"}
    assert all(d["mac_saving"] > 0.2 for d in doc["analysis"]["delivered"])
    assert set(doc["analysis"]["recommendations"]) == {"cortex-m4", "cortex-m7"}
    assert set(doc["analysis"]["fronts"]) == {"cortex-m4", "cortex-m7"}
    out = Path(four.paths[0]).parent
    md = (out / "sweep.md").read_text()
    assert "lowrank-cortex-m7" in md and "Delivered share" in md and "## Recommendation" in md
    html = (out / "sweep.html").read_text()
    assert "data:image/png;base64," in html and "src=\"http" not in html


def test_failing_variant_is_reported_and_the_others_finish(four: SweepResult, tmp_path: Path, cache: Path) -> None:
    spec = SweepSpec(base=TINY, axes={"factorize": ["none", "lowrank:rank=0"], "target": ["cortex-m4"]})
    res = _sweep(spec, tmp_path, cache, workers=2)
    assert not res.ok
    rows = {v["name"]: v for v in res.doc["variants"]}
    assert rows["base-cortex-m4"]["status"] == "ok"
    bad = rows["lowrank-r0-cortex-m4"]
    # a bad option is refused when the variant is planned (the config is validated before any
    # stage); a failure inside a stage would name the stage and skip the ones after it
    assert bad["status"] == "failed" and "rank" in bad["error"] and ">= 1" in bad["error"]
    if "failed_stage" in bad:
        assert Path(bad["log"]).is_file()
        skipped = [n["record"] for n in res.doc["nodes"] if n["record"].get("skipped")]
        assert {r["stage"] for r in skipped} == {"onnx", "tflite", "deploy-cortex-m4", "report"}
    assert "must be an integer >= 1, got 0" in (tmp_path / "sweep.md").read_text()
    # the baseline came from the first sweep's cache
    assert rows["base-cortex-m4"]["stages"] == {"train": "cached", "onnx": "cached", "tflite": "cached",
                                                "deploy-cortex-m4": "cached"}


def test_worker_killed_mid_task_is_retried(tmp_path: Path, cache: Path) -> None:
    spec = SweepSpec(base={**TINY, "seed": 7, "train_samples": 1200})
    killed: list[int] = []

    def kill_training_worker(state: Any) -> None:
        for nid, where in state.running.items():
            if state.nodes[nid].stage == "train" and not killed:
                killed.append(where["pid"])
                os.kill(where["pid"], signal.SIGKILL)

    res = _sweep(spec, tmp_path, cache, workers=2, update=kill_training_worker)
    assert killed, "the training task never showed up as running"
    assert res.ok, res.doc["variants"]
    train = next(n["record"] for n in res.doc["nodes"] if n["stage"] == "train")
    assert train["ok"] and not train["cached"] and train["attempts"] == 2 and train["pid"] != killed[0]


def test_rerun_is_fully_cached(four: SweepResult, cache: Path) -> None:
    out = Path(four.paths[0]).parent
    res = _sweep(FOUR, out, cache, local=True)
    doc = res.doc
    assert doc["backend"]["mode"] == "local" and res.ok
    assert doc["stages"] == {**doc["stages"], "total": 10, "computed": 0, "cached": 10, "failed": 0}
    assert doc["stages"]["saved_seconds"] > 0
    assert [v["status"] for v in doc["variants"]].count("ok") == 4
    assert all(set(v["stages"].values()) == {"cached"} for v in doc["variants"] if v["status"] == "ok")


def test_interrupted_sweep_resumes_from_the_cache(tmp_path: Path, cache: Path) -> None:
    spec = SweepSpec(base={**TINY, "seed": 11, "target": "cortex-m4"})

    def interrupt_after_training(state: Any) -> None:
        if any(state.nodes[nid].stage == "onnx" for nid in state.running):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _sweep(spec, tmp_path, cache, local=True, update=interrupt_after_training)
    doc = json.loads((tmp_path / "sweep.json").read_text())
    assert doc["interrupted"] and doc["counts"]["interrupted"] == 1 and doc["stages"]["computed"] == 1
    res = _sweep(spec, tmp_path, cache, local=True)
    assert res.ok and res.doc["variants"][0]["stages"] == {"train": "cached", "onnx": "ran", "tflite": "ran",
                                                           "deploy-cortex-m4": "ran"}


def test_address_of_a_two_node_cluster(four: SweepResult, tmp_path: Path, cache: Path) -> None:
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False,
                                                            "object_store_memory": 80 * 1024 * 1024})
    try:
        cluster.add_node(num_cpus=1, object_store_memory=80 * 1024 * 1024)
        cluster.wait_for_nodes()
        # the first sweep's int8 model, so the cluster only copies it in, deploys and reports
        base = next(v for v in four.doc["variants"] if v["name"] == "base-cortex-m4")
        tflite = (Path(base["out"]) / "tflite" / "model.tflite").resolve()
        sets = [a for k, v in {**TINY, "model": str(tflite)}.items() for a in ("--set", f"{k}={v}")]
        cmd = [sys.executable, "-m", "edgefact.cli", "sweep", *sets, "-t", "cortex-m33", "-t", "cortex-m55",
               "--address", cluster.address, "--workers", "2", "--cache", str(cache), "-o", str(tmp_path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"})
        assert proc.returncode == 0, proc.stdout + proc.stderr[-4000:]
        assert "recommended cortex-m33" in proc.stdout
        doc = json.loads((tmp_path / "sweep.json").read_text())
        assert doc["backend"]["mode"] == "ray" and doc["backend"]["address"] == cluster.address
        assert doc["backend"]["ray_nodes"] == 2 and doc["counts"]["ok"] == 2
        # the two deploys (and the two reports) ran side by side, one per node
        nodes = {n["record"]["node"] for n in doc["nodes"]}
        assert len(nodes) == 2 and None not in nodes
    finally:
        cluster.shutdown()
