"""The answers of a sweep: variant table, Pareto fronts, delivered MAC savings, recommendations.

Input is plain data (one row per variant, with the figures of its report.json, see
``edgefact.pipeline.sweep``); output is ``sweep.json``, ``sweep.md`` and a self-contained
``sweep.html`` (inline CSS, plots as data: URIs).

* **Pareto fronts**, per target: the variants that no other variant beats on accuracy and cost
  at once, for latency (estimated ms where the target has a clock, else the measured count),
  flash and RAM.
* **Delivered share** of a factorization's MAC saving: the measured instruction (or cycle)
  saving divided by the MAC saving, both against the unfactorized variant with otherwise the
  same options (model, clustering, width, target...). 100% means the kernels turn every saved
  MAC into saved time; less means overheads (extra layers, less efficient kernels) eat into it.
* **Recommendation**, per target: the most accurate variant within the budget (``max_ms``,
  ``max_flash``, ``max_ram``; ``--fit BOARD`` sets flash and RAM to the board's and estimates ms
  at its clock for variants built for its core).
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from edgefact.fsutil import atomic_write_text
from edgefact.report.compare import pareto_front
from edgefact.report.derived import delivered_share, ratio
from edgefact.report.render import ACCURACY_STAGES, fmt_bytes, fmt_int, fmt_pct, format_table

SWEEP_SCHEMA = "edgefact.sweep/1"
#: the build options a variant table shows, in this order, when any variant sets them
OPTION_COLUMNS = ("model", "factorize", "rank", "energy", "atoms", "groups", "cluster", "cluster_per_channel",
                  "pack", "width", "epochs", "target")
#: the options that make a variant factorized: its baseline is the variant with none of them set
FACTORIZE_KEYS = frozenset({"factorize", "rank", "energy", "atoms", "groups"})
METRICS = ("latency", "flash", "ram")


@dataclass(frozen=True)
class Budget:
    """What a recommendation must fit; ``board*`` when given by ``--fit BOARD``."""

    max_ms: float | None = None
    max_flash: int | None = None
    max_ram: int | None = None
    board: str | None = None
    board_core: str | None = None
    board_clock_hz: float | None = None

    def given(self) -> bool:
        return any(v is not None for v in (self.max_ms, self.max_flash, self.max_ram, self.board))


# ---------------------------------------------------------------- figures of one row
def accuracy(row: Mapping[str, Any]) -> tuple[float | None, str | None]:
    acc = (row.get("figures") or {}).get("accuracy") or {}
    stage = next((s for s in reversed(ACCURACY_STAGES) if acc.get(s) is not None), None)
    return (acc[stage], stage) if stage else (None, None)


def _totals(row: Mapping[str, Any]) -> dict[str, Any]:
    return (row.get("figures") or {}).get("totals") or {}


def latency_ms(row: Mapping[str, Any], budget: Budget | None = None) -> tuple[float | None, str | None]:
    """(ms, how): the report's estimate at its target's clock, or the count at the ``--fit`` board's
    clock when the variant was built for that board's core; (None, None) when neither applies."""
    t = _totals(row)
    if t.get("est_ms") is not None:
        return float(t["est_ms"]), "target clock"
    fig = row.get("figures") or {}
    core = (fig.get("target") or {}).get("core")
    unit = str(fig.get("unit") or "")
    if (budget and budget.board_clock_hz and core == budget.board_core and t.get("count") is not None
            and unit.split(" ")[0] in ("instructions", "cycles")):
        return 1000.0 * float(t["count"]) / budget.board_clock_hz, f"{budget.board} clock"
    return None, None


def _cost(row: Mapping[str, Any], metric: str, budget: Budget | None, use_ms: bool) -> float | None:
    t = _totals(row)
    if metric == "flash":
        return t.get("flash_bytes")
    if metric == "ram":
        return t.get("ram_bytes")
    return latency_ms(row, budget)[0] if use_ms else t.get("count")


