// The app's words, Chinese first; English when the user switches (kept on the phone). The words of
// codes (categories, risk levels, statuses) and of the server's refusals come from /app/words.json,
// made from the server's own catalogues.
const { reactive } = Vue;

const TEXT = {
  app: ['排查', 'Screening'],
  login: ['登录', 'Log in'], logout: ['退出登录', 'Log out'], account: ['账号', 'Account'],
  password: ['密码', 'Password'], login_failed: ['登录失败', 'Login failed'],
  need_signal_to_login: ['首次登录需要网络', 'The first login needs a signal'],
  home: ['首页', 'Home'], records: ['记录', 'Records'], me: ['我的', 'Me'],
  online: ['有网络', 'Online'], offline: ['无网络', 'Offline'], syncing: ['同步中', 'Syncing'],
  last_sync: ['上次同步', 'Last sync'], never: ['从未', 'never'],
  waiting_up: ['待上传', 'Waiting to go up'], sync_now: ['立即同步', 'Sync now'],
  items: ['条', ''],
  sending_photo: ['正在发送照片 {pct} %', 'Sending photo {pct} %'],
  st_phone: ['已存手机', 'Saved on the phone'], st_sending: ['发送中', 'Sending'],
  st_server: ['已到服务器', 'On the server'], st_refused: ['被拒收', 'Refused'],
  what_to_do: ['怎么办', 'What to do'],
  round: ['本期排查', 'This round'], due: ['截止', 'Due'], no_round: ['暂无排查轮次（同步后显示）', 'No round yet (shown after a sync)'],
  reported: ['已报送', 'Reported'], not_reported: ['未报送', 'Not reported'], overdue: ['已逾期', 'Overdue'],
  overdue_rounds: ['逾期未报', 'Overdue rounds'], reminders: ['提醒', 'Reminders'],
  nil_report: ['零报告', 'Nil report'], nil_confirm: ['确认本期未发现矛盾纠纷，报送零报告？', 'Nothing found this round: file a nil report?'],
  file_report: ['填报排查报告', 'File the report'], correct_report: ['更正报告', 'Correct the report'],
  register_dispute: ['登记矛盾纠纷', 'Register a dispute'],
  households_screened: ['排查户数', 'Households screened'], summary: ['情况说明', 'Summary'],
  disputes_found: ['本期发现的矛盾纠纷', 'Disputes found this round'],
  save: ['保存', 'Save'], saved: ['已保存在手机上，有网络时自动上传', 'Saved on the phone; it goes up when there is a signal'],
  draft_kept: ['草稿已保存在手机上', 'Draft kept on the phone'],
  parties: ['当事人', 'Parties'], party_name: ['姓名', 'Name'], party_role: ['身份', 'Role'], party_phone: ['电话', 'Phone'],
  add_party: ['添加当事人', 'Add a party'], remove: ['删除', 'Remove'],
  role_applicant: ['申请人', 'Applicant'], role_respondent: ['被申请人', 'Respondent'],
  role_third_party: ['第三人', 'Third party'], role_other: ['其他', 'Other'],
  category: ['纠纷类别', 'Category'], category_detail: ['类别说明', 'Category detail'], risk_level: ['风险等级', 'Risk level'],
  photos: ['照片', 'Photos'], keep_original: ['上传原图（不压缩）', 'Send the original (not shrunk)'],
  mediation: ['记录调解', 'Record mediation'], mediation_note: ['调解情况', 'What happened'],
  reviews_back: ['退回修改的报告', 'Reports sent back'], sent_back: ['退回修改', 'Sent back'], review_comment: ['审核意见', 'Review'],
  notices: ['督办', 'Supervision notices'], reply: ['答复', 'Reply'], reply_body: ['答复内容', 'Reply'],
  send_reply: ['提交答复', 'Send reply'], deadline: ['期限', 'Deadline'],
  households: ['住户', 'Households'], search: ['搜索户主、地址', 'Search head, address'],
  visit: ['走访', 'Visit'], record_visit: ['记录走访', 'Record a visit'], notes: ['走访情况', 'Notes'],
  get_fix: ['获取定位', 'Get position'], fix_accuracy: ['精度 ±{m} 米', 'Accuracy ±{m} m'],
  no_fix: ['未定位', 'No position'], fix_failed: ['无法定位：{reason}', 'No position: {reason}'],
  visit_flags: ['服务器核查', 'Server check'], flag_ok: ['正常', 'OK'],
  flag_off_site: ['不在现场', 'Off site'], flag_poor_accuracy: ['定位精度差', 'Poor accuracy'],
  flag_impossible_speed: ['行程速度异常', 'Impossible speed'], flag_outside_area: ['不在辖区内', 'Outside the area'],
  half_month_round: ['本期走访排查（半月）', 'This half-month round'],
  language: ['语言', 'Language'], device: ['本机编号', 'This phone'], version: ['版本', 'Version'],
  session_ended: ['登录已失效，请重新登录（有网络时）', 'Your login has ended: log in again (with a signal)'],
  back: ['返回', 'Back'], none: ['暂无', 'None'], my_records: ['我的记录', 'My records'],
  type_screening_report: ['排查报告', 'Screening report'], type_dispute: ['矛盾纠纷', 'Dispute'],
  type_household_visit: ['走访记录', 'Visit'], type_notice_reply: ['督办答复', 'Notice reply'],
  type_matter_step: ['办理步骤', 'Matter step'],
  matters: ['纠纷', 'Matters'], matter_file: ['事项档案', 'Matter file'], steps_count: ['{n} 个步骤', '{n} steps'],
  steps: ['办理过程', 'Steps'], record_step: ['记录办理', 'Record a step'], step_kind: ['步骤', 'Step'],
  step_method: ['方式', 'Method'], participants: ['参加人员', 'Participants'], conclusion: ['结果', 'Conclusion'],
  reply_content: ['答复内容', 'What they were told'], reply_channel: ['答复方式', 'Channel'], reply_date: ['答复日期', 'Date'],
  not_counted: ['不计入', 'Does not count'], evaluation: ['评价', 'Evaluation'], collected_via: ['收集方式', 'Collected via'], collected_by: ['收集人', 'Collected by'],
  // form checks, the same rules as the server's schemas
  v_required: ['必须填写', 'Required'], v_too_short: ['至少 {n} 个字', 'At least {n} characters'],
  v_too_long: ['最多 {n} 个字', 'At most {n} characters'], v_pattern: ['格式不对', 'Wrong format'],
  v_minimum: ['不能小于 {n}', 'At least {n}'], v_maximum: ['不能大于 {n}', 'At most {n}'],
  v_enum: ['请选择一项', 'Pick one'], v_type: ['填写有误', 'Wrong value'],
  v_min_items: ['至少 {n} 项', 'At least {n}'], v_max_items: ['最多 {n} 项', 'At most {n}'],
  v_unique: ['不能重复', 'No duplicates'], v_not_allowed: ['不应填写', 'Not allowed'],
  v_invalid: ['记录内容不合规：', 'The record is not valid: '],
};

