"""Assemble the ``report.json`` document of one deployment from plain figures.

The deploy step (:mod:`edgefact.pipeline.deploy`) measures; this module only arranges what it
measured into the ``edgefact.report/1`` shape (see docs/architecture.md, "Run report"). The
inputs are plain dataclasses and dicts, so the report package needs neither the exporter's graph
nor the firmware's ELF reader, and a test can assemble a report from made-up figures.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from edgefact.report.schema import REPORT_SCHEMA


@dataclass(frozen=True)
class TensorFigures:
    """Shape and quantization of a model input or output."""

    shape: tuple[int, ...]
    scale: float | None  # None for a float (unquantized) tensor
    zero_point: int
    dtype: str  # "int8", "float32"

    def as_dict(self) -> dict[str, Any]:
        return {"shape": [int(d) for d in self.shape], "scale": self.scale, "zero_point": int(self.zero_point),
                "dtype": self.dtype}


@dataclass(frozen=True)
class LayerFigures:
    """The static figures of one generated layer; ``packed`` describes a packed filter (or None)."""

    index: int
    name: str
    op: str
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    macs: int
    params: int
    weight_bytes: int
    packed: dict[str, Any] | None = None
    kernel: str | None = None  # the C function that ran (None: no call emitted, e.g. an aliased RESHAPE)
    activation_bytes: int | None = None  # input + output + scratch bytes in the arena


@dataclass(frozen=True)
class RunFigures:
    """What one firmware run measured.

    ``regions``: profile region name -> count (in ``unit``); a packed layer's decode is the region
    ``unpack_<layer name>``. ``clock_hz``: the clock the firmware reported, kept only for runs on
    a real part (an emulator's figure is not a clock).
    """

    regions: dict[str, int]
    total: int | None
    unit: str | None
    peak_stack: int | None
    clock_hz: int | None = None


@dataclass
class DeployFigures:
    """Everything one deployment knows, as plain data, for :func:`assemble_report`."""

    target: dict[str, Any]  # Target.as_dict()
    target_unit: str  # the target's own unit, used when the run did not say
    model_name: str
    model_path: str
    model_sha256: str
    model_input: TensorFigures
    model_output: TensorFigures
    layers: list[LayerFigures]
    total_macs: int
    total_params: int
    total_weight_bytes: int
    arena_bytes: int
    memory: dict[str, Any] = field(default_factory=dict)  # tflm_arena_bytes, ELF sections, symbols
    flash_bytes: int | None = None  # of the linked ELF (None: host build)
    ram_bytes: int | None = None
    run: RunFigures | None = None  # None: built, not run
    bitexact: dict[str, Any] | None = None
    artifacts: dict[str, str] = field(default_factory=dict)
    #: flash/RAM by component (``edgefact.firmware.footprint.Footprint.as_dict()``), None on the host
    footprint: dict[str, Any] | None = None


def memory_section(tflm_arena_bytes: int | None, elf_memory: dict[str, Any] | None) -> dict[str, Any]:
    """The report's ``memory`` object from TFLM's arena and an ELF memory report's ``as_dict()``."""
    mem: dict[str, Any] = {"tflm_arena_bytes": tflm_arena_bytes}
    if elf_memory is None:
        return mem
    mem["flash_sections"] = elf_memory.get("flash_sections", {})
    mem["ram_sections"] = elf_memory.get("ram_sections", {})
    mem["largest_symbols"] = [{"name": s["name"], "bytes": int(s.get("bytes", s.get("size", 0))),
                               "section": s.get("section")} for s in elf_memory.get("largest_symbols", [])]
    return mem


def _layer_row(layer: LayerFigures, run: RunFigures | None) -> dict[str, Any]:
    row: dict[str, Any] = {"index": layer.index, "name": layer.name, "op": layer.op,
                           "input_shapes": [[int(d) for d in s] for s in layer.input_shapes],
                           "output_shape": [int(d) for d in layer.output_shape], "macs": int(layer.macs),
                           "params": int(layer.params), "weight_bytes": int(layer.weight_bytes)}
    if layer.kernel:
        row["kernel"] = layer.kernel
    if layer.activation_bytes is not None:
        row["activation_bytes"] = int(layer.activation_bytes)
    if run is not None:
        row["count"] = int(run.regions.get(layer.name, 0))
    if layer.packed is not None:
        row["packed"] = dict(layer.packed)
        if run is not None:
            # the layer's count includes the decode of its packed filter, also given alone
            decode = int(run.regions.get(f"unpack_{layer.name}", 0))
            row["packed"]["decode_count"] = decode
            row["count"] += decode
    return row


def assemble_report(fig: DeployFigures, *, created: _dt.datetime | None = None,
                    version: str | None = None) -> dict[str, Any]:
    """The ``edgefact.report/1`` document of one deployment (before the build adds accuracy/stages)."""
    run = fig.run
    when = created or _dt.datetime.now(_dt.UTC)
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "edgefact_version": version or edgefact_version(),
        "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": dict(fig.target),
        "model": {"name": fig.model_name, "path": fig.model_path, "sha256": fig.model_sha256,
                  "input": fig.model_input.as_dict(), "output": fig.model_output.as_dict()},
        "unit": (run.unit if run is not None and run.unit else fig.target_unit),
        "layers": [_layer_row(layer, run) for layer in fig.layers],
        "totals": {"macs": int(fig.total_macs), "params": int(fig.total_params),
                   "weight_bytes": int(fig.total_weight_bytes), "count": run.total if run is not None else None,
                   "flash_bytes": fig.flash_bytes, "ram_bytes": fig.ram_bytes, "arena_bytes": int(fig.arena_bytes),
                   "peak_stack_bytes": run.peak_stack if run is not None else None},
        "memory": dict(fig.memory),
        "bitexact": fig.bitexact,
        "artifacts": dict(fig.artifacts),
    }
    if fig.footprint is not None:
        report["footprint"] = dict(fig.footprint)
        # the headline figures a device needs: without the test harness, stack at its measured peak
        report["totals"]["deployable_flash_bytes"] = int(fig.footprint["deployable_flash_bytes"])
        report["totals"]["deployable_ram_bytes"] = int(fig.footprint["deployable_ram_bytes"])
    if run is not None and run.clock_hz:
        report["target"]["clock_hz"] = int(run.clock_hz)  # the clock the firmware really ran at
    return report


def edgefact_version() -> str:
    """The installed distribution's version (the package's own when not installed)."""
    try:
        from importlib.metadata import version

        return version("edgefact")
    except Exception:
        import edgefact

        return edgefact.__version__
