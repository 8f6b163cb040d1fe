"""The engine's errors: thin classes bound to the codes of the one catalogue (`schemas.errors`).

Handlers raise these; one function (`sync.http.error_response`) turns any catalogue error into
CouchDB's JSON body and status, and the same names build the per-document entries of `_bulk_docs`
and `_bulk_get`. PouchDB branches on the `error` names and the status codes, so the catalogue
gives them exactly as CouchDB does.
"""
from __future__ import annotations

from schemas.errors import CATALOGUE, PaichaError


class CouchError(PaichaError):
    """An error of the engine: `Class(reason=None, **params)`, its code the class's own."""

    code = "internal_error"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._bind()

    @classmethod
    def _bind(cls) -> None:
        # Class attributes, so that `errors.Conflict.error` reads without an instance, and one
        # error can be told another name (an HTTP error the catalogue does not know).
        entry = CATALOGUE[cls.code]
        cls.status, cls.error, cls.default_reason = entry.status, entry.couch, entry.reason

    def __init__(self, reason: str | None = None, **params):
        super().__init__(type(self).code, reason, **params)

    def body(self) -> dict:
        return {"error": self.error, "reason": self.reason}


CouchError._bind()


def _error(name: str, code: str, base: type[CouchError] = CouchError) -> type[CouchError]:
    return type(name, (base,), {"code": code})


BadRequest = _error("BadRequest", "bad_request")
QueryParseError = _error("QueryParseError", "query_parse_error")
InvalidJson = _error("InvalidJson", "invalid_json")
# Refused because text holds half of a character (a lone UTF-16 surrogate), as an app cutting a rare
# character in two sends it: its own name, so that the writer can be told plainly what to fix.
HalfCharacter = _error("HalfCharacter", "half_character")
DocValidation = _error("DocValidation", "doc_validation")
IllegalDatabaseName = _error("IllegalDatabaseName", "illegal_database_name")
Unauthorized = _error("Unauthorized", "unauthorized")
InvalidCredentials = _error("InvalidCredentials", "invalid_credentials", Unauthorized)
InvalidToken = _error("InvalidToken", "invalid_token", Unauthorized)
SessionEnded = _error("SessionEnded", "session_ended", Unauthorized)
Forbidden = _error("Forbidden", "forbidden")
NotFound = _error("NotFound", "missing")
DatabaseNotFound = _error("DatabaseNotFound", "database_not_found")
MethodNotAllowed = _error("MethodNotAllowed", "method_not_allowed")
NotAcceptable = _error("NotAcceptable", "not_acceptable")
Conflict = _error("Conflict", "edit_conflict")
FileExists = _error("FileExists", "file_exists")
MissingStub = _error("MissingStub", "missing_stub")
TooLarge = _error("TooLarge", "body_too_large")
DocumentTooLarge = _error("DocumentTooLarge", "document_too_large")
UnsupportedMediaType = _error("UnsupportedMediaType", "unsupported_media_type")
TooManyAttempts = _error("TooManyAttempts", "too_many_attempts")
ServiceUnavailable = _error("ServiceUnavailable", "unavailable")
UploadNotFound = _error("UploadNotFound", "upload_not_found")
UploadOffsetMismatch = _error("UploadOffsetMismatch", "upload_offset_mismatch")
UploadTooLarge = _error("UploadTooLarge", "upload_too_large")
TusVersion = _error("TusVersion", "tus_version")
UploadContentType = _error("UploadContentType", "upload_content_type")


class Refused(Forbidden):
    """A write refused (by the host's write check, or unread because malformed): CouchDB's
    `forbidden` with the refusal's sentence. In-process callers read `refusal` (the host's value:
    a `schemas.rules.Refusal` with its code, in the domain)."""

    def __init__(self, refusal):
        super().__init__(str(refusal))
        self.refusal = refusal


def bulk_entry(doc_id: str | None, err: CouchError) -> dict:
    """The `_bulk_docs` result entry for a refused document."""
    return {"id": doc_id, "error": err.error, "reason": err.reason}
