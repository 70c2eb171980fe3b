/**
 * Deno only: worker threads that hash and write the fs store's large blobs
 * ({@link FsWriteOffload}), so that a pull hashes several blobs on several cores while the
 * calling thread reads the network. sha256 is most of a pull's cost (≈170 MB/s per core on
 * a CPU without SHA extensions): on 2 cores, a pull of 144 MB hashes in about half the time.
 * One worker per core (at most 4); a new write goes to an idle worker, else to a new one,
 * else to the one with the fewest bytes still to write, so the workers end together. Bytes
 * travel in 1 MiB segments: each chunk is copied into the current segment (the caller keeps
 * its buffer), full segments are transferred to the write's worker, which hashes and writes
 * them and hands them back, so the same few buffers go back and forth; at most
 * {@link SEGMENTS_IN_FLIGHT} per write are away at once (bounded memory: a slow disk slows
 * the network reads instead of filling memory).
 *
 * Workers start on the first write of at least `minBytes` (a worker costs ~30 ms to start,
 * more than hashing a few megabytes); smaller writes, writes of unknown size, and every write
 * when workers cannot start (no spare file descriptors) stay in the calling thread.
 *
 * @example
 * ```ts ignore
 * import { openFsStore } from "../store/fs.ts";
 * import { fsWriteWorkers } from "./fs_write_workers.ts";
 * const workers = fsWriteWorkers();
 * const store = await openFsStore("./store", { writeOffload: workers });
 * try {
 *   // pullImage(store, …): blobs of 8 MiB and more are hashed and written by the workers
 * } finally {
 *   workers.close();
 * }
 * ```
 * @module
 */
import { IoError } from "../errors.ts";
import type { FsWriteOffload, OffloadedWrite } from "../store/fs_writer.ts";
import { haveSpareDescriptors } from "./descriptors.ts";
import type { FromWriteWorker, ToWriteWorker } from "./fs_write_worker.ts";

/** Size of the buffers that carry bytes to a worker. */
export const SEGMENT = 1024 * 1024;
/** Segments a write may have at its worker before it waits (the worker never starves). */
export const SEGMENTS_IN_FLIGHT = 2;

/** Options of {@link fsWriteWorkers}. */
export interface FsWriteWorkersOptions {
  /**
   * Worker threads (default: the CPU count, at most 4, none on a single core; 0: every write
   * in the calling thread).
   */
  readonly workers?: number;
  /** Writes of at least this many bytes go to a worker (default 8 MiB). */
  readonly minBytes?: number;
}

/** A worker and the writes it carries. */
interface Slot {
  readonly worker: Worker;
  /** Bytes its open writes have still to send (announced sizes): a new write goes to the least loaded. */
  load: number;
  readonly listeners: Map<number, (m: FromWriteWorker) => void>;
  failure?: Error;
}

/**
 * A pool of write workers for `openFsStore(dir, { writeOffload })`; call `close()` when
 * done (live workers keep Deno running).
 *
 * @example
 * ```ts
 * import { fsWriteWorkers, openFsStore } from "@lading/oci/fs";
 * import { writeBlob } from "@lading/oci";
 * const workers = fsWriteWorkers({ workers: 1, minBytes: 0 });
 * const dir = await Deno.makeTempDir();
 * const store = await openFsStore(dir, { writeOffload: workers });
 * const digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
 * const writer = await store.writer({ size: 2 });
 * await writer.write(new TextEncoder().encode("{}"));
 * console.log(await writer.commit({ digest, size: 2 }), workers.workersRunning); // { added: true } 1
 * workers.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function fsWriteWorkers(
  options: FsWriteWorkersOptions = {},
): FsWriteOffload & { readonly workersRunning: number; close(): void } {
  const cores = navigator.hardwareConcurrency || 1;
  // One core: a worker would only add its start and the copies.
  const max = Math.max(0, options.workers ?? (cores < 2 ? 0 : Math.min(cores, 4)));
  const minBytes = options.minBytes ?? 8 * 1024 * 1024;
  const slots: Slot[] = [];
  const pool: ArrayBuffer[] = [];
  let nextId = 1;
  let closed = false;

  const spawn = (): Slot | undefined => {
    // A new worker needs descriptors for its event loop (Deno panics without them).
    if (!haveSpareDescriptors(16)) return undefined;
    const worker = new Worker(new URL("./fs_write_worker.ts", import.meta.url), {
      type: "module",
    });
    const slot: Slot = { worker, load: 0, listeners: new Map() };
    worker.onmessage = (event: MessageEvent<FromWriteWorker>) => {
      slot.listeners.get(event.data.id)?.(event.data);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      slot.failure = new IoError(`a blob-writing worker failed: ${event.message}`);
      worker.terminate();
      slots.splice(slots.indexOf(slot), 1);
      for (const listener of [...slot.listeners.values()]) {
        listener({ t: "error", id: 0, name: "IoError", message: slot.failure.message });
      }
    };
    slots.push(slot);
    return slot;
  };
  /**
   * The worker a large write goes to: an idle one, else a new one while there are fewer than
   * `max`, else the one with the fewest bytes still to write.
   */
  const choose = (): Slot | undefined => {
    let least: Slot | undefined;
    for (const s of slots) if (!least || s.load < least.load) least = s;
    if (least && least.load === 0) return least;
    return (slots.length < max ? spawn() : undefined) ?? least;
  };

  return {
    get workersRunning() {
      return slots.length;
    },
    async open(path, { existing, size }) {
      if (closed || max === 0 || size === undefined || size < minBytes) return undefined;
      const slot = choose();
      if (!slot) return undefined;
      const id = nextId++;
      slot.load += size;
      const write = new WorkerWrite(slot, id, pool, size);
      try {
        write.offset = await write.open(path, existing);
        write.resumedAt(write.offset);
        return write;
      } catch (e) {
        write.release();
        throw e;
      }
    },
    close() {
      closed = true;
      for (const slot of slots.splice(0)) {
        slot.worker.terminate();
        slot.failure = new IoError("the blob-writing workers were closed during a write");
        for (const listener of [...slot.listeners.values()]) {
          listener({ t: "error", id: 0, name: "IoError", message: slot.failure.message });
        }
      }
      pool.length = 0;
    },
  };
}

