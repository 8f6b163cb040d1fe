"""The weak-link benchmark's table, and what the phones' requests were."""
from __future__ import annotations

import collections

from .proxy import LinkProfile

SIDES = ("paicha", "pouchdb-server")


def kb(n: int) -> str:
    return f"{n / 1000:,.1f}"


def ratio(ours: float, theirs: float) -> str:
    return f"x{theirs / ours:.2f}" if ours else "-"


def table(results: dict, profile: LinkProfile, store: str, about: dict) -> str:
    lines = [f"\nPaicha ({store}) vs pouchdb-server 4.2.0 over a simulated link: {profile.down_bandwidth:,.0f} B/s down, "
             f"{profile.up_bandwidth:,.0f} B/s up, {profile.delay_s * 1000:.0f} ms each way, "
             f"{profile.setup_round_trips} round trip per new connection; the same PouchDB 9 phone. "
             f"KB = 1 000 bytes. Ratio: pouchdb-server's / Paicha's (> 1: Paicha is better).",
             f"load at start: {about.get('uptime_at_start', '?')}; at the end: {about.get('uptime_at_end', '?')}",
             f"{'scenario (client path)':<40} | {'Paicha':^30} | {'pouchdb-server':^30} | {'ratio':^27}",
             f"{'':<40} | {'time s':>7} {'up KB':>8} {'down KB':>8} {'req':>4} | {'time s':>7} {'up KB':>8} "
             f"{'down KB':>8} {'req':>4} | {'time':>6} {'up':>6} {'down':>6} {'req':>5}"]
    for key, row in results.items():
        for path_name, sides in row["paths"].items():
            o, p = sides.get("paicha"), sides.get("pouchdb-server")
            # A path only Paicha serves (the field app's upload) is set beside pouchdb-server's plain PouchDB.
            label = row["label"] + " (" + path_name + (", vs plain" if p is None else "") + ")"
            p = p or row["paths"].get("pouchdb", {}).get("pouchdb-server")
            if not (o and p):
                continue
            lines.append(
                f"{label:<40} | "
                f"{o['seconds']:>7.1f} {kb(o['bytes_up']):>8} {kb(o['bytes_down']):>8} {o['requests']:>4} | "
                f"{p['seconds']:>7.1f} {kb(p['bytes_up']):>8} {kb(p['bytes_down']):>8} {p['requests']:>4} | "
                f"{ratio(o['seconds'], p['seconds']):>6} {ratio(o['bytes_up'], p['bytes_up']):>6} "
                f"{ratio(o['bytes_down'], p['bytes_down']):>6} {ratio(o['requests'], p['requests']):>5}")
            if o["cuts"] or p["cuts"]:
                before = results.get("2_round_pushed", {}).get("paths", {}).get(path_name, {})
                extra = []
                for name, side in (("Paicha", o), ("pouchdb-server", p)):
                    resent = (f"{kb(side['bytes_up'] - before[name.lower()]['bytes_up'])} KB more up than "
                              f"uncut" if name.lower() in before else "")
                    extra.append(f"{name}: {side['attempts']} replications (the first cut), "
                                 f"{side['connections_refused']} connections refused, {resent}")
                for text in extra:
                    lines.append(f"{'':<40}   {text}")
    return "\n".join(lines)


def short_path(path: str) -> str:
    """`/paicha/_local/9f2...` -> `/paicha/_local/{id}`: the same kind of request, whatever id."""
    parts = path.split("/")
    if len(parts) > 3 and parts[2] in ("_local", "_design"):
        parts[3] = "{id}"
    elif len(parts) > 2 and parts[2] and not parts[2].startswith("_"):
        parts[2] = "{doc}"
    return "/".join(parts[:4])


def requests_made(exchanges: list[dict]) -> list[str]:
    """The requests in order, repeats folded: `GET /db/_changes x3`."""
    out: list[tuple[str, int]] = []
    for e in exchanges:
        kind = f"{e['method']} {short_path(e['path'])} {e['status'] or '-'}"
        if out and out[-1][0] == kind:
            out[-1] = (kind, out[-1][1] + 1)
        else:
            out.append((kind, 1))
    return [k if n == 1 else f"{k} x{n}" for k, n in out]


def encodings(exchanges: list[dict]) -> str:
    asked = collections.Counter(e["accept_encoding"] or "(none)" for e in exchanges)
    answered = collections.Counter(e["response_content_encoding"] or "identity" for e in exchanges)
    return (f"Accept-Encoding sent: {dict(asked)}; answers' Content-Encoding: {dict(answered)}")


def describe_requests(results: dict) -> str:
    lines = ["\nThe phones' requests, as the link saw them (method, path, status; - : cut before an answer):"]
    for key, row in results.items():
        for path_name, sides in row["paths"].items():
            for side in SIDES:
                if side in sides:
                    exchanges = sides[side]["exchanges"]
                    lines.append(f"{key} ({path_name}) {side}: " + ", ".join(requests_made(exchanges)))
                    lines.append(f"    {encodings(exchanges)}")
    return "\n".join(lines)
