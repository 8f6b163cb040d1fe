#!/usr/bin/env node
'use strict';
// The "phone": a PouchDB (leveldb) database in a directory, driven by one command per process.
//
//   node tests/node/device.js <command> '<json args>'      (or the JSON on stdin when argv has none / '-')
//
// Prints one JSON object on stdout and exits 0; on failure prints {"error", "reason", "status", ...}
// and exits 1 (2 for a usage error). Commands that take {"stream": true} also print each event as a
// JSON line {"event": name, "data": {...}} before the final line. See README.md beside this file.

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
};

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

async function main() {
  const [command, raw] = process.argv.slice(2);
  if (!command || !COMMANDS[command]) {
    out.fail({ error: 'usage', reason: `command must be one of: ${Object.keys(COMMANDS).join(', ')}` }, 2);
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
  const timeout = Number(args.timeout || 300);
  const timer = setTimeout(() => out.fail({ error: 'timeout', reason: `${command} ran over ${timeout}s` }), timeout * 1000);
  timer.unref();
  try {
    const result = await COMMANDS[command]()(args);
    out.done(result);
  } catch (err) {
    out.fail(Object.assign(out.error(err), err.payload || {}));
  }
}

main();
