"""Words for the quarantine, in Chinese first and English: why an edit was refused and what its
writer can do (the refusal notice and the administrator's page show the same), the names of the
entries' statuses and of the document types.

The write rules (`schemas.rules`) give each refusal a stable code and an English sentence with the
particulars; the Chinese here is one sentence per code (the same wording as the field app's API
errors, `mobile_api.problems.REFUSALS_ZH`) plus what to do about it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    label_zh: str  # a few words, for lists and filters
    label_en: str
    reason_zh: str  # why, as a sentence
    action_zh: str  # what the writer can do
    action_en: str


_CHECK_APP = "请把应用更新到最新版本"

REASONS: dict[str, Reason] = {
    "bad_document": Reason(
        "记录无效", "Not a document", "这不是一条有效的记录。",
        f"请在手机上重新填写并保存这条记录；若反复出现，{_CHECK_APP}。",
        "Fill in and save the record again; if it keeps happening, update the app."),
    "malformed_document": Reason(
        "格式错误", "Malformed", "记录格式有误，服务器无法按原样保存（例如 JSON、编号或名称不正确）。",
        f"这通常是应用的问题：{_CHECK_APP}后重新填写；仍不行请联系管理员。",
        "This is usually the app's fault: update it and fill in the record again; if that does not "
        "help, contact your administrator."),
    "half_character": Reason(
        "残缺字", "Half a character", "记录中有一个残缺的字（常见于生僻字被截断，只剩半个字），服务器无法保存。",
        "请在手机上找到这条记录，把姓名、事由等文字中显示异常的字删掉重新输入，再保存；仍不行请把应用更新到最新版本。",
        "Find the record on the phone, retype the text that shows a broken character (a rare character "
        "cut in two, often in a name), and save it again; if that does not help, update the app."),
    "unknown_type": Reason(
        "类型未知", "Unknown type", "记录类型未知。",
        f"这可能是旧版应用造成的：{_CHECK_APP}后重新填写。",
        "An older app version may have made it: update the app and fill in the record again."),
    "type_changed": Reason(
        "改了类型", "Type changed", "记录的类型不能更改。",
        "请按原来的类型修改这条记录；需要另一类记录时请新建一条。",
        "Edit the record as the type it was; for another kind of record, create a new one."),
    "server_owned": Reason(
        "系统生成的记录", "Server-owned", "排查轮次、提醒和系统通知由系统生成，手机端不能新建、修改或删除。",
        "无需处理，以服务器下发的内容为准；要报送排查结果，请填写排查报告。",
        "Nothing to do: the server's version stands. To report a round, fill in a screening report."),
    "role_not_allowed": Reason(
        "角色无权", "Role not allowed", "您的角色不能保存此类记录。",
        "请交由有权限的乡镇或区级人员办理。",
        "Ask someone whose role may write this kind of record (township or district staff)."),
    "operation_not_allowed": Reason(
        "操作无权", "Operation not allowed", "您的角色不能对此类记录进行这项操作。",
        "请交由有权限的人员办理（督办通知请改为“撤回”，审核请修改审核状态）。",
        "Ask someone who may do this (withdraw a supervision notice instead of deleting it; change a "
        "review's status instead)."),
    "bad_area": Reason(
        "缺少区域", "No area", "记录缺少区域代码。",
        "请在记录中选择所属村（社区）后重新保存。",
        "Choose the record's village or community and save again."),
    "out_of_scope": Reason(
        "超出辖区", "Outside your area", "该记录所属区域不在您的辖区内。",
        "请检查所属区域是否选错；其他村（社区）的事项请交由当地村或乡镇办理。",
        "Check whether the area was chosen by mistake; matters of another village are for that "
        "village or the township."),
    "area_changed": Reason(
        "改了区域", "Area changed", "记录的所属区域不能更改（纠纷需上报时请使用上报记录）。",
        "请把所属区域改回原来的村（社区）；需要上级处理的纠纷请用“上报”。",
        "Set the area back to what it was; to hand a dispute to a higher level, escalate it."),
    "created_by_mismatch": Reason(
        "登记人不符", "Wrong author", "记录的登记人必须是您本人的账号。",
        "请用本人账号登录后重新登记。",
        "Log in with your own account and register the record again."),
    "visitor_mismatch": Reason(
        "走访人不符", "Wrong visitor", "只能登记您本人的走访：走访人必须是您本人的账号。",
        "走访人请填写您本人；他人的走访请由其本人登记。",
        "Record your own visits only; others record theirs."),
    "immutable_field": Reason(
        "改了不可改的内容", "Fixed field changed", "记录保存后，登记人、登记时间和走访人不能更改。",
        "请把这些内容改回原值后再保存。",
        "Put those fields back as they were and save again."),
    "not_creator": Reason(
        "非登记人删除", "Not the author", "只有记录的登记人可以删除它。",
        "如需删除，请联系登记人或管理员。",
        "Ask the person who registered it, or an administrator, to delete it."),
    "history_rewritten": Reason(
        "改了历史记录", "History rewritten", "已有的上报和调解记录不能修改或删除，只能追加。",
        "请恢复原有的记录，用追加一条新记录的方式补充或更正。",
        "Restore the earlier entries and add a new entry to correct or complete them."),
    "escalation_by_mismatch": Reason(
        "上报人不符", "Wrong escalation author", "追加的上报记录必须署您本人的账号。",
        "请以本人账号重新追加上报记录。",
        "Add the escalation again, signed with your own account."),
    "escalation_out_of_scope": Reason(
        "上报超出辖区", "Escalation outside your area", "只能从您的辖区向上报送。",
        "请检查上报的起始区域是否为您的辖区。",
        "Check that the escalation starts from your own area."),
    "nothing_to_delete": Reason(
        "无可删除", "Nothing to delete", "服务器上没有这条记录，无需删除。",
        "无需处理。", "Nothing to do."),
    "invalid_document": Reason(
        "内容不合格式", "Invalid content", "记录内容不符合格式要求。",
        f"请对照表单检查必填项和填写格式（日期、电话、风险等级等）后重新保存；若反复出现，{_CHECK_APP}。",
        "Check the required fields and formats (dates, phone numbers, risk level) and save again; if it "
        "keeps happening, update the app."),
    "bad_coordinates": Reason(
        "定位异常", "Impossible position", "定位坐标不可能是真实位置（例如 0,0 或超出范围）。",
        "请在信号较好的地方重新定位后再保存。",
        "Take the position again where the signal is better, and save."),
}
FALLBACK = Reason("被拒收", "Refused", "服务器拒收了这次修改。", "请联系管理员。", "Contact your administrator.")


def reason(code: str | None) -> Reason:
    return REASONS.get(code or "", FALLBACK)


STATUSES = ("held", "readmitted", "discarded", "superseded")
STATUS_NAMES: dict[str, tuple[str, str]] = {
    "held": ("待处理", "Held"),
    "readmitted": ("已重新接收", "Re-admitted"),
    "discarded": ("已作废", "Discarded"),
    "superseded": ("已被新版本取代", "Superseded"),
}
NOTICE_STATE_NAMES: dict[str, tuple[str, str]] = {
    "owed": ("待发送", "To be sent"),
    "open": ("已发送，待处理", "Sent, open"),
    "resolved": ("已发送，已标记处理完毕", "Sent, marked resolved"),
    "none": ("不发送（非手机端账号）", "Not sent (not a field account)"),
    "failed": ("发送失败（见服务器日志）", "Failed (see the server log)"),
}
DOC_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "household": ("住户", "Household"),
    "screening_round": ("排查轮次", "Screening round"),
    "screening_report": ("排查报告", "Screening report"),
    "dispute": ("矛盾纠纷", "Dispute"),
    "household_visit": ("入户走访", "Household visit"),
    "supervision_notice": ("督办通知", "Supervision notice"),
    "reminder": ("提醒", "Reminder"),
    "report_review": ("报告审核", "Report review"),
    "refusal_notice": ("拒收通知", "Refusal notice"),
}
# How a resolved notice reads on the phone.
RESOLUTION_ZH = {
    "superseded": "已处理：此后服务器已接收这条记录的新版本。",
    "readmitted": "已处理：管理员已重新接收这次修改（可能做了更正），请以服务器下发的版本为准。",
    "discarded": "已处理：管理员已作废这次修改，原因：{note}",
}


def name(names: dict[str, tuple[str, str]], key: str | None, lang: str = "zh") -> str:
    """The Chinese (or English) name of a status or type; an unknown one is shown as it is."""
    pair = names.get(key or "")
    if pair is None:
        return key or ""
    return pair[1] if lang == "en" else pair[0]
