#!/usr/bin/env node
'use strict';
// The "phone": a PouchDB (leveldb) database in a directory, driven by commands.
//
//   node tests/node/device.js <command> '<json args>'      (or the JSON on stdin when argv has none / '-')
//
// Prints one JSON object on stdout and exits 0; on failure prints {"error", "reason", "status", ...}
// and exits 1 (2 for a usage error). Commands that take {"stream": true} also print each event as a
// JSON line {"event": name, "data": {...}} before the final line.
//
//   node tests/node/device.js --serve
//
// A phone that stays switched on: one command per stdin line ({"id", "command", "args"}), answered
// on stdout by {"id", "event"} lines (stream mode) and one {"id", "exit", "body"}; several commands
// may run at once. End of stdin switches it off. See README.md beside this file.

// PouchDB writes notes through console.info/log ("the above 404 is totally normal"): keep stdout for JSON.
for (const m of ['log', 'info', 'debug', 'warn']) console[m] = (...a) => console.error(...a);

const out = require('./lib/out');

// A stray rejection inside PouchDB (a request cut off when a test kills the server) must not end the
// process: the command's own promise says how it went.
process.on('unhandledRejection', (err) => console.error('unhandledRejection:', err));

const COMMANDS = {
  info: () => require('./lib/local').info,
  put: () => require('./lib/local').put,
  get: () => require('./lib/local').get,
  remove: () => require('./lib/local').remove,
  all_docs: () => require('./lib/local').allDocs,
  changes: () => require('./lib/local').changes,
  attachment: () => require('./lib/local').attachment,
  push: () => require('./lib/replicate').push,
  pull: () => require('./lib/replicate').pull,
  sync: () => require('./lib/replicate').sync,
  replication_id: () => require('./lib/replicate').replicationId,
  live: () => require('./lib/live').live,
  remote: () => require('./lib/remote').call,
  upload_revision: () => require('./lib/field_app').uploadRevision,
  send_revisions: () => require('./lib/field_app').sendRevisions,
};

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

// One command to its end: {exit, body}, the body being the result or {"error", "reason", ...}.
async function runCommand(command, args) {
  if (!command || !COMMANDS[command]) {
    return { exit: 2, body: { error: 'usage', reason: `command must be one of: ${Object.keys(COMMANDS).join(', ')}` } };
  }
  try {
    const result = await COMMANDS[command]()(args);
    return { exit: 0, body: result === undefined ? { ok: true } : result };
  } catch (err) {
    return { exit: 1, body: Object.assign(out.error(err), err.payload || {}) };
  }
}

function timeoutOf(args) {
  return Number(args.timeout || 300);
}

async function once() {
  const [command, raw] = process.argv.slice(2);
  if (!command || !COMMANDS[command]) {
    out.fail((await runCommand(command, {})).body, 2);
    return;
  }
  let args;
  try {
    const text = raw === undefined || raw === '-' ? await readStdin() : raw;
    args = text.trim() ? JSON.parse(text) : {};
  } catch (e) {
    out.fail({ error: 'usage', reason: `arguments are not JSON: ${e.message}` }, 2);
    return;
  }
  const timeout = timeoutOf(args);
  const timer = setTimeout(() => out.fail({ error: 'timeout', reason: `${command} ran over ${timeout}s` }), timeout * 1000);
  timer.unref();
  const { exit, body } = await runCommand(command, args);
  if (exit === 0) out.done(body);
  else out.fail(body, exit);
}

// A command over its time switches the phone off (as the one-shot process exits): whatever it left
// running goes with it, and the next command finds a freshly opened database.
function serve() {
  // Loaded now (PouchDB takes most of a start): a phone started ahead of its first command is ready.
  for (const load of Object.values(COMMANDS)) load();
  const lines = require('readline').createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', async (line) => {
    if (!line.trim()) return;
    let request;
    try {
      request = JSON.parse(line);
    } catch (e) {
      out.write({ id: null, exit: 2, body: { error: 'usage', reason: `request is not JSON: ${e.message}` } });
      return;
    }
    const { id, command } = request;
    const args = request.args || {};
    if (args.stream) args.emit = (event) => out.write({ id, event });
    const timeout = timeoutOf(args);
    const timer = setTimeout(() => out.fail({ id, exit: 1, body: { error: 'timeout', reason: `${command} ran over ${timeout}s` } }),
      timeout * 1000);
    timer.unref();
    const { exit, body } = await runCommand(command, args);
    clearTimeout(timer);
    out.write({ id, exit, body });
  });
  lines.on('close', () => out.fail({ id: null, exit: 0, body: { ok: true, switched_off: true } }, 0));
}

if (process.argv[2] === '--serve') serve();
else once();
