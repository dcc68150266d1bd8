"""Static memory plan: every activation tensor and kernel scratch buffer at an offset in one arena.

Steps:

1. *Aliasing.* RESHAPE outputs share their input's bytes. An element-wise op (ADD, MUL, a
   standalone RELU) writes over an input of the same size when that input dies at the op. The
   aliased tensors form one buffer.
2. *Boundary tensors.* The buffer holding the model input is the caller's ``in`` pointer and the
   one holding the model output is the caller's ``out`` pointer, so neither takes arena space.
3. *Liveness* over the execution order: a buffer lives from the layer that first writes it to
   the last layer that reads it (both inclusive); a scratch buffer lives during its layer only.
4. *Greedy by size:* the largest buffer first, each at the lowest aligned offset that does not
   overlap a placed buffer with an intersecting lifetime.
5. :func:`check_plan` then verifies, independently of the placement code, that no two buffers
   live at the same time share a byte.

State kept between invocations (``Graph.state``: variable tensors, resource variables) is never
aliased nor overwritten in place; each variable is a ``"state"`` buffer at its own offset
(``Buffer.io_offset``) in a separate region of ``MemoryPlan.state_bytes`` that the reused arena
does not overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgefact.errors import EdgefactError
from edgefact.export.ir import Graph

ALIGN = 16


@dataclass
class Buffer:
    id: int
    name: str
    size: int
    first: int  # first layer index (position in graph.layers) where it is live
    last: int  # last layer index where it is live
    tensors: list[int] = field(default_factory=list)  # activation tensors stored here
    kind: str = "tensor"  # "tensor" | "scratch" | "input" | "output" | "state"
    offset: int | None = None  # arena offset; None for input/output (caller's pointers) and state
    layer: int | None = None  # for scratch: position of its layer
    io_offset: int = 0  # input/output: byte offset in the caller's buffer (inputs back to back); state: in the state region

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass
class MemoryPlan:
    buffers: list[Buffer]
    tensor_buffer: dict[int, int]  # tensor index -> buffer id
    scratch: dict[int, int]  # layer position -> scratch buffer id
    arena_bytes: int
    alignment: int = ALIGN
    unpacked: dict[int, int] = field(default_factory=dict)  # layer position -> buffer of its unpacked weights
    state_bytes: int = 0  # the persistent state region (variables kept between invocations)

    def buffer_of(self, tensor: int) -> Buffer:
        return self.buffers[self.tensor_buffer[tensor]]

    @property
    def peak_live_bytes(self) -> int:
        """Largest sum of live arena buffers at one layer (the lower bound any placement meets)."""
        placed = [b for b in self.buffers if b.offset is not None]
        if not placed:
            return 0
        last = max(b.last for b in placed)
        return max(sum(b.size for b in placed if b.first <= i <= b.last) for i in range(last + 1))


def _align(n: int, a: int) -> int:
    return (n + a - 1) // a * a


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        self.parent[self.find(b)] = self.find(a)


def plan_memory(graph: Graph, alignment: int = ALIGN, inplace: bool = True) -> MemoryPlan:
    """Place the graph's tensors and scratch buffers in one arena (see the module docstring)."""
    layers = graph.layers
    uf = _UnionFind()
    for t in graph.tensors:
        uf.find(t)

    # last reader of each tensor (by layer position)
    last_use: dict[int, int] = {}
    for pos, layer in enumerate(layers):
        for t in layer.inputs:
            last_use[t] = pos

    def class_members(root: int) -> list[int]:
        return [t for t in graph.tensors if uf.find(t) == root]

    state = [v.tensor for v in graph.state]

    def external(root: int) -> bool:  # the caller's buffers and persistent state: never merged
        return root in {uf.find(t) for t in (*graph.inputs, *graph.outputs, *state)}

    for pos, layer in enumerate(layers):
        if layer.alias:
            src, dst = layer.inputs[0], layer.output
            if external(uf.find(src)) and external(uf.find(dst)) and uf.find(src) != uf.find(dst):
                layer.copy = True  # input -> output directly: a copy, not an alias
                continue
            uf.union(src, dst)
            continue
        if not inplace or not layer.inplace_ok:
            continue
        out = graph.tensors[layer.output]
        for p in layer.inplace_ok:
            src = layer.inputs[p]
            root = uf.find(src)
            members = class_members(root)
            if external(root) or external(uf.find(layer.output)):
                continue
            if max(last_use.get(m, -1) for m in members) != pos:
                continue  # still read later
            if layer.inputs.count(src) > 1 and p > 0:
                continue
            if graph.tensors[src].nbytes != out.nbytes:
                continue
            uf.union(src, layer.output)
            layer.inplace_input = p
            break

    # one buffer per alias class
    produced_at: dict[int, int] = {layer.output: pos for pos, layer in enumerate(layers)}
    roots: dict[int, list[int]] = {}
    for t in graph.tensors:
        roots.setdefault(uf.find(t), []).append(t)
    buffers: list[Buffer] = []
    tensor_buffer: dict[int, int] = {}
    for root, members in sorted(roots.items()):
        ins = [t for t in graph.inputs if uf.find(t) == root]
        outs = [t for t in graph.outputs if uf.find(t) == root]
        persistent = [t for t in state if uf.find(t) == root]
        kind = "input" if ins else "output" if outs else "state" if persistent else "tensor"
        if len(ins) + len(outs) + len(persistent) > 1:
            raise EdgefactError(f"model inputs/outputs/variables {ins + outs + persistent} share one buffer; "
                                "edgefact needs distinct model inputs, outputs and variables")
        io_offset = 0
        for t in graph.inputs if ins else graph.outputs if outs else []:
            if t in members:
                break
            io_offset += graph.tensors[t].nbytes
        firsts = [produced_at[m] for m in members if m in produced_at]
        lasts = [last_use[m] for m in members if m in last_use]
        first = min(firsts) if firsts else 0
        last = max(lasts + firsts) if (lasts or firsts) else len(layers) - 1
        if kind == "input":
            first = 0
        if kind == "output":
            last = len(layers) - 1
        if kind == "state":
            first, last = 0, len(layers) - 1
        size = max(graph.tensors[m].nbytes for m in members)
        name = graph.tensors[min(members, key=lambda m: produced_at.get(m, -1))].name
        b = Buffer(id=len(buffers), name=name, size=size, first=first, last=last, tensors=sorted(members), kind=kind,
                   io_offset=io_offset)
        buffers.append(b)
        for m in members:
            tensor_buffer[m] = b.id
    state_bytes = 0
    for b in buffers:
        if b.kind == "state":
            b.io_offset = state_bytes
            state_bytes = _align(state_bytes + b.size, alignment)
    scratch: dict[int, int] = {}
    for pos, layer in enumerate(layers):
        if layer.scratch_bytes > 0:
            b = Buffer(id=len(buffers), name=f"scratch of {layer.name}", size=layer.scratch_bytes, first=pos,
                       last=pos, kind="scratch", layer=pos)
            buffers.append(b)
            scratch[pos] = b.id
    unpacked: dict[int, int] = {}
    for pos, layer in enumerate(layers):
        # packed (clustered) weights are expanded into the arena just before their layer
        if layer.unpack_bytes > 0:
            b = Buffer(id=len(buffers), name=f"unpacked weights of {layer.name}", size=layer.unpack_bytes,
                       first=pos, last=pos, kind="scratch", layer=pos)
            buffers.append(b)
            unpacked[pos] = b.id

    # greedy by size
    placed: list[Buffer] = []
    for b in sorted((b for b in buffers if b.kind in ("tensor", "scratch")), key=lambda b: (-b.size, b.first, b.id)):
        busy = sorted((p for p in placed if p.overlaps_in_time(b)), key=lambda p: p.offset or 0)
        offset = 0
        for p in busy:
            assert p.offset is not None
            if offset + b.size <= p.offset:
                break
            offset = max(offset, _align(p.offset + p.size, alignment))
        b.offset = offset
        placed.append(b)
    arena = _align(max((b.offset + b.size for b in placed if b.offset is not None), default=0), alignment)
    plan = MemoryPlan(buffers, tensor_buffer, scratch, arena, alignment, unpacked, state_bytes)
    check_plan(plan)
    return plan


