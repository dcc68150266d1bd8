"""``edgefact sweep``: many build variants, one shared stage cache, on Ray or in-process.

:func:`run_sweep` expands a :class:`~edgefact.pipeline.sweep.spec.SweepSpec` into variants,
merges their build chains into one stage graph (:mod:`.graph`), runs the graph on Ray Core or
serially in this process (:mod:`.backends`; each node is the representative variant's ordinary
build stopped after that stage, :mod:`.execute`), then writes ``sweep.json``, ``sweep.md`` and
``sweep.html`` (:mod:`edgefact.report.sweep`). Every stage lands in one content-addressed cache
(``--cache``, default ``OUT/cache``), so a rerun or a resumed sweep only runs what is missing.

Layout of ``OUT``: ``variants/<name>/`` (each variant's build directory, stage directories
linked into the cache, its report), ``logs/<variant>.<stage>.log``, ``cache/`` and the reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgefact.pipeline.stages import code_fingerprint
from edgefact.pipeline.sweep.backends import RunState, run_local, run_ray
from edgefact.pipeline.sweep.execute import NodeContext
from edgefact.pipeline.sweep.graph import SweepGraph, build_graph
from edgefact.pipeline.sweep.spec import FACTORIZE_PARAMS, SweepSpec, Variant, expand
from edgefact.report.sweep import SWEEP_SCHEMA, Budget, analyze, write_sweep_reports

__all__ = ["SweepOptions", "SweepResult", "plan_sweep", "run_sweep"]


@dataclass
class SweepOptions:
    out: Path
    cache: Path | None = None
    workers: int | None = None
    train_cpus: int = 1
    address: str | None = None
    local: bool = False
    budget: Budget = field(default_factory=Budget)

    @property
    def cache_dir(self) -> Path:
        return Path(self.cache) if self.cache else Path(self.out) / "cache"


@dataclass
class SweepResult:
    doc: dict[str, Any]
    paths: list[Path]
    graph: SweepGraph
    state: RunState

    @property
    def ok(self) -> bool:
        return self.doc["counts"]["failed"] == 0 and not self.doc.get("interrupted")


def plan_sweep(spec: SweepSpec, out: Path) -> tuple[list[Variant], SweepGraph]:
    variants = expand(spec)
    return variants, build_graph(variants, spec.base, Path(out).resolve())


def _variant_rows(graph: SweepGraph, state: RunState) -> list[dict[str, Any]]:
    rows = []
    for pv in graph.variants:
        row: dict[str, Any] = {"name": pv.variant.name, "overrides": pv.variant.overrides,
                               "options": {k: v for k, v in pv.config.items() if k != "out"} or pv.variant.overrides,
                               "out": str(pv.out), "status": pv.status, "error": pv.error}
        if pv.status == "invalid":
            row["status"] = "failed"
        elif pv.status == "duplicate":
            row["same_as"] = pv.same_as
        else:
            recs = [state.records.get(nid) for nid in pv.chain]
            bad = next((r for r in recs if r is not None and not r.get("ok") and not r.get("skipped")), None)
            if bad is not None:
                row.update(status="failed", failed_stage=bad["stage"], error=bad.get("error"), log=bad.get("log"))
            elif any(r is None for r in recs):
                row["status"] = "interrupted"
            else:
                final = recs[-1] or {}
                row.update(status="ok", figures=final.get("figures"), report_dir=final.get("report_dir"),
                           stages={r["stage"]: ("cached" if r.get("cached") else "ran") for r in recs[:-1] if r})
        rows.append(row)
    return rows


def sweep_document(spec: SweepSpec, opts: SweepOptions, graph: SweepGraph, state: RunState,
                   seconds: float, *, interrupted: bool = False) -> dict[str, Any]:
    rows = _variant_rows(graph, state)
    recs = list(state.records.values())
    stage_recs = [r for r in recs if not r.get("final")]
    return {
        "schema": SWEEP_SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "interrupted": interrupted,
        "seconds": round(seconds, 3),
        "cache": str(opts.cache_dir.resolve()),
        "backend": state.backend,
        "spec": {"base": spec.base, "axes": spec.axes, "variants": spec.variants},
        "counts": {"variants": len(rows), "ok": sum(r["status"] == "ok" for r in rows),
                   "failed": sum(r["status"] == "failed" for r in rows),
                   "duplicate": sum(r["status"] == "duplicate" for r in rows),
                   "interrupted": sum(r["status"] == "interrupted" for r in rows)},
        "stages": {"total": sum(1 for n in graph.nodes.values() if not n.final),
                   "computed": sum(1 for r in stage_recs if r.get("ok") and not r.get("cached")),
                   "cached": sum(1 for r in stage_recs if r.get("ok") and r.get("cached")),
                   "failed": sum(1 for r in stage_recs if not r.get("ok") and not r.get("skipped")),
                   "skipped": sum(1 for r in stage_recs if r.get("skipped")),
                   "saved_seconds": round(sum(float(r.get("saved_seconds") or 0.0) for r in stage_recs), 1)},
        "variants": rows,
        "nodes": [{**n.to_dict(), "options": None, "record": state.records.get(n.id)} for n in graph.nodes.values()],
        "analysis": analyze(rows, opts.budget, frozenset({"factorize", *FACTORIZE_PARAMS})),
    }


def run_sweep(spec: SweepSpec, opts: SweepOptions, *,
              update: Callable[[RunState], None] | None = None) -> SweepResult:
    """Run every variant of ``spec``; failures are recorded, never raised (a bad spec still raises)."""
    out = Path(opts.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    _, graph = plan_sweep(spec, out)
    ctx = NodeContext(cache=str(opts.cache_dir.resolve()), code=code_fingerprint(), logs=str(out / "logs"))
    state = RunState(graph.nodes)
    notify = update or (lambda s: None)
    t0 = time.perf_counter()
    interrupted = False
    try:
        if opts.local:
            run_local(state, ctx, notify)
        else:
            run_ray(state, ctx, notify, address=opts.address, workers=opts.workers, train_cpus=opts.train_cpus)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        doc = sweep_document(spec, opts, graph, state, time.perf_counter() - t0, interrupted=interrupted)
        paths = write_sweep_reports(doc, out)
    return SweepResult(doc, paths, graph, state)