def ok_rows(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") == "ok"]


def _target(row: Mapping[str, Any]) -> str:
    return str(row.get("options", {}).get("target") or ((row.get("figures") or {}).get("target") or {}).get("name"))


def by_target(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for r in ok_rows(rows):
        out.setdefault(_target(r), []).append(r)
    return out


# ---------------------------------------------------------------- analysis
def pareto_fronts(rows: Sequence[Mapping[str, Any]], budget: Budget | None = None) -> dict[str, dict[str, Any]]:
    """Per target and metric: the front's variant names in order of increasing cost."""
    out: dict[str, dict[str, Any]] = {}
    for target, group in by_target(rows).items():
        use_ms = all(latency_ms(r, budget)[0] is not None for r in group)
        entry: dict[str, Any] = {"latency_axis": "ms" if use_ms else "count"}
        for metric in METRICS:
            pts = [(_cost(r, metric, budget, use_ms), accuracy(r)[0]) for r in group]
            entry[metric] = [group[i]["name"] for i in pareto_front(pts)]
        out[target] = entry
    return out


def _baseline_key(row: Mapping[str, Any], factorize_keys: frozenset[str]) -> str:
    opts = {k: v for k, v in (row.get("options") or {}).items() if k not in factorize_keys and k != "out"}
    return json.dumps(opts, sort_keys=True, default=str)


def delivered_shares(rows: Sequence[Mapping[str, Any]],
                     factorize_keys: frozenset[str] = FACTORIZE_KEYS) -> list[dict[str, Any]]:
    """For each factorized variant with an unfactorized twin: MAC saving, count saving, their ratio."""
    good = ok_rows(rows)
    baselines = {_baseline_key(r, factorize_keys): r for r in good if (r.get("options") or {}).get("factorize", "none") == "none"}
    out = []
    for r in good:
        method = (r.get("options") or {}).get("factorize", "none")
        base = baselines.get(_baseline_key(r, factorize_keys))
        if method == "none" or base is None:
            continue
        t, tb = _totals(r), _totals(base)
        r_mac, r_count = ratio(t.get("macs"), tb.get("macs")), ratio(t.get("count"), tb.get("count"))
        if r_mac is None:
            continue
        mac_saving = 1.0 - r_mac
        count_saving = None if r_count is None else 1.0 - r_count
        delivered = delivered_share(r_mac, r_count)  # the one definition, shared with `edgefact compare`
        out.append({"variant": r["name"], "baseline": base["name"], "factorize": method, "target": _target(r),
                    "macs": t["macs"], "baseline_macs": tb["macs"], "count": t.get("count"),
                    "baseline_count": tb.get("count"), "mac_saving": mac_saving, "count_saving": count_saving,
                    "delivered": delivered})
    return out


def recommend(rows: Sequence[Mapping[str, Any]], budget: Budget) -> dict[str, dict[str, Any]]:
    """Per target: the most accurate variant within the budget (ties: faster, then smaller)."""
    out: dict[str, dict[str, Any]] = {}
    for target, group in by_target(rows).items():
        fits, reasons = [], {}
        for r in group:
            t = _totals(r)
            ms = latency_ms(r, budget)[0]
            why = []
            core = ((r.get("figures") or {}).get("target") or {}).get("core")
            if budget.board_core and core != budget.board_core:  # decisive: it cannot run there
                reasons[r["name"]] = f"built for {core}, {budget.board} is a {budget.board_core}"
                continue
            if budget.max_ms is not None and (ms is None or ms > budget.max_ms):
                why.append("no ms estimate" if ms is None else f"{ms:.2f} ms > {budget.max_ms:g} ms")
            for what, have, cap in (("flash", t.get("flash_bytes"), budget.max_flash),
                                    ("RAM", t.get("ram_bytes"), budget.max_ram)):
                if cap is not None and (have is None or have > cap):
                    why.append(f"{what} {fmt_bytes(have)} > {fmt_bytes(cap)}")
            if accuracy(r)[0] is None:
                why.append("no accuracy")
            if why:
                reasons[r["name"]] = "; ".join(why)
            else:
                fits.append(r)
        if fits:
            best = max(fits, key=lambda r: (accuracy(r)[0], -(latency_ms(r, budget)[0] or _totals(r).get("count") or 0),
                                            -(_totals(r).get("flash_bytes") or 0)))
            acc, stage = accuracy(best)
            out[target] = {"variant": best["name"], "accuracy": acc, "accuracy_stage": stage,
                           "ms": latency_ms(best, budget)[0], "count": _totals(best).get("count"),
                           "flash_bytes": _totals(best).get("flash_bytes"), "ram_bytes": _totals(best).get("ram_bytes"),
                           "candidates": len(fits), "excluded": reasons}
        else:
            out[target] = {"variant": None, "candidates": 0, "excluded": reasons}
    return out


def analyze(rows: Sequence[Mapping[str, Any]], budget: Budget,
            factorize_keys: frozenset[str] = FACTORIZE_KEYS) -> dict[str, Any]:
    return {"fronts": pareto_fronts(rows, budget), "delivered": delivered_shares(rows, factorize_keys),
            "recommendations": recommend(rows, budget), "budget": asdict(budget)}


# ---------------------------------------------------------------- tables
def _opt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _ms_text(row: Mapping[str, Any], budget: Budget | None) -> str:
    ms, _ = latency_ms(row, budget)
    return "–" if ms is None else f"{ms:.3f}"


def variant_table(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]], str]:
    rows = doc["variants"]
    budget = Budget(**doc["analysis"]["budget"])
    cols = [c for c in OPTION_COLUMNS if any(c in (r.get("overrides") or {}) for r in rows)] or ["target"]
    fronts = doc["analysis"]["fronts"]
    headers = ["variant", *cols, "status", "accuracy", "MACs", "count", "ms", "flash", "RAM", "front"]
    out = []
    for r in rows:
        acc, stage = accuracy(r)
        t = _totals(r)
        marks = [m[0].upper() for m in METRICS if r["name"] in (fronts.get(_target(r)) or {}).get(m, [])]
        status = r["status"] if r["status"] != "failed" else f"FAILED ({r.get('failed_stage') or 'plan'})"
        if r["status"] == "duplicate":
            status = f"same as {r.get('same_as')}"
        out.append([r["name"], *(_opt((r.get("options") or {}).get(c)) for c in cols), status,
                    "–" if acc is None else f"{100 * acc:.1f}% ({stage})", fmt_int(t.get("macs")),
                    fmt_int(t.get("count")), _ms_text(r, budget), fmt_bytes(t.get("flash_bytes")),
                    fmt_bytes(t.get("ram_bytes")), "".join(marks)])
    return headers, out, "l" + "l" * len(cols) + "lrrrrrrl"


