'use strict';
// Live (continuous, retrying) replication for a while: until some docs are on the phone, or time is up.
//
// args: {dir, remote, auth, direction: "sync" | "push" | "pull" (default "sync"), seconds (at most,
//        default 30), until: {ids: [...], revs: {id: rev}, deleted: [...]}, put_when_paused: [docs],
//        batch_size, back_off_max (ms, cap on the retry back-off), stream}
// `until` is checked on the phone every 100 ms: every id present (not deleted), every id at that rev
// (as the winner), every id in `deleted` deleted. Without `until`, runs for `seconds`.
// `put_when_paused`: docs written to the phone once the replication first goes idle (caught up), so a
// test can see a live push. Returns {ok, reached, elapsed_ms, events, written}; reached is false when
// time ran out first (that is not an error: the test decides).
const db = require('./db');
const out = require('./out');
const { Recorder, replicationOpts } = require('./replicate');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function reached(local, until) {
  for (const id of until.ids || []) {
    try { await local.get(id); } catch (e) { return false; }
  }
  for (const [id, rev] of Object.entries(until.revs || {})) {
    try { if ((await local.get(id))._rev !== rev) return false; } catch (e) { return false; }
  }
  for (const id of until.deleted || []) {
    try { await local.get(id); return false; } catch (e) { if (e.status !== 404) return false; }
  }
  return true;
}

async function live(args) {
  const local = db.local(args);
  const remote = db.remote(args);
  const rec = new Recorder(args.stream, args.emit);
  const direction = args.direction || 'sync';
  const opts = Object.assign(replicationOpts(args), { live: true, retry: true });
  if (args.back_off_max) {
    // PouchDB's default back-off grows to minutes; a test waits for a restarted server a short while.
    opts.back_off_function = (delay) => Math.min(args.back_off_max, delay ? delay * 2 : 100);
  }
  const handler = direction === 'sync' ? local.sync(remote, opts)
    : direction === 'push' ? local.replicate.to(remote, opts)
      : local.replicate.from(remote, opts);
  if (direction === 'sync') {
    rec.watch(handler.push, 'push');
    rec.watch(handler.pull, 'pull');
  } else {
    rec.watch(handler, direction);
  }
  const result = { ok: true, reached: false, events: rec.events, written: [] };
  let pausedOnce = false;
  const onPaused = async () => {
    if (pausedOnce) return;
    pausedOnce = true;
    rec.add('caught_up');
    if (args.put_when_paused) result.written = await local.bulkDocs(args.put_when_paused);
  };
  handler.on('paused', (err) => { if (!err) onPaused(); });

  const started = Date.now();
  const deadline = started + 1000 * (args.seconds || 30);
  while (Date.now() < deadline) {
    if (args.until && pausedOnce && (await reached(local, args.until))) {
      result.reached = true;
      break;
    }
    await sleep(100);
  }
  result.elapsed_ms = Date.now() - started;
  handler.cancel();
  await sleep(200);
  return result;
}

module.exports = { live };
