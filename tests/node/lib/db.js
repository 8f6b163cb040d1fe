'use strict';
// Opening the phone's local database and a remote one.
const path = require('path');
const fs = require('fs');
const PouchDB = require('pouchdb-node');

// A handle of its own for each command (a test hook may patch its methods), all sharing the one
// open leveldb of the directory; never closed: closing one handle would close the store under the
// others, and the phone's process ends when it is switched off.
function local(args) {
  if (!args.dir) throw Object.assign(new Error('"dir" (the device directory) is required'), { name: 'usage' });
  fs.mkdirSync(args.dir, { recursive: true });
  return new PouchDB(path.join(args.dir, args.db_name || 'phone'));
}

// args.remote: the database URL; args.auth: {username, password} (optional, for HTTP Basic auth).
function remote(args) {
  if (!args.remote) throw Object.assign(new Error('"remote" (a database URL) is required'), { name: 'usage' });
  const opts = { skip_setup: !args.create_remote };
  if (args.auth) opts.auth = { username: args.auth.username, password: args.auth.password };
  if (args.device_id) {
    // the app names itself on every request, as the field app does (the server's audit trail keeps it)
    opts.fetch = (url, init) => {
      init.headers.set('X-Paicha-Device', args.device_id);
      return PouchDB.fetch(url, init);
    };
  }
  return new PouchDB(args.remote, opts);
}

module.exports = { PouchDB, local, remote };
