"""How much of a promised saving a derived variant delivers on the device.

A *derived* variant is a run of the same model changed by factorization or clustering (or the same
model on another core): ``edgefact compare BASE VARIANT...`` treats the first run as the baseline.
For a variant and for each baseline layer:

* MAC ratio ``r_mac = MACs(variant) / MACs(base)`` (the saving the desktop count promises is
  ``1 - r_mac``),
* measured ratio ``r_count = count(variant) / count(base)`` (instructions under emulation),
* flash ratio (deployable flash; per layer the weight bytes) and arena ratio (per layer the
  activation bytes),
* the *delivered share* of the MAC saving ``(1 - r_count) / (1 - r_mac)``: 1 when the device saves
  exactly what the MACs promise, below 1 when overheads eat part of it, negative when the variant
  is slower; undefined (None) when there is no promised saving (``r_mac >= 1``).

Per layer, a baseline layer is matched with the run of variant layers that replaces it: the
variant layers up to the first whose output shape equals the baseline layer's (a factorized conv
becomes two or three layers ending in the original output shape; clustering and another core keep
layers one to one). :func:`align_layers` returns None when the layer lists do not align that way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


def ratio(new: float | None, old: float | None) -> float | None:
    """``new / old``, None when either is unknown or ``old`` is 0."""
    if new is None or old is None or old == 0:
        return None
    return new / old


def delivered_share(mac_ratio: float | None, count_ratio: float | None) -> float | None:
    """Measured saving / promised saving, None without a promised saving."""
    if mac_ratio is None or count_ratio is None or mac_ratio >= 1.0:
        return None
    return (1.0 - count_ratio) / (1.0 - mac_ratio)


@dataclass(frozen=True)
class Ratios:
    """The ratios of a variant (or of one baseline layer) against the baseline."""

    mac_ratio: float | None
    count_ratio: float | None
    flash_ratio: float | None
    arena_ratio: float | None
    delivered: float | None

    @property
    def speedup(self) -> float | None:
        return None if not self.count_ratio else 1.0 / self.count_ratio

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"speedup": self.speedup}


def ratios(macs: tuple[Any, Any], count: tuple[Any, Any], flash: tuple[Any, Any],
           arena: tuple[Any, Any]) -> Ratios:
    """Each argument is (variant, baseline)."""
    r_mac, r_count = ratio(*macs), ratio(*count)
    return Ratios(r_mac, r_count, ratio(*flash), ratio(*arena), delivered_share(r_mac, r_count))


def _flash(report: Mapping[str, Any]) -> Any:
    t = report.get("totals") or {}
    return t.get("deployable_flash_bytes", t.get("flash_bytes"))


def run_ratios(variant: Mapping[str, Any], base: Mapping[str, Any]) -> Ratios:
    """Whole-model ratios of two reports (deployable flash when known, the activation arena)."""
    t, tb = variant.get("totals") or {}, base.get("totals") or {}
    return ratios((t.get("macs"), tb.get("macs")), (t.get("count"), tb.get("count")),
                  (_flash(variant), _flash(base)), (t.get("arena_bytes"), tb.get("arena_bytes")))


def align_layers(base: Sequence[Mapping[str, Any]],
                 variant: Sequence[Mapping[str, Any]]) -> list[tuple[int, list[int]]] | None:
    """[(baseline position, [variant positions])] covering both lists in order, or None."""
    out: list[tuple[int, list[int]]] = []
    j = 0
    for i, layer in enumerate(base):
        shape = list(layer.get("output_shape") or [])
        group: list[int] = []
        while j < len(variant):
            group.append(j)
            j += 1
            if list(variant[group[-1]].get("output_shape") or []) == shape:
                break
        else:
            return None
        out.append((i, group))
    return out if j == len(variant) else None


def _sum(layers: Sequence[Mapping[str, Any]], key: str) -> Any:
    vals = [layer.get(key) for layer in layers]
    return None if any(v is None for v in vals) else sum(vals)


@dataclass(frozen=True)
class LayerDiff:
    """One baseline layer against the variant layers that replace it."""

    index: int
    op: str
    variant_ops: list[str]
    macs: tuple[Any, Any]  # (variant, baseline)
    count: tuple[Any, Any]
    weight_bytes: tuple[Any, Any]
    activation_bytes: tuple[Any, Any]
    ratios: Ratios

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "op": self.op, "variant_ops": self.variant_ops,
                "macs": self.macs[0], "baseline_macs": self.macs[1], "count": self.count[0],
                "baseline_count": self.count[1], "weight_bytes": self.weight_bytes[0],
                "baseline_weight_bytes": self.weight_bytes[1], "activation_bytes": self.activation_bytes[0],
                "baseline_activation_bytes": self.activation_bytes[1], **self.ratios.as_dict()}


def layer_diffs(variant: Mapping[str, Any], base: Mapping[str, Any]) -> list[LayerDiff] | None:
    """Per baseline layer, the variant's figures and ratios; None when the layers do not align."""
    bl, vl = list(base.get("layers") or []), list(variant.get("layers") or [])
    pairs = align_layers(bl, vl)
    if pairs is None:
        return None
    out = []
    for i, group in pairs:
        b, vs = bl[i], [vl[j] for j in group]
        fig = {key: (_sum(vs, key), b.get(key)) for key in ("macs", "count", "weight_bytes", "activation_bytes")}
        r = ratios(fig["macs"], fig["count"], fig["weight_bytes"], fig["activation_bytes"])
        out.append(LayerDiff(int(b["index"]), b["op"], [v["op"] for v in vs], fig["macs"], fig["count"],
                             fig["weight_bytes"], fig["activation_bytes"], r))
    return out




def baseline_section(report: Mapping[str, Any], base: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The ``baseline`` object of a derived run's report: whole-run ratios and, where the layers
    align, the per-layer diff (``edgefact build --baseline DIR``)."""
    d = layer_diffs(report, base)
    return {"path": path, "model": (base.get("model") or {}).get("name"),
            "target": (base.get("target") or {}).get("name"), "unit": base.get("unit"),
            "run": run_ratios(report, base).as_dict(), "layers": None if d is None else [x.as_dict() for x in d]}


__all__ = ["LayerDiff", "Ratios", "align_layers", "baseline_section", "delivered_share", "layer_diffs", "ratio",
           "ratios", "run_ratios"]
