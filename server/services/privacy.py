"""Personal data of a matter, and who sees it whole (pure: no database, no request).

The design's rule for case handling: "personal data (names, ID numbers, phones) is seen only by those
handling the matter". Everything that reads a dispute for a person (the ledger pages, the exports,
`/api/v1`) asks `handles` once per matter and, for a viewer who does not handle it, shows
`masked_matter` instead of the document. Replication (the CouchDB API) does not: the phones of the
matter's area hold it offline and need it whole.

Masks:

    name       the surname (first character) and one ＊ per further character: 王建国 -> 王＊＊
    phone      the first 3 and the last 4 characters, every digit between them *: 13812344567 -> 138****4567
    ID number  the first 6, ********, the last 4: 610402199001011234 -> 610402********1234

A party's free text elsewhere in the matter (its summary, outcome, mediation notes, a step's
conclusion, a notice's subject) may quote a party's name or phone: `mask_text` replaces each
occurrence of the matter's own parties' names, phones and ID numbers by their masks.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping

NAME_MASK = "＊"  # full-width, the width of a Chinese character
DIGIT_MASK = "*"

#: A party's fields that are personal data, and their masks.
PARTY_FIELDS = ("name", "phone", "id_number")

#: A dispute's own free-text fields that may quote a party.
MATTER_TEXT_FIELDS = ("summary", "outcome", "category_detail")

# Roles as schemas/rules.py names them (written out: this module is pure and imports nothing).
_AREA_HANDLERS = ("village_cadre", "township_staff")
_ADMIN = "admin"
_ASSIGN = "assign"


def mask_name(name: Any) -> Any:
    """王建国 -> 王＊＊; a one-character name -> ＊. Not a string: left as it is."""
    if not isinstance(name, str) or not name:
        return name
    name = name.strip()
    if len(name) <= 1:
        return NAME_MASK
    return name[0] + NAME_MASK * (len(name) - 1)


def mask_phone(phone: Any) -> Any:
    """13812344567 -> 138****4567, 029-88886666 -> 029-****6666: the first 3 and the last 4
    characters kept, every digit between them masked; a shorter number keeps only its last 2."""
    if not isinstance(phone, str) or not phone:
        return phone
    keep_head, keep_tail = (3, 4) if len(phone) >= 10 else (0, 2)
    middle = phone[keep_head:len(phone) - keep_tail]
    return phone[:keep_head] + "".join(DIGIT_MASK if c.isdigit() else c for c in middle) + phone[len(phone) - keep_tail:]


def mask_id_number(number: Any) -> Any:
    """610402199001011234 -> 610402********1234 (the first 6 and the last 4 kept, always 8 masks
    between them, so the length of the number does not show either); a number of 10 characters or
    fewer is masked whole."""
    if not isinstance(number, str) or not number:
        return number
    if len(number) <= 10:
        return DIGIT_MASK * 8
    return number[:6] + DIGIT_MASK * 8 + number[-4:]


_MASKS = {"name": mask_name, "phone": mask_phone, "id_number": mask_id_number}


def mask_party(party: Any) -> Any:
    if not isinstance(party, Mapping):
        return party
    return {k: (_MASKS[k](v) if k in _MASKS else v) for k, v in party.items()}


def secrets_of(matter: Mapping[str, Any]) -> dict[str, str]:
    """The matter's parties' names, phones and ID numbers, each with its mask (longest first, so a
    full name is replaced before a shorter name inside it)."""
    found: dict[str, str] = {}
    for party in matter.get("parties") or []:
        if not isinstance(party, Mapping):
            continue
        for field in PARTY_FIELDS:
            value = party.get(field)
            if isinstance(value, str) and len(value.strip()) >= 2:
                found[value.strip()] = _MASKS[field](value)
    return dict(sorted(found.items(), key=lambda kv: -len(kv[0])))


def mask_text(text: Any, secrets: Mapping[str, str]) -> Any:
    """`text` with every occurrence of a secret (`secrets_of`) replaced by its mask."""
    if not isinstance(text, str) or not text or not secrets:
        return text
    for value, masked in secrets.items():
        if value in text:
            text = text.replace(value, masked)
    return text


def mask_strings(value: Any, secrets: Mapping[str, str]) -> Any:
    """Every string inside `value` (dicts and lists, at any depth) passed through `mask_text`;
    keys starting with `_` (a document's id, rev, attachments) left alone."""
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, Mapping):
        return {k: (v if isinstance(k, str) and k.startswith("_") else mask_strings(v, secrets)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_strings(v, secrets) for v in value]
    return value


def masked_matter(matter: Mapping[str, Any]) -> dict:
    """A copy of the dispute with its parties masked and their names, phones and ID numbers masked
    wherever its own text quotes them (summary, outcome, mediation, escalation, ...)."""
    secrets = secrets_of(matter)
    out = mask_strings(copy.deepcopy(dict(matter)), secrets)
    if isinstance(matter.get("parties"), list):
        out["parties"] = [mask_party(p) for p in matter["parties"]]
    return out


def handles(viewer: Any, matter: Mapping[str, Any], steps: Iterable[Mapping[str, Any]] = ()) -> bool:
    """Whether `viewer` (anything with `name`, `role` and `scope`, e.g. `server.core.auth.Principal`)
    handles the matter, and so sees its personal data whole:

    - the account that registered it (`created_by`);
    - a village cadre or township staff member whose area contains the matter's area (the cadres of
      its village, the staff of its township: the chain that works it; a village's cadres do not
      handle a neighbouring village's matter, and cannot even read it);
    - whoever an `assign` step (交办) of the matter names as the responsible account (`unit_account`),
      a district supervisor among them; a later assignment to someone else does not take it back
      from the earlier one, who has seen it;
    - an administrator (who keeps the accounts and corrects refused edits, which shows documents whole).

    A district supervisor who only supervises does not: they see the matter, its parties masked.
    `steps` are the matter's `matter_step` documents (any order; other matters' steps are ignored).
    """
    name, role, scope = getattr(viewer, "name", None), getattr(viewer, "role", None), getattr(viewer, "scope", None)
    if not name or not role:
        return False
    if role == _ADMIN:
        return True
    if matter.get("created_by") == name:
        return True
    area = matter.get("area")
    if role in _AREA_HANDLERS and isinstance(area, str) and isinstance(scope, str) and scope and area.startswith(scope):
        return True
    matter_id = matter.get("_id")
    for step in steps:
        if (step.get("kind") == _ASSIGN and step.get("unit_account") == name
                and (matter_id is None or step.get("matter_id") in (None, matter_id))):
            return True
    return False
