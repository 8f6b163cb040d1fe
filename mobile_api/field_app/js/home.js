// The home screen: the sync status a cadre can trust, this round and what to do about it, reviews
// sent back, reminders, supervision notices.
import { t, word } from './i18n.js';
import { flush, pendingCount, save, status } from './store.js';
import { data, me, notices, reminders, rounds, sentBack } from './data.js';
import { newId, shortTime, stamp } from './util.js';

export const SyncStatus = {
  setup() { return { t, status, pendingCount, shortTime, flush }; },
  template: `
  <van-cell-group inset class="block" data-test="sync-status">
    <van-cell :title="t('last_sync')">
      <template #value><span data-test="last-sync">{{ status.lastSync ? shortTime(status.lastSync) : t('never') }}</span></template>
      <template #label>
        <van-tag :type="status.online ? 'success' : 'warning'" data-test="online">{{ status.online ? t('online') : t('offline') }}</van-tag>
        <van-tag v-if="status.sending || status.pulling" type="primary" style="margin-left:6px">{{ t('syncing') }}</van-tag>
      </template>
    </van-cell>
    <van-cell :title="t('waiting_up')" :value="pendingCount() + ' ' + t('items')" data-test="pending" />
    <van-cell v-for="(f, id) in status.progress" :key="id" data-test="photo-progress"
      :title="t('sending_photo', {pct: Math.round(f * 100)})">
      <template #label><van-progress :percentage="Math.round(f * 100)" /></template>
    </van-cell>
    <van-cell v-if="status.online" :title="t('sync_now')" is-link @click="flush()" />
  </van-cell-group>`,
};

export const Home = {
  components: { SyncStatus },
  emits: ['go'],
  setup(props, { emit }) {
    const nilReport = async (entry) => {
      try {
        await vant.showConfirmDialog({ message: t('nil_confirm'), confirmButtonText: t('nil_report'),
          cancelButtonText: t('back') });
      } catch (e) { return; }
      const at = stamp();
      await save({ _id: newId('report', me().name), type: 'screening_report', area: me().scope, created_by: me().name,
        created_at: at, round_id: entry.round._id, nil_report: true, disputes: [], submitted_at: at });
      vant.showToast(t('saved'));
    };
    // [tag colour, words]: reported, sent back to correct, overdue, or still to do
    const roundState = (entry) => {
      if (entry.report && sentBack().some((s) => s.report._id === entry.report._id)) return ['danger', t('sent_back')];
      if (entry.report) return ['success', t('reported')];
      return entry.overdue ? ['danger', t('overdue')] : ['warning', t('not_reported')];
    };
    return { t, word, data, me, rounds, sentBack, reminders, notices, nilReport, emit, roundState };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('app') + ' · ' + (me().area ? me().area.name : me().scope)" />
    <SyncStatus />
    <template v-if="rounds()[0]">
      <van-cell-group inset class="block" data-test="round">
        <van-cell :title="rounds()[0].round.title || t('round')"
          :label="rounds()[0].round.period_start + ' ~ ' + rounds()[0].round.period_end">
          <template #value>
            <div>{{ t('due') }} {{ rounds()[0].round.due_date }}</div>
            <van-tag :type="roundState(rounds()[0])[0]" data-test="round-state">{{ roundState(rounds()[0])[1] }}</van-tag>
          </template>
        </van-cell>
      </van-cell-group>
      <div class="big-buttons" v-if="!rounds()[0].report">
        <van-button type="success" data-test="nil-report" @click="nilReport(rounds()[0])">{{ t('nil_report') }}</van-button>
        <van-button type="primary" data-test="file-report" @click="emit('go', 'report', {roundId: rounds()[0].round._id})">{{ t('file_report') }}</van-button>
      </div>
    </template>
    <van-cell-group v-else inset class="block"><van-cell :title="t('no_round')" /></van-cell-group>
    <div class="big-buttons">
      <van-button type="warning" data-test="register-dispute" @click="emit('go', 'dispute', {roundId: rounds()[0] && rounds()[0].round._id})">{{ t('register_dispute') }}</van-button>
      <van-button v-if="me().role === 'township_staff'" type="primary" plain data-test="households" @click="emit('go', 'households')">{{ t('households') }}</van-button>
      <van-button v-else type="primary" plain data-test="records" @click="emit('go', 'records')">{{ t('my_records') }}</van-button>
    </div>
    <van-cell-group inset class="block" :title="t('overdue_rounds')" v-if="rounds().slice(1).some(r => r.overdue)" data-test="overdue">
      <van-cell v-for="r in rounds().slice(1).filter(r => r.overdue)" :key="r.round._id" :title="r.round.title || r.round.round_key"
        :value="t('due') + ' ' + r.round.due_date" is-link @click="emit('go', 'report', {roundId: r.round._id})" />
    </van-cell-group>
    <van-cell-group inset class="block" :title="t('reviews_back')" v-if="sentBack().length" data-test="sent-back">
      <van-cell v-for="s in sentBack()" :key="s.review._id" :title="t('review_comment') + '：' + (s.review.comment || '')"
        :label="s.review.reviewed_at.slice(0, 16).replace('T', ' ')" is-link @click="emit('go', 'report', {reportId: s.report._id})" />
    </van-cell-group>
    <van-cell-group inset class="block" :title="t('reminders')" v-if="reminders().length" data-test="reminders">
      <van-cell v-for="r in reminders().slice(0, 5)" :key="r._id" :title="r.message || r.kind" :value="r.due_date" />
    </van-cell-group>
    <van-cell-group inset class="block" :title="t('notices')" v-if="notices().length" data-test="notices">
      <van-cell v-for="n in notices()" :key="n.notice._id" :title="n.notice.subject"
        :label="t('deadline') + ' ' + n.notice.deadline" :value="n.replies.length ? word('ns_', 'replied') : word('ns_', n.notice.status)"
        is-link @click="emit('go', 'reply', {noticeId: n.notice._id})" />
    </van-cell-group>
  </div>`,
};
