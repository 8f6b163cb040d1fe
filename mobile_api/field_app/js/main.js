// The field app: log in once, then work offline; records go up by themselves with a signal.
import { i18n, loadWords, setLang, t, word } from './i18n.js';
import { loadSchemas } from './schema.js';
import * as session from './session.js';
import * as store from './store.js';
import { data, me, reload } from './data.js';
import { Home, SyncStatus } from './home.js';
import { DisputeForm, ReplyForm, ReportForm } from './forms.js';
import { Households, VisitForm } from './township.js';
import { MatterFile, Matters } from './matters.js';

const { createApp, ref, reactive, computed } = Vue;

const Login = {
  emits: ['in'],
  setup(props, { emit }) {
    const form = reactive({ name: '', password: '' });
    const busy = ref(false);
    const submit = async () => {
      if (!navigator.onLine) { vant.showToast(t('need_signal_to_login')); return; }
      busy.value = true;
      try {
        emit('in', await session.login(form.name.trim(), form.password));
      } catch (err) {
        vant.showToast({ message: t('login_failed') + '：' + err.message, duration: 3000 });
      } finally { busy.value = false; }
    };
    return { t, form, busy, submit, i18n, setLang };
  },
  template: `
  <div class="page">
    <div class="login-title">{{ t('app') }}</div>
    <van-form @submit="submit">
      <van-cell-group inset>
        <van-field v-model="form.name" :label="t('account')" autocomplete="username" name="name" data-test="login-name" />
        <van-field v-model="form.password" type="password" :label="t('password')" autocomplete="current-password" name="password" data-test="login-password" />
      </van-cell-group>
      <div class="block"><van-button block type="primary" native-type="submit" :loading="busy" data-test="login">{{ t('login') }}</van-button></div>
    </van-form>
    <div class="block" style="text-align:center">
      <van-button size="small" plain @click="setLang(i18n.lang === 'en' ? 'zh' : 'en')">{{ i18n.lang === 'en' ? '中文' : 'English' }}</van-button>
    </div>
  </div>`,
};

