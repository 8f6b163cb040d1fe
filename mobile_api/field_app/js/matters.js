// A matter's file on the phone (一案一档): the disputes of my area, each with its steps in time
// order, and the steps the village's role records (the responsible unit's handling and reply, and
// the person's evaluation); the office's steps (accept, assign, close) are the township's and the
// district's, on the ledger. With a signal, the server's reading of the file (/api/v1): the matter's
// number and stage, and each step that does not count with the reason (a step that came by sync is
// kept, but not counted, when its matter refuses it).
import { i18n, t, word } from './i18n.js';
import { api } from './session.js';
import { enumOf, validate } from './schema.js';
import { dropDraft, save } from './store.js';
import { data, me } from './data.js';
import { newId, stamp, today } from './util.js';
import { messages, useDraft } from './forms.js';

const { ref, computed, onMounted, watch } = Vue;

export const VILLAGE_STEPS = ['handle', 'reply', 'evaluate'];

export const Matters = {
  emits: ['go'],
  setup(props, { emit }) {
    const list = computed(() => (data.byType.dispute || []).filter((d) => d.area.startsWith(me().scope))
      .sort((a, b) => (a.created_at < b.created_at ? 1 : -1)));
    const steps = (id) => (data.byType.matter_step || []).filter((s) => s.matter_id === id).length;
    return { t, word, list, steps, emit };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('matters')" />
    <van-cell-group inset class="block">
      <van-cell v-for="d in list" :key="d._id" :title="d.summary" is-link :data-test="'matter-' + d._id"
        :label="word('cat_', d.category) + ' · ' + word('risk_', d.risk_level) + ' · ' + t('steps_count', {n: steps(d._id)})"
        @click="emit('go', 'matter', {matterId: d._id})" />
      <van-cell v-if="!list.length" :title="t('none')" />
    </van-cell-group>
  </div>`,
};

export const MatterFile = {
  props: ['matterId'],
  emits: ['done'],
  setup(props, { emit }) {
    const matter = computed(() => (data.byType.dispute || []).find((d) => d._id === props.matterId) || {});
    const server = ref(null);
    // in time order; steps of the same moment in the order the server read them, else as recorded
    const place = (step) => {
      const at = ((server.value && server.value.steps) || []).findIndex((s) => s.id === step._id);
      return at < 0 ? Infinity : at;
    };
    const steps = computed(() => (data.byType.matter_step || []).filter((s) => s.matter_id === props.matterId)
      .sort((a, b) => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : place(a) - place(b) || (a.created_at < b.created_at ? -1 : 1))));
    const { model } = useDraft('step-' + props.matterId, () => ({
      kind: 'handle', method: 'mediation', participants: '', conclusion: '', content: '', channel: 'in_person',
      date: today(), result: 'satisfied', collected_via: 'in_person', collected_by: '', note: '' }));
    const errors = ref({});
    const readFile = async () => {
      if (!navigator.onLine) return;
      try {
        server.value = await api(`disputes/${encodeURIComponent(props.matterId)}/steps`);
      } catch (err) { /* not on the server yet, or no signal: the phone's own view stands */ }
    };
    onMounted(readFile);
    watch(() => steps.value.length, () => setTimeout(readFile, 1500));
    const judged = (id) => ((server.value && server.value.steps) || []).find((s) => s.id === id);
    const refusalWords = (code) => {
      const entry = i18n.refusals[code];
      return entry ? (i18n.lang === 'en' ? entry.en : entry.detail_zh || entry.zh) : code;
    };
    const submit = async () => {
      const at = stamp();
      const fields = {
        handle: { method: model.method, participants: model.participants, conclusion: model.conclusion },
        reply: { content: model.content, channel: model.channel, date: model.date },
        evaluate: { result: model.result, collected_via: model.collected_via, collected_by: model.collected_by },
      }[model.kind];
      const doc = { _id: newId('step', me().name), type: 'matter_step', area: matter.value.area, created_by: me().name,
        created_at: at, matter_id: props.matterId, kind: model.kind, at, ...fields, note: model.note || undefined };
      const problems = validate('matter_step', doc);
      errors.value = messages(problems);
      if (problems.length) { vant.showToast(t('v_invalid') + problems[0].path.join('.')); return; }
      await save(JSON.parse(JSON.stringify(doc)));
      await dropDraft('step-' + props.matterId);
      vant.showToast(t('saved'));
      emit('done');
    };
    const [METHODS, CHANNELS, RESULTS, VIA] = ['method', 'channel', 'result', 'collected_via']
      .map((field) => enumOf('matter_step', field));
    return { t, word, matter, steps, model, errors, submit, server, judged, refusalWords,
      VILLAGE_STEPS, METHODS, CHANNELS, RESULTS, VIA };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('matter_file')" left-arrow @click-left="$emit('done')" />
    <van-cell-group inset class="block">
      <van-cell :title="matter.summary" :label="word('cat_', matter.category) + ' · ' + word('risk_', matter.risk_level)" />
      <van-cell v-if="server" :title="server.number || ''" :value="word('mstage_', server.stage)" data-test="stage" />
      <van-cell v-for="p in matter.parties || []" :key="p.name" :title="p.name" :value="t('role_' + p.role)" />
    </van-cell-group>
    <van-cell-group inset class="block" :title="t('steps')" data-test="steps">
      <van-cell v-for="s in steps" :key="s._id" :title="word('mkind_', s.kind)" :value="s.at.slice(0, 16).replace('T', ' ')"
        :data-test="'step-' + s._id">
        <template #label>
          <div>{{ s.conclusion || s.content || (s.result ? word('mresult_', s.result) : '') || s.reason || s.unit || '' }}</div>
          <div v-if="judged(s._id) && !judged(s._id).counts" class="reason" data-test="step-refusal">
            {{ t('not_counted') }}：{{ refusalWords(judged(s._id).refusal) }}</div>
        </template>
      </van-cell>
      <van-cell v-if="!steps.length" :title="t('none')" />
    </van-cell-group>
    <van-cell-group inset class="block" :title="t('record_step')">
      <van-field :label="t('step_kind')">
        <template #input>
          <van-radio-group v-model="model.kind" direction="horizontal">
            <van-radio v-for="k in VILLAGE_STEPS" :key="k" :name="k" :data-test="'step-' + k">{{ word('mkind_', k) }}</van-radio>
          </van-radio-group>
        </template>
      </van-field>
      <template v-if="model.kind === 'handle'">
        <van-field :label="t('step_method')">
          <template #input>
            <van-radio-group v-model="model.method" direction="horizontal">
              <van-radio v-for="m in METHODS" :key="m" :name="m">{{ word('mmethod_', m) }}</van-radio>
            </van-radio-group>
          </template>
        </van-field>
        <van-field v-model="model.participants" :label="t('participants')" :error-message="errors.participants" data-test="participants" />
        <van-field v-model="model.conclusion" type="textarea" rows="2" autosize :label="t('conclusion')" :error-message="errors.conclusion" data-test="conclusion" />
      </template>
      <template v-if="model.kind === 'reply'">
        <van-field v-model="model.content" type="textarea" rows="2" autosize :label="t('reply_content')" :error-message="errors.content" data-test="reply-content" />
        <van-field :label="t('reply_channel')">
          <template #input>
            <van-radio-group v-model="model.channel" direction="horizontal">
              <van-radio v-for="c in CHANNELS" :key="c" :name="c">{{ word('mchannel_', c) }}</van-radio>
            </van-radio-group>
          </template>
        </van-field>
        <van-field v-model="model.date" :label="t('reply_date')" :error-message="errors.date" />
      </template>
      <template v-if="model.kind === 'evaluate'">
        <van-field :label="t('evaluation')">
          <template #input>
            <van-radio-group v-model="model.result" direction="horizontal">
              <van-radio v-for="r in RESULTS" :key="r" :name="r">{{ word('mresult_', r) }}</van-radio>
            </van-radio-group>
          </template>
        </van-field>
        <van-field :label="t('collected_via')">
          <template #input>
            <van-radio-group v-model="model.collected_via" direction="horizontal">
              <van-radio v-for="v in VIA" :key="v" :name="v">{{ word('mchannel_', v) }}</van-radio>
            </van-radio-group>
          </template>
        </van-field>
        <van-field v-model="model.collected_by" :label="t('collected_by')" :error-message="errors.collected_by" data-test="collected-by" />
      </template>
    </van-cell-group>
    <div class="block"><van-button block type="primary" data-test="save-step" @click="submit">{{ t('save') }}</van-button></div>
  </div>`,
};
