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

from edgefact.fsutil import atomic_write_text
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


def summary_line(report: dict[str, Any]) -> str:
    """One paste-able line: target, accuracy, latency, flash, RAM."""
    target = report.get("target") or {}
    acc = _best_accuracy(report)
    acc_text = "not measured" if acc is None else f"{100 * acc[1]:.1f}% ({acc[0]})"
    totals = report.get("totals") or {}
    model = (report.get("model") or {}).get("name", "?")
    return (
        f"edgefact {model} on {target.get('name', '?')}: accuracy {acc_text} · latency {latency_text(report)}"
        f" · flash {fmt_bytes(totals.get('flash_bytes'))} · RAM {fmt_bytes(totals.get('ram_bytes'))}"
    )


# ---------------------------------------------------------------- tables shared by md and html
def _layer_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    unit = report.get("unit", "")
    clock = (report.get("target") or {}).get("clock_hz")
    show_est = bool(clock) and unit in (UNIT_INSTRUCTIONS, UNIT_CYCLES)
    headers = ["#", "op", "input", "output", "MACs", "params", "weight B", count_name(unit), "share",
               per_count_name(unit)]
    if show_est:
        headers.append(f"est. ms @{fmt_clock(clock)}" + ("*" if is_emulated(report) else ""))
    rows: list[list[str]] = []
    for layer in report.get("layers", []):
        row = [
            str(layer["index"]),
            layer["op"],
            " + ".join(fmt_shape(s) for s in layer.get("input_shapes") or []) or "–",
            fmt_shape(layer.get("output_shape")),
            fmt_int(layer.get("macs")),
            fmt_int(layer.get("params")),
            fmt_int(layer.get("weight_bytes")),
            fmt_int(layer.get("count")),
            fmt_pct(layer.get("share")),
            fmt_float(layer.get("macs_per_count")),
        ]
        if show_est:
            row.append(fmt_float(layer.get("est_ms")))
        rows.append(row)
    t = report.get("totals") or {}
    layer_sum = sum(layer.get("count") or 0 for layer in report.get("layers", []))
    total_count = t.get("count")
    ratio = t["macs"] / total_count if total_count else None
    total = ["total", "", "", "", fmt_int(t.get("macs")), fmt_int(t.get("params")), fmt_int(t.get("weight_bytes")),
             fmt_int(total_count), fmt_pct(layer_sum / total_count if total_count else None), fmt_float(ratio)]
    if show_est:
        total.append(fmt_float(t.get("est_ms")))
    rows.append(total)
    align = "rlll" + "r" * (len(headers) - 4)
    return headers, rows, align


def _memory_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    t = report.get("totals") or {}
    target = report.get("target") or {}
    mem = report.get("memory") or {}
    rows: list[list[str]] = []

    def add(name: str, used: Any, budget: Any) -> None:
        if used is None:
            return
        share = used / budget if (budget and used is not None) else None
        rows.append([name, fmt_bytes(used), fmt_bytes(budget), fmt_pct(share)])

    add("flash", t.get("flash_bytes"), target.get("flash_bytes"))
    add("RAM", t.get("ram_bytes"), target.get("ram_bytes"))
    add("  activation arena (ours)", t.get("arena_bytes"), target.get("ram_bytes"))
    add("  TFLM arena (same model)", mem.get("tflm_arena_bytes"), target.get("ram_bytes"))
    add("  peak stack (measured)", t.get("peak_stack_bytes"), target.get("ram_bytes"))
    add("weights", t.get("weight_bytes"), target.get("flash_bytes"))
    return ["memory", "used", "budget", "of budget"], rows, "lrrr"


def _accuracy_table(report: dict[str, Any]) -> tuple[list[str], list[list[str]], str]:
    acc = report.get("accuracy") or {}
    rows = []
    for stage in ACCURACY_STAGES:
        if acc.get(stage) is None:
            continue
        note = ""
        if stage == "device" and acc.get("device_samples"):
            note = f"{acc['device_samples']} test samples"
            if acc.get("reference_on_device_samples") is not None:
                note += f"; TFLite reference on the same samples {fmt_pct(acc['reference_on_device_samples'])}"
            if acc.get("device_agrees_with_reference") is not None:
                note += ", predictions " + ("equal" if acc["device_agrees_with_reference"] else "DIFFER from")
                note += " the TFLite reference"
        rows.append([stage, fmt_pct(acc[stage]), note])
    return ["stage", "top-1 accuracy", "note"], rows, "lrl"


