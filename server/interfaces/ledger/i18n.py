"""A small message catalogue for the ledger pages: Chinese by default, English on request. (Errors
have their words in the one error catalogue, `schemas.errors`.)

`?lang=en` (or `?lang=zh`) switches and is remembered in the `paicha_lang` cookie. Keys missing in
English fall back to Chinese, keys missing everywhere show as themselves (so a gap is visible).
"""
from __future__ import annotations

from flask import g, request

LANGS = ("zh", "en")
COOKIE = "paicha_lang"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "app": ("排查台账", "Screening ledger"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"),
    "name": ("账号", "Account"), "password": ("密码", "Password"),
    "dashboard": ("总览", "Dashboard"), "ledger": ("台账", "Ledger"), "disputes": ("矛盾纠纷", "Disputes"),
    "figures": ("统计指标", "Figures"), "quarterly": ("季度重点纠纷", "Quarterly key disputes"),
    "map": ("走访地图", "Visit map"), "notice_new": ("下发督办", "Issue supervision notice"),
    "period_from": ("起", "From"), "period_to": ("止", "To"), "filter": ("筛选", "Filter"),
    "area": ("区域", "Area"), "level": ("层级", "Level"), "round": ("排查轮次", "Round"),
    "period": ("周期", "Period"), "due": ("截止", "Due"), "status": ("状态", "Status"),
    "submitted_at": ("提交时间", "Submitted"), "report": ("报告", "Report"), "review": ("审核", "Review"),
    "review_status": ("审核状态", "Review status"), "comment": ("审核意见", "Comment"),
    "save_review": ("保存审核", "Save review"), "review_saved": ("审核已保存。", "Review saved."),
    "comment_required": ("“有问题”或“退回”时须填写审核意见。", "A comment is required for “has issues” and “sent back”."),
    "review_none": ("未审核", "Not reviewed"),
    "resubmitted": ("已更正重报，待复审", "Corrected, awaiting re-review"), "add_review": ("再次审核", "Review again"),
    "on_time": ("按时", "On time"), "late": ("迟报", "Late"), "open": ("进行中", "Open"),
    "overdue": ("逾期未报", "Overdue"), "missed": ("漏报（补建）", "Missed"), "missing": ("缺失", "Missing"),
    "not_submitted": ("未报", "Not submitted"), "total": ("合计", "Total"),
    "received": ("已接收", "Received"), "has_issues": ("有问题", "Has issues"),
    "approved": ("已通过", "Approved"), "sent_back": ("退回", "Sent back"),
    "village": ("村（社区）", "Village"), "township": ("乡镇（街道）", "Township"), "district": ("区", "District"),
    "lvl_village": ("村级", "Village"), "lvl_township": ("乡镇级", "Township"), "lvl_district": ("区级", "District"),
    "lvl_quarterly": ("季度研判", "Quarterly review"),
    "rounds_status": ("本期排查报送情况", "Rounds this period"),
    "open_disputes": ("未办结矛盾纠纷（按类别与风险）", "Open disputes by category and risk"),
    "key_disputes": ("重点纠纷（高风险、重大）", "Key disputes (high and key risk)"),
    "not_synced": ("超过 {days} 天未同步的账号", "Accounts not synced for {days} days"),
    "never": ("从未同步", "never"), "last_sync": ("最近同步", "Last sync"), "account": ("账号", "Account"),
    "role": ("角色", "Role"), "coverage": ("入户走访覆盖", "Visit coverage"),
    "households": ("户数", "Households"), "visited": ("已走访户", "Visited"), "visits": ("走访次数", "Visits"),
    "flagged": ("异常走访", "Flagged"), "flagged_visits": ("异常走访记录", "Flagged visits"),
    "visitor": ("走访人", "Visitor"), "visited_at": ("走访时间", "Visited at"), "flags": ("异常", "Flags"),
    "distance_m": ("距离（米）", "Distance (m)"),
    "category": ("类别", "Category"), "risk": ("风险", "Risk"), "summary": ("概要", "Summary"),
    "created_at": ("登记时间", "Registered"), "created_by": ("登记人", "Registered by"),
    "none": ("无", "None"), "page": ("第 {n} 页", "Page {n}"), "prev": ("上一页", "Previous"),
    "next": ("下一页", "Next"), "export_xlsx": ("导出 Excel", "Export XLSX"),
    "export_rows": ("（{n} 行）", " ({n} rows)"), "export_csv": ("导出 CSV", "Export CSV"),
    "nil_report": ("零报告", "Nil report"), "yes": ("是", "yes"), "no": ("否", "no"),
    "households_screened": ("排查户数", "Households screened"), "disputes_found": ("发现纠纷", "Disputes found"),
    "time_used": ("计时依据", "Time used"), "received_at": ("服务器接收", "Received by server"),
    "device_time": ("设备时间", "Device time"),
    "dispute_file": ("一案一档", "Dispute file"), "parties": ("当事人", "Parties"),
    "escalation": ("上报流转", "Escalations"), "mediation": ("调解记录", "Mediation records"),
    "revisions": ("修改记录", "Revisions"), "photos": ("照片", "Photos"), "outcome": ("结果", "Outcome"),
    "who": ("操作人", "Who"), "when": ("时间", "When"), "device": ("设备", "Device"), "rev": ("版本", "Revision"),
    "changed": ("变更字段", "Changed fields"), "conflicts": ("冲突版本", "Conflicting revisions"),
    "from_area": ("从", "From"), "to_area": ("至", "To"), "reason": ("原因", "Reason"),
    "method": ("方式", "Method"), "result": ("结果", "Result"), "notes": ("备注", "Notes"), "by": ("经办", "By"),
    "accepted_at": ("受理时间", "Accepted"), "resolved_at": ("化解时间", "Resolved"),
    "satisfaction": ("满意度", "Satisfaction"), "one_time_resolution": ("一次性化解", "Resolved at first attempt"),
    "subject": ("标题", "Subject"), "body": ("内容", "Body"), "deadline": ("办理期限", "Deadline"),
    "issued_by": ("督办单位", "Issued by"), "target_area": ("督办对象", "Target area"),
    "issue": ("下发", "Issue"), "notice_saved": ("督办通知已下发。", "Supervision notice issued."),
    "notices": ("督办通知", "Supervision notices"),
    "print": ("打印", "Print"), "quarter": ("季度", "Quarter"),
    "round_completion": ("排查完成率", "Round completion rate"),
    "round_on_time": ("按时报送率", "On-time rate"),
    "def_round_completion": ("截止日期在所选时段内、已过截止的排查轮次中，已报送（按时或迟报）的比例；仍在进行中的轮次不计。",
                             "Of the rounds due in the window whose due date has passed, the share reported "
                             "(on time or late); rounds still open are not counted."),
    "def_round_on_time": ("截止日期在所选时段内、已过截止的排查轮次中，在截止前报送的比例；仍在进行中的轮次不计。",
                          "Of the rounds due in the window whose due date has passed, the share reported by the "
                          "due date; rounds still open are not counted."),
    "def_rounds_status": ("截止日期在所选时段内的排查轮次，按截至时段末的状态计数；截止日期在时段之后的轮次不计。",
                          "The rounds due in the window, counted by their status at the window's end; rounds due "
                          "after the window are not counted."),
    "due_rounds": ("已到截止的轮次", "Rounds past their due date"),
    "show_all_to_print": ("全部显示（供打印）", "Show all (to print)"),
    "due_window": ("截止日期在所选时段内", "Due in the window"),
    "timely_acceptance": ("及时受理率", "Timely acceptance rate"),
    "on_time_resolution": ("按期化解率", "On-time resolution rate"),
    "one_time_rate": ("一次性化解率", "One-time resolution rate"),
    "satisfaction_rate": ("满意率", "Satisfaction rate"), "trend": ("按月趋势", "Trend by month"),
    "records": ("查看记录", "Records"), "figure": ("指标", "Figure"), "value": ("数值", "Value"),
    "basis": ("口径", "Basis"), "month": ("月份", "Month"),
    "matter_figures": ("事项办理考核指标", "Figures of the matters' handling"),
    "this_period": ("本期", "This period"), "last_year_period": ("去年同期", "Same period last year"),
    "yoy_points": ("同比（百分点）", "Year on year (points)"),
    "numerator": ("分子", "numerator"), "denominator": ("分母", "denominator"),
    "map_tiles_note": ("在线底图；底图加载失败时仍可使用下方离线图。",
                       "Online base map; if its tiles do not load, the offline map below still shows every point."),
    "map_tiles_failed": ("底图无法加载（网络不通？）：地图上的点位与下方离线图仍然可用。",
                         "The base map tiles could not be loaded (no network?): the points, and the offline map below, still work."),
    "map_note": ("离线底图：村界 / 村中心点与走访定位（WGS-84）。", "Offline map: village boundaries / centres and visit fixes (WGS-84)."),
    "error": ("出错了", "Error"),
    # dispute vocabulary
    "cat_land": ("土地", "Land"), "cat_homestead": ("宅基地", "Homestead"),
    "cat_marriage_family": ("婚姻家庭", "Marriage & family"), "cat_neighbourhood": ("邻里", "Neighbours"),
    "cat_labour": ("劳动", "Labour"), "cat_debt": ("债务", "Debt"), "cat_property": ("物业", "Property"),
    "cat_contract": ("合同", "Contract"), "cat_traffic_accident": ("交通事故", "Traffic accident"),
    "cat_medical": ("医疗", "Medical"), "cat_environment": ("环境", "Environment"), "cat_other": ("其他", "Other"),
    "risk_low": ("低", "Low"), "risk_medium": ("中", "Medium"), "risk_high": ("高", "High"),
    "risk_key": ("重大", "Key"),
    "ds_registered": ("已登记", "Registered"), "ds_mediating": ("调解中", "Mediating"),
    "ds_resolved": ("已化解", "Resolved"), "ds_escalated": ("已上报", "Escalated"), "ds_closed": ("已结案", "Closed"),
    # filing an area's own round on the web
    "file_round": ("填报本级排查", "File this round"), "file_link": ("填报", "File"),
    "correct_link": ("更正", "Correct"), "report_filed": ("报告已报送。", "Report filed."),
    "view_report": ("查看报告", "View report"), "corrected_at": ("更正于", "corrected"),
    "nil_report_label": ("本期未发现新的矛盾纠纷（零报告）", "Nothing new found this period (nil report)"),
    "pick_found_hint": ("本期在本级登记的矛盾纠纷，勾选本次排查发现的：",
                        "Disputes registered at this level in the period; tick those this round found:"),
    "no_found_in_period": ("本期本级未登记矛盾纠纷。", "No dispute was registered at this level in the period."),
    "pick_or_nil": ("请勾选本次排查发现的矛盾纠纷，或选择零报告。", "Tick the disputes this round found, or file a nil report."),
    "conclusions": ("研判结论", "Conclusions"),
    "conclusions_required": ("季度研判须填写研判结论。", "The quarterly review needs its conclusions."),
    "text_too_long": ("文字过长：每项最多 10000 字。", "Text too long: at most 10,000 characters each."),
    "key_disputes_pick": ("确定本季度重点矛盾纠纷（高风险、重大；本季度登记、化解或季末仍未办结的）：",
                          "Pick the quarter's key disputes (high and key risk; registered, resolved or still open at its end):"),
    "follow_up_action": ("后续工作", "Follow-up"), "follow_up_area": ("承办区域", "Carried out by"),
    "file_submit": ("报送", "File"), "file_correct": ("更正并重新报送", "Correct and file again"),
    # the supervision loop (督办)
    "notice_kind": ("督办类别", "Kind"), "notice_priority": ("重要程度", "Priority"),
    "notice_method": ("督办方式", "Method"),
    "kind_routine": ("常规督办", "Routine"), "kind_topical": ("专项督办", "Topical"),
    "priority_general": ("一般", "General"), "priority_key": ("重点", "Key"),
    "method_online": ("网上督办", "Online"), "method_on_site": ("实地督办", "On site"),
    "method_phone": ("电话督办", "By phone"), "method_letter": ("发函督办", "By letter"),
    "method_interview": ("约谈", "Interview"),
    "ns_issued": ("待答复", "Awaiting reply"), "ns_replied": ("已答复", "Replied"),
    "ns_overdue": ("逾期未答复", "Overdue"), "ns_closed": ("已办结", "Closed"), "ns_withdrawn": ("已撤回", "Withdrawn"),
    "ns_open": ("在办（未办结、未撤回）", "Open (not closed or withdrawn)"),
    "replied_late": ("逾期后答复", "Replied after the deadline"),
    "notice_file": ("督办详情", "Supervision notice"), "notice_list": ("督办", "Supervision"),
    "notice_counts": ("各区域督办情况", "Notices by area"), "notice_total": ("下发总数", "Issued in all"),
    "own_level": ("本级", "This level"), "all": ("全部", "All"), "replies_count": ("答复数", "Replies"),
    "timeline": ("督办过程", "What happened"), "what": ("事项", "What"),
    "ev_issued": ("下发", "Issued"), "ev_chase": ("催办", "Chased"), "ev_reply": ("答复", "Reply"),
    "ev_closed": ("办结", "Closed"), "ev_withdrawn": ("撤回", "Withdrawn"),
    "chase": ("催办", "Chase"), "chase_note": ("催办内容", "What was said"),
    "close_notice": ("办结", "Close"), "close_note": ("办结说明", "Closing note"),
    "withdraw_notice": ("撤回", "Withdraw"), "withdraw_reason": ("撤回原因", "Reason for withdrawal"),
    "reply": ("答复", "Reply"), "reply_body": ("答复内容", "Reply"), "send_reply": ("提交答复", "Send reply"),
    "reply_required": ("请填写答复内容。", "Write the reply."),
    "withdraw_reason_required": ("撤回须填写原因。", "A withdrawal needs its reason."),
    "saved_chase": ("已催办。", "Chase recorded."), "saved_close": ("督办已办结。", "Notice closed."),
    "saved_withdraw": ("督办已撤回。", "Notice withdrawn."), "saved_reply": ("答复已提交。", "Reply sent."),
    "related_dispute": ("关联纠纷", "Dispute"), "related_report": ("关联报告", "Report"),
    "related_round": ("关联排查轮次", "Round"), "view_notice": ("查看督办", "View notice"),
    "notices_of_dispute": ("本事项的督办", "Supervision of this matter"),
    "closed_at": ("办结时间", "Closed"), "issued_at": ("下发时间", "Issued"),
}

