/**
 * Deno only: the worker thread of `fs_write_workers.ts`. It carries out blob writes of the
 * fs store: each write's bytes arrive in segments, are hashed (sha256, `node:crypto`) and
 * written to the write's ingest file with synchronous writes, and the segment goes back to
 * be filled again. Several writes may be open at once (told apart by `id`).
 *
 * Requests: `{ t: "open", id, path, existing }` (open `path` for appending; `existing`: hash
 * what it holds first — a resumed partial write), `{ t: "write", id, buffer, length }`,
 * `{ t: "finish", id, sync }` (fdatasync when `sync`, close; reply with the digest) and
 * `{ t: "close", id }` (close without a digest). Replies: `opened` (with the bytes the file
 * held), `written` (the segment back), `finished`, `closed`, or `error` (the write's first
 * failure; later requests of that write are ignored until `close`).
 * @module
 */
import { createHash } from "node:crypto";

/** A request to the worker. */
export type ToWriteWorker =
  | { readonly t: "open"; readonly id: number; readonly path: string; readonly existing: boolean }
  | {
    readonly t: "write";
    readonly id: number;
    readonly buffer: ArrayBuffer;
    readonly length: number;
  }
  | { readonly t: "finish"; readonly id: number; readonly sync: boolean }
  | { readonly t: "close"; readonly id: number };

/** A reply from the worker. */
export type FromWriteWorker =
  | { readonly t: "opened"; readonly id: number; readonly size: number }
  | { readonly t: "written"; readonly id: number; readonly buffer: ArrayBuffer }
  | { readonly t: "finished"; readonly id: number; readonly sha256: string; readonly size: number }
  | { readonly t: "closed"; readonly id: number }
  | {
    readonly t: "error";
    readonly id: number;
    readonly name: string;
    readonly message: string;
    readonly code?: string;
  };

/** This worker's global scope (typed here: JSR refuses a `deno.worker` lib directive). */
const scope = globalThis as unknown as {
  postMessage(message: FromWriteWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWriteWorker>) => void) | null;
};

interface Write {
  file?: Deno.FsFile;
  hash: ReturnType<typeof createHash>;
  size: number;
  failed: boolean;
}

const writes = new Map<number, Write>();
const readBuffer = new Uint8Array(1024 * 1024);

function fail(id: number, w: Write | undefined, e: unknown): void {
  if (w) {
    w.failed = true;
    try {
      w.file?.close();
    } catch {
      // already closed
    }
    w.file = undefined;
  }
  const err = e as { name?: string; message?: string; code?: unknown };
  scope.postMessage({
    t: "error",
    id,
    name: String(err?.name ?? "Error"),
    message: String(err?.message ?? e),
    ...(typeof err?.code === "string" ? { code: err.code } : {}),
  });
}

scope.onmessage = (event: MessageEvent<ToWriteWorker>) => {
  const m = event.data;
  const w = writes.get(m.id);
  try {
    switch (m.t) {
      case "open": {
        const write: Write = { hash: createHash("sha256"), size: 0, failed: false };
        writes.set(m.id, write);
        write.file = Deno.openSync(m.path, { read: m.existing, write: true, append: true });
        if (m.existing) {
          for (;;) {
            const n = write.file.readSync(readBuffer);
            if (n === null || n === 0) break;
            write.hash.update(readBuffer.subarray(0, n));
            write.size += n;
          }
        }
        scope.postMessage({ t: "opened", id: m.id, size: write.size });
        return;
      }
      case "write": {
        // The segment goes back whatever happens: the other side counts it as returned.
        if (w && !w.failed && w.file) {
          const bytes = new Uint8Array(m.buffer, 0, m.length);
          w.hash.update(bytes);
          let at = 0;
          while (at < bytes.byteLength) at += w.file.writeSync(bytes.subarray(at));
          w.size += bytes.byteLength;
        }
        scope.postMessage({ t: "written", id: m.id, buffer: m.buffer }, [m.buffer]);
        return;
      }
      case "finish": {
        if (!w || w.failed || !w.file) return;
        const file = w.file;
        const finished = () => {
          file.close();
          w.file = undefined;
          scope.postMessage({
            t: "finished",
            id: m.id,
            sha256: w.hash.digest("hex"),
            size: w.size,
          });
        };
        // fdatasync off this thread: the other writes' segments go on being hashed meanwhile.
        if (m.sync) file.syncData().then(finished).catch((e) => fail(m.id, w, e));
        else finished();
        return;
      }
      case "close": {
        writes.delete(m.id);
        try {
          w?.file?.close();
        } catch {
          // already closed
        }
        scope.postMessage({ t: "closed", id: m.id });
        return;
      }
    }
  } catch (e) {
    if (m.t === "write") {
      fail(m.id, w, e);
      scope.postMessage({ t: "written", id: m.id, buffer: m.buffer }, [m.buffer]);
      return;
    }
    fail(m.id, w ?? writes.get(m.id), e);
  }
};
