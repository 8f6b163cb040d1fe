#!/usr/bin/env node
'use strict';
// The benchmark's client: real PouchDB (pouchdb-node 9, leveldb) phones, the same code against
// Paicha and against pouchdb-server.
//
//   node bench/node/bench.js <command> '<json args>'   (or JSON on stdin)
//
// Prints one JSON object on stdout. Commands:
//   push       {dir, remote, auth, count, prefix, area, created_by, batch_size}
//              write `count` ~1 KB docs to a fresh phone (not timed), then time one push.
//   pull       {dir, remote, auth, batch_size, area}    time one pull into a fresh phone (`area`: through
//              the replication filter, for pouchdb-server).
//   concurrent {dir, remote, devices: [{auth, area, name}], docs, batch_size, filter: bool, rounds, login}
//              per round, every device writes `docs` docs locally (not timed), then all sync at once (push, and
//              pull of its scope: Paicha by the account's scope, pouchdb-server with `filter`: by area).
//              Times every HTTP request. `login` (a URL): first every device logs in there at once
//              (timed apart) and syncs with the bearer token it gets, as the field app does.
//   longpoll   {dir, remote, writer_auth, reader_auth, area, rounds, filter: bool}
//              device B follows the remote live; device A writes one doc at a time over HTTP; the time
//              from A starting its write to the doc landing in B's database.
//   seed       {remote, auth, total, own, concurrency}     the same docs bench/seed.py writes into SQL,
//              via _bulk_docs new_edits=false.
for (const m of ['log', 'info', 'debug', 'warn']) console[m] = (...a) => console.error(...a);
process.on('unhandledRejection', (err) => console.error('unhandledRejection:', err));

const path = require('path');
const fs = require('fs');
const crypto = require('crypto');
const { monitorEventLoopDelay, performance } = require('perf_hooks');
const http = require('http');
const PouchDB = require(path.join(__dirname, '..', '..', 'tests', 'node_modules', 'pouchdb-node'));

const DISTRICT = '990201';
const VILLAGES = 1000;
const pad = (n, w) => String(n).padStart(w, '0');
const villageCode = (n) => `${DISTRICT}${pad(Math.floor(n / 100) + 1, 3)}${pad((n % 100) + 1, 3)}`;
const OWN_VILLAGE = villageCode(0);

function body(id, area, createdBy) {
  // Key order and content as bench/seed.py's body().
  return {
    type: 'dispute', area, created_by: createdBy || 'bench', created_at: '2026-11-01T09:00:00+08:00',
    summary: '基准测试纠纷 ' + id + ' ' + 'x'.repeat(600), parties: [{ name: '甲', role: 'applicant' }],
    category: 'debt', risk_level: 'low', status: 'registered',
  };
}

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms

// PouchDB's HTTP in Node is node-fetch 2, which sends `Connection: close` with every request unless
// it is given an agent; a browser (PouchDB on a phone) keeps its connections open. So the phones here
// keep theirs too, against both servers. An idle connection is let go after 4 s, before either server
// (Paicha's WEB_KEEPALIVE and Node's server default are 5 s) closes it under a request: browsers retry
// such a request on a new connection, node-fetch does not. BENCH_KEEPALIVE=0: node-fetch's way.
const KEEP_ALIVE = process.env.BENCH_KEEPALIVE === '0' ? null : new http.Agent({ keepAlive: true, timeout: 4000 });

// Every HTTP request the replicator makes, timed (live feeds excluded from latency stats).
class Meter {
  constructor() { this.latencies = []; this.errors = []; this.requests = 0; this.byKind = {}; }
  async request(url, opts) {
    const t0 = now();
    this.requests += 1;
    try {
      const res = await PouchDB.fetch(url, opts);
      const live = /feed=(longpoll|continuous)/.test(String(url));
      if (!live) {
        const ms = now() - t0;
        this.latencies.push(ms);
        const kind = `${(opts && opts.method) || 'GET'} ${endpoint(url)}`;
        (this.byKind[kind] = this.byKind[kind] || []).push(ms);
        if (process.env.BENCH_TRACE) console.error(`${round(t0 % 100000)} +${round(ms)} ${kind} ${String(url).slice(0, 160)}`);
      }
      if (res.status >= 500) this.errors.push(`${res.status} ${String(url).split('?')[0]}`);
      return res;
    } catch (err) {
      this.errors.push(`network: ${err.message}`);
      throw err;
    }
  }
}

