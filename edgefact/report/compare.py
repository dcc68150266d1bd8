"""Side-by-side comparison of build directories, with the Pareto front.

A variant is on the Pareto front when no other variant is at least as accurate *and* at least as
cheap (fewer instructions, or less flash) while being strictly better in one of the two.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgefact.errors import EdgefactError
from edgefact.fsutil import atomic_write_bytes, atomic_write_text
from edgefact.report.render import ACCURACY_STAGES, count_name, fmt_bytes, fmt_int, format_table
from edgefact.report.schema import load_report


@dataclass
class Variant:
    """The figures of one build directory that the comparison needs."""

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


def variant_from_report(report: dict[str, Any], label: str, path: Path) -> Variant:
    acc = report.get("accuracy") or {}
    stage = next((s for s in reversed(ACCURACY_STAGES) if acc.get(s) is not None), None)
    t = report["totals"]
    return Variant(label=label, path=path, target=report["target"]["name"], model=report["model"]["name"],
                   unit=report["unit"], accuracy=acc.get(stage) if stage else None, accuracy_stage=stage,
                   macs=t["macs"], count=t.get("count"), flash=t.get("flash_bytes"), ram=t.get("ram_bytes"),
                   params=t.get("params"))


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


def comparison_table(variants: Sequence[Variant]) -> str:
    """The terminal table: accuracy, MACs, count, flash, RAM; ``*`` marks the front on both axes."""
    front_count = set(pareto_front([(v.count, v.accuracy) for v in variants]))
    front_flash = set(pareto_front([(v.flash, v.accuracy) for v in variants]))
    units = {v.unit for v in variants}
    count_col = count_name(units.pop()) if len(units) == 1 else "count (mixed units!)"
    rows = []
    for i, v in enumerate(variants):
        rows.append([
            v.label, v.target,
            "–" if v.accuracy is None else f"{100 * v.accuracy:.1f}% ({v.accuracy_stage})",
            fmt_int(v.macs), fmt_int(v.count), fmt_bytes(v.flash), fmt_bytes(v.ram),
            "*" if i in front_count else "",
            "*" if i in front_flash else "",
        ])
    headers = ["variant", "target", "accuracy", "MACs", count_col, "flash", "RAM",
               f"front (acc/{count_col.split(' ')[0]})", "front (acc/flash)"]
    return format_table(headers, rows, "llrrrrrll")


def mixed_warning(variants: Sequence[Variant]) -> str | None:
    units = sorted({v.unit for v in variants})
    targets = sorted({v.target for v in variants})
    notes = []
    if len(units) > 1:
        notes.append(f"the reports count in different units ({', '.join(units)}): their counts are not comparable")
    if len(targets) > 1:
        notes.append(f"the reports are for different targets ({', '.join(targets)})")
    return ("warning: " + "; ".join(notes)) if notes else None


def plot_compare(variants: Sequence[Variant]) -> bytes:
    """PNG: accuracy vs count and accuracy vs flash, Pareto fronts drawn as steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8))
    units = {v.unit for v in variants}
    xlabels = (f"{units.pop()} per inference" if len(units) == 1 else "count (mixed units)", "flash (KiB)")
    getters = (lambda v: v.count, lambda v: None if v.flash is None else v.flash / 1024)
    for ax, get_x, xlabel in zip(axes[:2], getters, xlabels, strict=True):
        pts = [(get_x(v), None if v.accuracy is None else 100 * v.accuracy) for v in variants]
        if all(y is None for _, y in pts):
            ax.text(0.5, 0.5, "no accuracy in these reports", ha="center", va="center", transform=ax.transAxes)
        front = pareto_front(pts)
        for i, (x, y) in enumerate(pts):
            if x is None or y is None:
                continue
            on = i in front
            ax.scatter([x], [y], s=60 if on else 35, color="#c44e52" if on else "#4c72b0", zorder=3)
            ax.annotate(variants[i].label, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        if len(front) >= 1:
            fx = [pts[i][0] for i in front]
            fy = [pts[i][1] for i in front]
            ax.step(fx, fy, where="post", color="#c44e52", lw=1.5, label="Pareto front", zorder=2)
            ax.legend(fontsize=8, loc="lower right")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("top-1 accuracy (%)")
        ax.grid(alpha=0.3)
    axes[0].set_title("accuracy vs latency")
    axes[1].set_title("accuracy vs flash")
    # Where fewer MACs did (or did not) mean fewer instructions: the device's view of factorization.
    ax = axes[2]
    for v in variants:
        if v.count is not None:
            ax.scatter([v.macs], [v.count], color="#55a868", zorder=3)
            ax.annotate(v.label, (v.macs, v.count), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlabel("MACs per inference (desktop count)")
    ax.set_ylabel(xlabels[0])
    ax.set_title("MACs vs measured count")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def write_compare(variants: Sequence[Variant], out_dir: str | Path) -> list[Path]:
    """compare.png and a self-contained compare.html (table + embedded plot) in ``out_dir``."""
    out = Path(out_dir)
    png = plot_compare(variants)
    table = comparison_table(variants)
    warn = mixed_warning(variants)
    esc = html.escape
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>edgefact compare</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto}"
        "pre{background:#f6f6f6;padding:.5em}img{max-width:100%}</style></head><body>"
        "<h1>edgefact compare</h1>"
        + (f"<p><b>{esc(warn)}</b></p>" if warn else "")
        + f"<pre>{esc(table)}</pre>"
        + "<p>* = on the Pareto front (no other variant is both at least as accurate and at least as cheap).</p>"
        + f'<img alt="accuracy vs instructions and flash" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        + "<ul>" + "".join(f"<li>{esc(v.label)}: {esc(str(v.path))} ({esc(v.model)})</li>" for v in variants)
        + "</ul></body></html>"
    )
    return [atomic_write_bytes(out / "compare.png", png), atomic_write_text(out / "compare.html", page)]
