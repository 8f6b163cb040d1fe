// Logging in once: the mobile API's tokens, kept on the phone; the access token is renewed with the
// refresh token when the server says it has expired (each refresh token is good for one refresh).
// A phone revoked from the web gets 401 on refresh: the session ends and the user logs in again.
import { i18n } from './i18n.js';

const KEY = 'paicha.session';
const API = new URL('../api/v1/', location.href).href;

export function deviceId() {
  let id = localStorage.getItem('paicha.device');
  if (!id) {
    id = 'web-' + (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(36).slice(2));
    localStorage.setItem('paicha.device', id);
  }
  return id;
}

export function current() {
  try { return JSON.parse(localStorage.getItem(KEY)); } catch (e) { return null; }
}

function keep(session) { localStorage.setItem(KEY, JSON.stringify(session)); }

export function forget() { localStorage.removeItem(KEY); }

function problem(body, status) {
  const err = new Error(body.detail || body.title || body.reason || `HTTP ${status}`);
  err.status = status;
  err.code = body.code || body.error;
  return err;
}

function language() { return i18n.lang === 'en' ? 'en' : 'zh-CN'; }

export async function login(name, password) {
  const res = await fetch(API + 'auth/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Accept-Language': language() },
    body: JSON.stringify({ name, password, device_id: deviceId(), device_label: navigator.userAgent.slice(0, 300) }),
  });
  const token = await res.json().catch(() => ({}));
  if (!res.ok) throw problem(token, res.status);
  const session = { access: token.access_token, refresh: token.refresh_token, account: token.account };
  const me = await (await fetch(API + 'me', { headers: { Authorization: 'Bearer ' + session.access } })).json();
  session.me = { name: me.name, display_name: me.display_name, role: me.role, scope: me.scope, area: me.area,
    areas: me.areas, db_name: me.sync.db_name };
  keep(session);
  return session;
}

let refreshing = null;

async function refresh() {
  const session = current();
  if (!session) throw Object.assign(new Error('no session'), { status: 401 });
  const res = await fetch(API + 'auth/refresh', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: session.refresh }),
  });
  const token = await res.json().catch(() => ({}));
  if (!res.ok) throw problem(token, res.status);
  keep({ ...session, access: token.access_token, refresh: token.refresh_token || session.refresh });
}

export const ended = { onEnded: () => {} };

// fetch with the bearer token and this phone's id; on 401 one silent refresh and a second try.
export async function authFetch(url, opts = {}) {
  const attempt = () => {
    const headers = new Headers(opts.headers || {});
    headers.set('Authorization', 'Bearer ' + (current() || {}).access);
    headers.set('X-Paicha-Device', deviceId());
    if (!headers.has('Accept-Language')) headers.set('Accept-Language', language());
    return fetch(url, { ...opts, headers });
  };
  let res = await attempt();
  if (res.status !== 401) return res;
  try {
    refreshing = refreshing || refresh();
    await refreshing;
  } catch (err) {
    if (err.status === 401 || err.status === 400) ended.onEnded();
    return res;
  } finally {
    refreshing = null;
  }
  res = await attempt();
  return res;
}

export function authHeaders() {
  return { Authorization: 'Bearer ' + (current() || {}).access, 'X-Paicha-Device': deviceId() };
}

export async function api(path, opts = {}) {
  const res = await authFetch(API + path, opts);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw problem(body, res.status);
  return body;
}

export async function logout() {
  const session = current();
  if (session && navigator.onLine) {
    await authFetch(API + 'auth/logout', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh_token: session.refresh }),
    }).catch(() => {});
  }
  forget();
}