def _section_rows(sections: dict[str, int], budget: Any) -> list[list[str]]:
    return [[name, fmt_bytes(b), fmt_pct(b / budget if budget else None)]
            for name, b in sorted(sections.items(), key=lambda kv: -kv[1])]


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
    """report.md: summary, per-layer table, memory vs budget, accuracy, stages, paste-able line."""
    r = derive_fields(report)
    target = r["target"]
    model = r["model"]
    out: list[str] = [f"# edgefact report: {model['name']} on {target['name']}", ""]
    where = target.get("qemu_machine")
    facts = [
        ["target", f"{target['name']} ({target['kind']}, {target['core']}"
                   + (f", QEMU {where}" if where else "") + ")"],
        ["model", model["name"] + (f" ({model['path']})" if model.get("path") else "")],
        ["unit", r["unit"]],
        ["MACs / inference", fmt_int(r["totals"]["macs"])],
        ["latency", latency_text(r)],
        ["created", f"{r['created']} by edgefact {r['edgefact_version']}"],
    ]
    be = r.get("bitexact")
    if be:
        facts.append(["bit-exact vs " + be["reference"],
                      ("yes" if be["equal"] else f"NO ({be.get('mismatches', '?')} mismatches)")
                      + (f" on {be['inputs']} inputs" if be.get("inputs") is not None else "")])
    out += ["## Summary", "", format_table(["", ""], facts, "ll"), ""]
    headers, rows, align = _layer_table(r)
    out += ["## Per layer", "", format_table(headers, rows, align), "", _emulation_note(r), ""]
    headers, rows, align = _memory_table(r)
    if rows:
        out += ["## Memory", "", format_table(headers, rows, align), ""]
    mem = r.get("memory") or {}
    for key, label, budget in (("flash_sections", "Flash sections", target.get("flash_bytes")),
                               ("ram_sections", "RAM sections", target.get("ram_bytes"))):
        if mem.get(key):
            out += [f"{label}:", "", format_table(["section", "bytes", "of budget"], _section_rows(mem[key], budget), "lrr"), ""]
    if mem.get("largest_symbols"):
        syms = [[s["name"], s.get("section") or "", fmt_bytes(s["bytes"])] for s in mem["largest_symbols"][:10]]
        out += ["Largest symbols:", "", format_table(["symbol", "section", "size"], syms, "llr"), ""]
    headers, rows, align = _accuracy_table(r)
    if rows:
        out += ["## Accuracy", "", format_table(headers, rows, align), ""]
    if r.get("stages"):
        srows = [[s["name"], f"{s['seconds']:.1f}", "cached" if s["cached"] else "ran"] for s in r["stages"]]
        srows.append(["total", f"{sum(s['seconds'] for s in r['stages']):.1f}", ""])
        out += ["## Stages", "", format_table(["stage", "seconds", ""], srows, "lrl"), ""]
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
    rows = [row for row in rows if row[0] in ("flash", "RAM")]
    if rows:
        out += [format_table(headers, rows, align), ""]
    headers, rows, align = _accuracy_table(r)
    if rows:
        out += ["accuracy: " + ", ".join(f"{row[0]} {row[1]}" for row in rows), ""]
    be = r.get("bitexact")
    if be:
        out += [f"bit-exact vs {be['reference']}: " + ("yes" if be["equal"] else f"NO ({be.get('mismatches')} mismatches)"), ""]
    out.append(summary_line(r))
    return "\n".join(out)


# ---------------------------------------------------------------- plots
def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _layer_labels(r: dict[str, Any]) -> list[str]:
    return [f"{layer['index']}:{layer['op'].lower()}" for layer in r["layers"]]


def plot_macs_vs_count(r: dict[str, Any]) -> str | None:
    """Per layer: desktop MACs next to the measured count (two y axes). Base64 PNG."""
    layers = r["layers"]
    if not layers or all(layer.get("count") is None for layer in layers):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(layers))
    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(layers) + 2), 3.8))
    ax.bar(x - 0.2, [layer["macs"] for layer in layers], 0.4, color="#4c72b0", label="MACs (desktop)")
    ax.set_ylabel("MACs")
    ax2 = ax.twinx()
    ax2.bar(x + 0.2, [layer.get("count") or 0 for layer in layers], 0.4, color="#dd8452",
            label=f"{count_name(r['unit'])} (measured)")
    ax2.set_ylabel(r["unit"])
    ax.set_xticks(x, _layer_labels(r), rotation=60, ha="right", fontsize=8)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], loc="upper right", fontsize=8)
    ax.set_title("Per layer: MACs vs measured " + count_name(r["unit"]))
    return _png(fig)


def plot_macs_per_count(r: dict[str, Any]) -> str | None:
    layers = r["layers"]
    vals = [layer.get("macs_per_count") for layer in layers]
    if not layers or all(v is None for v in vals):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(layers) + 2), 3.5))
    ax.bar(_layer_labels(r), [v or 0 for v in vals], color="#55a868")
    total = r["totals"].get("count")
    if total:
        ax.axhline(r["totals"]["macs"] / total, color="k", ls="--", lw=1, label="whole model")
        ax.legend(fontsize=8)
    ax.set_ylabel(per_count_name(r["unit"]))
    ax.tick_params(axis="x", rotation=60, labelsize=8)
    for lab in ax.get_xticklabels():
        lab.set_horizontalalignment("right")
    ax.set_title(f"{per_count_name(r['unit'])} per layer (higher = better use of the core)")
    return _png(fig)


