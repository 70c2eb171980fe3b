// This module is browser compatible.
/**
 * The client side of the helper-worker protocol: writes (sync access handle, flush) run in a second worker while the store's thread goes on reading the input.
 * @module
 */
import { toHex } from "../../digest.ts";
import { IoError, WorkerError } from "../../errors.ts";
import type { OpfsFileHandle } from "./dom.ts";

/** The parts of a `Worker` (or `MessagePort`) the offloaded writer uses. */
export interface WorkerLike {
  /** Sends a message. */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  /** Receives messages. */
  addEventListener(type: "message", listener: (e: MessageEvent) => void): void;
  /** The worker failed (its script did not load, or threw): writes fail instead of waiting. */
  addEventListener(type: "error", listener: (e: { message?: string }) => void): void;
  /** Called by {@link OpfsStore.close} when present. */
  terminate?(): void;
}

//
// The helper writes (sync access handle, flush) while the store's own thread goes on
// reading the input. The bytes travel in segments: the store copies each chunk into a
// 4 MiB segment (the caller keeps its buffer), transfers full segments to the helper, and
// the helper hands them back once written, so the same few buffers go back and forth
// (copies into memory already touched cost a fraction of copies into fresh allocations).
//
// Hashing is shared so that neither thread does it all: each blob is hashed either by the
// store or by the helper, whichever has hashed fewer bytes so far. A blob of up to
// WEBCRYPTO_MAX bytes is gathered in one reused buffer and digested with WebCrypto at the
// end (native SHA-256, several times hash-wasm's speed); a bigger one streams through the
// runtime's hasher in the helper (for what the store gathered first: read back from the
// file).

/** Store → helper messages. */
export type ToWriter =
  /** `hash`: the helper hashes this write (else the store does). */
  | { t: "open"; id: number; handle: OpfsFileHandle; hash: boolean }
  | { t: "write"; id: number; buffer: ArrayBuffer; length: number }
  /** From now on the helper hashes this write, starting with the bytes it wrote. */
  | { t: "hash"; id: number }
  | { t: "finish"; id: number }
  | { t: "abort"; id: number };

/** Helper → store messages. */
export type FromWriter =
  | { t: "written"; id: number; buffer: ArrayBuffer }
  | { t: "finished"; id: number; sha256?: string; size: number }
  | { t: "aborted"; id: number }
  | { t: "error"; id: number; name: string; message: string };

/**
 * Blobs up to this size are gathered in one buffer and hashed with WebCrypto; bigger ones
 * stream through the runtime's hasher in the helper, so memory stays bounded by this.
 */
export const WEBCRYPTO_MAX = 64 * 1024 * 1024;

/** Size of the buffers that carry bytes to the helper. */
export const SEGMENT = 4 * 1024 * 1024;
/** Segments a write may have at the helper before it waits (32 MiB). */
export const SEGMENTS_IN_FLIGHT = 8;
/** Segments kept for reuse between writes. */
export const POOL_MAX = SEGMENTS_IN_FLIGHT + 2;
/** Reused buffers are dropped after this long without writes. */
export const IDLE_MS = 2000;

/** One write carried out by the helper worker. */
export interface OffloadedWrite {
  write(chunk: Uint8Array): Promise<void>;
  finish(): Promise<{ sha256: string; size: number }>;
  abort(): Promise<void>;
}

/**
 * Runs `release` once nothing was in use for {@link IDLE_MS}: `enter()` and `leave()`
 * bracket each use.
 */
