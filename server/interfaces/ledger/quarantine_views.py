"""The quarantine's pages, for administrators: /ledger/quarantine lists the refused edits (filters:
status, account, document type, dates, a part of the document id; pages), /ledger/quarantine/<id>
shows one (the document, who sent it when and from which device, why in Chinese, how many times it
came) with two decisions: correct it in place and re-admit it, or discard it with a reason.

Administrators only: every other account gets 403 on every page and post. An administrator with a
scope sees the entries of documents or writers in it (others are 404). Posts carry the ledger's
CSRF token. Decisions are `server.services.quarantine`'s: the re-admission is written through the normal
rules as the administrator, so a still-refused document is shown with why, and stays held.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import current_app, redirect, render_template, request, url_for

import schemas
from schemas.errors import PaichaError

from server.services import quarantine
from server.services.quarantine import decisions, entries, reasons
from server.core.clock import SHANGHAI
from server.core.db import reading
from server.core.access import domain_database
from server.interfaces.ledger.i18n import MESSAGES, lang, t
from server.interfaces.ledger.security import check_csrf, viewer
from server.interfaces.ledger.sorting import sort_of
from server.interfaces.ledger.views import _date, _page, bp, page_size, past_the_end

# The pages' words, added to the ledger's catalogue (key: (zh, en)).
MESSAGES.update({
    "quarantine": ("拒收记录", "Quarantine"),
    "q_title": ("被拒收的修改", "Refused edits"),
    "q_intro": ("手机和其他客户端提交、但被服务器拒收的修改都保存在这里，一个被拒收的版本一条；重复上传只增加次数。"
                "提交人的手机会收到拒收通知；在这里更正后重新接收或作废，通知会随之更新。",
                "Every edit the server refused is kept here, one entry per refused revision; sending it again only "
                "counts. The writer's phones receive a refusal notice, which follows what is decided here."),
    "q_status_all": ("全部", "All"),
    "q_account": ("提交账号", "Account"), "q_doc_type": ("记录类型", "Document type"),
    "q_doc_id": ("记录编号", "Document id"), "q_search_id": ("记录编号包含", "Document id contains"),
    "q_received": ("首次接收", "First received"), "q_last_received": ("最近接收", "Last received"),
    "q_times": ("接收次数", "Times received"), "q_reason": ("拒收原因", "Why it was refused"),
    "q_action": ("处理建议", "What to do"), "q_detail": ("技术细节（英文原文）", "Details"),
    "q_device": ("设备", "Device"), "q_entry": ("被拒收的修改 #{id}", "Refused edit #{id}"),
    "q_how": ("提交方式", "How it came"),
    "q_replicated": ("手机同步上传的版本 {rev}", "Replicated revision {rev}"),
    "q_direct": ("直接保存，修改的是版本 {rev}", "Direct edit of revision {rev}"),
    "q_direct_new": ("直接保存，新建记录", "Direct edit, new document"),
    "q_kept": ("服务器当前版本", "Server's current revision"),
    "q_kept_none": ("服务器上没有这条记录", "The server has no such document"),
    "q_notice": ("给提交人的通知", "Notice to the writer"),
    "q_document": ("提交的内容", "The document as sent"),
    "q_attachments": ("附件（按原样保留）", "Attachments (kept as sent)"),
    "q_bytes": ("{n} 字节", "{n} bytes"),
    "q_correct": ("更正并重新接收", "Correct and re-admit"),
    "q_correct_help": ("可直接修改下面的内容（JSON）；不修改则按原样重新接收。重新接收以您的管理员身份按正常规则检查，"
                       "仍不合规时会在此显示原因，记录保持待处理。",
                       "Edit the document below (JSON), or leave it as it is to re-admit it as sent. It is checked "
                       "by the normal rules, as you; if it is still refused you see why here and it stays held."),
    "q_readmit": ("重新接收", "Re-admit"), "q_discard": ("作废", "Discard"),
    "q_discard_reason": ("作废原因（必填，会告知提交人）", "Reason (required; the writer is told)"),
    "q_reason_required": ("请填写作废原因。", "A reason is required to discard."),
    "q_readmitted": ("已重新接收，版本 {rev}。", "Re-admitted as revision {rev}."),
    "q_discarded": ("已作废。", "Discarded."),
    "q_still_refused": ("仍被拒收：{reason}", "Still refused: {reason}"),
    "q_conflict": ("这条记录已被他人修改，请刷新页面后重试。", "The document changed meanwhile: reload and try again."),
    "q_not_held": ("这条记录已经处理过了。", "This entry has already been dealt with."),
    "q_bad_json": ("内容不是有效的 JSON：{detail}", "Not valid JSON: {detail}"),
    "q_not_an_object": ("内容必须是一个 JSON 对象。", "It must be a JSON object."),
    "q_id_changed": ("不能修改记录编号（_id）。", "The document id (_id) cannot change."),
    "q_unreadable": ("提交的内容不是可读的记录，请先更正再重新接收。",
                     "What was sent is not a readable document: correct it first."),
    "q_decision": ("处理结果", "Decision"), "q_decided_by": ("处理人", "By"), "q_decided_at": ("处理时间", "When"),
    "q_note": ("作废原因", "Reason"), "q_resolved_rev": ("接收的版本", "Revision written"),
    "q_view": ("查看", "View"), "q_none": ("没有符合条件的记录。", "Nothing matches."),
    "q_total": ("共 {n} 条", "{n} in all"), "q_back": ("返回列表", "Back to the list"),
    "q_writer_area": ("提交人辖区", "Writer's area"),
    "q_file": ("查看一案一档", "Open its file"),
})

ERROR_KEYS = {"bad_json": "q_bad_json", "not_an_object": "q_not_an_object", "id_changed": "q_id_changed",
              "unreadable": "q_unreadable", "not_held": "q_not_held", "note_required": "q_reason_required"}


def administrator():
    """Administrators only: 403 for every other account (after the ledger's login check)."""
    who = viewer()
    if who.role != "admin":
        raise PaichaError("forbidden_write")
    return who


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI).astimezone(dt.timezone.utc)


