// The phone's database (PouchDB on IndexedDB) and its sync with Paicha.
//
// Up: every record the user saves is put on the outbox. With a signal, the outbox's small records
// go in one gzip-compressed `_bulk_docs` with new_edits=false (the phone's own revisions; each gets
// its own answer: held, or refused with the reason), and each record with a new photo goes over tus
// (photos.js) with its progress shown. Down: a live pull of the user's scope, started when there is
// a signal and cancelled when there is none. A refusal notice the server writes for a record marks
// it refused with the reason and what to do, in Chinese.
import { authFetch, current } from './session.js';
import { multipartRevision, upload } from './photos.js';
import { debounce } from './util.js';

const { reactive } = Vue;

export const status = reactive({
  online: navigator.onLine, pulling: false, sending: false, lastSync: null, error: null,
  outbox: {}, // id -> {rev, type, state: phone|server|refused, reason, action, photo}
  progress: {}, // id -> fraction of its photo upload sent
  version: 0, // bumped on every change of the phone's documents
});

let local = null;
let remote = null;
let remoteUrl = null;
let pull = null;
let outboxRev = null;
let queue = Promise.resolve();
let retryTimer = null;
const RETRY_MS = 30000;

export function db() { return local; }

function serial(task) { queue = queue.then(task, task); return queue; }

async function persistOutbox() {
  const doc = { _id: '_local/outbox', entries: status.outbox, lastSync: status.lastSync };
  if (outboxRev) doc._rev = outboxRev;
  outboxRev = (await local.put(doc)).rev;
}

function saveOutbox() { return serial(persistOutbox); }

export async function open(session) {
  local = new PouchDB('paicha-' + session.me.name, { auto_compaction: true });
  try {
    const saved = await local.get('_local/outbox');
    outboxRev = saved._rev;
    status.outbox = saved.entries || {};
    status.lastSync = saved.lastSync || null;
  } catch (e) { /* a new phone */ }
  remoteUrl = new URL('../' + session.me.db_name, location.href).href;
  remote = new PouchDB(remoteUrl, { skip_setup: true, fetch: (url, opts) => authFetch(url, opts) });
  const refusalsSoon = debounce(noteRefusals, 300);
  local.changes({ since: 'now', live: true }).on('change', () => {
    status.version += 1;
    refusalsSoon();
  });
  window.addEventListener('online', goOnline);
  window.addEventListener('offline', goOffline);
  await noteRefusals();
  if (navigator.onLine) goOnline();
  // a send cut by a link the phone still thinks is up is tried again, whatever else happens
  retryTimer = setInterval(() => { if (pendingCount()) flush(); }, RETRY_MS);
}

export async function close() {
  clearInterval(retryTimer);
  window.removeEventListener('online', goOnline);
  window.removeEventListener('offline', goOffline);
  goOffline();
  if (local) await local.close();
  local = null;
}

function goOnline() {
  status.online = true;
  startPull();
  flush();
}

function goOffline() {
  status.online = false;
  if (pull) pull.cancel();
  pull = null;
  status.pulling = false;
}

function synced() {
  status.lastSync = new Date().toISOString();
  status.error = null;
  saveOutbox();
}

function startPull() {
  if (pull || !remote || !current()) return;
  status.pulling = true;
  pull = local.replicate.from(remote, { live: true, retry: true, batch_size: 100 });
  pull.on('paused', (err) => {
    status.pulling = false;
    if (!err && navigator.onLine) { synced(); flush(); }
  }).on('active', () => { status.pulling = true; })
    .on('error', (err) => { status.error = String(err && (err.reason || err.message)); pull = null; });
}

// Save a record on the phone and put it on the outbox; it goes up by itself with a signal.
export async function save(doc) {
  const result = await local.put(doc);
  const photo = Object.values(doc._attachments || {}).some((att) => att.data);
  const previous = status.outbox[doc._id];
  status.outbox[doc._id] = { rev: result.rev, type: doc.type, state: 'phone', photo: photo || Boolean(previous && previous.photo && previous.state !== 'server') };
  await saveOutbox();
  flush();
  return result.rev;
}

export function pendingCount() {
  return Object.values(status.outbox).filter((e) => e.state === 'phone').length;
}

async function gzip(text) {
  if (typeof CompressionStream === 'undefined') return { body: text, headers: {} };
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return { body: await new Response(stream).blob(), headers: { 'Content-Encoding': 'gzip' } };
}

