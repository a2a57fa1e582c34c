"""The timeline chart: posts per month, stacked by policy, drawn as SVG for the PDF."""

from collections import Counter, OrderedDict

from markupsafe import escape

COLOURS = ["#b3261e", "#1f5fbf", "#8a5a00", "#2e7d32", "#6a1b9a", "#00838f", "#ad1457", "#4e342e", "#546e7a"]
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 680, 250, 36, 46, 12


def months_between(first: str, last: str) -> list[str]:
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def timeline_svg(points: list[tuple[str, str]]) -> str:
    """points: (YYYY-MM, policy label) per post and policy. Returns an SVG string, all text escaped."""
    if not points:
        return ""
    counts = Counter(points)
    policies = list(OrderedDict.fromkeys(p for _, p in sorted(points, key=lambda x: x[1])))
    months = months_between(min(m for m, _ in points), max(m for m, _ in points))
    if len(months) > 48:  # keep bars readable: the last four years with posts
        months = months[-48:]
    totals = {m: sum(counts[(m, p)] for p in policies) for m in months}
    peak = max(totals.values()) or 1
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    bar_w = plot_w / len(months)
    height = HEIGHT + 18 * ((len(policies) + 2) // 3)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}"'
             f' viewBox="0 0 {WIDTH} {height}" font-size="10" role="img">']
    for tick in sorted({0, peak // 2, peak}):
        y = TOP + plot_h - plot_h * tick / peak
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" fill="#555">{tick}</text>')
    for i, month in enumerate(months):
        x, base = LEFT + i * bar_w, TOP + plot_h
        for j, policy in enumerate(policies):
            n = counts[(month, policy)]
            if n:
                h = plot_h * n / peak
                base -= h
                parts.append(f'<rect x="{x + bar_w * 0.12:.1f}" y="{base:.1f}" width="{bar_w * 0.76:.1f}" '
                             f'height="{h:.1f}" fill="{COLOURS[j % len(COLOURS)]}"/>')
        if len(months) <= 12 or i % max(1, len(months) // 12) == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle" '
                         f'fill="#333">{month}</text>')
    for j, policy in enumerate(policies):
        col, row = j % 3, j // 3
        x, y = LEFT + col * 215, HEIGHT - 8 + row * 18
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLOURS[j % len(COLOURS)]}"/>'
                     f'<text x="{x + 14}" y="{y}" fill="#222">{escape(policy[:38])}</text>')
    parts.append("</svg>")
    return "".join(parts)
