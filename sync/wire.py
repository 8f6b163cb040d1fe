"""The engine's typed results as CouchDB's JSON, member for member and in CouchDB's order.

Used where the protocol is spoken: the HTTP views (`http.py`) and the bridge's local side, which
hands the replicator what a remote server would send. PouchDB reads these shapes, so they follow
CouchDB exactly.
"""
from __future__ import annotations

from .errors import bulk_entry
from .results import AllDocsPage, AllDocsRow, BulkGetResult, Change, DatabaseInfo, Missing, RevsDiff, WriteResult


def write_result(result: WriteResult) -> dict:
    if result.error is None:
        return {"ok": True, "id": result.id, "rev": result.rev}
    return bulk_entry(result.id, result.error)


def bulk_docs(results: list[WriteResult], new_edits: bool) -> list[dict]:
    """`_bulk_docs`' answer: an entry per document; with new_edits=false only the refused ones."""
    if new_edits:
        return [write_result(r) for r in results]
    return [bulk_entry(r.id, r.error) for r in results if r.error is not None]


def info(database: DatabaseInfo) -> dict:
    return {
        "db_name": database.name,
        "update_seq": database.update_seq,
        "doc_count": database.doc_count,
        "doc_del_count": database.doc_del_count,
        "purge_seq": 0,
        "compact_running": False,
        "disk_format_version": 8,
        "instance_start_time": "0",
        "sizes": {"active": 0, "external": 0, "file": 0},
        "props": {},
    }


def all_docs_row(row: AllDocsRow, include_docs: bool) -> dict:
    if row.rev is None:
        return {"key": row.key, "error": "not_found"}
    value = {"rev": row.rev}
    if row.deleted:
        value["deleted"] = True
    entry = {"id": row.key, "key": row.key, "value": value}
    if include_docs:
        entry["doc"] = row.doc
    return entry


def all_docs(page: AllDocsPage, include_docs: bool, update_seq: bool, by_keys: bool) -> dict:
    result = {"total_rows": page.total_rows, "offset": page.offset,
              "rows": [all_docs_row(row, include_docs) for row in page.rows]}
    if update_seq:
        result["update_seq"] = None if by_keys else page.update_seq  # CouchDB's null
    return result


def change(entry: Change, include_docs: bool) -> dict:
    out = {"seq": entry.seq, "id": entry.id, "changes": [{"rev": rev} for rev in entry.revs]}
    if entry.deleted:
        out["deleted"] = True
    if include_docs:
        out["doc"] = entry.doc
    return out


def open_revs(entries: list) -> list[dict]:
    """`open_revs`' answer: {"ok": document} for each revision found, {"missing": rev} for the others."""
    return [{"missing": entry.rev} if isinstance(entry, Missing) else {"ok": entry} for entry in entries]


def bulk_get(results: list[BulkGetResult]) -> list[dict]:
    return [{"id": result.id, "docs": [
        {"ok": doc} if isinstance(doc, dict)
        else {"error": {"id": result.id, "rev": doc.rev, "error": doc.error.error, "reason": doc.error.reason}}
        for doc in result.docs]} for result in results]


def revs_diff(diffs: dict[str, RevsDiff]) -> dict:
    out = {}
    for doc_id, diff in diffs.items():
        entry = {"missing": diff.missing}
        if diff.possible_ancestors:
            entry["possible_ancestors"] = diff.possible_ancestors
        out[doc_id] = entry
    return out
