"""Where the sweep graph runs: Ray Core (a local Ray or a cluster) or in-process (``--local``).

Ray: every node is one Ray task whose arguments are its parents' results (object refs), so Ray
itself starts a task once its parents are done; training and fine-tuning tasks ask for
``train_cpus`` CPUs, the others (conversion, firmware build and run) for one. A task whose worker
process dies is retried by Ray (``max_retries``); an error inside a stage is not an exception
but a failed record (see :mod:`edgefact.pipeline.sweep.execute`), so it is not retried and its
dependents are skipped. ``ray`` is imported here and nowhere else in edgefact.

Concurrency: a local Ray is started with ``workers x train_cpus`` CPUs (default: the machine's
cores); on an existing cluster ``--workers N`` reserves a placement group of N bundles of
``train_cpus`` CPUs and every task runs inside it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.pipeline.sweep.execute import NodeContext, run_node
from edgefact.pipeline.sweep.graph import Node

#: Ray retries a task this many times when its worker process dies
MAX_RETRIES = 3
#: local Ray's object store: records are small, artifacts stay in the stage cache on disk
OBJECT_STORE_BYTES = 128 * 1024 * 1024


@dataclass
class RunState:
    """What the driver knows while the graph runs (read by the progress display)."""

    nodes: dict[str, Node]
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    running: dict[str, dict[str, Any]] = field(default_factory=dict)  # node id -> host/pid/attempts
    attempts: dict[str, int] = field(default_factory=dict)
    slots: int = 1
    started: float = field(default_factory=time.time)
    backend: dict[str, Any] = field(default_factory=dict)

    def start(self, node_id: str, where: dict[str, Any]) -> None:
        if node_id in self.records:
            return
        self.attempts[node_id] = self.attempts.get(node_id, 0) + 1
        self.running[node_id] = {**where, "attempt": self.attempts[node_id]}

    def finish(self, node_id: str, rec: dict[str, Any]) -> None:
        rec["attempts"] = self.attempts.get(node_id, 0)
        self.records[node_id] = rec
        self.running.pop(node_id, None)


Update = Callable[[RunState], None]


def run_local(state: RunState, ctx: NodeContext, update: Update) -> None:
    """The same graph, in this process, one node after the other in topological order."""
    state.slots = 1
    state.backend = {"mode": "local", "workers": 1}
    for node in state.nodes.values():
        parents = [state.records[d] for d in node.deps]
        rec = run_node(node.to_dict(), ctx, parents, on_start=lambda nid, where: (state.start(nid, where),
                                                                                   update(state)))
        state.finish(node.id, rec)
        update(state)


def _import_ray(local: bool) -> Any:
    if local and "ray" not in __import__("sys").modules:
        # a Ray started here listens on 127.0.0.1 only (Ray otherwise binds the host's address)
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise EdgefactError("edgefact sweep runs on Ray: pip install ray==2.60.0 (or use --local)") from None
    return ray


def run_ray(state: RunState, ctx: NodeContext, update: Update, *, address: str | None, workers: int | None,
            train_cpus: int = 1, poll_s: float = 0.5) -> None:
    """Submit the whole graph as Ray tasks and follow it until every task has a record."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    ray = _import_ray(local=address is None)
    started_here = False
    if not ray.is_initialized():
        if address:
            _check_reachable(address)
            try:
                ray.init(address=address, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise EdgefactError(f"cannot connect to the Ray cluster at {address}: {exc}. Start one with "
                                    "`ray start --head` (see docs/sweep.md) or leave out --address for a "
                                    "local Ray") from None
        else:
            cpus = (workers or os.cpu_count() or 1) * train_cpus
            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
                     object_store_memory=OBJECT_STORE_BYTES)
        started_here = True
    try:
        _run_ray_graph(ray, state, ctx, update, address=address, workers=workers, train_cpus=train_cpus,
                       poll_s=poll_s)
    finally:
        if started_here:
            ray.shutdown()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail in seconds, not minutes (Ray's own connection retries), when nothing listens at HOST:PORT."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # "auto", ray:// client addresses: left to Ray
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise EdgefactError(f"no Ray cluster at {address} ({exc.strerror or exc}): start one with `ray start --head "
                            "--port PORT` (docs/sweep.md), or leave out --address for a local Ray") from None


def _placement(ray: Any, workers: int, train_cpus: int) -> tuple[Any, Any]:
    from ray.util.placement_group import placement_group, remove_placement_group
    from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

    pg = placement_group([{"CPU": train_cpus}] * workers, strategy="SPREAD")
    if not pg.wait(timeout_seconds=60):
        remove_placement_group(pg)
        have = ray.cluster_resources().get("CPU", 0)
        raise EdgefactError(f"the Ray cluster cannot hold {workers} workers of {train_cpus} CPU(s) "
                            f"(it has {have:g} CPUs): lower --workers or --train-cpus")
    return pg, PlacementGroupSchedulingStrategy(placement_group=pg)


def _run_ray_graph(ray: Any, state: RunState, ctx: NodeContext, update: Update, *, address: str | None,
                   workers: int | None, train_cpus: int, poll_s: float) -> None:
    @ray.remote(num_cpus=0)
    class Progress:
        """Tasks report their start here (host, pid, Ray node), so the driver can show them running."""

        def __init__(self) -> None:
            self.events: list[tuple[str, dict[str, Any]]] = []

        def start(self, node_id: str, where: dict[str, Any]) -> None:
            self.events.append((node_id, where))

        def drain(self, since: int) -> list[tuple[str, dict[str, Any]]]:
            return self.events[since:]

    def task(node: dict[str, Any], ctx: NodeContext, progress: Any, *parents: dict[str, Any]) -> dict[str, Any]:
        return run_node(node, ctx, list(parents),
                        on_start=lambda nid, where: ray.get(progress.start.remote(nid, where)))

    remote_task = ray.remote(task)
    pg = strategy = None
    cluster_cpus = ray.cluster_resources().get("CPU", 1)
    if address and workers:
        pg, strategy = _placement(ray, workers, train_cpus)
    state.slots = max(1, int(workers or cluster_cpus // train_cpus))
    state.backend = {"mode": "ray", "address": address or "local", "workers": state.slots,
                     "train_cpus": train_cpus, "cluster_cpus": cluster_cpus,
                     "ray_nodes": len([n for n in ray.nodes() if n.get("Alive")]), "ray": ray.__version__}
    progress = Progress.remote()
    refs: dict[str, Any] = {}
    for node in state.nodes.values():
        opts: dict[str, Any] = {"num_cpus": train_cpus if node.training else 1, "max_retries": MAX_RETRIES,
                                "retry_exceptions": False, "name": f"edgefact:{node.stage}:{node.variant}"}
        if strategy is not None:
            opts["scheduling_strategy"] = strategy
        refs[node.id] = remote_task.options(**opts).remote(node.to_dict(), ctx, progress,
                                                           *(refs[d] for d in node.deps))
    by_ref = {ref: nid for nid, ref in refs.items()}
    order = {nid: i for i, nid in enumerate(refs)}
    pending = list(refs.values())
    seen = 0
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=len(pending), timeout=poll_s)
            events = ray.get(progress.drain.remote(seen))
            seen += len(events)
            for nid, where in events:
                state.start(nid, where)
            for nid, ref in sorted(((by_ref[r], r) for r in done), key=lambda x: order[x[0]]):
                state.finish(nid, _record(ray, ref, state, nid))
            update(state)
    except BaseException:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if pg is not None:
            from ray.util.placement_group import remove_placement_group

            remove_placement_group(pg)


def _record(ray: Any, ref: Any, state: RunState, nid: str) -> dict[str, Any]:
    """The task's record, or a failed one when Ray could not run it (worker dead past its retries)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as exc:
        node = state.nodes[nid]
        parents = [state.records.get(d) for d in node.deps]
        failed = next((p for p in parents if p is not None and not p.get("ok")), None)
        text = str(exc).strip().splitlines()
        rec: dict[str, Any] = {"id": nid, "stage": node.stage, "variant": node.variant, "final": node.final,
                               "ok": False, "cached": False, "seconds": 0.0, "saved_seconds": 0.0}
        if failed is not None:
            rec.update(skipped=True, error=f"not run: {failed['stage']} failed")
        else:
            rec["error"] = f"{type(exc).__name__}: {text[0] if text else ''}".strip()
        return rec