def delivered_table(doc: Mapping[str, Any]) -> tuple[list[str], list[list[str]], str]:
    headers = ["variant", "vs", "target", "MACs saved", "count saved", "delivered"]
    rows = [[d["variant"], d["baseline"], d["target"], fmt_pct(d["mac_saving"]), fmt_pct(d["count_saving"]),
             fmt_pct(d["delivered"], 0)] for d in doc["analysis"]["delivered"]]
    return headers, rows, "lllrrr"


def recommendation_lines(doc: Mapping[str, Any]) -> list[str]:
    budget = Budget(**doc["analysis"]["budget"])
    lines = []
    for target, rec in doc["analysis"]["recommendations"].items():
        if rec["variant"] is None:
            reasons = list(rec["excluded"].values())
            if budget.board and reasons and all(r.startswith("built for ") for r in reasons):
                lines.append(f"{target}: not for {budget.board} (its variants are built for another core than "
                             f"the board's {budget.board_core})")
            else:
                lines.append(f"{target}: nothing fits the budget ({len(reasons)} variants excluded)")
            continue
        ms = f", {rec['ms']:.3f} ms" if rec.get("ms") is not None else ""
        lines.append(f"{target}: **{rec['variant']}** — accuracy {100 * rec['accuracy']:.1f}% "
                     f"({rec['accuracy_stage']}), {fmt_int(rec['count'])} count{ms}, flash "
                     f"{fmt_bytes(rec['flash_bytes'])}, RAM {fmt_bytes(rec['ram_bytes'])} "
                     f"(best of {rec['candidates']} within budget)")
    if not budget.given():
        lines.append("(no budget given: the most accurate variant per target; use --fit BOARD, --max-ms, "
                     "--max-flash, --max-ram)")
    return lines


