// Photos: shrunk on the phone (long edge at most 1600 px, JPEG quality 0.7) unless the user keeps
// the original, and sent with their document's revision over tus (resumable uploads), in CouchDB's
// multipart/related form, so a cut link resumes from the last bytes the server has.
import { authHeaders } from './session.js';

const LONG_EDGE = 1600;
const QUALITY = 0.7;
const CHUNK_BYTES = 48 * 1024; // about 6 s at 2G; each piece costs one more round trip

export async function shrink(file, keepOriginal) {
  if (keepOriginal) return file;
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, LONG_EDGE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY));
  return blob.size < file.size || file.type !== 'image/jpeg' ? blob : file;
}

// The revision as multipart/related: attachments the server holds (made at or before the newest
// ancestor it has) go as stubs, the others follow as bytes. The boundary comes from the revision, so
// the body is byte for byte the same when an upload is resumed after a reload.
export function multipartRevision(doc, heldUpTo) {
  const boundary = 'paicha-' + doc._rev.replace(/[^0-9A-Za-z]/g, '');
  const json = { ...doc, _attachments: {} };
  const follows = [];
  for (const [name, att] of Object.entries(doc._attachments || {})) {
    if (att.revpos <= heldUpTo) {
      json._attachments[name] = { stub: true, content_type: att.content_type, digest: att.digest,
        length: att.data.size, revpos: att.revpos };
    } else {
      json._attachments[name] = { follows: true, content_type: att.content_type, length: att.data.size,
        revpos: att.revpos };
      follows.push(att);
    }
  }
  if (!Object.keys(json._attachments).length) delete json._attachments;
  const parts = [`--${boundary}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(json)}`];
  for (const att of follows) parts.push(`\r\n--${boundary}\r\nContent-Type: ${att.content_type}\r\n\r\n`, att.data);
  parts.push(`\r\n--${boundary}--`);
  return { contentType: `multipart/related; boundary="${boundary}"`, body: new Blob(parts) };
}

// Upload one revision; resolves when the server holds it, rejects {status, code, reason} when it
// refuses it. onProgress(fraction).
export function upload(remoteUrl, doc, revision, onProgress) {
  return new Promise((resolve, reject) => {
    const key = `paicha-${doc._id}-${doc._rev}`;
    const up = new tus.Upload(revision.body, {
      endpoint: remoteUrl + '/_uploads',
      retryDelays: [0, 1000, 3000, 5000, 10000],
      metadata: { doc_id: doc._id, content_type: revision.contentType },
      fingerprint: () => Promise.resolve(key),
      removeFingerprintOnSuccess: true,
      onBeforeRequest: (req) => { for (const [k, v] of Object.entries(authHeaders())) req.setHeader(k, v); },
      // In pieces, each confirmed by the server: the percentage shown is what the server holds, not
      // what the phone's socket buffer took (on a slow link that is far ahead).
      chunkSize: CHUNK_BYTES,
      onChunkComplete: (size, accepted, total) => onProgress(total ? accepted / total : 0),
      onShouldRetry: (err) => {
        const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
        return !(status >= 400 && status < 500 && status !== 409 && status !== 423) && navigator.onLine;
      },
      onSuccess: () => resolve(),
      onError: (err) => {
        const res = err.originalResponse;
        let body = {};
        try { body = JSON.parse(res ? res.getBody() : '{}'); } catch (e) { /* not JSON */ }
        reject(Object.assign(new Error(body.reason || err.message),
          { status: res ? res.getStatus() : 0, code: body.error, reason: body.reason }));
      },
    });
    up.findPreviousUploads().then((previous) => {
      if (previous.length) up.resumeFromPreviousUpload(previous[0]);
      up.start();
    });
  });
}