export const i18n = reactive({ lang: localStorage.getItem('paicha.lang') || 'zh', words: {}, refusals: {} });

// Vant's own words (its dialogs' buttons, the uploader, loading) in English: the texts of its en-US
// locale the app's components show (the UMD build carries only zh-CN).
const VANT_EN = {
  name: 'Name', tel: 'Phone', save: 'Save', clear: 'Clear', undo: 'Undo', cancel: 'Cancel', confirm: 'Confirm',
  delete: 'Delete', loading: 'Loading...', vanPullRefresh: { pulling: 'Pull to refresh...', loosing: 'Loose to refresh...' },
  vanPagination: { prev: 'Previous', next: 'Next' }, vanPicker: { confirm: 'Confirm', cancel: 'Cancel' },
  vanUploader: { fail: 'Failed', uploading: 'Uploading...' }, vanList: { loading: 'Loading...', error: 'Request failed. Click to reload', finished: '' },
};

export function setLang(lang) {
  i18n.lang = lang;
  localStorage.setItem('paicha.lang', lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
  if (globalThis.vant && vant.Locale) {
    if (lang === 'en') {
      vant.Locale.add({ 'en-US': VANT_EN });
      vant.Locale.use('en-US');
    } else {
      vant.Locale.use('zh-CN');
    }
  }
}

export function t(key, params) {
  const pair = TEXT[key];
  let text = pair ? (i18n.lang === 'en' && pair[1] !== undefined ? pair[1] : pair[0]) : key;
  if (params) for (const [k, v] of Object.entries(params)) text = text.replace(`{${k}}`, v);
  return text;
}

// A code's word from the server's catalogue (`cat_land` ...), the code itself when it has none.
export function word(prefix, code) {
  const entry = i18n.words[prefix + code];
  return entry ? entry[i18n.lang] || entry.zh : code;
}

export async function loadWords() {
  const res = await fetch('words.json');
  const body = await res.json();
  i18n.words = body.words;
  i18n.refusals = body.refusals;
}
