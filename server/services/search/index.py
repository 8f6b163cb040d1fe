"""The search index as a read model: each written document's text, and its character pairs."""
from __future__ import annotations

from typing import Any, Iterable

import sqlalchemy as sa

from server.core.projections import DocumentState
from server.services import privacy
from server.services.search.tables import search_documents, search_grams

KINDS = ("dispute", "screening_report", "household_visit", "household")
TITLE_LENGTH = 80


def normalise(text: str) -> str:
    """Lower case, without spaces, control characters and the separators people type or leave out
    in phone numbers."""
    return "".join(c for c in text.lower() if c.isprintable() and not c.isspace() and c not in "-()（）")


def grams(text: str, singles: bool = False) -> set[str]:
    """The pairs of consecutive characters of each line; with `singles`, each character too (names:
    a surname is searched alone)."""
    out: set[str] = set()
    for part in text.split("\n"):
        part = normalise(part)
        if singles:
            out.update(part)
        out.update(part[i:i + 2] for i in range(len(part) - 1))
    return out


def _strings(values: Iterable[Any]) -> list[str]:
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def texts(doc: dict) -> tuple[str, str, str]:
    """(title, public text, personal text) of a searchable document; lines are searched apart. The
    personal text is people's names and phones (a household's head too, though not masked)."""
    kind = doc.get("type")
    if kind == "dispute":
        parties = [p for p in doc.get("parties") or [] if isinstance(p, dict)]
        personal = _strings(p.get(f) for p in parties for f in ("name", "phone", "id_number"))
        # the text as those who do not handle the matter read it: a party quoted in it is searched
        # as personal data only
        secrets = privacy.secrets_of(doc)
        public = _strings(privacy.mask_text(doc.get(f), secrets) for f in privacy.MATTER_TEXT_FIELDS)
        return str(doc.get("summary") or "")[:TITLE_LENGTH], "\n".join(public), "\n".join(personal)
    if kind == "screening_report":
        conclusions = doc.get("conclusions")
        public = _strings([doc.get("summary"), *(conclusions if isinstance(conclusions, list) else [conclusions])])
        return str(doc.get("summary") or "")[:TITLE_LENGTH], "\n".join(public), ""
    if kind == "household":
        public = _strings([doc.get("address"), doc.get("notes")])
        title = " ".join(_strings([doc.get("head_name"), doc.get("address")]))
        return title[:TITLE_LENGTH], "\n".join(public), "\n".join(_strings([doc.get("head_name"), doc.get("phone")]))
    if kind == "household_visit":
        public = _strings([doc.get("notes")])
        return str(doc.get("notes") or "")[:TITLE_LENGTH], "\n".join(public), ""
    return "", "", ""


def project(conn: sa.Connection, db_name: str, states: list[DocumentState]) -> None:
    """Bring the index up to date with these documents (inside their write's transaction)."""
    ours = [s for s in states if s.deleted or s.type in KINDS or s.written_type in KINDS]
    if not ours:
        return
    ids = [s.doc_id for s in ours]
    conn.execute(search_grams.delete().where(search_grams.c.db_name == db_name, search_grams.c.doc_id.in_(ids)))
    conn.execute(search_documents.delete().where(search_documents.c.db_name == db_name,
                                                 search_documents.c.doc_id.in_(ids)))
    documents, pairs = [], []
    for s in ours:
        if s.deleted or s.type not in KINDS:
            continue
        title, public, personal = texts(s.body)
        area = str(s.body.get("area") or "")
        at = s.body.get("created_at") if isinstance(s.body.get("created_at"), str) else ""
        documents.append({"db_name": db_name, "doc_id": s.doc_id, "kind": s.type, "area": area,
                          "created_by": str(s.body.get("created_by") or "")[:100], "at": at[:40],
                          "title": title, "public_text": public, "personal_text": personal})
        pairs.extend({"db_name": db_name, "gram": g, "area": area, "doc_id": s.doc_id}
                     for g in grams(public) | grams(personal, singles=True))
    if documents:
        conn.execute(search_documents.insert(), documents)
    if pairs:
        conn.execute(search_grams.insert(), pairs)