// The fetch a phone's remote database uses: the connection policy above, timed by `meter` if given.
function phoneFetch(meter) {
  return (url, opts) => {
    if (KEEP_ALIVE) opts = { ...opts, agent: KEEP_ALIVE };
    return meter ? meter.request(url, opts) : PouchDB.fetch(url, opts);
  };
}

// pouchdb-server has no per-user scope: a replication filter (design doc `bench`, see ensureFilter)
// keeps one village. (Its `_selector` changes filter is not supported by pouchdb-server 4.2.)
const byArea = (area) => ({ filter: 'bench/area', query_params: { area } });
const FILTER_DOC = { _id: '_design/bench', filters: { area: 'function (doc, req) { return doc.area === String(req.query.area); }' } };

async function ensureFilter(db) {
  try { await db.put(FILTER_DOC); } catch (e) { if (e.status !== 409) throw e; }
}

// "_changes", "_bulk_get", "_local", "doc", "db" (info), "/" ...: what a request was for.
function endpoint(url) {
  const p = new URL(String(url)).pathname.split('/').filter(Boolean);
  if (p.length === 0) return '/';
  if (p.length === 1) return 'db';
  return p[1].startsWith('_') ? p[1] : 'doc';
}

function byKind(meter) {
  const out = {};
  for (const [k, v] of Object.entries(meter.byKind)) out[k] = { ...stats(v), total_ms: round(v.reduce((a, b) => a + b, 0)) };
  return out;
}

// `auth`: {username, password} (Basic, on every request), or {token, device_id} (the field app's way:
// a bearer token from one login, and the device's id).
function remote(url, auth, meter) {
  const opts = { skip_setup: true, fetch: phoneFetch(meter) };
  if (auth && auth.token) opts.headers = { Authorization: `Bearer ${auth.token}`, 'X-Paicha-Device': auth.device_id };
  else if (auth) opts.auth = { username: auth.username, password: auth.password };
  return new PouchDB(url, opts);
}

function local(dir, name) {
  fs.mkdirSync(dir, { recursive: true });
  return new PouchDB(path.join(dir, name || 'phone'));
}

function pct(values, p) {
  if (!values.length) return null;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

function stats(values) {
  return { n: values.length, p50_ms: round(pct(values, 50)), p99_ms: round(pct(values, 99)),
    max_ms: round(values.length ? Math.max(...values) : null) };
}
// The loop-delay histogram records each tick's interval (ns); late = beyond the tick itself.
const LOOP_TICK_MS = 10;
const lateMs = (ns) => Math.round(Math.max(0, ns / 1e6 - LOOP_TICK_MS) * 10) / 10;
const round = (x) => (x === null || x === undefined ? x : Math.round(x * 10) / 10);

// How long the client's one thread was busy (running PouchDB, parsing and building bodies, HTTP)
// since `start` (an earlier eventLoopUtilization()): a replication can never take less wall time than
// this, whatever the server, so it bounds the ratio any server can reach with this client.
function clientBusy(start) {
  const elu = performance.eventLoopUtilization(start);
  return { busy_s: Math.round(elu.active) / 1000, utilization: Math.round(elu.utilization * 1000) / 1000 };
}

async function writeLocal(db, count, prefix, area, createdBy) {
  for (let start = 0; start < count; start += 1000) {
    const docs = [];
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const id = `${prefix}-${pad(i, 6)}`;
      docs.push({ _id: id, ...body(id, area, createdBy) });
    }
    const res = await db.bulkDocs(docs);
    const bad = res.filter((r) => r.error);
    if (bad.length) throw new Error(`local write failed: ${JSON.stringify(bad[0])}`);
  }
}

function summary(r) {
  return { ok: r.ok, docs_read: r.docs_read, docs_written: r.docs_written,
    doc_write_failures: r.doc_write_failures, errors: (r.errors || []).map((e) => (typeof e === 'object' ? JSON.stringify(e) : String(e))) };
}

