"""Inline SVG charts and the offline map, drawn on the server (no script, no CDN)."""
from __future__ import annotations

from markupsafe import Markup, escape

from server.services.geo.crs import WGS84, from_wgs84

STATUS_COLOURS = {"on_time": "#2e7d32", "late": "#f9a825", "open": "#90a4ae", "overdue": "#c62828",
                  "missed": "#6d4c41", "missing": "#ad1457"}
FLAG_COLOUR, OK_COLOUR = "#c62828", "#1565c0"
MAP_LABELS_UP_TO = 60  # villages: more labels than this only overlap (each keeps its name as a tooltip)


def text_width(text: str, size: float) -> float:
    """A label's width, estimated (no fonts on the server): CJK characters are square, others about half."""
    return sum(size if ord(c) > 0x2E80 else size * 0.6 for c in text)


def stacked_bars(rows: list[dict], order: tuple[str, ...], label, width: int = 640) -> Markup:
    """One horizontal bar per row, stacked by status counts (`row["counts"]`)."""
    bar_h, gap, left = (18, 6, 150) if len(rows) <= 10 else (12, 4, 150)
    biggest = max([r["total"] for r in rows] + [1])
    right = 8 + text_width(str(biggest), 11)  # the widest total, written after its bar
    scale = (width - left - right) / biggest
    legend, lx, ly = [], 10.0, 0
    for status in order:  # wrapped onto as many lines as the words need
        step = 14 + text_width(label(status), 11) + 14
        if lx + step > width and lx > 10:
            lx, ly = 10.0, ly + 16
        legend.append((status, lx, ly))
        lx += step
    bars_h = max(1, len(rows)) * (bar_h + gap)
    height = bars_h + 14 + ly + 16
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, r in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        parts.append(f'<text x="{left - 6}" y="{y + bar_h - 3}" text-anchor="end" font-size="{min(12, bar_h)}">'
                     f'{escape(r["name"] or r["area"])}</text>')
        x = left
        for status in order:
            n = r["counts"].get(status, 0)
            if not n:
                continue
            w = n * scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{STATUS_COLOURS.get(status, "#999")}"><title>{escape(label(status))}: {n}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + bar_h - 3}" font-size="{min(11, bar_h)}">{r["total"]}</text>')
    for status, lx, ly in legend:
        y = bars_h + 14 + ly
        parts.append(f'<rect x="{lx:.1f}" y="{y - 9}" width="10" height="10" fill="{STATUS_COLOURS.get(status, "#999")}"/>'
                     f'<text x="{lx + 14:.1f}" y="{y}" font-size="11">{escape(label(status))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend_lines(points: list[tuple[str, float | None]], width: int = 640, height: int = 200) -> Markup:
    """A line of rates (0..1) by month."""
    left, bottom, top = 40, 30, 10
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#999"/>',
             f'<text x="4" y="{top + 4}" font-size="11">100%</text>',
             f'<text x="12" y="{height - bottom}" font-size="11">0%</text>']
    n = len(points)
    step = (width - left - 20) / max(n - 1, 1)
    coords = []
    for i, (label, rate) in enumerate(points):
        x = left + i * step
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" font-size="11" text-anchor="middle">{escape(label)}</text>')
        if rate is not None:
            y = top + (1 - rate) * (height - bottom - top)
            coords.append(f"{x:.1f},{y:.1f}")
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1565c0">'
                         f'<title>{escape(label)}: {rate:.0%}</title></circle>')
    if len(coords) > 1:
        parts.append(f'<polyline points="{" ".join(coords)}" fill="none" stroke="#1565c0" stroke-width="2"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def visit_map(villages: list[dict], visits: list[dict], width: int = 640, height: int = 480) -> Markup:
    """Village boundaries (or centres) and visit fixes, in an equirectangular projection fitted to
    the data. Flagged visits are red; each point has its visit id as a tooltip."""
    lats, lons = [], []
    for v in villages:
        if v["boundary"]:
            for polygon in v["boundary"]:
                for ring in polygon:
                    for lon, lat in ring:
                        lats.append(lat)
                        lons.append(lon)
        elif v["centre"]:
            lats.append(v["centre"][0])
            lons.append(v["centre"][1])
    for p in visits:
        if p["wgs84"]:
            lats.append(p["wgs84"]["lat"])
            lons.append(p["wgs84"]["lon"])
    parts = [f'<svg class="map" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><rect width="{width}" height="{height}" fill="#f4f1e8"/>']
    if not lats:
        parts.append("</svg>")
        return Markup("".join(parts))
    pad = 0.002
    min_lat, max_lat, min_lon, max_lon = min(lats) - pad, max(lats) + pad, min(lons) - pad, max(lons) + pad
    import math

    kx = math.cos(math.radians((min_lat + max_lat) / 2))
    span_x, span_y = (max_lon - min_lon) * kx, max_lat - min_lat
    scale = min((width - 20) / span_x, (height - 20) / span_y)

    def xy(lat, lon):
        return 10 + (lon - min_lon) * kx * scale, height - 10 - (lat - min_lat) * scale

    labelled = len(villages) <= MAP_LABELS_UP_TO
    for v in villages:
        name = escape(v["name"] or v["code"])
        if v["boundary"]:
            for polygon in v["boundary"]:
                for ring in polygon:
                    pts = " ".join("%.1f,%.1f" % xy(lat, lon) for lon, lat in ring)
                    parts.append(f'<polygon points="{pts}" fill="#e3edd5" stroke="#7a8f5a" stroke-width="1">'
                                 f'<title>{name}</title></polygon>')
        if v["centre"]:
            x, y = xy(*v["centre"])
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="none" stroke="#555"><title>{name}</title></circle>')
            if labelled:  # on the side with room for it
                flip = x + 7 + text_width(str(v["name"] or v["code"]), 12) > width
                anchor = ' text-anchor="end"' if flip else ""
                parts.append(f'<text x="{x - 7 if flip else x + 7:.1f}" y="{y + 4:.1f}" font-size="12" fill="#333"'
                             f'{anchor}>{name}</text>')
    for p in visits:
        if not p["wgs84"]:
            continue
        x, y = xy(p["wgs84"]["lat"], p["wgs84"]["lon"])
        colour = FLAG_COLOUR if p["flags"] else OK_COLOUR
        tip = escape(f'{p["visit_id"]} {p["visitor"]} {p["visited_at"]} {" ".join(p["flags"])}')
        parts.append(f'<circle class="visit{" flagged" if p["flags"] else ""}" cx="{x:.1f}" cy="{y:.1f}" r="4" '
                     f'fill="{colour}" fill-opacity="0.8"><title>{tip}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def tile_origin(template: str) -> str | None:
    """The CSP source of a tile URL template: its scheme and host, `{s}` subdomains as `*`
    (None for a same-origin path like /tiles/{z}/{x}/{y}.png, or anything odd)."""
    import re
    from urllib.parse import urlsplit

    parts = urlsplit(template)
    if parts.scheme not in ("http", "https"):
        return None
    host = re.sub(r"\{[a-z]\}", "*", parts.netloc)
    if not re.fullmatch(r"[A-Za-z0-9.*:\-\[\]]+", host):
        return None
    return f"{parts.scheme}://{host}"


def tile_map_data(villages: list[dict], visits: list[dict], tiles: str, crs: str, attribution: str = "") -> dict:
    """What static/map.js plots on the tile map: [lat, lon] in the tiles' system (Chinese tile
    servers use GCJ-02; visits and boundaries are stored in WGS-84), flagged visits marked."""
    def at(lat: float, lon: float) -> list[float]:
        if crs != WGS84:
            lat, lon = from_wgs84(lat, lon, crs)
        return [round(lat, 7), round(lon, 7)]

    out_villages = []
    for v in villages:
        rings = [[at(lat, lon) for lon, lat in ring] for polygon in (v["boundary"] or []) for ring in polygon]
        out_villages.append({"name": v["name"] or v["code"], "rings": rings,
                             "centre": at(*v["centre"]) if v["centre"] else None})
    points = [{"at": at(p["wgs84"]["lat"], p["wgs84"]["lon"]), "flagged": bool(p["flags"]),
               "tip": f'{p["visit_id"]} {p["visitor"]} {p["visited_at"]} {" ".join(p["flags"])}'.strip()}
              for p in visits if p["wgs84"]]
    return {"tiles": tiles, "crs": crs, "attribution": attribution, "villages": out_villages, "visits": points,
            "colours": {"flagged": FLAG_COLOUR, "ok": OK_COLOUR}}
