"""Line charts as inline SVG, rendered on the server (no JavaScript, no CDN)."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 560, 160, 34
COLORS = ("#2b6cb0", "#c05621", "#2f855a", "#b83280", "#6b46c1", "#975a16", "#2c7a7b", "#c53030")


def line_chart(series: dict[str, list[tuple[int, float]]], *, unit: str, title: str) -> str:
    """An SVG with one polyline per series (x: time in ms, y: value), a legend and the max."""
    points = [p for values in series.values() for p in values]
    label = escape(title)
    if not points:
        return (f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} 40">'
                f'<text x="8" y="24">{label}: no samples yet</text></svg>')
    x0 = min(t for t, _ in points)
    x1 = max(max(t for t, _ in points), x0 + 1)
    top = max(max(v for _, v in points), 1.0)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def xy(t: int, v: float) -> str:
        return (f"{PAD + (t - x0) * inner_w / (x1 - x0):.1f},"
                f"{HEIGHT - PAD - v * inner_h / top:.1f}")

    parts = [
        f'<svg class="chart" role="img" aria-label="{label}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + 18 * len(series)}">',
        f'<text x="{PAD}" y="16" class="chart-title">{label}</text>',
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        'class="axis"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{HEIGHT - PAD}" class="axis"/>',
        f'<text x="4" y="{PAD + 4}" class="tick">{_num(top)}</text>',
        f'<text x="4" y="{HEIGHT - PAD}" class="tick">0</text>',
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - PAD + 14}" class="tick" text-anchor="end">'
        f'{(x1 - x0) / 60000:.1f} min ({escape(unit)})</text>',
    ]
    for i, (name, values) in enumerate(sorted(series.items())):
        color = COLORS[i % len(COLORS)]
        if len(values) == 1:
            x, y = xy(*values[0]).split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{color}"/>')
        else:
            line = " ".join(xy(t, v) for t, v in values)
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.6" '
                         f'points="{line}"/>')
        last = _num(values[-1][1])
        parts.append(f'<text x="{PAD}" y="{HEIGHT + 4 + 18 * i}" fill="{color}" class="legend">'
                     f'{escape(name)}: {last}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _num(value: float) -> str:
    return f"{value:.1f}" if value < 10 and value != int(value) else f"{int(value)}"