/** One write carried out by a worker (the calling thread's side). */
class WorkerWrite implements OffloadedWrite {
  offset = 0;
  #slot: Slot;
  #load: number;
  #id: number;
  #pool: ArrayBuffer[];
  #segment?: ArrayBuffer;
  #fill = 0;
  #away = 0;
  #failure?: Error;
  #waiting?: () => void;
  #reply?: { t: FromWriteWorker["t"]; resolve: (m: FromWriteWorker) => void };
  #released = false;

  /** `load`: the bytes this write is expected to send (counted in its worker's load). */
  constructor(slot: Slot, id: number, pool: ArrayBuffer[], load: number) {
    this.#slot = slot;
    this.#load = load;
    this.#id = id;
    this.#pool = pool;
    slot.listeners.set(id, (m) => this.#receive(m));
  }

  #receive(m: FromWriteWorker): void {
    if (m.t === "written") {
      this.#away--;
      if (this.#pool.length < 4) this.#pool.push(m.buffer);
    } else if (m.t === "error") {
      const e = new IoError(m.message) as IoError & { code?: string };
      if (m.code) e.code = m.code;
      this.#failure ??= e;
    }
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
    const reply = this.#reply;
    if (reply && (m.t === reply.t || m.t === "error")) {
      this.#reply = undefined;
      reply.resolve(m);
    }
  }

  #post(m: ToWriteWorker, transfer: Transferable[] = []): void {
    if (this.#slot.failure) throw this.#slot.failure;
    this.#slot.worker.postMessage(m, transfer);
  }

  /** Sends `m` and waits for the reply `t` (or the write's failure). */
  async #ask(m: ToWriteWorker, t: FromWriteWorker["t"]): Promise<FromWriteWorker> {
    const answer = new Promise<FromWriteWorker>((resolve) => (this.#reply = { t, resolve }));
    this.#post(m);
    const r = await answer;
    if (r.t === "error") throw this.#failure ?? new IoError(r.message);
    return r;
  }

  /** The write continues a partial one of `offset` bytes: that many fewer to send. */
  resumedAt(offset: number): void {
    this.#unload(offset);
  }

  async open(path: string, existing: boolean): Promise<number> {
    if (!existing) {
      this.#post({ t: "open", id: this.#id, path, existing });
      return 0;
    }
    const r = await this.#ask({ t: "open", id: this.#id, path, existing }, "opened");
    return (r as { size: number }).size;
  }

  /** Takes `n` bytes off this write's share of its worker's load. */
  #unload(n: number): void {
    const d = Math.min(n, this.#load);
    this.#load -= d;
    this.#slot.load -= d;
  }

  /** Sends the current segment. */
  #send(): void {
    const segment = this.#segment!;
    const length = this.#fill;
    this.#unload(length);
    this.#segment = undefined;
    this.#fill = 0;
    this.#away++;
    this.#post({ t: "write", id: this.#id, buffer: segment, length }, [segment]);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#failure) throw this.#failure;
    let at = 0;
    while (at < chunk.byteLength) {
      while (this.#away >= SEGMENTS_IN_FLIGHT && !this.#failure) {
        await new Promise<void>((resolve) => (this.#waiting = resolve));
      }
      if (this.#failure) throw this.#failure;
      this.#segment ??= this.#pool.pop() ?? new ArrayBuffer(SEGMENT);
      const n = Math.min(SEGMENT - this.#fill, chunk.byteLength - at);
      new Uint8Array(this.#segment, this.#fill, n).set(chunk.subarray(at, at + n));
      this.#fill += n;
      at += n;
      if (this.#fill === SEGMENT) this.#send();
    }
  }

  async finish(sync: boolean): Promise<{ sha256: string; size: number }> {
    if (this.#failure) throw this.#failure;
    if (this.#fill > 0) this.#send();
    const r = await this.#ask({ t: "finish", id: this.#id, sync }, "finished");
    const { sha256, size } = r as { sha256: string; size: number };
    return { sha256, size };
  }

  async close(): Promise<void> {
    try {
      if (this.#fill > 0 && !this.#failure) this.#send(); // a partial write keeps what came
      await this.#ask({ t: "close", id: this.#id }, "closed").catch(() => {});
    } finally {
      this.release();
    }
  }

  /** Forgets this write (its listener and what is left of its load). */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#unload(this.#load);
    this.#slot.listeners.delete(this.#id);
  }
}
