"""The search: a query's character pairs find the candidates in the viewer's area (search_grams),
each candidate's own text confirms it, and a match only in a matter's personal data counts for those
who see that matter whole."""
from __future__ import annotations

import dataclasses
import re

import sqlalchemy as sa

from server.services import file_access
from server.services.matters.tables import numbers
from server.services.search.index import normalise
from server.services.search.tables import search_documents, search_grams

MAX_QUERY = 50  # characters
CANDIDATES = 2000  # documents whose pairs match, confirmed one by one: more is a query too vague
REGISTRATION_NUMBER = re.compile(r"[0-9]{4}-[0-9]{1,6}|[0-9]{6}-[0-9]{4}-[0-9]{1,6}")
_CHUNK = 500


@dataclasses.dataclass(frozen=True)
class Hit:
    kind: str
    doc_id: str
    area: str
    at: str
    title: str
    number: str | None = None  # a matter's registration number


def _area_range(column, area: str):
    # every area code is digits: ":" sorts right after "9", so [area, area + ":") is the prefix
    return sa.and_(column >= area, column < area + ":") if area else sa.true()


def _candidates(conn, db_name: str, text: str, area: str) -> list[str]:
    pairs = {text} if len(text) == 1 else {text[i:i + 2] for i in range(len(text) - 1)}
    g = search_grams.c
    # grouped by an expression, not the column: SQLite would otherwise walk the per-document index in
    # doc_id order (the whole table) instead of the (gram, area) key
    doc = (g.doc_id + "").label("doc")
    query = (sa.select(doc).where(g.db_name == db_name, g.gram.in_(sorted(pairs)), _area_range(g.area, area))
             .group_by(doc).having(sa.func.count() == len(pairs)).limit(CANDIDATES))
    return list(conn.execute(query).scalars())


def _found_in(text: str, lines: str) -> bool:
    return any(text in normalise(line) for line in lines.split("\n"))


#: The orders the results offer (the document id breaks ties); their own is newest first.
SORT_KEYS = ("at", "kind", "area")


def search(database, who, query: str, area: str, limit: int = 50, *, sort: str = "at",
           descending: bool = True) -> tuple[list[Hit], bool]:
    """The documents of `area` (the viewer's, checked by the caller) that `query` finds, newest
    first (or in `sort` order), at most `limit`; and whether there were more."""
    if sort not in SORT_KEYS:
        raise ValueError(sort)
    text = normalise(query)[:MAX_QUERY]
    if not text:
        return [], False
    with database.store.reading() as conn:
        ids = _candidates(conn, database.name, text, area)
        rows = []
        for start in range(0, len(ids), _CHUNK):
            rows += conn.execute(sa.select(search_documents).where(
                search_documents.c.db_name == database.name,
                search_documents.c.doc_id.in_(ids[start:start + _CHUNK]))).mappings().all()
        by_number = {}
        if REGISTRATION_NUMBER.fullmatch(query.strip()):
            n = numbers.c
            by_number = dict(conn.execute(sa.select(n.doc_id, n.number).where(
                n.db_name == database.name, n.number.like(f"%{query.strip()}"),
                _area_range(n.area, area)).limit(CANDIDATES)).all())
            known = {r["doc_id"] for r in rows}
            missing = [i for i in by_number if i not in known]
            if missing:
                rows += conn.execute(sa.select(search_documents).where(
                    search_documents.c.db_name == database.name,
                    search_documents.c.doc_id.in_(missing[:_CHUNK]))).mappings().all()
    public = [r for r in rows if r["doc_id"] in by_number or _found_in(text, r["public_text"])]
    in_public = {r["doc_id"] for r in public}
    personal = [r for r in rows if r["doc_id"] not in in_public and _found_in(text, r["personal_text"])]
    if personal:  # a party's name or phone finds the matter only for those who see it whole
        whole = {r["doc_id"]: True for r in personal if r["kind"] != "dispute"}
        whole.update(file_access.handled(database, who, [{"id": r["doc_id"], "area": r["area"], "created_by": r["created_by"]}
                                                         for r in personal if r["kind"] == "dispute"]))
        public += [r for r in personal if whole[r["doc_id"]]]
    public.sort(key=lambda r: (r[sort] or "", r["doc_id"]), reverse=descending)
    more = len(public) > limit
    shown = public[:limit]
    disputes = [{"id": r["doc_id"], "area": r["area"], "created_by": r["created_by"], "title": r["title"]}
                for r in shown if r["kind"] == "dispute"]
    titles = {d["id"]: d["title"] for d in file_access.mask_rows(database, who, disputes, fields=("title",))}
    with database.store.reading() as conn:
        n = numbers.c
        registered = dict(conn.execute(sa.select(n.doc_id, n.number).where(
            n.db_name == database.name, n.doc_id.in_([d["id"] for d in disputes]))).all()) if disputes else {}
    return [Hit(r["kind"], r["doc_id"], r["area"], r["at"], titles.get(r["doc_id"], r["title"]),
                registered.get(r["doc_id"])) for r in shown], more
