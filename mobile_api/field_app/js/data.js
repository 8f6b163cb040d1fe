// What the screens show, read from the phone's database and read again when it changes.
import { db, docsOfTypes, status } from './store.js';
import { current } from './session.js';
import { debounce, today } from './util.js';

const { reactive, watch } = Vue;

const TYPES = ['screening_round', 'screening_report', 'dispute', 'report_review', 'reminder', 'supervision_notice',
  'notice_reply', 'household', 'household_visit', 'matter_step'];

export const data = reactive({ byType: {}, loaded: false });

export async function reload() {
  if (!db()) return;
  const docs = await docsOfTypes(TYPES);
  const byType = Object.fromEntries(TYPES.map((t) => [t, []]));
  for (const doc of docs) byType[doc.type].push(doc);
  data.byType = byType;
  data.loaded = true;
}

watch(() => status.version, debounce(reload, 150));

export function me() { return (current() || {}).me || {}; }

export function roundLevel() { return me().role === 'township_staff' ? 'township' : 'village'; }

// This user's rounds, newest first, each with its report (if any) and whether it is overdue.
export function rounds() {
  const day = today();
  const reports = data.byType.screening_report || [];
  return (data.byType.screening_round || [])
    .filter((r) => r.area === me().scope && r.level === roundLevel() && r.period_start <= day)
    .sort((a, b) => (a.period_start < b.period_start ? 1 : -1))
    .map((round) => {
      const report = reports.find((rep) => rep.round_id === round._id);
      // as the server judges it: a round it generated after its time was nobody's to miss
      return { round, report, overdue: !report && round.due_date < day && !round.generated_late };
    });
}

// The latest review of each of my reports, when it sent the report back and the report was not
// corrected after it.
export function sentBack() {
  const reviews = data.byType.report_review || [];
  return (data.byType.screening_report || []).map((report) => {
    const latest = reviews.filter((r) => r.report_id === report._id)
      .sort((a, b) => (a.reviewed_at < b.reviewed_at ? 1 : -1))[0];
    const corrected = report.updated_at && latest && report.updated_at > latest.reviewed_at;
    return latest && latest.status === 'sent_back' && !corrected ? { report, review: latest } : null;
  }).filter(Boolean);
}

export function reminders() {
  return (data.byType.reminder || []).filter((r) => r.target_area === me().scope)
    .sort((a, b) => ((a.due_date || '') < (b.due_date || '') ? 1 : -1));
}

export function notices() {
  const replies = data.byType.notice_reply || [];
  return (data.byType.supervision_notice || []).map((notice) => ({
    notice, replies: replies.filter((r) => r.notice_id === notice._id),
  }));
}
