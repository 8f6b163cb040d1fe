"""CouchDB's `/_session`: who am I, log in (the `AuthSession` cookie), log out.

The principal, the credentials' lockout and the server-side sessions are `server.core.auth`'s;
this is their CouchDB wire shape."""
from __future__ import annotations

from flask import Blueprint, g, request

from sync import errors
from sync.http import couch_json, error_response

from server.core.auth import (COOKIE, Principal, SessionEnded, check_credentials, current_principal, end_session,
                              set_session_cookie)


def _user_ctx(principal: Principal | None) -> dict:
    if principal is None:
        return {"name": None, "roles": []}
    roles = [principal.role] + (["_admin"] if principal.is_admin else [])
    return {"name": principal.name, "roles": roles}


def session_blueprint() -> Blueprint:
    bp = Blueprint("session", __name__)

    @bp.get("/_session")
    def get_session():
        principal = current_principal()
        if principal is None and g.get("session_ended"):
            # The cookie's session was ended on the server: say so (401), and drop the cookie.
            response = error_response(SessionEnded())
            response.delete_cookie(COOKIE)
            return response
        return couch_json({"ok": True, "userCtx": _user_ctx(principal),
                           "info": {"authentication_handlers": ["cookie", "default"]}})

    @bp.post("/_session")
    def post_session():
        if request.is_json:
            body = request.get_json(silent=True) or {}
        else:
            body = request.form
        name, password = body.get("name") or body.get("username"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            raise errors.BadRequest("name and password are required")
        principal = check_credentials(name, password)
        return set_session_cookie(couch_json({"ok": True, **_user_ctx(principal)}), principal)

    @bp.delete("/_session")
    def delete_session():
        end_session()  # on the server too: a copy of the cookie stops working
        response = couch_json({"ok": True})
        response.delete_cookie(COOKIE)
        return response

    return bp
