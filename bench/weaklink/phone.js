#!/usr/bin/env node
'use strict';
// The weak-link benchmark's phone: real PouchDB 9 (pouchdb-node, leveldb), the same code against
// Paicha and pouchdb-server, with the phones of bench/node/bench.js (kept-alive connections).
//
//   node bench/weaklink/phone.js <command> -      (JSON arguments on stdin, one JSON line out)
//
//   pull        {dir, remote, auth, area, batch_size}  a fresh phone's first pull (`area`: through the
//               replication filter, for pouchdb-server).
//   field_round {the same}: the same round sent the field app's way (one _bulk_docs for the small
//               documents, the photo's revision over tus, resumed after a cut); Paicha only
//   push_round  {dir, remote, auth, tag, area, user, small_docs, photo_bytes, retry_every_s, give_up_s}
//               a round's documents written on a fresh phone (not timed): `small_docs` docs, the last a
//               household visit with a `photo_bytes` JPEG (random bytes) attached; then pushed by plain
//               replication. A replication that fails (the link cut) is started again after
//               `retry_every_s` until it succeeds, as the field app's sync loop does.
for (const m of ['log', 'info', 'debug', 'warn']) console[m] = (...a) => console.error(...a);
process.on('unhandledRejection', (err) => console.error('unhandledRejection:', err));

const fs = require('fs');
const crypto = require('crypto');
const path = require('path');
const { PouchDB, OWN_VILLAGE, body, remote, local, byArea, summary, pad, now } = require(path.join(__dirname, '..', 'node', 'bench.js'));

// Random-looking bytes (a JPEG does not compress), the same on every run and for both servers.
function photo(bytes, seed) {
  const out = Buffer.alloc(bytes);
  for (let at = 0, n = 0; at < bytes; n++) {
    at += crypto.createHash('sha256').update(`${seed}-${n}`).digest().copy(out, at);
  }
  out[0] = 0xff; out[1] = 0xd8; // a JPEG's first bytes
  return out;
}

