"""The supervision loop's writes (督办): issue a notice, chase it (催办), close or withdraw it, and
the unit's replies (答复). Each goes through the user-bound store with `server.services.records`, so
the write rules (`schemas.rules`: who may, in which scope, chases append-only and signed) decide
exactly as for a phone, and every write replicates to the area's phones.

A chase, a close and a withdrawal are edits of the notice, made on its current revision: one written
meanwhile (another supervisor's chase) is read again and the edit made on top of it, so no chase is
ever lost. A reply is a document of its own (id `reply-<notice id>~<time>-<random>`), in the
notice's area, never edited.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Callable

from schemas.errors import PaichaError
from schemas.vocabulary import NOTICE_CLOSED, NOTICE_ISSUED, NOTICE_WITHDRAWN

from server.services import records
from server.services.collections import NOTICES, REPLIES, child_id, stamp

NOTICE_PREFIX = "notice-"
REPLY_PREFIX = "reply-"
EDIT_ATTEMPTS = 3
TEXT_LIMIT = 10000


def new_notice_id() -> str:
    return f"{NOTICE_PREFIX}{uuid.uuid4()}"


def new_reply_id(notice_id: str, now: dt.datetime) -> str:
    return child_id(REPLY_PREFIX, notice_id, now)


def read_notice(database, notice_id: str) -> dict:
    """The notice as the handle's user may see it, or 404 record_not_found."""
    return records.read(database, NOTICES, notice_id)


def _open(notice: dict) -> None:
    if notice.get("status") != NOTICE_ISSUED:
        raise PaichaError("notice_not_open", id=notice["_id"])


def _edit(database, notice_id: str, change: Callable[[dict], dict], *, user: str, now: dt.datetime) -> dict:
    """Apply `change` (own fields -> own fields) to the notice's current revision; again on the
    newer one if it was written meanwhile."""
    for _ in range(EDIT_ATTEMPTS):
        current = read_notice(database, notice_id)
        _open(current)
        fields = {k: v for k, v in records.own_fields(current).items() if k not in ("updated_by", "updated_at")}
        try:
            return records.update(database, NOTICES, notice_id, {**change(fields), "rev": current["_rev"]},
                                  user=user, now=now).doc
        except PaichaError as error:
            if error.code != "edit_conflict":
                raise
    raise PaichaError("edit_conflict", id=notice_id, current_rev=read_notice(database, notice_id)["_rev"])


def chase(database, notice_id: str, *, method: str, note: str, user: str, now: dt.datetime) -> dict:
    entry = {"at": stamp(now), "by": user, "method": method}
    if note:
        entry["note"] = note[:TEXT_LIMIT]
    return _edit(database, notice_id, lambda f: {**f, "chases": list(f.get("chases") or []) + [entry]},
                 user=user, now=now)


def close(database, notice_id: str, *, note: str, user: str, now: dt.datetime) -> dict:
    def closed(fields: dict) -> dict:
        out = {**fields, "status": NOTICE_CLOSED, "closed_at": stamp(now)}
        if note:
            out["close_note"] = note[:TEXT_LIMIT]
        return out

    return _edit(database, notice_id, closed, user=user, now=now)


def withdraw(database, notice_id: str, *, reason: str, user: str, now: dt.datetime) -> dict:
    return _edit(database, notice_id,
                 lambda f: {**f, "status": NOTICE_WITHDRAWN, "withdraw_reason": reason[:TEXT_LIMIT]},
                 user=user, now=now)


def reply(database, notice_id: str, *, body: str, user: str, now: dt.datetime,
          reply_id: str | None = None) -> records.Outcome:
    """The unit's reply, in the notice's area (a retry with the same `reply_id` and body is the
    same reply)."""
    notice = read_notice(database, notice_id)
    _open(notice)
    fields = {"id": reply_id or new_reply_id(notice_id, now), "area": notice["area"], "notice_id": notice_id,
              "body": body}
    return records.create(database, REPLIES, fields, user=user, now=now)
