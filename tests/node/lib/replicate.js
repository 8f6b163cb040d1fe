'use strict';
// One-shot replication between the phone and a remote database: push, pull or sync (both ways).
//
// args: {dir, remote, auth: {username, password}, batch_size, batches_limit, doc_ids, checkpoint,
//        stream: true (print each event as a JSON line while running),
//        delay_checkpoints_ms: after the first checkpoint, hold every checkpoint write this long first
//        (emitting "checkpoint_delayed"), so a test can kill the server between a written batch and
//        its checkpoint}
// Returns {ok, push?: <result>, pull?: <result>, events: [...], replication_ids: [...],
//          source: {push?|pull?: {since, changes}}}; a result is
// {ok, status, docs_read, docs_written, doc_write_failures, errors, last_seq, start_time, end_time}.
// docs_read counts docs fetched after revs_diff; source.changes counts the changes gone through, and
// source.since is where the source's changes feed was first read from (the checkpoint used).
// On a failed replication it throws, with the same payload plus {error, reason}.
const crypto = require('crypto');
const db = require('./db');
const out = require('./out');

const REPLICATION_OPTS = ['batch_size', 'batches_limit', 'doc_ids', 'checkpoint', 'since', 'style'];

function replicationOpts(args) {
  const opts = { retry: false };
  for (const k of REPLICATION_OPTS) if (args[k] !== undefined) opts[k] = args[k];
  return opts;
}

function summary(result) {
  if (!result) return null;
  return {
    ok: result.ok,
    status: result.status,
    docs_read: result.docs_read,
    docs_written: result.docs_written,
    doc_write_failures: result.doc_write_failures,
    errors: (result.errors || []).map(out.error),
    last_seq: result.last_seq,
    start_time: result.start_time,
    end_time: result.end_time,
  };
}

// Records what a replication does, in order; in stream mode, hands each event at once to `emit`
// (a served phone's line for the command; by default a line of its own on stdout).
class Recorder {
  constructor(stream, emit = out.write) {
    this.stream = stream;
    this.emit = emit;
    this.events = [];
  }

  add(event, data, direction) {
    const e = { event, t: Date.now() };
    if (direction) e.direction = direction;
    if (data !== undefined) e.data = data;
    this.events.push(e);
    if (this.stream) this.emit(e);
  }

  // How a replication went at the source: the `since` it first read the changes feed from (its
  // checkpoint; 0 means from scratch) and how many changes it went through (before revs_diff).
  stats(direction) {
    this.perDirection = this.perDirection || {};
    this.perDirection[direction] = this.perDirection[direction] || { since: null, changes: 0 };
    return this.perDirection[direction];
  }

  spyChanges(src, direction) {
    const changes = src.changes.bind(src);
    src.changes = (opts, ...rest) => {
      const st = this.stats(direction);
      if (st.since === null && opts && opts.since !== undefined) st.since = opts.since;
      return changes(opts, ...rest);
    };
  }

  watch(rep, direction) {
    this.stats(direction);
    rep.on('checkpoint', (c) => { if (c && c.revs_diff) this.stats(direction).changes += 1; });
    rep.on('change', (info) => this.add('change', {
      docs_read: info.docs_read,
      docs_written: info.docs_written,
      doc_write_failures: info.doc_write_failures,
      last_seq: info.last_seq,
      pending: info.pending,
      ids: (info.docs || []).map((d) => d._id),
    }, direction));
    // PouchDB 9 also emits 'checkpoint' for its internal steps (pending_batch, revs_diff, ...):
    // keep only "a checkpoint was written on both sides".
    rep.on('checkpoint', (c) => { if (c && 'checkpoint' in c) this.add('checkpoint', c, direction); });
    rep.on('denied', (err) => this.add('denied', out.error(err), direction));
    rep.on('active', () => this.add('active', undefined, direction));
    rep.on('paused', (err) => this.add('paused', err ? out.error(err) : undefined, direction));
    rep.on('error', (err) => this.add('error', out.error(err), direction));
    rep.on('complete', (info) => this.add('complete', summary(info), direction));
  }
}

