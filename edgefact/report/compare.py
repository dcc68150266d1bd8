"""Side-by-side comparison of build directories: which variant, on which core.

The first run is the baseline: every other run gets its speed-up, flash and RAM ratios against it,
and -- when it is a derived variant (factorized, clustered, another core) -- the delivered share of
its MAC saving, per run and per layer (:mod:`edgefact.report.derived`).

A variant is on the Pareto front when no other variant is at least as accurate *and* at least as
cheap (fewer instructions, or less flash) while being strictly better in one of the two. Without
accuracy the fronts are those of the costs alone: instructions vs flash and instructions vs RAM.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.fsutil import atomic_write_bytes, atomic_write_text
from edgefact.report.derived import LayerDiff, Ratios, layer_diffs, run_ratios
from edgefact.report.render import (
    ACCURACY_STAGES,
    count_name,
    fmt_bytes,
    fmt_int,
    fmt_ops,
    fmt_pct,
    format_table,
    html_table,
)
from edgefact.report.schema import load_report


@dataclass
class Variant:
    """The figures of one build directory that the comparison needs (flash/RAM: deployable when
    the report has them, else the ELF's)."""

    label: str
    path: Path
    target: str
    model: str
    unit: str
    accuracy: float | None
    accuracy_stage: str | None
    macs: int
    count: float | None
    flash: int | None
    ram: int | None
    params: int | None
    report: dict[str, Any]


def variant_from_report(report: dict[str, Any], label: str, path: Path) -> Variant:
    acc = report.get("accuracy") or {}
    stage = next((s for s in reversed(ACCURACY_STAGES) if acc.get(s) is not None), None)
    t = report["totals"]
    return Variant(label=label, path=path, target=report["target"]["name"], model=report["model"]["name"],
                   unit=report["unit"], accuracy=acc.get(stage) if stage else None, accuracy_stage=stage,
                   macs=t["macs"], count=t.get("count"), flash=t.get("deployable_flash_bytes", t.get("flash_bytes")),
                   ram=t.get("deployable_ram_bytes", t.get("ram_bytes")), params=t.get("params"), report=report)


def _labels(dirs: Sequence[Path]) -> list[str]:
    """Directory names, or longer path tails where names repeat."""
    names = [d.name or str(d) for d in dirs]
    if len(set(names)) == len(names):
        return names
    return [str(d) for d in dirs]


def load_variants(dirs: Sequence[str | Path]) -> list[Variant]:
    if not dirs:
        raise EdgefactError("compare needs at least one build directory: edgefact compare DIR1 DIR2 ...")
    paths = [Path(d) for d in dirs]
    reports = [load_report(p) for p in paths]
    return [variant_from_report(r, lab, p) for r, lab, p in zip(reports, _labels(paths), paths, strict=True)]


def default_out_dir(dirs: Sequence[Path]) -> Path:
    """Next to the runs: ``<their common parent>/compare``."""
    import os

    parents = [str(Path(d).resolve().parent) for d in dirs]
    return Path(os.path.commonpath(parents)) / "compare"


def pareto_front(points: Sequence[tuple[float | None, float | None]]) -> list[int]:
    """Indices of the non-dominated points, for cost ``x`` (lower is better) and value ``y`` (higher).

    Points with an unknown coordinate take no part. Equal points are all kept. Returned in order of
    increasing cost.
    """
    known = [(i, x, y) for i, (x, y) in enumerate(points) if x is not None and y is not None]
    front = []
    for i, x, y in known:
        dominated = any(
            (xj <= x and yj >= y) and (xj < x or yj > y) for j, xj, yj in known if j != i
        )
        if not dominated:
            front.append((x, -y, i))
    return [i for _, _, i in sorted(front)]


def cost_front(points: Sequence[tuple[float | None, float | None]]) -> list[int]:
    """The front of two costs, both lower-is-better (e.g. instructions vs flash)."""
    return pareto_front([(x, None if y is None else -y) for x, y in points])


def baseline_ratios(variants: Sequence[Variant]) -> list[Ratios]:
    """Each run against the first (the baseline's own ratios are all 1)."""
    base = variants[0].report
    return [run_ratios(v.report, base) for v in variants]


def _x(r: float | None, digits: int = 2) -> str:
    return "–" if r is None else f"{r:.{digits}f}×"


def comparison_table(variants: Sequence[Variant]) -> str:
    """The terminal table: accuracy, MACs, count, flash, RAM; ``*`` marks the fronts; then the
    speed-up, flash and RAM ratios against the first run (the baseline)."""
    headers, rows, align = _table(variants)
    return format_table(headers, rows, align)


def _fronts(variants: Sequence[Variant]) -> tuple[set[int], set[int], bool]:
    """(front on count, front on flash, whether they are accuracy fronts)."""
    if any(v.accuracy is not None for v in variants):
        return (set(pareto_front([(v.count, v.accuracy) for v in variants])),
                set(pareto_front([(v.flash, v.accuracy) for v in variants])), True)
    return (set(cost_front([(v.count, v.flash) for v in variants])),
            set(cost_front([(v.count, v.ram) for v in variants])), False)


def _table(variants: Sequence[Variant]) -> tuple[list[str], list[list[str]], str]:
    front_a, front_b, with_acc = _fronts(variants)
    units = {v.unit for v in variants}
    count_col = count_name(units.pop()) if len(units) == 1 else "count (mixed units!)"
    short = count_col.split(" ")[0]
    rat = baseline_ratios(variants)
    rows = []
    for i, v in enumerate(variants):
        r = rat[i]
        rows.append([
            v.label, v.target,
            "–" if v.accuracy is None else f"{100 * v.accuracy:.1f}% ({v.accuracy_stage})",
            fmt_int(v.macs), fmt_int(v.count), fmt_bytes(v.flash), fmt_bytes(v.ram),
            "*" if i in front_a else "", "*" if i in front_b else "",
            _x(r.speedup), _x(r.flash_ratio), _x(ratio_of(v.ram, variants[0].ram)),
            "base" if i == 0 else fmt_pct(r.delivered, 0),
        ])
    fronts = ([f"front (acc/{short})", "front (acc/flash)"] if with_acc
              else [f"front ({short}/flash)", f"front ({short}/RAM)"])
    headers = ["variant", "target", "accuracy", "MACs", count_col, "flash", "RAM", *fronts,
               "speed-up", "flash ×", "RAM ×", "delivered"]
    return headers, rows, "llrrrrrll" + "rrrr"


def ratio_of(new: Any, old: Any) -> float | None:
    from edgefact.report.derived import ratio

    return ratio(new, old)


def mixed_warning(variants: Sequence[Variant]) -> str | None:
    """Why the runs may not be comparable: units, targets, models or data sets that differ."""
    units = sorted({v.unit for v in variants})
    targets = sorted({v.target for v in variants})
    notes = []
    if len(units) > 1:
        notes.append(f"the reports count in different units ({', '.join(units)}): their counts are not comparable")
    if len(targets) > 1:
        notes.append(f"the reports are for different targets ({', '.join(targets)})")
    datasets = sorted({str((v.report.get("config") or {}).get("dataset")) for v in variants
                       if (v.report.get("config") or {}).get("dataset")})
    if len(datasets) > 1:
        notes.append(f"the runs use different data sets ({', '.join(datasets)}): their accuracies are not comparable")
    models = {(json.dumps((v.report.get("model") or {}).get("input", {}).get("shape")),
               json.dumps((v.report.get("model") or {}).get("output", {}).get("shape")),
               (v.report.get("config") or {}).get("model", "")) for v in variants}
    if len(models) > 1:
        notes.append("the runs are of different models (input/output shapes or --model differ): "
                     "ratios against the baseline compare different tasks")
    return ("warning: " + "; ".join(notes)) if notes else None


def diffs(variants: Sequence[Variant]) -> dict[str, list[LayerDiff] | None]:
    """Per-layer diff of every run against the baseline (None where the layers do not align)."""
    base = variants[0].report
    return {v.label: layer_diffs(v.report, base) for v in variants[1:]}


def layer_diff_table(d: Sequence[LayerDiff]) -> tuple[list[str], list[list[str]], str]:
    headers = ["#", "baseline op", "variant ops", "MACs ×", "count ×", "speed-up", "weights ×", "act. ×", "delivered"]
    rows = [[str(x.index), x.op, fmt_ops(x.variant_ops), _x(x.ratios.mac_ratio), _x(x.ratios.count_ratio),
             _x(x.ratios.speedup), _x(x.ratios.flash_ratio), _x(x.ratios.arena_ratio),
             fmt_pct(x.ratios.delivered, 0)] for x in d]
    return headers, rows, "rll" + "r" * 6


def comparison_data(variants: Sequence[Variant]) -> dict[str, Any]:
    """The JSON export: every run with its figures and ratios, and the per-layer diffs."""
    rat = baseline_ratios(variants)
    front_a, front_b, with_acc = _fronts(variants)
    runs = []
    for i, (v, r) in enumerate(zip(variants, rat, strict=True)):
        runs.append({"label": v.label, "path": str(v.path), "target": v.target, "model": v.model, "unit": v.unit,
                     "accuracy": v.accuracy, "accuracy_stage": v.accuracy_stage, "macs": v.macs, "count": v.count,
                     "flash_bytes": v.flash, "ram_bytes": v.ram, "params": v.params,
                     "front_count": i in front_a, "front_memory": i in front_b,
                     "ram_ratio": ratio_of(v.ram, variants[0].ram), **r.as_dict()})
    layer = {label: None if d is None else [x.as_dict() for x in d] for label, d in diffs(variants).items()}
    return {"baseline": variants[0].label, "fronts_use_accuracy": with_acc, "warning": mixed_warning(variants),
            "runs": runs, "layers": layer}


def write_csv(variants: Sequence[Variant], path: Path) -> Path:
    data = comparison_data(variants)
    buf = io.StringIO()
    keys = list(data["runs"][0])
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for row in data["runs"]:
        w.writerow(row)
    return atomic_write_text(path, buf.getvalue())


def plot_compare(variants: Sequence[Variant]) -> bytes:
    """PNG: two fronts (accuracy vs count and vs flash, or count vs flash and vs RAM without
    accuracy) and MACs vs measured count. Points carry numbers; the legend names them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    thousands = FuncFormatter(lambda v, _p: f"{v:,.0f}")
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    units = {v.unit for v in variants}
    count_label = f"{units.pop()} per inference" if len(units) == 1 else "count (mixed units)"
    with_acc = any(v.accuracy is not None for v in variants)

    def acc(v: Variant) -> float | None:
        return None if v.accuracy is None else 100 * v.accuracy

    def kib(n: Any) -> float | None:
        return None if n is None else n / 1024

    if with_acc:
        panels = [((lambda v: v.count), acc, count_label, "top-1 accuracy (%)", "accuracy vs latency", pareto_front),
                  ((lambda v: kib(v.flash)), acc, "flash (KiB)", "top-1 accuracy (%)", "accuracy vs flash",
                   pareto_front)]
    else:
        panels = [((lambda v: v.count), (lambda v: kib(v.flash)), count_label, "flash (KiB)",
                   "latency vs flash (no accuracy in these reports)", cost_front),
                  ((lambda v: v.count), (lambda v: kib(v.ram)), count_label, "RAM (KiB)",
                   "latency vs RAM (no accuracy in these reports)", cost_front)]
    for ax, (gx, gy, xlabel, ylabel, title, front_of) in zip(axes[:2], panels, strict=True):
        pts = [(gx(v), gy(v)) for v in variants]
        front = front_of(pts)
        for i, (x, y) in enumerate(pts):
            if x is None or y is None:
                continue
            on = i in front
            ax.scatter([x], [y], s=70 if on else 40, color="#c44e52" if on else "#4c72b0", zorder=3)
            ax.annotate(str(i + 1), (x, y), textcoords="offset points", xytext=(6, 6 if i % 2 else -12),
                        fontsize=10, fontweight="bold")
        fpts = [pts[i] for i in front if pts[i][0] is not None and pts[i][1] is not None]
        if fpts:
            ax.step([p[0] for p in fpts], [p[1] for p in fpts], where="post", color="#c44e52", lw=1.5,
                    label="Pareto front", zorder=2)
            ax.legend(fontsize=9, loc="best")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_formatter(thousands)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_title(title, fontsize=11)
        ax.grid(alpha=0.3)
    ax = axes[2]
    for i, v in enumerate(variants):
        if v.count is not None:
            ax.scatter([v.macs], [v.count], color="#55a868", zorder=3)
            ax.annotate(str(i + 1), (v.macs, v.count), textcoords="offset points", xytext=(6, 4), fontsize=10,
                        fontweight="bold")
    ax.set_xlabel("MACs per inference (desktop count)")
    ax.set_ylabel(count_label)
    ax.xaxis.set_major_formatter(thousands)
    ax.yaxis.set_major_formatter(thousands)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_title("MACs vs measured count", fontsize=11)
    ax.grid(alpha=0.3)
    names = "   ".join(f"{i + 1}: {v.label} ({v.target})" for i, v in enumerate(variants))
    fig.text(0.5, 0.005, names, ha="center", va="bottom", fontsize=10, wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


#: the sections of compare.html (id, heading); the browser test checks every one
COMPARE_SECTIONS = (("runs", "Runs against the baseline"), ("fronts", "Pareto fronts"),
                    ("layers", "Per-layer diff against the baseline"), ("sources", "Sources"))


def render_compare_html(variants: Sequence[Variant], png: bytes) -> str:
    esc = html.escape
    warn = mixed_warning(variants)
    headers, rows, align = _table(variants)
    sec = dict(COMPARE_SECTIONS)
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>edgefact compare</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px}"
             "th{background:#f2f2f2}td{white-space:nowrap}td.r{text-align:right;font-variant-numeric:tabular-nums}"
             "img{max-width:100%}.warn{color:#a60;font-weight:bold}.note{color:#555;font-size:.9em}</style>"
             "</head><body>", "<h1>edgefact compare</h1>"]
    if warn:
        parts.append(f"<p class='warn'>{esc(warn)}</p>")
    parts += [f"<section id='runs'><h2>{sec['runs']}</h2>",
              f"<p class='note'>Baseline: <b>{esc(variants[0].label)}</b> (the first run). speed-up = baseline "
              "count / count; flash and RAM: deployable figures (without the test harness) where the reports "
              "have them; delivered = measured saving / the saving the MACs promise.</p>",
              html_table(headers, rows, align), "</section>",
              f"<section id='fronts'><h2>{sec['fronts']}</h2>",
              "<p class='note'>* = on the Pareto front (no other run is both at least as good and at least as "
              "cheap). Points are numbered as in the legend below the plots.</p>",
              f'<img alt="Pareto fronts and MACs vs measured count" '
              f'src="data:image/png;base64,{base64.b64encode(png).decode()}">', "</section>",
              f"<section id='layers'><h2>{sec['layers']}</h2>"]
    for label, d in diffs(variants).items():
        parts.append(f"<h3>{esc(label)} vs {esc(variants[0].label)}</h3>")
        if d is None:
            parts.append("<p class='note'>the layers do not align (a different model?): no per-layer diff</p>")
        else:
            parts.append(html_table(*layer_diff_table(d)))
    if len(variants) == 1:
        parts.append("<p class='note'>one run only: nothing to diff</p>")
    parts += ["</section>", f"<section id='sources'><h2>{sec['sources']}</h2><ul>"]
    parts += [f"<li>{i + 1}: {esc(v.label)}: {esc(str(v.path))} ({esc(v.model)}, {esc(v.target)})</li>"
              for i, v in enumerate(variants)]
    parts.append("</ul></section></body></html>")
    return "\n".join(parts)


def write_compare(variants: Sequence[Variant], out_dir: str | Path, plot: bool = True) -> list[Path]:
    """compare.html (table, fronts, per-layer diffs), compare.png, compare.csv and compare.json."""
    out = Path(out_dir)
    paths = []
    png = plot_compare(variants) if plot else b""
    if plot:
        paths.append(atomic_write_bytes(out / "compare.png", png))
        paths.append(atomic_write_text(out / "compare.html", render_compare_html(variants, png)))
    paths.append(write_csv(variants, out / "compare.csv"))
    paths.append(atomic_write_text(out / "compare.json", json.dumps(comparison_data(variants), indent=2,
                                                                  default=str) + "\n"))
    return paths


__all__ = ["COMPARE_SECTIONS", "Variant", "baseline_ratios", "comparison_data", "comparison_table", "cost_front",
           "default_out_dir", "diffs", "layer_diff_table", "load_variants", "mixed_warning", "pareto_front",
           "plot_compare", "variant_from_report", "write_compare"]
