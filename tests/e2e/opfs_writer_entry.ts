// This module is browser compatible.
/**
 * The OPFS store's helper worker for the browser tests: writes (and hashes) blob bytes in
 * parallel with the store's thread (see `writerWorker` in src/store/opfs.ts).
 *
 * `?quota=N` in the worker's URL simulates a full quota: sync access handle writes throw
 * the browser's `QuotaExceededError` once N bytes were written (Chromium's DevTools quota
 * override does not reach sync access handles in workers).
 * @module
 */
import { serveOpfsWriter } from "../../src/store/opfs.ts";

const quota = new URL(location.href).searchParams.get("quota");
if (quota !== null) {
  let left = Number(quota);
  const proto = (globalThis as unknown as {
    FileSystemSyncAccessHandle: {
      prototype: { write(buffer: Uint8Array, options?: { at?: number }): number };
    };
  }).FileSystemSyncAccessHandle.prototype;
  const write = proto.write;
  proto.write = function (buffer, options) {
    left -= buffer.byteLength;
    if (left < 0) throw new DOMException("Quota exceeded (simulated).", "QuotaExceededError");
    return write.call(this, buffer, options);
  };
}

serveOpfsWriter(globalThis as unknown as Parameters<typeof serveOpfsWriter>[0]);
