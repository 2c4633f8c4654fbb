"""The participation chart, drawn on the server as SVG: no script, no image files.

Stacked bars, one per week, with each state's count written out below, so the
chart reads the same with colours, without them and on a screen reader.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from mailsup.web.participation import STATES, Week

COLOURS = {"submitted": "#16a34a", "late": "#f59e0b", "missed": "#dc2626",
           "skipped": "#9ca3af"}
WIDTH, HEIGHT, TOP, BOTTOM, LEFT = 320, 150, 12, 26, 22


def participation_svg(weeks: list[Week], title: str) -> Markup:
    scale_max = max([w.total for w in weeks] + [1])
    slot = (WIDTH - LEFT) / max(len(weeks), 1)
    plot = HEIGHT - TOP - BOTTOM
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
             f"<title>{escape(title)}</title>",
             f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH}" y2="{HEIGHT - BOTTOM}" '
             'stroke="#d1d5db"/>',
             f'<text x="0" y="{TOP + 8}" font-size="10" fill="#6b7280">{scale_max}</text>']
    for i, week in enumerate(weeks):
        x, y = LEFT + i * slot + slot * 0.2, HEIGHT - BOTTOM
        for state in STATES:
            count = week.counts[state]
            if not count:
                continue
            height = plot * count / scale_max
            y -= height
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.6:.1f}" '
                         f'height="{height:.1f}" fill="{COLOURS[state]}">'
                         f"<title>{escape(f'week of {week.start:%d %b}: {count} {state}')}"
                         "</title></rect>")
        parts.append(f'<text x="{x + slot * 0.3:.1f}" y="{HEIGHT - 8}" font-size="9" '
                     f'text-anchor="middle" fill="#374151">{week.start:%d %b}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
