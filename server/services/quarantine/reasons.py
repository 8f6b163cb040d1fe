"""Words for the quarantine, in Chinese first and English: what the writer of a refused edit can do
about it (the refusal notice and the administrator's page show the same), the names of the
entries' statuses and of the document types.

Why an edit was refused is the catalogue's (`schemas.errors.REFUSALS`: a few words and a sentence
for each refusal code of the write rules, the same the field app's API answers with); this adds
what to do about it, which only the quarantine tells.
"""
from __future__ import annotations

from dataclasses import dataclass

from schemas.errors import REFUSALS


@dataclass(frozen=True)
class Action:
    zh: str  # what the writer can do
    en: str


@dataclass(frozen=True)
class Reason:
    label_zh: str  # a few words, for lists and filters
    label_en: str
    reason_zh: str  # why, as a sentence
    action_zh: str  # what the writer can do
    action_en: str


ACTIONS: dict[str, Action] = {
    "bad_document": Action(
        "请在手机上重新填写并保存这条记录；若反复出现，请把应用更新到最新版本。",
        "Fill in and save the record again; if it keeps happening, update the app."),
    "malformed_document": Action(
        "这通常是应用的问题：请把应用更新到最新版本后重新填写；仍不行请联系管理员。",
        "This is usually the app's fault: update it and fill in the record again; if that does not help, "
        "contact your administrator."),
    "half_character": Action(
        "请在手机上找到这条记录，把姓名、事由等文字中显示异常的字删掉重新输入，再保存；仍不行请把应用更新到最新版本。",
        "Find the record on the phone, retype the text that shows a broken character (a rare character cut in"
        " two, often in a name), and save it again; if that does not help, update the app."),
    "unknown_type": Action(
        "这可能是旧版应用造成的：请把应用更新到最新版本后重新填写。",
        "An older app version may have made it: update the app and fill in the record again."),
    "type_changed": Action(
        "请按原来的类型修改这条记录；需要另一类记录时请新建一条。",
        "Edit the record as the type it was; for another kind of record, create a new one."),
    "server_owned": Action(
        "无需处理，以服务器下发的内容为准；要报送排查结果，请填写排查报告。",
        "Nothing to do: the server's version stands. To report a round, fill in a screening report."),
    "role_not_allowed": Action(
        "请交由有权限的乡镇或区级人员办理。",
        "Ask someone whose role may write this kind of record (township or district staff)."),
    "operation_not_allowed": Action(
        "请交由有权限的人员办理（督办通知请改为“撤回”，审核请另做一次审核，督办答复请另写一条答复）。",
        "Ask someone who may do this (withdraw a supervision notice instead of deleting it; review again"
        " instead of changing a review; send a further reply instead of changing one)."),
    "bad_area": Action(
        "请在记录中选择所属村（社区）后重新保存。",
        "Choose the record's village or community and save again."),
    "out_of_scope": Action(
        "请检查所属区域是否选错；其他村（社区）的事项请交由当地村或乡镇办理。",
        "Check whether the area was chosen by mistake; matters of another village are for that village or the"
        " township."),
    "area_changed": Action(
        "请把所属区域改回原来的村（社区）；需要上级处理的纠纷请用“上报”。",
        "Set the area back to what it was; to hand a dispute to a higher level, escalate it."),
    "created_by_mismatch": Action(
        "请用本人账号登录后重新登记。",
        "Log in with your own account and register the record again."),
    "visitor_mismatch": Action(
        "走访人请填写您本人；他人的走访请由其本人登记。",
        "Record your own visits only; others record theirs."),
    "immutable_field": Action(
        "请把这些内容改回原值后再保存。",
        "Put those fields back as they were and save again."),
    "not_creator": Action(
        "如需删除，请联系登记人或管理员。",
        "Ask the person who registered it, or an administrator, to delete it."),
    "history_rewritten": Action(
        "请恢复原有的记录，用追加一条新记录的方式补充或更正。",
        "Restore the earlier entries and add a new entry to correct or complete them."),
    "escalation_by_mismatch": Action(
        "请以本人账号重新追加上报记录。",
        "Add the escalation again, signed with your own account."),
    "chase_by_mismatch": Action(
        "请以本人账号重新追加催办记录。",
        "Add the chase again, signed with your own account."),
    "escalation_out_of_scope": Action(
        "请检查上报的起始区域是否为您的辖区。",
        "Check that the escalation starts from your own area."),
    "nothing_to_delete": Action(
        "无需处理。",
        "Nothing to do."),
    "invalid_document": Action(
        "请对照表单检查必填项和填写格式（日期、电话、风险等级等）后重新保存；若反复出现，请把应用更新到最新版本。",
        "Check the required fields and formats (dates, phone numbers, risk level) and save again; if it keeps"
        " happening, update the app."),
    "not_own_level": Action(
        "村、乡镇的排查报告由村、乡镇自己填报；区级只填报本区的月度排查和季度研判。",
        "Villages and townships file their own reports; the district files its monthly and quarterly ones."),
    "step_not_allowed": Action(
        "请交由乡镇或区级（受理、交办、延期、办结等）或责任单位（办理、答复）填写这一环节。",
        "Leave this step to the office (accept, assign, extend, close) or to the responsible unit (handle, reply)."),
    "evaluation_kept": Action(
        "无需处理：评价保留原样；如有新的评价，请另录一条。",
        "Nothing to do: the evaluation stands; record a further one if the person gives another."),
    "no_matter": Action(
        "请先同步或登记这件纠纷，再填写办理环节。",
        "Sync or register the dispute first, then record its steps."),
    "step_area_mismatch": Action(
        "请把环节的所属区域改为事项的所属区域后重新保存。",
        "Set the step's area to the matter's area and save again."),
    "self_evaluation": Action(
        "请由未参与答复的人员向群众收集评价并录入。",
        "Have someone who did not write the reply collect and record the evaluation."),
    "second_extension": Action(
        "已延期过一次；请在延期后的期限内办结，或报请上级督办。",
        "The deadline was extended already: finish within it, or ask the supervisors."),
    "extension_too_long": Action(
        "请把延期天数改为不超过上限后重新保存。",
        "Ask for no more days than the limit and save again."),
    "no_hearing": Action(
        "请先组织听证并填写听证的办理记录，再终结；否则请用“办结”。",
        "Hold a hearing and record it first, or close the matter instead."),
    "out_of_order": Action(
        "请按受理、交办、办理、答复、评价、办结的顺序填写；已办结的事项须先“重新办理”。",
        "Record the steps in order (accept, assign, handle, reply, evaluate, close); reopen a finished matter first."),
    "bad_coordinates": Action(
        "请在信号较好的地方重新定位后再保存。",
        "Take the position again where the signal is better, and save."),
}
FALLBACK = Reason("被拒收", "Refused", "服务器拒收了这次修改。", "请联系管理员。", "Contact your administrator.")


def _reason(code: str, action: Action) -> Reason:
    words = REFUSALS[code]
    return Reason(words.title_zh, words.title_en, words.detail_zh, action.zh, action.en)


#: Every refusal code's words: the catalogue's, with what to do.
REASONS: dict[str, Reason] = {code: _reason(code, action) for code, action in ACTIONS.items()}


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
    "notice_reply": ("督办答复", "Notice reply"),
    "matter_step": ("办理环节", "Matter step"),
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