async function sendSmall(ids) {
  const docs = await Promise.all(ids.map((id) => local.get(id, { revs: true, attachments: true })));
  const packed = await gzip(JSON.stringify({ docs, new_edits: false }));
  const res = await authFetch(remoteUrl + '/_bulk_docs', {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...packed.headers }, body: packed.body,
  });
  const answer = await res.json();
  if (!res.ok) throw Object.assign(new Error(answer.reason || res.statusText), { status: res.status });
  const refused = Object.fromEntries(answer.filter((r) => r.error).map((r) => [r.id, r]));
  for (const doc of docs) {
    const entry = status.outbox[doc._id];
    if (!entry || entry.rev !== doc._rev) continue; // edited again meanwhile: that revision goes next time
    const no = refused[doc._id];
    Object.assign(entry, no ? { state: 'refused', reason: no.reason, action: null } : { state: 'server', reason: null });
  }
}

async function sendPhoto(id) {
  const doc = await local.get(id, { revs: true, attachments: true, binary: true });
  const res = await authFetch(remoteUrl + '/_revs_diff', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ [id]: [doc._rev] }),
  });
  const diff = (await res.json())[id];
  const entry = status.outbox[id];
  if (diff && diff.missing && diff.missing.length) {
    const ancestors = (diff.possible_ancestors || []).map((rev) => parseInt(rev, 10));
    const revision = multipartRevision(doc, ancestors.length ? Math.max(...ancestors) : 0);
    status.progress[id] = 0;
    try {
      await upload(remoteUrl, doc, revision, (fraction) => { status.progress[id] = fraction; });
    } catch (err) {
      if (err.status >= 400 && err.status < 500) {
        if (entry.rev === doc._rev) Object.assign(entry, { state: 'refused', reason: err.reason || err.message });
        return;
      }
      throw err;
    } finally {
      delete status.progress[id];
    }
  }
  if (entry.rev === doc._rev) Object.assign(entry, { state: 'server', reason: null });
}

let flushing = null;

// Send what waits on the outbox (one at a time; a call while sending runs again after it).
export function flush() {
  if (!navigator.onLine || !local || !current()) return Promise.resolve();
  if (flushing) { flushing.again = true; return flushing.done; }
  const run = { again: false };
  flushing = run;
  run.done = (async () => {
    await null; // `run.done` is set before the loop runs
    status.sending = true;
    try {
      do {
        run.again = false;
        const waiting = Object.entries(status.outbox).filter(([, e]) => e.state === 'phone');
        const small = waiting.filter(([, e]) => !e.photo).map(([id]) => id);
        if (small.length) await sendSmall(small);
        for (const [id] of waiting.filter(([, e]) => e.photo)) await sendPhoto(id);
        if (waiting.length) { await saveOutbox(); synced(); await noteRefusals(); }
      } while (run.again);
    } catch (err) {
      status.error = String(err.message || err);
    } finally {
      status.sending = false;
      flushing = null;
    }
  })();
  return run.done;
}

// Refusal notices the server wrote for this user's records: the reason and what to do, in Chinese.
async function noteRefusals() {
  if (!local) return;
  const all = await local.allDocs({ include_docs: true });
  let changed = false;
  for (const row of all.rows) {
    const doc = row.doc;
    if (!doc || doc.type !== 'refusal_notice' || doc.status !== 'open') continue;
    const entry = status.outbox[doc.doc_id];
    if (!entry || (doc.sent_rev && doc.sent_rev !== entry.rev)) continue;
    if (entry.state !== 'refused' || entry.reason !== doc.reason) {
      Object.assign(entry, { state: 'refused', reason: doc.reason, action: doc.action, reason_code: doc.reason_code });
      changed = true;
    }
  }
  if (changed) await saveOutbox();
}

// Every document on the phone of the given types (a village's are a few hundred).
export async function docsOfTypes(types) {
  const all = await local.allDocs({ include_docs: true });
  return all.rows.map((r) => r.doc).filter((d) => d && types.includes(d.type));
}

export async function getDraft(name) {
  try { return (await local.get('_local/draft-' + name)).value; } catch (e) { return null; }
}

export function putDraft(name, value) {
  return serial(async () => {
    let rev;
    try { rev = (await local.get('_local/draft-' + name))._rev; } catch (e) { /* first draft */ }
    await local.put({ _id: '_local/draft-' + name, _rev: rev, value });
  });
}

export function dropDraft(name) {
  return serial(async () => {
    try { await local.remove(await local.get('_local/draft-' + name)); } catch (e) { /* none */ }
  });
}