// The _local/ checkpoint ids PouchDB reads on a database, as it reads them.
function spyCheckpointIds(pouch, seen) {
  const get = pouch.get.bind(pouch);
  pouch.get = (id, ...rest) => {
    if (typeof id === 'string' && id.startsWith('_local/') && !seen.includes(id)) seen.push(id);
    return get(id, ...rest);
  };
}

// Test hook: hold checkpoint (_local/ doc) writes after the first one, on both databases.
function delayCheckpoints(pouches, ms, rec) {
  const armed = () => rec.events.some((e) => e.event === 'checkpoint');
  for (const pouch of pouches) {
    const put = pouch.put.bind(pouch);
    pouch.put = async (doc, ...rest) => {
      if (doc && typeof doc._id === 'string' && doc._id.startsWith('_local/') && armed()) {
        rec.add('checkpoint_delayed', { id: doc._id, ms });
        await new Promise((r) => setTimeout(r, ms));
      }
      return put(doc, ...rest);
    };
  }
}

function endpoints(args) {
  const local = db.local(args);
  const remote = db.remote(args);
  const ids = [];
  spyCheckpointIds(remote, ids);
  return { local, remote, ids };
}

async function run(args, direction) {
  const { local, remote, ids } = endpoints(args);
  const rec = new Recorder(args.stream, args.emit);
  if (args.delay_checkpoints_ms) delayCheckpoints([local, remote], args.delay_checkpoints_ms, rec);
  const opts = replicationOpts(args);
  const payload = { events: rec.events, replication_ids: ids };
  Object.defineProperty(payload, 'source', { enumerable: true, get: () => rec.perDirection });
  try {
    if (direction === 'sync' || direction === 'push') rec.spyChanges(local, 'push');
    if (direction === 'sync' || direction === 'pull') rec.spyChanges(remote, 'pull');
    if (direction === 'sync') {
      const handler = local.sync(remote, opts);
      const results = {};
      rec.watch(handler.push, 'push');
      rec.watch(handler.pull, 'pull');
      for (const dir of ['push', 'pull']) {
        handler[dir].on('complete', (r) => { results[dir] = summary(r); });
        handler[dir].on('error', (err) => { results[dir] = summary(err && err.result); });
      }
      try {
        await handler;
      } finally {
        Object.assign(payload, results);
      }
      payload.ok = Boolean(payload.push && payload.push.ok && payload.pull && payload.pull.ok);
    } else {
      const [src, target] = direction === 'push' ? [local, remote] : [remote, local];
      const rep = db.PouchDB.replicate(src, target, opts);
      rec.watch(rep, direction);
      try {
        payload[direction] = summary(await rep);
      } catch (err) {
        payload[direction] = summary(err.result);
        throw err;
      }
      payload.ok = payload[direction].ok;
    }
    return payload;
  } catch (err) {
    err.payload = payload;
    throw err;
  }
}

// The checkpoint id PouchDB will use (its generateReplicationId, for plain replications without a
// filter): md5 over the two databases' ids; a remote's id is the server uuid (GET /) + the db name.
async function replicationId(args) {
  const local = db.local(args);
  const remote = db.remote(args);
  const [l, r] = await Promise.all([local.id(), remote.id()]);
  const docIds = args.doc_ids ? args.doc_ids.slice().sort().join(',') : '';
  const ident = (a, b) => '_local/' + crypto.createHash('md5').update(a + b + docIds, 'binary')
    .digest('base64').replace(/\//g, '.').replace(/\+/g, '_');
  return { push: ident(l, r), pull: ident(r, l), local_id: l, remote_id: r };
}

module.exports = {
  push: (args) => run(args, 'push'),
  pull: (args) => run(args, 'pull'),
  sync: (args) => run(args, 'sync'),
  replicationId,
  Recorder,
  replicationOpts,
};
