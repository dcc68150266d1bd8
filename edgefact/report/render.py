"""Turn a run report into report.json, report.md and a self-contained report.html.

The Markdown is meant for the terminal and for pull requests (padded tables that read well as
plain text); the HTML embeds its matplotlib plots as base64 PNGs so it can be mailed or archived
as one file.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edgefact.fsutil import write_files_atomically
from edgefact.report.schema import UNIT_CYCLES, UNIT_INSTRUCTIONS, UNIT_NS, derive_fields, validate_report
from edgefact.units import format_bytes

ACCURACY_STAGES = ("float", "factorized", "clustered", "int8", "device")


# ---------------------------------------------------------------- number formatting
def fmt_int(v: Any) -> str:
    """Thousands-separated integer, or an en dash for unknown."""
    if v is None:
        return "–"
    return f"{round(v):,}"


def fmt_bytes(v: Any) -> str:
    return format_bytes(v)


def fmt_pct(v: Any, digits: int = 1) -> str:
    return "–" if v is None else f"{100.0 * v:.{digits}f}%"


def fmt_float(v: Any, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def fmt_shape(shape: Any) -> str:
    if not shape:
        return "–"
    return "×".join(str(d) for d in shape)


#: the widest a path may be in a report table (report.json keeps it whole)
PATH_WIDTH = 48


def fmt_path(path: str, width: int = PATH_WIDTH) -> str:
    """``path`` for a table cell: whole when it fits ``width``, else its last components behind
    an ellipsis (the file name always kept), so that the tables of report.md stay within 100
    columns wherever the run directory lies."""
    if len(path) <= width:
        return path
    parts = path.replace("\\", "/").split("/")
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + 1 + len(tail) + 2 > width:
            break
        tail = f"{part}/{tail}"
    return "…/" + tail


def fmt_ops(ops: Sequence[str]) -> str:
    """The ops a baseline layer became, runs of one op counted: ``3× CONV_2D``,
    ``DEPTHWISE_CONV_2D + CONV_2D``."""
    runs: list[list[Any]] = []
    for op in ops:
        if runs and runs[-1][0] == op:
            runs[-1][1] += 1
        else:
            runs.append([op, 1])
    return " + ".join(op if n == 1 else f"{n}× {op}" for op, n in runs) or "–"


def fmt_clock(hz: float) -> str:
    return f"{hz / 1e6:g} MHz"


def count_name(unit: str) -> str:
    """Short column name for a report unit: instructions, cycles or ns."""
    return unit.split(" ")[0] if unit else "count"


def per_count_name(unit: str) -> str:
    return {"instructions": "MACs/instr", "cycles": "MACs/cycle", "ns": "MACs/ns"}.get(count_name(unit), "MACs/count")


def is_emulated(report: dict[str, Any]) -> bool:
    return report.get("unit") == UNIT_INSTRUCTIONS


# ---------------------------------------------------------------- terminal helpers
def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A Markdown pipe table with padded columns, readable as plain text in a terminal.

    ``align`` has one letter per column, ``l`` or ``r`` (default: first column left, others right).
    """
    ncol = len(headers)
    if align is None:
        align = "l" + "r" * (ncol - 1)
    if len(align) != ncol:
        raise ValueError("align needs one letter per column")
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    for row in cells:
        if len(row) != ncol:
            raise ValueError(f"row {row!r} has {len(row)} cells, expected {ncol}")
    widths = [max(3, *(len(r[i]) for r in cells)) for i in range(ncol)]

    def line(row: Sequence[str]) -> str:
        parts = [c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(row, widths, align, strict=True)]
        return "| " + " | ".join(parts) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in zip(widths, align, strict=True)) + "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def _best_accuracy(report: dict[str, Any]) -> tuple[str, float] | None:
    acc = report.get("accuracy") or {}
    for stage in reversed(ACCURACY_STAGES):
        if acc.get(stage) is not None:
            return stage, acc[stage]
    return None


def latency_text(report: dict[str, Any]) -> str:
    """Measured count of one inference with its unit, plus the ms (estimate under emulation)."""
    totals = report.get("totals") or {}
    unit = report.get("unit", "")
    count = totals.get("count")
    if count is None:
        return "not measured"
    if unit == UNIT_NS:
        return f"{count / 1e6:.3f} ms (host)"
    text = f"{fmt_int(count)} {count_name(unit)}"
    est = totals.get("est_ms")
    clock = (report.get("target") or {}).get("clock_hz")
    if est is not None and clock:
        label = "est." if is_emulated(report) else ""
        text += f" ({label + ' ' if label else ''}{est:.2f} ms @ {fmt_clock(clock)})"
    return text