function roundDocs(a) {
  const user = a.user;
  const docs = [];
  for (let i = 0; i < a.small_docs - 1; i++) {
    const id = `wl-${a.tag}-dispute-${pad(i, 2)}`;
    docs.push({ _id: id, ...body(id, a.area || OWN_VILLAGE, user) });
  }
  const at = '2026-11-02T10:05:00+08:00';
  docs.push({
    _id: `wl-${a.tag}-visit`, type: 'household_visit', area: a.area || OWN_VILLAGE, created_by: user, created_at: at,
    household_id: `household-${a.area || OWN_VILLAGE}-0001`, visitor: user, visited_at: at, purpose: 'routine',
    notes: '入户走访（基准测试）', photos: ['photo-1.jpg'],
    _attachments: { 'photo-1.jpg': { content_type: 'image/jpeg', data: photo(a.photo_bytes, a.tag) } },
  });
  return docs;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One replication, started again after a failure until it succeeds or `give_up_s` has passed.
async function replicateUntilDone(from, to, opts, a) {
  const attempts = [];
  const t0 = now();
  for (;;) {
    const started = now();
    try {
      const res = await PouchDB.replicate(from, to, opts);
      attempts.push({ at_s: (started - t0) / 1000, seconds: (now() - started) / 1000, ok: res.ok });
      return { seconds: (now() - t0) / 1000, attempts, result: summary(res) };
    } catch (err) {
      attempts.push({ at_s: (started - t0) / 1000, seconds: (now() - started) / 1000, ok: false,
        error: `${err.name || 'error'}: ${String(err.message || err.reason || err).slice(0, 200)}` });
      if ((now() - t0) / 1000 > (a.give_up_s || 300)) throw new Error(`gave up after ${attempts.length} attempts`);
      await sleep(1000 * (a.retry_every_s || 1));
    }
  }
}

async function pull(a) {
  const db = local(a.dir);
  const opts = { batch_size: a.batch_size || 100 };
  if (a.area) Object.assign(opts, byArea(a.area));
  const out = await replicateUntilDone(remote(a.remote, a.auth), db, opts, a);
  out.local_docs = (await db.info()).doc_count;
  await db.close();
  return out;
}

async function pushRound(a) {
  const db = local(a.dir);
  const written = await db.bulkDocs(roundDocs(a));
  const bad = written.filter((r) => r.error);
  if (bad.length) throw new Error(`local write failed: ${JSON.stringify(bad[0])}`);
  const out = await replicateUntilDone(db, remote(a.remote, a.auth), { batch_size: a.batch_size || 100 }, a);
  await db.close();
  return out;
}

// The field app's way (README "Photos over a weak link"): the round's small documents as the phone's
// own revisions in one compressed _bulk_docs, then the photo's revision over tus, resumed after a
// cut from what the server holds (tests/node/lib/field_app.js, the same code the tests run).
async function fieldRound(a) {
  const fieldApp = require(path.join(__dirname, '..', '..', 'tests', 'node', 'lib', 'field_app.js'));
  const phoneDb = require(path.join(__dirname, '..', '..', 'tests', 'node', 'lib', 'db.js')).local({ dir: a.dir });
  const docs = roundDocs(a);
  const written = await phoneDb.bulkDocs(docs);
  const bad = written.filter((r) => r.error);
  if (bad.length) throw new Error(`local write failed: ${JSON.stringify(bad[0])}`);
  const args = { dir: a.dir, remote: a.remote, auth: a.auth };
  const t0 = now();
  const attempts = [];
  const small = docs.filter((d) => !d._attachments).map((d) => d._id);
  // The small documents go first, safe on the server before the photo starts (retried as a whole: one request).
  for (;;) {
    const started = now();
    try {
      const sent = await fieldApp.sendRevisions({ ...args, doc_ids: small });
      attempts.push({ step: 'documents', seconds: (now() - started) / 1000, ok: true, written: sent.written });
      if (sent.refused.length) throw new Error(`refused: ${JSON.stringify(sent.refused[0])}`);
      break;
    } catch (err) {
      attempts.push({ step: 'documents', seconds: (now() - started) / 1000, ok: false, error: String(err.message || err) });
      if ((now() - t0) / 1000 > (a.give_up_s || 300)) throw err;
      await sleep(1000 * (a.retry_every_s || 1));
    }
  }
  const photoDoc = docs.find((d) => d._attachments)._id;
  const started = now();
  const upload = await fieldApp.uploadRevision({ ...args, doc_id: photoDoc, held_up_to: 0, // a new document
    retry_delays: Array(60).fill(1000 * (a.retry_every_s || 1)) });
  attempts.push({ step: 'photo', seconds: (now() - started) / 1000, ok: true, retries: upload.retries,
    body_bytes: upload.body_bytes });
  return { seconds: (now() - t0) / 1000, attempts, result: { docs_written: small.length + 1, doc_write_failures: 0 },
    upload: { retries: upload.retries, body_bytes: upload.body_bytes } };
}

const COMMANDS = { pull, push_round: pushRound, field_round: fieldRound };

async function main() {
  const [command, raw] = process.argv.slice(2);
  if (!COMMANDS[command]) {
    process.stdout.write(JSON.stringify({ error: 'usage', reason: `one of ${Object.keys(COMMANDS)}` }) + '\n');
    process.exit(2);
  }
  const text = raw && raw !== '-' ? raw : fs.readFileSync(0, 'utf8');
  try {
    process.stdout.write(JSON.stringify(await COMMANDS[command](JSON.parse(text))) + '\n');
    process.exit(0);
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: err.name || 'error', reason: String(err.message || err),
      stack: String(err.stack || '').slice(0, 1000) }) + '\n');
    process.exit(1);
  }
}

main();
