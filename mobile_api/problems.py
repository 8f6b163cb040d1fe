"""The field app's API's errors: problem details (RFC 9457), rendered from the one catalogue.

Handlers raise `PaichaError("code", ...)` (`schemas.errors`); `render` turns any error of the
catalogue into `application/problem+json`:

    {"type": "https://paicha.example/problems/<code>", "title": ..., "status": ..., "detail": ...,
     "code": "<code>", ...extension members}

`code` is the entry's problem code, and the type, title and status are those of the problem's own
entry, so a problem always reads the same whichever error it came from. Clients branch on `code`
(never on the wording): a problem code is never renamed or given another status; new ones are
only added. The detail is the error's own, in Chinese (the default) or English, chosen by
Accept-Language; the error's params go along as extension members (a refused write's rule code as
`refusal`; a `reason_zh` only fills the Chinese detail).
"""
from __future__ import annotations

from flask import Response, current_app, has_request_context, json, request

from schemas.errors import CATALOGUE, LANGUAGES, ErrorEntry, PaichaError

TYPE_BASE = "https://paicha.example/problems/"

#: The problem codes, each its own entry of the catalogue, in the order GET /api/v1/problems lists them.
PROBLEMS: dict[str, ErrorEntry] = {code: entry for code, entry in CATALOGUE.items() if entry.problem == code}


def language() -> str:
    if not has_request_context():
        return "zh"
    return request.accept_languages.best_match(LANGUAGES, default="zh") or "zh"


def body(error: PaichaError, lang: str | None = None) -> dict:
    lang = lang or language()
    problem = PROBLEMS[error.entry.problem]
    out = {
        "type": TYPE_BASE + problem.code,
        "title": problem.title(lang),
        "status": problem.status,
        "code": problem.code,
    }
    detail = error.detail(lang)
    if detail:
        out["detail"] = detail
    if has_request_context():
        out["instance"] = request.path
    members = {**error.params, **({"reason": error.reason} if error.reason_given else {})}
    for key, value in members.items():
        if key not in out and key != "reason_zh" and value is not None:
            out[key] = value
    return out


def render(error: PaichaError) -> Response:
    lang = language()
    answer = body(error, lang)
    response = current_app.response_class(json.dumps(answer, ensure_ascii=False), status=answer["status"],
                                          mimetype="application/problem+json")
    response.headers["Content-Language"] = lang
    response.vary.add("Accept-Language")
    if answer["status"] == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="paicha"'
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


def catalogue(lang: str) -> list[dict]:
    """The problem codes as served at GET /api/v1/problems."""
    return [{"code": code, "type": TYPE_BASE + code, "status": e.status, "title": e.title(lang)}
            for code, e in PROBLEMS.items()]
