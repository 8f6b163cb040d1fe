// The village cadre's forms: the screening report, a dispute (with photos), a reply to a
// supervision notice. Each keeps its draft on the phone as it is typed, and is checked against the
// server's schema before it is saved.
import { t, word, i18n } from './i18n.js';
import { enumOf, validate } from './schema.js';
import { db, dropDraft, getDraft, putDraft, save } from './store.js';
import { data, me } from './data.js';
import { blobToDataUrl, dataUrlToBlob, debounce, newId, stamp } from './util.js';
import { shrink } from './photos.js';

const { reactive, ref, watch, onMounted, computed } = Vue;


// A form's model, restored from its draft and kept as a draft while it is typed. Its photos (shrunk,
// as data: URLs) are kept apart and written only when one is added: typing does not rewrite them.
export function useDraft(name, initial) {
  const model = reactive(initial());
  const ready = ref(false);
  onMounted(async () => {
    const [draft, photos] = await Promise.all([getDraft(name), getDraft(name + '-photos')]);
    if (draft) Object.assign(model, draft);
    if (photos && model.photos) model.photos = photos;
    ready.value = true;
  });
  const text = () => JSON.stringify({ ...model, photos: undefined });
  watch(text, debounce(() => { if (ready.value) putDraft(name, JSON.parse(text())); }, 250));
  watch(() => (model.photos || []).length, () => { if (ready.value) putDraft(name + '-photos', [...model.photos]); });
  return { model, ready };
}

export async function dropDrafts(name) {
  await Promise.all([dropDraft(name), dropDraft(name + '-photos')]);
}

// The schema's problems as one message per field path ('parties.0.name' -> '必须填写').
export function messages(problems) {
  return Object.fromEntries(problems.map((p) => [p.path.join('.'), t(p.key, p.params)]));
}

function refuse(problems) {
  const first = problems[0];
  vant.showToast({ message: t('v_invalid') + first.path.join('.') + ' ' + t(first.key, first.params), duration: 3000 });
}

