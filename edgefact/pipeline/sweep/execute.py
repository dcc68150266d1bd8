"""Running one node of the sweep graph: the representative variant's build, up to that stage.

The same function runs inside a Ray worker and, with ``--local``, in the sweep's own process.
The build runs with the shared stage cache, so the upstream stages (computed by the parent
nodes) are cache hits and only this node's stage can run; the build stops right after it
(:class:`~edgefact.pipeline.stages.StopAfterStage`). A variant's final node runs its whole build
(every stage a hit) and writes its report. Errors are returned as a failed record, never raised:
a failing variant must not stop the sweep, and a record names the error for the report.
"""

from __future__ import annotations

import contextvars
import json
import os
import socket
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgefact.pipeline.stages import MANIFEST, SharedCache, StopAfterStage

StartHook = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class NodeContext:
    """What every node needs besides its own description (plain data: it travels to Ray workers)."""

    cache: str
    code: str
    logs: str


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def report_figures(report: dict[str, Any]) -> dict[str, Any]:
    """The part of a variant's report.json the sweep's tables and fronts use."""
    totals = report.get("totals") or {}
    target = report.get("target") or {}
    keep = ("macs", "params", "weight_bytes", "count", "est_ms", "flash_bytes", "ram_bytes", "arena_bytes")
    return {
        "model": (report.get("model") or {}).get("name"),
        "unit": report.get("unit"),
        "target": {k: target.get(k) for k in ("name", "kind", "core", "clock_hz", "flash_bytes", "ram_bytes")},
        "totals": {k: totals.get(k) for k in keep},
        "accuracy": report.get("accuracy") or {},
        "bitexact": (report.get("bitexact") or {}).get("equal"),
        "stages": report.get("stages") or [],
    }


def run_node(node: dict[str, Any], ctx: NodeContext, parents: list[dict[str, Any]],
             on_start: StartHook | None = None) -> dict[str, Any]:
    """Run one node; returns its record (``ok``, ``cached``, ``seconds``, ``error``...)."""
    from edgefact.stdio import capture_output

    rec: dict[str, Any] = {"id": node["id"], "stage": node["stage"], "variant": node["variant"],
                           "final": node["final"], "ok": True, "cached": False, "seconds": 0.0,
                           "saved_seconds": 0.0, "host": socket.gethostname(), "pid": os.getpid(),
                           "node": _ray_node_id()}
    failed = [p for p in parents if not p.get("ok")]
    if failed:
        rec.update(ok=False, skipped=True, error=f"not run: {failed[0]['stage']} failed")
        return rec
    unseen = [p["dir"] for p in parents if p.get("dir") and not Path(p["dir"]).is_dir()]
    if unseen:  # the parent ran on another node, into a cache directory this node does not see
        rec.update(ok=False, error=f"the stage cache is not shared with {rec['host']}: {unseen[0]} is missing "
                                   "here; on a cluster give --cache a path every node mounts")
        return rec
    if on_start is not None:
        on_start(node["id"], {"host": rec["host"], "pid": rec["pid"], "node": rec["node"], "time": time.time()})
    log = Path(ctx.logs) / f"{node['variant']}.{node['stage']}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    rec["log"] = str(log)
    t0 = time.perf_counter()
    try:
        with capture_output(log, python_streams=True):
            # a fresh context: per-command state kept in context variables (the current output and
            # its streams) must not leak from one task into the next one a reused worker runs
            contextvars.Context().run(_run_build, node, ctx, rec)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the variant's reported error
        first = error_summary(exc)
        rec.update(ok=False, error=f"{type(exc).__name__}: {first}" if first else type(exc).__name__,
                   traceback=traceback.format_exc()[-4000:])
    rec["wall_seconds"] = round(time.perf_counter() - t0, 3)
    return _jsonable(rec)


def _run_build(node: dict[str, Any], ctx: NodeContext, rec: dict[str, Any]) -> None:
    from edgefact.pipeline.build import Build
    from edgefact.pipeline.config import make_config

    cfg = make_config(None, dict(node["options"]))
    shared = SharedCache(Path(ctx.cache), ctx.code)
    build = Build(cfg, shared=shared, stop_after=None if node["final"] else node["stage"],
                  echo=lambda s: print(s, flush=True))
    try:
        result = build.run()
    except StopAfterStage as stop:
        r = stop.result
        rec.update(cached=r.cached, seconds=round(r.seconds, 3), dir=str(r.dir), info=r.info)
        if r.cached:
            rec["saved_seconds"] = _manifest_seconds(r.dir)
        return
    if not node["final"]:
        raise RuntimeError(f"stage {node['stage']} is not in the build chain of {node['variant']}")
    stages = [s for s in result.stages if s["name"] != "report"]
    rec.update(seconds=round(result.seconds, 3), out=str(result.out_dir), report_dir=str(result.report_dir),
               figures=report_figures(result.report), rerun_stages=[s["name"] for s in stages if not s["cached"]])


def error_summary(exc: BaseException) -> str:
    """The first line of an error, plus its first compiler-style ``error:`` line when it has one."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    detail = next((ln for ln in lines[1:] if "error:" in ln), None)
    return f"{lines[0]} {detail}" if detail else lines[0]


def _manifest_seconds(stage_dir: Path) -> float:
    try:
        return float(json.loads((stage_dir / MANIFEST).read_text()).get("seconds", 0.0))
    except (OSError, ValueError):
        return 0.0


def _ray_node_id() -> str | None:
    """The Ray node this runs on (None outside Ray); imported only when Ray is already loaded."""
    import sys

    if "ray" not in sys.modules:
        return None
    ray = sys.modules["ray"]
    try:
        return str(ray.get_runtime_context().get_node_id()) if ray.is_initialized() else None
    except Exception:  # noqa: BLE001 - outside a worker the context may not know a node
        return None
