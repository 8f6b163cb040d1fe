// Township staff: the households of their villages with a search, and a household visit with the
// phone's GPS fix (WGS-84, as the server stores it; its accuracy shown), a photo and notes. After a
// sync, the server's checks of each visit (off site, poor accuracy) from /_geo/visits.
import { t } from './i18n.js';
import { validate } from './schema.js';
import { save, status } from './store.js';
import { authFetch } from './session.js';
import { data, me } from './data.js';
import { blobToDataUrl, dataUrlToBlob, newId, stamp } from './util.js';
import { shrink } from './photos.js';
import { dropDrafts, messages, useDraft } from './forms.js';

const { ref, computed, onMounted, reactive } = Vue;

const flags = reactive({ byVisit: {} });

async function loadFlags() {
  if (!navigator.onLine) return;
  const res = await authFetch(new URL('../_geo/visits?visitor=' + encodeURIComponent(me().name), location.href).href);
  if (!res.ok) return;
  const body = await res.json();
  for (const row of body.items || body.visits || body.rows || []) flags.byVisit[row.visit_id || row.id || row._id] = row.flags || [];
}

export const Households = {
  emits: ['go', 'done'],
  setup(props, { emit }) {
    const query = ref('');
    const list = computed(() => {
      const q = query.value.trim();
      return (data.byType.household || []).filter((h) => !q || (h.head_name || '').includes(q) || (h.address || '').includes(q))
        .sort((a, b) => (a.address < b.address ? -1 : 1)).slice(0, 200);
    });
    const visits = computed(() => (data.byType.household_visit || []).filter((v) => v.visitor === me().name)
      .sort((a, b) => (a.visited_at < b.visited_at ? 1 : -1)));
    onMounted(() => loadFlags().catch(() => {}));
    return { t, query, list, visits, flags, emit, status };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('households')" left-arrow @click-left="emit('done')" />
    <van-search v-model="query" :placeholder="t('search')" data-test="household-search" />
    <van-cell-group inset class="block">
      <van-cell v-for="h in list" :key="h._id" :title="h.head_name || h.address" :label="h.address" is-link
        data-test="household" @click="emit('go', 'visit', {householdId: h._id})" />
      <van-cell v-if="!list.length" :title="t('none')" />
    </van-cell-group>
    <van-cell-group inset class="block" :title="t('visit_flags')" v-if="visits.length" data-test="visits">
      <van-cell v-for="v in visits.slice(0, 20)" :key="v._id" :title="v.visited_at.slice(0, 16).replace('T', ' ')"
        :label="v.notes">
        <template #value>
          <template v-if="flags.byVisit[v._id]">
            <van-tag v-for="f in flags.byVisit[v._id]" :key="f" type="danger" :data-test="'flag-' + f" style="margin-left:4px">{{ t('flag_' + f) }}</van-tag>
            <van-tag v-if="!flags.byVisit[v._id].length" type="success">{{ t('flag_ok') }}</van-tag>
          </template>
        </template>
      </van-cell>
    </van-cell-group>
  </div>`,
};

export const VisitForm = {
  props: ['householdId'],
  emits: ['done'],
  setup(props, { emit }) {
    const household = computed(() => (data.byType.household || []).find((h) => h._id === props.householdId) || {});
    const { model } = useDraft('visit-' + props.householdId, () => ({ fix: null, notes: '', purpose: 'routine', photos: [], keepOriginal: false }));
    const errors = ref({});
    const locating = ref(false);
    const locate = () => {
      locating.value = true;
      navigator.geolocation.getCurrentPosition((pos) => {
        locating.value = false;
        model.fix = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy_m: Math.round(pos.coords.accuracy * 10) / 10,
          fix_time: stamp(new Date(pos.timestamp)), crs: 'WGS-84' };
      }, (err) => {
        locating.value = false;
        vant.showToast(t('fix_failed', { reason: err.message }));
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    };
    const afterRead = async (item) => {
      const blob = await shrink(item.file, model.keepOriginal);
      model.photos.push({ url: await blobToDataUrl(blob), type: blob.type || 'image/jpeg' });
    };
    const submit = async () => {
      const at = stamp();
      const names = model.photos.map((p, i) => `photo-${i + 1}.jpg`);
      const doc = { _id: newId('visit', me().name), type: 'household_visit', area: household.value.area, created_by: me().name,
        created_at: at, household_id: props.householdId, visitor: me().name, visited_at: at, purpose: model.purpose,
        fix: model.fix || undefined, notes: model.notes || undefined, photos: names.length ? names : undefined };
      const problems = validate('household_visit', doc);
      errors.value = messages(problems);
      if (problems.length) { vant.showToast(t('v_invalid') + problems[0].path.join('.')); return; }
      const attachments = {};
      for (const [i, p] of model.photos.entries()) attachments[names[i]] = { content_type: p.type, data: await dataUrlToBlob(p.url) };
      await save({ ...JSON.parse(JSON.stringify(doc)), ...(names.length ? { _attachments: attachments } : {}) });
      await dropDrafts('visit-' + props.householdId);
      vant.showToast(t('saved'));
      emit('done');
    };
    return { t, household, model, errors, locate, locating, afterRead, submit };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('record_visit')" left-arrow @click-left="$emit('done')" />
    <van-cell-group inset class="block">
      <van-cell :title="household.head_name" :label="household.address" />
      <van-cell :title="model.fix ? (model.fix.lat.toFixed(5) + ', ' + model.fix.lon.toFixed(5)) : t('no_fix')"
        :label="model.fix ? t('fix_accuracy', {m: model.fix.accuracy_m}) : ''" data-test="fix">
        <template #value><van-button size="small" type="primary" :loading="locating" data-test="get-fix" @click="locate">{{ t('get_fix') }}</van-button></template>
      </van-cell>
      <van-field v-model="model.notes" type="textarea" rows="3" autosize :label="t('notes')" :error-message="errors.notes" data-test="visit-notes" />
    </van-cell-group>
    <van-cell-group inset class="block" :title="t('photos')">
      <div style="padding: 10px 16px">
        <img v-for="(p, i) in model.photos" :key="i" :src="p.url" class="photo-thumb" />
        <van-uploader :after-read="afterRead" accept="image/*" capture="environment" :preview-image="false" data-test="photo-input" />
      </div>
    </van-cell-group>
    <div class="block"><van-button block type="primary" data-test="save" @click="submit">{{ t('save') }}</van-button></div>
  </div>`,
};
