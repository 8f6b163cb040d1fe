'use strict';
// The field app's own paths to the server for a round on a slow link (README "Photos over a weak
// link"), beside plain replication:
//
// send_revisions: the phone's current revisions of a few small documents in one gzip-compressed
//   `_bulk_docs` with new_edits=false (one round trip where a replication takes five or six; the
//   replication that follows finds them held and sends nothing).
//   args: {dir, remote, auth, doc_ids} -> {ok, written: n, refused: [{id, error, reason}], body_bytes}
//
// upload_revision: one document's current revision with its attachments' bytes, as CouchDB's
//   multipart/related form over tus (resumable uploads, tus-js-client).
//   args: {dir, remote, auth: {username, password}, doc_id, chunk_size (bytes per PATCH; default the
//          whole body), retry_delays (ms, default [0, 1000, 3000, 5000]), creation_with_upload,
//          held_up_to (the newest generation of the document the server holds, when the app knows
//          it, e.g. 0 for a document never sent: saves asking with _revs_diff),
//          stream: true (print progress events)}
//   -> {ok, already_held, upload_url, body_bytes, sent: [[offset, total]...], retries, follows: [...names]};
//   a refused upload throws {error, reason, status}.
const crypto = require('crypto');
const zlib = require('zlib');
const tus = require('tus-js-client');
const db = require('./db');

function authHeader(auth) {
  if (!auth) return {};
  return { Authorization: 'Basic ' + Buffer.from(`${auth.username}:${auth.password}`).toString('base64') };
}

async function serverRevsDiff(args, doc) {
  const res = await fetch(`${args.remote}/_revs_diff`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeader(args.auth) },
    body: JSON.stringify({ [doc._id]: [doc._rev] }),
  });
  if (!res.ok) throw Object.assign(new Error(`_revs_diff: ${res.status}`), { status: res.status });
  return (await res.json())[doc._id];
}

// The revision as multipart/related: attachments the server already holds (made at or before the
// newest ancestor it has) go as stubs, the others follow as bytes after the JSON.
function multipartRevision(doc, heldUpTo) {
  const boundary = 'paicha-' + crypto.randomBytes(12).toString('hex');
  const json = { ...doc, _attachments: {} };
  const follows = [];
  for (const [name, att] of Object.entries(doc._attachments || {})) {
    if (att.revpos <= heldUpTo) {
      json._attachments[name] = { stub: true, content_type: att.content_type, digest: att.digest,
        length: att.data.length, revpos: att.revpos };
    } else {
      json._attachments[name] = { follows: true, content_type: att.content_type, length: att.data.length,
        revpos: att.revpos };
      follows.push([name, att]);
    }
  }
  if (!Object.keys(json._attachments).length) delete json._attachments;
  const parts = [Buffer.from(`--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(json)}`)];
  for (const [, att] of follows) {
    parts.push(Buffer.from(`\r\n--${boundary}\r\nContent-Type: ${att.content_type}\r\n\r\n`), att.data);
  }
  parts.push(Buffer.from(`\r\n--${boundary}--`));
  return { contentType: `multipart/related; boundary="${boundary}"`, body: Buffer.concat(parts),
    follows: follows.map(([name]) => name) };
}

function send(args, doc, revision, emit) {
  const sent = [];
  let retries = 0;
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(revision.body, {
      endpoint: `${args.remote}/_uploads`,
      chunkSize: args.chunk_size || Infinity,
      retryDelays: args.retry_delays || [0, 1000, 3000, 5000],
      uploadDataDuringCreation: Boolean(args.creation_with_upload),
      headers: authHeader(args.auth),
      metadata: { doc_id: doc._id, content_type: revision.contentType },
      onProgress: (bytes, total) => {
        sent.push([bytes, total]);
        if (emit) emit({ event: 'progress', data: { bytes, total } });
      },
      onShouldRetry: (err, attempt, options) => {
        const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        const retry = !(status >= 400 && status < 500 && status !== 409 && status !== 423);
        if (retry) {
          retries += 1;
          if (emit) emit({ event: 'retry', data: { attempt, status, reason: String(err.message).slice(0, 200) } });
        }
        return retry;
      },
      onSuccess: () => resolve({ upload_url: upload.url, sent, retries }),
      onError: (err) => {
        const res = err.originalResponse;
        let body = {};
        try { body = JSON.parse(res ? res.getBody() : '{}'); } catch (e) { /* not JSON */ }
        reject(Object.assign(new Error(body.reason || err.message), {
          name: body.error || 'upload_failed', status: res ? res.getStatus() : 0, payload: { retries },
        }));
      },
    });
    upload.start();
  });
}

async function uploadRevision(args) {
  const phone = db.local(args);
  const doc = await phone.get(args.doc_id, { revs: true, attachments: true, binary: true });
  let heldUpTo = args.held_up_to;
  if (heldUpTo === undefined) { // ask the server which of the document's revisions it holds
    const diff = await serverRevsDiff(args, doc);
    if (!diff || !diff.missing || !diff.missing.length) {
      return { ok: true, already_held: true, body_bytes: 0, sent: [], retries: 0, follows: [] };
    }
    const ancestors = (diff.possible_ancestors || []).map((rev) => parseInt(rev, 10));
    heldUpTo = ancestors.length ? Math.max(...ancestors) : 0;
  }
  const revision = multipartRevision(doc, heldUpTo);
  const result = await send(args, doc, revision, args.emit);
  return { ok: true, already_held: false, body_bytes: revision.body.length, follows: revision.follows, ...result };
}

async function sendRevisions(args) {
  const phone = db.local(args);
  const found = await phone.allDocs({ keys: args.doc_ids, include_docs: true });
  const docs = [];
  for (const row of found.rows) {
    if (!row.doc) throw Object.assign(new Error(`${row.key} is not on the phone`), { name: 'not_found' });
    docs.push(await phone.get(row.id, { revs: true, attachments: true }));
  }
  const body = zlib.gzipSync(JSON.stringify({ docs, new_edits: false }));
  const res = await fetch(`${args.remote}/_bulk_docs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', ...authHeader(args.auth) },
    body,
  });
  const answer = await res.json();
  if (!res.ok) throw Object.assign(new Error(answer.reason || res.statusText), { name: answer.error, status: res.status });
  const refused = answer.filter((r) => r.error);
  return { ok: true, written: docs.length - refused.length, refused, body_bytes: body.length };
}

module.exports = { uploadRevision, sendRevisions, multipartRevision };
