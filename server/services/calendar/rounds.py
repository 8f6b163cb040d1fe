"""Issuing rounds: the `screening_round` documents the calendar expects, written once each.

A round's id is deterministic (`periods.round_id`), so creating the rounds of a stretch of days is
"write the missing ones" (`documents.write_missing`): idempotent, and safe with two processes at
once. A round created only after its due date (the server was down, or a backfill) says so in its
title and `generated_late`, and counts as missed, not overdue.
"""
from __future__ import annotations

import datetime as dt

from flask import Flask

import schemas

from server.services.calendar.documents import SERVER_ACCOUNT, WriteSummary, domain_database, write_missing
from server.services.calendar.periods import CalendarConfig, PlannedRound, planned_rounds, stamp
from server.services.calendar.status import generated_late
from server.services.calendar.tracking import areas_by_level


def _schema_has(doc_type: str, name: str) -> bool:
    return name in schemas.load_schema(doc_type).get("properties", {})


def round_document(planned: PlannedRound, now: dt.datetime) -> dict:
    late = generated_late(now, planned.due_instant)
    doc = {
        "_id": planned.id,
        "type": "screening_round",
        "area": planned.area,
        "created_by": SERVER_ACCOUNT,
        "created_at": stamp(now),
        "level": planned.level,
        "period_start": planned.period.start.isoformat(),
        "period_end": planned.period.end.isoformat(),
        "due_date": planned.due_date.isoformat(),
        "round_key": planned.key,
        "title": planned.title + ("（系统补建，创建时已过截止日期）" if late else ""),
    }
    if late and _schema_has("screening_round", "generated_late"):
        doc["generated_late"] = True
    return doc


def ensure_rounds(app: Flask, first: dt.date, last: dt.date, now: dt.datetime,
                  area_prefix: str = "") -> tuple[WriteSummary, list[str]]:
    """Create every round of the calendar whose period overlaps [first, last]. Returns the write
    summary and the ids of the rounds created already past due (missed)."""
    config = CalendarConfig.from_config(app.config)
    planned = planned_rounds(config, areas_by_level(app, area_prefix), first, last)
    docs = [round_document(p, now) for p in planned]
    summary = write_missing(domain_database(app), docs)
    created = set(summary.created)
    missed = [p.id for p in planned if p.id in created and generated_late(now, p.due_instant)]
    return summary, missed