async function push(a) {
  const db = local(a.dir);
  await writeLocal(db, a.count, a.prefix || 'p', a.area || OWN_VILLAGE, a.created_by);
  const meter = new Meter();
  const busy0 = performance.eventLoopUtilization();
  const t0 = now();
  const res = await PouchDB.replicate(db, remote(a.remote, a.auth, meter), { batch_size: a.batch_size || 100 });
  const seconds = (now() - t0) / 1000;
  const client = clientBusy(busy0);
  await db.close();
  return { seconds, requests: meter.requests, latency: stats(meter.latencies), by_endpoint: byKind(meter),
    client_thread: client, result: summary(res) };
}

async function pull(a) {
  const db = local(a.dir);
  const meter = new Meter();
  const opts = { batch_size: a.batch_size || 100 };
  if (a.area) Object.assign(opts, byArea(a.area));
  const busy0 = performance.eventLoopUtilization();
  const t0 = now();
  const res = await PouchDB.replicate(remote(a.remote, a.auth, meter), db, opts);
  const seconds = (now() - t0) / 1000;
  const client = clientBusy(busy0);
  const info = await db.info();
  await db.close();
  return { seconds, requests: meter.requests, local_docs: info.doc_count, latency: stats(meter.latencies),
    by_endpoint: byKind(meter), client_thread: client, result: summary(res) };
}

async function concurrent(a) {
  const devices = [];
  for (const [i, d] of a.devices.entries()) {
    devices.push({ ...d, db: local(path.join(a.dir, `dev${i}`)) });
  }
  const logins = a.login ? await logIn(a.login, devices) : null;
  const rounds = [];
  for (let round = 0; round < (a.rounds || 1); round++) {
    // Not timed: every device writes its docs locally first.
    for (const d of devices) await writeLocal(d.db, a.docs, `c${round}-${d.name}`, d.area, d.auth.username);
    const meter = new Meter();
    const failures = [];
    // How long a ready callback (a response that has arrived) waits for the client's single thread:
    // that wait is part of every latency measured here, whatever the server.
    const loopDelay = monitorEventLoopDelay({ resolution: LOOP_TICK_MS });
    loopDelay.enable();
    const busy0 = performance.eventLoopUtilization();
    const t0 = now();
    const perDevice = await Promise.all(devices.map(async (d) => {
      const start = now();
      const opts = { batch_size: a.batch_size || 100, pull: {}, push: {} };
      if (a.filter) Object.assign(opts.pull, byArea(d.area));
      try {
        const res = await PouchDB.sync(d.db, remote(a.remote, d.auth, meter), opts);
        for (const dir of ['push', 'pull']) {
          const r = res[dir];
          if (!r.ok || r.doc_write_failures || (r.errors && r.errors.length)) {
            failures.push(`${d.name} ${dir}: ${JSON.stringify(summary(r)).slice(0, 300)}`);
          }
        }
      } catch (err) {
        failures.push(`${d.name}: ${err.name} ${err.message}`);
      }
      const docs = (await d.db.info()).doc_count;
      return { ms: now() - start, docs };
    }));
    loopDelay.disable();
    const client = clientBusy(busy0);
    rounds.push({ seconds: (now() - t0) / 1000, devices: devices.length, requests: meter.requests, client_thread: client,
      client_loop_delay: { p50_ms: lateMs(loopDelay.percentile(50)), p99_ms: lateMs(loopDelay.percentile(99)),
        max_ms: lateMs(loopDelay.max) },
      latency: stats(meter.latencies), by_endpoint: byKind(meter), device_ms: stats(perDevice.map((d) => d.ms)),
      docs_per_device: stats(perDevice.map((d) => d.docs)),
      errors: meter.errors.length + failures.length, error_samples: [...meter.errors, ...failures].slice(0, 10) });
  }
  await Promise.all(devices.map((d) => d.db.close()));
  return { ...rounds[0], rounds, logins };
}

// The field app's login (`login`: the mobile API's URL), every device at once: each gets a bearer
// token for its device id, and syncs with it from then on instead of sending its password.
async function logIn(url, devices) {
  const latencies = [];
  const errors = [];
  const t0 = now();
  await Promise.all(devices.map(async (d) => {
    const start = now();
    try {
      const res = await phoneFetch(null)(url, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: d.auth.username, password: d.auth.password, device_id: d.name }) });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      latencies.push(now() - start);
      d.auth = { token: body.access_token, device_id: d.name, username: d.auth.username };
    } catch (err) {
      errors.push(`${d.name}: ${err.message}`);
    }
  }));
  if (errors.length) throw new Error(`${errors.length} logins failed: ${errors.slice(0, 3).join('; ')}`);
  return { seconds: (now() - t0) / 1000, latency: stats(latencies) };
}