export function idleRelease(release: () => void) {
  let users = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    enter() {
      users++;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    leave() {
      if (--users > 0) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (users === 0) release();
      }, IDLE_MS);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** The store side of the helper worker. */
export class OffloadClient {
  #worker: WorkerLike;
  #next = 1;
  #listeners = new Map<number, (m: FromWriter) => void>();
  #pool: ArrayBuffer[] = [];
  #subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  /** One write at a time gathers its bytes here for a WebCrypto digest. */
  #gathered?: Uint8Array<ArrayBuffer>;
  #gatherer?: number;
  /** Bytes hashed here and in the helper: each new write goes to the one with fewer. */
  #hashedHere = 0;
  #hashedThere = 0;
  #idle = idleRelease(() => {
    this.#pool.length = 0;
    this.#gathered = undefined;
  });

  /** Set once the helper failed outside a write (it did not load, or threw). */
  #broken?: { name: string; message: string };

  constructor(worker: WorkerLike) {
    this.#worker = worker;
    worker.addEventListener("message", (e: MessageEvent) => {
      const m = e.data as FromWriter;
      if (m.t === "written") this.#reuse(m.buffer);
      this.#listeners.get(m.id)?.(m);
    });
    worker.addEventListener("error", (e) => {
      this.#broken = {
        name: "Error",
        message: `the OPFS writer worker failed${e?.message ? `: ${e.message}` : ""}`,
      };
      for (const [id, listener] of [...this.#listeners]) {
        listener({ t: "error", id, ...this.#broken });
      }
    });
  }

  #reuse(buffer: ArrayBuffer) {
    if (buffer.byteLength === SEGMENT && this.#pool.length < POOL_MAX) this.#pool.push(buffer);
  }

  terminate(): void {
    this.#idle.cancel();
    this.#pool.length = 0;
    this.#gathered = undefined;
    this.#worker.terminate?.();
  }

  /**
   * Starts a write of `handle` in the helper. It does not wait for the helper: an error
   * opening the file there fails the next write or the finish.
   */
  open(handle: OpfsFileHandle): OffloadedWrite {
    const id = this.#next++;
    const post = (m: ToWriter, transfer?: Transferable[]) => this.#worker.postMessage(m, transfer);
    /** Bytes written so far. */
    let size = 0;
    /** Whether this write gathers its bytes for WebCrypto (else the helper hashes). */
    let gathering = this.#subtle !== undefined && this.#gatherer === undefined &&
      this.#hashedHere <= this.#hashedThere;
    if (gathering) this.#gatherer = id;
    const stopGathering = () => {
      if (this.#gatherer === id) this.#gatherer = undefined;
      gathering = false;
    };
    /** Segments at the helper. */
    let away = 0;
    let segment: Uint8Array | undefined;
    let filled = 0;
    let error: Error | undefined;
    /** Writes waiting for segments to come back (two may wait at once). */
    const waiting: (() => void)[] = [];
    let settle: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
    let ended = false;
    this.#idle.enter();
    const end = () => {
      this.#listeners.delete(id);
      stopGathering();
      if (!ended) this.#idle.leave();
      ended = true;
    };
    this.#listeners.set(id, (m) => {
      if (m.t === "written") away--;
      else if (m.t === "error") {
        // The helper closed the file and dropped the write.
        error = new WorkerError(m);
        end();
        settle?.reject(error);
      } else if (m.t === "finished" || m.t === "aborted") {
        end();
        settle?.resolve(m);
      }
      for (const wake of waiting.splice(0)) wake();
    });
    const send = () => {
      const buffer = segment!.buffer as ArrayBuffer;
      post({ t: "write", id, buffer, length: filled }, [buffer]);
      away++;
      segment = undefined;
      filled = 0;
    };
    const reply = (message: ToWriter) =>
      new Promise<FromWriter>((resolve, reject) => {
        settle = { resolve: resolve as (v: unknown) => void, reject };
        post(message);
      });
    post({ t: "open", id, handle, hash: !gathering });
    if (this.#broken) this.#listeners.get(id)!({ t: "error", id, ...this.#broken });
    return {
      write: async (chunk) => {
        if (error) throw error;
        if (gathering) {
          if (size + chunk.byteLength <= WEBCRYPTO_MAX) {
            this.#gathered ??= new Uint8Array(WEBCRYPTO_MAX); // pages are touched as used
            this.#gathered.set(chunk, size);
          } else {
            // Too big to gather: the helper hashes it, from the file for what it has.
            stopGathering();
            if (filled > 0) send();
            post({ t: "hash", id });
          }
        }
        size += chunk.byteLength;
        for (let at = 0; at < chunk.byteLength;) {
          segment ??= new Uint8Array(this.#pool.pop() ?? new ArrayBuffer(SEGMENT));
          const n = Math.min(SEGMENT - filled, chunk.byteLength - at);
          segment.set(chunk.subarray(at, at + n), filled);
          filled += n;
          at += n;
          if (filled === SEGMENT) send();
        }
        while (!error && away > SEGMENTS_IN_FLIGHT) {
          await new Promise<void>((resolve) => waiting.push(resolve));
        }
        if (error) throw error;
      },
      finish: async () => {
        if (error) throw error;
        if (filled > 0) send();
        // WebCrypto copies its input when called: the gathered buffer is free right after.
        const digest = gathering
          ? this.#subtle!.digest("SHA-256", this.#gathered!.subarray(0, size))
          : undefined;
        digest?.catch(() => {}); // awaited below
        stopGathering();
        if (digest) this.#hashedHere += size;
        else this.#hashedThere += size;
        const done = await reply({ t: "finish", id }) as FromWriter & { t: "finished" };
        const sha256 = digest ? toHex(new Uint8Array(await digest)) : done.sha256;
        if (sha256 === undefined) throw new IoError("the helper worker reported no digest");
        return { sha256, size: done.size };
      },
      abort: async () => {
        if (ended) return;
        if (segment) this.#reuse(segment.buffer as ArrayBuffer);
        segment = undefined;
        await reply({ t: "abort", id });
      },
    };
  }
}

/**
 * Runs the helper side in a dedicated worker: open the ingest file's sync access handle,
 * write every segment and hand it back, hash when asked (WebCrypto over a gathered blob
 * up to WEBCRYPTO_MAX, else streaming), flush and report. Call it from the worker's entry
 * module.
 *
 * @example
 * ```ts ignore
 * // opfs_writer.ts, bundled as its own worker:
 * import { serveOpfsWriter } from "../src/store/opfs.ts";
 * serveOpfsWriter(self);
 * ```
 */