// Each of my records with its own state: on the phone, on the server, or refused and why.
const Records = {
  setup() {
    const rows = computed(() => {
      const all = Object.values(data.byType).flat();
      return Object.entries(store.status.outbox).map(([id, entry]) => {
        const doc = all.find((d) => d._id === id) || {};
        return { id, entry, doc, title: doc.summary || doc.notes || doc.body || doc.conclusion || doc.content
          || (doc.nil_report ? t('nil_report') : '') || id };
      }).reverse();
    });
    return { t, rows, status: store.status };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('my_records')" />
    <van-cell-group inset class="block">
      <van-cell v-for="r in rows" :key="r.id" class="record" :data-test="'record-' + r.id" :data-state="r.entry.state">
        <template #title>
          <div>{{ t('type_' + r.entry.type) }} · {{ r.title.slice(0, 40) }}</div>
          <div v-if="status.progress[r.id] !== undefined" class="muted" data-test="photo-progress">{{ t('sending_photo', {pct: Math.round(status.progress[r.id] * 100)}) }}</div>
          <div v-if="r.entry.state === 'refused'" class="reason" data-test="refusal">{{ r.entry.reason }}<div v-if="r.entry.action" class="action">{{ t('what_to_do') }}：{{ r.entry.action }}</div></div>
        </template>
        <template #value>
          <span :class="'state-' + r.entry.state" data-test="state">{{ t('st_' + r.entry.state) }}</span>
        </template>
      </van-cell>
      <van-cell v-if="!rows.length" :title="t('none')" />
    </van-cell-group>
  </div>`,
};

const Me = {
  emits: ['out'],
  setup(props, { emit }) {
    const out = async () => { await session.logout(); await store.close(); emit('out'); };
    return { t, me, i18n, setLang, out, device: session.deviceId(), word };
  },
  template: `
  <div class="page">
    <van-nav-bar :title="t('me')" />
    <van-cell-group inset class="block">
      <van-cell :title="t('account')" :value="(me().display_name || me().name) + ' · ' + me().name" />
      <van-cell :title="me().area ? me().area.name : ''" :value="me().scope" />
      <van-cell :title="t('device')" :label="device" />
      <van-cell :title="t('language')">
        <template #value>
          <van-radio-group :model-value="i18n.lang" direction="horizontal" @update:model-value="setLang">
            <van-radio name="zh" data-test="lang-zh">中文</van-radio><van-radio name="en" data-test="lang-en">English</van-radio>
          </van-radio-group>
        </template>
      </van-cell>
    </van-cell-group>
    <div class="block"><van-button block type="danger" plain data-test="logout" @click="out">{{ t('logout') }}</van-button></div>
  </div>`,
};

const TABS = ['home', 'matters', 'records', 'me'];

const App = {
  components: { Login, Home, Records, Me, ReportForm, DisputeForm, ReplyForm, Households, VisitForm, SyncStatus, Matters,
    MatterFile },
  setup() {
    const signedIn = ref(Boolean(session.current()));
    const screen = ref(localStorage.getItem('paicha.screen') || 'home');
    const params = ref(JSON.parse(localStorage.getItem('paicha.params') || '{}'));
    const tab = computed(() => (TABS.includes(screen.value) ? screen.value : 'home'));
    const go = (name, p = {}) => {
      screen.value = name;
      params.value = p;
      // the open form comes back after a reload, with its draft
      localStorage.setItem('paicha.screen', name);
      localStorage.setItem('paicha.params', JSON.stringify(p));
      window.scrollTo(0, 0);
    };
    const start = async () => { await store.open(session.current()); await reload(); };
    const signIn = async () => { signedIn.value = true; go('home'); await start(); };
    const signOut = () => { signedIn.value = false; go('home'); };
    session.ended.onEnded = async () => {
      session.forget();
      await store.close();
      vant.showToast(t('session_ended'));
      signOut();
    };
    if (signedIn.value) start();
    return { signedIn, screen, params, tab, go, signIn, signOut, t, data, TABS };
  },
  template: `
  <Login v-if="!signedIn" @in="signIn" />
  <template v-else>
    <Home v-if="screen === 'home'" @go="go" />
    <Records v-else-if="screen === 'records'" />
    <Matters v-else-if="screen === 'matters'" @go="go" />
    <MatterFile v-else-if="screen === 'matter'" v-bind="params" @done="go('matters')" />
    <Me v-else-if="screen === 'me'" @out="signOut" />
    <ReportForm v-else-if="screen === 'report'" v-bind="params" @done="go('home')" />
    <DisputeForm v-else-if="screen === 'dispute'" v-bind="params" @done="go('home')" />
    <ReplyForm v-else-if="screen === 'reply'" v-bind="params" @done="go('home')" />
    <Households v-else-if="screen === 'households'" @go="go" @done="go('home')" />
    <VisitForm v-else-if="screen === 'visit'" v-bind="params" @done="go('households')" />
    <van-tabbar v-if="TABS.includes(screen)" :model-value="tab" @update:model-value="go">
      <van-tabbar-item name="home" icon="home-o" data-test="tab-home">{{ t('home') }}</van-tabbar-item>
      <van-tabbar-item name="matters" icon="records-o" data-test="tab-matters">{{ t('matters') }}</van-tabbar-item>
      <van-tabbar-item name="records" icon="orders-o" data-test="tab-records">{{ t('records') }}</van-tabbar-item>
      <van-tabbar-item name="me" icon="user-o" data-test="tab-me">{{ t('me') }}</van-tabbar-item>
    </van-tabbar>
  </template>`,
};

// PouchDB's live replication leaves one promise unanswered when a request of its retry loop finds
// no network (its remote `info()`); the retry carries on regardless. A lost link is not an error.
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof TypeError && /fetch/i.test(event.reason.message)) event.preventDefault();
});

async function boot() {
  setLang(i18n.lang);
  await Promise.all([loadWords(), loadSchemas()]);
  createApp(App).use(vant).mount('#app');
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js', { scope: './' }).catch(() => {});
}

boot();
