// This module is browser compatible.
/**
 * The server side of the helper-worker protocol: `serveOpfsWriter(self)` in the helper worker's entry.
 * @module
 */
import { toHex } from "../../digest.ts";
import { IoError } from "../../errors.ts";
import { getRuntime } from "../../runtime/mod.ts";
import type { Hasher, Runtime } from "../../runtime/types.ts";
import type { OpfsSyncAccessHandle } from "./dom.ts";
import { domName, writeAll } from "./files.ts";
import {
  type FromWriter,
  idleRelease,
  SEGMENT,
  type ToWriter,
  WEBCRYPTO_MAX,
} from "./helper_client.ts";

/**
 * Serves the OPFS store's write requests inside its helper worker (`scope` is the worker's global).
 *
 * @example
 * ```ts ignore
 * // writer.js, the helper worker's entry, is these two lines:
 * //   import { serveOpfsWriter } from "@lading/oci/opfs";
 * //   serveOpfsWriter(self);
 * // The store's worker hands blob bytes to it (about twice the import speed on two cores):
 * import { writeBlob } from "@lading/oci";
 * import { openOpfsStore, removeOpfsStore } from "@lading/oci/opfs";
 * const store = await openOpfsStore({
 *   path: "example-writer",
 *   writerWorker: () => new Worker(new URL("./writer.js", import.meta.url), { type: "module" }),
 * });
 * try {
 *   const bytes = new Uint8Array(3 << 20).fill(7);
 *   const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
 *   const digest = `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}` as const;
 *   await writeBlob(store, bytes, { digest, size: bytes.byteLength });
 *   console.log(await store.has(digest)); // true
 * } finally {
 *   await store.close();
 *   await removeOpfsStore("example-writer");
 * }
 * ```
 */
export function serveOpfsWriter(
  scope: {
    postMessage(m: unknown, transfer?: Transferable[]): void;
    addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
  },
  options: { runtime?: Runtime } = {},
): void {
  interface State {
    sync?: OpfsSyncAccessHandle;
    /** The helper hashes this write: by gathering it, or with `hasher`. */
    hashes: boolean;
    gathering: boolean;
    hasher?: Hasher;
    at: number;
    failed: boolean;
    queue: Promise<void>;
  }
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  const writes = new Map<number, State>();
  /** One write at a time gathers its bytes here for a WebCrypto digest. */
  let gathered: Uint8Array<ArrayBuffer> | undefined;
  let gatherer: State | undefined;
  const idle = idleRelease(() => (gathered = undefined));
  const post = (m: FromWriter, transfer?: Transferable[]) => scope.postMessage(m, transfer);
  const hasher = async () => await (options.runtime ?? await getRuntime()).createHasher("sha256");
  const stopGathering = (w: State) => {
    if (gatherer === w) gatherer = undefined;
    w.gathering = false;
  };
  const end = (id: number, w: State) => {
    try {
      w.sync?.close();
    } catch {
      // closed
    }
    w.sync = undefined;
    stopGathering(w);
    if (writes.delete(id)) idle.leave();
  };
  const fail = (id: number, w: State, e: unknown) => {
    w.failed = true;
    end(id, w);
    post({
      t: "error",
      id,
      name: domName(e) ?? "Error",
      message: e instanceof Error ? e.message : String(e),
    });
  };
  /** Hashes what was written so far, read back from the file. */
  const hashWritten = (w: State) => {
    const buffer = new Uint8Array(Math.min(SEGMENT, w.at));
    for (let at = 0; at < w.at;) {
      const n = w.sync!.read(buffer.subarray(0, Math.min(buffer.byteLength, w.at - at)), { at });
      if (n <= 0) throw new IoError(`the ingest file ended at ${at} of ${w.at} bytes`);
      w.hasher!.update(buffer.subarray(0, n));
      at += n;
    }
  };
  const hash = async (w: State, bytes: Uint8Array) => {
    if (w.at === 0 && !w.hasher && subtle && !gatherer) {
      gatherer = w;
      w.gathering = true;
    }
    if (w.gathering) {
      if (w.at + bytes.byteLength <= WEBCRYPTO_MAX) {
        gathered ??= new Uint8Array(WEBCRYPTO_MAX); // pages are touched only as used
        gathered.set(bytes, w.at);
        return;
      }
      // Too big to gather: hash what was gathered and stream the rest.
      w.hasher = await hasher();
      if (w.at > 0) w.hasher.update(gathered!.subarray(0, w.at));
      stopGathering(w);
    }
    w.hasher ??= await hasher();
    w.hasher.update(bytes);
  };
  const run = async (m: ToWriter, w: State) => {
    if (m.t === "write") {
      try {
        if (w.failed || !w.sync) return;
        const bytes = new Uint8Array(m.buffer, 0, m.length);
        writeAll(w.sync, bytes, w.at);
        if (w.hashes) await hash(w, bytes);
        w.at += bytes.byteLength;
      } catch (err) {
        fail(m.id, w, err);
      } finally {
        post({ t: "written", id: m.id, buffer: m.buffer }, [m.buffer]);
      }
      return;
    }
    if (m.t === "abort") {
      end(m.id, w);
      post({ t: "aborted", id: m.id });
      return;
    }
    if (w.failed || !w.sync) return; // the error was reported
    try {
      if (m.t === "hash") {
        // The store stopped gathering this write: hash it here, from the start.
        w.hashes = true;
        w.hasher ??= await hasher();
        hashWritten(w);
      } else if (m.t === "finish") {
        w.sync.flush();
        let sha256: string | undefined;
        if (w.gathering) {
          // WebCrypto copies its input when called: the buffer is free right after.
          const digest = subtle!.digest("SHA-256", gathered!.subarray(0, w.at));
          stopGathering(w);
          sha256 = toHex(new Uint8Array(await digest));
        } else if (w.hashes) sha256 = (w.hasher ?? await hasher()).digest();
        end(m.id, w);
        post({ t: "finished", id: m.id, sha256, size: w.at });
      }
    } catch (err) {
      fail(m.id, w, err);
    }
  };
  scope.addEventListener("message", (e: MessageEvent) => {
    const m = e.data as ToWriter;
    if (m.t === "open") {
      const w: State = {
        hashes: m.hash,
        gathering: false,
        at: 0,
        failed: false,
        queue: Promise.resolve(),
      };
      writes.set(m.id, w);
      idle.enter();
      // Messages for this id are handled in order behind this queue.
      w.queue = (async () => {
        try {
          w.sync = await m.handle.createSyncAccessHandle!();
        } catch (err) {
          fail(m.id, w, err);
        }
      })();
      return;
    }
    const w = writes.get(m.id);
    if (!w) {
      // Finished, failed or aborted already: hand the segment back, confirm an abort.
      if (m.t === "write") post({ t: "written", id: m.id, buffer: m.buffer }, [m.buffer]);
      if (m.t === "abort") post({ t: "aborted", id: m.id });
      return;
    }
    w.queue = w.queue.then(() => run(m, w));
  });
}
