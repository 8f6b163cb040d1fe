'use strict';
// Calls on a remote database through PouchDB's own http adapter: what an app's `new PouchDB(url)`
// sees of the server.
const db = require('./db');

const METHODS = new Set(['allDocs', 'get', 'put', 'post', 'bulkDocs', 'remove', 'getAttachment', 'putAttachment',
  'removeAttachment', 'info', 'destroy', 'changes', 'bulkGet', 'revsDiff']);

// Buffers (binary attachments) as {"$buffer": base64, "type": content type}, for JSON.
function plain(value) {
  if (Buffer.isBuffer(value)) return { $buffer: value.toString('base64'), type: value.type };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

// {remote, auth, create_remote, calls: [[method, ...args], ...]}: each call's result in order,
// {"result": ...} or {"error": {status, name, message, reason}}; a failed call does not stop the others.
// An argument {"$buffer": base64, "type": ...} is given to PouchDB as a Buffer.
async function call(args) {
  const d = db.remote(args);
  const toArg = (a) => (a && typeof a === 'object' && a.$buffer !== undefined ? Buffer.from(a.$buffer, 'base64') : a);
  const results = [];
  for (const [method, ...rest] of args.calls || []) {
    if (!METHODS.has(method)) throw Object.assign(new Error(`method ${method} is not offered`), { name: 'usage' });
    try {
      results.push({ result: plain(await d[method](...rest.map(toArg))) });
    } catch (err) {
      results.push({ error: { status: err.status, name: err.name, message: err.message, reason: err.reason } });
    }
  }
  return { results };
}

module.exports = { call };