def check_plan(plan: MemoryPlan) -> None:
    """Raise if two buffers that are live at the same layer share a byte or leave the arena."""
    placed = [b for b in plan.buffers if b.kind in ("tensor", "scratch")]
    for b in placed:
        if b.offset is None or b.offset < 0 or b.offset + b.size > plan.arena_bytes:
            raise EdgefactError(f"memory plan error: buffer '{b.name}' at {b.offset} (+{b.size}) is outside the "
                                f"{plan.arena_bytes}-byte arena; this is a bug in edgefact's planner")
        if b.offset % plan.alignment:
            raise EdgefactError(f"memory plan error: buffer '{b.name}' offset {b.offset} is not "
                                f"{plan.alignment}-byte aligned; this is a bug in edgefact's planner")
    for i, a in enumerate(placed):
        for b in placed[i + 1:]:
            if a.overlaps_in_time(b):
                assert a.offset is not None and b.offset is not None
                if a.offset < b.offset + b.size and b.offset < a.offset + a.size:
                    raise EdgefactError(
                        f"memory plan error: '{a.name}' [{a.offset}, {a.offset + a.size}) and '{b.name}' "
                        f"[{b.offset}, {b.offset + b.size}) are live together (layers {a.first}-{a.last} and "
                        f"{b.first}-{b.last}) and overlap; this is a bug in edgefact's planner")


def format_plan(plan: MemoryPlan, graph: Graph, tflm_arena: int | None = None) -> str:
    """Human-readable plan: one line per buffer (offset, size, lifetime, tensors), then totals."""
    lines = [f"{'offset':>8} {'size':>8}  {'layers':>9}  buffer"]
    for b in sorted(plan.buffers, key=lambda b: (b.offset if b.offset is not None else -1, b.first)):
        where = f"{b.offset:>8}" if b.offset is not None else f"{b.kind:>8}"
        names = ", ".join(graph.tensors[t].name for t in b.tensors) if b.tensors else b.name
        lines.append(f"{where} {b.size:>8}  {b.first:>4}-{b.last:<4}  {names}")
    lines.append(f"arena: {plan.arena_bytes} bytes (peak live {plan.peak_live_bytes} bytes, "
                 f"{sum(1 for b in plan.buffers if b.kind == 'scratch')} scratch buffers)")
    if plan.state_bytes:
        lines.append(f"state: {plan.state_bytes} bytes kept between invocations, outside the arena "
                     f"({sum(1 for b in plan.buffers if b.kind == 'state')} variables)")
    if tflm_arena is not None:
        lines.append(f"TFLM arena for the same model: {tflm_arena} bytes "
                     f"(edgefact/TFLM = {plan.arena_bytes / max(tflm_arena, 1):.2f})")
    return "\n".join(lines)
