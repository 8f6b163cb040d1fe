"""Every error the field app's API can answer, in one catalogue (RFC 9457 problem details).

A handler raises `ApiProblem("code", ...)`; `render` turns it into `application/problem+json`:

    {"type": "https://paicha.example/problems/<code>", "title": ..., "status": ..., "detail": ...,
     "code": "<code>", ...extension members}

`code` is stable: clients branch on it (never on the wording), so a code is never renamed or given
another status; new ones are only added. Titles and details exist in Chinese (the default) and
English, chosen by Accept-Language. Write refusals of the domain rules (`schemas.rules`) keep their
own stable code in the `refusal` member, with a Chinese sentence for each.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app, has_request_context, json, request

from server.services.quarantine.reasons import REASONS

TYPE_BASE = "https://paicha.example/problems/"
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Entry:
    status: int
    zh: str  # title in Chinese
    en: str  # title in English
    detail_zh: str = ""  # detail template ({placeholders} filled from the problem's params)
    detail_en: str = ""


CATALOGUE: dict[str, Entry] = {
    # 400 -- the request itself is wrong
    "invalid_json": Entry(400, "请求体不是有效的 JSON", "Request body is not valid JSON",
                          "请求体必须是一个 JSON 对象。{reason_zh}",
                          "The request body must be a JSON object: {reason}."),
    "invalid_unicode": Entry(400, "文本不是有效的 Unicode", "Text is not valid Unicode",
                             "{field}：{reason_zh}", "{field}: {reason}."),
    "invalid_body": Entry(400, "请求内容不符合要求", "Request body does not match its schema",
                          "请求内容有 {count} 处不符合要求，见 errors。",
                          "The request body has {count} problem(s); see errors."),
    "invalid_parameter": Entry(400, "参数不正确", "Invalid parameter",
                               "参数 {name} 不正确：{reason}", "Parameter {name} is invalid: {reason}"),
    # 401 -- who are you?
    "unauthorized": Entry(401, "需要登录", "Authentication required",
                          "请先登录，再使用此功能。", "Log in first: send a bearer token."),
    "invalid_credentials": Entry(401, "用户名或密码错误", "Wrong name or password",
                                 "用户名或密码错误。", "The name or password is incorrect."),
    "invalid_token": Entry(401, "登录已失效", "Token is invalid or expired",
                           "登录凭证无效或已过期，请重新登录。",
                           "The token is invalid, expired or revoked: refresh it or log in again."),
    # 403 -- not for you
    "forbidden": Entry(403, "无权操作", "Not allowed",
                       "您的账号无权进行此操作。", "Your account may not do this."),
    "out_of_scope": Entry(403, "超出您的辖区", "Outside your area",
                          "区域 {area} 不在您的辖区 {scope} 内。", "Area {area} is outside your area {scope}."),
    "write_refused": Entry(403, "保存被拒绝", "Write refused",
                           "{reason_zh}", "{reason}"),
    # 404
    "not_found": Entry(404, "没有这个地址", "No such endpoint",
                       "接口 {path} 不存在。", "There is no endpoint {path}."),
    "record_not_found": Entry(404, "记录不存在", "Record not found",
                              "找不到记录 {id}（不存在、已删除或不在您的辖区内）。",
                              "No record {id} (it does not exist, was deleted, or is outside your area)."),
    "attachment_not_found": Entry(404, "附件不存在", "Attachment not found",
                                  "记录 {id} 没有附件 {name}。", "Record {id} has no attachment {name}."),
    "device_not_found": Entry(404, "设备不存在", "Device not found",
                              "账号 {account} 没有设备 {device_id}。", "Account {account} has no device {device_id}."),
    # 405
    "method_not_allowed": Entry(405, "不支持此请求方法", "Method not allowed",
                                "{path} 不支持 {method}。", "{path} does not support {method}."),
    # 409 -- retries and concurrent edits
    "id_taken": Entry(409, "编号已被占用", "Id already used for another record",
                      "编号 {id} 已有一条内容不同的记录。重试请发送完全相同的内容；新记录请换一个编号。",
                      "Id {id} already holds a record with different content. A retry must send the "
                      "same content; a new record needs a new id."),
    "edit_conflict": Entry(409, "记录已被修改", "Record changed meanwhile",
                           "记录 {id} 已被修改（当前版本 {current_rev}），请先获取最新内容再修改。",
                           "Record {id} has changed (current rev {current_rev}): fetch it and edit that."),
    "attachment_exists": Entry(409, "附件已存在", "Attachment already exists",
                               "记录 {id} 已有内容不同的附件 {name}；要替换，请带上当前版本号 rev。",
                               "Record {id} already has a different attachment {name}; to replace it, "
                               "send the current rev."),
    # 413 / 415 -- bodies
    "body_too_large": Entry(413, "请求体过大", "Request body too large",
                            "请求体超过 {limit} 字节。", "The request body is larger than {limit} bytes."),
    "attachment_too_large": Entry(413, "照片过大", "Attachment too large",
                                  "照片不能超过 {limit} 字节。", "An attachment may not exceed {limit} bytes."),
    "unsupported_media_type": Entry(415, "请求格式不支持", "Unsupported media type",
                                    "请求体须为 {expected}。", "The request body must be {expected}."),
    "attachment_type_not_allowed": Entry(415, "不支持的照片格式", "Attachment type not allowed",
                                         "只接受 {allowed} 格式的照片。", "Only {allowed} attachments are accepted."),
    "attachment_content_mismatch": Entry(415, "照片内容与格式不符", "Attachment content does not match its type",
                                         "上传的内容不是 {content_type} 文件。",
                                         "The uploaded bytes are not a {content_type} file."),
    # 422 -- well-formed, but not a document the rules accept
    "invalid_document": Entry(422, "记录内容不合规", "Document refused by validation",
                              "{reason_zh}", "{reason}"),
    # 429 / 5xx
    "too_many_attempts": Entry(429, "登录失败次数过多", "Too many failed logins",
                               "登录失败次数过多，请稍后再试。", "Too many failed logins. Try again later."),
    "internal_error": Entry(500, "服务器内部错误", "Internal server error",
                            "服务器出错了，请稍后重试。", "Something went wrong on the server. Try again later."),
    "unavailable": Entry(503, "服务器繁忙", "Service unavailable",
                         "服务器繁忙，请稍后重试。", "The server is busy. Try again later."),
}

#: Chinese sentences for the write rules' refusal codes (`schemas.rules.REFUSAL_CODES`), the same
#: words the refusal notices and the quarantine pages use; the rules give the English sentence.
REFUSALS_ZH: dict[str, str] = {code: words.reason_zh for code, words in REASONS.items()}
REFUSAL_TO_PROBLEM = {"invalid_document": "invalid_document", "malformed_document": "invalid_document",
                      "half_character": "invalid_document",
                      "bad_coordinates": "invalid_document"}


class ApiProblem(Exception):
    """Raise to answer with a catalogued problem. `params` fill the detail templates and are also
    sent as extension members (except the `reason_zh` helper)."""

    def __init__(self, code: str, *, headers: dict | None = None, **params):
        if code not in CATALOGUE:
            raise KeyError(f"unknown problem code {code!r}: add it to mobile_api.problems.CATALOGUE")
        super().__init__(code)
        self.code = code
        self.params = params
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return CATALOGUE[self.code].status


def language() -> str:
    if not has_request_context():
        return "zh"
    return request.accept_languages.best_match(LANGUAGES, default="zh") or "zh"


class _Defaults(dict):
    def __missing__(self, key):
        return ""


def body(problem: ApiProblem, lang: str | None = None) -> dict:
    lang = lang or language()
    entry = CATALOGUE[problem.code]
    params = _Defaults(problem.params)
    template = entry.detail_zh if lang == "zh" else entry.detail_en
    out = {
        "type": TYPE_BASE + problem.code,
        "title": entry.zh if lang == "zh" else entry.en,
        "status": entry.status,
        "code": problem.code,
    }
    detail = template.format_map(params) if template else ""
    if detail:
        out["detail"] = detail
    if has_request_context():
        out["instance"] = request.path
    for key, value in problem.params.items():
        if key not in out and key != "reason_zh" and value is not None:
            out[key] = value
    return out


def render(problem: ApiProblem) -> Response:
    lang = language()
    response = current_app.response_class(
        json.dumps(body(problem, lang), ensure_ascii=False), status=problem.status,
        mimetype="application/problem+json",
    )
    response.headers["Content-Language"] = lang
    response.vary.add("Accept-Language")
    if problem.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="paicha"'
    for key, value in problem.headers.items():
        response.headers[key] = value
    return response


def refused(reason) -> ApiProblem:
    """The problem for a write the domain rules refused (`reason` is a `schemas.rules.Refusal`,
    or a plain string when the store refused without a rule code)."""
    refusal = getattr(reason, "code", None)
    text = str(reason)
    if refusal is None:
        return ApiProblem("write_refused", reason=text, reason_zh=REFUSALS_ZH["out_of_scope"], refusal="out_of_scope")
    return ApiProblem(REFUSAL_TO_PROBLEM.get(refusal, "write_refused"), reason=text,
                      reason_zh=REFUSALS_ZH.get(refusal, text), refusal=refusal)


def catalogue(lang: str) -> list[dict]:
    """The catalogue as served at GET /api/v1/problems."""
    return [{"code": code, "type": TYPE_BASE + code, "status": e.status, "title": e.zh if lang == "zh" else e.en}
            for code, e in CATALOGUE.items()]
