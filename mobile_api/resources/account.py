"""Who am I (role, scope, areas, where to sync), and my devices."""
from __future__ import annotations

import re

import sqlalchemy as sa
from flask import current_app, request

from schemas.errors import PaichaError
from server.services import devices, tokens
from server.core.access import DEVICE_HEADER
from server.core.db import reading
from server.core.models import Account, Area

from mobile_api.api import bp, checked, ok
from mobile_api.context import json_body, principal, text_param, token_record
from mobile_api.openapi import operation, param, response_schema
from mobile_api.problems import language
from mobile_api.resources.session import DEVICE_ID, PRINTABLE, _iso

REGISTER = {"type": "object", "properties": {"device_id": DEVICE_ID,
                                             "label": {"type": "string", "maxLength": 300, "pattern": PRINTABLE}},
            "required": ["device_id"], "additionalProperties": False}
AREA = {"type": "object", "required": ["code", "name", "level"],
        "properties": {"code": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "string"},
                       "parent_code": {"type": ["string", "null"]}}}
_DEVICE_ID = re.compile(DEVICE_ID["pattern"])
HINT = {
    "zh": "用 PouchDB 等与 {url} 双向同步，请求头带 Authorization: Bearer <access_token> 和 "
          "X-Paicha-Device: <device_id>；访问令牌到期前用 POST /api/v1/auth/refresh 换新。",
    "en": "Replicate both ways with {url}, sending Authorization: Bearer <access_token> and "
          "X-Paicha-Device: <device_id>; before the access token expires, get a new one from "
          "POST /api/v1/auth/refresh.",
}
ACCOUNT_PARAM = param("account", {"type": "string", "minLength": 1, "maxLength": 100, "pattern": PRINTABLE},
                      "another account's name (administrators only)")


@response_schema("Me")
def _me_schema():
    return {
        "type": "object",
        "required": ["name", "role", "scope", "areas", "sync"],
        "properties": {
            "name": {"type": "string"}, "display_name": {"type": ["string", "null"]},
            "role": {"type": "string"}, "scope": {"type": "string"},
            "area": {"oneOf": [AREA, {"type": "null"}]},
            "parents": {"type": "array", "items": AREA},
            "areas": {"type": "array", "items": AREA},
            "sync": {"type": "object", "required": ["url", "db_name", "auth", "hint"],
                     "properties": {"url": {"type": "string"}, "db_name": {"type": "string"},
                                    "auth": {"type": "string"}, "headers": {"type": "object"},
                                    "hint": {"type": "string"}}},
            "token": {"type": ["object", "null"]},
        },
    }


@response_schema("DeviceRequest")
def _register_schema():
    return REGISTER


@response_schema("Device")
def _device_schema():
    return {"type": "object", "required": ["device_id", "active_tokens"],
            "properties": {"device_id": {"type": "string"}, "label": {"type": ["string", "null"]},
                           "first_seen_at": {"type": ["string", "null"]}, "last_sync_at": {"type": ["string", "null"]},
                           "active_tokens": {"type": "integer", "minimum": 0}}}


@response_schema("DeviceList")
def _devices_schema():
    return {"type": "object", "required": ["account", "items"],
            "properties": {"account": {"type": "string"},
                           "items": {"type": "array", "items": {"$ref": "#/components/schemas/Device"}}}}


def _area(row: Area) -> dict:
    return {"code": row.code, "name": row.name, "level": row.level, "parent_code": row.parent_code}


def sync_url() -> str:
    base = current_app.config.get("PAICHA_PUBLIC_URL") or request.host_url
    return base.rstrip("/") + "/" + current_app.config["PAICHA_DOMAIN_DB"]


@bp.get("/me")
@operation(summary="Who am I: role, scope and its areas, the sync URL and how to use the token", tag="account",
           ok={200: "Me"})
def me():
    who = principal()
    with reading() as session:
        account = session.get(Account, who.account_id)
        areas = session.execute(sa.select(Area).where(Area.code.startswith(who.scope))
                                .order_by(Area.code)).scalars().all()
        parents = [a for a in (session.get(Area, who.scope[:n]) for n in (6, 9) if n < len(who.scope)) if a]
    own = next((a for a in areas if a.code == who.scope), None)
    record = token_record()
    url = sync_url()
    body = {
        "name": who.name, "display_name": account.display_name if account else None, "role": who.role,
        "scope": who.scope, "area": _area(own) if own else None, "parents": [_area(a) for a in parents],
        "areas": [_area(a) for a in areas],
        "sync": {"url": url, "db_name": current_app.config["PAICHA_DOMAIN_DB"], "auth": "Bearer",
                 "headers": {"Authorization": "Bearer <access_token>", DEVICE_HEADER: "<device_id>"},
                 "hint": HINT[language()].format(url=url)},
        "token": {"device_id": record.device_id, "expires_at": _iso(record.expires_at)} if record else None,
    }
    return ok(body)


def _account_for(who) -> tuple[int, str]:
    """The account the request is about: the caller, or (administrators) `?account=`."""
    name = text_param("account")
    if name is None or name == who.name:
        return who.account_id, who.name
    if not who.is_admin:
        raise PaichaError("forbidden")
    account = devices.account_named(name)
    if account is None:
        raise PaichaError("invalid_parameter", name="account", reason="no such account")
    return account.id, account.name


@bp.get("/devices")
@operation(summary="My devices: registered, synced or holding a token", tag="account", ok={200: "DeviceList"},
           query=(ACCOUNT_PARAM,), problems=(403, 404))
def list_devices():
    who = principal()
    account_id, name = _account_for(who)
    return ok({"account": name, "items": [_device(d) for d in devices.listing(account_id)]})


@bp.post("/devices")
@operation(summary="Register this device (idempotent)", tag="account", body="DeviceRequest",
           ok={200: "Device", 201: "Device"}, problems=(415,))
def register_device():
    who = principal()
    body = checked(json_body(), REGISTER)
    created = devices.register(who.account_id, body["device_id"], body.get("label"))
    entry = next(d for d in devices.listing(who.account_id) if d.device_id == body["device_id"])
    return ok(_device(entry), 201 if created else 200)


def _device(device: devices.DeviceSummary) -> dict:
    def moment(value):
        return None if value is None else _iso(value)

    return {"device_id": device.device_id, "label": device.label, "first_seen_at": moment(device.first_seen_at),
            "last_sync_at": moment(device.last_sync_at), "active_tokens": device.active_tokens}


@bp.delete("/devices/<device_id>/tokens")
@operation(summary="Revoke every token of one of my devices (a lost phone)", tag="account", ok={200: "Revoked"},
           query=(ACCOUNT_PARAM,), problems=(403, 404), path={"device_id": DEVICE_ID})
def revoke_device(device_id: str):
    who = principal()
    account_id, name = _account_for(who)
    if not _DEVICE_ID.match(device_id):
        raise PaichaError("invalid_parameter", name="device_id", reason="not a device id")
    if not devices.known(account_id, device_id):
        raise PaichaError("device_not_found", account=name, device_id=device_id)
    return ok({"revoked": tokens.revoke_device(account_id, device_id), "device_id": device_id, "account": name})