async function longpoll(a) {
  const reader = local(a.dir, 'reader');
  const opts = { live: true, retry: true, batch_size: 100 };
  if (a.filter) Object.assign(opts, byArea(a.area));
  const rep = PouchDB.replicate(remote(a.remote, a.reader_auth), reader, opts);
  const errors = [];
  rep.on('error', (e) => errors.push(String(e)));
  rep.on('denied', (e) => errors.push('denied ' + String(e)));
  // Caught up with what is there.
  await new Promise((resolve) => rep.once('paused', resolve));
  const waiting = new Map();
  const feed = reader.changes({ live: true, since: 'now' });
  feed.on('change', (c) => { const w = waiting.get(c.id); if (w) { waiting.delete(c.id); w(); } });
  const writer = remote(a.remote, a.writer_auth);
  const latencies = [];
  const tag = crypto.randomBytes(4).toString('hex');
  for (let i = 0; i < a.rounds; i++) {
    await new Promise((r) => setTimeout(r, 150)); // let B's feed settle back into its wait
    const id = `lp-${tag}-${pad(i, 4)}`;
    const seen = new Promise((resolve) => waiting.set(id, resolve));
    const t0 = now();
    await writer.put({ _id: id, ...body(id, a.area, a.writer_auth.username) });
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 10000));
    if ((await Promise.race([seen, timeout])) === 'timeout') {
      errors.push(`${id} not seen in 10 s`);
      continue;
    }
    latencies.push(now() - t0);
  }
  feed.cancel();
  rep.cancel();
  await new Promise((r) => setTimeout(r, 200));
  await reader.close();
  return { latency: stats(latencies), samples: latencies.map(round), errors: errors.length,
    error_samples: errors.slice(0, 5) };
}

async function seed(a) {
  const target = remote(a.remote, a.auth);
  await ensureFilter(target);
  const own = Math.min(a.own, a.total);
  const ids = function* () {
    for (let n = 0; n < own; n++) yield [`d-${OWN_VILLAGE}-${pad(n, 6)}`, OWN_VILLAGE];
    for (let n = 0; n < a.total - own; n++) yield [`f-${pad(n, 8)}`, villageCode((n % VILLAGES) + 1)];
  };
  const batch = a.batch || 2000;
  const it = ids();
  const t0 = now();
  let written = 0;
  const worker = async () => {
    for (;;) {
      const docs = [];
      for (let i = 0; i < batch; i++) {
        const next = it.next();
        if (next.done) break;
        const [id, area] = next.value;
        const h = crypto.createHash('md5').update(id).digest('hex');
        docs.push({ _id: id, _rev: `1-${h}`, _revisions: { start: 1, ids: [h] }, ...body(id, area) });
      }
      if (!docs.length) return;
      const res = await target.bulkDocs(docs, { new_edits: false });
      const bad = res.filter((r) => r.error);
      if (bad.length) throw new Error(`seed failed: ${JSON.stringify(bad[0])}`);
      written += docs.length;
      if (a.progress && written % 100000 < batch) console.error(`seeded ${written} in ${((now() - t0) / 1000).toFixed(0)} s`);
    }
  };
  await Promise.all(Array.from({ length: a.concurrency || 2 }, worker));
  return { seconds: (now() - t0) / 1000, docs: written };
}

const COMMANDS = { push, pull, concurrent, longpoll, seed };

async function main() {
  const [command, raw] = process.argv.slice(2);
  if (!COMMANDS[command]) {
    process.stdout.write(JSON.stringify({ error: 'usage', reason: `one of ${Object.keys(COMMANDS)}` }) + '\n');
    process.exit(2);
  }
  const text = raw && raw !== '-' ? raw : fs.readFileSync(0, 'utf8');
  try {
    const result = await COMMANDS[command](JSON.parse(text));
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(0);
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: err.name || 'error', reason: String(err.message || err),
      stack: String(err.stack || '').slice(0, 1000) }) + '\n');
    process.exit(1);
  }
}

// Run as a command; required (bench/weaklink/phone.js), it lends its phones and documents.
if (require.main === module) main();
module.exports = { PouchDB, OWN_VILLAGE, body, remote, local, byArea, summary, pad, now, round };
