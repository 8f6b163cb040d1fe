'use strict';
// Commands on the phone's own database: write, read, list, attachments.
const crypto = require('crypto');
const db = require('./db');

async function withDb(args, fn) {
  return fn(db.local(args));
}

// {dir, docs: [...], generate: {prefix, count, start, fields}, new_edits}
// Attachments go inline as {"_attachments": {"name": {"content_type": ..., "data": "<base64>"}}}.
// Returns {results: [...bulkDocs results...], ok, errors} (ok is false when any doc failed).
async function put(args) {
  const docs = (args.docs || []).slice();
  if (args.generate) {
    const g = args.generate;
    const start = g.start || 0;
    for (let i = start; i < start + g.count; i++) {
      const id = `${g.prefix || 'doc'}-${String(i).padStart(6, '0')}`;
      docs.push(Object.assign({ _id: id, n: i }, g.fields || {}));
    }
  }
  return withDb(args, async (d) => {
    const opts = args.new_edits === false ? { new_edits: false } : {};
    const results = [];
    const chunk = 500;
    for (let i = 0; i < docs.length; i += chunk) {
      results.push(...(await d.bulkDocs(docs.slice(i, i + chunk), opts)));
    }
    const errors = results.filter((r) => r.error);
    return { ok: errors.length === 0, count: results.length, results: args.quiet ? undefined : results, errors };
  });
}

// {dir, id, rev, revs, conflicts, deleted_conflicts, revs_info, open_revs, attachments, latest}
async function get(args) {
  const opts = {};
  for (const k of ['rev', 'revs', 'conflicts', 'deleted_conflicts', 'revs_info', 'open_revs', 'attachments', 'latest']) {
    if (args[k] !== undefined) opts[k] = args[k];
  }
  return withDb(args, (d) => d.get(args.id, opts));
}

// {dir, id, rev}: a tombstone. Without rev, deletes the current winner.
async function remove(args) {
  return withDb(args, async (d) => {
    const rev = args.rev || (await d.get(args.id))._rev;
    return d.remove(args.id, rev);
  });
}

async function info(args) {
  return withDb(args, (d) => d.info());
}

// {dir, conflicts: true, include_docs: true, keys, ...}: allDocs as PouchDB returns it.
async function allDocs(args) {
  const opts = { include_docs: true, conflicts: true };
  for (const k of ['include_docs', 'conflicts', 'keys', 'startkey', 'endkey', 'limit', 'attachments']) {
    if (args[k] !== undefined) opts[k] = args[k];
  }
  return withDb(args, (d) => d.allDocs(opts));
}

// {dir, since, style, include_docs}: the local changes feed.
async function changes(args) {
  const opts = { since: args.since || 0, style: args.style || 'all_docs' };
  if (args.include_docs) opts.include_docs = true;
  return withDb(args, (d) => d.changes(opts));
}

// {dir, id, name, rev, with_data}: the attachment's bytes, summarised.
async function attachment(args) {
  return withDb(args, async (d) => {
    const opts = args.rev ? { rev: args.rev } : {};
    const buf = await d.getAttachment(args.id, args.name, opts);
    const doc = await d.get(args.id, opts);
    const stub = (doc._attachments || {})[args.name] || {};
    return {
      length: buf.length,
      sha256: crypto.createHash('sha256').update(buf).digest('hex'),
      md5: 'md5-' + crypto.createHash('md5').update(buf).digest('base64'),
      content_type: stub.content_type,
      digest: stub.digest,
      data: args.with_data ? buf.toString('base64') : undefined,
    };
  });
}

module.exports = { put, get, remove, info, allDocs, changes, attachment };