# A matter's life (事项办理): the dispute file's steps, stages and deadlines.
MESSAGES.update({
    "reg_number": ("登记编号", "Registration number"), "stage": ("办理阶段", "Stage"),
    "registered_on": ("登记日期", "Registered"), "accept_due": ("受理期限", "Accept by"),
    "handle_due": ("办理期限", "Handle by"), "reply_due": ("答复期限", "Reply by"),
    "is_overdue": ("已逾期", "Overdue"), "long_pending": ("久拖不决", "Long pending"),
    "leader_of_area": ("区域包案", "the area's leader"), "leader_none": ("未确定", "none named"),
    "collective": ("集体事项", "Collective"), "collective_matter": ("集体", "collective"),
    "repeat_matters": ("重复事项", "Repeat matters"), "repeat_same_party": ("同一当事人的其他事项共", "other matters of the same party:"),
    "pieces": ("件", ""), "same_subject": ("同一事由", "same subject"),
    "f_evaluated_on": ("评价日期", "Evaluated on"), "none_chosen": ("（不选）", "(none)"),
    "register_matter": ("登记事项", "Register a matter"),
    "register_hint": ("群众来访、来信或来电反映的矛盾纠纷在此登记，保存后自动生成登记编号，受理期限自登记之日起计算。",
                      "Register what people bring in person, by letter or by phone; it gets its registration number "
                      "when saved, and the acceptance deadline runs from today."),
    "register_submit": ("登记", "Register"), "saved_registered": ("已登记。", "Registered."),
    "register_summary_required": ("请填写纠纷概要。", "The summary is required."),
    "register_party_required": ("请至少填写一名当事人。", "At least one party is required."),
    "register_too_long": ("概要最多 {limit} 字。", "The summary takes at most {limit} characters."),
    "register_bad_number": ("“{field}”须为正数。", "{field} must be a positive number."),
    "party_name": ("姓名", "Name"), "party_role": ("身份", "Role"), "party_phone": ("手机号", "Phone"),
    "party_id_number": ("身份证号", "ID number"),
    "extended_days": ("已延期天数", "Extended by (days)"), "matter_trail": ("办理全过程", "The matter's trail"),
    "not_counted": ("不计入", "Not counted"), "device": ("设备", "Device"), "received_at": ("接收时间", "Received"),
    "ev_registered": ("登记", "Registered"), "ev_notice": ("督办", "Supervision notice"),
    "matter_forms": ("办理", "Record a step"), "record_step": ("提交", "Save"),
    "saved_step": ("办理环节已保存。", "Step saved."), "only_overdue": ("仅看逾期", "Overdue only"),
    "stage_any": ("全部阶段", "Any stage"),
    "only_open": ("仅看未办结", "Open only"), "only_key": ("仅看重点（高风险、重大）", "Key only (high, key risk)"),
    "sort_by": ("排序", "Sorted by"), "sort_dir": ("顺序", "Order"),
    "registered_from": ("登记起", "Registered from"), "registered_to": ("登记止", "Registered to"), "reset_filters": ("清除筛选", "Clear filters"),
    "f_reason": ("理由", "Reason"), "f_note": ("说明", "Note"), "f_unit": ("责任单位", "Responsible unit"),
    "f_unit_account": ("责任人账号", "Responsible account"), "f_responsible_area": ("责任区域", "Responsible area"),
    "f_deadline": ("办理期限", "Deadline"), "f_leader": ("包案领导", "Responsible leader"),
    "f_to_area": ("转送区域", "To area"), "f_to_department": ("转送部门", "To department"),
    "f_days": ("延期天数", "Days"), "f_method": ("办理方式", "Method"), "f_participants": ("参加人员", "Participants"),
    "f_conclusion": ("办理结论", "Conclusion"), "f_content": ("答复内容", "Reply"), "f_channel": ("答复方式", "Channel"),
    "f_date": ("答复日期", "Date"), "f_result": ("评价结果", "Result"), "f_collected_via": ("收集方式", "Collected by"),
    "f_collected_by": ("收集人", "Collected by (person)"),
    **{f"mstage_{k}": v for k, v in {
        "registered": ("已登记，待受理", "Registered"), "accepted": ("已受理", "Accepted"),
        "rejected": ("不予受理", "Rejected"), "assigned": ("已交办", "Assigned"), "transferred": ("已转送", "Transferred"),
        "handling": ("办理中", "Handling"), "replied": ("已答复", "Replied"), "evaluated": ("已评价", "Evaluated"),
        "closed": ("已办结", "Closed"), "concluded": ("已终结", "Concluded")}.items()},
    **{f"mkind_{k}": v for k, v in {
        "accept": ("受理", "Accept"), "reject": ("不予受理", "Reject"), "assign": ("交办", "Assign"),
        "transfer": ("转送", "Transfer"), "extend": ("延期", "Extend"), "handle": ("办理记录", "Handling"),
        "reply": ("答复", "Reply"), "evaluate": ("评价", "Evaluation"), "close": ("办结", "Close"),
        "conclude": ("终结", "Conclude"), "reopen": ("重新办理", "Reopen")}.items()},
    **{f"mmethod_{k}": v for k, v in {"mediation": ("调解", "Mediation"), "visit": ("走访", "Visit"),
                                       "hearing": ("听证", "Hearing")}.items()},
    **{f"mchannel_{k}": v for k, v in {"in_person": ("当面", "In person"), "phone": ("电话", "Phone"),
                                        "letter": ("书面", "Letter"), "sms": ("短信", "SMS"),
                                        "online": ("网上", "Online")}.items()},
    **{f"mresult_{k}": v for k, v in {"satisfied": ("满意", "Satisfied"), "basically": ("基本满意", "Basically"),
                                       "unsatisfied": ("不满意", "Unsatisfied")}.items()},
    # personal data and the log of openings (访问记录)
    "personal_masked": ("当事人个人信息已脱敏：仅承办人员可见完整信息。", "Personal data masked: only those handling the matter see it whole."),
    "file_openings": ("最近查阅记录", "Recent openings of this file"), "access_log": ("档案查阅记录", "File access log"),
    "access_interface": ("查阅途径", "Through"), "personal_data": ("个人信息", "Personal data"),
    "shown_whole": ("完整显示", "shown whole"), "shown_masked": ("已脱敏", "masked"),
    "matter_id": ("事项编号", "Matter"), "phone": ("联系电话", "Phone"), "id_number": ("身份证号", "ID number"),
    "party_role": ("当事人身份", "Party role"),
    **{f"via_{k}": v for k, v in {"ledger_page": ("台账页面", "Ledger page"), "api": ("接口读取", "API read"),
                                   "export": ("导出", "Export")}.items()},
    **{f"role_{k}": v for k, v in {"village_cadre": ("村干部", "Village cadre"), "township_staff": ("乡镇干部", "Township staff"),
                                    "district_supervisor": ("区级督查", "District supervisor"),
                                    "admin": ("管理员", "Administrator")}.items()},
    **{f"prole_{k}": v for k, v in {"applicant": ("申请人", "Applicant"), "respondent": ("被申请人", "Respondent"),
                                     "third_party": ("第三人", "Third party"), "other": ("其他", "Other")}.items()},
    # a dispute's own mediation records (调解记录) and its revisions, in words
    **{f"medmethod_{k}": v for k, v in {"in_person": ("当面调解", "In person"), "phone": ("电话调解", "By phone"),
                                         "video": ("视频调解", "By video"), "joint": ("联合调解", "Joint"),
                                         "other": ("其他方式", "Other")}.items()},
    **{f"medresult_{k}": v for k, v in {"agreed": ("达成协议", "Agreed"), "partially_agreed": ("部分达成", "Partly agreed"),
                                         "not_agreed": ("未达成", "Not agreed"), "adjourned": ("择期再调", "Adjourned")}.items()},
    **{f"field_{k}": v for k, v in {
        "type": ("类型", "type"), "area": ("区域", "area"), "created_by": ("登记人", "registered by"),
        "created_at": ("登记时间", "registered at"), "updated_by": ("修改人", "changed by"),
        "updated_at": ("修改时间", "changed at"), "round_id": ("排查轮次", "round"), "summary": ("概要", "summary"),
        "parties": ("当事人", "parties"), "people_involved": ("涉及人数", "people involved"),
        "amount_yuan": ("涉及金额", "amount"), "category": ("类别", "category"),
        "category_detail": ("类别说明", "category detail"), "risk_level": ("风险", "risk"), "status": ("状态", "status"),
        "occurred_on": ("发生日期", "occurred on"), "accepted_at": ("受理时间", "accepted at"),
        "escalation": ("上报", "escalation"), "mediation": ("调解记录", "mediation"), "outcome": ("结果", "outcome"),
        "resolved_at": ("化解时间", "resolved at"), "one_time_resolution": ("一次性化解", "one-time resolution"),
        "satisfaction": ("满意度", "satisfaction"), "_attachments": ("照片", "photos"),
        "_deleted": ("删除", "deleted")}.items()},
    **{f"revstatus_{k}": v for k, v in {"available": ("可查阅", "kept"), "missing": ("未保存", "not kept"),
                                         "deleted": ("已删除", "deleted")}.items()},
    "rev_tree": ("版本链", "Revision chain"),
    "first_page": ("首页", "First"), "last_page": ("末页", "Last"), "goto_page": ("跳至第", "Go to page"),
    "page_unit": ("页", ""), "go": ("跳转", "Go"), "persons": ("人", "people"), "comment_too_long": ("审核意见过长：最多 {limit} 字，现有 {n} 字。",
                                                       "The comment is too long: at most {limit} characters, not {n}."), "export_title": ("标题", "Title"), "export_filters": ("筛选条件", "Filters"), "yuan": ("元", "yuan"),
    **{f"vflag_{k}": v for k, v in {"missing_fix": ("无定位", "no position"), "poor_accuracy": ("定位精度差", "poor accuracy"),
                                     "off_site": ("不在户旁", "away from the household"),
                                     "impossible_speed": ("移动速度异常", "impossible speed"),
                                     "outside_area": ("不在本村", "outside the village"),
                                     "household_unlocated": ("农户无位置", "household not located"),
                                     "invalid_fix": ("定位无效", "invalid position"),
                                     "check_error": ("核验出错", "check failed")}.items()},
    "search": ("搜索", "Search"), "search_for": ("查找", "Find"),
    "search_hint": ("当事人姓名、电话、登记编号或关键词", "party name, phone, registration number or keyword"),
    "search_too_long": ("搜索词最多 {limit} 字。", "At most {limit} characters are searched."),
    "search_found": ("找到 {n} 条。", "{n} found."), "search_more": ("找到超过 {n} 条，只显示最新的 {n} 条：请缩小范围。",
                                                                     "More than {n} found; the newest {n} are shown: narrow the search."),
    "search_kind": ("类型", "Kind"), "open_report": ("查看报告", "Open the report"),
    **{f"dockind_{k}": v for k, v in {"dispute": ("矛盾纠纷", "Dispute"), "screening_report": ("排查报告", "Screening report"),
                                       "household_visit": ("入户走访", "Household visit"),
                                       "household": ("农户", "Household")}.items()},
    "see_all_on_map": ("在走访地图查看全部", "See all on the visit map"),
    "key_shown": ("共 {total} 件，显示 {shown} 件。", "{total} in all, {shown} shown."), "see_all": ("查看全部", "See all"),
    # the supervision room (room.py) and the bulletins (bulletin.py)
    "room": ("网上督查室", "Supervision room"), "room_window": ("统计窗口 {since} 至 {until}", "Window {since} to {until}"),
    "room_updated": ("更新于", "updated"), "room_connecting": ("连接中…", "connecting…"),
    "room_alerts": ("项预警：", "alerts:"), "room_no_alert": ("不设预警", "no alert"),
    "room_alert_below": ("低于 {value} 预警", "alert below {value}"), "room_alert_at": ("达到 {value} 预警", "alert at {value}"),
    "room_by_area": ("分区域情况", "By area"),
    "bulletin": ("通报讲评", "Bulletins"), "bulletin_month": ("月通报", "Monthly bulletin"),
    "bulletin_quarter": ("季讲评", "Quarterly review"), "bulletin_year": ("年考核", "Annual assessment"),
    "print": ("打印", "Print"), "rank": ("排名", "Rank"), "score": ("综合得分", "Score"),
    "vs_previous": ("较上期", "vs previous"), "vs_last_year": ("较去年同期", "vs last year"),
    "this_period_short": ("本期", "This period"), "previous_period": ("上期", "Previous period"),
    "same_period_last_year": ("去年同期", "Same period last year"), "bulletin_totals": ("全区域合计", "Whole area"),
    "bulletin_ranking": ("分区域排名", "Ranking by area"), "bulletin_definitions": ("指标说明", "Definitions"),
    "rank_up": ("升", "up"), "rank_down": ("降", "down"), "registered_count": ("新增事项", "New matters"),
    "period_label": ("期间", "Period"), "area_itself": ("本级", "the area itself"),
})


def lang() -> str:
    if "ledger_lang" in g:
        return g.ledger_lang
    choice = request.args.get("lang")
    if choice not in LANGS:
        choice = request.cookies.get(COOKIE)
    if choice not in LANGS:
        choice = "zh"
    g.ledger_lang = choice
    return choice


def t(key: str, **params) -> str:
    pair = MESSAGES.get(key)
    if pair is None:
        text = key
    else:
        text = pair[1] if lang() == "en" and pair[1] else pair[0]
    return text.format(**params) if params else text


def word(prefix: str, code) -> str:
    """A code's word (`prefix` + code in the catalogue), or the code itself when it has none: a value
    from a newer app or an older document is shown as it is, never as a catalogue key."""
    if code is None or code == "":
        return ""
    key = f"{prefix}{code}"
    return t(key) if key in MESSAGES else str(code)


def remember(response):
    """Keep an explicit ?lang= choice in a cookie (a year)."""
    choice = request.args.get("lang")
    if choice in LANGS and request.cookies.get(COOKIE) != choice:
        response.set_cookie(COOKIE, choice, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