def wilson_interval(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95 % Wilson score interval of an accuracy ``p`` measured on ``n`` samples."""
    if n <= 0:
        return (0.0, 1.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def deployable(report: dict[str, Any]) -> tuple[Any, Any, bool]:
    """(flash, RAM, whether they exclude the test harness): the headline memory figures."""
    t = report.get("totals") or {}
    if t.get("deployable_flash_bytes") is not None:
        return t["deployable_flash_bytes"], t.get("deployable_ram_bytes"), True
    return t.get("flash_bytes"), t.get("ram_bytes"), False


def budget_verdict(report: dict[str, Any]) -> str | None:
    """``fits cortex-m7: flash 1.5% of 4.00 MiB, RAM 0.9% of 4.00 MiB`` (or DOES NOT FIT), None
    without a budget or without memory figures; on the deployable figures when known."""
    target = report.get("target") or {}
    flash, ram, _ = deployable(report)
    parts, fits = [], True
    for what, used, budget in (("flash", flash, target.get("flash_bytes")), ("RAM", ram, target.get("ram_bytes"))):
        if used is None or not budget:
            continue
        fits &= used <= budget
        parts.append(f"{what} {100 * used / budget:.1f}% of {fmt_bytes(budget)}")
    if not parts:
        return None
    return ("fits " if fits else "DOES NOT FIT ") + f"{target.get('name', '?')}: " + ", ".join(parts)


def summary_line(report: dict[str, Any]) -> str:
    """One paste-able line: target, accuracy, latency (with the board's estimate), flash, RAM, budget."""
    target = report.get("target") or {}
    acc = _best_accuracy(report)
    acc_text = "not measured" if acc is None else f"{100 * acc[1]:.1f}% ({acc[0]})"
    model = (report.get("model") or {}).get("name", "?")
    flash, ram, honest = deployable(report)
    mem = f" · flash {fmt_bytes(flash)} · RAM {fmt_bytes(ram)}"
    if honest:
        mem += " (deployable, without the test harness)"
    verdict = budget_verdict(report)
    base = ""
    if report.get("baseline"):
        run = report["baseline"]["run"]
        base = f" · {_times(run.get('speedup'))} vs baseline"
        if run.get("delivered") is not None:
            base += f" (delivers {fmt_pct(run['delivered'], 0)} of the MAC saving)"
    return (f"edgefact {model} on {target.get('name', '?')}: accuracy {acc_text} · latency {latency_text(report)}"
            + mem + (f" · {verdict}" if verdict else "") + base)


def json_summary(report: dict[str, Any]) -> dict[str, Any]:
    """The machine-readable summary (``--json``): the figures of :func:`summary_line`."""
    t = report.get("totals") or {}
    flash, ram, honest = deployable(report)
    acc = _best_accuracy(report)
    be = report.get("bitexact") or {}
    return {"model": (report.get("model") or {}).get("name"), "target": (report.get("target") or {}).get("name"),
            "unit": report.get("unit"), "count": t.get("count"), "est_ms": t.get("est_ms"), "macs": t.get("macs"),
            "accuracy": acc[1] if acc else None, "accuracy_stage": acc[0] if acc else None,
            "flash_bytes": flash, "ram_bytes": ram, "deployable": honest,
            "elf_flash_bytes": t.get("flash_bytes"), "elf_ram_bytes": t.get("ram_bytes"),
            "bitexact": be.get("equal"), "budget": budget_verdict(report)}


# ---------------------------------------------------------------- tables shared by md and html
def _show_est(report: dict[str, Any]) -> bool:
    clock = (report.get("target") or {}).get("clock_hz")
    return bool(clock) and report.get("unit", "") in (UNIT_INSTRUCTIONS, UNIT_CYCLES)


def _layer_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    """The timing table: one row per layer, narrow enough for 100 columns (details apart)."""
    unit = report.get("unit", "")
    clock = (report.get("target") or {}).get("clock_hz")
    show_est = _show_est(report)
    headers = ["#", "op", "MACs", count_name(unit), "share", per_count_name(unit)]
    if show_est:
        headers.append(f"est. ms @{fmt_clock(clock)}" + ("*" if is_emulated(report) else ""))
    rows: list[list[str]] = []
    for layer in report.get("layers", []):
        row = [str(layer["index"]), layer["op"], fmt_int(layer.get("macs")), fmt_int(layer.get("count")),
               fmt_pct(layer.get("share")), fmt_float(layer.get("macs_per_count"))]
        if show_est:
            row.append(fmt_float(layer.get("est_ms")))
        rows.append(row)
    t = report.get("totals") or {}
    layer_sum = sum(layer.get("count") or 0 for layer in report.get("layers", []))
    total_count = t.get("count")
    ratio = t["macs"] / total_count if total_count else None
    total = ["total", "", fmt_int(t.get("macs")), fmt_int(total_count),
             fmt_pct(layer_sum / total_count if total_count else None), fmt_float(ratio)]
    if show_est:
        total.append(fmt_float(t.get("est_ms")))
    rows.append(total)
    return headers, rows, "rl" + "r" * (len(headers) - 2)


def _shapes(layer: dict[str, Any]) -> str:
    ins = " + ".join(fmt_shape(s) for s in layer.get("input_shapes") or []) or "–"
    return f"{ins} → {fmt_shape(layer.get('output_shape'))}"


def _layer_details(report: dict[str, Any], with_name: bool = False) -> tuple[list[str], list[list[str]], str]:
    """Per layer: the C kernel that ran, shapes, and weight bytes beside activation bytes."""
    headers = ["#", *(["name"] if with_name else []), "kernel", "shapes", "params", "weight B", "act. B"]
    rows = []
    for layer in report.get("layers", []):
        rows.append([str(layer["index"]), *([layer.get("name") or "–"] if with_name else []),
                     layer.get("kernel") or "–", _shapes(layer), fmt_int(layer.get("params")),
                     fmt_int(layer.get("weight_bytes")), fmt_int(layer.get("activation_bytes"))])
    t = report.get("totals") or {}
    rows.append(["total", *([""] if with_name else []), "", "", fmt_int(t.get("params")),
                 fmt_int(t.get("weight_bytes")), ""])
    return headers, rows, "r" + "l" * (3 if with_name else 2) + "rrr"


_FLASH_LABELS = {"weights": "weights + tables", "code": "generated code", "kernels": "kernels",
                 "runtime": "runtime / startup", "harness": "test harness (not deployed)"}
_RAM_LABELS = {"arena": "activation arena", "stack": "stack", "harness": "harness buffers (not deployed)",
               "other": "other (log, profiler, data)"}


def _memory_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    """Flash and RAM against the budget; with a footprint, by component and deployable first."""
    t = report.get("totals") or {}
    target = report.get("target") or {}
    mem = report.get("memory") or {}
    fp = report.get("footprint") or None
    fbud, rbud = target.get("flash_bytes"), target.get("ram_bytes")
    rows: list[list[str]] = []

    def add(name: str, used: Any, budget: Any, note: str = "") -> None:
        if used is None:
            return
        share = used / budget if budget else None
        rows.append([name, fmt_bytes(used), fmt_pct(share), note])

    def head(name: str, budget: Any) -> str:
        return f"{name} (of {fmt_bytes(budget)})" if budget else name

    if fp:
        add(head("flash", fbud), t.get("deployable_flash_bytes"), fbud, "deployable: no harness")
        for key, label in _FLASH_LABELS.items():
            add(f"  {label}", fp["flash"].get(key), fbud)
        add("  ELF flash, harness included", t.get("flash_bytes"), fbud)
        peak = fp.get("peak_stack_bytes")
        add(head("RAM", rbud), t.get("deployable_ram_bytes"), rbud,
            "deployable, stack at its peak" if peak is not None else "deployable, stack as reserved")
        for key, label in _RAM_LABELS.items():
            if key == "stack":
                add("  peak stack (measured)", peak, rbud)
                add("  stack reserved (linker script)", fp["ram"].get("stack"), rbud)
            else:
                add(f"  {label}", fp["ram"].get(key), rbud)
        add("  ELF static RAM, harness included", t.get("ram_bytes"), rbud)
    else:
        add(head("flash", fbud), t.get("flash_bytes"), fbud)
        add(head("RAM", rbud), t.get("ram_bytes"), rbud)
        add("  activation arena (ours)", t.get("arena_bytes"), rbud)
        add("  peak stack (measured)", t.get("peak_stack_bytes"), rbud)
    add("TFLM arena (same model)", mem.get("tflm_arena_bytes"), rbud, "TFLite Micro's, to compare")
    add("weights", t.get("weight_bytes"), fbud, "of the model's layers")
    return ["memory", "bytes", "of budget", "note"], rows, "lrrl"


def _accuracy_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    acc = report.get("accuracy") or {}
    rows = []
    for stage in ACCURACY_STAGES:
        if acc.get(stage) is None:
            continue
        note = ""
        n = _samples(acc, stage)
        interval = "–"
        if n:
            lo, hi = wilson_interval(acc[stage], n)
            interval = f"{fmt_pct(lo)} – {fmt_pct(hi)}"
        if stage == "device" and acc.get("device_samples"):
            note = f"{acc['device_samples']} samples"
            if acc.get("reference_on_device_samples") is not None:
                note += f"; TFLite {fmt_pct(acc['reference_on_device_samples'])} on the same"
            if acc.get("device_agrees_with_reference") is not None:
                note += "; predictions " + ("equal" if acc["device_agrees_with_reference"] else "DIFFER")
        elif n:
            note = f"{fmt_int(n)} samples"
        rows.append([stage, fmt_pct(acc[stage]), interval, note])
    return ["stage", "top-1", "95% interval", "test set"], rows, "lrrl"


def _samples(acc: dict[str, Any], stage: str) -> int | None:
    """How many test samples a stage's accuracy was measured on, when the report says."""
    if stage == "device":
        return acc.get("device_samples")
    n = (acc.get("samples") or {}).get(stage) if isinstance(acc.get("samples"), dict) else None
    return n or acc.get("test_samples")


def _section_rows(sections: dict[str, int], budget: Any) -> list[list[str]]:
    return [[name, fmt_bytes(b), fmt_pct(b / budget if budget else None)]
            for name, b in sorted(sections.items(), key=lambda kv: -kv[1])]


def _symbol_rows(mem: dict[str, Any], n: int = 10) -> list[list[str]]:
    return [[s["name"], s.get("section") or "", fmt_bytes(s["bytes"])] for s in (mem.get("largest_symbols") or [])[:n]]


def _facts(r: dict[str, Any]) -> list[list[str]]:
    """The summary rows: verdicts first, then what was built."""
    target, model = r["target"], r["model"]
    where = target.get("qemu_machine")
    facts: list[list[str]] = []
    be = r.get("bitexact")
    if be and be.get("checked") is False:
        facts.append(["bit-exact vs " + be["reference"], f"not checked: {be.get('reason', 'the reference did not run')}"])
    elif be:
        facts.append(["bit-exact vs " + be["reference"],
                      ("yes" if be["equal"] else f"NO ({be.get('mismatches', '?')} mismatches)")
                      + (f" on {be['inputs']} inputs" if be.get("inputs") is not None else "")])
    acc = _best_accuracy(r)
    facts.append(["accuracy", "not measured" if acc is None else f"{fmt_pct(acc[1])} ({acc[0]})"])
    facts.append(["latency", latency_text(r)])
    flash, ram, honest = deployable(r)
    suffix = " (deployable, without the test harness)" if honest else ""
    facts.append(["flash / RAM", f"{fmt_bytes(flash)} / {fmt_bytes(ram)}{suffix}"])
    verdict = budget_verdict(r)
    if verdict:
        facts.append(["budget", verdict])
    facts += [
        ["target", f"{target['name']} ({target['kind']}, {target['core']}" + (f", QEMU {where}" if where else "") + ")"],
        ["model", model["name"] + (f" ({fmt_path(str(model['path']))})" if model.get("path") else "")],
        ["unit", r["unit"]],
        ["MACs / inference", fmt_int(r["totals"]["macs"])],
        ["created", f"{r['created']} by edgefact {r['edgefact_version']}"],
    ]
    return facts


def _config_rows(r: dict[str, Any]) -> list[list[str]]:
    cfg = r.get("config") or {}
    return [[k, json.dumps(v) if not isinstance(v, str) else v] for k, v in cfg.items()
            if v not in (None, "", {}, [])]


def _tool_rows(r: dict[str, Any]) -> list[list[str]]:
    tools = dict(r.get("tools") or {})
    tools.setdefault("edgefact", r.get("edgefact_version"))
    return [[k, str(v)] for k, v in tools.items() if v]


def _stage_rows(r: dict[str, Any]) -> list[list[str]]:
    rows = [[s["name"], f"{s['seconds']:,.1f}", "cached" if s["cached"] else "ran"] for s in r.get("stages") or []]
    rows.append(["total", f"{sum(s['seconds'] for s in r.get('stages') or []):,.1f}", ""])
    return rows


def _times(v: Any) -> str:
    return "–" if v is None else f"{v:.2f}×"


def _baseline_tables(r: dict[str, Any]) -> list[tuple[list[str], list[list[str]], str]]:
    """The run against its baseline (``edgefact build --baseline DIR``): whole run, then per layer."""
    b = r.get("baseline")
    if not b:
        return []
    x = b["run"]
    out = [(["", "MACs ×", "count ×", "speed-up", "flash ×", "arena ×", "delivered"],
            [["whole run", _times(x.get("mac_ratio")), _times(x.get("count_ratio")), _times(x.get("speedup")),
              _times(x.get("flash_ratio")), _times(x.get("arena_ratio")), fmt_pct(x.get("delivered"), 0)]],
            "lrrrrrr")]
    if b.get("layers"):
        rows = [[str(d["index"]), d["op"], fmt_ops(d["variant_ops"]), _times(d.get("mac_ratio")),
                 _times(d.get("count_ratio")), _times(d.get("flash_ratio")), _times(d.get("arena_ratio")),
                 fmt_pct(d.get("delivered"), 0)] for d in b["layers"]]
        out.append((["#", "baseline op", "now", "MACs ×", "count ×", "weights ×", "act. ×", "delivered"], rows,
                    "rll" + "r" * 5))
    return out


_BASELINE_NOTE = ("Ratios are this run over the baseline; delivered = the measured saving (1 - count ×) over "
                  "the saving the MACs promise (1 - MACs ×).")


def _emulation_note(report: dict[str, Any]) -> str:
    clock = (report.get("target") or {}).get("clock_hz")
    if is_emulated(report):
        note = ("Counts are guest instructions counted exactly by QEMU (-icount), not cycles: a multiply, a "
                "division and a SIMD op each count as one.")
        if clock:
            note += (f" *Estimated ms assume one instruction per cycle at {fmt_clock(clock)}: an estimate "
                     "under emulation, not a measurement.")
        return note
    if report.get("unit") == UNIT_CYCLES:
        return "Counts are CPU cycles read from the DWT cycle counter on the device."
    return "Counts are host wall-clock nanoseconds (a desktop run, not the target)."


# ---------------------------------------------------------------- Markdown
def render_markdown(report: dict[str, Any]) -> str:
    """report.md: summary, per-layer tables, memory vs budget, accuracy, configuration, tools,
    stages, paste-able line. Every table fits 100 columns for usual models."""
    r = derive_fields(report)
    target = r["target"]
    model = r["model"]
    out: list[str] = [f"# edgefact report: {model['name']} on {target['name']}", ""]
    out += ["## Summary", "", format_table(["", ""], _facts(r), "ll"), ""]
    headers, rows, align = _layer_table(r)
    out += ["## Per layer", "", format_table(headers, rows, align), "", _emulation_note(r), ""]
    headers, rows, align = _layer_details(r)
    out += ["## Layer details", "", "The kernel that ran each layer; weight bytes (flash) beside the activation "
            "bytes it touches (input + output + scratch, in the arena).", "", format_table(headers, rows, align), ""]
    if r.get("baseline"):
        b = r["baseline"]
        out += ["## Against the baseline", "", f"Baseline: {b.get('model')} on {b.get('target')} ({b['path']}). "
                + _BASELINE_NOTE, ""]
        for headers, rows, align in _baseline_tables(r):
            out += [format_table(headers, rows, align), ""]
        if not b.get("layers"):
            out += ["The layers do not align with the baseline's: no per-layer comparison.", ""]
    headers, rows, align = _memory_table(r)
    if rows:
        out += ["## Memory", "", format_table(headers, rows, align), ""]
    mem = r.get("memory") or {}
    for key, label, budget in (("flash_sections", "Flash sections", target.get("flash_bytes")),
                               ("ram_sections", "RAM sections", target.get("ram_bytes"))):
        if mem.get(key):
            out += [f"{label}:", "", format_table(["section", "bytes", "of budget"], _section_rows(mem[key], budget), "lrr"), ""]
    if mem.get("largest_symbols"):
        out += ["Largest symbols:", "", format_table(["symbol", "section", "size"], _symbol_rows(mem), "llr"), ""]
    headers, rows, align = _accuracy_table(r)
    if rows:
        out += ["## Accuracy", "", format_table(headers, rows, align), ""]
    if r.get("config"):
        out += ["## Configuration", "", format_table(["option", "value"], _config_rows(r), "ll"), ""]
    out += ["## Tools", "", format_table(["tool", "version"], _tool_rows(r), "ll"), ""]
    if r.get("stages"):
        out += ["## Stages", "", format_table(["stage", "seconds", ""], _stage_rows(r), "lrl"), ""]
    out += ["```", summary_line(r), "```", ""]
    return "\n".join(out)


def render_terminal(report: dict[str, Any]) -> str:
    """A compact summary for the terminal after a build: per-layer table, memory, accuracy, and
    last the paste-able :func:`summary_line` (no Markdown fences around it)."""
    r = derive_fields(report)
    out = [f"{r['model']['name']} on {r['target']['name']} ({r['unit']})", ""]
    headers, rows, align = _layer_table(r)
    out += [format_table(headers, rows, align), _emulation_note(r), ""]
    headers, rows, align = _memory_table(r)
    rows = [row for row in rows if row[0].split(" ")[0] in ("flash", "RAM")]
    if rows:
        out += [format_table(headers, rows, align), ""]
    headers, rows, align = _accuracy_table(r)
    if rows:
        out += ["accuracy: " + ", ".join(f"{row[0]} {row[1]}" for row in rows), ""]
    be = r.get("bitexact")
    if be and be.get("checked") is False:
        out += [f"bit-exactness not checked: {be.get('reason', 'the reference did not run')}", ""]
    elif be:
        out += [f"bit-exact vs {be['reference']}: " + ("yes" if be["equal"] else f"NO ({be.get('mismatches')} mismatches)"), ""]
    verdict = budget_verdict(r)
    if verdict:
        out += [f"budget: {verdict}", ""]
    out.append(summary_line(r))
    return "\n".join(out)


# ---------------------------------------------------------------- plots
#: one colour per op family, the same in every plot
_OP_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b2", "#937860", "#da8bc3", "#8c8c8c",
               "#ccb974", "#64b5cd")


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _thousands(ax_axis: Any) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax_axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax_axis.set_major_locator(MaxNLocator(6))


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    _plt().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _layer_labels(r: dict[str, Any]) -> list[str]:
    return [f"{layer['index']}:{layer['op'].lower()}" for layer in r["layers"]]


def _op_colours(r: dict[str, Any]) -> dict[str, str]:
    ops = list(dict.fromkeys(layer["op"] for layer in r["layers"]))
    return {op: _OP_COLOURS[i % len(_OP_COLOURS)] for i, op in enumerate(ops)}


def plot_macs_vs_count(r: dict[str, Any]) -> str | None:
    """Per layer: the measured count on ONE axis, with the MAC-proportional expectation overlaid
    (what each layer would take if the model's count were spread over layers by MACs). Base64 PNG."""
    layers = r["layers"]
    if not layers or all(layer.get("count") is None for layer in layers):
        return None
    plt = _plt()
    import numpy as np

    counts = [layer.get("count") or 0 for layer in layers]
    total_macs = sum(layer["macs"] for layer in layers)
    total_count = sum(counts)
    expected = [total_count * layer["macs"] / total_macs if total_macs else 0 for layer in layers]
    colours = _op_colours(r)
    x = np.arange(len(layers))
    fig, ax = plt.subplots(figsize=(max(7, 0.55 * len(layers) + 3), 4.2))
    ax.bar(x, counts, 0.7, color=[colours[layer["op"]] for layer in layers])
    ax.scatter(x, expected, marker="_", s=500, linewidths=2.5, color="k", zorder=3,
               label="expected if proportional to MACs")
    ax.set_ylabel(f"{r['unit']} per inference")
    _thousands(ax.yaxis)
    ax.set_xticks(x, _layer_labels(r), rotation=60, ha="right", fontsize=9)
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=op) for op, c in colours.items()] + [ax.get_legend_handles_labels()[0][0]]
    ax.legend(handles=handles, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"Per layer: measured {count_name(r['unit'])} vs the MAC-proportional share")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def plot_macs_per_count(r: dict[str, Any]) -> str | None:
    """MACs per count per layer, coloured by op type, with the whole model's ratio."""
    layers = r["layers"]
    vals = [layer.get("macs_per_count") for layer in layers]
    if not layers or all(v is None for v in vals):
        return None
    plt = _plt()
    colours = _op_colours(r)
    fig, ax = plt.subplots(figsize=(max(7, 0.55 * len(layers) + 3), 3.8))
    ax.bar(_layer_labels(r), [v or 0 for v in vals], color=[colours[layer["op"]] for layer in layers])
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=op) for op, c in colours.items()]
    total = r["totals"].get("count")
    if total:
        line = ax.axhline(r["totals"]["macs"] / total, color="k", ls="--", lw=1, label="whole model")
        handles.append(line)
    ax.legend(handles=handles, fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_ylabel(per_count_name(r["unit"]))
    ax.tick_params(axis="x", rotation=60, labelsize=9)
    for lab in ax.get_xticklabels():
        lab.set_horizontalalignment("right")
    ax.set_title(f"{per_count_name(r['unit'])} per layer (higher = better use of the core)")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _memory_bars(r: dict[str, Any]) -> list[tuple[str, dict[str, int], Any]]:
    """(label, {component: bytes}, budget) for flash and RAM: by component with a footprint
    (deployable parts first, the harness last), else by ELF section."""
    mem = r.get("memory") or {}
    t = r["totals"]
    target = r["target"]
    fp = r.get("footprint")
    bars = []
    if fp:
        flash = {_FLASH_LABELS[k]: v for k, v in fp["flash"].items() if k in _FLASH_LABELS}
        ram: dict[str, int] = {_RAM_LABELS["arena"]: fp["ram"].get("arena", 0)}
        peak = fp.get("peak_stack_bytes")
        if peak is not None:
            ram["stack (measured peak)"] = min(peak, fp["ram"].get("stack", 0))
            ram["stack reserved beyond the peak"] = max(0, fp["ram"].get("stack", 0) - peak)
        else:
            ram["stack (reserved)"] = fp["ram"].get("stack", 0)
        ram[_RAM_LABELS["other"]] = fp["ram"].get("other", 0)
        ram[_RAM_LABELS["harness"]] = fp["ram"].get("harness", 0)
        bars = [("flash", flash, target.get("flash_bytes")), ("RAM", ram, target.get("ram_bytes"))]
    else:
        for label, key, total_key, budget in (("flash", "flash_sections", "flash_bytes", target.get("flash_bytes")),
                                              ("RAM", "ram_sections", "ram_bytes", target.get("ram_bytes"))):
            sections = dict(mem.get(key) or {})
            if not sections and t.get(total_key) is not None:
                sections = {label: t[total_key]}
            if sections:
                bars.append((label, dict(sorted(sections.items(), key=lambda kv: -kv[1])), budget))
    return bars


def plot_memory(r: dict[str, Any]) -> str | None:
    """Flash and RAM stacked by component, with the board budget marked."""
    bars = _memory_bars(r)
    if not bars:
        return None
    plt = _plt()
    fig, axes = plt.subplots(len(bars), 1, figsize=(8, 1.9 * len(bars) + 0.6), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, (label, parts, budget) in zip(axes[:, 0], bars, strict=True):
        left = 0.0
        for i, (name, size) in enumerate(parts.items()):
            if not size:
                continue
            ax.barh([label], [size / 1024], left=left, color=cmap(i % 10), label=f"{name}: {fmt_bytes(size)}",
                    hatch="//" if "not deployed" in name or "beyond" in name else None, edgecolor="white")
            left += size / 1024
        used = left * 1024
        if budget:
            ax.axvline(budget / 1024, color="r", lw=2, label=f"budget {fmt_bytes(budget)}")
            ax.set_xlim(0, max(budget, used) / 1024 * 1.05)
            ax.set_title(f"{label}: {fmt_bytes(used)} in the ELF, budget {fmt_bytes(budget)} "
                         "(hatched: not deployed)", fontsize=10)
        else:
            ax.set_title(f"{label}: {fmt_bytes(used)} (no budget known)", fontsize=10)
        ax.set_xlabel("KiB")
        _thousands(ax.xaxis)
        ax.legend(fontsize=8.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return _png(fig)


def plot_accuracy(r: dict[str, Any]) -> str | None:
    """Accuracy per stage from 0 to 100 %, with 95 % intervals where the sample size is known."""
    acc = r.get("accuracy") or {}
    stages = [s for s in ACCURACY_STAGES if acc.get(s) is not None]
    if not stages:
        return None
    plt = _plt()
    vals = [100 * acc[s] for s in stages]
    lows, highs, labels = [], [], []
    for s, v in zip(stages, vals, strict=True):
        n = _samples(acc, s)
        lo, hi = wilson_interval(acc[s], n) if n else (acc[s], acc[s])
        lows.append(v - 100 * lo)
        highs.append(100 * hi - v)
        labels.append(f"{s}\n(n={n:,})" if n else s)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bars = ax.bar(labels, vals, color="#8172b2", yerr=[lows, highs], capsize=6, ecolor="k")
    for b, v in zip(bars, vals, strict=True):
        ax.text(b.get_x() + b.get_width() / 2, 2, f"{v:.1f}%", ha="center", va="bottom", fontsize=10,
                color="white", fontweight="bold")
    ax.set_ylim(0, 100)
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title("Accuracy at each stage (error bars: 95% interval from the sample size)", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


# ---------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f2f2f2}td.r{text-align:right;font-variant-numeric:tabular-nums}
code,pre{background:#f6f6f6;padding:2px 4px}pre{white-space:pre-wrap}img{max-width:100%;display:block;margin:1em 0}
.note{color:#555;font-size:.9em}.ok{color:#1a7f37;font-weight:bold}.bad{color:#c00;font-weight:bold}
nav a{margin-right:1em}section{margin-bottom:1.5em}
"""

#: the sections of report.html, in order (id, heading); the browser test checks every one
HTML_SECTIONS = (("summary", "Summary"), ("layers", "Per layer"), ("memory", "Memory"), ("accuracy", "Accuracy"),
                 ("configuration", "Configuration"), ("tools", "Tools"), ("stages", "Stages"))


def html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """A table; all-empty ``headers`` give a table without a header row (a list of facts)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    head_row = f"<tr>{head}</tr>" if any(headers) else ""
    body = "".join(
        "<tr>" + "".join(f'<td class="{a}">{html.escape(c)}</td>' for c, a in zip(row, align, strict=True)) + "</tr>"
        for row in rows
    )
    return f"<table>{head_row}{body}</table>"


_html_table = html_table


def render_html(report: dict[str, Any]) -> str:
    """report.html: one self-contained page (inline CSS, plots as data: URIs, no external requests)
    with everything report.md has, summary and bit-exact verdict first."""
    r = derive_fields(report)
    esc = html.escape
    title = f"edgefact report: {r['model']['name']} on {r['target']['name']}"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{esc(title)}</h1>",
             "<nav>" + "".join(f"<a href='#{i}'>{esc(h)}</a>" for i, h in HTML_SECTIONS) + "</nav>"]

    def img(b64: str | None, alt: str) -> None:
        if b64:
            parts.append(f'<img alt="{esc(alt)}" src="data:image/png;base64,{b64}">')

    opened: list[str] = []

    def section(sid: str) -> None:
        if opened:
            parts.append("</section>")
        opened.append(sid)
        parts.append(f"<section id='{sid}'><h2>{esc(dict(HTML_SECTIONS)[sid])}</h2>")

    section("summary")
    be = r.get("bitexact")
    if be and be.get("checked") is False:
        parts.append(f"<p class='bad'>bit-exactness not checked: {esc(be.get('reason', 'the reference did not run'))}"
                     "</p>")
    elif be:
        cls = "ok" if be["equal"] else "bad"
        verdict = "bit-exact" if be["equal"] else f"NOT bit-exact ({be.get('mismatches', '?')} mismatches)"
        parts.append(f"<p class='{cls}'>{esc(verdict)} vs {esc(be['reference'])}"
                     + (f" on {be['inputs']} inputs" if be.get("inputs") is not None else "") + "</p>")
    parts += [html_table(["", ""], _facts(r), "ll"), f"<pre>{esc(summary_line(r))}</pre>"]
    section("layers")
    headers, rows, align = _layer_table(r)
    parts += [html_table(headers, rows, align), f"<p class='note'>{esc(_emulation_note(r))}</p>"]
    img(plot_macs_vs_count(r), "measured count per layer with the MAC-proportional expectation")
    img(plot_macs_per_count(r), "MACs per count per layer, by op type")
    headers, rows, align = _layer_details(r, with_name=True)
    parts += ["<h3>Layer details</h3>", "<p class='note'>The kernel that ran each layer; weight bytes (flash) "
              "beside the activation bytes it touches (input + output + scratch, in the arena).</p>",
              html_table(headers, rows, align)]
    if r.get("baseline"):
        b = r["baseline"]
        parts += ["<h3>Against the baseline</h3>",
                  f"<p class='note'>Baseline: {esc(str(b.get('model')))} on {esc(str(b.get('target')))} "
                  f"({esc(b['path'])}). {esc(_BASELINE_NOTE)}</p>"]
        parts += [html_table(h, rows, a) for h, rows, a in _baseline_tables(r)]
    section("memory")
    headers, rows, align = _memory_table(r)
    if rows:
        parts.append(html_table(headers, rows, align))
    img(plot_memory(r), "flash and RAM by component against the budget")
    mem = r.get("memory") or {}
    target = r["target"]
    for key, label, budget in (("flash_sections", "Flash sections", target.get("flash_bytes")),
                               ("ram_sections", "RAM sections", target.get("ram_bytes"))):
        if mem.get(key):
            parts += [f"<h3>{label}</h3>", html_table(["section", "bytes", "of budget"], _section_rows(mem[key], budget), "lrr")]
    if mem.get("largest_symbols"):
        parts += ["<h3>Largest symbols</h3>", html_table(["symbol", "section", "size"], _symbol_rows(mem), "llr")]
    section("accuracy")
    headers, rows, align = _accuracy_table(r)
    if rows:
        parts.append(html_table(headers, rows, align))
        img(plot_accuracy(r), "accuracy per stage with intervals")
    else:
        parts.append("<p class='note'>accuracy not measured</p>")
    section("configuration")
    cfg_rows = _config_rows(r)
    parts.append(html_table(["option", "value"], cfg_rows, "ll") if cfg_rows
                 else "<p class='note'>no build configuration (a deploy of a .tflite)</p>")
    section("tools")
    parts.append(html_table(["tool", "version"], _tool_rows(r), "ll"))
    section("stages")
    if r.get("stages"):
        parts.append(html_table(["stage", "seconds", ""], _stage_rows(r), "lrl"))
    else:
        parts.append("<p class='note'>no stage timings (a deploy outside edgefact build)</p>")
    parts.append("</section>")
    parts.append(f"<p class='note'>{esc(r['schema'])} · created {esc(r['created'])} by edgefact "
                 f"{esc(r['edgefact_version'])}</p></body></html>")
    return "\n".join(parts)


def write_reports(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Validate ``report`` (after filling derived fields) and write report.json/.md/.html, all three or none."""
    r = derive_fields(report)
    validate_report(r)
    # rendered first, then written together: never a report.json beside another build's report.html
    texts = {"report.json": json.dumps(r, indent=2, sort_keys=False) + "\n", "report.md": render_markdown(r),
             "report.html": render_html(r)}
    return write_files_atomically(Path(out_dir), texts)
