"""Log in, refresh, log out: bearer tokens for the app and for replication."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app

from schemas.errors import PaichaError
from server.services import devices, tokens
from server.core.auth import COOKIE, TooManyAttempts, check_credentials, end_session
from server.core.db import reading, writing
from server.core import clock
from server.core.models import Account
from sync import errors

from mobile_api.api import bp, checked, ok
from mobile_api.context import bearer, json_body, principal, token_record
from mobile_api.openapi import operation, response_schema

PRINTABLE = "^[^\\x00-\\x1f\\x7f]*$"
DEVICE_ID = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$",
             "description": "a stable id the app keeps for this phone (e.g. a UUID made at install)"}
LOGIN = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": PRINTABLE},
        "password": {"type": "string", "minLength": 1, "maxLength": 1000},
        "device_id": DEVICE_ID,
        "device_label": {"type": "string", "maxLength": 300, "pattern": PRINTABLE,
                         "description": "e.g. the phone's model"},
    },
    "required": ["name", "password", "device_id"],
    "additionalProperties": False,
}
REFRESH = {"type": "object", "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 200}},
           "required": ["refresh_token"], "additionalProperties": False}
LOGOUT = {"type": "object", "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 200}},
          "additionalProperties": False}


@response_schema("LoginRequest")
def _login_schema():
    return LOGIN


@response_schema("RefreshRequest")
def _refresh_schema():
    return REFRESH


@response_schema("LogoutRequest")
def _logout_schema():
    return LOGOUT


@response_schema("Token")
def _token_schema():
    return {
        "type": "object",
        "required": ["access_token", "token_type", "expires_at", "expires_in", "device_id", "account"],
        "properties": {
            "access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
            "expires_at": {"type": "string", "format": "date-time"}, "expires_in": {"type": "integer"},
            "refresh_token": {"type": "string"}, "refresh_expires_at": {"type": "string", "format": "date-time"},
            "device_id": {"type": "string"},
            "account": {"type": "object", "required": ["name", "role", "scope"],
                        "properties": {"name": {"type": "string"}, "role": {"type": "string"},
                                       "scope": {"type": "string"}}},
        },
    }


@response_schema("Revoked")
def _revoked_schema():
    return {"type": "object", "required": ["revoked"],
            "properties": {"revoked": {"type": "integer", "minimum": 0}, "device_id": {"type": ["string", "null"]},
                           "account": {"type": "string"}}}


def _seconds_left(moment: dt.datetime) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return max(0, int((aware - clock.now()).total_seconds()))


def _iso(moment: dt.datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return aware.isoformat(timespec="seconds")


def _locked_for(name: str) -> int | None:
    with reading() as session:
        locked = session.execute(sa.select(Account.locked_until).where(Account.name == name)).scalar()
    return _seconds_left(locked) if locked is not None else None


def _ttl(key: str, default: dt.timedelta) -> dt.timedelta:
    seconds = current_app.config.get(key)
    return dt.timedelta(seconds=int(seconds)) if seconds else default


@bp.post("/auth/login")
@operation(summary="Log in: an access token (and a refresh token) for this device", tag="session", auth=False,
           body="LoginRequest", ok={200: "Token"}, problems=(401, 415, 429),
           description="Wrong passwords count towards the same lockout as every other login (429 while "
                       "locked). The access token works here and for replication (Authorization: Bearer).")
def login():
    body = checked(json_body(), LOGIN)
    try:
        who = check_credentials(body["name"], body["password"])
    except TooManyAttempts:
        wait = _locked_for(body["name"])
        raise PaichaError("too_many_attempts", headers={"Retry-After": str(wait or 1)}) from None
    except errors.Unauthorized:
        raise PaichaError("invalid_credentials") from None
    device_id = body["device_id"]
    family = tokens.new_family()  # every token descended from this login
    # One write transaction: the device and both tokens are stored together, or none of them.
    with writing() as conn:
        devices.register(who.account_id, device_id, body.get("device_label"), conn=conn)
        access, expires = tokens.issue(who.account_id, device_id, "access",
                                       _ttl("PAICHA_API_ACCESS_SECONDS", tokens.ACCESS_TTL), conn=conn,
                                       family=family)
        refresh, refresh_expires = tokens.issue(who.account_id, device_id, "refresh",
                                                _ttl("PAICHA_API_REFRESH_SECONDS", tokens.REFRESH_TTL), conn=conn,
                                                family=family)
    return ok({"access_token": access, "token_type": "Bearer", "expires_at": _iso(expires),
               "expires_in": _seconds_left(expires), "refresh_token": refresh,
               "refresh_expires_at": _iso(refresh_expires), "device_id": device_id,
               "account": {"name": who.name, "role": who.role, "scope": who.scope}})


@bp.post("/auth/refresh")
@operation(summary="A new access token and a new refresh token from a refresh token", tag="session", auth=False,
           body="RefreshRequest", ok={200: "Token"}, problems=(401, 415),
           description="Refresh tokens rotate: the answer carries a new refresh token (with the same "
                       "refresh_expires_at: a login lasts the refresh lifetime) and the one sent is used up. "
                       "Keep the new one before discarding the old. Sending a used refresh token again is "
                       "taken as theft: 401 invalid_token with reason refresh_token_reused, and every access "
                       "and refresh token of that login is revoked, so the app must log in again.")
def refresh():
    body = checked(json_body(), REFRESH)
    try:
        rotated = tokens.rotate(body["refresh_token"], _ttl("PAICHA_API_ACCESS_SECONDS", tokens.ACCESS_TTL))
    except tokens.RefreshReused as reused:
        raise PaichaError("invalid_token", reason="refresh_token_reused", revoked=reused.revoked) from None
    if rotated is None:
        raise PaichaError("invalid_token")
    account = rotated.account
    return ok({"access_token": rotated.access, "token_type": "Bearer", "expires_at": _iso(rotated.access_expires),
               "expires_in": _seconds_left(rotated.access_expires), "refresh_token": rotated.refresh,
               "refresh_expires_at": _iso(rotated.refresh_expires), "device_id": rotated.device_id,
               "account": {"name": account.name, "role": account.role, "scope": account.scope}})


@bp.post("/auth/logout")
@operation(summary="Log this device out: revoke its access and refresh tokens", tag="session",
           body="LogoutRequest", body_optional=True, ok={200: "Revoked"}, problems=(415,),
           description="With a bearer token: every token of that token's device. With Basic or the cookie: "
                       "the refresh token given in the body, if any. In every case, an AuthSession cookie of "
                       "this account sent along is ended on the server (and cleared); `revoked` counts it too.")
def logout():
    who = principal()
    body = checked(json_body(optional=True), LOGOUT)
    record = token_record()
    ended = int(end_session(who.account_id))
    if record is not None and record.device_id:
        count = tokens.revoke_device(who.account_id, record.device_id)
        return _cleared(ok({"revoked": count + ended, "device_id": record.device_id, "account": who.name}), ended)
    count = ended + (int(tokens.revoke(bearer())) if record is not None else 0)
    if body.get("refresh_token"):
        found = tokens.lookup(body["refresh_token"], kind="refresh")
        if found is not None and found[1].id == who.account_id:
            count += int(tokens.revoke(body["refresh_token"]))
    return _cleared(ok({"revoked": count, "device_id": None, "account": who.name}), ended)


def _cleared(response, session_ended: int):
    """The answer, dropping the AuthSession cookie if its session was just ended."""
    if session_ended:
        response.delete_cookie(COOKIE)
    return response
