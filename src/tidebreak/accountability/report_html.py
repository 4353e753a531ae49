"""The transparency report as one self-contained HTML page: tables plus charts drawn with
matplotlib (Agg backend, no display needed) and embedded as base64 PNGs, so the file opens
anywhere, offline, with nothing beside it."""

from __future__ import annotations

import base64
import io
import json
from html import escape
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: never needs a display

import matplotlib.pyplot as plt  # noqa: E402


def bar_chart_png(title: str, counts: dict[str, int | float], *, xlabel: str = "items") -> str:
    """A horizontal bar chart as a base64 PNG (no metadata, so the bytes are reproducible)."""
    labels = list(counts) or ["(none)"]
    values = [counts[k] for k in counts] or [0]
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(labels) + 1.2), dpi=100)
    try:
        ax.barh(labels[::-1], values[::-1], color="#2b6cb0")
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        for i, v in enumerate(values[::-1]):
            ax.text(v, i, f" {v:g}", va="center", fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    finally:
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table(title: str, data: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_fmt(v))}</td></tr>"
                   for k, v in data.items())
    return f"<h3>{escape(title)}</h3><table>{rows or '<tr><td>none</td></tr>'}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return "" if v is None else str(v)


def _img(title: str, counts: dict[str, Any], xlabel: str = "items") -> str:
    png = bar_chart_png(title, counts, xlabel=xlabel)
    return (f'<figure><img alt="{escape(title)}" src="data:image/png;base64,{png}">'
            f"<figcaption>{escape(title)}</figcaption></figure>")


CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#1a202c}table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #cbd5e0;
padding:.25rem .6rem;text-align:left;vertical-align:top}th{background:#edf2f7;font-weight:600}
figure{margin:1rem 0}img{max-width:100%}dt{font-weight:600}.figs{display:flex;flex-wrap:wrap;
gap:1rem}"""


def to_html(report: dict[str, Any]) -> str:
    a = report["content_actioned"]
    p = report["proactive_rate"]
    ap = report["appeals"]
    ov = report["automated_overturned"]
    rv = report["reviewers"]
    pv = report["prevalence"]
    period = report["period"]
    charts = [
        _img("Content actioned by category", a["by_category"]),
        _img("Content actioned by action", a["by_action"]),
        _img("Content actioned by surface", a["by_surface"]),
        _img("Content actioned by detection source", a["by_detection_source"]),
    ]
    if rv["by_action"]:
        charts.append(_img("Reviewer decisions by action", rv["by_action"], "decisions"))
    summary = {
        "statements of reasons": report["statements_of_reasons"],
        "content actioned": a["total"],
        "accounts restricted": report["accounts_restricted"]["total"],
        "groups restricted": report["groups_restricted"]["total"],
        "proactive rate": p["rate"],
        "appealed": ap["appealed"] if ap["available"] else "no appeal source registered",
        "restored after appeal": ap["restored"]["after_appeal"],
        "restored without appeal": ap["restored"]["without_appeal"],
        "automated decisions overturned": ov["overturned"],
        "overturn rate of reviewed automated decisions": ov["rate"],
        "reviewer decisions": rv["decisions"],
        "median task handling time (s)": rv["handling_time"]["median_s"],
    }
    if pv.get("available"):
        summary["prevalence (violating views)"] = (
            f"{pv['estimate']:.4%} (95% CI {pv['ci95'][0]:.4%} to {pv['ci95'][1]:.4%})"
            if pv["estimate"] is not None else f"at most {pv['upper_bound']:.4%} (upper bound)")
    else:
        summary["prevalence"] = pv.get("reason", "unavailable")
    defs = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>"
                   for k, v in report["definitions"].items())
    body = [
        f"<h1>Transparency report</h1><p>Tenant <b>{escape(report['tenant'])}</b>, "
        f"{escape(period['from'])} to {escape(period['to'])} (end excluded). "
        f"Licence {escape(report['licence'])}.</p>",
        _table("Summary", summary),
        "<h2>Charts</h2><div class='figs'>" + "".join(charts) + "</div>",
        "<h2>Content actioned</h2>",
        _table("By category", a["by_category"]), _table("By action", a["by_action"]),
        _table("By surface", a["by_surface"]),
        _table("By detection source", a["by_detection_source"]),
        _table("By automated decision", a["by_automated_decision"]),
        "<h2>Accounts and groups</h2>",
        _table("Accounts restricted", report["accounts_restricted"]),
        _table("Groups restricted", report["groups_restricted"]),
        _table("Proactive rate by category", p["by_category"]),
        "<h2>Appeals, restorations, overturns</h2>",
        _table("Appeals", ap), _table("Automated decisions overturned", ov),
        "<h2>Reviewers</h2>",
        _table("Volumes (pseudonymous)", rv["by_reviewer"]),
        _table("Handling time", rv["handling_time"]),
        _table("Handling time by queue", rv["handling_time_by_queue"]),
        "<h2>Prevalence</h2>", _table("Prevalence", pv),
        f"<h2>Definitions</h2><dl>{defs}</dl>",
    ]
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>tidebreak transparency report {escape(period['from'][:10])} to "
            f"{escape(period['to'][:10])}</title><style>{CSS}</style></head><body>"
            + "".join(body) + "</body></html>\n")