def budget_text(budget: Budget) -> str:
    parts = []
    if budget.board:
        parts.append(f"fits {budget.board} ({budget.board_core}, {fmt_bytes(budget.max_flash)} flash, "
                     f"{fmt_bytes(budget.max_ram)} RAM, ms at {budget.board_clock_hz / 1e6:g} MHz)"
                     if budget.board_clock_hz else f"fits {budget.board}")
    elif budget.max_flash is not None or budget.max_ram is not None:
        parts.append(f"flash ≤ {fmt_bytes(budget.max_flash)}, RAM ≤ {fmt_bytes(budget.max_ram)}")
    if budget.max_ms is not None:
        parts.append(f"≤ {budget.max_ms:g} ms")
    return ", ".join(parts) or "none"


def _stage_summary(doc: Mapping[str, Any]) -> str:
    s = doc["stages"]
    return (f"{s['total']} stages: {s['computed']} run, {s['cached']} cached (skipped, "
            f"{s['saved_seconds']:.0f} s saved), {s['failed']} failed, {s['skipped']} not run")


def summary_text(doc: Mapping[str, Any]) -> str:
    v = doc["counts"]
    return (f"sweep: {v['variants']} variants, {v['ok']} done, {v['failed']} failed"
            f"{', ' + str(v['duplicate']) + ' duplicates' if v['duplicate'] else ''} · {_stage_summary(doc)} · "
            f"{doc['seconds']:.0f} s on {doc['backend'].get('mode')} ({_workers(doc['backend'].get('workers'))})")


def _workers(n: Any) -> str:
    return f"{n} worker" if n == 1 else f"{n} workers"


def render_markdown(doc: Mapping[str, Any]) -> str:
    out = [f"# edgefact sweep: {doc['counts']['variants']} variants", "", summary_text(doc), ""]
    headers, rows, align = variant_table(doc)
    out += ["## Variants", "", format_table(headers, rows, align), "",
            "front: L/F/R = on the accuracy front against latency / flash / RAM of its target; "
            "count = " + ", ".join(sorted({str((r.get('figures') or {}).get('unit')) for r in ok_rows(doc['variants'])}))
            + "; ms = estimate at the target's (or --fit board's) clock.", ""]
    failed = [r for r in doc["variants"] if r["status"] == "failed"]
    if failed:
        out += ["## Failures", ""]
        out += [f"- {r['name']}: {r.get('failed_stage') or 'plan'}: {r.get('error')}" for r in failed]
        out.append("")
    out += ["## Recommendation", "", f"Budget: {budget_text(Budget(**doc['analysis']['budget']))}", ""]
    out += [f"- {line}" for line in recommendation_lines(doc)]
    out += ["", "## Pareto fronts", ""]
    for target, fr in doc["analysis"]["fronts"].items():
        out.append(f"- {target}: accuracy vs {fr['latency_axis']}: {', '.join(fr['latency']) or '–'}; "
                   f"vs flash: {', '.join(fr['flash']) or '–'}; vs RAM: {', '.join(fr['ram']) or '–'}")
    headers, rows, align = delivered_table(doc)
    out += ["", "## Delivered share of each factorization's MAC saving", ""]
    if rows:
        out += [format_table(headers, rows, align), "",
                "delivered = measured count saving / MAC saving, against the unfactorized variant with the "
                "same other options."]
    else:
        out.append("(no factorized variant with an unfactorized twin)")
    out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- html