export const ReportForm = {
  props: ['roundId', 'reportId'],
  emits: ['done'],
  setup(props, { emit }) {
    const existing = computed(() => (data.byType.screening_report || []).find((r) => r._id === props.reportId));
    const roundId = props.roundId || (existing.value && existing.value.round_id);
    const { model } = useDraft('report-' + (props.reportId || roundId), () => {
      const r = existing.value || {};
      return { nil: r.nil_report === true, households: r.households_screened ?? '', summary: r.summary || '', disputes: r.disputes || [] };
    });
    const errors = ref({});
    const round = computed(() => (data.byType.screening_round || []).find((r) => r._id === roundId) || {});
    // the disputes found in this round: registered for it, or registered in its period without a round
    const disputes = computed(() => (data.byType.dispute || []).filter((d) => d.area === me().scope
      && (d.round_id === roundId || (model.disputes || []).includes(d._id)
        || (!d.round_id && round.value.period_start && d.created_at.slice(0, 10) >= round.value.period_start))));
    const submit = async () => {
      const at = stamp();
      const base = existing.value ? { ...existing.value, updated_by: me().name, updated_at: at }
        : { _id: newId('report', me().name), type: 'screening_report', area: me().scope, created_by: me().name,
          created_at: at, round_id: roundId, submitted_at: at };
      const doc = { ...base, nil_report: model.nil, disputes: model.nil ? [] : [...model.disputes], summary: model.summary || undefined,
        households_screened: model.households === '' ? undefined : Number(model.households) };
      const problems = validate('screening_report', doc);
      errors.value = messages(problems);
      if (problems.length) { refuse(problems); return; }
      await save(JSON.parse(JSON.stringify(doc)));
      await dropDraft('report-' + (props.reportId || roundId));
      vant.showToast(t('saved'));
      emit('done');
    };
    return { t, word, model, errors, disputes, submit, existing };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="existing ? t('correct_report') : t('file_report')" left-arrow @click-left="$emit('done')" />
    <van-form @submit="submit">
      <van-cell-group inset class="block">
        <van-cell :title="t('nil_report')"><template #value><van-switch v-model="model.nil" data-test="nil-switch" /></template></van-cell>
        <van-field v-model="model.households" type="digit" :label="t('households_screened')" name="households"
          :error-message="errors.households_screened" data-test="households-screened" />
        <van-field v-model="model.summary" type="textarea" rows="3" autosize :label="t('summary')" name="summary"
          :error-message="errors.summary" data-test="report-summary" />
      </van-cell-group>
      <van-cell-group v-if="!model.nil" inset class="block" :title="t('disputes_found')">
        <van-checkbox-group v-model="model.disputes">
          <van-cell v-for="d in disputes" :key="d._id" :title="d.summary" :label="word('cat_', d.category)">
            <template #right-icon><van-checkbox :name="d._id" /></template>
          </van-cell>
        </van-checkbox-group>
        <van-cell v-if="!disputes.length" :title="t('none')" />
        <div class="reason" v-if="errors.disputes">{{ errors.disputes }}</div>
      </van-cell-group>
      <div class="block"><van-button block type="primary" native-type="submit" data-test="save">{{ t('save') }}</van-button></div>
    </van-form>
  </div>`,
};

export const DisputeForm = {
  props: ['roundId', 'disputeId'],
  emits: ['done'],
  setup(props, { emit }) {
    const { model } = useDraft('dispute-' + (props.disputeId || 'new'), () => ({
      parties: [{ name: '', role: 'applicant', phone: '' }, { name: '', role: 'respondent', phone: '' }],
      category: '', category_detail: '', risk_level: '', summary: '', photos: [], keepOriginal: false,
    }));
    const errors = ref({});
    const afterRead = async (item) => {
      for (const one of Array.isArray(item) ? item : [item]) {
        const blob = await shrink(one.file, model.keepOriginal);
        model.photos.push({ url: await blobToDataUrl(blob), type: blob.type || 'image/jpeg' });
      }
    };
    const submit = async () => {
      const at = stamp();
      const doc = {
        _id: newId('dispute', me().name), type: 'dispute', area: me().scope, created_by: me().name, created_at: at,
        round_id: props.roundId || undefined, summary: model.summary, status: 'registered',
        parties: model.parties.map((p) => ({ name: p.name.trim(), role: p.role, phone: p.phone || undefined })),
        category: model.category || undefined, category_detail: model.category === 'other' ? model.category_detail : undefined,
        risk_level: model.risk_level || undefined,
      };
      const problems = validate('dispute', doc);
      errors.value = messages(problems);
      if (problems.length) { refuse(problems); return; }
      const attachments = {};
      for (const [i, photo] of model.photos.entries()) {
        attachments[`photo-${i + 1}.jpg`] = { content_type: photo.type, data: await dataUrlToBlob(photo.url) };
      }
      await save({ ...JSON.parse(JSON.stringify(doc)), ...(model.photos.length ? { _attachments: attachments } : {}) });
      await dropDrafts('dispute-' + (props.disputeId || 'new'));
      vant.showToast(t('saved'));
      emit('done');
    };
    // the choices are the schema's own
    const CATEGORIES = enumOf('dispute', 'category');
    const RISKS = enumOf('dispute', 'risk_level');
    const ROLES = enumOf('dispute', 'parties', 'items', 'role');
    return { t, word, i18n, model, errors, submit, afterRead, CATEGORIES, RISKS, ROLES };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('register_dispute')" left-arrow @click-left="$emit('done')" />
    <van-form @submit="submit">
      <van-cell-group inset class="block" :title="t('parties')">
        <template v-for="(p, i) in model.parties" :key="i">
          <van-field v-model="p.name" :label="t('party_name')" :error-message="errors['parties.' + i + '.name']" :data-test="'party-name-' + i" />
          <van-field v-model="p.phone" type="tel" :label="t('party_phone')" :error-message="errors['parties.' + i + '.phone']" :data-test="'party-phone-' + i" />
          <van-field :label="t('party_role')">
            <template #input>
              <van-radio-group v-model="p.role" direction="horizontal">
                <van-radio v-for="r in ROLES" :key="r" :name="r">{{ t('role_' + r) }}</van-radio>
              </van-radio-group>
            </template>
          </van-field>
        </template>
        <van-cell :title="t('add_party')" is-link @click="model.parties.push({name: '', role: 'third_party', phone: ''})" />
        <div class="reason" v-if="errors.parties">{{ errors.parties }}</div>
      </van-cell-group>
      <van-cell-group inset class="block">
        <van-field :label="t('category')" :error-message="errors.category">
          <template #input>
            <van-radio-group v-model="model.category" direction="horizontal" data-test="category">
              <van-radio v-for="c in CATEGORIES" :key="c" :name="c" :data-test="'category-' + c">{{ word('cat_', c) }}</van-radio>
            </van-radio-group>
          </template>
        </van-field>
        <van-field v-if="model.category === 'other'" v-model="model.category_detail" :label="t('category_detail')"
          :error-message="errors.category_detail" />
        <van-field :label="t('risk_level')" :error-message="errors.risk_level">
          <template #input>
            <van-radio-group v-model="model.risk_level" direction="horizontal">
              <van-radio v-for="r in RISKS" :key="r" :name="r" :data-test="'risk-' + r">{{ word('risk_', r) }}</van-radio>
            </van-radio-group>
          </template>
        </van-field>
        <van-field v-model="model.summary" type="textarea" rows="3" autosize :label="t('summary')"
          :error-message="errors.summary" data-test="dispute-summary" />
      </van-cell-group>
      <van-cell-group inset class="block" :title="t('photos')">
        <div style="padding: 10px 16px">
          <img v-for="(p, i) in model.photos" :key="i" :src="p.url" class="photo-thumb" data-test="photo-thumb" />
          <van-uploader :after-read="afterRead" accept="image/*" capture="environment" :preview-image="false" data-test="photo-input" />
        </div>
        <van-cell :title="t('keep_original')"><template #value><van-switch v-model="model.keepOriginal" size="20" /></template></van-cell>
      </van-cell-group>
      <div class="block"><van-button block type="primary" native-type="submit" data-test="save">{{ t('save') }}</van-button></div>
    </van-form>
  </div>`,
};

export const ReplyForm = {
  props: ['noticeId'],
  emits: ['done'],
  setup(props, { emit }) {
    const notice = computed(() => (data.byType.supervision_notice || []).find((n) => n._id === props.noticeId) || {});
    const replies = computed(() => (data.byType.notice_reply || []).filter((r) => r.notice_id === props.noticeId));
    const { model } = useDraft('reply-' + props.noticeId, () => ({ body: '' }));
    const errors = ref({});
    const submit = async () => {
      const at = stamp();
      const doc = { _id: newId('reply', me().name), type: 'notice_reply', area: notice.value.target_area || me().scope,
        created_by: me().name, created_at: at, notice_id: props.noticeId, body: model.body, replied_at: at };
      const problems = validate('notice_reply', doc);
      errors.value = messages(problems);
      if (problems.length) { refuse(problems); return; }
      await save(doc);
      await dropDraft('reply-' + props.noticeId);
      model.body = '';
      vant.showToast(t('saved'));
      emit('done');
    };
    return { t, word, notice, replies, model, errors, submit };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('notices')" left-arrow @click-left="$emit('done')" />
    <van-cell-group inset class="block">
      <van-cell :title="notice.subject" :label="notice.body" />
      <van-cell :title="t('deadline')" :value="notice.deadline" />
      <van-cell v-for="r in replies" :key="r._id" :title="t('reply')" :label="r.body" :value="r.replied_at && r.replied_at.slice(0, 10)" />
    </van-cell-group>
    <van-form @submit="submit">
      <van-cell-group inset class="block">
        <van-field v-model="model.body" type="textarea" rows="3" autosize :label="t('reply_body')"
          :error-message="errors.body" data-test="reply-body" />
      </van-cell-group>
      <div class="block"><van-button block type="primary" native-type="submit" data-test="send-reply">{{ t('send_reply') }}</van-button></div>
    </van-form>
  </div>`,
};
