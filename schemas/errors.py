"""Every error a user can get, in one catalogue; each interface renders an entry in its own shape.

An entry names one error: a stable `code`, the HTTP status, the name CouchDB gives it (`error` in
`{"error", "reason"}`: PouchDB branches on it), the problem code the field app's API answers with
(`/api/v1`, RFC 9457: clients branch on it), and a title and a detail sentence in Chinese and in
English (the ledger's pages show them; the API sends them). `reason` is CouchDB's English sentence
when the raiser gives none. Codes are stable: never renamed, never given another status or CouchDB
name; new ones are only added.

Every layer raises from here: `PaichaError(code, reason=None, **params)`, the engine through its
thin classes bound to a code (`sync.errors.Conflict`, ...). `params` fill the texts' `{placeholders}`
and travel with the error (the API sends them as extension members); `reason` is the English
sentence with the particulars.

A refused write is the error `write_refused` (or `invalid_document`, for a document the store cannot
take as it is); why, the write rules say with a refusal code (`schemas.rules.REFUSAL_CODES`: kept
with the refused revision, sent to its writer's phone). Each refusal code has its own entry in
:data:`REFUSALS`, with the words for it. They are apart from :data:`CATALOGUE` because they are the
rules' own vocabulary, and two of their codes (`out_of_scope`, `invalid_document`) are also error
codes with another meaning (an area asked for, a problem type).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas.rules import Refusal

LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class ErrorEntry:
    code: str
    status: int  # the HTTP status (on /api/v1 the status of its problem code's own entry)
    couch: str  # CouchDB's `error` name
    problem: str  # the problem code on /api/v1: the code of an entry of CATALOGUE
    title_zh: str
    title_en: str
    detail_zh: str  # templates: {placeholders} filled from the error's params
    detail_en: str
    reason: str  # CouchDB's `reason` when the raiser gives none (English, exactly as CouchDB says it)

    def title(self, lang: str = "zh") -> str:
        return self.title_en if lang == "en" else self.title_zh

    def detail(self, lang: str = "zh") -> str:
        return self.detail_en if lang == "en" else self.detail_zh


def _entries(*entries: ErrorEntry) -> dict[str, ErrorEntry]:
    found: dict[str, ErrorEntry] = {}
    for entry in entries:
        if entry.code in found:
            raise ValueError(f"error code {entry.code!r} is catalogued twice")
        found[entry.code] = entry
    return found


E = ErrorEntry
_PLEASE_RETRY_ZH = "请稍后重试。"

CATALOGUE: dict[str, ErrorEntry] = _entries(
    # -- the problem codes of /api/v1 (each its own problem), in the order GET /api/v1/problems lists them
    # 400: the request itself is wrong
    E("invalid_json", 400, "bad_request", "invalid_json", "请求体不是有效的 JSON", "Request body is not valid JSON",
      "请求体必须是一个 JSON 对象。{reason_zh}", "The request body must be a JSON object: {reason}.",
      "invalid UTF-8 JSON"),
    E("invalid_unicode", 400, "bad_request", "invalid_unicode", "文本不是有效的 Unicode", "Text is not valid Unicode",
      "{field}：{reason_zh}", "{field}: {reason}.", "The text is not valid Unicode."),
    E("invalid_body", 400, "bad_request", "invalid_body", "请求内容不符合要求", "Request body does not match its schema",
      "请求内容有 {count} 处不符合要求，见 errors。", "The request body has {count} problem(s); see errors.",
      "The request body does not match its schema."),
    E("invalid_parameter", 400, "bad_request", "invalid_parameter", "参数不正确", "Invalid parameter",
      "参数 {name} 不正确：{reason}", "Parameter {name} is invalid: {reason}", "Invalid parameter."),
    # 401: who are you?
    E("unauthorized", 401, "unauthorized", "unauthorized", "需要登录", "Authentication required",
      "请先登录，再使用此功能。", "Log in first: send a bearer token.", "You are not authorized to access this db."),
    E("invalid_credentials", 401, "unauthorized", "invalid_credentials", "用户名或密码错误", "Wrong name or password",
      "账号或密码错误。", "Name or password is incorrect.", "Name or password is incorrect."),
    E("invalid_token", 401, "unauthorized", "invalid_token", "登录已失效", "Token is invalid or expired",
      "登录凭证无效或已过期，请重新登录。", "The token is invalid, expired or revoked: refresh it or log in again.",
      "Token is invalid or expired."),
    # 403: not for you
    E("forbidden", 403, "forbidden", "forbidden", "无权操作", "Not allowed",
      "您的账号无权进行此操作。", "Your account may not do this.", "You are not allowed to access this db."),
    E("out_of_scope", 403, "forbidden", "out_of_scope", "超出您的辖区", "Outside your area",
      "区域 {area} 不在您的辖区 {scope} 内。", "Area {area} is outside your area {scope}.",
      "That area is outside your scope."),
    E("write_refused", 403, "forbidden", "write_refused", "保存被拒绝", "Write refused",
      "服务器拒绝保存这条记录。", "{reason}", "The write was refused."),
    # 404
    E("not_found", 404, "not_found", "not_found", "没有这个地址", "No such endpoint",
      "接口 {path} 不存在。", "There is no endpoint {path}.", "missing"),
    E("record_not_found", 404, "not_found", "record_not_found", "记录不存在", "Record not found",
      "找不到记录 {id}（不存在、已删除或不在您的辖区内）。",
      "No record {id} (it does not exist, was deleted, or is outside your area).", "missing"),
    E("attachment_not_found", 404, "not_found", "attachment_not_found", "附件不存在", "Attachment not found",
      "记录 {id} 没有附件 {name}。", "Record {id} has no attachment {name}.", "missing"),
    E("device_not_found", 404, "not_found", "device_not_found", "设备不存在", "Device not found",
      "账号 {account} 没有设备 {device_id}。", "Account {account} has no device {device_id}.", "missing"),
    # 405
    E("method_not_allowed", 405, "method_not_allowed", "method_not_allowed", "不支持此请求方法", "Method not allowed",
      "{path} 不支持 {method}。", "{path} does not support {method}.", "Method not allowed."),
    # 409: retries and concurrent edits
    E("id_taken", 409, "conflict", "id_taken", "编号已被占用", "Id already used for another record",
      "编号 {id} 已有一条内容不同的记录。重试请发送完全相同的内容；新记录请换一个编号。",
      "Id {id} already holds a record with different content. A retry must send the same content; a new "
      "record needs a new id.", "Document update conflict."),
    E("edit_conflict", 409, "conflict", "edit_conflict", "记录已被修改", "Record changed meanwhile",
      "记录 {id} 已被修改（当前版本 {current_rev}），请先获取最新内容再修改。",
      "Record {id} has changed (current rev {current_rev}): fetch it and edit that.", "Document update conflict."),
    E("notice_not_open", 409, "conflict", "notice_not_open", "督办已办结或已撤回", "Notice closed or withdrawn",
      "督办通知 {id} 已办结或已撤回，不能再答复、催办、办结或撤回。",
      "Supervision notice {id} is closed or withdrawn: it takes no more replies, chases, closing or withdrawal.",
      "The supervision notice is closed or withdrawn."),
    E("attachment_exists", 409, "conflict", "attachment_exists", "附件已存在", "Attachment already exists",
      "记录 {id} 已有内容不同的附件 {name}；要替换，请带上当前版本号 rev。",
      "Record {id} already has a different attachment {name}; to replace it, send the current rev.",
      "Document update conflict."),
    # 413 / 415: bodies
    E("body_too_large", 413, "too_large", "body_too_large", "请求体过大", "Request body too large",
      "请求体超过 {limit} 字节。", "The request body is larger than {limit} bytes.", "Request body is too large."),
    E("attachment_too_large", 413, "too_large", "attachment_too_large", "照片过大", "Attachment too large",
      "照片不能超过 {limit} 字节。", "An attachment may not exceed {limit} bytes.", "Attachment is too large."),
    E("unsupported_media_type", 415, "bad_content_type", "unsupported_media_type", "请求格式不支持",
      "Unsupported media type", "请求体须为 {expected}。", "The request body must be {expected}.",
      "Content-Type must be application/json"),
    E("attachment_type_not_allowed", 415, "bad_content_type", "attachment_type_not_allowed", "不支持的照片格式",
      "Attachment type not allowed", "只接受 {allowed} 格式的照片。", "Only {allowed} attachments are accepted.",
      "Attachment type not allowed."),
    E("attachment_content_mismatch", 415, "bad_content_type", "attachment_content_mismatch", "照片内容与格式不符",
      "Attachment content does not match its type", "上传的内容不是 {content_type} 文件。",
      "The uploaded bytes are not a {content_type} file.", "Attachment content does not match its type."),
    # 422: well-formed, but not a document the rules accept
    E("invalid_document", 422, "forbidden", "invalid_document", "记录内容不合规", "Document refused by validation",
      "记录内容不符合格式要求。", "{reason}", "Invalid document."),
    # 429 / 5xx
    E("too_many_attempts", 429, "too_many_requests", "too_many_attempts", "登录失败次数过多", "Too many failed logins",
      "登录失败次数过多，请稍后再试。", "Too many failed logins. Try again later.",
      "Too many failed logins. Try again later."),
    E("internal_error", 500, "unknown_error", "internal_error", "服务器内部错误", "Internal server error",
      "服务器出错了，" + _PLEASE_RETRY_ZH, "Something went wrong on the server. Try again later.", "Unexpected error."),
    E("unavailable", 503, "service_unavailable", "unavailable", "服务器繁忙", "Service unavailable",
      "服务器繁忙，" + _PLEASE_RETRY_ZH, "The server is busy. Try again later.", "Try again later."),

    # -- the CouchDB API's own errors (the engine's); on /api/v1 the nearest problem
    E("bad_request", 400, "bad_request", "invalid_body", "请求不正确", "Bad request",
      "请求参数不正确。", "Invalid request.", "Bad request."),
    E("query_parse_error", 400, "query_parse_error", "invalid_body", "查询不正确", "Invalid query",
      "查询参数不正确。", "Invalid query: {reason}", "Invalid query."),
    E("half_character", 400, "bad_request", "invalid_unicode", "文本中有残缺的字", "Half of a character",
      "文本中有一个残缺的字（半个字符，常见于生僻字被截断），不是有效的 Unicode 文本。", "{reason}",
      "The text holds half of a character (a lone UTF-16 surrogate)."),
    E("doc_validation", 400, "doc_validation", "invalid_body", "记录的特殊字段不正确", "Bad special document member",
      "记录中以下划线开头的字段不正确。", "{reason}", "Bad special document member."),
    E("illegal_database_name", 400, "illegal_database_name", "invalid_body", "数据库名称不正确", "Illegal database name",
      "数据库名称只能包含小写字母、数字和 _ $ ( ) + - /，并须以字母开头。", "{reason}",
      "Name: Only lowercase characters (a-z), digits (0-9), and any of the characters _, $, (, ), +, -, and / "
      "are allowed. Must begin with a letter."),
    E("bad_encoding", 400, "bad_request", "invalid_body", "请求体无法解压", "Compressed body is damaged",
      "请求体声明为 {encoding} 压缩，但无法解压（数据不完整或已损坏），请重新发送。",
      "{reason}",
      "The compressed request body cannot be decompressed."),
    E("unsupported_encoding", 415, "bad_content_type", "unsupported_media_type", "不支持的压缩方式",
      "Unsupported content encoding", "请求体的压缩方式 {encoding} 不受支持，请使用 {accepted} 或不压缩。",
      "Content-Encoding {encoding} is not supported: send {accepted}, or no encoding.",
      "Unsupported Content-Encoding."),
    E("missing", 404, "not_found", "record_not_found", "记录不存在", "Not found",
      "记录不存在（或不在您的辖区内）。", "Not found (or outside your area).", "missing"),
    E("database_not_found", 404, "not_found", "record_not_found", "数据库不存在", "Database not found",
      "数据库不存在。", "Database does not exist.", "Database does not exist."),
    E("not_acceptable", 406, "not_acceptable", "invalid_body", "无法提供所要求的格式", "Not acceptable",
      "服务器无法按所要求的格式回答。", "{reason}", "Not acceptable."),
    E("file_exists", 412, "file_exists", "invalid_body", "数据库已存在", "Database exists",
      "数据库已存在，无法再次创建。", "{reason}", "The database could not be created, the file already exists."),
    E("missing_stub", 412, "missing_stub", "invalid_body", "附件引用不存在", "Missing attachment stub",
      "记录引用了一个服务器上没有的附件。", "{reason}", "Attachment stub refers to a missing attachment."),
    E("document_too_large", 413, "document_too_large", "body_too_large", "记录过大", "Document too large",
      "记录过大，服务器无法保存。", "{reason}", "Document is too large."),
    E("session_ended", 401, "unauthorized", "unauthorized", "登录已结束", "Session ended",
      "您已退出登录，或密码已被修改，请重新登录。", "{reason}",
      "Your session has ended (logged out, or the password was changed). Log in again."),

    # -- resumable uploads (the tus protocol): the status codes tus clients act on
    E("upload_not_found", 404, "not_found", "record_not_found", "上传不存在或已过期", "Upload not found",
      "该上传不存在、已过期或不属于您的账号，请重新开始上传。",
      "This upload does not exist, has expired or belongs to another account: start it again.",
      "Upload not found (or expired)."),
    E("upload_offset_mismatch", 409, "conflict", "edit_conflict", "上传进度不一致", "Upload offset mismatch",
      "服务器已收到 {received} 字节，续传须从此处开始（请求从 {offset} 字节开始）。",
      "The server holds {received} bytes; resume from there (the request began at {offset}).",
      "Upload-Offset does not match the bytes the server holds."),
    E("upload_too_large", 413, "too_large", "body_too_large", "上传过大", "Upload too large",
      "上传的记录（含照片）过大：最多 {limit} 字节。", "The upload is too large: at most {limit} bytes.",
      "Upload-Length is over the server's limit."),
    E("tus_version", 412, "bad_request", "invalid_parameter", "上传协议版本不支持", "Unsupported tus version",
      "续传须使用 tus 协议 1.0.0（请求头 Tus-Resumable: 1.0.0）。",
      "Resumable uploads speak tus 1.0.0 (header Tus-Resumable: 1.0.0).",
      "Tus-Resumable 1.0.0 is required."),
    E("upload_content_type", 415, "bad_content_type", "unsupported_media_type", "续传数据类型不正确",
      "Wrong upload content type", "续传的数据须以 application/offset+octet-stream 发送。",
      "Upload bytes must be sent as application/offset+octet-stream.",
      "PATCH needs Content-Type: application/offset+octet-stream."),

    # -- the ledger's pages
    E("forbidden_role", 403, "forbidden", "forbidden", "无权访问", "Not allowed",
      "台账页面仅供乡镇干部、区级督查和管理员使用。",
      "The ledger pages are for township staff, district supervisors and administrators.",
      "The ledger is for township staff, district supervisors and administrators."),
    E("unknown_area", 404, "not_found", "record_not_found", "区域不存在", "No such area",
      "区域代码 {area} 不在区域名录中。", "Area {area} is not in the register of areas.",
      "No such area."),
    E("forbidden_area", 403, "forbidden", "out_of_scope", "超出您的辖区", "Outside your area",
      "该区域不在您的辖区内。", "That area is outside your area.", "That area is outside your scope."),
    E("forbidden_write", 403, "forbidden", "forbidden", "无权操作", "Not allowed",
      "您的账号不能进行此操作。", "Your account may not do this.", "Your account may not do this."),
    E("csrf_failed", 400, "bad_request", "invalid_parameter", "表单已过期", "Form expired",
      "表单已过期，请刷新页面后重试。", "The form has expired: reload the page and try again.",
      "The form's CSRF token is missing or invalid."),
    E("bad_date", 400, "bad_request", "invalid_parameter", "日期不正确", "Invalid date",
      "参数 {name} 不是有效日期：须为 1900 至 2100 年间的日期，格式 YYYY-MM-DD。",
      "Parameter {name} is not a valid date: it must be a day from 1900 to 2100, as YYYY-MM-DD.",
      "Invalid date: it must be a day from 1900 to 2100, as YYYY-MM-DD."),
    E("bad_window", 400, "bad_request", "invalid_parameter", "日期范围不正确", "Invalid period",
      "日期范围不正确：起始日期须早于截止日期，且相隔不超过 800 天。",
      "Invalid period: since must not be after until, and at most 800 days apart.",
      "Invalid period: since must not be after until, and at most 800 days apart."),
    E("bad_page", 400, "bad_request", "invalid_parameter", "页码不正确", "Invalid page",
      "参数 {name} 不正确：须为 1 至 100000 之间的整数。",
      "Parameter {name} is invalid: it must be a whole number from 1 to 100000.",
      "Invalid page: it must be a whole number from 1 to 100000."),
    E("bad_quarter", 400, "bad_request", "invalid_parameter", "季度不正确", "Invalid quarter",
      "参数 {name} 不是有效季度：须为 1900 至 2100 年间的季度，格式如 2026Q1。",
      "Parameter {name} is not a valid quarter: it must be like 2026Q1, from 1900 to 2100.",
      "Invalid quarter: it must be like 2026Q1, from 1900 to 2100."),
    E("bad_period", 400, "bad_request", "invalid_parameter", "期间不正确", "Invalid period",
      "参数 {name} 不是有效期间：须为 1901 至 2100 年间的月份（如 2026-11）、季度（如 2026Q4）或年份（如 2026）。",
      "Parameter {name} is not a valid period: a month (2026-11), a quarter (2026Q4) or a year (2026), "
      "from 1901 to 2100.",
      "Invalid period: a month (2026-11), a quarter (2026Q4) or a year (2026), from 1901 to 2100."),
    E("forbidden_access_log", 403, "forbidden", "forbidden", "无权查看查阅记录", "Not allowed",
      "档案查阅记录仅供区级督查和管理员查看。",
      "The file access log is for district supervisors and administrators.",
      "The file access log is for district supervisors and administrators."),
    E("bad_filter", 400, "bad_request", "invalid_parameter", "筛选条件不正确", "Invalid filter",
      "参数 {name} 不正确：须为 1 至 255 个可见字符。",
      "Parameter {name} is invalid: it must be 1 to 255 printable characters.",
      "Invalid filter: it must be 1 to 255 printable characters."),
    E("bad_sort", 400, "bad_request", "invalid_parameter", "排序方式不正确", "Invalid sort order",
      "此列表不能按“{name}”排序：可按 {allowed} 排序，方向为 asc（升序）或 desc（降序）。",
      "This list cannot be sorted by \u201c{name}\u201d: it sorts by {allowed}, in the direction asc or desc.",
      "Invalid sort order."),
)


def _refusal(code: str, problem: str, title_zh: str, title_en: str, detail_zh: str, reason: str) -> ErrorEntry:
    # CouchDB says `forbidden` for every refused write: PouchDB's replicator moves on past that
    # document (and reports it), and stops on anything else. The rules give the English sentence.
    return ErrorEntry(code, 403, "forbidden", problem, title_zh, title_en, detail_zh, "{reason}", reason)


_REFUSED, _UNFIT = "write_refused", "invalid_document"

#: Why a write was refused, by the write rules' refusal code (`schemas.rules.REFUSAL_CODES`). The
#: Chinese sentence is the one the refusal notice, the quarantine's pages and the API show.
REFUSALS: dict[str, ErrorEntry] = _entries(
    _refusal("bad_document", _REFUSED, "记录无效", "Not a document", "这不是一条有效的记录。",
             "This is not a valid document."),
    _refusal("malformed_document", _UNFIT, "格式错误", "Malformed",
             "记录格式有误，服务器无法按原样保存（例如 JSON、编号或名称不正确）。",
             "The document cannot be kept as it was sent."),
    _refusal("half_character", _UNFIT, "残缺字", "Half a character",
             "记录中有一个残缺的字（常见于生僻字被截断，只剩半个字），服务器无法保存。",
             "The text holds half of a character (a lone UTF-16 surrogate)."),
    _refusal("unknown_type", _REFUSED, "类型未知", "Unknown type", "记录类型未知。", "Unknown document type."),
    _refusal("type_changed", _REFUSED, "改了类型", "Type changed", "记录的类型不能更改。",
             "A document's type cannot be changed."),
    _refusal("server_owned", _REFUSED, "系统生成的记录", "Server-owned",
             "排查轮次、提醒和系统通知由系统生成，手机端不能新建、修改或删除。",
             "The server writes these documents; a device cannot create, change or delete them."),
    _refusal("role_not_allowed", _REFUSED, "角色无权", "Role not allowed", "您的角色不能保存此类记录。",
             "Your role cannot write this kind of document."),
    _refusal("operation_not_allowed", _REFUSED, "操作无权", "Operation not allowed",
             "您的角色不能对此类记录进行这项操作。", "Your role cannot do this to this kind of document."),
    _refusal("bad_area", _REFUSED, "缺少区域", "No area", "记录缺少区域代码。", "This document has no area code."),
    _refusal("out_of_scope", _REFUSED, "超出辖区", "Outside your area", "该记录所属区域不在您的辖区内。",
             "Document is outside your scope."),
    _refusal("area_changed", _REFUSED, "改了区域", "Area changed",
             "记录的所属区域不能更改（纠纷需上报时请使用上报记录）。",
             "A document cannot be moved to another area."),
    _refusal("created_by_mismatch", _REFUSED, "登记人不符", "Wrong author", "记录的登记人必须是您本人的账号。",
             "The field created_by must be your own account name."),
    _refusal("visitor_mismatch", _REFUSED, "走访人不符", "Wrong visitor",
             "只能登记您本人的走访：走访人必须是您本人的账号。", "You can only record your own visits."),
    _refusal("immutable_field", _REFUSED, "改了不可改的内容", "Fixed field changed",
             "记录保存后，登记人、登记时间和走访人不能更改。",
             "created_by, created_at and visitor cannot be changed once the document is saved."),
    _refusal("not_creator", _REFUSED, "非登记人删除", "Not the author", "只有记录的登记人可以删除它。",
             "Only the person who created this document can delete it."),
    _refusal("history_rewritten", _REFUSED, "改了历史记录", "History rewritten",
             "已有的上报、调解和催办记录不能修改或删除，只能追加。",
             "Earlier escalation, mediation and chase entries cannot be changed or removed."),
    _refusal("escalation_by_mismatch", _REFUSED, "上报人不符", "Wrong escalation author",
             "追加的上报记录必须署您本人的账号。", "An escalation you add must be signed with your own account name."),
    _refusal("chase_by_mismatch", _REFUSED, "催办人不符", "Wrong chase author",
             "追加的催办记录必须署您本人的账号。", "A chase you add must be signed with your own account name."),
    _refusal("escalation_out_of_scope", _REFUSED, "上报超出辖区", "Escalation outside your area",
             "只能从您的辖区向上报送。", "You can only escalate from your own area."),
    _refusal("nothing_to_delete", _REFUSED, "无可删除", "Nothing to delete", "服务器上没有这条记录，无需删除。",
             "There is nothing to delete: the server does not have this document."),
    _refusal("invalid_document", _UNFIT, "内容不合格式", "Invalid content", "记录内容不符合格式要求。",
             "Invalid document."),
    _refusal("not_own_level", _REFUSED, "非本级报告", "Not the district's own report",
             "区级督查只填报本区自己的排查报告，不能代替乡镇或村填报。",
             "A district supervisor files only the district's own reports."),
    _refusal("step_not_allowed", _REFUSED, "无权办理此环节", "Step not for your role",
             "受理、交办、转送、延期、办结、终结和重新办理由乡镇或区级办理；办理记录和答复由责任单位（村或乡镇）填写。",
             "Your role cannot record this step of a matter."),
    _refusal("evaluation_kept", _REFUSED, "评价不能删除", "Evaluation kept",
             "群众的评价按原样保存，任何人都不能删除。", "An evaluation is kept: nobody can delete it."),
    _refusal("no_matter", _REFUSED, "事项不存在", "No such matter",
             "这个办理环节所属的事项（纠纷）不存在或不在您的辖区内。", "There is no matter to record this step on."),
    _refusal("step_area_mismatch", _REFUSED, "环节区域不符", "Step outside its matter's area",
             "办理环节的所属区域必须与事项的所属区域相同。", "A step belongs to its matter's area."),
    _refusal("self_evaluation", _REFUSED, "答复人不能评价", "Replier cannot evaluate",
             "填写答复的账号不能录入评价，须由他人收集群众评价。",
             "The account that wrote the reply cannot record the evaluation."),
    _refusal("second_extension", _REFUSED, "只能延期一次", "One extension only",
             "事项的办理期限只能延期一次。", "A matter's handling deadline is extended once only."),
    _refusal("extension_too_long", _REFUSED, "延期过长", "Extension too long",
             "延期天数超过了规定的上限。", "An extension is limited in days."),
    _refusal("no_hearing", _REFUSED, "未经听证不能终结", "No hearing yet",
             "须先有听证的办理记录，事项才能终结。", "A matter is concluded only after a hearing."),
    _refusal("out_of_order", _REFUSED, "办理环节顺序不对", "Step out of order",
             "事项当前的办理阶段不能进行这一环节（例如未受理不能交办、未答复不能评价或办结、已办结须先重新办理）。",
             "The matter's stage does not allow this step now."),
    _refusal("bad_coordinates", _UNFIT, "定位异常", "Impossible position",
             "定位坐标不可能是真实位置（例如 0,0 或超出范围）。", "The position cannot be a real one."),
)


class _Blank(dict):
    """Template parameters: one the raiser did not give reads as nothing."""

    def __missing__(self, key):
        return ""


class PaichaError(Exception):
    """An error of the catalogue. `code` names its entry; `reason` is the English sentence with the
    particulars (CouchDB's `reason`; the entry's own when None); `params` fill the texts'
    placeholders. `headers` go on the HTTP answer, whatever its shape (`Retry-After`, `Allow`)."""

    code: str = "internal_error"

    def __init__(self, code: str, reason: str | None = None, *, headers: dict[str, str] | None = None, **params):
        if code not in CATALOGUE:
            raise KeyError(f"unknown error code {code!r}: add it to schemas.errors.CATALOGUE")
        self.code = code
        self.entry = self._entry_for(code)
        self.reason = reason or self.entry.reason
        self.reason_given = bool(reason)
        self.params = params
        self.headers = headers or {}
        super().__init__(self.reason)

    def _entry_for(self, code: str) -> ErrorEntry:
        return CATALOGUE[code]

    @property
    def status(self) -> int:
        return self.entry.status

    @property
    def error(self) -> str:
        """CouchDB's name for it."""
        return self.entry.couch

    def title(self, lang: str = "zh") -> str:
        return self.entry.title(lang)

    def detail(self, lang: str = "zh") -> str:
        """The detail sentence in `lang`, its placeholders filled (the reason among them)."""
        return self.entry.detail(lang).format_map(_Blank(self.params, reason=self.reason))

    def message(self, lang: str = "zh") -> str:
        """One sentence for a person: the detail, or the title when there is none."""
        return self.detail(lang) or self.title(lang)


class WriteRefused(PaichaError):
    """A write the rules refused: the error `write_refused` (or `invalid_document`), in the words of
    the refusal's own entry. `refusal` travels with it, and its code as the `refusal` parameter."""

    def __init__(self, refusal: Refusal):
        self.refusal = refusal
        super().__init__(REFUSALS[refusal.code].problem, refusal.reason, refusal=refusal.code)

    def _entry_for(self, code: str) -> ErrorEntry:
        return REFUSALS[self.refusal.code]

