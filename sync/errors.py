"""One catalogue of CouchDB errors.

Handlers raise these; one function turns any of them into CouchDB's JSON body and status, and the
same mapping builds the per-document entries of `_bulk_docs` and `_bulk_get`. PouchDB branches on
the `error` names and the status codes, so they follow CouchDB exactly.
"""
from __future__ import annotations


class CouchError(Exception):
    status = 500
    error = "unknown_error"
    default_reason = "Unexpected error."

    def __init__(self, reason: str | None = None):
        self.reason = reason or self.default_reason
        super().__init__(self.reason)

    def body(self) -> dict:
        return {"error": self.error, "reason": self.reason}


def _error(name: str, status: int, error: str, reason: str) -> type[CouchError]:
    return type(name, (CouchError,), {"status": status, "error": error, "default_reason": reason})


BadRequest = _error("BadRequest", 400, "bad_request", "Bad request.")
QueryParseError = _error("QueryParseError", 400, "query_parse_error", "Invalid query.")
InvalidJson = _error("InvalidJson", 400, "bad_request", "invalid UTF-8 JSON")
# Refused because text holds half of a character (a lone UTF-16 surrogate), as an app cutting a rare
# character in two sends it: its own name, so that the writer can be told plainly what to fix.
HalfCharacter = _error("HalfCharacter", 400, "bad_request",
                       "The text holds half of a character (a lone UTF-16 surrogate).")
DocValidation = _error("DocValidation", 400, "doc_validation", "Bad special document member.")
IllegalDatabaseName = _error(
    "IllegalDatabaseName", 400, "illegal_database_name",
    "Name: Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -,"
    " and / are allowed. Must begin with a letter.",
)
Unauthorized = _error("Unauthorized", 401, "unauthorized", "You are not authorized to access this db.")
Forbidden = _error("Forbidden", 403, "forbidden", "You are not allowed to access this db.")
NotFound = _error("NotFound", 404, "not_found", "missing")
DatabaseNotFound = _error("DatabaseNotFound", 404, "not_found", "Database does not exist.")
MethodNotAllowed = _error("MethodNotAllowed", 405, "method_not_allowed", "Method not allowed.")
NotAcceptable = _error("NotAcceptable", 406, "not_acceptable", "Not acceptable.")
Conflict = _error("Conflict", 409, "conflict", "Document update conflict.")
FileExists = _error(
    "FileExists", 412, "file_exists", "The database could not be created, the file already exists."
)
MissingStub = _error("MissingStub", 412, "missing_stub", "Attachment stub refers to a missing attachment.")
TooLarge = _error("TooLarge", 413, "too_large", "Request body is too large.")
DocumentTooLarge = _error("DocumentTooLarge", 413, "document_too_large", "Document is too large.")
UnsupportedMediaType = _error(
    "UnsupportedMediaType", 415, "bad_content_type", "Content-Type must be application/json"
)
ServiceUnavailable = _error("ServiceUnavailable", 503, "service_unavailable", "Try again later.")


def bulk_entry(doc_id: str | None, err: CouchError) -> dict:
    """The `_bulk_docs` result entry for a refused document."""
    return {"id": doc_id, "error": err.error, "reason": err.reason}