def _words():
    """Name helpers for the templates: statuses, types and reasons in the page's language."""
    language = lang()
    return {
        "status_name": lambda s: reasons.name(reasons.STATUS_NAMES, s, language),
        "type_name": lambda s: reasons.name(reasons.DOC_TYPE_NAMES, s, language) if s else "—",
        "reason_label": lambda c: (reasons.reason(c).label_en if language == "en" else reasons.reason(c).label_zh),
        "notice_name": lambda s: reasons.name(reasons.NOTICE_STATE_NAMES, s, language),
    }


@bp.get("/quarantine")
def quarantine_list():
    who = administrator()
    status = request.args.get("status", entries.HELD)
    if status not in entries.STATUSES + ("all",):
        raise PaichaError("bad_request")
    doc_type = request.args.get("type") or None
    if doc_type is not None and doc_type not in schemas.DOC_TYPES:
        raise PaichaError("bad_request")
    since, until = _date("since", None), _date("until", None)
    if since and until and since > until:
        raise PaichaError("bad_window")
    filters = quarantine.Filters(
        status=None if status == "all" else status, account=(request.args.get("account") or "").strip()[:100] or None,
        doc_type=doc_type, since=_day_start(since) if since else None,
        until=_day_start(until + dt.timedelta(days=1)) if until else None,
        doc_id=(request.args.get("q") or "").strip()[:255] or None)
    order = sort_of(entries.SORT_KEYS, "received", descending=True)
    page, size = _page(), page_size()
    with reading() as conn:
        total, rows = quarantine.search(conn, filters, who.scope, sort=order.key, descending=order.descending,
                                        offset=(page - 1) * size, limit=size)
    past_the_end(page, max(1, -(-total // size)))
    return render_template(
        "quarantine_list.html", rows=rows, total=total, page=page, pages=max(1, -(-total // size)),
        status=status, statuses=entries.STATUSES, doc_types=sorted(schemas.DOC_TYPES), doc_type=doc_type,
        since=since or "", until=until or "", account=request.args.get("account", ""), q=request.args.get("q", ""),
        order=order, **_words())


def _entry(who, entry_id: int):
    with reading() as conn:
        entry = entries.get(conn, entry_id, who.scope)
    if entry is None:
        raise PaichaError("missing")
    return entry


def _shown(doc):
    """The document for reading: attachment contents shortened to their size."""
    if not isinstance(doc, dict) or not isinstance(doc.get("_attachments"), dict):
        return doc
    atts = {}
    for name, att in doc["_attachments"].items():
        if isinstance(att, dict) and isinstance(att.get("data"), str):
            att = {**att, "data": t("q_bytes", n=len(att["data"]) * 3 // 4)}
        atts[name] = att
    return {**doc, "_attachments": atts}


def _render_entry(who, entry_id: int, *, message=None, error=None, draft=None, note=None, status=200):
    entry = _entry(who, entry_id)
    sent = decisions.original(entry)
    pretty = json.dumps(_shown(sent), ensure_ascii=False, indent=2) if sent is not None else entry.body
    editable = decisions.editable(sent)
    if draft is None:
        draft = json.dumps(editable, ensure_ascii=False, indent=2) if editable is not None else entry.body
    kept = None
    try:
        kept = domain_database(who).get(entry.doc_id)
    except Exception:  # noqa: BLE001 - absent, deleted, or outside the administrator's scope
        kept = None
    why = reasons.reason(entry.reason_code)
    detail = entry.reason or ""
    if detail.startswith(f"[{entry.reason_code}] "):
        detail = detail[len(entry.reason_code) + 3:]
    return render_template(
        "quarantine_entry.html", entry=entry, pretty=pretty, draft=draft, note=note or "", kept=kept,
        why=why, detail=detail, attachments=sorted(((sent or {}).get("_attachments") or {}).keys()),
        message=message, error=error, **_words()), status


@bp.get("/quarantine/<int:entry_id>")
def quarantine_entry(entry_id):
    who = administrator()
    done = request.args.get("done")
    message = None
    if done == "discarded":
        message = t("q_discarded")
    elif done == "readmitted":
        message = t("q_readmitted", rev=request.args.get("rev", "")[:100])
    return _render_entry(who, entry_id, message=message)


def _decision_words(exc: quarantine.DecisionError) -> str:
    if exc.code in ERROR_KEYS:
        return t(ERROR_KEYS[exc.code], detail=exc.detail)
    return PaichaError("bad_request").message(lang())


def _refused_words(outcome) -> str:
    if outcome.error == "conflict":
        return t("q_conflict")
    why = reasons.reason(outcome.code)
    label = why.reason_zh if lang() == "zh" else (outcome.reason or why.label_en)
    if lang() == "zh" and outcome.reason:
        label = f"{label}（{outcome.reason}）"
    return t("q_still_refused", reason=label)


@bp.post("/quarantine/<int:entry_id>/readmit")
def quarantine_readmit(entry_id):
    who = administrator()
    check_csrf()
    entry = _entry(who, entry_id)
    text = request.form.get("doc")
    corrected = None
    try:
        if text is not None and text.strip():
            corrected = decisions.parse_correction(text, entry.doc_id)
        outcome = quarantine.readmit(current_app._get_current_object(), entry_id, who, corrected)
    except quarantine.DecisionError as exc:
        return _render_entry(who, entry_id, error=_decision_words(exc), draft=text,
                             status=409 if exc.code == "not_held" else 422)
    if not outcome.ok:
        return _render_entry(who, entry_id, error=_refused_words(outcome), draft=text, status=422)
    return redirect(url_for("ledger.quarantine_entry", entry_id=entry_id, done="readmitted", rev=outcome.rev))


@bp.post("/quarantine/<int:entry_id>/discard")
def quarantine_discard(entry_id):
    who = administrator()
    check_csrf()
    _entry(who, entry_id)
    note = request.form.get("reason") or ""
    try:
        quarantine.discard(current_app._get_current_object(), entry_id, who, note)
    except quarantine.DecisionError as exc:
        return _render_entry(who, entry_id, error=_decision_words(exc), note=note,
                             status=409 if exc.code == "not_held" else 422)
    return redirect(url_for("ledger.quarantine_entry", entry_id=entry_id, done="discarded"))
