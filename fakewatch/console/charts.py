"""Server-side SVG charts: no JavaScript library, no external assets, readable without scripts.

Every text that reaches the markup is escaped here; colours are presentation attributes (not
``style``) so the console's Content-Security-Policy can forbid inline styles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape
from typing import Any

from markupsafe import Markup

VERDICT_COLORS: dict[str, str] = {
    "real": "#2e7d32",
    "uncertain": "#f9a825",
    "fake": "#c62828",
    "no_face": "#78909c",
    "invalid": "#6d4c41",
    "none": "#b0bec5",
}
VERDICT_ORDER = ("fake", "uncertain", "real", "no_face", "invalid", "none")

WIDTH, HEIGHT = 720, 240
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 12, 40


def days_between(since: dt.datetime, until: dt.datetime) -> list[str]:
    """Every UTC day of the window, so quiet days show as zero instead of vanishing."""
    day, last = since.date(), until.date()
    out = []
    while day <= last:
        out.append(day.isoformat())
        day += dt.timedelta(days=1)
    return out


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def _axes(y_max: float, unit: str) -> list[str]:
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    parts = []
    for i in range(5):
        value = y_max * i / 4
        y = PAD_TOP + plot_h - plot_h * i / 4
        label = f"{value:g}{unit}"
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" stroke="#e0e0e0"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
            f"{escape(label)}</text>"
        )
    return parts


def _x_labels(days: Sequence[str], slot: float) -> list[str]:
    every = max(1, len(days) // 10)
    return [
        f'<text x="{PAD_LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle" '
        f'font-size="11" fill="#555">{escape(day[5:])}</text>'
        for i, day in enumerate(days)
        if i % every == 0
    ]


def _svg(chart_id: str, title: str, body: list[str]) -> Markup:
    return Markup(
        f'<svg id="{escape(chart_id)}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>' + "".join(body) + "</svg>"
    )


def checks_per_day_chart(rows: Sequence[dict[str, Any]], days: Sequence[str]) -> Markup:
    """Stacked bars: checks per day, coloured by verdict."""
    per_day: dict[str, dict[str, int]] = {d: {} for d in days}
    for row in rows:
        if row["day"] in per_day:
            per_day[row["day"]][row["verdict"]] = per_day[row["day"]].get(row["verdict"], 0) + row["checks"]
    y_max = _nice_max(max((sum(v.values()) for v in per_day.values()), default=0))
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(1, len(days))
    body = _axes(y_max, "")
    for i, day in enumerate(days):
        y = PAD_TOP + plot_h
        for verdict in VERDICT_ORDER:
            n = per_day[day].get(verdict, 0)
            if not n:
                continue
            h = plot_h * n / y_max
            y -= int(round(h))
            body.append(
                f'<rect class="bar" data-day="{escape(day)}" data-verdict="{escape(verdict)}" data-count="{n}" '
                f'x="{PAD_LEFT + slot * i + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" '
                f'fill="{VERDICT_COLORS[verdict]}"><title>{escape(day)} {escape(verdict)}: {n}</title></rect>'
            )
    body += _x_labels(days, slot)
    return _svg("chart-checks-per-day", "Checks per day by verdict", body)


def latency_chart(rows: Sequence[dict[str, Any]], days: Sequence[str]) -> Markup:
    """Two lines: p50 and p95 latency per day."""
    by_day = {r["day"]: r for r in rows}
    y_max = _nice_max(max((r["p95"] for r in rows), default=0))
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    slot = (WIDTH - PAD_LEFT - PAD_RIGHT) / max(1, len(days))
    body = _axes(y_max, " ms")
    for key, colour in (("p95", "#6a1b9a"), ("p50", "#1565c0")):
        points = [
            (PAD_LEFT + slot * (i + 0.5), PAD_TOP + plot_h - plot_h * by_day[d][key] / y_max)
            for i, d in enumerate(days)
            if d in by_day
        ]
        if points:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(
                f'<polyline class="line-{key}" points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
            body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in points]
    body.append(
        f'<text x="{WIDTH - PAD_RIGHT}" y="{PAD_TOP + 10}" text-anchor="end" font-size="11" fill="#1565c0">p50</text>'
        f'<text x="{WIDTH - PAD_RIGHT - 30}" y="{PAD_TOP + 10}" text-anchor="end" font-size="11" '
        'fill="#6a1b9a">p95</text>'
    )
    body += _x_labels(days, slot)
    return _svg("chart-latency", "Latency percentiles per day (ms)", body)


def agreement_chart(feedback: dict[str, Any]) -> Markup:
    """One horizontal bar: share of votes that agreed with the verdict."""
    votes, agree = int(feedback["votes"]), int(feedback["agree"])
    width = WIDTH - PAD_LEFT - PAD_RIGHT
    agree_w = width * agree / votes if votes else 0
    label = f"{100 * agree / votes:.0f}% agree ({agree} of {votes} votes)" if votes else "no votes yet"
    body = [
        f'<rect x="{PAD_LEFT}" y="20" width="{width}" height="28" fill="#ef9a9a"/>',
        f'<rect class="agree" x="{PAD_LEFT}" y="20" width="{agree_w:.1f}" height="28" fill="#66bb6a"/>',
        f'<text x="{PAD_LEFT}" y="72" font-size="13" fill="#222">{escape(label)}</text>',
    ]
    return Markup(
        f'<svg id="chart-agreement" class="chart chart-small" viewBox="0 0 {WIDTH} 84" role="img" '
        f'aria-labelledby="chart-agreement-title" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-agreement-title">Feedback agreement</title>' + "".join(body) + "</svg>"
    )
