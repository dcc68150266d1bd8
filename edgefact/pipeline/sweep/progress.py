"""Live progress of a sweep: variants done / running / failed, stages computed / cached, ETA.

On a terminal a ``rich`` live panel, refreshed as tasks start and finish; otherwise (CI, logs,
tests) one line per finished stage. The ETA is the estimated work left divided by the worker
slots: a stage not yet done is estimated at the mean time of the finished stages of its kind
(cached ones included, so a resumed sweep's estimate shrinks), or a default before any finished.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from edgefact.pipeline.sweep.backends import RunState

#: seconds per stage kind before any of its kind finished (a tiny model on this kind of machine)
DEFAULT_SECONDS = {"train": 30.0, "factorize": 20.0, "cluster": 20.0, "onnx": 3.0, "convert": 15.0,
                   "copy": 1.0, "deploy": 15.0, "report": 2.0}


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def variant_status(state: RunState) -> dict[str, str]:
    """done / failed / running / pending for every variant that runs stages."""
    chains: dict[str, list[str]] = {}
    for n in state.nodes.values():
        for v in n.variants:
            chains.setdefault(v, []).append(n.id)
    out = {}
    for v, ids in chains.items():
        recs = [state.records.get(i) for i in ids]
        if any(r is not None and not r.get("ok") for r in recs):
            out[v] = "failed"
        elif all(r is not None for r in recs):
            out[v] = "done"
        elif any(i in state.running for i in ids) or any(r is not None for r in recs):
            out[v] = "running"
        else:
            out[v] = "pending"
    return out


def eta_seconds(state: RunState) -> float | None:
    by_kind: dict[str, list[float]] = {}
    for nid, rec in state.records.items():
        if rec.get("ok"):
            by_kind.setdefault(state.nodes[nid].action, []).append(float(rec.get("wall_seconds", rec["seconds"])))
    left = 0.0
    now = time.time()
    for nid, node in state.nodes.items():
        if nid in state.records:
            continue
        times = by_kind.get(node.action)
        est = sum(times) / len(times) if times else DEFAULT_SECONDS.get(node.action, 10.0)
        if nid in state.running:
            est = max(0.0, est - (now - float(state.running[nid].get("time", now))))
        left += est
    return left / max(1, state.slots)


def summary_counts(state: RunState) -> dict[str, int]:
    recs = state.records.values()
    vs = variant_status(state).values()
    return {
        "variants": len(list(variant_status(state))),
        "variants_done": sum(1 for s in vs if s == "done"),
        "variants_failed": sum(1 for s in variant_status(state).values() if s == "failed"),
        "variants_running": sum(1 for s in variant_status(state).values() if s == "running"),
        "stages": len(state.nodes),
        "computed": sum(1 for r in recs if r.get("ok") and not r.get("cached")),
        "cached": sum(1 for r in state.records.values() if r.get("ok") and r.get("cached")),
        "failed": sum(1 for r in state.records.values() if not r.get("ok") and not r.get("skipped")),
        "skipped": sum(1 for r in state.records.values() if r.get("skipped")),
        "running": len(state.running),
    }


def status_line(state: RunState) -> str:
    c = summary_counts(state)
    return (f"variants {c['variants_done']}/{c['variants']} done, {c['variants_running']} running, "
            f"{c['variants_failed']} failed · tasks {len(state.records)}/{c['stages']} "
            f"({c['computed']} run, {c['cached']} cached, {c['failed']} failed) · "
            f"ETA {_fmt_eta(eta_seconds(state)) if len(state.records) < c['stages'] else '0:00'}")


def record_line(state: RunState, rec: dict[str, Any]) -> str:
    if not rec.get("ok"):
        what = "skipped" if rec.get("skipped") else "FAILED"
        return f"{rec['stage']:<18} {rec['variant']:<28} {what}: {rec.get('error')}"
    what = "cached" if rec.get("cached") else f"ran {rec.get('seconds', 0.0):.1f} s"
    if rec.get("final"):
        what = "report written"
    where = f" on {rec['host']}" if rec.get("host") else ""
    retry = f" (attempt {rec['attempts']})" if rec.get("attempts", 1) > 1 else ""
    return f"{rec['stage']:<18} {rec['variant']:<28} {what}{where}{retry}"


class SweepProgress:
    """The update callback of a run: call with the state after every change."""

    def __init__(self, file: IO[str] | None = None, *, live: bool | None = None) -> None:
        self.console = Console(file=file or sys.stderr, highlight=False)
        self.live_mode = self.console.is_terminal if live is None else live
        self._printed: set[str] = set()
        self._live: Live | None = None

    def __enter__(self) -> SweepProgress:
        if self.live_mode:
            self._live = Live(console=self.console, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def _panel(self, state: RunState) -> Table:
        table = Table.grid(padding=(0, 1))
        table.add_row(Text(status_line(state)))
        for nid, where in list(state.running.items())[:12]:
            node = state.nodes[nid]
            attempt = f" attempt {where.get('attempt')}" if where.get("attempt", 1) > 1 else ""
            since = time.time() - float(where.get("time", time.time()))
            table.add_row(Text(f"  running {node.stage:<18} {node.variant:<28} {since:5.0f} s on "
                          f"{where.get('host')} pid {where.get('pid')}{attempt}"))
        return table

    def __call__(self, state: RunState) -> None:
        new = [r for nid, r in state.records.items() if nid not in self._printed]
        for rec in new:
            self._printed.add(rec["id"])
            line = record_line(state, rec)
            if self._live is not None:
                self._live.console.print(line, markup=False)
            else:
                self.console.print(f"{line}  [{status_line(state)}]", soft_wrap=True, markup=False)
        if self._live is not None:
            self._live.update(self._panel(state), refresh=True)
