'use strict';
// JSON on stdout: events as lines (stream mode), then one final line; the exit code tells success.

function write(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// A PouchDB error (or any Error) as plain JSON.
function error(err) {
  if (!err || typeof err !== 'object') return { error: 'unknown', reason: String(err) };
  const o = {
    error: err.name || err.error || 'error',
    reason: err.reason || err.message || String(err),
  };
  if (err.status !== undefined) o.status = err.status;
  if (err.id !== undefined) o.id = err.id;
  if (err.docId !== undefined) o.id = err.docId;
  if (err.code !== undefined) o.code = err.code;
  if (err.message && err.message !== o.reason) o.message = err.message;
  return o;
}

let finished = false;
function finish(obj, code) {
  if (finished) return;
  finished = true;
  write(obj);
  // Let stdout drain, then leave even if a live replication still holds sockets open.
  process.stdout.write('', () => process.exit(code));
}

module.exports = {
  write,
  error,
  done: (obj) => finish(obj === undefined ? { ok: true } : obj, 0),
  fail: (obj, code = 1) => finish(obj, code),
};
