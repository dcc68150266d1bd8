"""The stage graph of a sweep: every variant's build chain, with shared stages merged.

Each variant is an ordinary build; its chain comes from the build's own stage table
(:func:`edgefact.pipeline.stages.plan`). A stage of one variant and a stage of another are the
same node when they are the same stage, read the same upstream node and have equal values for
the options the stage declares (``StageSpec.options``): that is what the stage's cache key is made
of, apart from input contents, which equal upstream nodes produce. So the baseline trains once,
each factorization runs once and each (model, target) pair deploys once. The final ``report``
stage is one node per variant (it writes the variant's own directory).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.hashing import digest, file_sha256
from edgefact.pipeline.build import model_kind
from edgefact.pipeline.config import BuildConfig, make_config
from edgefact.pipeline.stages import plan
from edgefact.pipeline.sweep.spec import Variant

#: stage actions that train or fine-tune and so take ``train_cpus`` CPUs; every other stage takes one
TRAINING_ACTIONS = frozenset({"train", "factorize", "cluster"})


@dataclass
class Node:
    """One task of the sweep: a stage of the chain of ``variant`` (the first variant that needs it)."""

    id: str
    stage: str  # the stage's directory name, e.g. train, factorize, deploy-cortex-m4, report
    action: str
    deps: list[str]
    variant: str  # the representative variant whose build runs this stage
    options: dict[str, Any]  # that variant's build options (out included)
    variants: list[str] = field(default_factory=list)  # every variant whose chain contains this node
    training: bool = False
    final: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PlannedVariant:
    variant: Variant
    out: Path
    status: str = "planned"  # planned | invalid | duplicate
    error: str | None = None
    same_as: str | None = None
    chain: list[str] = field(default_factory=list)  # node ids, report last
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class SweepGraph:
    nodes: dict[str, Node]  # in a topological order (parents first)
    variants: list[PlannedVariant]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes.values():
            key = "report" if n.final else n.stage
            out[key] = out.get(key, 0) + 1
        return out


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _source_digest(cfg: BuildConfig, kind: str) -> str:
    if kind == "zoo":
        return ""
    path = Path(cfg.model).expanduser()
    return file_sha256(path) if path.is_file() else f"missing:{path}"


def build_graph(variants: list[Variant], base: dict[str, Any], out_dir: Path) -> SweepGraph:
    """Plan every variant's chain and merge the equal stages.

    A variant whose options do not make a valid build configuration is kept as ``invalid`` with
    the error (it is reported, the others run); one whose chain is the same build as an earlier
    variant's is a ``duplicate`` and runs no stage of its own.
    """
    from edgefact.targets import get_target

    nodes: dict[str, Node] = {}
    planned: list[PlannedVariant] = []
    finals: dict[str, str] = {}  # last stage node -> the variant that reports it
    for v in variants:
        out = out_dir / "variants" / v.name
        pv = PlannedVariant(v, out)
        planned.append(pv)
        options = {**v.options(base), "out": str(out)}
        try:
            cfg = make_config(None, options)
            target = get_target(cfg.target).name
        except EdgefactError as exc:
            pv.status, pv.error = "invalid", str(exc)
            continue
        pv.config = _jsonable(options)
        kind = model_kind(cfg.model)
        parent = digest(["root", kind, cfg.model, _source_digest(cfg, kind)])
        chain: list[str] = []
        for spec in plan(cfg, kind):
            if spec.action == "report":
                if parent in finals:
                    pv.status, pv.same_as = "duplicate", finals[parent]
                    break
                finals[parent] = v.name
                node_id = digest(["report", v.name, parent])
                nodes[node_id] = Node(node_id, "report", "report", [parent] if chain else [], v.name,
                                      pv.config, [v.name], final=True)
                chain.append(node_id)
                break
            stage = spec.dir_name(target)
            declared = _jsonable({o: getattr(cfg, o, None) for o in spec.options})
            node_id = digest(["stage", spec.name, spec.action, stage, json.dumps(declared, sort_keys=True), parent])
            node = nodes.get(node_id)
            if node is None:
                node = nodes[node_id] = Node(node_id, stage, spec.action, [parent] if chain else [], v.name,
                                             pv.config, training=spec.action in TRAINING_ACTIONS)
            node.variants.append(v.name)
            chain.append(node_id)
            parent = node_id
        pv.chain = chain
    # a duplicate's shared stages count for the variant it repeats only
    for pv in planned:
        if pv.status == "duplicate":
            for nid in pv.chain:
                nodes[nid].variants.remove(pv.variant.name)
            pv.chain = []
    return SweepGraph(nodes, planned)
