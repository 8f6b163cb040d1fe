"""The dispute file's matter part (一案一档): the registration number, the stage, each deadline with
what is overdue, the 包案领导, the same party's other matters (重复) and whether it is collective (集体), and the whole trail in time order (registration, every step with who, when and
from which device, the supervision notices), for `templates/dispute.html`; and which step forms the
viewer gets. Reads only (services.matters, the audit trail)."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from schemas.rules import STEP_RULES
from schemas.vocabulary import (EVALUATION_RESULTS, EVALUATION_VIA, HANDLE_METHODS, REPLY_CHANNELS,
                                STEP_EVALUATE, STEP_HANDLE, STEP_REPLY)

from server.core import clock
from server.services import audit
from server.services.ledger import areas as ledger_areas
from server.services.matters import index, queries, stages

#: The forms the office's roles get; township staff (and administrators) also the unit's.
UNIT_FORMS = (STEP_HANDLE, STEP_REPLY, STEP_EVALUATE)
CHOICES = {"method": HANDLE_METHODS, "channel": REPLY_CHANNELS, "result": EVALUATION_RESULTS,
           "collected_via": EVALUATION_VIA}
_FAR = dt.datetime.max.replace(tzinfo=dt.timezone.utc)


def terms() -> stages.Terms:
    return index.terms_of(current_app.config)


def _first_entry(doc_id: str):
    entries = audit.history(current_app.config["PAICHA_DOMAIN_DB"], doc_id)
    return entries[0] if entries else None


def _event(at, what: str, by, entry, **more) -> dict:
    return {"at": stages.moment(at) if isinstance(at, str) else at, "what": what, "by": by,
            "device": entry.device_id if entry else None, "received": entry.at if entry else None, **more}


def forms_for(role: str) -> list[str]:
    kinds = [k for k, roles in STEP_RULES.items() if role in roles and k not in UNIT_FORMS]
    if role in ("township_staff", "admin"):
        kinds += list(UNIT_FORMS)
    return [k for k in STEP_RULES if k in kinds]


def matter_context(who, database, doc: dict, notices: list) -> dict:
    life = queries.life(database, doc, terms())
    late = stages.overdue(life, clock.today())
    events = [_event(doc.get("created_at"), "registered", doc.get("created_by"), _first_entry(doc["_id"]))]
    for step, refusal in life.trail:
        events.append(_event(step.get("at"), "step", step.get("created_by"), _first_entry(step["_id"]),
                             step=step, refusal=refusal))
    for n in notices:
        events.append(_event(n.created_at, "notice", n.created_by, None, notice=n))
    events.sort(key=lambda e: e["at"] or _FAR)  # stable: the steps keep their derived order
    repeats, repeat_total = queries.repeats(database, doc["_id"])
    forms = forms_for(who.role)
    # the assign and transfer forms name areas, never codes: the viewer's own (assign) and the district's
    # others (transfer), read only when the viewer gets those forms
    choices = dict(CHOICES)
    if "assign" in forms:
        choices["responsible_area"] = ledger_areas.under(who.scope or str(doc.get("area") or "")[:6])
    if "transfer" in forms:
        choices["to_area"] = [a for a in ledger_areas.under(str(doc.get("area") or "")[:6]) if a[0] != doc.get("area")]
    return {"number": queries.number_of(database, doc["_id"]), "life": life, "late": late, "events": events,
            "forms": forms, "choices": choices, "leader": queries.leader(database, doc, life),
            "repeats": repeats, "repeat_total": repeat_total,
            "collective": queries.collective(doc, current_app.config["PAICHA_MATTER_COLLECTIVE_PEOPLE"])}