_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:80em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em}
th{background:#f3f3f3}td.r{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:.9em}.fail{color:#a00}img{max-width:100%}"""


def _html_table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="{a}">{html.escape(c)}</td>' for c, a in zip(row, align, strict=True))
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def plot_fronts(doc: Mapping[str, Any], target: str) -> str | None:
    """PNG (base64) with accuracy against latency, flash and RAM for one target, fronts as steps."""
    group = by_target(doc["variants"]).get(target) or []
    if not group:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budget = Budget(**doc["analysis"]["budget"])
    fr = doc["analysis"]["fronts"][target]
    use_ms = fr["latency_axis"] == "ms"
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, metric in zip(axes, METRICS, strict=True):
        pts = [(_cost(r, metric, budget, use_ms), accuracy(r)[0], r["name"]) for r in group]
        pts = [p for p in pts if p[0] is not None and p[1] is not None]
        ax.scatter([p[0] for p in pts], [100 * p[1] for p in pts], color="#888")
        for x, y, name in pts:
            ax.annotate(name, (x, 100 * y), fontsize=6, xytext=(3, 3), textcoords="offset points")
        front = [p for p in pts if p[2] in fr[metric]]
        front.sort()
        if front:
            ax.step([p[0] for p in front], [100 * p[1] for p in front], where="post", color="#c33")
            ax.scatter([p[0] for p in front], [100 * p[1] for p in front], color="#c33", zorder=3)
        label = {"latency": "ms (estimate)" if use_ms else "count", "flash": "flash bytes", "ram": "RAM bytes"}
        ax.set_xlabel(label[metric])
        ax.set_ylabel("accuracy %")
        ax.set_title(f"{target}: accuracy vs {metric}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def render_html(doc: Mapping[str, Any]) -> str:
    esc = html.escape
    title = f"edgefact sweep: {doc['counts']['variants']} variants"
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1><pre>{esc(summary_text(doc))}</pre>"]
    parts.append(f"<h2>Recommendation</h2><p>Budget: {esc(budget_text(Budget(**doc['analysis']['budget'])))}</p><ul>")
    parts += [f"<li>{esc(line).replace('**', '')}</li>" for line in recommendation_lines(doc)]
    parts.append("</ul>")
    headers, rows, align = variant_table(doc)
    parts += ["<h2>Variants</h2>", _html_table(headers, rows, align)]
    failed = [r for r in doc["variants"] if r["status"] == "failed"]
    if failed:
        parts.append("<h2>Failures</h2><ul>")
        parts += [f"<li class='fail'>{esc(r['name'])}: {esc(str(r.get('failed_stage') or 'plan'))}: "
                  f"{esc(str(r.get('error')))}</li>" for r in failed]
        parts.append("</ul>")
    parts.append("<h2>Pareto fronts</h2>")
    for target in doc["analysis"]["fronts"]:
        b64 = plot_fronts(doc, target)
        if b64:
            parts.append(f'<img alt="accuracy fronts on {esc(target)}" src="data:image/png;base64,{b64}">')
    headers, rows, align = delivered_table(doc)
    parts.append("<h2>Delivered share of each factorization's MAC saving</h2>")
    parts.append(_html_table(headers, rows, align) if rows else "<p>(no factorized variant with an unfactorized twin)</p>")
    parts.append(f"<p class='note'>{esc(doc['schema'])} · created {esc(doc['created'])}</p></body></html>")
    return "\n".join(parts)


def write_sweep_reports(doc: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    paths = [out / "sweep.json", out / "sweep.md", out / "sweep.html"]
    atomic_write_text(paths[0], json.dumps(doc, indent=2, sort_keys=False, default=str))
    atomic_write_text(paths[1], render_markdown(doc))
    atomic_write_text(paths[2], render_html(doc))
    return paths