def plot_memory(r: dict[str, Any]) -> str | None:
    """Flash and RAM as stacked section bars, with the board budget marked."""
    mem = r.get("memory") or {}
    t = r["totals"]
    target = r["target"]
    bars = []
    for label, key, total_key, budget in (("flash", "flash_sections", "flash_bytes", target.get("flash_bytes")),
                                          ("RAM", "ram_sections", "ram_bytes", target.get("ram_bytes"))):
        sections = dict(mem.get(key) or {})
        if not sections and t.get(total_key) is not None:
            sections = {label: t[total_key]}
        if sections:
            bars.append((label, sections, budget, t.get(total_key)))
    if not bars:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(bars), 1, figsize=(7, 1.6 * len(bars) + 0.6), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax, (label, sections, budget, total) in zip(axes[:, 0], bars, strict=True):
        left = 0.0
        for i, (name, size) in enumerate(sorted(sections.items(), key=lambda kv: -kv[1])):
            ax.barh([label], [size / 1024], left=left, color=cmap(i % 10), label=f"{name} {fmt_bytes(size)}")
            left += size / 1024
        used = max(left, (total or 0) / 1024)  # the total may include bytes no section names
        if budget:
            ax.axvline(budget / 1024, color="r", lw=2)
            ax.set_xlim(0, max(budget / 1024, used) * 1.05)
            ax.set_title(f"{label}: {fmt_bytes(used * 1024)} of {fmt_bytes(budget)} budget "
                         f"({100 * used * 1024 / budget:.1f}%, red line = budget)", fontsize=9)
        else:
            ax.set_title(f"{label}: {fmt_bytes(used * 1024)} (no budget known)", fontsize=9)
        ax.set_xlabel("KiB")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return _png(fig)


def plot_accuracy(r: dict[str, Any]) -> str | None:
    acc = r.get("accuracy") or {}
    stages = [s for s in ACCURACY_STAGES if acc.get(s) is not None]
    if not stages:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    vals = [100 * acc[s] for s in stages]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    bars = ax.bar(stages, vals, color="#8172b2")
    for b, v in zip(bars, vals, strict=True):
        ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.1f}%", ha="center", va="bottom", fontsize=8)
    low = min(vals)
    ax.set_ylim(max(0.0, low - 10), min(100.0, max(vals) + 5))
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title("Accuracy at each stage")
    return _png(fig)


# ---------------------------------------------------------------- HTML
_CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}
th{background:#f2f2f2}td.r{text-align:right;font-variant-numeric:tabular-nums}
code,pre{background:#f6f6f6;padding:2px 4px}img{max-width:100%;display:block;margin:1em 0}
.note{color:#555;font-size:.9em}
"""


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f'<td class="{a}">{html.escape(c)}</td>' for c, a in zip(row, align, strict=True)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: dict[str, Any]) -> str:
    """report.html: one self-contained page (inline CSS, plots as data: URIs, no external requests)."""
    r = derive_fields(report)
    esc = html.escape
    title = f"edgefact report: {r['model']['name']} on {r['target']['name']}"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{esc(title)}</h1>",
             f"<pre>{esc(summary_line(r))}</pre>"]

    def img(b64: str | None, alt: str) -> None:
        if b64:
            parts.append(f'<img alt="{esc(alt)}" src="data:image/png;base64,{b64}">')

    headers, rows, align = _layer_table(r)
    parts += ["<h2>Per layer</h2>", _html_table(headers, rows, align), f"<p class='note'>{esc(_emulation_note(r))}</p>"]
    img(plot_macs_vs_count(r), "MACs vs measured count per layer")
    img(plot_macs_per_count(r), "MACs per count per layer")
    headers, rows, align = _memory_table(r)
    parts.append("<h2>Memory</h2>")
    if rows:
        parts.append(_html_table(headers, rows, align))
    img(plot_memory(r), "flash and RAM against the budget")
    headers, rows, align = _accuracy_table(r)
    if rows:
        parts += ["<h2>Accuracy</h2>", _html_table(headers, rows, align)]
        img(plot_accuracy(r), "accuracy per stage")
    if r.get("stages"):
        srows = [[s["name"], f"{s['seconds']:.1f}", "cached" if s["cached"] else "ran"] for s in r["stages"]]
        parts += ["<h2>Stages</h2>", _html_table(["stage", "seconds", ""], srows, "lrl")]
    parts.append(f"<p class='note'>{esc(r['schema'])} · created {esc(r['created'])} by edgefact "
                 f"{esc(r['edgefact_version'])}</p></body></html>")
    return "\n".join(parts)


def write_reports(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Validate ``report`` (after filling derived fields) and write report.json/.md/.html atomically."""
    r = derive_fields(report)
    validate_report(r)
    out = Path(out_dir)
    paths = [
        atomic_write_text(out / "report.json", json.dumps(r, indent=2, sort_keys=False) + "\n"),
        atomic_write_text(out / "report.md", render_markdown(r)),
        atomic_write_text(out / "report.html", render_html(r)),
    ]
    return paths
