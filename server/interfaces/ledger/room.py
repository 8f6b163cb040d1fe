"""The online supervision room (网上督查室), /ledger/room: the key figures of the viewer's area
(`services.ledger.room`), each with its definition, a link to its records and its alert, per child
area; kept live by /ledger/room/stream, a Server-Sent Events stream woken by the store's change
notifications (the same that wake the `_changes` feeds), which recomputes the figures at most once
a second and sends them only when they changed.
"""
from __future__ import annotations

import json
import time

from flask import Response, current_app, render_template, request, stream_with_context, url_for

from server.core import clock
from server.core.access import domain_database
from server.services.ledger import room as room_figures
from server.interfaces.ledger.i18n import lang
from server.interfaces.ledger.security import area_in_scope, viewer
from server.interfaces.ledger.views import bp

#: At most one recomputation a second, however many writes arrive.
MIN_INTERVAL = 1.0
#: A comment line this often keeps proxies and browsers from closing an idle stream.
HEARTBEAT_SECONDS = 15.0
#: The figures are recomputed this often even without writes (overdue is a matter of the day).
RECOMPUTE_SECONDS = 60.0
#: A stream ends after this long (the browser reconnects at once), so it never holds a thread forever.
STREAM_SECONDS = 600.0


def _measure(database, area: str) -> room_figures.Room:
    config = current_app.config
    return room_figures.measure(database, area, clock.today(), window_days=config["PAICHA_LEDGER_DASHBOARD_DAYS"],
                                stale_days=config["PAICHA_LEDGER_STALE_DAYS"],
                                collective_people=config["PAICHA_MATTER_COLLECTIVE_PEOPLE"],
                                thresholds=room_figures.parse_thresholds(config["PAICHA_ROOM_ALERTS"]))


def records_link(key: str, code: str, room: room_figures.Room) -> str:
    """Where a number of the room leads: the list of the records it counts."""
    window = {"since": room.since.isoformat(), "until": room.until.isoformat()}
    if key in room_figures.DISPUTE_KEYS:
        return url_for("ledger.disputes", area=code, room=key)
    if key in room_figures.MATTER_FIGURES:
        figure = room_figures.MATTER_FIGURES[key]
        return url_for("ledger.disputes", area=code, figure=figure, part="num" if key == "repeat" else "den", **window)
    if key in room_figures.ROUND_LEVELS:
        return url_for("ledger.ledger", area=code, level=room_figures.ROUND_LEVELS[key], status="not_submitted", **window)
    if key == "notices_open":
        return url_for("ledger.notices", area=code, state="open")
    if key == "notices_overdue":
        return url_for("ledger.notices", area=code, state="overdue")
    if key == "flagged_visits":
        return url_for("ledger.visit_map", area=code, **window)
    if key == "stale_accounts":
        return url_for("ledger.dashboard", area=code) + "#stale-table"
    raise ValueError(key)


@bp.get("/room")
def room():
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    measured = _measure(domain_database(who), area)
    config = current_app.config
    figures = []
    for spec in room_figures.SPECS:
        name, definition = room_figures.words(spec, lang(), days=config["PAICHA_LEDGER_DASHBOARD_DAYS"],
                                              stale_days=config["PAICHA_LEDGER_STALE_DAYS"],
                                              collective_people=config["PAICHA_MATTER_COLLECTIVE_PEOPLE"])
        figures.append({"key": spec.key, "name": name, "definition": definition, "kind": spec.kind,
                        "threshold": measured.thresholds.get(spec.key)})
    return render_template("room.html", area=area, room=measured, figures=figures, link=records_link,
                           snapshot=measured.snapshot(), updated=clock.now())


def _event(snapshot: dict) -> str:
    data = json.dumps({"at": clock.now().isoformat(), "figures": snapshot}, ensure_ascii=False, separators=(",", ":"))
    return f"event: figures\ndata: {data}\n\n"


@bp.get("/room/stream")
def room_stream():
    """The room's figures as Server-Sent Events: the figures at once, then again whenever a commit
    changed them (at most once a second), a heartbeat comment when idle; ends after STREAM_SECONDS."""
    who = viewer()
    area = area_in_scope(who, request.args.get("area"))
    database = domain_database(who)
    notifier = database.store.notifier

    def events():
        started = time.monotonic()
        last = None
        yield "retry: 2000\n\n"
        while time.monotonic() - started < STREAM_SECONDS:
            version = notifier.version(database.name)
            computed_at = time.monotonic()
            snapshot = _measure(database, area).snapshot()
            if snapshot != last:
                last = snapshot
                yield _event(snapshot)
            beat_at = time.monotonic()
            while True:  # until a commit, or the time to recompute anyway
                now = time.monotonic()
                if now - computed_at >= RECOMPUTE_SECONDS or now - started >= STREAM_SECONDS:
                    break
                wait = min(HEARTBEAT_SECONDS - (now - beat_at), RECOMPUTE_SECONDS - (now - computed_at),
                           notifier.recheck_seconds())
                if notifier.wait(database.name, version, max(0.0, wait)):
                    break
                if time.monotonic() - beat_at >= HEARTBEAT_SECONDS:
                    beat_at = time.monotonic()
                    yield ": heartbeat\n\n"
                elif wait >= notifier.recheck_seconds():  # the safety net: a notice may have been lost
                    break
            pause = MIN_INTERVAL - (time.monotonic() - computed_at)
            if pause > 0:  # a burst of writes: one recomputation for all of it
                time.sleep(pause)

    response = Response(stream_with_context(events()), mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx passes it on as it comes
    return response
